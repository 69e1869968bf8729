"""Populated places: GeoNames ``cities500`` for Norway (CC BY 4.0), with their municipality."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from siting.inputs import resolve
from siting.paths import DATA_DIR

from .validate import read_table, require_columns, require_in_norway, require_no_missing, require_unique

PLACES_PATH = DATA_DIR / "places" / "places.csv"
COLUMNS = ["place_id", "name", "population", "kommunenummer", "lon", "lat"]


def load_places(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Load the GeoNames populated places (EPSG:25833).

    Returns
    -------
    geopandas.GeoDataFrame
        ``place_id``, ``name``, ``population``, ``kommunenummer``, point ``geometry``.
    """
    p = resolve("places", path).path
    df = read_table(p, "places file", "rebuild it with scripts/build_places.py", dtype={"kommunenummer": str})
    require_columns(df, COLUMNS, p)
    require_no_missing(df, COLUMNS, p)
    require_unique(df, "place_id", p)
    df["kommunenummer"] = df["kommunenummer"].str.zfill(4)
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326
    ).to_crs(25833)
    require_in_norway(gdf, p, "place_id")
    return gdf
