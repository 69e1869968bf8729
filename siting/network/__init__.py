"""Road networks: OpenStreetMap extracts, Kartverket road links, and the fallback estimator.

:func:`load_network` resolves the network for a run as the named input ``roads`` (see
:mod:`siting.inputs`):

1. the file named in the scenario (``network.path`` or ``inputs: {roads: ...}``: OSM, Kartverket
   ``.gpkg``, the compact road-link ``.npz`` or a built graph ``.npz``);
2. the national Kartverket N1000 layer downloaded with ``siting data fetch roads`` into the cache;
3. the bundled N1000 car roads and car ferries ``data/roads/n1000_veglenke.npz``;
4. the straight-line estimator (``allow_estimate: true``), flagged as an estimate everywhere —
   only if none of the above exists.

Kartverket ferry links take their crossing times and frequencies from the ferry-route table,
the named input ``ferries`` (``inputs: {ferries: FILE}`` > cache > the bundled
``data/roads/ferries.csv``; ``network.ferry_table: false`` turns it off; see
:mod:`siting.network.ferries`).

Whatever file is used, a graph built before from the same file contents, ferry table and settings
is reused from the build cache.
"""

from __future__ import annotations

import logging
from pathlib import Path

from siting import cache
from siting.errors import DataError
from siting.inputs import resolve
from siting.paths import cache_dir

from .estimator import StraightLineEstimator
from .graph import NetworkSpec, RoadGraph, file_digest

__all__ = ["NetworkSpec", "RoadGraph", "StraightLineEstimator", "build_network", "ferry_table_input", "load_network",
           "national_roads_path"]

log = logging.getLogger(__name__)


def national_roads_path() -> Path | None:
    """The national road-link layer: fetched into the cache, else the bundled copy (None if neither)."""
    found = resolve("roads", required=False)
    return found.path if found is not None else None


#: Bump when a graph builder changes what it builds (graphs cached by an older builder are then rebuilt).
#: 2: OSM ferries kept as ferry edges through simplification (issue 15 A1).
#: 3: Kartverket ferry links by route from the sourced ferry table (issue 25 §1).
#: 4: Kartverket ferry landings off the road joined to the nearest road vertex within the junction tolerance.
BUILD_VERSION = 4


def _cache_parts(path: Path, spec: NetworkSpec, ferry_table: Path | None = None) -> dict:
    """The full key of a built graph: the road file's and ferry table's contents, the weighting settings and the builder version."""
    return {"build": BUILD_VERSION, "file": file_digest(path, full=True), "file_name": path.name, "weighting": spec.weighting_key(),
            "ferry_table": file_digest(ferry_table, full=True) if ferry_table is not None else None}  # fmt: skip


def _graph_problem(arrays: dict) -> str | None:
    """Why a cache entry's arrays are not a graph this version can use (None if they are)."""
    try:
        RoadGraph.from_arrays(arrays)
    except (ValueError, KeyError, TypeError) as exc:
        return str(exc) or type(exc).__name__
    return None


def _cache_path(path: Path, parts: dict) -> Path:
    return cache_dir() / "networks" / f"{path.name.split('.')[0]}-{cache.key_of(parts)}.npz"


def ferry_table_input(spec: NetworkSpec, ferries: str | Path | None = None):
    """The ferry-route table a Kartverket build uses (an :class:`~siting.inputs.Input`), or None.

    None when ferries or the table are switched off, or (with a warning) when no table is found.
    A file named in the scenario must exist.
    """
    if not (spec.ferries and spec.ferry_table):
        return None
    found = resolve("ferries", ferries, required=False)
    if found is None:
        log.warning("no ferry-route table (data/roads/ferries.csv): every ferry link uses the flat rule")
    elif not found.path.exists():
        raise DataError("ferry table not found; fix inputs.ferries or restore data/roads/ferries.csv",
                        path=found.path, field="inputs.ferries")  # fmt: skip
    return found


def build_network(path: str | Path, spec: NetworkSpec | None = None, use_cache: bool = True,
                  ferries: str | Path | None = None) -> RoadGraph:  # fmt: skip
    """Build (or load from the cache) the road graph of an OSM extract or Kartverket road links.

    Parameters
    ----------
    path : path
        ``.osm``/``.osm.bz2``/``.osm.pbf`` (OpenStreetMap), ``.gpkg``/``.gml`` (Kartverket
        ``Veglenke``), the compact road links of ``scripts/build_roads.py`` (``.npz``) or a graph
        saved by :meth:`RoadGraph.save` (``.npz``).
    spec : NetworkSpec, optional
        Weighting settings (ferries, waiting penalty, speed factor).
    use_cache : bool
        Reuse a graph built before from the same file contents and settings.
    ferries : path, optional
        Ferry-route table for Kartverket road links (default: the named input ``ferries``).
    """
    spec = spec or NetworkSpec()
    path = Path(path)
    if not path.exists():
        raise DataError("network file not found; check network.path", path=path, field="network.path")
    from .kartverket import is_road_links_npz

    links_npz = path.suffix == ".npz" and is_road_links_npz(path)
    if path.suffix == ".npz" and not links_npz:
        g = RoadGraph.load(path)
        g.info["cache"] = "file"
        return g
    name = path.name.lower()
    kartverket = links_npz or name.endswith((".gpkg", ".gml", ".geojson", ".shp"))
    table = ferry_table_input(spec, ferries) if kartverket else None
    parts = _cache_parts(path, spec, table.path if table else None)
    cached = _cache_path(path, parts)
    arrays = cache.load(cached, "network", parts, check=_graph_problem) if use_cache else None
    if arrays is not None:
        g = RoadGraph.from_arrays(arrays)
        g.spec = spec
        g.info["cache"] = "hit"
        if table is not None:
            g.info["ferries_input"] = table.as_dict()
        log.info("network from cache %s", cached)
        return g
    if name.endswith((".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".xml")):
        from .osm import build_osm_graph

        g = build_osm_graph(path, spec)
    elif kartverket:
        from .kartverket import build_kartverket_graph

        g = build_kartverket_graph(path, spec, ferry_table=table.path if table else None)
    else:
        raise DataError("unknown network format; use .osm, .osm.bz2, .osm.pbf, Kartverket .gpkg or .npz", path=path)
    if use_cache:
        cache.save(cached, "network", parts, g.to_arrays(), compress=True)
    g.info["cache"] = "miss"
    if table is not None:
        g.info["ferries_input"] = table.as_dict()
    return g


def load_network(spec: NetworkSpec | None = None, ferries: str | Path | None = None) -> RoadGraph:
    """Resolve the network for a run (see module docstring for the order); ``ferries`` names the ferry table."""
    spec = spec or NetworkSpec()
    found = resolve("roads", spec.path, required=False)
    if found is not None:
        g = build_network(found.path, spec, ferries=ferries)
        g.info["input"] = found.as_dict()
        return g
    if spec.allow_estimate:
        log.warning("no road network available: using the straight-line ESTIMATE")
        return StraightLineEstimator(spec=spec)
    raise DataError(
        "no road network: set network.path, run `siting data fetch roads`, restore data/roads/ "
        "(`git checkout data/`), or allow_estimate: true",
        field="network.path",
    )
