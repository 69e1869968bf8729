"""Rebuild ``data/stations/stations.csv``: the police offices (tjenestesteder) with positions.

Inputs:

* OpenStreetMap police points (ODbL, © OpenStreetMap contributors): an Overpass extract of
  ``amenity=police`` in Norway dated 2026-03-13, as published in the public repository
  ``Karostudent/Webutvikling-GIS-Kartografi`` (``data/emergency_resources_police.geojson``).
  Pass it with ``--osm``; by default the identical reference copy in ``../shared/data/stations/``.
* ``scripts/sources/new_offices_2022_2024.csv``: the 20 offices the government opened in
  2022-2024 (politiet.no, regjeringen.no; URLs per row). Points matching them get their opening
  year, so the early-2022 baseline excludes them.

Kept: points whose name says politistasjon, lensmannskontor/-distrikt, politipost or politiets
publikumssenter (the public offices). Dropped (listed in ``data/SOURCES.md``): units without a
public office (namsfogd, barnehus, dog unit, immigration units, national centres, border posts)
and unnamed points. Each kept point gets its municipality by point-in-polygon.

Usage::

    python scripts/build_stations.py [--osm FILE]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.data import load_kommuner_geometry
from siting.io import atomic_path
from siting.paths import DATA_DIR, shared_data_dir

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
OSM_SOURCE = "OpenStreetMap (Overpass 2026-03-13, via Karostudent/Webutvikling-GIS-Kartografi)"
KEEP = re.compile(r"politistasjon|lensmann|politipost|publikumssenter", re.IGNORECASE)


def station_type(name: str) -> str:
    low = name.lower()
    if "politistasjon" in low:
        return "politistasjon"
    if "lensmann" in low:
        return "lensmannskontor"
    return "other"


def build(osm: Path) -> pd.DataFrame:
    pts = gpd.read_file(osm)
    pts = pts[pts["name"].notna() & pts["name"].str.contains(KEEP)].copy()
    pts = pts.to_crs(25833)
    kommuner = load_kommuner_geometry()[["kommunenummer", "politidistrikt", "geometry"]]
    pts = gpd.sjoin_nearest(pts, kommuner, how="left", max_distance=2000, distance_col="dist_m")
    pts = pts.drop_duplicates("osm_id")
    new = pd.read_csv(SOURCES_DIR / "new_offices_2022_2024.csv", dtype={"kommunenummer": str})
    opened = pd.Series(pd.NA, index=pts.index, dtype="Int64")
    note = pd.Series("", index=pts.index)
    for row in new.itertuples():
        hit = (pts["kommunenummer"] == row.kommunenummer) & pts["name"].str.contains(
            rf"^{re.escape(row.locality)}\b", case=False
        )
        opened[hit] = row.planned_open
        note[hit] = row.source
    lonlat = pts.to_crs(4326).geometry
    out = pd.DataFrame(
        {
            "station_id": "osm-" + pts["osm_id"].astype(str),
            "name": pts["name"].str.strip(),
            "type": pts["name"].map(station_type),
            "kommunenummer": pts["kommunenummer"],
            "politidistrikt": pts["politidistrikt"],
            "lon": lonlat.x.round(7),
            "lat": lonlat.y.round(7),
            "location_quality": "exact",
            "source": OSM_SOURCE,
            "opened": opened,
            "closed": pd.Series(pd.NA, index=pts.index, dtype="Int64"),
            "opened_source": note,
        }
    )
    if out["kommunenummer"].isna().any():
        raise SystemExit(f"stations outside every municipality: {list(out[out.kommunenummer.isna()].name)}")
    return out.sort_values("station_id").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = shared_data_dir()
    default = shared / "stations" / "osm_police_norway_2026.geojson" if shared else None
    parser.add_argument("--osm", type=Path, default=default, required=default is None)
    parser.add_argument("--out", type=Path, default=DATA_DIR / "stations" / "stations.csv")
    args = parser.parse_args()
    df = build(args.osm)
    with atomic_path(args.out) as tmp:
        df.to_csv(tmp, index=False)
    base = df[df["opened"].isna()]
    print(f"wrote {args.out}: {len(df)} offices, {len(base)} in the early-2022 baseline")
    print(df["type"].value_counts().to_string())


if __name__ == "__main__":
    main()
