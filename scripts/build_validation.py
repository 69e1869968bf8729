"""Rebuild ``data/validation/drive_times.csv`` from the hand-collected facts.

Input: ``scripts/sources/drive_times.csv``, one sourced drive time per row (one URL each, see
``data/SOURCES.md``). Each end names where its coordinates come from (``from_ref``/``to_ref``):

``places``
    the bundled GeoNames places (``data/places/places.csv``), looked up by the name before any
    parenthesis; the row's lon/lat, if given, only picks among equal names;
``candidates``
    a settlement of the bundled candidate list (``data/candidates/candidates.csv``: a Kartverket N1000
    place-name label moved to the population centre around it), looked up the same way;
``source``
    the coordinates the source itself gives (route-planner geocodes, DATEX stretch geometry);
``n1000-ferry-landing``
    the end of a Kartverket N1000 car-ferry link (checked: within 50 m of one in the bundled roads);
``n1000-road-end``
    the end of an N1000 road link (checked likewise), for a village at the end of its road.

The script validates every field (one line naming row and field on failure) and writes the bundled
table with the resolved coordinates. Run from the repository root::

    python scripts/build_validation.py [--sources FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siting.errors import SitingError  # noqa: E402
from siting.inputs import resolve  # noqa: E402
from siting.network.kartverket import CAR_FERRY, read_road_links  # noqa: E402
from siting.network.validation import COLUMNS, validate_table  # noqa: E402

SOURCES = ROOT / "scripts" / "sources" / "drive_times.csv"
OUT = ROOT / "data" / "validation" / "drive_times.csv"
REFS = ("places", "candidates", "source", "n1000-ferry-landing", "n1000-road-end")
#: A landing or road end given by hand must lie this close to the N1000 link end it names.
SNAP_TOLERANCE_M = 50.0
TO_LONLAT = Transformer.from_crs(25833, 4326, always_xy=True)
TO_XY = Transformer.from_crs(4326, 25833, always_xy=True)


def _fail(row: pd.Series, field: str, message: str) -> SitingError:
    return SitingError(f"row {row['id']}: {message}", path=SOURCES, field=field)


def _gazetteers() -> dict[str, pd.DataFrame]:
    places = pd.read_csv(resolve("places").path)[["name", "lon", "lat"]]
    cand = pd.read_csv(resolve("candidates").path)
    cand = cand[cand["source"] == "n1000_place"]
    lon, lat = TO_LONLAT.transform(cand["x"].to_numpy(float), cand["y"].to_numpy(float))
    return {"places": places, "candidates": pd.DataFrame({"name": cand["name"], "lon": lon, "lat": lat})}


def _link_ends() -> dict[str, cKDTree]:
    links = read_road_links(resolve("roads").path)
    ferry = (links["typeVeg"] == CAR_FERRY).to_numpy()
    trees = {}
    for ref, mask in (("n1000-ferry-landing", ferry), ("n1000-road-end", ~ferry)):
        geoms = links.geometry.to_numpy()[mask]
        ends = np.r_[shapely.get_coordinates(shapely.get_point(geoms, 0)), shapely.get_coordinates(shapely.get_point(geoms, -1))]
        trees[ref] = cKDTree(ends)
    return trees


def _resolve_end(row: pd.Series, side: str, gaz: dict, ends: dict) -> tuple[float, float]:
    ref = row[f"{side}_ref"]
    lon, lat = row[f"{side}_lon"], row[f"{side}_lat"]
    if ref not in REFS:
        raise _fail(row, f"{side}_ref", f"unknown coordinate reference {ref!r}; use one of {', '.join(REFS)}")
    if ref in gaz:
        name = re.sub(r"\s*\(.*\)$", "", row[side]).strip()
        hits = gaz[ref][gaz[ref]["name"] == name]
        if hits.empty:
            raise _fail(row, side, f"{name!r} is not in the bundled {ref}; name it exactly or give the source's coordinates")
        if len(hits) > 1:
            if pd.isna(lon) or pd.isna(lat):
                raise _fail(row, f"{side}_lon", f"{len(hits)} {ref} are called {name!r}; give lon/lat near the one meant")
            hits = hits.iloc[[int(np.argmin(np.hypot(hits["lon"] - lon, hits["lat"] - lat)))]]
        return round(float(hits["lon"].iloc[0]), 5), round(float(hits["lat"].iloc[0]), 5)
    if pd.isna(lon) or pd.isna(lat):
        raise _fail(row, f"{side}_lon", f"{ref} coordinates need {side}_lon and {side}_lat")
    if ref in ends:
        dist, _ = ends[ref].query(TO_XY.transform(lon, lat))
        if dist > SNAP_TOLERANCE_M:
            raise _fail(row, f"{side}_lon", f"no N1000 {ref.split('-', 1)[1]} within {SNAP_TOLERANCE_M:g} m ({dist:.0f} m)")
    return float(lon), float(lat)


def build(sources: Path = SOURCES) -> pd.DataFrame:
    """Resolve and validate the hand-collected facts; return the bundled table."""
    src = pd.read_csv(sources, dtype={"id": str})
    gaz, ends = _gazetteers(), _link_ends()
    out = src.copy()
    for i, row in src.iterrows():
        for side in ("from", "to"):
            out.loc[i, [f"{side}_lon", f"{side}_lat"]] = _resolve_end(row, side, gaz, ends)
    out = out.rename(columns={"from_ref": "from_coords", "to_ref": "to_coords"})
    out = out[[*COLUMNS, "distance_km", "accessed", "from_coords", "to_coords", "note"]]
    validate_table(out, sources)
    return out.sort_values("id").reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sources", type=Path, default=SOURCES)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    try:
        table = build(args.sources)
    except SitingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    table.to_csv(tmp, index=False, float_format="%.7g")
    tmp.replace(args.out)
    n_ferry = int((table["ferry"] == "yes").sum())
    n_short = int(((table["ferry"] == "no") & (table["reference_minutes"] < 45)).sum())
    print(f"wrote {args.out}: {len(table)} rows ({n_short} road rows under 45 min, {n_ferry} ferry rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
