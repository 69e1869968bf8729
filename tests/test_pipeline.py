"""The staged pipeline: `siting run` equals the stages called by hand and the un-staged computation;
stage caches (memo, disk) return identical matrices; no import cycles in the package."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_run import fast_copy

from siting import pipeline, traveltime
from siting.models import MCLP
from siting.scenario import load_scenario

PACKAGE = Path(__file__).resolve().parents[1] / "siting"


def test_run_equals_unstaged_computation(tmp_path):
    """max-coverage-30 at 5 km cells: `siting run` gives the proposals and objective of the plain
    computation the run did before it was split into stages (load → matrix → MCLP → metrics)."""
    from siting.candidates import build_candidates
    from siting.data import load_kommuner, load_places, load_stations
    from siting.demand import build_demand
    from siting.network import NetworkSpec, load_network
    from siting.run import run_scenario

    path = fast_copy("max-coverage-30", tmp_path)
    out = run_scenario(path, tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    met = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    props = pd.read_csv(out / "proposals.csv")

    sc = load_scenario(path)
    kommuner, stations, places = load_kommuner(), load_stations(), load_places()
    graph = load_network(NetworkSpec(**sc.network.model_dump(exclude={"cutoff_minutes"})))
    demand = build_demand(kommuner, places, sc.demand.source, sc.demand.grid_file, sc.demand.cell_size_m)
    cand = build_candidates(kommuner, places, stations, sc.candidates.sources, sc.candidates.min_distance_to_station_m,
                            dedup_distance_m=sc.candidates.dedup_distance_m)  # fmt: skip
    xy = np.r_[np.column_stack([stations.geometry.x, stations.geometry.y]), np.column_stack([cand.geometry.x, cand.geometry.y])]
    fixed = np.r_[np.ones(len(stations), bool), np.zeros(len(cand), bool)]
    cost = traveltime.travel_time_matrix(graph, demand.geometry, xy, cutoff=sc.network.cutoff_minutes)
    w = demand.population.to_numpy(float)
    sol = MCLP(cost, w, 20, fixed=fixed, service_radius=30.0).solve()
    ids = np.r_[stations.station_id.to_numpy(str), cand.site_id.to_numpy(str)]
    assert man["status"] == sol.status == "optimal"
    assert man["objective"] == pytest.approx(sol.objective, rel=1e-9)
    assert sorted(man["new_sites"]) == sorted(ids[sol.selected])
    assert list(props.site_id) == list(ids[sol.selected])  # same rank order
    # objective = population within 30 min of an open site, recomputed from the matrix by hand
    c = cost[:, sol.open_sites].tocoo()
    covered = np.zeros(len(w), bool)
    covered[c.row[c.data <= 30.0]] = True
    assert float(w[covered].sum()) == pytest.approx(man["objective"], rel=1e-9)
    after, _ = traveltime.nearest_facility_time(graph, demand.geometry, xy[sol.open_sites])
    assert met["headline"]["share_within_T_after"] == pytest.approx(w[after <= 30].sum() / w.sum(), rel=1e-12)
    assert set(man["stage_keys"]) == {"inputs", "network", "network_content", "matrix"}


def test_stages_share_and_cache_the_matrix(tmp_path, monkeypatch):
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path / "cache"))
    pipeline.clear_memo()
    sc = load_scenario(fast_copy("max-coverage-30", tmp_path))
    inputs = pipeline.load_inputs(sc)
    net = pipeline.load_network_stage(sc)
    assert pipeline.load_inputs(sc) is inputs and pipeline.load_network_stage(sc) is net  # memo
    tm = pipeline.drive_time_matrix(net, inputs, 90.0)
    assert tm.cache == "built" and tm.cost.shape == (len(inputs.demand), len(inputs.sites))
    again = pipeline.drive_time_matrix(net, inputs, 90.0)
    assert again.cache == "memo" and again.cost is tm.cost
    pipeline.clear_memo()
    disk = pipeline.drive_time_matrix(net, inputs, 90.0)
    assert disk.cache == "disk" and disk.key == tm.key
    assert (disk.cost != tm.cost).nnz == 0 and np.array_equal(disk.before, tm.before)
    # another cutoff is another matrix; a threshold or p change is not (same key)
    assert pipeline.matrix_key(net, inputs, 60.0) != tm.key
    sc2 = sc.model_copy(update={"new_offices": 5})
    assert pipeline.matrix_key(pipeline.load_network_stage(sc2), pipeline.load_inputs(sc2), 90.0) == tm.key
    # the model stage is pure: same inputs → same solution
    problem = pipeline.build_problem(sc2, inputs)
    a, b = pipeline.solve_model(sc2, problem, tm), pipeline.solve_model(sc2, problem, disk)
    assert list(a.selected) == list(b.selected) and a.objective == b.objective and len(a.selected) == 5


def _imports(path: Path, module: str) -> set[str]:
    """Every siting module imported anywhere in a file (function-level imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("siting")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("siting"):
                out.add(name)
    return out


def test_models_have_no_import_cycle():
    mods = {}
    for p in (PACKAGE / "models").glob("*.py"):
        name = "siting.models" + ("" if p.name == "__init__.py" else f".{p.stem}")
        mods[name] = _imports(p, name)
    leaf = {m for m in mods if m != "siting.models"}

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for d in mods.get(todo.pop(), set()) & leaf:
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen

    for m in leaf:
        assert m not in reach(m), f"import cycle through {m}"
    assert "siting.models.coverage" not in mods["siting.models.greedy"]
