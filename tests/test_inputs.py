"""Named inputs: resolution order, manifest records, the bundled copies equal the original products."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting import inputs
from siting.data.population import NATIONAL_TOTAL_2022, load_population
from siting.demand import read_grid
from siting.errors import DataError
from siting.inputs import InputSpec, find, register, resolve, session
from siting.network import build_network
from siting.network.kartverket import read_road_links
from siting.paths import DATA_DIR, PACKAGE_DIR


@pytest.fixture
def toy_input(tmp_path, monkeypatch):
    """A registered input with a bundled copy under a temporary data/ and an empty cache."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    (data / "toy").mkdir(parents=True)
    (data / "toy" / "toy.csv").write_text("bundle\n")
    monkeypatch.setattr(inputs, "DATA_DIR", data)
    monkeypatch.setenv("SITING_CACHE_DIR", str(cache))
    spec = register(InputSpec("toy", "synthetic test input", bundle="toy/toy.csv", cache=("toy/toy.csv",),
                              fetch="siting data fetch toy", scenario_field="demand.toy_file"))  # fmt: skip
    yield spec, data, cache
    inputs.REGISTRY.pop("toy")


def test_resolution_order_scenario_then_cache_then_bundle(toy_input, tmp_path):
    spec, data, cache = toy_input
    assert find("toy").origin == "bundle" and find("toy").path == data / "toy" / "toy.csv"
    (cache / "toy").mkdir(parents=True)
    (cache / "toy" / "toy.csv").write_text("cache\n")
    assert find("toy").origin == "cache"
    given = tmp_path / "mine.csv"
    assert find("toy", given) == inputs.Input("toy", given, "scenario", "synthetic test input")
    with session({"toy": given}) as used:
        assert resolve("toy").origin == "scenario"
    assert used["toy"].as_dict() == {"name": "toy", "path": str(given), "origin": "scenario", "source": "synthetic test input"}
    assert resolve("toy").origin == "cache"  # outside the session the scenario path is gone


def test_missing_input_names_every_fix(toy_input):
    _, data, _ = toy_input
    (data / "toy" / "toy.csv").unlink()
    assert find("toy") is None and resolve("toy", required=False) is None
    with pytest.raises(DataError, match=r"'toy'.*set demand.toy_file in the scenario.*siting data fetch toy.*git checkout data/"):
        resolve("toy")
    with pytest.raises(DataError, match="unknown input 'nope'"), session({"nope": "x"}):
        pass


def test_every_registered_bundle_exists_and_is_listed_in_sources():
    sources = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for spec in inputs.REGISTRY.values():
        assert spec.bundle_path().exists(), spec.name
        assert f"`{spec.bundle}`" in sources, f"data/SOURCES.md has no row for {spec.bundle}"


def test_bundled_data_stays_small():
    total = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file())
    assert total < 15e6, f"data/ holds {total / 1e6:.1f} MB; the budget is well under 15 MB"


def test_package_never_reads_the_shared_reference_data():
    """Only siting/paths.py may mention the reference data folder, and no module may call shared_data_dir."""
    for py in PACKAGE_DIR.rglob("*.py"):
        if py.name == "paths.py" and py.parent == PACKAGE_DIR:
            continue
        text = py.read_text(encoding="utf-8")
        names = {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
        names |= {a.name for n in ast.walk(ast.parse(text)) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert "shared_data_dir" not in names, py
        assert "SITING_SHARED_DATA" not in text, py


def test_bundled_population_is_ssb_07459_2022():
    pop = load_population()
    assert pop.attrs["source"].endswith("data/population/ssb_07459_2022.csv")
    assert len(pop) == 356 and pop.population_2022.sum() == NATIONAL_TOTAL_2022
    assert pop.set_index("kommunenummer").population_2022["0301"] == 699_827  # Oslo


def test_bundled_grid_and_roads_have_the_published_counts():
    g = read_grid(find("population_grid").path)
    assert len(g) == 223_347 and g["pop"].sum() == 5_609_140 and g["censored"].sum() == 153_580
    links = read_road_links(find("roads").path)
    assert len(links) == 13_455 and links.typeVeg.value_counts().to_dict() == {"enkelBilveg": 13_215, "bilferje": 240}


# --- the bundle equals the original products (where ../shared/data is present) --------------------


def test_bundled_population_equals_the_reference_table(shared_data):
    ref = pd.read_csv(shared_data / "ssb" / "ssb_07459_municipality_population_2022.csv", dtype={"kommunenummer": str})
    ours = pd.read_csv(DATA_DIR / "population" / "ssb_07459_2022.csv", dtype={"kommunenummer": str})
    m = ref.merge(ours, on="kommunenummer", validate="one_to_one")
    assert len(m) == 356 and (m.population == m.population_2022).all() and (m.name_x == m.name_y).all()


def test_bundled_grid_equals_the_published_csv(shared_data):
    pd.testing.assert_frame_equal(read_grid(find("population_grid").path), read_grid(shared_data / "ssb" / "NOR0250M_POP_2022.csv"))


def test_bundled_roads_build_the_same_graph(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path))
    ours = build_network(find("roads").path, use_cache=False)
    ref = build_network(shared_data / "n1000" / "Veglenke.gpkg", use_cache=False)
    np.testing.assert_array_equal(ours.node_xy, ref.node_xy)
    np.testing.assert_array_equal(ours.snappable, ref.snappable)
    assert (ours.matrix != ref.matrix).nnz == 0


def test_run_scripts_rebuild_the_bundle(shared_data, tmp_path):
    """The scripts in scripts/ rebuild byte-identical content from the original products."""
    import importlib.util

    def script(name):
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "scripts" / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    pop = script("build_population").build(shared_data / "ssb" / "Personer2022.csv")
    pd.testing.assert_frame_equal(pop, pd.read_csv(DATA_DIR / "population" / "ssb_07459_2022.csv", dtype={"kommunenummer": str}))
    grid = script("build_population_grid").build(shared_data / "ssb" / "NOR0250M_POP_2022.csv")
    with np.load(DATA_DIR / "population" / "ssb_grid_250m_2022.npz") as z:
        for k, v in grid.items():
            np.testing.assert_array_equal(z[k], v)


def test_run_on_the_bundle_equals_run_on_the_originals(shared_data, tmp_path, monkeypatch):
    """Same proposals and metrics from the bundled copies as from the original products (5 km demand cells)."""
    from test_run import fast_copy

    from siting.pipeline import run_scenario

    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path / "cache"))
    originals = {"population": str(shared_data / "ssb" / "ssb_07459_municipality_population_2022.csv"),
                 "population_grid": str(shared_data / "ssb" / "NOR0250M_POP_2022.csv"),
                 "roads": str(shared_data / "n1000" / "Veglenke.gpkg")}  # fmt: skip
    runs = {}
    for label, extra in (("bundle", {}), ("originals", {"inputs": originals})):
        (tmp_path / label).mkdir()
        sc = fast_copy("max-coverage-30", tmp_path / label, outputs={"map": False}, **extra)
        runs[label] = run_scenario(sc, tmp_path / label / "run", copy_map=False)
    man = {k: json.loads((v / "manifest.json").read_text(encoding="utf-8")) for k, v in runs.items()}
    assert {i["origin"] for i in man["bundle"]["inputs"].values()} == {"bundle"}
    assert {n for n, i in man["originals"]["inputs"].items() if i["origin"] == "scenario"} == set(originals)
    assert man["bundle"]["status"] == man["originals"]["status"] == "optimal"
    assert man["bundle"]["new_sites"] == man["originals"]["new_sites"] and len(man["bundle"]["new_sites"]) == 20
    pd.testing.assert_frame_equal(*(pd.read_csv(v / "proposals.csv") for v in runs.values()))
    met = {k: json.loads((v / "metrics.json").read_text(encoding="utf-8")) for k, v in runs.items()}
    for m in met.values():
        m.pop("network")  # names the file read (n1000_veglenke.npz vs Veglenke.gpkg)
        assert m["demand"]["source"] == "grid" and m["demand"]["resolution_m"] == 5000
    assert man["bundle"]["demand"] == met["bundle"]["demand"]
    assert met["bundle"] == met["originals"]


def test_data_info_shows_each_inputs_origin(tmp_path, monkeypatch, capsys):
    from siting.cli import main

    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "250")
    (tmp_path / "cache" / "population").mkdir(parents=True)
    shutil.copy(DATA_DIR / "population" / "ssb_07459_2022.csv", tmp_path / "cache" / "population" / "ssb_07459_2022.csv")
    shutil.copy(DATA_DIR / "population" / "ssb_grid_250m_2022.npz", tmp_path / "my_grid.npz")
    sc = tmp_path / "s.yaml"
    sc.write_text("name: s\ninputs:\n  population_grid: my_grid.npz\n", encoding="utf-8")
    assert main(["data", "info", str(sc)]) == 0
    out = capsys.readouterr().out
    rows = {c[1].strip(): c[2].strip() for c in (line.split("│") for line in out.splitlines()) if len(c) >= 5 and c[1].strip()}
    assert rows["population"] == "cache" and rows["population_grid"] == "scenario"
    assert rows["roads"] == rows["kommuner"] == rows["stations"] == "bundle"
    assert "5,425,270" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: s\ninputs:\n  crimes: x.csv\n", encoding="utf-8")
    assert main(["validate", str(bad)]) != 0
    assert "bad.yaml:3: inputs: unknown input 'crimes'" in capsys.readouterr().err


@pytest.mark.parametrize("cell", [250, 1000, 2000])
def test_demand_resolution_is_selectable_and_recorded(cell, tmp_path, monkeypatch):
    from siting.data import load_kommuner, load_places
    from siting.demand import build_demand, describe

    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path))
    demand = build_demand(load_kommuner(), load_places(), "auto", None, cell)
    d = describe(demand)
    assert d["source"] == "grid" and d["resolution_m"] == cell
    assert demand.population.sum() == pytest.approx(NATIONAL_TOTAL_2022)
    # 250 m: one point per inhabited SSB cell; coarser cells merge them within each municipality
    expected = {250: (223_347, 223_347), 1000: (50_000, 60_000), 2000: (23_000, 28_000)}[cell]
    assert expected[0] <= d["points"] <= expected[1]


def test_demand_resolution_must_be_whole_grid_cells(tmp_path, capsys):
    from siting.cli import main

    sc = tmp_path / "s.yaml"
    sc.write_text("name: s\ndemand:\n  cell_size_m: 300\n", encoding="utf-8")
    assert main(["validate", str(sc)]) != 0
    assert "demand.cell_size_m: must be a multiple of the SSB grid's 250 m cells" in capsys.readouterr().err


def test_fetched_files_take_precedence_over_the_bundle(tmp_path, monkeypatch):
    """`siting data fetch population` writes where the resolver looks first after the scenario (local server)."""
    from test_fetch import _serve

    from siting.cli import main

    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path))
    assert find("population").origin == "bundle"
    ref = pd.read_csv(DATA_DIR / "population" / "ssb_07459_2022.csv", dtype={"kommunenummer": str})
    answer = {  # JSON-stat2 shaped like SSB's, carrying the bundled figures
        "id": ["Region", "ContentsCode", "Tid"], "size": [len(ref), 1, 1], "value": ref.population.tolist(),
        "dimension": {"Region": {"category": {"index": {f"K-{k}": i for i, k in enumerate(ref.kommunenummer)},
                                              "label": {f"K-{k}": f"{k} {n}" for k, n in zip(ref.kommunenummer, ref.name, strict=True)}}},
                      "ContentsCode": {"category": {"index": {"Personer1": 0}}}, "Tid": {"category": {"index": {"2022": 0}}}},
    }  # fmt: skip
    srv, url, _ = _serve(json.dumps(answer).encode(), "application/json")
    try:
        assert main(["data", "fetch", "population", "--base-url", url]) == 0
    finally:
        srv.shutdown()
    found = find("population")
    assert found.origin == "cache" and found.path == tmp_path / "population" / "ssb_07459_2022.csv"
    assert load_population().population_2022.sum() == NATIONAL_TOTAL_2022
