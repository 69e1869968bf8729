"""Drive times on a :class:`~siting.network.RoadGraph`: snapping, sparse matrices, isochrones.

Police drive *out*: times run from facilities (offices) to demand points. Every time includes the
off-network access of both ends (straight distance × detour at the access speed). Matrices run
:func:`scipy.sparse.csgraph.dijkstra` once per distinct facility node on the chain-contracted graph
(:mod:`siting.network.contract`: 8 133 core nodes instead of 129 418 on the national N1000 graph),
limited to the cutoff, in batches on threads; demand points sharing a node share its times.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from siting import resources
from siting.network.contract import Contraction, contract
from siting.network.estimator import StraightLineEstimator
from siting.network.graph import RoadGraph
from siting.progress import progress

log = logging.getLogger(__name__)

#: Facility nodes per search batch (bounds memory to batch × demand nodes × 8 bytes per thread).
BATCH = 128


@dataclass
class Snap:
    """Where points join the network.

    Attributes
    ----------
    node : ndarray of int
        Nearest snappable node per point.
    access_minutes : ndarray of float
        Off-network time from the point to its node.
    distance_m : ndarray of float
        Straight-line distance to the node.
    far : ndarray of bool
        Farther than the graph's ``snap_threshold_m``.
    """

    node: np.ndarray
    access_minutes: np.ndarray
    distance_m: np.ndarray
    far: np.ndarray


def _as_xy(xy) -> np.ndarray:
    if isinstance(xy, gpd.GeoSeries | gpd.GeoDataFrame):
        geom = xy.geometry if isinstance(xy, gpd.GeoDataFrame) else xy
        geom = geom.to_crs(25833) if geom.crs is not None and geom.crs.to_epsg() != 25833 else geom
        return np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()])
    arr = np.asarray(xy, dtype=np.float64)
    return arr.reshape(-1, 2)


#: Nodes closer than this to each other (metres) are at the same position for snapping.
COINCIDENT_M = 0.01


def _fastest_edge_speed(graph: RoadGraph, nodes: np.ndarray) -> np.ndarray:
    """Speed (m/min) of the fastest edge leaving each of ``nodes``: the tie-break between nodes at
    one position (two roads crossing at different levels share a vertex in N1000)."""
    m = graph.matrix.tocsr()
    src = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    speed = np.hypot(*(graph.node_xy[m.indices] - graph.node_xy[src]).T) / np.maximum(m.data, 1e-12)
    best = np.zeros(m.shape[0])
    np.maximum.at(best, src, speed)
    return best[nodes]


def snap(graph: RoadGraph, xy) -> Snap:
    """Snap points (``(n, 2)`` EPSG:25833 or a point GeoSeries) to their nearest network node.

    Where several nodes share the nearest position (within :data:`COINCIDENT_M`: a crossing at two
    levels), the node on the fastest road is taken, so the choice never depends on node numbering.
    """
    xy = _as_xy(xy)
    spec = graph.spec
    nodes = np.flatnonzero(graph.snappable) if graph.snappable is not None else np.arange(graph.n_nodes)
    cached = getattr(graph, "_snap_tree", None)
    if cached is None:
        cached = (cKDTree(graph.node_xy[nodes]), _fastest_edge_speed(graph, nodes))
        graph._snap_tree = cached  # cached on the instance
    tree, speed = cached
    k = min(3, len(nodes))
    dist, idx = tree.query(xy, k=k)
    dist, idx = dist.reshape(len(xy), k), idx.reshape(len(xy), k)
    tied = dist <= dist[:, :1] + COINCIDENT_M
    rank = np.where(tied, speed[np.minimum(idx, len(nodes) - 1)], -np.inf)
    pick = np.argmax(rank, axis=1)  # first on equal speed: the nearest
    rows = np.arange(len(xy))
    dist, i = dist[rows, pick], idx[rows, pick]
    access = dist * spec.access_detour / 1000.0 / spec.access_speed_kmh * 60.0
    return Snap(nodes[i], access, dist, dist > spec.snap_threshold_m)


def travel_time_matrix(graph: RoadGraph, demand_xy, facility_xy, cutoff=90.0, workers: int | None = None) -> sp.csr_array:
    """Drive times from every facility to every demand point within ``cutoff`` minutes.

    Parameters
    ----------
    graph : RoadGraph
        Road network (or the straight-line estimator).
    demand_xy, facility_xy : array-like
        ``(n, 2)`` EPSG:25833 coordinates or point GeoSeries.
    cutoff : float or array-like
        Minutes; pairs farther apart are left out. An array gives one cutoff per demand point
        (e.g. its time to the nearest existing office: all a p-median needs, also beyond 90 min).
    workers : int, optional
        Threads (default: the CPUs available, at most 4).

    Returns
    -------
    scipy.sparse.csr_array
        ``(n_demand, n_facility)`` minutes. A stored entry is a reachable time (0.0 included);
        an absent entry means not reachable within ``cutoff``.

    Notes
    -----
    One shortest-path search per *distinct* facility node on the chain-contracted graph
    (:mod:`siting.network.contract`), in batches on ``workers`` threads; every demand point
    sharing a node reuses the node's times (plus its own access time).
    """
    demand_xy, facility_xy = _as_xy(demand_xy), _as_xy(facility_xy)
    n_d, n_f = len(demand_xy), len(facility_xy)
    cut = np.broadcast_to(np.asarray(cutoff, dtype=float), (n_d,))
    if isinstance(graph, StraightLineEstimator):
        m = graph.time_matrix(demand_xy, facility_xy, float(cut.max(initial=0.0))).tocoo()
        ok = m.data <= cut[m.row]
        return sp.csr_array((m.data[ok], (m.row[ok], m.col[ok])), shape=(n_d, n_f))
    if n_d == 0 or n_f == 0:
        return sp.csr_array((n_d, n_f))
    d, f = snap(graph, demand_xy), snap(graph, facility_xy)
    src, f_inv = np.unique(f.node, return_inverse=True)
    tgt, d_inv = np.unique(d.node, return_inverse=True)
    # per target node, the largest node-to-node time any of its demand points can use
    t_lim = np.full(len(tgt), -np.inf)
    np.maximum.at(t_lim, d_inv, cut - d.access_minutes)
    s_acc = np.full(len(src), np.inf)
    np.minimum.at(s_acc, f_inv, f.access_minutes)
    limit = float(t_lim.max() - s_acc.min())
    if not np.isfinite(limit) or limit < 0:
        return sp.csr_array((n_d, n_f))
    fac_order, fac_start, fac_count = _groups(f_inv, len(src))
    cell_order, cell_start, cell_count = _groups(d_inv, len(tgt))
    engine = _Engine(graph, src, tgt)
    engine.set_limits(t_lim)

    def batch(sl: slice):
        si, ti, val = engine.pairs(np.arange(sl.start, sl.stop), limit, s_acc[sl])
        si += sl.start
        ok = val <= t_lim[ti] - s_acc[si]
        si, ti, val = si[ok], ti[ok], val[ok]
        # expand node pairs to (demand point, facility) pairs
        k = _expand(cell_start[ti], cell_count[ti])
        cells, si, val = cell_order[k], np.repeat(si, cell_count[ti]), np.repeat(val, cell_count[ti])
        val = val + d.access_minutes[cells]
        k = _expand(fac_start[si], fac_count[si])
        rows, cols = np.repeat(cells, fac_count[si]), fac_order[k]
        val = np.repeat(val, fac_count[si]) + f.access_minutes[cols]
        ok = val <= cut[rows]
        return rows[ok], cols[ok], val[ok]

    workers = workers or min(os.cpu_count() or 1, 4)
    parts, pairs = [], 0
    for part in _run_batches(batch, len(src), BATCH, workers, "drive times"):
        parts.append(part)
        pairs += len(part[0])
        # the pairs so far, their concatenation and the CSR matrix: about 64 bytes a pair at the end
        resources.require(64 * pairs * len(src) / min(len(src), BATCH * len(parts)),
                          f"the drive-time matrix ({n_d:,} demand points × {n_f:,} sites, {pairs:,} pairs within the cutoff so far)",
                          "lower network.cutoff_minutes or use coarser demand (demand.cell_size_m)")  # fmt: skip
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    vals = np.concatenate([p[2] for p in parts])
    return sp.csr_array((vals, (rows, cols)), shape=(n_d, n_f))


def _groups(inverse: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members of each group ``0..n-1`` as (member order, start, count)."""
    order = np.argsort(inverse, kind="stable")
    count = np.bincount(inverse, minlength=n)
    return order, np.r_[0, np.cumsum(count)[:-1]], count


def _expand(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Concatenated ranges ``start[k] .. start[k] + count[k]``."""
    return np.repeat(start - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(int(count.sum()))


def _contraction(graph: RoadGraph) -> Contraction:
    c = getattr(graph, "_contraction", None)
    if c is None:
        c = contract(graph.matrix)
        graph._contraction = c  # cached on the instance
    return c


class _Engine:
    """Shortest times from source nodes to target nodes on the contracted graph (see
    :mod:`siting.network.contract`): one search per distinct source node on the core graph, then
    each target's time from its chain ends."""

    def __init__(self, graph: RoadGraph, sources: np.ndarray, targets: np.ndarray):
        c = self.c = _contraction(graph)
        n = c.n_core
        ci = c.core_index[sources]
        inner = np.flatnonzero(ci < 0)
        ch = c.chain[sources[inner]]
        x = c.offset[sources[inner]]
        # a source inside a chain enters the core graph through a virtual node joined to both chain ends
        virt = n + np.arange(len(inner))
        m = c.matrix.tocoo()
        a, b, rest = c.chain_a[ch], c.chain_b[ch], c.chain_len[ch] - x
        loop = a == b  # both ways lead to the same core node: one edge, the shorter way
        xa = np.where(loop, np.minimum(x, rest), x)
        self.matrix = sp.csr_array(
            (np.r_[m.data, xa, rest[~loop]], (np.r_[m.row, virt, virt[~loop]], np.r_[m.col, a, b[~loop]])),
            shape=(n + len(inner),) * 2,
        )
        self.index = ci.copy()
        self.index[inner] = virt
        self.src_chain = np.full(len(sources), -1)
        self.src_chain[inner] = ch
        self.src_offset = c.offset[sources]
        # every target hangs off one or two core nodes (itself, or its chain ends) at an offset
        tc = c.chain[targets]
        t_core = np.flatnonzero(tc < 0)
        t_in = np.flatnonzero(tc >= 0)
        chn = tc[t_in]
        x = c.offset[targets[t_in]]
        hub = np.r_[c.core_index[targets[t_core]], c.chain_a[chn], c.chain_b[chn]]
        order = np.argsort(hub, kind="stable")
        self.hub_target = np.r_[t_core, t_in, t_in][order]
        self.hub_offset = np.r_[np.zeros(len(t_core)), x, c.chain_len[chn] - x][order]
        self.hub_ptr = np.searchsorted(hub[order], np.arange(n + 1))
        # targets per chain, for sources on the same chain
        order = np.argsort(tc, kind="stable")
        self.by_chain = order[np.searchsorted(tc[order], 0) :]
        self.by_chain_key = tc[self.by_chain]
        self.t_off = c.offset[targets]
        self.n_targets = len(targets)

    def set_limits(self, target_limit: np.ndarray) -> None:
        """Per-target limits (minutes): pairs beyond a target's limit are not needed."""
        self.t_limit = target_limit
        lim = target_limit[self.hub_target] - self.hub_offset
        self.hub_limit = np.full(len(self.hub_ptr) - 1, -np.inf)
        np.maximum.at(self.hub_limit, np.repeat(np.arange(len(self.hub_ptr) - 1), np.diff(self.hub_ptr)), lim)

    def pairs(self, src: np.ndarray, limit: float, slack: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shortest times from sources ``src`` (indices into ``sources``) to the targets within
        ``limit`` minutes (and within each target's limit minus the source's ``slack``, after
        :meth:`set_limits`), as (source, target, minutes) arrays (each pair once); work is
        proportional to the pairs found, not to sources × targets."""
        n = self.c.n_core
        d = dijkstra(self.matrix, directed=True, indices=self.index[src], limit=limit)[:, :n]
        slack = np.broadcast_to(np.asarray(slack, float), (len(src),))
        hub_limit = getattr(self, "hub_limit", None)
        s, h = np.nonzero(d <= (limit if hub_limit is None else hub_limit[None, :] - slack[:, None]))
        dist = d[s, h]
        cnt = self.hub_ptr[h + 1] - self.hub_ptr[h]
        k = _expand(self.hub_ptr[h], cnt)
        s, t, v = np.repeat(s, cnt), self.hub_target[k], np.repeat(dist, cnt) + self.hub_offset[k]
        if hub_limit is not None:
            ok = v <= self.t_limit[t] - slack[s]
            s, t, v = s[ok], t[ok], v[ok]
        # sources inside a chain also reach the targets on their own chain directly
        inner = np.flatnonzero(self.src_chain[src] >= 0)
        lo = np.searchsorted(self.by_chain_key, self.src_chain[src[inner]])
        hi = np.searchsorted(self.by_chain_key, self.src_chain[src[inner]] + 1)
        k = _expand(lo, hi - lo)
        s2 = np.repeat(inner, hi - lo)
        t2 = self.by_chain[k]
        v2 = np.abs(self.t_off[t2] - self.src_offset[src[s2]])
        # the shortest of the (at most three) ways to each pair
        best = np.full(len(src) * self.n_targets, np.inf)
        np.minimum.at(best, np.r_[s, s2] * self.n_targets + np.r_[t, t2], np.r_[v, v2])
        key = np.flatnonzero(best <= limit)
        return key // self.n_targets, key % self.n_targets, best[key]


def _run_batches(fn, n: int, batch: int, workers: int, desc: str):
    """Apply ``fn(slice)`` to consecutive batches (threads: numpy releases the GIL), in order."""
    slices = [slice(s, min(s + batch, n)) for s in range(0, n, batch)]
    bar = progress(total=len(slices), desc=desc)
    try:
        if workers <= 1 or len(slices) <= 1:
            for sl in slices:
                yield fn(sl)
                bar.update()
            return
        with ThreadPoolExecutor(workers) as ex:
            for res in ex.map(fn, slices):
                yield res
                bar.update()
    finally:
        bar.close()


def _multi_source(graph: RoadGraph, facility_xy, limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Time from the nearest facility to every node, and which facility (-1 if none)."""
    f = snap(graph, facility_xy)
    n = graph.n_nodes
    k = len(f.node)
    # One virtual node per facility, joined to its network node by its access time (+ε: csgraph
    # ignores explicit zeros), so that facilities sharing a node stay distinguishable.
    m = graph.matrix.tocoo()
    virtual = n + np.arange(k)
    u = np.r_[m.row, virtual]
    v = np.r_[m.col, f.node]
    w = np.r_[m.data, f.access_minutes + 1e-9]
    aug = sp.csr_array((w, (u, v)), shape=(n + k, n + k))
    dist, _, sources = dijkstra(aug, directed=True, indices=virtual, min_only=True, return_predecessors=True, limit=limit)
    fac = np.where(sources >= n, sources - n, -1)
    return np.maximum(dist[:n] - 1e-9, 0.0), fac[:n]


def nearest_facility_time(graph: RoadGraph, demand_xy, facility_xy) -> tuple[np.ndarray, np.ndarray]:
    """Drive time from the nearest facility to each demand point.

    Returns
    -------
    minutes : ndarray
        ``inf`` where no facility reaches the point.
    facility_index : ndarray of int
        Index into ``facility_xy``; ``-1`` where unreachable.
    """
    demand_xy, facility_xy = _as_xy(demand_xy), _as_xy(facility_xy)
    if len(facility_xy) == 0:
        return np.full(len(demand_xy), np.inf), np.full(len(demand_xy), -1)
    if isinstance(graph, StraightLineEstimator):
        return graph.nearest(demand_xy, facility_xy)
    dist, fac = _multi_source(graph, facility_xy)
    d = snap(graph, demand_xy)
    minutes = dist[d.node] + d.access_minutes
    idx = fac[d.node]
    minutes[idx < 0] = np.inf
    return minutes, idx


def isochrones(graph: RoadGraph, facility_xy, minutes: float, resolution: float = 1000.0) -> gpd.GeoDataFrame:
    """The area within ``minutes`` of any facility, as polygons (EPSG:25833).

    Reachable network nodes are marked on a raster of ``resolution`` metres, widened by one cell
    (the access strip either side of the road) and traced into polygons with
    :func:`rasterio.features.shapes`.
    """
    import rasterio.features
    import shapely
    from rasterio.transform import from_origin
    from scipy.ndimage import binary_dilation

    facility_xy = _as_xy(facility_xy)
    if isinstance(graph, StraightLineEstimator):
        return graph.isochrones(facility_xy, minutes)
    if len(facility_xy) == 0:
        return gpd.GeoDataFrame({"minutes": []}, geometry=[], crs=25833)
    dist, _ = _multi_source(graph, facility_xy, limit=minutes)
    pts = graph.node_xy[np.isfinite(dist) & (dist <= minutes)]
    if len(pts) == 0:  # no road node within reach (e.g. every office farther from the roads than `minutes`)
        return gpd.GeoDataFrame({"minutes": []}, geometry=[], crs=25833)
    x0, y1 = pts[:, 0].min() - 2 * resolution, pts[:, 1].max() + 2 * resolution
    ncol = int((pts[:, 0].max() - x0) / resolution) + 3
    nrow = int((y1 - pts[:, 1].min()) / resolution) + 3
    grid = np.zeros((nrow, ncol), dtype=np.uint8)
    grid[((y1 - pts[:, 1]) // resolution).astype(int), ((pts[:, 0] - x0) // resolution).astype(int)] = 1
    grid = binary_dilation(grid, iterations=1).astype(np.uint8)
    transform = from_origin(x0, y1, resolution, resolution)
    polys = [shapely.geometry.shape(g) for g, val in rasterio.features.shapes(grid, mask=grid == 1, transform=transform) if val == 1]
    geom = shapely.union_all(polys).simplify(resolution / 2)
    return gpd.GeoDataFrame({"minutes": [float(minutes)]}, geometry=[geom], crs=25833)
