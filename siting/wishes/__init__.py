"""Municipalities' answers to the ministry's letter (Feb 2022): records, extraction, use in models.

* :func:`load_wishes` reads and validates a wishes CSV (one row per municipality).
* :func:`wish_status` gives each municipality's status for the models: ``asked_with_premises``,
  ``asked``, ``declined``, ``unclear`` or ``no answer``.
* :mod:`siting.wishes.extract` reads answer letters (text, PDF, DOCX) into review records.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from siting.errors import DataError

from .schema import COLUMNS, STATUSES, WishRecord

__all__ = ["COLUMNS", "STATUSES", "WishRecord", "load_wishes", "template", "wish_status"]


def load_wishes(path: str | Path, kommuner=None) -> pd.DataFrame:
    """Load a wishes CSV; every row is validated (one-line error naming file, line, field, allowed values).

    Parameters
    ----------
    path : path
        CSV with the columns of :data:`siting.wishes.schema.COLUMNS` (others are ignored).
    kommuner : GeoDataFrame, optional
        The 356 municipalities, to reject unknown municipality numbers.
    """
    p = Path(path)
    if not p.exists():
        raise DataError("wishes file not found; create one with `siting wishes template`", path=p)
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read wishes CSV ({str(exc).splitlines()[0]})", path=p) from None
    if "kommunenummer" not in df.columns:
        raise DataError("missing column kommunenummer", path=p)
    known = set(kommuner.kommunenummer) if kommuner is not None else None
    records = []
    for i, row in df.iterrows():
        data = {k: v for k, v in row.items() if v != ""}
        if "kommunenummer" in data:
            data["kommunenummer"] = data["kommunenummer"].zfill(4)
        try:
            rec = WishRecord.model_validate(data)
        except ValidationError as exc:
            e = exc.errors()[0]
            field = ".".join(str(x) for x in e["loc"])
            allowed = f" (allowed: {e['ctx']['expected']})" if "expected" in (e.get("ctx") or {}) else ""
            raise DataError(f"line {i + 2}: {e['msg']}{allowed}", path=p, field=field) from None
        if known is not None and rec.kommunenummer not in known:
            raise DataError(f"line {i + 2}: unknown municipality number {rec.kommunenummer} (2020-2023 numbers)",
                            path=p, field="kommunenummer")  # fmt: skip
        records.append(rec)
    out = pd.DataFrame([r.model_dump() for r in records], columns=COLUMNS)
    if out["kommunenummer"].duplicated().any():
        dup = out["kommunenummer"][out["kommunenummer"].duplicated()].iloc[0]
        raise DataError(f"municipality {dup} appears twice; one row per municipality", path=p, field="kommunenummer")
    out["status"] = [r.status() for r in records]
    return out


def wish_status(wishes: pd.DataFrame, kommunenummer) -> pd.Series:
    """Status per municipality number (``no answer`` where the file has no row)."""
    s = wishes.set_index("kommunenummer")["status"]
    idx = pd.Index(kommunenummer)
    return pd.Series(idx.map(s).fillna("no answer"), index=idx)


def template(kommuner) -> pd.DataFrame:
    """An empty wishes table with all 356 municipalities (answered = no) for users to fill in."""
    df = pd.DataFrame({c: "" for c in COLUMNS}, index=range(len(kommuner)))
    df["kommunenummer"] = kommuner.kommunenummer.to_numpy()
    df["kommune"] = kommuner.name.to_numpy()
    df["answered"] = "no"
    df["wants_office"] = "unclear"
    df["offers_premises"] = "unclear"
    df["satisfied"] = "unclear"
    df["confidence"] = "0"
    df["reviewed"] = "no"
    return df
