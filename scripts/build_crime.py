"""Rebuild ``data/crime/offences_08487.csv`` from SSB table 08487 (NLOD 2.0, "Statistisk sentralbyrå").

Input: the copy of table 08487 cleaned to one structure by NRK's Samarbeidsdesken (public repository
chrilur/lovbrudd, file ``anmeldt_20-24.csv``; here ``../shared/data/crime/
anmeldt_lovbrudd_kommune_2020-2024.csv``): reported offences by the municipality where they
happened (gjerningssted), two-year averages, all offences and six groups.

Output: the periods whose municipality numbers follow the 2020–2023 structure (``2020-2021``,
``2021-2022``, ``2022-2023``), one row per municipality and period, plus one ``0000 Norge`` row per
period (the national total, which includes offences not placed in any municipality).

* Oslo's number comes as ``301`` (leading zero lost) → ``0301``; every number is written with 4 digits.
* ``NA`` (SSB suppression: 4 or fewer) is kept as ``NA`` — never turned into 0.
* Municipalities absent from the table (Utsira 1151 in every period) are not invented; the loader
  (``siting.data.crime``) flags them as "no data".

Usage::

    python scripts/build_crime.py [--src FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from siting.data import load_kommuner_geometry
from siting.io import atomic_path
from siting.paths import DATA_DIR, shared_data_dir

PERIODS = ("2020-2021", "2021-2022", "2022-2023")  # the 2023-2024 period uses the 2024 numbers
GROUPS = ("alt", "eiendomstyveri", "vold_mishandling", "rusmidler", "orden_integritet", "trafikk", "annet")
OUT = DATA_DIR / "crime" / "offences_08487.csv"


def build(src: Path) -> pd.DataFrame:
    df = pd.read_csv(src, dtype={"g_komnr": "string"}, keep_default_na=True)
    df = df[df["år"].isin(PERIODS)].copy()
    national = df["navn"].eq("Norge") & df["g_komnr"].isna()
    df.loc[national, "g_komnr"] = "0"
    df["kommunenummer"] = df["g_komnr"].str.replace(r"\.0$", "", regex=True).str.zfill(4)
    df["kommune"] = df["gjerningssted"].str.replace(r"^\d+\s+", "", regex=True).str.replace(r"\s*\(2020-2023\)$", "", regex=True)
    df.loc[national, "kommune"] = "Norge"
    known = set(load_kommuner_geometry().kommunenummer)
    bad = sorted(set(df.kommunenummer[~national]) - known)
    if bad:
        raise SystemExit(f"municipality numbers not in the 2020-2023 structure: {bad}")
    out = df.rename(columns={"år": "period"})[["kommunenummer", "kommune", "period", *GROUPS]]
    out = out.sort_values(["period", "kommunenummer"]).reset_index(drop=True)
    for g in GROUPS:
        out[g] = out[g].astype("Int64")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = shared_data_dir()
    parser.add_argument("--src", type=Path, default=shared / "crime" / "anmeldt_lovbrudd_kommune_2020-2024.csv" if shared else None)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.src is None:
        raise SystemExit("give --src (SSB 08487 as in chrilur/lovbrudd anmeldt_20-24.csv)")
    out = build(args.src)
    with atomic_path(args.out) as tmp:
        out.to_csv(tmp, index=False, na_rep="NA")
    per = out[out.kommunenummer != "0000"].groupby("period")
    print(f"wrote {args.out}: " + ", ".join(f"{p} {len(g)} municipalities" for p, g in per))


if __name__ == "__main__":
    main()
