"""Validation helpers shared by the loaders: every problem is one :class:`DataError` line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from siting.errors import DataError

#: Bounding box of mainland Norway with its islands, EPSG:25833 (generous by ~20 km).
NORWAY_BOUNDS_25833 = (-100_000.0, 6_420_000.0, 1_140_000.0, 7_960_000.0)


def read_vector(path: Path, what: str, fix: str) -> gpd.GeoDataFrame:
    """Read a vector file or raise a one-line :class:`DataError` naming it and the fix."""
    if not path.exists():
        raise DataError(f"{what} not found; {fix}", path=path)
    try:
        return gpd.read_file(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError, OSError) as exc:
        raise DataError(f"cannot read {what} ({str(exc).splitlines()[0]}); {fix}", path=path) from None


def csv_dialect(path: Path) -> dict:
    """``sep`` and ``decimal`` of a CSV file from its header line: comma CSV, or the dialect Excel
    writes where the decimal mark is a comma (Norwegian Excel: ``;`` between fields, ``10,75``);
    tab-separated also works. A UTF-8 byte-order mark is skipped (read with ``utf-8-sig``)."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline(65536)
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    sep = max(counts, key=lambda s: (counts[s], s == ","))
    return {"sep": sep, "decimal": "," if sep == ";" else "."}


def read_table(path: Path, what: str, fix: str, **kwargs) -> pd.DataFrame:
    """Read a CSV file or raise a one-line :class:`DataError` naming it and the fix.

    Without ``sep``, the dialect is read from the header (:func:`csv_dialect`): a file saved by
    Norwegian Excel (``;``, decimal commas, UTF-8 with a byte-order mark) reads like a comma CSV.
    Text that is not UTF-8 (Excel's "CSV (semikolondelt)" in Windows-1252) is one line saying so.
    """
    if not path.exists():
        raise DataError(f"{what} not found; {fix}", path=path)
    if path.is_dir():
        raise DataError(f"is a folder, not a {what}; {fix}", path=path)
    kwargs.setdefault("encoding", "utf-8-sig")
    try:
        if "sep" not in kwargs:
            kwargs.update(csv_dialect(path))
        return pd.read_csv(path, **kwargs)
    except UnicodeDecodeError as exc:
        line = _line_of(path, exc.start)
        raise DataError(f"{what} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}); save it as UTF-8 "
                        "(Excel: Lagre som → «CSV UTF-8 (kommadelt)»)", path=path) from None  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise DataError(f"cannot read {what} ({str(exc).splitlines()[0]}); {fix}", path=path) from None


def _line_of(path: Path, offset: int) -> int:
    """1-based line of a byte offset in the decoded chunk pandas reported (approximate for big files)."""
    with open(path, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1


def require_columns(df: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        if len(df.columns) == 1 and len(missing) > 1:
            raise DataError(f"missing column(s) {', '.join(missing)}; found one column {str(df.columns[0])[:60]!r} (first line of "
                            "the file): separate the fields with ',' or ';'", path=path)  # fmt: skip
        found = ", ".join(repr(str(c)) for c in list(df.columns)[:8]) or "none"
        raise DataError(f"missing column(s) {', '.join(missing)}; found {found} (first line of the file); name the "
                        "columns as documented or rebuild the file", path=path)  # fmt: skip


def require_unique(df: pd.DataFrame, column: str, path: Path) -> None:
    dup = df[column][df[column].duplicated()]
    if len(dup):
        raise DataError(f"duplicate {column} {dup.iloc[0]!r}; ids must be unique", path=path, field=column)


def require_no_missing(df: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    for c in columns:
        if df[c].isna().any():
            row = int(df.index[df[c].isna()][0])
            raise DataError(f"row {row + 1}: empty {c}; fill it in", path=path, field=c)


def to_25833(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise DataError("no coordinate reference system; store EPSG:25833 or EPSG:4326", path=path)
    return gdf.to_crs(25833) if gdf.crs.to_epsg() != 25833 else gdf


def require_valid_geometry(gdf: gpd.GeoDataFrame, path: Path, id_col: str) -> None:
    bad = gdf[gdf.geometry.isna() | ~gdf.geometry.is_valid | gdf.geometry.is_empty]
    if len(bad):
        raise DataError(f"invalid or empty geometry for {id_col} {bad[id_col].iloc[0]!r}; repair it", path=path)


def require_in_norway(gdf: gpd.GeoDataFrame, path: Path, id_col: str) -> None:
    xmin, ymin, xmax, ymax = NORWAY_BOUNDS_25833
    b = gdf.geometry.bounds
    out = gdf[(b.minx < xmin) | (b.maxx > xmax) | (b.miny < ymin) | (b.maxy > ymax)]
    if len(out):
        raise DataError(
            f"{id_col} {out[id_col].iloc[0]!r} lies outside Norway; check its coordinates (lon/lat order?)",
            path=path,
        )
