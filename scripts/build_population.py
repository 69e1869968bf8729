"""Rebuild ``data/population/ssb_07459_2022.csv`` from SSB table 07459 (NLOD 2.0, Statistisk sentralbyrå).

Input: SSB StatBank table 07459 "Population, by region, age, contents and year", 1 January 2022,
municipality × single-year age, as downloaded from https://www.ssb.no/statbank/table/07459
(CSV, latin-1, ``;``, two title lines, region like ``K-3001 Halden``); by default the identical
reference copy ``../shared/data/ssb/Personer2022.csv``. Sums over age; drops region codes with
no inhabitants that year (codes of merged municipalities). Checks 356 municipalities and the
official national total 5 425 270.

Usage::

    python scripts/build_population.py [--table Personer2022.csv] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from siting.data.population import NATIONAL_TOTAL_2022
from siting.io import atomic_path
from siting.paths import DATA_DIR, shared_data_dir


def build(table: Path) -> pd.DataFrame:
    df = pd.read_csv(table, sep=";", encoding="latin-1", skiprows=2)
    value = next(c for c in df.columns if c.lower().startswith(("persons", "personer")))
    region = df["region"].str.extract(r"^K-(\d{4}) (.+)$")
    df = df.assign(kommunenummer=region[0], name=region[1]).dropna(subset=["kommunenummer"])
    out = df.groupby(["kommunenummer", "name"], as_index=False, sort=True)[value].sum()
    out = out.rename(columns={value: "population"})
    out = out[out["population"] > 0].reset_index(drop=True)
    if len(out) != 356 or out["population"].sum() != NATIONAL_TOTAL_2022:
        raise SystemExit(f"{table}: expected 356 municipalities and {NATIONAL_TOTAL_2022:,} people, "
                         f"got {len(out)} and {out['population'].sum():,}")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = shared_data_dir()
    parser.add_argument("--table", type=Path, default=shared / "ssb" / "Personer2022.csv" if shared else None, required=shared is None, help="SSB 07459 CSV (default ../shared/data/ssb/Personer2022.csv)")
    parser.add_argument("--out", type=Path, default=DATA_DIR / "population" / "ssb_07459_2022.csv")
    args = parser.parse_args()
    df = build(args.table)
    with atomic_path(args.out) as tmp:
        df.to_csv(tmp, index=False)
    print(f"wrote {args.out}: {len(df)} municipalities, {df.population.sum():,} people")


if __name__ == "__main__":
    main()
