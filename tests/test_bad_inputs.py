"""Bad input, as a hostile but fair user would try it (issue 15 C2, C3, C8, C10): one line, exit 2, no
traceback, no lost files. Every row of docs/bad-inputs.md is a case here, with the message shown there."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import yaml

from siting.cli import main
from siting.errors import SitingError

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "bad-inputs.md"


def documented() -> dict[str, str]:
    """id → message, from the table in docs/bad-inputs.md."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `([a-z0-9-]+)` \| .* \| `(.*)` \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def scenario(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def cli(capsys, *argv) -> str:
    """Run the command line; return its one error line (checked: exit 2, one line, no traceback)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0].removeprefix("siting: error: ")


def api(fn) -> str:
    with pytest.raises(SitingError) as exc:
        fn()
    assert "\n" not in str(exc.value)
    return str(exc.value)


def fake_run(folder: Path, metrics: str = "{}") -> Path:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(metrics, encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"scenario": "x"}), encoding="utf-8")
    (folder / "kommuner.csv").write_text("kommunenummer\n0301\n", encoding="utf-8")
    return folder


def no_computation(monkeypatch):
    """Any stage that computes fails the test: the error must come before."""
    from siting.pipeline import run

    def boom(*a, **k):
        raise AssertionError("computation started before the output was checked")

    monkeypatch.setattr(run, "load_inputs", boom)


GOOD = "name: probe\nnew_offices: 2\n"


def case_scenario_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return cli(capsys, "run", "nope.yaml")


def case_scenario_directory(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", tmp_path)


def case_scenario_not_utf8(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: probe\ndescription: Tromsø\n".encode("latin-1").replace(b"\xf8", b"\xe6")))


def case_scenario_invalid_yaml(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: [probe\n"))


def case_scenario_unknown_field(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: probe\nnew_ofices: 3\n"))


def case_yaml_duplicate_key(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: probe\nnew_offices: 20\nmodel:\n  type: mclp\nnew_offices: 5\n"))


def billion_laughs() -> str:
    text = 'name: laughs\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, n in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{n}: &{n} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    return text  # 387 bytes, 9**9 strings once expanded


def case_yaml_alias_bomb(tmp_path, capsys, monkeypatch):
    t = time.perf_counter()
    msg = cli(capsys, "run", scenario(tmp_path, billion_laughs()))
    assert time.perf_counter() - t < 5  # was: 6 GB and 49 s, then a MemoryError traceback
    return msg


def case_yaml_deep_brackets(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: x\nsites: " + "[" * 100_000 + "]" * 100_000 + "\n"))


def case_yaml_deep_mappings(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: x\nmodel: " + "{k: " * 3000 + "1" + "}" * 3000 + "\n"))


def case_yaml_too_large(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: x\ndescription: " + "x" * (2 << 20) + "\n"))


def case_bool_as_number(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: probe\nnew_offices: true\n"))


def case_number_as_text(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: probe\nnew_offices: '20'\n"))


def case_threshold_out_of_range(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: probe\nmodel:\n  threshold_minutes: 0.0001\n"))


def case_speed_factor_out_of_range(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, "name: probe\nnetwork:\n  speed_factor: 1.0e-9\n"))


def case_cache_dir_is_a_file(tmp_path, capsys, monkeypatch):
    (tmp_path / "cache").write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path / "cache"))
    return cli(capsys, "run", scenario(tmp_path, GOOD), "--out", tmp_path / "run")


def case_cache_dir_cannot_be_created(tmp_path, capsys, monkeypatch):
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    monkeypatch.setenv("SITING_CACHE_DIR", "/proc/siting-cache")  # not creatable, even for root
    return cli(capsys, "run", scenario(tmp_path, GOOD), "--out", tmp_path / "run")


def truncated_copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 3])
    return dst


def case_damaged_grid_file(tmp_path, capsys, monkeypatch):
    from siting.paths import DATA_DIR

    grid = truncated_copy(DATA_DIR / "population" / "ssb_grid_250m_2022.npz", tmp_path / "grid.npz")
    return cli(capsys, "run", scenario(tmp_path, GOOD + f"inputs:\n  population_grid: {grid}\n"), "--out", tmp_path / "run")


def case_damaged_roads_file(tmp_path, capsys, monkeypatch):
    from siting.paths import DATA_DIR

    roads = truncated_copy(DATA_DIR / "roads" / "n1000_veglenke.npz", tmp_path / "roads.npz")
    return cli(capsys, "run", scenario(tmp_path, GOOD + f"inputs:\n  roads: {roads}\n"), "--out", tmp_path / "run")


def case_memory_budget_setting(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SITING_MAX_MEMORY", "lots")
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path / "cache"))
    from siting import resources

    return api(lambda: resources.require(1, "x", "y"))


def case_report_out_exists(tmp_path, capsys, monkeypatch):
    thesis = tmp_path / "thesis.html"
    thesis.write_text("years of work", encoding="utf-8")
    msg = cli(capsys, "report", fake_run(tmp_path / "run"), "--out", thesis)
    assert thesis.read_text(encoding="utf-8") == "years of work"
    return msg


def case_report_force_onto_foreign_file(tmp_path, capsys, monkeypatch):
    thesis = tmp_path / "thesis.html"
    thesis.write_text("<html><head></head><body>years of work</body></html>", encoding="utf-8")
    msg = cli(capsys, "report", fake_run(tmp_path / "run"), "--out", thesis, "--force")
    assert "years of work" in thesis.read_text(encoding="utf-8")
    return msg


def case_map_force_onto_foreign_file(tmp_path, capsys, monkeypatch):
    page = tmp_path / "page.html"
    page.write_text("<html>mine</html>", encoding="utf-8")
    msg = cli(capsys, "map", fake_run(tmp_path / "run"), "--out", page, "--force")
    assert page.read_text(encoding="utf-8") == "<html>mine</html>"
    return msg


def case_compare_out_exists(tmp_path, capsys, monkeypatch):
    (tmp_path / "cmp").mkdir()
    (tmp_path / "cmp" / "notes.md").write_text("mine", encoding="utf-8")
    return cli(capsys, "compare", fake_run(tmp_path / "run"), "--out", tmp_path / "cmp")


def case_wishes_extract_onto_file(tmp_path, capsys, monkeypatch):
    reviewed = tmp_path / "wishes.csv"
    reviewed.write_text("my,own,columns\n", encoding="utf-8")
    letter = tmp_path / "letter.txt"
    letter.write_text("Kommunen ønsker et tjenestested.", encoding="utf-8")
    msg = cli(capsys, "wishes", "extract", letter, "--out", reviewed, "--force")
    assert reviewed.read_text(encoding="utf-8") == "my,own,columns\n"
    return msg


def case_report_run_without_headline(tmp_path, capsys, monkeypatch):
    run = fake_run(tmp_path / "run", metrics='{"threshold_minutes": 30}')
    return cli(capsys, "report", run, "--out", tmp_path / "r.html")


def case_sweep_jobs_zero(tmp_path, capsys, monkeypatch):
    no_computation(monkeypatch)
    minus = cli(capsys, "sweep", scenario(tmp_path, GOOD), "--vary", "new_offices=1,2", "--jobs", "-3", "--out", tmp_path / "sw")
    assert minus.startswith("--jobs -3: give a number of worker processes of at least 1")  # was: this process, silently
    return cli(capsys, "sweep", scenario(tmp_path, GOOD), "--vary", "new_offices=1,2", "--jobs", "0", "--out", tmp_path / "sw")


def case_sweep_dask_bad_address(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    no_computation(monkeypatch)
    return cli(capsys, "sweep", scenario(tmp_path, GOOD), "--vary", "new_offices=1,2", "--dask", "::::", "--out", tmp_path / "sw")


def case_extra_points_not_utf8(tmp_path, capsys, monkeypatch):
    csv = tmp_path / "points.csv"
    csv.write_bytes("name;lon;lat\nTromsø;18,95;69,65\n".encode("cp1252"))  # Excel's "CSV (semikolondelt)"
    code = main(["validate", str(scenario(tmp_path, GOOD + f"candidates:\n  extra_points: {csv}\n"))])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err.strip()


def case_extra_points_unknown_separator(tmp_path, capsys, monkeypatch):
    csv = tmp_path / "points.csv"
    csv.write_text("name|lon|lat\nMy premises|10.75|59.91\n", encoding="utf-8")
    code = main(["validate", str(scenario(tmp_path, GOOD + f"candidates:\n  extra_points: {csv}\n"))])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err.strip()


def case_name_dot(tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    (runs / "keep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    msg = cli(capsys, "run", "--force", scenario(tmp_path, 'name: "."\n'))
    assert (runs / "keep").is_dir()
    return msg


def case_name_path(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, 'name: "../elsewhere"\n'))


def case_cutoff_below_threshold(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, GOOD + "network:\n  cutoff_minutes: 20\n"))


def case_out_exists(tmp_path, capsys, monkeypatch):
    no_computation(monkeypatch)
    out = fake_run(tmp_path / "old-run")
    return cli(capsys, "run", scenario(tmp_path, GOOD), "--out", out)


def case_force_not_a_run_folder(tmp_path, capsys, monkeypatch):
    no_computation(monkeypatch)
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("years of work", encoding="utf-8")
    msg = cli(capsys, "run", scenario(tmp_path, GOOD), "--out", precious, "--force")
    assert (precious / "chapter1.tex").read_text(encoding="utf-8") == "years of work"
    return msg


def case_force_onto_file(tmp_path, capsys, monkeypatch):
    no_computation(monkeypatch)
    target = tmp_path / "notes.txt"
    target.write_text("keep me", encoding="utf-8")
    sc = scenario(tmp_path, GOOD)
    before = sorted(os.listdir(tmp_path))
    msg = cli(capsys, "run", sc, "--out", target, "--force")
    assert target.read_text(encoding="utf-8") == "keep me"
    assert sorted(os.listdir(tmp_path)) == before  # no hidden .notes.txt.old or temporary folder
    return msg


def case_out_unwritable(tmp_path, capsys, monkeypatch):
    no_computation(monkeypatch)
    target = Path("/sys/siting-probe-run")  # not writable, even for root
    if not Path("/sys").is_dir():
        pytest.skip("needs Linux /sys")
    return cli(capsys, "run", scenario(tmp_path, GOOD), "--out", target)


def case_validate_too_many_offices(tmp_path, capsys, monkeypatch):
    code = main(["validate", str(scenario(tmp_path, "name: probe\nnew_offices: 100000\n"))])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err.strip()


def case_ferry_table_bad_number(tmp_path, capsys, monkeypatch):
    from siting.network.ferries import TABLE_COLUMNS

    table = tmp_path / "ferries.csv"
    table.write_text(",".join(TABLE_COLUMNS) + "\na-b,A - B,A,B,5.3,60.1,5.4,60.2,,twenty,30,,operating,"
                     "https://example.org,timetable,2024\n", encoding="utf-8")  # fmt: skip
    code = main(["validate", str(scenario(tmp_path, GOOD + f"inputs:\n  ferries: {table}\n"))])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err.strip()


def case_ferry_wait_word(tmp_path, capsys, monkeypatch):
    return cli(capsys, "run", scenario(tmp_path, GOOD + "network:\n  ferry_wait: sometimes\n"))


def case_extra_points_non_numeric(tmp_path, capsys, monkeypatch):
    csv = tmp_path / "points.csv"
    csv.write_text("name,lon,lat\nMy premises,10.75,sixty\n", encoding="utf-8")
    code = main(["validate", str(scenario(tmp_path, GOOD + f"candidates:\n  extra_points: {csv}\n"))])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err.strip()


def case_compare_file(tmp_path, capsys, monkeypatch):
    f = tmp_path / "metrics.json"
    f.write_text("{}", encoding="utf-8")
    return cli(capsys, "compare", f, "--out", tmp_path / "cmp")


def case_compare_missing(tmp_path, capsys, monkeypatch):
    return cli(capsys, "compare", tmp_path / "no-such-run", "--out", tmp_path / "cmp")


def case_compare_damaged_metrics(tmp_path, capsys, monkeypatch):
    run = fake_run(tmp_path / "run", metrics='{"headline": {"share_within_T')
    return cli(capsys, "compare", run, "--out", tmp_path / "cmp")


def case_model_fixed_index(tmp_path, capsys, monkeypatch):
    from siting.models import PMedian

    return api(lambda: PMedian.from_cost_matrix(np.ones((12, 8)), np.ones(12), 1, fixed=[0, 9]))


def case_model_weights_shape(tmp_path, capsys, monkeypatch):
    from siting.models import PMedian

    return api(lambda: PMedian.from_cost_matrix(np.ones((12, 8)), np.ones(3), 1))


def case_model_sparse_inf(tmp_path, capsys, monkeypatch):
    from siting.models import PMedian

    return api(lambda: PMedian.from_cost_matrix(sp.csr_array(np.full((12, 8), np.inf)), np.ones(12), 1))


def case_solver_failed(tmp_path, capsys, monkeypatch):
    import pulp

    from siting.models import PMedian

    def broken(self, lp, callback=None):
        raise pulp.PulpSolverError("Pulp: Error while executing cbc")

    monkeypatch.setattr(pulp.PULP_CBC_CMD, "actualSolve", broken)
    return api(lambda: PMedian.from_cost_matrix(np.ones((4, 3)), np.ones(4), 1).solve(solver="cbc"))


CASES = {name.removeprefix("case_").replace("_", "-"): fn for name, fn in globals().items() if name.startswith("case_")}


def test_every_documented_bad_input_is_tested_and_every_test_documented():
    assert set(documented()) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_shows_the_documented_message(case, tmp_path, capsys, monkeypatch):
    message = CASES[case](tmp_path, capsys, monkeypatch)
    want = documented()[case]
    pattern = ".*".join(re.escape(part) for part in want.split("…"))
    assert re.fullmatch(pattern, message), f"\ndocumented: {want}\nactual:     {message}"


# ------------------------------------------------------------------------------- accepted inputs, C10
def test_unquoted_municipality_numbers_are_read_as_written(tmp_path):
    from siting.scenario import load_scenario

    p = scenario(tmp_path, "name: probe\nconstraints:\n  forbidden_sites: [5401, 0301, Vik]\n  required_sites:\n    - 1103\n")
    sc = load_scenario(p)
    assert sc.constraints.forbidden_sites == ["5401", "0301", "Vik"]
    assert sc.constraints.required_sites == ["1103"]
    assert yaml.safe_load("[0301]") == [193]  # what YAML alone would have made of it


def test_run_folder_has_normal_permissions_and_force_leaves_nothing_behind(tmp_path):
    from siting.io import atomic_dir

    out = tmp_path / "run"
    for _ in range(2):  # create, then replace with --force
        with atomic_dir(out, force=True, marker="manifest.json") as tmp:
            (tmp / "manifest.json").write_text("{}", encoding="utf-8")
    mask = os.umask(0o022)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask
    assert sorted(os.listdir(tmp_path)) == ["run"]


# ------------------------------------------------------------------------------------------- safe YAML
def test_safe_yaml_limits_and_line_numbers():
    from siting import safe_yaml

    deep = "model:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(200)) + "v: 1\n"
    with pytest.raises(safe_yaml.YAMLLimitError, match="nested deeper than 64 levels"):
        safe_yaml.load(deep)
    chain = "".join(f"a{i}: &a{i} [{'*a' + str(i - 1) if i else 1}]\n" for i in range(100))  # depth grows only through aliases
    with pytest.raises(safe_yaml.YAMLLimitError, match="once its aliases are expanded"):
        safe_yaml.load(chain)
    with pytest.raises(safe_yaml.YAMLLimitError, match="recursive alias"):
        safe_yaml.load("a: &a [*a]\n")
    # merge keys keep their YAML meaning (not duplicates); an alias's lines are where it was defined
    data, _, lines = safe_yaml.load("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n")
    assert data == {"base": {"x": 1, "y": 2}, "m": {"x": 3, "y": 2}}
    assert lines[("m", "x")] == 4 and lines[("base", "y")] == 1
    assert safe_yaml.load("") == (None, None, {})


def test_scenario_with_aliases_validates_and_errors_inside_an_alias_name_a_line(tmp_path):
    from siting.scenario import scenario_errors

    ok = scenario(tmp_path, "name: a\nconstraints:\n  forbidden_sites: &s [Mysen, 0301]\nsites: *s\n", "ok.yaml")
    sc, errors = scenario_errors(ok)
    assert not errors and sc.sites == sc.constraints.forbidden_sites == ["Mysen", "0301"]
    bad = scenario(tmp_path, "name: a\nmodel: &m {threshold_minutes: 0}\n", "bad.yaml")
    assert scenario_errors(bad)[1] == [f"{bad}:2: model.threshold_minutes: Input should be greater than or equal to 1 "
                                       "(allowed: 1 ≤ threshold_minutes ≤ 600)"]  # fmt: skip
