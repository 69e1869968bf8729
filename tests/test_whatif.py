"""The map's what-if: the arrays (siting.maps.whatif) against brute force on a synthetic instance, the
page's evaluate() in headless Chromium against Python, and — on a national run (5 km cells) — against
the run's metrics.json, `siting explain`'s swap figures and a `siting run` of the page's export.

Tolerances: times are stored in 0.1-min steps that never cross T, so people and offences within T
are those of the run (weights are stored as 32-bit floats: relative error ≤ 6e-8 per point); a
mean drive time moves by at most half a step per point (one step at T): ≤ 0.1 min, observed
≤ 0.01 min nationally.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from browser import SIZES, Chromium
from shapely.geometry import Point
from test_maps import synthetic_run
from test_run import fast_copy

from siting.maps import make_map, whatif, write_map
from siting.run import run_scenario

T, CUTOFF = 10.0, 16.0


def synthetic_whatif(seed: int = 0, n_demand: int = 60, n_fixed: int = 2, n_cand: int = 9):
    """Synthetic: random points in two municipalities, minutes = distance; the stored matrix like the
    pipeline's (a row holds the sites no farther than today's nearest office; rows beyond the cutoff
    uncut); weights are whole numbers (float32-exact). Returns the arrays and the full matrix."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 40, (n_demand, 2))
    s = rng.uniform(0, 40, (n_fixed + n_cand, 2))
    full = np.hypot(d[:, None, 0] - s[None, :, 0], d[:, None, 1] - s[None, :, 1])
    full[rng.random(full.shape) < 0.05] = np.inf
    full[:3, :n_fixed] = np.inf  # three points no office reaches today
    fixed = np.r_[np.ones(n_fixed, bool), np.zeros(n_cand, bool)]
    before = full[:, fixed].min(axis=1)
    keep = np.isfinite(full) & (full <= np.where(np.isfinite(before), before + 1e-6, CUTOFF)[:, None])
    rows, cols = np.nonzero(keep)
    tm = SimpleNamespace(cost=sp.csr_array((full[rows, cols], (rows, cols)), shape=full.shape), before=before)
    far_rows = np.flatnonzero(~(before <= CUTOFF))
    far = SimpleNamespace(rows=far_rows, cost=full[far_rows])
    kom = np.where(d[:, 0] < 20, "9001", "9002")
    w = rng.integers(1, 500, n_demand).astype(float)
    demand = gpd.GeoDataFrame({"kommunenummer": kom, "population": w, "offences": w * np.where(kom == "9001", 0.05, 0.08)},
                              geometry=[Point(290000 + 1000 * x, 6740000 + 1000 * y) for x, y in d], crs=25833)  # fmt: skip
    sites = gpd.GeoDataFrame({"site_id": [f"st{i}" for i in range(n_fixed)] + [f"cand-{i:04d}" for i in range(n_cand)],
                              "name": [f"Sted {i}" for i in range(n_fixed + n_cand)], "kommune": "Synthetica",
                              "kommunenummer": np.where(s[:, 0] < 20, "9001", "9002"), "politidistrikt": np.where(s[:, 0] < 20, "Øst", "Vest"),
                              "source": "synthetic", "fixed": fixed},
                             geometry=[Point(290000 + 1000 * x, 6740000 + 1000 * y) for x, y in s], crs=25833)  # fmt: skip
    kommuner = pd.DataFrame({"kommunenummer": ["9001", "9002"], "name": ["Vestby", "Østby"], "politidistrikt": ["Øst", "Vest"]})
    inputs = SimpleNamespace(fixed=fixed, sites=sites, kommuner=kommuner, demand=demand, weights=w)
    plan = [n_fixed + 1, n_fixed + 4]
    wi = whatif.build(inputs, tm, far, T, plan, optimum=[n_fixed + 2, n_fixed + 5], optimum_label="coverage",
                      scenario={"name": "synthetic", "demand": {"cell_size_m": 5000}})  # fmt: skip
    return wi, full, w, fixed, kom


def brute(full, w, fixed, kom, plan_positions):
    a = full[:, np.r_[np.flatnonzero(fixed), np.flatnonzero(~fixed)[plan_positions]].astype(int)].min(axis=1)
    ok = np.isfinite(a)
    return {"people_within_T": float(w[a <= T].sum()), "mean_time": float(np.average(a[ok], weights=w[ok])),
            "by_kommune": {k: float(w[(a <= T) & (kom == k)].sum()) for k in ("9001", "9002")}}  # fmt: skip


def test_quantised_times_keep_the_threshold_class():
    t = np.array([0.0, 9.94, 9.96, 10.0, 10.0000001, 10.04, 10.06, 55.56, np.inf])
    q = whatif.quantise(t, 10.0)
    assert list(q) == [0, 99, 100, 100, 101, 101, 101, 556, -1]
    assert ((q <= whatif.threshold_steps(10.0)) & (q >= 0)).tolist() == (t <= 10.0).tolist()
    assert np.abs(q[:-1] * whatif.QUANTUM - t[:-1]).max() <= whatif.QUANTUM + 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_whatif_arrays_equal_brute_force(seed):
    wi, full, w, fixed, kom = synthetic_whatif(seed)
    n = len(wi.sites)
    rng = np.random.default_rng(seed)
    for plan in ([], [0], [1, 4], list(rng.choice(n, 4, replace=False)), list(range(n))):
        got, want = whatif.evaluate(wi, plan), brute(full, w, fixed, kom, plan)
        assert got["people_within_T"] == want["people_within_T"]
        assert abs(got["mean_time"] - want["mean_time"]) <= whatif.QUANTUM
        by_k = {k: sum(v["people_within_T"] for d, v in got["by_district"].items() if d == dist) for k, dist in (("9001", "Øst"), ("9002", "Vest"))}
        assert by_k == want["by_kommune"]
        assert got["offences_within_T"] == pytest.approx(sum(want["by_kommune"][k] * r for k, r in (("9001", 0.05), ("9002", 0.08))))
    # offences are population × the municipality's rate: 2 numbers instead of one per point
    assert whatif.offence_rate(wi) == pytest.approx([0.05, 0.08])


def test_whatif_file_round_trip(tmp_path):
    wi, *_ = synthetic_whatif()
    back = whatif.load(whatif.save(wi, tmp_path / whatif.FILE))
    for name in ("before", "weights", "offences", "kommune", "ptr", "rows", "times"):
        assert np.array_equal(getattr(back, name), getattr(wi, name)), name
    assert back.plans == wi.plans and back.meta == wi.meta and back.sites.equals(wi.sites)
    assert whatif.load(tmp_path / "missing.npz") is None


def _page(tmp_path, wi):
    layers, metrics, manifest = synthetic_run()
    metrics["headline"]["bands"] = {"share_within_T_after": {"low": 0.85, "high": 0.95}}  # an uncertainty band of the plan
    dm = layers.pop("demand")
    return write_map(make_map(*layers.values(), metrics, manifest, demand=dm, whatif=wi), tmp_path / "whatif.html")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    with Chromium(tmp_path_factory.mktemp("chromium")) as b:
        yield b


def test_page_evaluate_equals_python_on_a_synthetic_instance(tmp_path, chromium):
    wi, *_ = synthetic_whatif(1)
    page = chromium.open(_page(tmp_path, wi), SIZES["desktop"])
    assert page.eval("window.sitingMap.ready") is True
    ids = list(wi.sites.site_id)
    assert page.eval("window.sitingMap.plan()") == [ids[j] for j in wi.plans["plan"]]
    # the plan's uncertainty band shows beside the plan's figures (and goes when the choice differs)
    assert "85,0\xa0%–95,0\xa0%" in page.eval("document.getElementById('siting-wi-national').innerText")
    rng = np.random.default_rng(0)
    for k in (0, 1, 2, 5, len(ids)):
        chosen = sorted(rng.choice(len(ids), k, replace=False).tolist())
        js = page.eval(f"window.sitingMap.evaluate({json.dumps([ids[j] for j in chosen])})")
        py = whatif.evaluate(wi, chosen)
        for key in ("people_within_T", "population", "share_within_T", "mean_time", "offences_within_T"):
            assert js[key] == pytest.approx(py[key], rel=1e-12, abs=1e-9), key
        assert set(js["by_district"]) == set(py["by_district"])
        for d, v in py["by_district"].items():
            assert js["by_district"][d]["people_within_T"] == pytest.approx(v["people_within_T"], rel=1e-12, abs=1e-9)
    # a choice made in the page exports as an evaluate scenario with those sites
    page.eval(f"void window.sitingMap.choose({json.dumps(ids[:3])})")
    assert "85,0" not in page.eval("document.getElementById('siting-wi-national').innerText")
    sc = yaml.safe_load(page.eval("window.sitingMap.exportText().yaml"))
    assert sc["model"] == {"type": "evaluate", "threshold_minutes": T} and sc["sites"] == ids[:3] and sc["new_offices"] == 3
    assert sc["demand"] == {"cell_size_m": 5000} and sc["name"] == "synthetic-whatif"
    errors, _ = page.errors()
    assert not errors
    page.close()


# --- national: the run's own figures ------------------------------------------------------------------
@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    """evaluate-plan at 5 km cells: its plan, metrics, efficiency (optimum and swaps) and map."""
    tmp = tmp_path_factory.mktemp("decided")
    return run_scenario(fast_copy("evaluate-plan", tmp), tmp / "run")


def test_page_evaluate_equals_the_runs_metrics_swaps_and_export(decided, chromium, tmp_path):
    met = json.loads((decided / "metrics.json").read_text(encoding="utf-8"))
    eff = json.loads((decided / "efficiency.json").read_text(encoding="utf-8"))
    man = json.loads((decided / "manifest.json").read_text(encoding="utf-8"))
    page = chromium.open(decided / "map.html", SIZES["phone"], mobile=True)
    assert page.eval("window.sitingMap.ready") is True
    S = "window.sitingMap"
    plan = page.eval(f"{S}.plan()")
    assert sorted(plan) == sorted(man["new_sites"]) and page.eval(f"{S}.decided()") and sorted(page.eval(f"{S}.decided()")) == sorted(plan)
    pop = met["national"]["before"]["population"]
    for when, ids in (("before", []), ("after", plan)):
        res = page.eval(f"{S}.evaluate({json.dumps(ids)})")
        nat = met["national"][when]
        assert res["share_within_T"] == pytest.approx(nat["share_within_30"], abs=1e-7)
        assert res["people_within_T"] == pytest.approx(nat["share_within_30"] * pop, abs=1.0)
        assert abs(res["mean_time"] - nat["mean"]) <= 0.01
        assert res["offences_within_T"] == pytest.approx(met["crime"]["national"][f"offences_within_T_{when}"], rel=1e-6)
        for district, figures in met["politidistrikt"].items():
            got = res["by_district"][district]
            assert got["share_within_T"] == pytest.approx(figures[when]["share_within_30"], abs=1e-6), district
            assert abs(got["mean_time"] - figures[when]["mean"]) <= 0.05, district
    # the optimum button: the efficiency optimum's people within T
    opt = page.eval(f"{S}.evaluate({S}.optimum())")
    assert opt["people_within_T"] == pytest.approx(eff["optimum_coverage"]["pop_within_T"], abs=1.0)
    # the five best swaps of `siting explain`: the same change in people within T and in person-minutes
    base = page.eval(f"{S}.evaluate({json.dumps(plan)})")
    assert len(eff["top_swaps_coverage"]) == 5
    for swap in eff["top_swaps_coverage"]:
        ids = [swap["add_site_id"] if s == swap["remove_site_id"] else s for s in plan]
        res = page.eval(f"{S}.evaluate({json.dumps(ids)})")
        assert res["people_within_T"] - base["people_within_T"] == pytest.approx(swap["coverage_change"], abs=1.0)
        saved = (base["mean_time"] - res["mean_time"]) * base["population"]
        assert saved == pytest.approx(swap["time_saved_pop_min"], rel=0.02, abs=2000)  # quantised times: observed ≤ 0.6 %
    # the page's export of a swapped plan: `siting run` gives the page's figures
    swap = eff["top_swaps_coverage"][0]
    chosen = [swap["add_site_id"] if s == swap["remove_site_id"] else s for s in plan]
    page.eval(f"void {S}.choose({json.dumps(chosen)})")
    exported = tmp_path / "whatif.yaml"
    exported.write_text(page.eval(f"{S}.exportText().yaml"), encoding="utf-8")
    res = page.eval(f"{S}.evaluate({json.dumps(chosen)})")
    page.close()
    out = run_scenario(exported, tmp_path / "whatif-run")
    again = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert sorted(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["new_sites"]) == sorted(chosen)
    assert res["share_within_T"] == pytest.approx(again["national"]["after"]["share_within_30"], abs=1e-7)
    assert abs(res["mean_time"] - again["national"]["after"]["mean"]) <= 0.01


def test_a_page_leaves_out_what_if_data_past_its_budget(tmp_path, monkeypatch):
    wi, *_ = synthetic_whatif()
    assert '"whatif":' in _page(tmp_path, wi).read_text(encoding="utf-8")
    monkeypatch.setattr(whatif, "MAX_PACKED", 100)
    page = _page(tmp_path, wi).read_text(encoding="utf-8")
    assert '"whatif":' not in page and "«Hva om» er ikke med på denne siden" in page
