"""End-to-end runs of every shipped scenario, scenario validation errors, metrics by hand, compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_uncertainty import assert_bands_ordered

from siting.cli import main
from siting.metrics import summarize, weighted_quantile
from siting.paths import SCENARIO_DIR
from siting.run import run_scenario

SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def fast_copy(name: str, tmp_path: Path, **changes) -> Path:
    """The shipped scenario with coarser demand cells (5 km) for a fast test run."""
    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    data.setdefault("demand", {})["cell_size_m"] = 5000
    if "wishes" in data and data["wishes"].get("file"):
        data["wishes"]["file"] = str((SCENARIO_DIR / data["wishes"]["file"]).resolve())
    for k, v in changes.items():
        data[k] = v
    out = tmp_path / f"{name}.yaml"
    out.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return out


def test_all_seven_scenarios_are_shipped():
    assert set(SHIPPED) == {"baseline", "reform-criterion", "max-coverage-30", "min-average-time", "wishes-first",
                            "district-balanced", "evaluate-plan", "ministry-criteria", "greenfield-2022", "relocate-10"}  # fmt: skip
    assert main(["validate", *[str(SCENARIO_DIR / f"{s}.yaml") for s in SHIPPED]]) == 0


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_runs_end_to_end(name, tmp_path):
    coarse = {"demand": {"cell_size_m": 10000}} if name in ("greenfield-2022", "relocate-10") else {}  # whole structures: 10 km
    out = run_scenario(fast_copy(name, tmp_path, **coarse), tmp_path / "run")
    files = {p.name for p in out.iterdir()}
    assert {"proposals.csv", "proposals.gpkg", "kommuner.csv", "metrics.json", "manifest.json", "map.html", "layers.gpkg"} <= files
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    met = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    props = pd.read_csv(out / "proposals.csv")
    assert man["is_estimate"] is False and "Kartverket" in man["network"]
    assert man["status"] in ("optimal", "evaluated")
    structure = met.get("structure")
    expected = 0 if name == "baseline" else structure["added"] if structure else 20
    assert len(props) == expected and list(props["rank"]) == list(range(1, expected + 1))
    h = met["headline"]
    if structure:  # a whole structure: today's offices may move, so no point is promised its time today
        assert structure["status"] == "optimal" and structure["kept"] + structure["moved"] == structure["today_locations"] == 222
        offices = pd.read_csv(out / "office_values.csv")
        assert len(offices) == 222 and int((~offices.in_chosen_structure).sum()) == structure["moved"]
        if "efficiency" in structure:
            e = structure["efficiency"]
            assert e["optimum_status"] == {"mclp": "optimal", "pmedian": "optimal"}
            assert 0 < e["coverage_efficiency"] <= 1 + 1e-9 and 0 < e["mean_time_efficiency"] <= 1 + 1e-9
        return
    assert h["share_within_T_after"] >= h["share_within_T_before"] - 1e-12
    assert_bands_ordered(met)  # the uncertainty band of every headline figure (issue 25 §3)
    assert man["band"]["assumptions"].keys() == {"low_times", "high_times"}
    assert met["national"]["before"]["population"] == pytest.approx(5_425_270)
    k = pd.read_csv(out / "kommuner.csv", dtype={"kommunenummer": str})
    assert len(k) == 356 and (k.time_after <= k.time_before + 1e-9).all()


def test_district_constraints_are_honoured(tmp_path):
    out = run_scenario(fast_copy("district-balanced", tmp_path), tmp_path / "run")
    props = pd.read_csv(out / "proposals.csv", dtype={"kommunenummer": str})
    per = props.politidistrikt.value_counts()
    assert len(per) == 12 and per.max() <= 3 and props.kommunenummer.is_unique


def test_refuses_to_overwrite_and_leaves_no_partial_output(tmp_path, capsys):
    sc = fast_copy("baseline", tmp_path)
    (tmp_path / "run").mkdir()
    assert main(["run", str(sc), "--out", str(tmp_path / "run")]) == 2
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nnew_offices: [\n", "invalid YAML"),
        ("name: x\nmodel:\n  type: magic\n", ":3: model.type: Input should be 'mclp'"),
        ("name: x\nnew_offices: 20\ncolour: red\n", ":3: colour: unknown field"),
        ("name: x\nmodel:\n  threshold_minutes: -5\n", ":3: model.threshold_minutes"),
    ],
)
def test_validate_reports_line_and_allowed_values(tmp_path, capsys, text, message):
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    assert main(["validate", str(f)]) == 2
    assert message in capsys.readouterr().err


def test_user_errors_are_one_line_without_partial_output(tmp_path, capsys):
    cases = {
        "unknown": {"constraints": {"required_sites": ["Atlantis"]}},
        "too_many": {"new_offices": 5000},
        "infeasible": {"constraints": {"min_per_district": 2}},
    }
    expect = {"unknown": "site 'Atlantis' is not a candidate", "too_many": "p=5000 new offices but only",
              "infeasible": "minimum new offices per group add up to 24 but p=20"}  # fmt: skip
    for key, changes in cases.items():
        sc = fast_copy("max-coverage-30", tmp_path, **changes).rename(tmp_path / f"{key}.yaml")
        out = tmp_path / f"out-{key}"
        assert main(["run", str(sc), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("siting: error:") and "\n" not in err and expect[key] in err, err
        assert not out.exists() and not list(tmp_path.glob(f".out-{key}*"))


def test_metrics_by_hand():
    # four demand points: 10 people at 5 min, 20 at 20 min, 30 at 50 min, 40 unreachable
    t = np.array([5.0, 20.0, 50.0, np.inf])
    w = np.array([10.0, 20.0, 30.0, 40.0])
    m = summarize(t, w)
    assert m["share_within_15"] == pytest.approx(0.10)
    assert m["share_within_30"] == pytest.approx(0.30)
    assert m["share_within_60"] == pytest.approx(0.60)
    assert m["mean"] == pytest.approx((50 + 400 + 1500) / 60)
    assert m["unreachable_population"] == 40 and m["max"] == np.inf
    assert weighted_quantile(t, w, 0.5) == 20.0  # 10/60, 30/60 → the 50 % point is 20 min


def test_compare_writes_table_and_plots(tmp_path):
    runs = [run_scenario(fast_copy(n, tmp_path), tmp_path / n) for n in ("baseline", "max-coverage-30")]
    assert main(["compare", *map(str, runs), "--out", str(tmp_path / "cmp")]) == 0
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert list(table.scenario) == ["baseline", "max-coverage-30"]
    assert table.within_T_after.iloc[1] > table.within_T_after.iloc[0]
    for f in ("comparison.md", "cumulative.png", "districts.png"):
        assert (tmp_path / "cmp" / f).stat().st_size > 100
    assert main(["map", str(runs[0]), "--compare", str(runs[1]), "--out", str(tmp_path / "dual.html")]) == 0
    assert "max-coverage-30" in (tmp_path / "dual.html").read_text(encoding="utf-8")
