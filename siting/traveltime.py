"""Drive times on a :class:`~siting.network.RoadGraph`: snapping, sparse matrices, isochrones.

Police drive *out*: times run from facilities (offices) to demand points. Every time includes the
off-network access of both ends (straight distance × detour at the access speed). Shortest paths
use :func:`scipy.sparse.csgraph.dijkstra` from all facilities at once, limited to the cutoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from siting.network.estimator import StraightLineEstimator
from siting.network.graph import RoadGraph

log = logging.getLogger(__name__)

#: Facilities per Dijkstra batch (bounds memory to batch × nodes × 8 bytes).
BATCH = 64


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


def snap(graph: RoadGraph, xy) -> Snap:
    """Snap points (``(n, 2)`` EPSG:25833 or a point GeoSeries) to their nearest network node."""
    xy = _as_xy(xy)
    spec = graph.spec
    nodes = np.flatnonzero(graph.snappable) if graph.snappable is not None else np.arange(graph.n_nodes)
    tree = getattr(graph, "_snap_tree", None)
    if tree is None:
        tree = cKDTree(graph.node_xy[nodes])
        graph._snap_tree = tree  # cached on the instance
    dist, i = tree.query(xy)
    access = dist * spec.access_detour / 1000.0 / spec.access_speed_kmh * 60.0
    return Snap(nodes[i], access, dist, dist > spec.snap_threshold_m)


def _unique_sources(snapped: Snap) -> tuple[np.ndarray, np.ndarray]:
    return np.unique(snapped.node, return_inverse=True)


def travel_time_matrix(graph: RoadGraph, demand_xy, facility_xy, cutoff: float = 90.0) -> sp.csr_array:
    """Drive times from every facility to every demand point within ``cutoff`` minutes.

    Parameters
    ----------
    graph : RoadGraph
        Road network (or the straight-line estimator).
    demand_xy, facility_xy : array-like
        ``(n, 2)`` EPSG:25833 coordinates or point GeoSeries.
    cutoff : float
        Minutes; pairs farther apart are left out.

    Returns
    -------
    scipy.sparse.csr_array
        ``(n_demand, n_facility)`` minutes. A stored entry is a reachable time (0.0 included);
        an absent entry means not reachable within ``cutoff``.
    """
    demand_xy, facility_xy = _as_xy(demand_xy), _as_xy(facility_xy)
    if isinstance(graph, StraightLineEstimator):
        return graph.time_matrix(demand_xy, facility_xy, cutoff)
    d, f = snap(graph, demand_xy), snap(graph, facility_xy)
    src, inverse = _unique_sources(f)
    rows, cols, vals = [], [], []
    # Demand points sorted by node so each batch gathers only the columns it needs.
    order = np.argsort(inverse, kind="stable")  # facilities grouped by their source node
    bounds = np.searchsorted(inverse[order], np.arange(0, len(src) + BATCH, BATCH))
    for b, start in enumerate(range(0, len(src), BATCH)):
        block = src[start : start + BATCH]
        dist = dijkstra(graph.matrix, directed=True, indices=block, limit=cutoff)
        fac = order[bounds[b] : bounds[b + 1]]  # facilities whose node is in this block
        t = dist[inverse[fac] - start][:, d.node] + f.access_minutes[fac, None] + d.access_minutes[None, :]
        fi, di = np.nonzero(t <= cutoff)
        rows.append(di)
        cols.append(fac[fi])
        vals.append(t[fi, di])
    rows = np.concatenate(rows) if rows else np.array([], int)
    cols = np.concatenate(cols) if cols else np.array([], int)
    vals = np.concatenate(vals) if vals else np.array([], float)
    return sp.csr_array((vals, (rows, cols)), shape=(len(demand_xy), len(facility_xy)))


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
