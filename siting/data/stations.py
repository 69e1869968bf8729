"""Existing police offices (tjenestesteder): one row per location, offices by ``office_id``.

``data/stations/stations.csv`` holds the office structure of 1 January 2022 (the date of the
ministry's consultation letter) and the offices opened or closed since, with their dates; the
structure at a date is the filter ``load_stations(as_of=date)``. An office with two locations
(e.g. Grane og Hattfjelldal) has two rows with one ``office_id``: both points serve as fixed sites,
:func:`count_offices` counts it once.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting.errors import DataError
from siting.inputs import resolve
from siting.paths import DATA_DIR

from .districts import POLICE_DISTRICTS
from .validate import read_table, require_columns, require_in_norway, require_no_missing, require_unique

STATIONS_PATH = DATA_DIR / "stations" / "stations.csv"
COLUMNS = [
    "station_id", "office_id", "office", "name", "type", "kommunenummer", "politidistrikt", "lon", "lat",
    "location_quality", "location_source", "stand_in", "open_from", "closed_from", "confidence", "source", "note",
]  # fmt: skip
REQUIRED = ["station_id", "office_id", "name", "type", "kommunenummer", "politidistrikt", "lon", "lat",
            "location_quality", "confidence", "source"]  # fmt: skip
TYPES = ("politistasjon", "lensmannskontor", "politipost", "tjenestested", "other")
QUALITIES = ("exact", "locality")
CONFIDENCE = ("verified", "unverified")
#: The bundled baseline: the structure on the date of the ministry's letter (February 2022 uses the
#: structure at the start of the year, as the published lists do).
BASELINE_DATE = dt.date(2022, 1, 1)
#: Two locations of *different* offices closer than this are a data error (one office twice).
MIN_DISTINCT_M = 300.0
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def _period(value, path: Path, station: str, col: str) -> tuple[dt.date, dt.date] | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` → (first day, first day after) of that period."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return None
    m = _DATE.match(str(value).strip())
    if not m:
        raise DataError(
            f"station {station}: {col} {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD", path=path, field=col
        )
    y, mo, d = int(m[1]), m[2], m[3]
    try:
        if d:
            start = dt.date(y, int(mo), int(d))
            return start, start + dt.timedelta(days=1)
        if mo:
            start = dt.date(y, int(mo), 1)
            return start, dt.date(y + (start.month == 12), start.month % 12 + 1, 1)
        return dt.date(y, 1, 1), dt.date(y + 1, 1, 1)
    except ValueError:
        raise DataError(
            f"station {station}: {col} {value!r} is not a calendar date", path=path, field=col
        ) from None


def _reached(period: tuple[dt.date, dt.date] | None, day: dt.date, if_missing: bool) -> tuple[bool, bool]:
    """(has the dated event happened by ``day``, is that ambiguous). A month or a year counts as
    reached only once it is over; a day inside it is ambiguous."""
    if period is None:
        return if_missing, False
    start, end = period
    if end - start == dt.timedelta(days=1):
        return day >= start, False
    return day >= end, start <= day < end


def as_date(as_of) -> dt.date:
    """A date from a ``date``/``datetime``, an ISO string (``2025-01-01``) or a year (``2025`` → 1 January)."""
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    if isinstance(as_of, int | np.integer):
        return dt.date(int(as_of), 1, 1)
    m = _DATE.match(str(as_of).strip())
    if not m:
        raise DataError(f"date {as_of!r}: use YYYY-MM-DD (or a year for 1 January)", field="as_of")
    return dt.date(int(m[1]), int(m[2] or 1), int(m[3] or 1))


def open_on(df: pd.DataFrame, date, path: Path | None = None) -> pd.Series:
    """Boolean mask: locations open on ``date``.

    ``open_from``/``closed_from`` may be a day, a month or a year. A date inside such a period is
    ambiguous: the office then counts as not yet opened (not yet closed), and a warning names it.
    """
    day = as_date(date)
    path = path or STATIONS_PATH
    mask, unsure = [], []
    for r in df.itertuples():
        opened, u1 = _reached(
            _period(getattr(r, "open_from", ""), path, r.station_id, "open_from"), day, True
        )
        closed, u2 = _reached(
            _period(getattr(r, "closed_from", ""), path, r.station_id, "closed_from"), day, False
        )
        if u1 or u2:
            unsure.append(str(getattr(r, "name", r.station_id)))
        mask.append(opened and not closed)
    if unsure:
        warnings.warn(f"structure on {day}: opening/closing known only to the month or year for {', '.join(sorted(set(unsure)))};"
                      " counted as not yet opened / not yet closed", stacklevel=2)  # fmt: skip
    return pd.Series(mask, index=df.index, dtype=bool)


def check_distinct_offices(gdf: gpd.GeoDataFrame, path: Path, min_m: float = MIN_DISTINCT_M) -> None:
    """Raise :class:`DataError` if locations of two different offices open at a common date lie within ``min_m``."""
    if len(gdf) < 2:
        return
    xy = np.column_stack([gdf.geometry.x, gdf.geometry.y])
    for i, j in sorted(cKDTree(xy).query_pairs(min_m)):
        a, b = gdf.iloc[i], gdf.iloc[j]
        if a.office_id == b.office_id:
            continue
        oa, ob = (_period(x.get("open_from"), path, x.station_id, "open_from") for x in (a, b))
        ca, cb = (_period(x.get("closed_from"), path, x.station_id, "closed_from") for x in (a, b))
        start = max(oa[0] if oa else dt.date.min, ob[0] if ob else dt.date.min)
        end = min(ca[1] if ca else dt.date.max, cb[1] if cb else dt.date.max)
        if start < end:
            d = float(np.hypot(*(xy[i] - xy[j])))
            raise DataError(f"offices {a.office_id!r} and {b.office_id!r} lie {d:.0f} m apart (< {min_m:.0f} m): "
                            "the same office twice? merge them (one office_id) or drop one", path=path, field="office_id")  # fmt: skip


def load_stations(path: str | Path | None = None, as_of=BASELINE_DATE) -> gpd.GeoDataFrame:
    """Load the police office locations (EPSG:25833).

    Parameters
    ----------
    path : path, optional
        CSV with the columns of ``data/stations/stations.csv`` (``office_id``, ``open_from``,
        ``closed_from``, ``stand_in`` and ``note`` are optional in a user's file).
    as_of : date, str, int or None
        Keep the locations open on this date (default 1 January 2022, the structure of the
        ministry's letter). A ``datetime.date``, ``"YYYY-MM-DD"`` or a year (1 January of it).
        ``None`` keeps every row, including offices opened or closed later or earlier.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per location: ``station_id`` (unique), ``office_id`` (shared by the locations
        of one office), ``office``, ``name``, ``type``, ``kommunenummer``, ``politidistrikt``,
        ``location_quality``, ``location_source``, ``stand_in``, ``open_from``,
        ``closed_from``, ``confidence``, ``source``, ``note``, point ``geometry``.
        ``attrs["as_of"]`` is the date used (or None). Count offices with :func:`count_offices`.
    """
    p = resolve("stations", path).path
    df = read_table(p, "stations file", "restore it with `git checkout data/stations`",
                    dtype={"kommunenummer": str, "open_from": str, "closed_from": str})  # fmt: skip
    require_columns(df, REQUIRED, p)
    require_no_missing(df, REQUIRED, p)
    require_unique(df, "station_id", p)
    for col, default in (("office", None), ("open_from", ""), ("closed_from", ""), ("note", ""),
                         ("location_source", ""), ("stand_in", False)):  # fmt: skip
        if col not in df:
            df[col] = df["name"] if col == "office" else default
    df["office"] = df["office"].fillna(df["name"])
    for col in ("open_from", "closed_from", "note", "location_source"):
        df[col] = df[col].fillna("").astype(str)
    df["stand_in"] = df["stand_in"].astype(str).str.lower().isin(["true", "1", "yes"])
    for col, allowed in (("type", TYPES), ("location_quality", QUALITIES), ("politidistrikt", POLICE_DISTRICTS),
                         ("confidence", CONFIDENCE)):  # fmt: skip
        bad = df[~df[col].isin(allowed)]
        if len(bad):
            raise DataError(
                f"station {bad.station_id.iloc[0]}: {col} {bad[col].iloc[0]!r} not one of {', '.join(allowed)}",
                path=p,
                field=col,
            )
    df["kommunenummer"] = df["kommunenummer"].str.zfill(4)
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326
    )
    gdf = gdf.to_crs(25833)
    require_in_norway(gdf, p, "station_id")
    check_distinct_offices(gdf, p)
    day = None
    if as_of is not None:
        day = as_date(as_of)
        gdf = gdf[open_on(gdf, day, p).to_numpy()]
    gdf = gdf.reset_index(drop=True)
    gdf.attrs["as_of"] = day
    return gdf


def count_offices(stations: pd.DataFrame) -> int:
    """Number of offices (an office with several locations counts once)."""
    return int(stations["office_id"].nunique()) if "office_id" in stations else len(stations)


def office_summary(st: gpd.GeoDataFrame) -> dict:
    """Offices on a date: per police district, national total, and the unverified and stand-in rows.

    Returns
    -------
    dict
        ``date``, ``by_district`` (Series: district → office count), ``total``, ``locations``,
        ``unverified`` and ``stand_in`` (DataFrames of ``office``, ``politidistrikt``,
        ``kommunenummer``, ``note``).
    """
    by = st.groupby("politidistrikt")["office_id"].nunique().reindex(sorted(POLICE_DISTRICTS), fill_value=0)
    cols = ["office", "politidistrikt", "kommunenummer", "note"]
    one = st.drop_duplicates("office_id")
    return {
        "date": st.attrs["as_of"],
        "by_district": by,
        "total": count_offices(st),
        "locations": len(st),
        "unverified": one[one.confidence == "unverified"][cols].sort_values(["politidistrikt", "office"]),
        "stand_in": st[st.stand_in][cols].sort_values(["politidistrikt", "office"]),
    }


def format_office_summary(stations: gpd.GeoDataFrame, districts: bool = True) -> str:
    """Plain-text report for ``siting data info``: offices nationally (and per district unless
    ``districts`` is false) on the date of ``stations``, then the unverified offices and the
    offices placed at a stand-in location."""
    s = office_summary(stations)
    when = f"on {s['date']:%d %B %Y}" if s["date"] else "in the file (all dates)"
    lines = [f"Police offices {when}: {s['total']} ({s['locations']} locations; "
             "an office with two locations counts once)"]  # fmt: skip
    if districts:
        lines += [f"  {d:<16} {n:>4}" for d, n in s["by_district"].items()]
        lines.append(f"  {'Norway':<16} {s['total']:>4}")
    for key, title in (("unverified", "Unverified offices (only implied by a source; see the note)"),
                       ("stand_in", "Placed at a stand-in (their municipality's centre; own address not sourced)")):  # fmt: skip
        rows = s[key]
        lines.append(f"{title}: {len(rows)}")
        for d, g in rows.groupby("politidistrikt"):
            lines.append(f"  {d}: " + "; ".join(g["office"]))
    return "\n".join(lines)


def offices_opened(
    since=BASELINE_DATE, until=dt.date(2025, 1, 1), path: str | Path | None = None
) -> gpd.GeoDataFrame:
    """Locations of the offices open on ``until`` that were not open on ``since``.

    With the defaults: the 20 offices the government opened in 2022-2024 (Magnormoen, Mortensrud,
    Torp, Geiranger, ...) at their sourced positions; ``stand_in`` marks those placed at their
    municipality's centre because the office's own address was not sourced. For scoring the
    decided plan (``evaluate``) at the offices' real localities.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dates known only to the year are expected here
        before = load_stations(path, as_of=since)
        after = load_stations(path, as_of=until)
    return after[~after.office_id.isin(before.office_id)].reset_index(drop=True)
