"""Existing police offices (tjenestesteder): politistasjoner, lensmannskontor and other offices."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.errors import DataError
from siting.inputs import resolve
from siting.paths import DATA_DIR

from .districts import POLICE_DISTRICTS
from .validate import read_table, require_columns, require_in_norway, require_no_missing, require_unique

STATIONS_PATH = DATA_DIR / "stations" / "stations.csv"
COLUMNS = ["station_id", "name", "type", "kommunenummer", "politidistrikt", "lon", "lat", "location_quality", "source"]
TYPES = ("politistasjon", "lensmannskontor", "other")
QUALITIES = ("exact", "locality")
#: The bundled baseline: the structure before the ministry's letter of February 2022.
BASELINE_YEAR = 2022


def load_stations(path: str | Path | None = None, as_of: int | None = BASELINE_YEAR) -> gpd.GeoDataFrame:
    """Load the police offices (EPSG:25833).

    Parameters
    ----------
    path : path, optional
        CSV with the columns of ``data/stations/stations.csv``.
    as_of : int or None
        Keep offices open at the start of this year: ``opened`` missing or before ``as_of`` (an
        office opened in ``as_of`` itself is excluded, the baseline is January), ``closed``
        missing or later. ``None`` keeps every row.

    Returns
    -------
    geopandas.GeoDataFrame
        ``station_id``, ``name``, ``type``, ``kommunenummer``, ``politidistrikt``,
        ``location_quality``, ``source``, ``opened``, ``closed``, point ``geometry``.
    """
    p = resolve("stations", path).path
    df = read_table(p, "stations file", "restore it with `git checkout data/stations`", dtype={"kommunenummer": str})
    require_columns(df, COLUMNS, p)
    require_no_missing(df, COLUMNS, p)
    require_unique(df, "station_id", p)
    for col, allowed in (("type", TYPES), ("location_quality", QUALITIES), ("politidistrikt", POLICE_DISTRICTS)):
        bad = df[~df[col].isin(allowed)]
        if len(bad):
            raise DataError(
                f"station {bad.station_id.iloc[0]}: {col} {bad[col].iloc[0]!r} not one of {', '.join(allowed)}",
                path=p,
                field=col,
            )
    for col in ("opened", "closed"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64") if col in df else pd.NA
    df["kommunenummer"] = df["kommunenummer"].str.zfill(4)
    if as_of is not None:
        open_ = (df["opened"].isna() | (df["opened"] < as_of)) & (df["closed"].isna() | (df["closed"] >= as_of))
        df = df[open_.fillna(False).astype(bool)]
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)
    gdf = gdf.to_crs(25833).reset_index(drop=True)
    require_in_norway(gdf, p, "station_id")
    return gdf
