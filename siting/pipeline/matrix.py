"""Stage 3, matrix: the sparse demand × site drive-time matrix, today's nearest-office times and the
uncut far rows."""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from siting import cache, resources
from siting.paths import cache_dir
from siting.pipeline.inputs_stage import Inputs
from siting.pipeline.keys import _MATRICES, Timer
from siting.pipeline.network_stage import Network
from siting.scenario import Scenario

log = logging.getLogger(__name__)

#: Bump when the on-disk matrix format changes.
MATRIX_CACHE_VERSION = 3


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
    floor : float
        Minutes every row reaches at least (:func:`matrix_floor`).
    structure : bool
        Rows for a structure scenario (``existing.mode`` greenfield/relocate): each row holds the
        sites within :func:`siting.pipeline.structure.row_bound` of its point (nothing is fixed, so
        no office ends it); the models extend rows where they need more.
    """

    cost: sp.csr_array
    before: np.ndarray
    cutoff: float
    far_demand: int
    far_sites: int
    key: str
    seconds: float = 0.0
    cache: str = "built"
    floor: float = 0.0
    structure: bool = False


def _xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return np.column_stack([gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()])


def matrix_floor(sc: Scenario) -> float:
    """Minutes every demand point's matrix row must reach whatever its nearest existing office:
    the service radius for backup coverage (a point covered once needs its second cover) and for
    coverage models choosing a whole structure (nothing fixed ends their rows), else 0."""
    if sc.model.type == "backup" or (sc.existing.mode != "fixed" and sc.model.type in ("mclp", "pcenter")):
        return float(sc.model.threshold_minutes)
    return 0.0


def matrix_parts(network: Network, inputs: Inputs, cutoff: float, floor: float = 0.0, structure: bool = False) -> dict:
    """The full key of a drive-time matrix: the graph's content, demand and site coordinates, which
    sites are existing offices, the cutoff, the floor and whether rows are a structure's."""
    parts = {"version": MATRIX_CACHE_VERSION, "network": network.content_key, "demand_xy": cache.fingerprint(_xy(inputs.demand)),
             "sites_xy": cache.fingerprint(_xy(inputs.sites)), "fixed": cache.fingerprint(inputs.fixed), "cutoff": float(cutoff),
             "floor": float(floor), "n_demand": len(inputs.demand), "n_sites": len(inputs.sites)}  # fmt: skip
    if structure:  # rows to row_bound (nothing fixed ends them)
        parts["rows"] = "structure"
    return parts


def matrix_key(network: Network, inputs: Inputs, cutoff: float, floor: float = 0.0, structure: bool = False) -> str:
    return cache.key_of(matrix_parts(network, inputs, cutoff, floor, structure))


def _matrix_problem(n_demand: int, n_sites: int):
    """The check of a cached matrix against the run: shapes, a consistent CSR structure, finite times."""

    def check(z: dict) -> str | None:
        if [int(v) for v in z["shape"]] != [n_demand, n_sites] or z["before"].shape != (n_demand,):
            return f"shape {tuple(int(v) for v in z['shape'])} is not the run's {n_demand} demand points × {n_sites} sites"
        indptr, indices, data = z["indptr"], z["indices"], z["data"]
        if len(indptr) != n_demand + 1 or indptr[0] != 0 or indptr[-1] != len(data) or len(indices) != len(data) or \
                np.any(np.diff(indptr) < 0) or (len(indices) and (indices.min() < 0 or indices.max() >= n_sites)):  # fmt: skip
            return "inconsistent sparse structure"
        if not np.all(np.isfinite(data)) or np.any(data < 0):
            return "times that are not finite minutes"
        return None

    return check


def drive_time_matrix(network: Network, inputs: Inputs, cutoff: float, timer: Timer | None = None,
                      use_disk: bool = True, floor: float = 0.0, structure: bool = False) -> TimeMatrix:  # fmt: skip
    """Stage 3: the sparse demand × site drive-time matrix and today's nearest-office times.

    A demand point's row holds the sites within ``max(its nearest-office time, floor)`` minutes
    (``cutoff`` if no existing office reaches it): on the national 250 m grid with 4 500 sites
    that is ~20× fewer pairs than a 90-min cutoff, and exact for points beyond it. With
    ``structure`` (nothing fixed) rows end at :func:`siting.pipeline.structure.row_bound`.
    """
    from siting import traveltime

    timer = timer or Timer()
    parts = matrix_parts(network, inputs, cutoff, floor, structure)
    key = cache.key_of(parts)
    hit = _MATRICES.get(key)
    if hit is not None:
        return replace(hit, cache="memo", seconds=0.0)
    path = cache_dir() / "matrices" / f"{key}.npz"
    if use_disk:
        with timer.stage("drive-time matrix"):
            z = cache.load(path, "matrix", parts, check=_matrix_problem(len(inputs.demand), len(inputs.sites)))
        if z is not None:
            cost = sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=(len(inputs.demand), len(inputs.sites)))
            tm = TimeMatrix(cost, z["before"], float(cutoff), int(z["far"][0]), int(z["far"][1]), key, 0.0, "disk", float(floor),
                            structure)  # fmt: skip
            _MATRICES.put(key, tm)
            return tm
    graph = network.graph
    t0 = time.perf_counter()
    far_demand = far_sites = 0
    if not graph.is_estimate:  # points farther than the snap threshold from any road are reported
        far_demand = int(traveltime.snap(graph, inputs.demand.geometry).far.sum())
        far_sites = int(traveltime.snap(graph, inputs.sites.geometry).far.sum())
    with timer.stage("drive-time matrix"):
        before, _ = traveltime.nearest_facility_time(graph, inputs.demand.geometry, inputs.sites.geometry[inputs.fixed])
        # + 1e-6: the nearest office itself stays in the row whatever the rounding of the two searches
        if structure:
            from siting.pipeline.structure import row_bound

            per_point = row_bound(before, floor, cutoff)
        else:
            per_point = np.where(np.isfinite(before), np.maximum(before + 1e-6, floor), cutoff) if inputs.fixed.any() else cutoff
        cost = traveltime.travel_time_matrix(graph, inputs.demand.geometry, inputs.sites.geometry, cutoff=per_point)
    tm = TimeMatrix(sp.csr_array(cost), np.asarray(before, float), float(cutoff), far_demand, far_sites, key,
                    round(time.perf_counter() - t0, 3), "built", float(floor), structure)  # fmt: skip
    if use_disk:
        c = tm.cost
        cache.save(path, "matrix", parts, {"data": c.data, "indices": c.indices, "indptr": c.indptr, "shape": np.array(c.shape),
                                           "before": tm.before, "far": np.array([far_demand, far_sites])})  # fmt: skip
    _MATRICES.put(key, tm)
    return tm


def scenario_matrix(sc: Scenario, network: Network, inputs: Inputs, timer: Timer | None = None, use_disk: bool = True) -> TimeMatrix:
    """:func:`drive_time_matrix` with the scenario's cutoff, floor and structure mode."""
    return drive_time_matrix(network, inputs, sc.network.cutoff_minutes, timer, use_disk, floor=matrix_floor(sc),
                             structure=sc.existing.mode != "fixed")  # fmt: skip


def scenario_matrix_key(sc: Scenario, network: Network, inputs: Inputs) -> str:
    return matrix_key(network, inputs, sc.network.cutoff_minutes, matrix_floor(sc), sc.existing.mode != "fixed")


def rows_source(network: Network, inputs: Inputs):
    """``rows_for(points, minutes)``: the drive-time rows (sparse, sites as columns) of demand
    ``points`` up to ``minutes`` each — what structure models ask for when a row is too short.

    Times run from site to point as everywhere; for fewer points than sites the searches start at
    the points on the reversed graph (one per point node instead of one per site node)."""
    from siting import traveltime

    graph = network.graph
    sites = inputs.sites.geometry

    @functools.cache
    def snap():
        """Road node and access minutes of every demand point (``None`` on the straight-line estimate):
        points on one node have the same times up to their own access minutes."""
        return None if graph.is_estimate else traveltime.snap(graph, inputs.demand.geometry)

    def rows_for(points, minutes):
        points = np.asarray(points, int)
        minutes = np.asarray(minutes, float)
        pts = inputs.demand.geometry.iloc[points]
        if graph.is_estimate or 2 * len(points) >= len(sites):
            return sp.csr_array(traveltime.travel_time_matrix(graph, pts, sites, cutoff=minutes))
        rev = getattr(graph, "_reversed", None)
        if rev is None:
            rev = graph._reversed = replace(graph, matrix=sp.csr_array(graph.matrix.T))
        m = sp.csr_array(traveltime.travel_time_matrix(rev, sites, pts, cutoff=float(minutes.max(initial=0.0))).T).tocoo()
        keep = m.data <= minutes[m.row]
        return sp.csr_array((m.data[keep], (m.row[keep], m.col[keep])), shape=(len(points), len(sites)))

    rows_for.snap = snap
    return rows_for


@dataclass
class FarRows:
    """Exact times beyond the cutoff for the demand points that today's offices reach only beyond it.

    With these, the time to the nearest open office of *any* plan follows from the matrix alone:
    ``after = min(before, new sites' times)`` is exact for a point within the cutoff of today's
    offices (a new site beyond the cutoff cannot beat them), and for the others these rows hold
    every site that can beat their nearest office.

    Attributes
    ----------
    rows : ndarray of int
        Demand points with ``before > cutoff``.
    cost : scipy.sparse.csr_array
        ``(len(rows), n_sites)`` minutes (stored = reachable): every site within the point's
        ``before`` — for points no office reaches, every site within the largest finite ``before``
        of any point (at least the cutoff). Sparse: memory follows the pairs, never points × graph
        nodes or points × sites.
    """

    rows: np.ndarray
    cost: sp.csr_array


#: Bump when the on-disk far-rows format changes.
FAR_CACHE_VERSION = 2


def far_rows(network: Network, inputs: Inputs, tm: TimeMatrix, timer: Timer | None = None) -> FarRows:
    """Stage 3b (sweeps and plan analysis): uncut times for the demand rows beyond the cutoff.

    The matrix rows of points an office reaches already run to that office (exact beyond the
    cutoff); only the points no office reaches get their own rows here, up to the largest finite
    nearest-office time (one search per distinct site node on the contracted graph, as for the
    matrix). Cached on disk beside the matrix.
    """
    from siting import traveltime

    timer = timer or Timer()
    rows = np.flatnonzero(~(tm.before <= tm.cutoff))
    name = f"{tm.key}-far"
    path = cache_dir() / "matrices" / f"{name}.npz"
    hit = _MATRICES.get(name)
    if hit is not None:
        return hit
    n_sites = len(inputs.sites)
    parts = {"version": FAR_CACHE_VERSION, "matrix": tm.key, "rows": cache.fingerprint(rows), "n_rows": len(rows), "n_sites": n_sites}

    def check(z: dict) -> str | None:
        if not np.array_equal(z["rows"], rows) or [int(v) for v in z["shape"]] != [len(rows), n_sites]:
            return f"rows or shape {tuple(int(v) for v in z['shape'])} are not the run's {len(rows)} far rows × {n_sites} sites"
        indptr = z["indptr"]
        if len(indptr) != len(rows) + 1 or indptr[-1] != len(z["data"]) or (len(z["indices"]) and z["indices"].max() >= n_sites):
            return "inconsistent sparse structure"
        return None

    z = cache.load(path, "far rows", parts, check=check)
    if z is not None:
        out = FarRows(z["rows"], sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=(len(rows), n_sites)))
        _MATRICES.put(name, out)
        return out
    with timer.stage("far rows"):
        reach = np.isfinite(tm.before[rows])
        near = sp.csr_array(tm.cost)[rows[reach]]  # already every site within the point's nearest-office time
        lost = rows[~reach]
        if len(lost):
            top = tm.before[np.isfinite(tm.before)]
            limit = max(float(tm.cutoff), float(top.max()) if len(top) else 0.0)
            resources.require(16 * len(lost) * n_sites, f"far rows ({len(lost):,} demand points no office reaches × {n_sites:,} sites)",
                              "there are no existing offices for them: use coarser demand (demand.cell_size_m) or lower "
                              "network.cutoff_minutes")  # fmt: skip
            extra = sp.csr_array(traveltime.travel_time_matrix(network.graph, inputs.demand.geometry.iloc[lost], inputs.sites.geometry,
                                                               cutoff=limit))  # fmt: skip
        else:
            extra = sp.csr_array((0, n_sites))
        order = np.argsort(np.r_[np.flatnonzero(reach), np.flatnonzero(~reach)], kind="stable")
        cost = sp.csr_array(sp.vstack([near, extra]).tocsr()[order])
    out = FarRows(rows, cost)
    cache.save(path, "far rows", parts, {"rows": rows, "data": cost.data, "indices": cost.indices, "indptr": cost.indptr,
                                          "shape": np.array(cost.shape)})  # fmt: skip
    _MATRICES.put(name, out)
    return out
