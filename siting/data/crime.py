"""Reported offences per municipality (SSB table 08487, two-year averages, by gjerningssted).

The bundled ``data/crime/offences_08487.csv`` (rebuilt by ``scripts/build_crime.py``) holds the
periods 2020-2021, 2021-2022 and 2022-2023 for the 356 municipalities of 2020–2023. Two quirks are
handled explicitly, never as zeros:

* **Suppressed** values (SSB publishes ``NA`` for 4 or fewer): the value is the interval
  ``[0, 4]``; the point value used in weights and metrics is its documented midpoint ``2.0`` and
  the municipality is flagged ``suppressed``.
* **No data**: a municipality absent from the table (Utsira 1151 in every period) is flagged
  ``no data``; its point value is NaN here. Users of the table (``siting.crime``) decide and
  document what a missing value means for a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from siting.errors import DataError
from siting.paths import DATA_DIR

from .validate import read_table, require_columns

CRIME_PATH = DATA_DIR / "crime" / "offences_08487.csv"
PERIODS = ("2020-2021", "2021-2022", "2022-2023")
#: The two-year average that matches the decision (letter Feb 2022, answers June 2022, population 1 Jan 2022).
DEFAULT_PERIOD = "2021-2022"
#: Offence groups of table 08487 (column names of the bundle); ``all`` is the column ``alt``.
GROUPS = {
    "all": "alt", "property_theft": "eiendomstyveri", "violence": "vold_mishandling", "drugs": "rusmidler",
    "public_order": "orden_integritet", "traffic": "trafikk", "other": "annet",
}  # fmt: skip
SUPPRESSED_MAX = 4.0
SUPPRESSED_MIDPOINT = SUPPRESSED_MAX / 2
FLAGS = ("value", "suppressed", "no data")


def load_offences(
    period: str = DEFAULT_PERIOD, group: str = "all", kommuner=None, path: str | Path | None = None
) -> pd.DataFrame:
    """Reported offences per municipality for one period and offence group.

    Parameters
    ----------
    period : str
        ``2020-2021``, ``2021-2022`` (default) or ``2022-2023`` (annual average over the two years).
    group : str
        One of :data:`GROUPS` (English key) or its Norwegian column name.
    kommuner : DataFrame, optional
        Municipalities (``kommunenummer``): the result has one row for each, in their order, and
        numbers outside it are an error.
    path : path, optional
        A CSV in the bundle's format (default: input ``crime``, resolved scenario > cache > bundle).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``kommunenummer``: ``offences`` (point value: the published number, the
        midpoint 2.0 when suppressed, NaN when there is no data), ``offences_low`` and
        ``offences_high`` (the interval), ``crime_flag`` (``value``/``suppressed``/``no data``).
        ``attrs``: ``period``, ``group``, ``national_total`` (SSB's national figure, which includes
        offences not placed in a municipality), ``suppressed`` and ``no_data`` (lists of
        ``"NNNN Name"``), ``source``.
    """
    from siting.inputs import resolve

    p = resolve("crime", path).path
    if period not in PERIODS:
        raise DataError(f"unknown crime period '{period}' (allowed: {', '.join(PERIODS)})", field="demand.offences.period")
    col = GROUPS.get(group, group)
    if col not in GROUPS.values():
        raise DataError(f"unknown offence group '{group}' (allowed: {', '.join(GROUPS)})", field="demand.offences.group")
    df = read_table(p, "crime table", "rebuild it with `python scripts/build_crime.py`",
                    dtype={"kommunenummer": str}, keep_default_na=False)  # fmt: skip
    require_columns(df, ["kommunenummer", "kommune", "period", col], p)
    df = df[df["period"] == period]
    if df.empty:
        raise DataError(f"no rows for period {period}", path=p, field="period")
    raw = df[col].astype(str).str.strip()
    suppressed = raw.isin(["NA", ""])
    values = pd.to_numeric(raw.where(~suppressed), errors="coerce")
    bad = values.isna() & ~suppressed
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise DataError(f"non-numeric value {raw.iloc[i]!r} for {df.kommune.iloc[i]}", path=p, field=col)
    if (values < 0).any():
        raise DataError("negative offence count", path=p, field=col)
    df = df.assign(kommunenummer=df["kommunenummer"].str.zfill(4), _v=values, _s=suppressed)
    national = df[df.kommunenummer == "0000"]
    df = df[df.kommunenummer != "0000"]
    if df.kommunenummer.duplicated().any():
        raise DataError(f"municipality {df.kommunenummer[df.kommunenummer.duplicated()].iloc[0]} twice in {period}", path=p)
    names = dict(zip(df.kommunenummer, df.kommune, strict=True))
    if kommuner is not None:
        known = pd.Index(kommuner["kommunenummer"])
        unknown = sorted(set(df.kommunenummer) - set(known))
        if unknown:
            raise DataError(f"unknown municipality numbers {unknown[:3]} (2020-2023 numbers expected)", path=p)
        names.update(dict(zip(kommuner["kommunenummer"], kommuner.get("name", kommuner["kommunenummer"]), strict=True)))
        df = df.set_index("kommunenummer").reindex(known)
    else:
        df = df.set_index("kommunenummer")
    s = df["_s"].fillna(False).astype(bool)
    missing = df["_v"].isna() & ~s
    out = pd.DataFrame(index=df.index)
    out["offences"] = np.where(s, SUPPRESSED_MIDPOINT, df["_v"])
    out["offences_low"] = np.where(s, 0.0, df["_v"])
    out["offences_high"] = np.where(s, SUPPRESSED_MAX, df["_v"])
    out["crime_flag"] = np.select([s, missing], ["suppressed", "no data"], "value")
    out.index.name = "kommunenummer"
    out.attrs = {
        "period": period, "group": next(k for k, v in GROUPS.items() if v == col), "column": col,
        "national_total": float(national["_v"].iloc[0]) if len(national) and national["_v"].notna().all() else None,
        "suppressed": [f"{k} {names.get(k, '')}".strip() for k in out.index[s]],
        "no_data": [f"{k} {names.get(k, '')}".strip() for k in out.index[missing]],
        "source": f"SSB table 08487 ({p.name}), {period}, group {col}; suppressed (≤ {SUPPRESSED_MAX:g}) → interval "
                  f"[0, {SUPPRESSED_MAX:g}], midpoint {SUPPRESSED_MIDPOINT:g}",
    }  # fmt: skip
    return out
