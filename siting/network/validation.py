"""Drive times checked against independent references (``siting network check``).

The bundled table ``data/validation/drive_times.csv`` (rebuilt by ``scripts/build_validation.py``,
sources in ``data/SOURCES.md``) holds sourced drive times between places: route-planner readouts,
Statens vegvesen's measured free-flow times, travel guides, encyclopaedia and news pages, and
ferry crossings. :func:`drive_time_ratios` computes the tool's time for every pair on a network
(point to point, access included, exactly as a run does) and the ratio tool / reference;
:func:`summarize` reports the distribution per group. See ``docs/network.md`` for the figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from siting.data.validate import read_table, require_no_missing, require_unique
from siting.errors import DataError
from siting.inputs import resolve

__all__ = ["COLUMNS", "KINDS", "drive_time_ratios", "load_drive_times", "split_halves", "summarize", "validate_table"]

#: Columns every validation table must have.
COLUMNS = ("id", "from", "to", "from_lon", "from_lat", "to_lon", "to_lat", "reference_minutes", "kind", "ferry", "source")
#: What kind of reference a row is.
KINDS = ("route planner", "measured", "timetable", "guide", "encyclopedia", "news")
#: Short trips: the band of the "within 30 minutes" headline.
SHORT_MINUTES = 45.0
#: A ratio within ±15 % counts as agreeing.
TOLERANCE = 0.15
#: Longitude/latitude box around Norway (generous).
_LON, _LAT = (3.0, 32.0), (57.5, 71.5)


def validate_table(df: pd.DataFrame, path: Path | str) -> None:
    """Check a drive-time table; raise one :class:`DataError` line naming the row, field and fix."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}; a drive-time table needs {', '.join(COLUMNS)}", path=path)
    require_no_missing(df, COLUMNS, Path(path))
    require_unique(df, "id", Path(path))

    def bad(mask, field: str, fix: str):
        if mask.any():
            row = df.loc[mask].iloc[0]
            raise DataError(f"row {row['id']}: {field} {row[field]} {fix}", path=path, field=field)

    for col in ("from_lon", "from_lat", "to_lon", "to_lat", "reference_minutes"):
        num = pd.to_numeric(df[col], errors="coerce")
        bad(num.isna(), col, "is not a number")
    for side in ("from", "to"):
        lon, lat = df[f"{side}_lon"].astype(float), df[f"{side}_lat"].astype(float)
        bad(~lon.between(*_LON), f"{side}_lon", "lies outside Norway; check the lon/lat order")
        bad(~lat.between(*_LAT), f"{side}_lat", "lies outside Norway; check the lon/lat order")
    bad(~(df["reference_minutes"].astype(float) > 0), "reference_minutes", "must be positive minutes")
    bad(~df["kind"].isin(KINDS), "kind", f"is not one of: {', '.join(KINDS)}")
    bad(~df["ferry"].isin(("yes", "no")), "ferry", "must be yes or no")
    bad(~df["source"].astype(str).str.match(r"https?://"), "source", "must be one URL (http or https)")


def load_drive_times(path: str | Path | None = None) -> pd.DataFrame:
    """Load and validate a drive-time table (default: the bundled ``validation/drive_times.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per pair with at least :data:`COLUMNS`; coordinates in EPSG:4326.
    """
    p = resolve("drive_times", path).path
    fix = "check the --file path" if path is not None else "rebuild it with scripts/build_validation.py"
    df = read_table(p, "drive-time table", fix, dtype={"id": str})
    validate_table(df, p)
    return df


def _pair_times(graph, table: pd.DataFrame) -> np.ndarray:
    """Minutes on ``graph`` from every row's ``from`` to its ``to`` (NaN beyond four times the reference + 2 h)."""
    from siting.traveltime import travel_time_matrix

    to_xy = Transformer.from_crs(4326, 25833, always_xy=True)
    a = np.column_stack(to_xy.transform(table["from_lon"].to_numpy(float), table["from_lat"].to_numpy(float)))
    b = np.column_stack(to_xy.transform(table["to_lon"].to_numpy(float), table["to_lat"].to_numpy(float)))
    ref = table["reference_minutes"].to_numpy(float)
    m = travel_time_matrix(graph, b, a, cutoff=4 * ref + 120).tocoo()
    diag = m.row == m.col
    tool = np.full(len(table), np.nan)
    tool[m.row[diag]] = m.data[diag]  # a stored 0.0 is a valid time
    return tool


def drive_time_ratios(graph, table: pd.DataFrame, sailing_graph=None) -> pd.DataFrame:
    """The tool's drive time for every pair of ``table`` and its ratio to the reference.

    Times run on ``graph`` from ``from`` to ``to`` with :func:`siting.traveltime.travel_time_matrix`
    (one search per distinct origin; off-network access at both ends included). A published
    crossing or drive time across a ferry leaves out the wait at the quay; with ``sailing_graph``
    (the same network with every ferry wait 0) ferry rows are compared on that like quantity, and
    their time with the expected waits is kept in ``tool_minutes_with_wait``.

    Returns
    -------
    pandas.DataFrame
        ``table``'s rows with ``tool_minutes`` (NaN if unreachable within four times the reference
        plus two hours), ``ratio`` (tool / reference) and ``group`` (``road <45``, ``road ≥45``,
        ``ferry``; road rows by their reference time).
    """
    ref = table["reference_minutes"].to_numpy(float)
    tool = _pair_times(graph, table)
    out = table.copy()
    ferry = out["ferry"].eq("yes").to_numpy()
    if sailing_graph is not None and ferry.any():
        out["tool_minutes_with_wait"] = np.where(ferry, tool, np.nan)
        tool = np.where(ferry, _pair_times(sailing_graph, table), tool)
    out["tool_minutes"] = tool
    out["ratio"] = tool / ref
    out["group"] = np.where(ferry, "ferry", np.where(ref < SHORT_MINUTES, "road <45", "road ≥45"))
    return out


def _stats(ratio: pd.Series) -> dict:
    r = ratio.dropna().to_numpy(float)
    if not len(r):
        return {"n": 0, "unreachable": int(ratio.isna().sum())}
    return {
        "n": int(len(r)),
        "median": round(float(np.median(r)), 2),
        "p10": round(float(np.percentile(r, 10)), 2),
        "p90": round(float(np.percentile(r, 90)), 2),
        "within_15pct": round(float(np.mean(np.abs(r - 1) <= TOLERANCE + 1e-9)), 2),  # 0.85 counts as within
        "unreachable": int(ratio.isna().sum()),
    }


def summarize(ratios: pd.DataFrame) -> dict:
    """Median, 10th–90th percentile and share within ±15 % of the ratios, overall and per group.

    Returns
    -------
    dict
        ``{"all": {...}, "road": {...}, "road <45": {...}, "road ≥45": {...}, "ferry": {...},
        "kind": {kind: {...}}}``; each entry has ``n``, ``median``, ``p10``, ``p90``,
        ``within_15pct`` (share of rows) and ``unreachable``.
    """
    out = {"all": _stats(ratios["ratio"]), "road": _stats(ratios.loc[ratios["ferry"] == "no", "ratio"])}
    for g in ("road <45", "road ≥45", "ferry"):
        out[g] = _stats(ratios.loc[ratios["group"] == g, "ratio"])
    out["kind"] = {k: _stats(ratios.loc[ratios["kind"] == k, "ratio"]) for k in KINDS if (ratios["kind"] == k).any()}
    return out


def split_halves(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fixed calibration split: rows sorted by ``id``, alternate rows (1st, 3rd, …: fit; 2nd, 4th, …: test)."""
    t = table.sort_values("id").reset_index(drop=True)
    return t.iloc[0::2], t.iloc[1::2]
