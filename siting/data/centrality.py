"""SSB's centrality index (sentralitetsindeks), 2020 edition, for the 356 municipalities of 2020–2023.

The index (0–1000, Oslo = 1000) measures how many workplaces and service functions the residents of
a municipality reach by car within 90 minutes (SSB Notater 2020/4, "Sentralitetsindeksen.
Oppdatering med 2020-kommuner"). SSB groups it into six classes, 1 (most central) to 6 (least
central): SSB classification 128, "Klassifisering av kommuner etter sentralitet", version 2020. The
class boundaries are SSB's published intervals (:data:`CLASS_INTERVALS`); the bundle's classes agree
with them for every municipality, and the loader checks that they still do.

The bundled ``data/kommuner/sentralitet_2020.csv`` is rebuilt by ``scripts/build_centrality.py``
(source and cross-checks in ``data/SOURCES.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from siting.errors import DataError

from .validate import read_table, require_columns

#: SSB's intervals of the index for each class (inclusive; the index is an integer).
CLASS_INTERVALS = {1: (925, 1000), 2: (870, 924), 3: (775, 869), 4: (670, 774), 5: (565, 669), 6: (0, 564)}
#: Number of municipalities in the 2020–2023 structure.
N_MUNICIPALITIES = 356
COLUMNS = ["kommunenummer", "centrality_index", "centrality_class"]
FIX = "restore it with `git checkout data/kommuner` or rebuild with scripts/build_centrality.py"
SOURCE = ("SSB sentralitetsindeks 2020 (Notater 2020/4; classification 128, version 2020), "
          "NLOD Statistisk sentralbyrå")  # fmt: skip


def centrality_class(index) -> np.ndarray:
    """SSB's class 1–6 for index values 0–1000 (:data:`CLASS_INTERVALS`)."""
    lower = [CLASS_INTERVALS[c][0] for c in (5, 4, 3, 2, 1)]  # 565, 670, 775, 870, 925
    return 6 - np.searchsorted(lower, np.asarray(index), side="right")


def load_centrality(path: str | Path | None = None, kommuner=None) -> pd.DataFrame:
    """The centrality index and class of each municipality.

    Parameters
    ----------
    path : path, optional
        A CSV in the bundle's format (``kommunenummer``, ``centrality_index``, ``centrality_class``;
        other columns are ignored). Default: input ``centrality``, resolved scenario > cache > bundle.
    kommuner : DataFrame, optional
        Municipalities (``kommunenummer``): the file must have exactly their numbers.

    Returns
    -------
    pandas.DataFrame
        One row per municipality, sorted by ``kommunenummer`` (4-character string):
        ``centrality_index`` (int, 0–1000) and ``centrality_class`` (int, 1 most central … 6 least).
        ``attrs["source"]`` names the file and the edition.

    Raises
    ------
    siting.errors.DataError
        One line naming the file and the field when the file is missing or fails validation:
        not 356 rows, a number twice or not 4 digits, an index outside 0–1000 or not an integer, a
        class outside 1–6 or not the class SSB's intervals give for the index.
    """
    from siting.inputs import resolve

    p = resolve("centrality", path).path
    df = read_table(p, "centrality table", FIX, dtype={"kommunenummer": str}, keep_default_na=False)
    require_columns(df, COLUMNS, p)
    df = df[COLUMNS].copy()
    numbers = df["kommunenummer"].str.strip()
    bad = ~numbers.str.fullmatch(r"\d{4}")
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(f"row {i + 1}: {numbers.iloc[i]!r} is not a 4-digit municipality number; {FIX}",
                        path=p, field="kommunenummer")  # fmt: skip
    df["kommunenummer"] = numbers
    dup = df["kommunenummer"][df["kommunenummer"].duplicated()]
    if len(dup):
        raise DataError(f"municipality {dup.iloc[0]} appears twice; {FIX}", path=p, field="kommunenummer")
    if len(df) != N_MUNICIPALITIES:
        raise DataError(f"{len(df)} municipalities, expected {N_MUNICIPALITIES} (the 2020–2023 structure); {FIX}",
                        path=p, field="kommunenummer")  # fmt: skip
    for col, lo, hi in (("centrality_index", 0, 1000), ("centrality_class", 1, 6)):
        raw = df[col].astype(str).str.strip()
        ok = raw.str.fullmatch(r"\d+")
        values = pd.to_numeric(raw.where(ok), errors="coerce")
        bad = ~ok | (values < lo) | (values > hi)
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(f"municipality {df.kommunenummer.iloc[i]}: {raw.iloc[i]!r} is not an integer {lo}–{hi}; {FIX}",
                            path=p, field=col)  # fmt: skip
        df[col] = values.astype(int)
    expected = centrality_class(df["centrality_index"])
    wrong = df["centrality_class"].to_numpy() != expected
    if wrong.any():
        i = int(wrong.nonzero()[0][0])
        r = df.iloc[i]
        raise DataError(f"municipality {r.kommunenummer}: class {r.centrality_class} but index {r.centrality_index} "
                        f"is class {expected[i]} in SSB's intervals; {FIX}", path=p, field="centrality_class")  # fmt: skip
    if kommuner is not None:
        known = set(kommuner["kommunenummer"])
        other = sorted(set(df.kommunenummer) ^ known)
        if other:
            raise DataError(f"municipality numbers differ from the municipalities in use: {other[:3]}; {FIX}",
                            path=p, field="kommunenummer")  # fmt: skip
    out = df.sort_values("kommunenummer").reset_index(drop=True)
    out.attrs["source"] = f"{SOURCE} ({p.name})"
    return out
