"""Road graphs from OpenStreetMap extracts (``.osm``, ``.osm.bz2`` via osmnx; ``.osm.pbf`` via pyosmium).

Speeds: tagged ``maxspeed`` where present, otherwise :data:`HWY_SPEEDS_KMH` (Norwegian defaults:
80 km/h outside built-up areas is the general limit, 50 km/h in built-up areas; motorways 100-110).
Car ferries (``route=ferry``) take their ``duration`` tag when present, otherwise the crossing
length at the ferry speed, plus the waiting penalty.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import osmnx as ox
from pyproj import Transformer

from siting.errors import DataError

from .graph import NetworkSpec, RoadGraph, edges_to_matrix, largest_strong_component

log = logging.getLogger(__name__)

#: Default speeds (km/h) per OSM highway class where ``maxspeed`` is not tagged (Norway).
HWY_SPEEDS_KMH: dict[str, float] = {
    "motorway": 100, "motorway_link": 60, "trunk": 80, "trunk_link": 50, "primary": 70,
    "primary_link": 50, "secondary": 60, "secondary_link": 40, "tertiary": 50, "tertiary_link": 40,
    "unclassified": 40, "residential": 30, "living_street": 10, "service": 20, "road": 40,
}  # fmt: skip
DRIVE = set(HWY_SPEEDS_KMH)
EXTRA_TAGS = ["route", "duration", "motor_vehicle", "motorcar"]


def _first(value):
    return value[0] if isinstance(value, list) else value


def _keep_way(tags) -> bool:
    hw = _first(tags.get("highway"))
    if hw in DRIVE:
        return _first(tags.get("motor_vehicle")) != "no" and _first(tags.get("access")) not in ("no", "private")
    return _first(tags.get("route")) == "ferry" and _first(tags.get("motor_vehicle", tags.get("motorcar"))) != "no"


def pbf_to_xml(pbf: Path, out: Path) -> None:
    """Write the drivable ways (and car ferries) of a PBF extract, with their nodes, as OSM XML."""
    import osmium

    ways, needed = [], set()
    for w in osmium.FileProcessor(str(pbf), osmium.osm.WAY):
        if _keep_way(w.tags):
            refs = [n.ref for n in w.nodes]
            ways.append(osmium.osm.mutable.Way(id=w.id, nodes=refs, tags=dict(w.tags)))
            needed.update(refs)
    if not ways:
        raise DataError("no drivable ways in the extract", path=pbf)
    with osmium.SimpleWriter(str(out)) as writer:
        for n in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
            if n.id in needed:
                writer.add_node(n)
        for w in ways:
            writer.add_way(w)


def _duration_minutes(value) -> float | None:
    if not isinstance(value, str):
        return None
    parts = value.split(":")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        return None
    if len(nums) == 1:
        return nums[0]
    return nums[0] * 60 + nums[1] + (nums[2] / 60 if len(nums) > 2 else 0)


def build_osm_graph(path: Path, spec: NetworkSpec, progress=None) -> RoadGraph:
    """Build a drivable graph from an OSM extract (XML, bz2-compressed XML or PBF)."""
    path = Path(path)
    if not path.exists():
        raise DataError("OSM file not found", path=path)
    if path.stat().st_size == 0:
        raise DataError("OSM file is empty; download the extract again", path=path)
    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted(set(saved) | set(EXTRA_TAGS))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            xml = path
            if path.name.endswith(".pbf"):
                xml = Path(tmp) / "extract.osm"
                try:
                    pbf_to_xml(path, xml)
                except RuntimeError as exc:
                    raise DataError(f"cannot read PBF ({exc})", path=path) from None
            try:
                G = ox.graph_from_xml(xml, simplify=False, retain_all=True)
            except Exception as exc:  # osmnx/lxml raise many types on broken XML
                raise DataError(f"cannot read OSM data ({str(exc).splitlines()[0][:120]})", path=path) from None
    finally:
        ox.settings.useful_tags_way = saved
    drop = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not _keep_way(d)]
    G.remove_edges_from(drop)
    if G.number_of_edges() == 0:
        raise DataError("no drivable roads in the OSM file", path=path)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    # simplify only now, and never across a change between road and ferry: a ferry whose terminals
    # have degree 2 would otherwise be merged into a road edge and driven at road speed, no wait
    G = ox.simplify_graph(G, edge_attrs_differ=["route"])
    G = ox.add_edge_speeds(G, hwy_speeds=HWY_SPEEDS_KMH, fallback=40)
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    lon = np.array([G.nodes[n]["x"] for n in nodes])
    lat = np.array([G.nodes[n]["y"] for n in nodes])
    x, y = Transformer.from_crs(4326, 25833, always_xy=True).transform(lon, lat)
    u, v, w, is_ferry = [], [], [], []
    for a, b, d in G.edges(data=True):
        ferry = _first(d.get("route")) == "ferry" and d.get("highway") is None
        if ferry and not spec.ferries:
            continue
        if ferry:
            dur = _duration_minutes(d.get("duration"))
            minutes = (dur if dur else d["length"] / 1000 / spec.ferry_speed_kmh * 60) + spec.ferry_wait_minutes
        else:
            minutes = d["length"] / 1000 / (d["speed_kph"] * spec.speed_factor) * 60
        u.append(index[a])
        v.append(index[b])
        w.append(minutes)
        is_ferry.append(ferry)
    matrix = edges_to_matrix(len(nodes), np.array(u), np.array(v), np.array(w))
    node_xy = np.column_stack([x, y])
    node_xy, matrix, snappable, comp = largest_strong_component(node_xy, matrix, np.ones(len(nodes), bool))
    info = {
        "format": "osm",
        "file": str(path),
        "nodes": int(node_xy.shape[0]),
        "edges": int(matrix.nnz),
        "ferry_edges": int(sum(is_ferry)),
        **comp,
        "speeds_kmh": HWY_SPEEDS_KMH,
    }
    ferries = f"ferries on, wait {spec.ferry_wait_minutes:g} min" if spec.ferries else "ferries off"
    return RoadGraph(
        node_xy=node_xy, matrix=matrix, source=f"OpenStreetMap {path.name} ({ferries})", snappable=snappable, info=info, spec=spec
    )
