"""Compact encodings for the page: geometry simplified as a coverage, quantised and delta-encoded;
JSON that cannot close its ``<script>``."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np

#: display simplification (metres, EPSG:25833) and quantisation step (degrees) of the embedded geometry


SIMPLIFY_M = 500.0


QUANTUM = 5e-4


def truthy(v) -> bool:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return False
    return str(v).strip().lower() not in ("", "false", "0", "no", "none", "nan")


def encode_polygons(geoms: gpd.GeoSeries, tolerance_m: float = SIMPLIFY_M, coverage: bool = False, q: float = QUANTUM) -> list:
    """Simplify (metres, EPSG:25833; as a coverage keeps shared borders shared), reproject to
    EPSG:4326, quantise to ``q`` degrees and delta-encode: per geometry a list of polygons, each a
    list of rings ``[dx0, dy0, dx1, dy1, ...]`` (integers; the ring is closed implicitly)."""
    import shapely

    g = geoms.to_crs(25833)
    vals = g.values
    if coverage:
        try:
            vals = shapely.coverage_simplify(vals, tolerance_m)
        except Exception:  # not a valid coverage (overlaps): simplify each polygon on its own
            vals = shapely.simplify(vals, tolerance_m, preserve_topology=True)
    else:
        vals = shapely.simplify(vals, tolerance_m, preserve_topology=True)
    g = gpd.GeoSeries(vals, crs=25833).to_crs(4326)
    out = []
    for geom in g.values:
        polys = []
        if geom is not None and not geom.is_empty:
            parts = getattr(geom, "geoms", [geom])
            for p in parts:
                if p.geom_type != "Polygon":
                    continue
                rings = []
                for r in (p.exterior, *p.interiors):
                    c = np.round(np.asarray(r.coords)[:-1, :2] / q).astype(np.int64)
                    if len(c) >= 2:
                        keep = np.r_[True, np.any(np.diff(c, axis=0) != 0, axis=1)]
                        c = c[keep]
                    if len(c) < 3:
                        continue
                    d = np.diff(c, axis=0, prepend=np.zeros((1, 2), np.int64))
                    rings.append(d.ravel().tolist())
                if rings and p.exterior is not None:
                    polys.append(rings)
        out.append(polys)
    return out


def latlon(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(4326) if gdf.crs is not None else gdf


def json_for_script(obj) -> str:
    """JSON that cannot end its ``<script>`` element (``</script>``, ``<!--``) whatever the strings hold."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _json_default(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if not np.isfinite(v) else float(v)
    return str(v)
