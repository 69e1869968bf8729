"""Memory follows the answer, not the graph: no stage allocates demand × graph nodes (or demand ×
sites) densely. Synthetic grid road graph, large enough that a dense demand × nodes array would
dominate the traced peak (tracemalloc sees numpy's allocations)."""

from __future__ import annotations

import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from shapely.geometry import Point

from siting.network import NetworkSpec
from siting.network.graph import RoadGraph
from siting.pipeline import Inputs, Network, TimeMatrix, far_rows

SIDE = 120  # synthetic grid: 14 400 road nodes, 1 km apart, 1 minute per edge


def synthetic_grid() -> RoadGraph:
    """Synthetic: a SIDE × SIDE grid of two-way roads (1 km, 1 min per edge)."""
    idx = np.arange(SIDE * SIDE).reshape(SIDE, SIDE)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    n = SIDE * SIDE
    m = sp.csr_array((np.ones(2 * len(u)), (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    xy = np.c_[(idx % SIDE).ravel() * 1000.0 + 200_000, (idx // SIDE).ravel() * 1000.0 + 6_600_000]
    return RoadGraph(node_xy=xy.astype(float), matrix=m, source="synthetic grid", snappable=np.ones(n, bool), spec=NetworkSpec())


def _points(xy, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(cols), geometry=[Point(x, y) for x, y in xy], crs=25833)


@pytest.mark.parametrize("n_offices", [0, 3])
def test_far_rows_never_allocate_demand_times_nodes(n_offices):
    """Synthetic: 600 demand points, 40 sites, no (or few) offices, every point beyond the cutoff.
    The far rows were a dense Dijkstra block of demand nodes × graph nodes (here 600 × 14 400 × 8 B
    = 69 MB; nationally 24 GB): now sparse rows, and the traced peak stays far below that block."""
    g = synthetic_grid()
    rng = np.random.default_rng(0)
    base = np.array([200_000.0, 6_600_000.0])
    demand = _points(base + rng.uniform(0, (SIDE - 1) * 1000, (600, 2)), population=rng.integers(1, 50, 600).astype(float))
    site_xy = base + rng.uniform(0, (SIDE - 1) * 1000, (40, 2))
    sites = _points(site_xy, fixed=np.arange(40) < n_offices)
    inputs = Inputs(None, None, None, None, demand, sites[~sites.fixed], sites, "synthetic")
    from siting import traveltime

    before = (traveltime.nearest_facility_time(g, demand.geometry, sites.geometry[sites.fixed])[0] if n_offices
              else np.full(len(demand), np.inf))  # fmt: skip
    cutoff = 5.0  # minutes: almost every point is beyond it
    tm = TimeMatrix(sp.csr_array((len(demand), len(sites))), before, cutoff, 0, 0, f"synthetic-grid-{n_offices}")
    net = Network(g, "synthetic", "synthetic")
    dense = len(demand) * g.n_nodes * 8
    tracemalloc.start()
    try:
        far = far_rows(net, inputs, tm)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sp.issparse(far.cost) and far.cost.shape == (len(far.rows), len(sites))
    assert len(far.rows) >= 0.9 * len(demand)
    assert peak < dense / 4, f"traced peak {peak / 1e6:.0f} MB, a dense demand × nodes block is {dense / 1e6:.0f} MB"
    # the rows are exact: every stored time equals the uncut shortest time
    full = traveltime.travel_time_matrix(g, demand.geometry.iloc[far.rows], sites.geometry, cutoff=1e9).toarray()
    got = far.cost.toarray()
    stored = far.cost.toarray() > 0
    assert np.allclose(got[stored], full[stored])


def test_a_run_without_existing_offices_stays_within_a_small_budget(tmp_path, monkeypatch):
    """A stations file with only its header (no existing offices) used to allocate a dense demand ×
    road-nodes block (killed at 24 GB); now it runs at a 1 GiB budget like any other scenario."""
    import json

    from siting.paths import DATA_DIR
    from siting.run import run_scenario

    stations = tmp_path / "stations.csv"
    stations.write_text((DATA_DIR / "stations" / "stations.csv").read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    monkeypatch.setenv("SITING_MAX_MEMORY", "1G")
    sc = tmp_path / "green.yaml"
    sc.write_text(f"name: green\nnew_offices: 2\ndemand:\n  cell_size_m: 10000\ncandidates:\n  sources: [geonames]\n"
                  f"outputs:\n  map: false\ninputs:\n  stations: {stations}\n", encoding="utf-8")  # fmt: skip
    out = run_scenario(sc, tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["status"] == "optimal" and man["existing_office_locations"] == 0 and len(man["new_sites"]) == 2
