"""Rebuild ``data/population/ssb_grid_250m_2022.npz`` from SSB's 250 m population grid (NLOD 2.0, Statistisk sentralbyrå).

Input: SSB "Befolkning på rutenett 250 m", 1 January 2022, ``NOR0250M_POP_2022.csv``
(``SSBID0250M;pop_tot``; published on Geonorge/ssb.no); by default the identical reference copy
``../shared/data/ssb/NOR0250M_POP_2022.csv``. The bundle keeps both columns unchanged, in the
published row order: ``cell_id`` (int64 SSB cell id; lower-left corner x = id // 10⁷ − 2 000 000,
y = id % 10⁷ in EPSG:25833) and ``pop`` (uint16 residents; SSB's censoring, 1-9 published as 5,
is kept and corrected at run time by ``siting.demand``).

Usage::

    python scripts/build_population_grid.py [--grid NOR0250M_POP_2022.csv] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from siting.demand import GRID_FORMAT
from siting.io import atomic_path
from siting.paths import DATA_DIR, shared_data_dir


def build(grid: Path) -> dict[str, np.ndarray]:
    df = pd.read_csv(grid, sep=";")
    if list(df.columns) != ["SSBID0250M", "pop_tot"]:
        raise SystemExit(f"{grid}: expected columns SSBID0250M;pop_tot, got {';'.join(df.columns)}")
    pop = df["pop_tot"].to_numpy()
    if pop.min() < 0 or pop.max() > np.iinfo(np.uint16).max:
        raise SystemExit(f"{grid}: pop_tot outside 0..65535")
    return {
        "format": np.array(GRID_FORMAT),
        "cell_size_m": np.array(250),
        "cell_id": df["SSBID0250M"].to_numpy(np.int64),
        "pop": pop.astype(np.uint16),
    }


def main() -> None:
    shared = shared_data_dir()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=Path, default=shared / "ssb" / "NOR0250M_POP_2022.csv" if shared else None,
                        required=shared is None, help="SSB grid CSV (default ../shared/data/ssb/NOR0250M_POP_2022.csv)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DATA_DIR / "population" / "ssb_grid_250m_2022.npz")
    args = parser.parse_args()
    arrays = build(args.grid)
    with atomic_path(args.out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    print(f"wrote {args.out}: {len(arrays['cell_id']):,} cells, {int(arrays['pop'].sum()):,} (censored) residents")


if __name__ == "__main__":
    main()
