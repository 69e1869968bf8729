"""Road graphs from Kartverket road links (N1000/N250/N50 ``Veglenke``).

The layer has no speeds; :data:`SPEEDS_KMH` gives effective average speeds per road category,
calibrated so that long-distance drive times match published route times (see
``docs/network.md``): N1000 is generalised, routes come out 1-4 % shorter than real roads and
posted speeds overstate average speeds, so the values sit below the posted limits.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyogrio
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from siting.errors import DataError

from .ferries import ferry_edges, read_ferry_table
from .graph import NetworkSpec, RoadGraph, edges_to_matrix, largest_strong_component

log = logging.getLogger(__name__)

#: Effective speeds (km/h) by ``vegkategori`` (E European, R national, F county, K municipal, P private).
SPEEDS_KMH: dict[str, float] = {"E": 68.0, "R": 63.0, "F": 54.0, "K": 42.0, "P": 33.0}
#: Effective speeds (km/h) by ``motorvegtype`` (overrides the category).
MOTORWAY_KMH: dict[str, float] = {"motorveg": 92.0, "motortrafikkveg": 80.0}
CAR_ROAD = "enkelBilveg"
CAR_FERRY = "bilferje"
#: Attributes the graph builder reads (kept in the bundled road links).
LINK_COLUMNS = ("typeVeg", "vegkategori", "motorvegtype")
#: ``format`` tag of the compact road-link file (``scripts/build_roads.py``).
LINKS_FORMAT = "siting-road-links-1"


def is_road_links_npz(path: Path) -> bool:
    """True for a compact road-link file written by ``scripts/build_roads.py`` (not a built graph)."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("format.npy")
            return info.file_size < 4096 and str(np.load(io.BytesIO(zf.read(info)), allow_pickle=False)) == LINKS_FORMAT
    except Exception:  # noqa: BLE001 - damaged or not an .npz: not road links (the graph reader says what is wrong)
        return False


def encode_road_links(links) -> dict[str, np.ndarray]:
    """Compact arrays for road links: centimetre vertices (delta-encoded) and the builder's attributes.

    Lossless for Kartverket data (published with centimetre precision); raises if it is not.
    """
    coords, line_idx = shapely.get_coordinates(links.geometry.values, return_index=True)
    cm = np.round(coords * 100).astype(np.int64)
    if not np.array_equal(cm / 100, coords):
        raise DataError("road-link coordinates are not whole centimetres; the compact format would round them")
    delta = np.diff(cm, axis=0, prepend=np.zeros((1, 2), np.int64))
    if np.abs(delta).max() >= 2**31:
        raise DataError("road-link coordinates out of range for the compact format (EPSG:25833 expected)")
    out = {
        "format": np.array(LINKS_FORMAT),
        "crs": np.array("EPSG:25833"),
        "xy_cm_delta": delta.astype(np.int32),
        "vertices_per_link": np.bincount(line_idx, minlength=len(links)).astype(np.int32),
    }
    for col in LINK_COLUMNS:
        out[col] = links[col].fillna("").astype(str).to_numpy().astype("U")
    return out


def decode_road_links(path: Path):
    """Read a compact road-link file (see :func:`encode_road_links`) as a GeoDataFrame in EPSG:25833."""
    import geopandas as gpd

    from siting.cache import DamagedFile, read_npz

    try:
        z = read_npz(path, budget_what=f"the road links {path}")
        xy = np.cumsum(z["xy_cm_delta"].astype(np.int64), axis=0) / 100
        counts = z["vertices_per_link"]
        attrs = {col: z[col] for col in LINK_COLUMNS}
        if xy.ndim != 2 or xy.shape[1] != 2 or counts.ndim != 1 or counts.sum() != len(xy) or (counts < 2).any() or \
                any(len(v) != len(counts) for v in attrs.values()):  # fmt: skip
            raise DamagedFile("vertices and links do not match")
    except (DamagedFile, ValueError, KeyError) as exc:
        raise DataError(f"cannot read compact road links ({exc}); rebuild with scripts/build_roads.py", path=path) from None
    geoms = shapely.linestrings(xy, indices=np.repeat(np.arange(len(counts)), counts))
    data = {col: np.where(v == "", None, v).astype(object) for col, v in attrs.items()}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=25833)


def read_road_links(path: Path):
    """Read a Kartverket ``Veglenke`` layer (GeoPackage/GML, or the compact bundled ``.npz``) in EPSG:25833."""
    if not path.exists():
        raise DataError("road-link file not found; run `siting data fetch roads` or name the file", path=path)
    if path.suffix == ".npz":
        return decode_road_links(path)
    try:
        gdf = pyogrio.read_dataframe(path, columns=["typeVeg", "vegkategori", "motorvegtype", "medium"])
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise DataError(f"cannot read road links ({str(exc).splitlines()[0]})", path=path) from None
    for col in ("typeVeg", "vegkategori"):
        if col not in gdf.columns:
            raise DataError(f"missing column {col}; expected Kartverket Veglenke", path=path, field=col)
    if gdf.crs is None:
        raise DataError("road links have no CRS", path=path)
    gdf = gdf.to_crs(25833) if gdf.crs.to_epsg() != 25833 else gdf
    gdf = gdf[gdf["typeVeg"].isin([CAR_ROAD, CAR_FERRY])]
    gdf = gdf.explode(index_parts=False)
    return gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]


def build_kartverket_graph(path: Path, spec: NetworkSpec, progress=None, ferry_table: Path | None = None) -> RoadGraph:
    """Build a drivable graph from Kartverket road links.

    Every vertex of a road link becomes a node (so points snap close to the road); link end points
    closer than ``spec.junction_tolerance_m`` are merged into one junction. Car-ferry links covered
    by a route of ``ferry_table`` (see :mod:`siting.network.ferries`) take the route's crossing
    time and one expected wait per crossing; every other ferry link is a single edge: its length
    at ``spec.ferry_speed_kmh`` plus ``spec.ferry_wait_minutes``. Links are two-way (the layer
    carries no one-way information).
    """
    links = read_road_links(path)
    if links.empty:
        raise DataError("no car roads (typeVeg enkelBilveg) in the file", path=path)
    is_ferry = (links["typeVeg"] == CAR_FERRY).to_numpy()
    if not spec.ferries:
        links, is_ferry = links[~is_ferry], np.zeros((~is_ferry).sum(), bool)
    speeds = links["vegkategori"].map(SPEEDS_KMH).fillna(SPEEDS_KMH["K"]).to_numpy(float)
    mw = links["motorvegtype"].map(MOTORWAY_KMH).to_numpy(float)
    speeds = np.where(np.isnan(mw), speeds, mw) * spec.speed_factor

    coords, line_idx = shapely.get_coordinates(links.geometry.values, return_index=True)
    coords = coords[:, :2]
    n_pts = len(coords)
    starts = np.r_[0, np.flatnonzero(np.diff(line_idx)) + 1]
    ends = np.r_[starts[1:] - 1, n_pts - 1]
    is_end = np.zeros(n_pts, bool)
    is_end[starts] = True
    is_end[ends] = True
    # Ferry interior vertices are dropped: a ferry is one edge between its two landings.
    ferry_pt = is_ferry[line_idx]
    keep_pt = ~ferry_pt | is_end

    # Merge end points within the junction tolerance (union-find via connected components).
    node_of = np.full(n_pts, -1, dtype=np.int64)
    end_ids = np.flatnonzero(is_end)
    tree = cKDTree(coords[end_ids])
    pairs = tree.query_pairs(max(spec.junction_tolerance_m, 0.5), output_type="ndarray")
    adj = sp.coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(end_ids),) * 2)
    _, junction = connected_components(adj, directed=False)
    node_of[end_ids] = junction
    n_junctions = int(junction.max()) + 1 if len(junction) else 0
    interior = np.flatnonzero(~is_end & keep_pt)
    node_of[interior] = n_junctions + np.arange(len(interior))
    n_nodes = n_junctions + len(interior)
    node_xy = np.zeros((n_nodes, 2))
    np.add.at(node_xy, node_of[end_ids], coords[end_ids])
    counts = np.bincount(node_of[end_ids], minlength=n_nodes).astype(float)
    counts[n_junctions:] = 1
    node_xy[n_junctions:] = coords[interior]
    node_xy /= counts[:, None]

    # Road segments between consecutive vertices of the same link.
    road = ~is_ferry[line_idx[:-1]] & (line_idx[:-1] == line_idx[1:])
    a, b = np.flatnonzero(road), np.flatnonzero(road) + 1
    seg_len = np.hypot(*(coords[b] - coords[a]).T)
    seg_min = seg_len / 1000.0 / speeds[line_idx[a]] * 60.0
    # Ferries: sourced routes (route nodes, one wait per crossing) and one flat edge per other link.
    f_lines = np.flatnonzero(is_ferry)
    f_node = np.c_[node_of[starts[f_lines]], node_of[ends[f_lines]]]
    table = read_ferry_table(ferry_table) if ferry_table is not None and spec.ferry_table else None
    on_road = np.zeros(n_nodes, bool)
    on_road[node_of[a]] = on_road[node_of[b]] = True
    # A landing no road end reaches within the junction tolerance joins the nearest road vertex within
    # it (N1000 generalisation leaves gaps, e.g. the E39 at Kanestraum: 435 m), at the access speed.
    landing = np.unique(f_node)
    off = landing[~on_road[landing]]
    road_nodes = np.flatnonzero(on_road)
    j_u = j_v = np.zeros(0, np.int64)
    j_w = np.zeros(0)
    if len(off) and len(road_nodes):
        d, j = cKDTree(node_xy[road_nodes]).query(node_xy[off], distance_upper_bound=max(spec.junction_tolerance_m, 0.5))
        ok = np.isfinite(d)
        j_u, j_v = off[ok], road_nodes[j[ok]]
        j_w = d[ok] * spec.access_detour / 1000.0 / spec.access_speed_kmh * 60.0
    boardable = on_road.copy()
    boardable[j_u] = True
    fe = ferry_edges(spec, np.stack([coords[starts[f_lines]], coords[ends[f_lines]]], axis=1),
                     shapely.length(links.geometry.values[f_lines]), f_node, node_xy, table,
                     str(ferry_table) if table is not None else None, road_node=boardable)  # fmt: skip
    u, v, w = np.r_[node_of[a], j_u, fe.sail_u], np.r_[node_of[b], j_v, fe.sail_v], np.r_[seg_min, j_w, fe.sail_w]
    n_all = n_nodes + len(fe.route_xy)
    matrix = edges_to_matrix(n_all, np.r_[u, v, fe.dir_u], np.r_[v, u, fe.dir_v], np.r_[w, w, fe.dir_w])
    node_xy = np.r_[node_xy, fe.route_xy]
    snappable = np.zeros(n_all, bool)
    ferry_nodes = np.unique(f_node)
    snappable[:n_nodes] = on_road  # ferry landings that are not on a road, and route nodes, are not snap targets
    _, labels = connected_components(matrix, directed=True, connection="strong")
    main = labels == np.argmax(np.bincount(labels))
    for f in fe.info["fallback_links"]:  # is the link in the network a run uses?
        f["in_network"] = bool(main[f_node[f["link"]]].all())
    fe.info["links_fallback_in_network"] = sum(f["in_network"] for f in fe.info["fallback_links"])
    node_xy, matrix, snappable, comp = largest_strong_component(node_xy, matrix, snappable)
    info = {
        "format": "kartverket-veglenke",
        "file": str(path),
        "road_links": int((~is_ferry).sum()),
        "ferry_links": int(is_ferry.sum()),
        "ferry_landings": int(len(ferry_nodes)),
        "landings_joined_to_road": int(len(j_u)),
        "nodes": int(node_xy.shape[0]),
        "edges": int(matrix.nnz),
        **comp,
        "speeds_kmh": {**SPEEDS_KMH, **MOTORWAY_KMH},
        **({"ferry_table": fe.info} if spec.ferries else {}),
    }
    log.info(
        "road links: %d nodes, %d edges; dropped %d nodes outside the largest connected network",
        info["nodes"], info["edges"], info["nodes_dropped"],
    )
    if not spec.ferries:
        ferries = "ferries off"
    elif table is not None:
        ferries = (f"ferries by route for {fe.info['links_from_table']} of {len(f_lines)} links ({fe.info['rule']}), "
                   f"others wait {spec.ferry_wait_minutes:g} min")  # fmt: skip
    else:
        ferries = f"ferries on, wait {spec.ferry_wait_minutes:g} min"
    source = f"Kartverket road links {Path(path).name} ({ferries})"
    return RoadGraph(node_xy=node_xy, matrix=matrix, source=source, snappable=snappable, info=info, spec=spec)
