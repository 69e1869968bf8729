"""Stage 3, matrix: the sparse demand × site drive-time matrix, today's nearest-office times and the
uncut far rows."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from siting.io import atomic_path
from siting.paths import cache_dir
from siting.pipeline.inputs_stage import Inputs
from siting.pipeline.keys import _MATRICES, Timer, digest
from siting.pipeline.network_stage import Network
from siting.scenario import Scenario

log = logging.getLogger(__name__)

#: Bump when the on-disk matrix format changes.
MATRIX_CACHE_VERSION = 2


@dataclass
class TimeMatrix:
    """Drive times of a run.

    Attributes
    ----------
    cost : scipy.sparse.csr_array
        ``(n_demand, n_sites)`` minutes from site to demand point (stored entry = reachable, 0.0
        included): every pair no longer than the point's time to its nearest existing office (all a
        model can use: a farther site never serves the point; exact also beyond the cutoff) and at
        least ``floor`` minutes; the cutoff applies to points no existing office reaches.
    before : ndarray
        Minutes from the nearest existing office to each demand point (no cutoff; ``inf`` =
        unreachable).
    cutoff : float
    far_demand, far_sites : int
        Points farther than the snap threshold from any road.
    key : str
        Content hash of the graph, demand and site coordinates, cutoff.
    seconds : float
        Time it took to build (0 when read from a cache).
    cache : str
        ``"built"``, ``"disk"`` or ``"memo"``.
    """

    cost: sp.csr_array
    before: np.ndarray
    cutoff: float
    far_demand: int
    far_sites: int
    key: str
    seconds: float = 0.0
    cache: str = "built"


def _xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return np.column_stack([gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()])


def matrix_floor(sc: Scenario) -> float:
    """Minutes every demand point's matrix row must reach whatever its nearest existing office:
    the service radius for backup coverage (a point covered once needs its second cover), else 0."""
    return float(sc.model.threshold_minutes) if sc.model.type == "backup" else 0.0


def matrix_key(network: Network, inputs: Inputs, cutoff: float, floor: float = 0.0) -> str:
    return digest(MATRIX_CACHE_VERSION, network.content_key, _xy(inputs.demand), _xy(inputs.sites), inputs.fixed, float(cutoff),
                  float(floor))  # fmt: skip


def drive_time_matrix(network: Network, inputs: Inputs, cutoff: float, timer: Timer | None = None,
                      use_disk: bool = True, floor: float = 0.0) -> TimeMatrix:  # fmt: skip
    """Stage 3: the sparse demand × site drive-time matrix and today's nearest-office times.

    A demand point's row holds the sites within ``max(its nearest-office time, floor)`` minutes
    (``cutoff`` if no existing office reaches it): on the national 250 m grid with 4 500 sites
    that is ~20× fewer pairs than a 90-min cutoff, and exact for points beyond it.
    """
    from siting import traveltime

    timer = timer or Timer()
    key = matrix_key(network, inputs, cutoff, floor)
    hit = _MATRICES.get(key)
    if hit is not None:
        return replace(hit, cache="memo", seconds=0.0)
    path = cache_dir() / "matrices" / f"{key}.npz"
    if use_disk and path.exists():
        try:
            with timer.stage("drive-time matrix"), np.load(path, allow_pickle=False) as z:
                cost = sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
                tm = TimeMatrix(cost, z["before"], float(cutoff), int(z["far"][0]), int(z["far"][1]), key, 0.0, "disk")
            _MATRICES.put(key, tm)
            return tm
        except (OSError, KeyError, ValueError):
            log.warning("ignoring unreadable matrix cache %s", path)
    graph = network.graph
    t0 = time.perf_counter()
    far_demand = far_sites = 0
    if not graph.is_estimate:  # points farther than the snap threshold from any road are reported
        far_demand = int(traveltime.snap(graph, inputs.demand.geometry).far.sum())
        far_sites = int(traveltime.snap(graph, inputs.sites.geometry).far.sum())
    with timer.stage("drive-time matrix"):
        before, _ = traveltime.nearest_facility_time(graph, inputs.demand.geometry, inputs.sites.geometry[inputs.fixed])
        # + 1e-6: the nearest office itself stays in the row whatever the rounding of the two searches
        per_point = np.where(np.isfinite(before), np.maximum(before + 1e-6, floor), cutoff) if inputs.fixed.any() else cutoff
        cost = traveltime.travel_time_matrix(graph, inputs.demand.geometry, inputs.sites.geometry, cutoff=per_point)
    tm = TimeMatrix(sp.csr_array(cost), np.asarray(before, float), float(cutoff), far_demand, far_sites, key,
                    round(time.perf_counter() - t0, 3), "built")  # fmt: skip
    if use_disk:
        c = tm.cost
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, data=c.data, indices=c.indices, indptr=c.indptr, shape=np.array(c.shape), before=tm.before,
                     far=np.array([far_demand, far_sites]))  # fmt: skip
    _MATRICES.put(key, tm)
    return tm


@dataclass
class FarRows:
    """Exact times beyond the cutoff for the demand points that today's offices reach only beyond it.

    With these, the time to the nearest open office of *any* plan follows from the matrix alone:
    ``after = min(before, new sites' times)`` is exact for a point within the cutoff of today's
    offices (a new site beyond the cutoff cannot beat them), and for the others these rows hold
    every site's time without a cutoff.

    Attributes
    ----------
    rows : ndarray of int
        Demand points with ``before > cutoff``.
    cost : ndarray
        ``(len(rows), n_sites)`` minutes, ``inf`` where unreachable.
    """

    rows: np.ndarray
    cost: np.ndarray


def far_rows(network: Network, inputs: Inputs, tm: TimeMatrix, timer: Timer | None = None) -> FarRows:
    """Stage 3b (sweeps and plan analysis): uncut times for the demand rows beyond the cutoff.

    One reverse Dijkstra per distinct road node of those points (a few hundred nationally);
    cached on disk beside the matrix.
    """
    from scipy.sparse.csgraph import dijkstra

    from siting import traveltime

    timer = timer or Timer()
    rows = np.flatnonzero(~(tm.before <= tm.cutoff))
    path = cache_dir() / "matrices" / f"{tm.key}-far.npz"
    hit = _MATRICES.get(f"{tm.key}-far")
    if hit is not None:
        return hit
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                out = FarRows(z["rows"], z["cost"])
            if np.array_equal(out.rows, rows):
                _MATRICES.put(f"{tm.key}-far", out)
                return out
        except (OSError, KeyError, ValueError):
            log.warning("ignoring unreadable cache %s", path)
    graph = network.graph
    with timer.stage("far rows"):
        n_sites = len(inputs.sites)
        cost = np.full((len(rows), n_sites), np.inf)
        if len(rows) and graph.is_estimate:
            m = graph.time_matrix(_xy(inputs.demand)[rows], _xy(inputs.sites), 1e9).tocoo()
            cost[m.row, m.col] = m.data
        elif len(rows):
            d = traveltime.snap(graph, inputs.demand.geometry.iloc[rows])
            f = traveltime.snap(graph, inputs.sites.geometry)
            nodes, inv = np.unique(d.node, return_inverse=True)
            limit = float(np.max(np.where(np.isfinite(tm.before[rows]), tm.before[rows], np.inf)))
            dist = dijkstra(graph.matrix.T.tocsr(), directed=True, indices=nodes, limit=limit)  # node → demand point
            cost = dist[inv][:, f.node] + f.access_minutes[None, :] + d.access_minutes[:, None]
    out = FarRows(rows, cost)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, rows=rows, cost=cost)
    _MATRICES.put(f"{tm.key}-far", out)
    return out


