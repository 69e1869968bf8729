"""Rebuild ``data/stations/stations.csv``: the police offices (tjenestesteder), one row per location.

The file holds the office structure of 1 January 2022 (the ministry's consultation date) plus the
offices opened since, with ``open_from``/``closed_from`` dates, so the structure at any date is a
filter (``siting.data.load_stations(as_of=...)``).

Inputs:

* OpenStreetMap police points (ODbL, © OpenStreetMap contributors): an Overpass extract of
  ``amenity=police`` in Norway dated 2026-03-13, as published in the public repository
  ``Karostudent/Webutvikling-GIS-Kartografi`` (``data/emergency_resources_police.geojson``).
  Pass it with ``--osm``; by default the identical reference copy in ``../shared/data/stations/``.
* ``scripts/sources/district_lists_2017.csv``: per police district, the published 2017 list each
  OSM office was checked against (source URL) and whether the whole district matched it
  (``verified``) or not (``unverified``).
* ``scripts/sources/station_corrections.csv``: facts with source URLs, one per row: ``drop`` an OSM
  point (not an office, or a second point of the same office), ``merge`` OSM points into one office
  with several locations, ``add`` an office missing from OSM (including the 20 offices opened
  2022-2024) and ``set`` fields of an OSM office. Added offices are placed from a public
  coordinate named in ``location``: ``osm:<id>`` (an OSM object of the same extract),
  ``geonames:<id>`` (a GeoNames place of ``data/places/places.csv``) or ``n1000:<stedsnummer>``
  (the label point of a Kartverket N1000 place name, ``../shared/data/n1000/StedsnavnTekst.gpkg``)
  or ``coord:<lat>,<lon>@<url>`` (coordinates published on that page, e.g. an airport's reference point).
  ``stand_in = true`` marks an office whose own address was not sourced and that sits at its
  municipality's administrative centre instead.

Kept from OSM besides: points whose name says politistasjon, lensmannskontor/-distrikt, politipost
or politiets publikumssenter. Dropped by rule (listed in ``data/SOURCES.md``): units without a
public office (namsfogd, barnehus, dog unit, immigration units, national centres, border posts)
and unnamed points. Each location gets its municipality (2020-2023 numbers) by point-in-polygon.

Usage::

    python scripts/build_stations.py [--osm FILE] [--n1000 StedsnavnTekst.gpkg]
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.data import load_kommuner_geometry
from siting.data.stations import COLUMNS, check_distinct_offices
from siting.io import atomic_path
from siting.paths import DATA_DIR, shared_data_dir

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
KEEP = re.compile(r"politistasjon|lensmann|politipost|publikumssenter", re.IGNORECASE)


def station_type(name: str) -> str:
    low = name.lower()
    if "politistasjon" in low:
        return "politistasjon"
    if "lensmann" in low:
        return "lensmannskontor"
    return "politipost" if "politipost" in low else "other"


def slug(text: str) -> str:
    ascii_ = unicodedata.normalize(
        "NFKD", text.replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("Æ", "AE")
    )
    ascii_ = ascii_.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")


def _points(osm: gpd.GeoDataFrame, n1000: Path | None, refs: pd.Series) -> gpd.GeoDataFrame:
    """Resolve ``osm:<id>``, ``geonames:<id>``, ``n1000:<stedsnummer>``, ``coord:<lat>,<lon>@<url>`` to points (EPSG:4326)."""
    places = pd.read_csv(DATA_DIR / "places" / "places.csv")
    names = None
    out = []
    for ref in refs:
        kind, _, key = ref.partition(":")
        if kind == "osm":
            hit = osm[osm["osm_id"].astype(str) == key]
            pt, label = (hit.geometry.iloc[0], "OpenStreetMap object " + key) if len(hit) else (None, "")
        elif kind == "geonames":
            hit = places[places["place_id"].astype(str) == key]
            pt = gpd.points_from_xy(hit.lon, hit.lat)[0] if len(hit) else None
            label = f"GeoNames place {key} ({hit.name.iloc[0]})" if len(hit) else ""
        elif kind == "n1000":
            if n1000 is None:
                raise SystemExit(f"{ref}: pass --n1000 (Kartverket N1000 StedsnavnTekst.gpkg)")
            names = gpd.read_file(n1000) if names is None else names
            hit = names[names["stedsnummer"].astype(str) == key].to_crs(4326)
            pt = hit.geometry.iloc[0].interpolate(0.5, normalized=True) if len(hit) else None
            label = f"Kartverket N1000 place-name label {key} ({hit.fulltekst.iloc[0]})" if len(hit) else ""
        elif kind == "coord":
            latlon, _, url = key.partition("@")
            lat, lon = (float(v) for v in latlon.split(","))
            pt, label = gpd.points_from_xy([lon], [lat])[0], f"published coordinates {lat} N {lon} E ({url})"
        else:
            raise SystemExit(
                f"location {ref!r}: expected osm:<id>, geonames:<id>, n1000:<stedsnummer> or coord:<lat>,<lon>@<url>"
            )
        if pt is None:
            raise SystemExit(f"location {ref!r} not found in its source")
        out.append((pt, label))
    return gpd.GeoDataFrame({"location_source": [x[1] for x in out]}, geometry=[x[0] for x in out], crs=4326)


def build(osm_path: Path, n1000: Path | None) -> pd.DataFrame:
    osm = gpd.read_file(osm_path)
    osm["osm_id"] = osm["osm_id"].astype(str)
    fixes = pd.read_csv(SOURCES_DIR / "station_corrections.csv", dtype=str).fillna("")
    lists = pd.read_csv(SOURCES_DIR / "district_lists_2017.csv").set_index("politidistrikt")

    pts = osm[osm["name"].notna() & osm["name"].str.contains(KEEP)].copy()
    for f in fixes[fixes.action.isin(["drop", "merge", "set"])].itertuples():
        if f.osm_id not in set(pts.osm_id):
            raise SystemExit(f"correction {f.action} {f.osm_id}: no such kept OSM point")
    pts = pts[~pts.osm_id.isin(fixes.loc[fixes.action == "drop", "osm_id"])]
    pts = pts.assign(
        station_id="osm-" + pts.osm_id,
        name=pts["name"].str.strip(),
        location_source="OpenStreetMap object " + pts.osm_id + " (named)",
        location_quality="exact",
        stand_in=False,
        open_from="",
        closed_from="",
        confidence="",
        source="",
        note="",
    )
    pts["office"] = pts["name"]
    pts["type"] = pts["name"].map(station_type)
    by_osm = fixes[fixes.action.isin(["merge", "set"])].set_index("osm_id")
    for col in ("office", "name", "type", "open_from", "closed_from", "confidence", "source", "note"):
        over = pts.osm_id.map(by_osm[col]).fillna("")
        pts[col] = pts[col].where(over == "", over)
    pts["stand_in"] = pts.osm_id.map(by_osm["stand_in"]).eq("true")

    add = fixes[fixes.action == "add"].reset_index(drop=True)
    loc = _points(osm, n1000, add["location"])
    added = gpd.GeoDataFrame(
        add[
            [
                "office",
                "name",
                "type",
                "location_quality",
                "open_from",
                "closed_from",
                "confidence",
                "source",
                "note",
            ]
        ],
        geometry=loc.geometry,
        crs=4326,
    ).assign(
        station_id=add["location"]
        .str.replace(":", "-")
        .where(~add["location"].str.startswith("coord:"), "coord-" + add["office"].map(slug)),
        location_source=loc["location_source"]
        + add["location"].str.startswith("osm:").map({True: " (unnamed)", False: ""}),
        stand_in=add["stand_in"].eq("true"),
    )
    rows = pd.concat(
        [pts.drop(columns=["osm_id", "phone", "type_", "municipality"], errors="ignore"), added],
        ignore_index=True,
    )
    rows = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326).to_crs(25833)

    kommuner = load_kommuner_geometry()[["kommunenummer", "politidistrikt", "geometry"]]
    rows = gpd.sjoin_nearest(rows, kommuner, how="left", max_distance=2000).drop_duplicates("station_id")
    if rows["kommunenummer"].isna().any():
        raise SystemExit(
            f"locations outside every municipality: {list(rows[rows.kommunenummer.isna()].name)}"
        )
    district = rows["politidistrikt"]
    rows["source"] = rows["source"].where(rows["source"] != "", district.map(lists["source"]))
    rows["confidence"] = rows["confidence"].where(rows["confidence"] != "", district.map(lists["confidence"]))
    rows["office_id"] = rows["office"].map(slug)
    lonlat = rows.to_crs(4326).geometry
    rows["lon"], rows["lat"] = lonlat.x.round(7), lonlat.y.round(7)
    out = (
        pd.DataFrame(rows)[COLUMNS]
        .sort_values(["politidistrikt", "office_id", "station_id"])
        .reset_index(drop=True)
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = shared_data_dir()
    default = shared / "stations" / "osm_police_norway_2026.geojson" if shared else None
    n1000 = shared / "n1000" / "StedsnavnTekst.gpkg" if shared else None
    parser.add_argument("--osm", type=Path, default=default, required=default is None)
    parser.add_argument("--n1000", type=Path, default=n1000, help="Kartverket N1000 StedsnavnTekst.gpkg")
    parser.add_argument("--out", type=Path, default=DATA_DIR / "stations" / "stations.csv")
    args = parser.parse_args()
    df = build(args.osm, args.n1000)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326).to_crs(25833)
    check_distinct_offices(gdf, args.out)
    with atomic_path(args.out) as tmp:
        df.to_csv(tmp, index=False)
    base = df[df["open_from"].isna() | (df["open_from"] == "")]
    print(f"wrote {args.out}: {len(df)} locations of {df.office_id.nunique()} offices; "
          f"{base.office_id.nunique()} offices without an opening date (the 1 January 2022 structure)")  # fmt: skip


if __name__ == "__main__":
    main()
