"""Municipalities' answers to the ministry's letter (Feb 2022): records, extraction, use in models.

* :func:`load_wishes` reads and validates a wishes CSV (one row per municipality).
* :func:`wish_status` gives each municipality's status for the models: ``asked_with_premises``,
  ``asked``, ``declined``, ``unclear`` or ``no answer on file`` (never read as "no").
* :func:`counts_for` tells which records are strong enough (their ``evidence``) for a use.
* :data:`NATIONAL_AGGREGATES`: what the ~220 answers said nationally (the file holds a sample).
* :mod:`siting.wishes.extract` reads answer letters (text, PDF, DOCX) into review records.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from siting.data.validate import read_table
from siting.errors import DataError

from .schema import COLUMNS, EVIDENCE, REQUIRED_COLUMNS, STATUSES, WishRecord

__all__ = [
    "COLUMNS", "EVIDENCE", "NATIONAL_AGGREGATES", "STATUSES", "WishRecord", "counts_for", "load_wishes", "template",
    "wish_status",
]  # fmt: skip

#: National aggregates of the answers to the letter of 23 Feb 2022 (sources in data/wishes/README.md).
#: Only the municipalities in the wishes file have a known position; these totals are not per municipality.
NATIONAL_AGGREGATES = {
    "answers_received": 220,
    "want_office": 33,
    "want_office_regional_councils": 1,
    "do_not_want_office": 133,
    "unclear": 43,
    "municipalities": 356,
    "sources": [
        "Politiforum 2022, '33 kommuner vil ha nytt tjenestested' https://www.politiforum.no/33-kommuner-vil-ha-nytt-tjenestested/228601",
        "NRK Vestland Nov 2022 (133 no, 32 yes) https://www.nrk.no/vestland/133-kommunar-vil-ikkje-ha-eige-politikontor-1.16188213",
        "TV 2 Aug 2022 (220 answers) https://www.tv2.no/nyheter/innenriks/trosser-justisministeren-vil-sla-sammen-politikontorer/15028079/",
    ],
    "note": "33 municipalities and 1 regional political council want an office (for 3 one was already planned), "
            "133 do not, 43 answers are hard to interpret; about 220 answers from 356 municipalities",
}  # fmt: skip


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
    df = read_table(p, "wishes CSV", "create one with `siting wishes template`", dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        import difflib

        near = difflib.get_close_matches(missing[0], [str(c) for c in df.columns], n=1, cutoff=0.6)
        hint = f" (found '{near[0]}': misspelled?)" if near else ""
        raise DataError(f"missing required column '{missing[0]}'{hint}; required: {', '.join(REQUIRED_COLUMNS)} "
                        "(`siting wishes template` writes every column)", path=p)  # fmt: skip
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
    """Status per municipality number (``no answer on file`` where the file has no row)."""
    s = wishes.set_index("kommunenummer")["status"]
    idx = pd.Index(kommunenummer)
    return pd.Series(idx.map(s).fillna("no answer on file"), index=idx)


def counts_for(wishes: pd.DataFrame, kommunenummer, min_evidence: str) -> pd.Series:
    """Per municipality number: True where its record's ``evidence`` is ``min_evidence`` or stronger
    (order: :data:`EVIDENCE`); False where it is weaker or there is no record."""
    if min_evidence not in EVIDENCE:
        raise DataError(f"unknown evidence level '{min_evidence}' (allowed: {', '.join(EVIDENCE)})")
    rank = wishes.set_index("kommunenummer")["evidence"].map(EVIDENCE.index)
    idx = pd.Index(kommunenummer)
    return pd.Series(idx.map(rank).fillna(len(EVIDENCE)).to_numpy() <= EVIDENCE.index(min_evidence), index=idx)


def template(kommuner) -> pd.DataFrame:
    """An empty wishes table with all 356 municipalities (answered = no: status "no answer on file")
    for users to fill in."""
    df = pd.DataFrame({c: "" for c in COLUMNS}, index=range(len(kommuner)))
    df["kommunenummer"] = kommuner.kommunenummer.to_numpy()
    df["kommune"] = kommuner.name.to_numpy()
    df["answered"] = "no"
    df["wants_office"] = "unclear"
    df["offers_premises"] = "unclear"
    df["satisfied"] = "unclear"
    df["confidence"] = "0"
    df["evidence"] = "formal answer"
    df["reviewed"] = "no"
    return df
