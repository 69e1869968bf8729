"""Car ferries by route: sourced crossing times and frequencies for the N1000 ferry links.

The bundled table ``data/roads/ferries.csv`` (named input ``ferries``; rebuilt by
``scripts/build_ferries.py`` from the sourced rows in ``scripts/sources/ferry_routes_*.csv``)
has one row per ferry route: its two terminals (and intermediate stops) as N1000 ferry-link end
points in WGS84, the published crossing time, the daytime headway or the departures per day, and
the source.

A route is matched to the N1000 ferry links on the shortest ferry-only path from terminal A
through its stops to terminal B (:func:`match_routes`). In the graph (:func:`ferry_edges`) each
matched route becomes its own chain of route nodes: the road node at a terminal or stop boards
the route with the expected wait, the route sails between its landings in the published crossing
time (split over its links in proportion to their length) and alights at no cost. A traveller
therefore waits once per crossing however many links or intermediate stops it has. Ferry links
that no sourced route covers keep the flat rule (length at ``ferry_speed_kmh`` plus
``ferry_wait_minutes``) and are listed in the graph's ``info``; links of a route marked
``closed`` get no edge.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from siting.errors import DataError

#: Columns of a sourced row (``scripts/sources/ferry_routes_*.csv``), in this order.
SOURCE_COLUMNS = (
    "route_id", "route", "terminal_a", "terminal_b", "lon_a", "lat_a", "lon_b", "lat_b", "stops",
    "crossing_minutes", "headway_minutes", "departures_per_day", "period", "operator", "status",
    "source", "source_kind", "accessed", "note",
)  # fmt: skip
#: Columns of the bundled table ``data/roads/ferries.csv``.
TABLE_COLUMNS = (
    "route_id", "route", "terminal_a", "terminal_b", "lon_a", "lat_a", "lon_b", "lat_b", "stops",
    "crossing_minutes", "headway_minutes", "departures_per_day", "status", "source", "source_kind", "period",
)  # fmt: skip
SOURCE_KINDS = ("timetable", "operator page", "encyclopedia", "ferry database", "guide", "news")
STATUSES = ("operating", "closed")
#: Service day over which ``departures_per_day`` are spread when no headway is given (06-24 h).
SERVICE_DAY_MINUTES = 1080.0
#: A terminal or stop must lie this close to an end point of an N1000 ferry link.
MATCH_TOLERANCE_M = 300.0
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LIMITS = {"crossing_minutes": 600.0, "headway_minutes": 1440.0, "departures_per_day": 200.0}


def _number(value, path, rid, col) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return math.nan
    try:
        x = float(value)
    except ValueError:
        raise DataError(f"route {rid}: {value!r} is not a number; give minutes/counts or leave empty", path=path, field=col) from None
    if not 0 < x <= _LIMITS[col]:
        raise DataError(f"route {rid}: {x:g} outside (0, {_LIMITS[col]:g}]; fix the value", path=path, field=col)
    return x


def _lonlat(value, path, rid, col, lo, hi) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(f"route {rid}: {value!r} is not a coordinate (WGS84 degrees)", path=path, field=col) from None
    if not lo <= x <= hi:
        raise DataError(f"route {rid}: {x} is outside Norway ({lo}..{hi}); WGS84 lon/lat expected", path=path, field=col)
    return x


def parse_stops(text, path=None, rid="?") -> list[tuple[float, float]]:
    """``"lon lat;lon lat"`` to a list of (lon, lat); empty text gives no stops."""
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text).strip()
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        xy = part.split()
        if len(xy) != 2:
            raise DataError(f"route {rid}: stop {part!r} is not 'lon lat'; separate stops with ';'", path=path, field="stops")
        out.append((_lonlat(xy[0], path, rid, "stops", 4.0, 32.0), _lonlat(xy[1], path, rid, "stops", 57.5, 72.0)))
    return out


def read_ferry_table(path: str | Path, columns=TABLE_COLUMNS) -> pd.DataFrame:
    """Read and validate a ferry-route table (the bundled table, or sourced rows with ``SOURCE_COLUMNS``).

    Raises :class:`DataError` naming the file, field and fix for a missing column, a bad number,
    coordinate, status or source kind, or a duplicate route id.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("ferry table not found; check inputs.ferries or restore the bundled data/roads/ferries.csv", path=path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read the ferry table ({str(exc).splitlines()[0]}); UTF-8 CSV expected", path=path) from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"missing column {missing[0]!r}; the header must be {','.join(columns)}", path=path, field=missing[0])
    if len(df) > 5000:
        raise DataError(f"{len(df)} rows is more than any ferry table (5000); wrong file?", path=path)
    dup = df["route_id"][df["route_id"].duplicated()]
    if len(dup):
        raise DataError(f"route id {dup.iloc[0]!r} appears twice; route ids must be unique", path=path, field="route_id")
    rows = []
    for _, r in df.iterrows():
        rid = r["route_id"]
        if not _SLUG.match(rid):
            raise DataError(f"route id {rid!r} is not a lower-case ascii slug like 'mannheller-fodnes'", path=path, field="route_id")
        row = dict(r)
        for c, lo, hi in (("lon_a", 4.0, 32.0), ("lat_a", 57.5, 72.0), ("lon_b", 4.0, 32.0), ("lat_b", 57.5, 72.0)):
            row[c] = _lonlat(r[c], path, rid, c, lo, hi)
        for c in ("crossing_minutes", "headway_minutes", "departures_per_day"):
            row[c] = _number(r[c], path, rid, c)
        if r["status"] not in STATUSES:
            raise DataError(f"route {rid}: status {r['status']!r}; use one of {', '.join(STATUSES)}", path=path, field="status")
        if r["source_kind"] not in SOURCE_KINDS:
            raise DataError(f"route {rid}: source_kind {r['source_kind']!r}; use one of {', '.join(SOURCE_KINDS)}",
                            path=path, field="source_kind")  # fmt: skip
        if not r["source"].startswith(("http://", "https://")):
            raise DataError(f"route {rid}: source must be one URL (http/https)", path=path, field="source")
        parse_stops(r["stops"], path, rid)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(df.columns)) if rows else pd.DataFrame(columns=list(columns))


def route_wait(row, rule, fallback: float) -> tuple[float, str]:
    """Expected wait for boarding a sourced route, and how it was obtained.

    ``rule`` is ``"half_headway"`` (half the daytime headway; from ``departures_per_day`` spread
    over :data:`SERVICE_DAY_MINUTES` when no headway is given; else ``fallback``),
    ``"full_headway"`` (the whole headway: the ferry just missed; the high end of the uncertainty
    band, :mod:`siting.uncertainty`) or fixed minutes.
    """
    if rule not in ("half_headway", "full_headway"):
        return float(rule), "fixed"
    share, what = (0.5, "half") if rule == "half_headway" else (1.0, "full")
    if not math.isnan(row["headway_minutes"]):
        return row["headway_minutes"] * share, f"{what} headway"
    if not math.isnan(row["departures_per_day"]):
        return SERVICE_DAY_MINUTES / row["departures_per_day"] * share, f"{what} of service day / departures"
    return float(fallback), "fallback wait"


@dataclass
class RouteMatch:
    """A table row matched to ferry links: ``links`` in sailing order, ``nodes`` the landings along them."""

    route_id: str
    links: list[int]
    nodes: list[int]
    boarding: list[int]  # positions in ``nodes`` of the terminals and stops


@dataclass
class Matching:
    routes: list[RouteMatch] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (route_id, reason)


def merge_endpoints(ends_xy: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Node id per link end (``(m, 2)``) joining end points closer than ``tolerance_m`` (as the graph builder does)."""
    pts = ends_xy.reshape(-1, 2)
    pairs = cKDTree(pts).query_pairs(max(tolerance_m, 0.5), output_type="ndarray")
    adj = coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(pts),) * 2)
    return connected_components(adj, directed=False)[1].reshape(-1, 2)


def match_routes(table: pd.DataFrame, ends_xy: np.ndarray, lengths_m: np.ndarray, end_node: np.ndarray,
                 tolerance_m: float = MATCH_TOLERANCE_M) -> Matching:  # fmt: skip
    """Match each route to the shortest ferry-link path from terminal A through its stops to B.

    Parameters
    ----------
    table : DataFrame
        Validated rows (:func:`read_ferry_table`).
    ends_xy : ndarray
        ``(m, 2, 2)`` the two end points of every ferry link, EPSG:25833.
    lengths_m : ndarray
        ``(m,)`` link lengths.
    end_node : ndarray
        ``(m, 2)`` graph node of each end point (end points merged into junctions share a node).
    """
    from pyproj import Transformer

    to_utm = Transformer.from_crs(4326, 25833, always_xy=True)
    out = Matching()
    m = len(lengths_m)
    if m == 0:
        out.unmatched = [(rid, "no ferry links in the network") for rid in table["route_id"]]
        return out
    tree = cKDTree(ends_xy.reshape(-1, 2))
    nodes, inv = np.unique(end_node.ravel(), return_inverse=True)
    inv = inv.reshape(-1, 2)
    k = len(nodes)
    # Ferry-only graph over landings; keep the shortest of parallel links.
    order = np.argsort(-lengths_m)
    best = {}
    for i in order:
        a, b = inv[i]
        best[(a, b)] = best[(b, a)] = i
    pairs = np.array(list(best.keys()), dtype=np.int64).reshape(-1, 2)
    link_of = np.array(list(best.values()), dtype=np.int64)
    adj = coo_array((lengths_m[link_of] + 1e-3, (pairs[:, 0], pairs[:, 1])), shape=(k, k)).tocsr()
    for _, r in table.iterrows():
        pts = [(r["lon_a"], r["lat_a"]), *parse_stops(r["stops"]), (r["lon_b"], r["lat_b"])]
        xy = np.array([to_utm.transform(lon, lat) for lon, lat in pts])
        dist, idx = tree.query(xy)
        if (dist > tolerance_m).any():
            j = int(np.argmax(dist > tolerance_m))
            what = "terminal A" if j == 0 else "terminal B" if j == len(pts) - 1 else f"stop {j}"
            out.unmatched.append((r["route_id"], f"{what} is {dist[j]:.0f} m from the nearest ferry-link end"))
            continue
        way = [int(inv.ravel()[i]) for i in idx]
        links, seq, boarding, ok = [], [way[0]], [0], True
        for s, t in zip(way[:-1], way[1:], strict=True):
            if s == t:
                continue
            _, pred = dijkstra(adj, indices=s, return_predecessors=True)
            if pred[t] < 0:
                out.unmatched.append((r["route_id"], "no ferry-link path between its terminals"))
                ok = False
                break
            leg, cur = [], t
            while cur != s:
                leg.append(cur)
                cur = pred[cur]
            for node in reversed(leg):
                links.append(int(best[(seq[-1], node)]))
                seq.append(node)
            boarding.append(len(seq) - 1)
        if ok and links:
            out.routes.append(RouteMatch(r["route_id"], links, [int(nodes[n]) for n in seq], boarding))
        elif ok:
            out.unmatched.append((r["route_id"], "terminals A and B are the same landing"))
    return out


@dataclass
class FerryEdges:
    """The ferry part of a Kartverket graph (see the module docstring).

    ``sail_*`` are undirected edges (generic links and route sailings), ``dir_*`` directed edges
    (boarding with the wait, alighting at no cost); ``route_xy`` the positions of the route nodes
    numbered from ``n_nodes``; ``info`` what used the table and what fell back.
    """

    sail_u: np.ndarray
    sail_v: np.ndarray
    sail_w: np.ndarray
    dir_u: np.ndarray
    dir_v: np.ndarray
    dir_w: np.ndarray
    route_xy: np.ndarray
    info: dict


def _lonlat_of(xy: np.ndarray) -> list[list[float]]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(25833, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    return [[round(float(a), 5), round(float(b), 5)] for a, b in zip(lon, lat, strict=True)]


def ferry_edges(spec, ends_xy: np.ndarray, lengths_m: np.ndarray, end_node: np.ndarray, node_xy: np.ndarray,
                table: pd.DataFrame | None = None, table_file: str | None = None,
                road_node: np.ndarray | None = None) -> FerryEdges:  # fmt: skip
    """Ferry edges of a Kartverket graph: sourced routes from ``table``, the flat rule for the rest.

    Parameters
    ----------
    spec : NetworkSpec
        ``ferry_wait`` (rule for sourced routes), ``ferry_wait_minutes`` and ``ferry_speed_kmh``
        (flat rule for links without a route; also the wait when a route gives no frequency and
        the speed when it gives no crossing time).
    ends_xy, lengths_m, end_node : ndarray
        ``(m, 2, 2)`` end points (EPSG:25833), ``(m,)`` lengths, ``(m, 2)`` graph nodes of the ferry links.
    node_xy : ndarray
        ``(n, 2)`` positions of the graph nodes (route nodes are placed on their landings).
    table : DataFrame, optional
        Validated ferry table (:func:`read_ferry_table`); None: the flat rule for every link.
    road_node : ndarray, optional
        ``(n,)`` bool, nodes on a road. Besides its terminals and stops, a route can be boarded at
        every landing on its path that touches a road (a call the table does not name), a ferry
        link on the flat rule or another route's terminal or stop (a change of ferry); other landings
        in the fjord (junctions of N1000 ferry lines) only pass the route on.
    """
    m, n_nodes = len(lengths_m), len(node_xy)
    flat = lengths_m / 1000.0 / spec.ferry_speed_kmh * 60.0
    matching = match_routes(table, ends_xy, lengths_m, end_node) if table is not None and len(table) else Matching()
    rows = table.set_index("route_id") if table is not None and len(table) else None
    operating = [rm for rm in matching.routes if rows.loc[rm.route_id, "status"] == "operating"]
    covered = {i for rm in operating for i in rm.links}
    closed = {i for rm in matching.routes for i in rm.links} - covered
    generic = np.array([i for i in range(m) if i not in covered and i not in closed], dtype=np.int64)
    # a route can be boarded where its path touches a road, a link on the flat rule or a terminal or stop
    # of any route (a change of ferry: N1000 may place one route's quay on another route's line)
    touch = np.zeros(n_nodes, bool) if road_node is None else road_node.copy()
    touch[end_node[generic].ravel()] = True
    for rm in operating:
        touch[np.asarray(rm.nodes)[rm.boarding]] = True
    su, sv, sw, du, dv, dw, xy, used = [], [], [], [], [], [], [], []
    nxt = n_nodes
    for rm in operating:
        r = rows.loc[rm.route_id]
        lens = lengths_m[rm.links]
        crossing = r["crossing_minutes"] if not math.isnan(r["crossing_minutes"]) else float(flat[rm.links].sum())
        wait, how = route_wait(r, spec.ferry_wait, spec.ferry_wait_minutes)
        q = nxt + np.arange(len(rm.nodes))
        nxt += len(rm.nodes)
        xy.append(node_xy[rm.nodes])
        su.append(q[:-1])
        sv.append(q[1:])
        sw.append(crossing * lens / lens.sum())
        nodes = np.asarray(rm.nodes)
        board = sorted(set(rm.boarding) | set(np.flatnonzero(touch[nodes]).tolist()))
        land = nodes[board]
        du.append(np.r_[land, q[board]])
        dv.append(np.r_[q[board], land])
        dw.append(np.r_[np.full(len(land), wait), np.zeros(len(land))])
        used.append({"route_id": rm.route_id, "links": len(rm.links), "landings": len(board),
                     "crossing_minutes": round(float(crossing), 2),
                     "crossing_from": "table" if not math.isnan(r["crossing_minutes"]) else "fallback speed",
                     "wait_minutes": round(float(wait), 2), "wait_from": how})  # fmt: skip
    su.append(end_node[generic, 0])
    sv.append(end_node[generic, 1])
    sw.append(flat[generic] + spec.ferry_wait_minutes)
    info = {
        "file": table_file,
        "rule": {"half_headway": "wait half the daytime headway", "full_headway": "wait a full daytime headway"}.get(
            spec.ferry_wait, f"wait {spec.ferry_wait}"),
        "routes_used": len(used),
        "links_from_table": len(covered),
        "links_closed": len(closed),
        "links_fallback": len(generic),
        "routes": used,
        "routes_unmatched": [{"route_id": rid, "reason": why} for rid, why in matching.unmatched],
        "fallback_links": [{"link": int(i), "lonlat_a": a, "lonlat_b": b, "km": round(float(lengths_m[i]) / 1000, 2)}
                           for i, a, b in zip(generic, _lonlat_of(ends_xy[generic, 0]), _lonlat_of(ends_xy[generic, 1]),
                                              strict=True)] if len(generic) else [],  # fmt: skip
    }
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
    return FerryEdges(cat(su, np.int64), cat(sv, np.int64), cat(sw, float), cat(du, np.int64), cat(dv, np.int64),
                      cat(dw, float), np.concatenate(xy) if xy else np.zeros((0, 2)), info)  # fmt: skip
