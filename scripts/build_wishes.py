"""Rebuild ``data/wishes/``: the real consultation answers transcribed so far, and the template.

* ``wishes.csv`` — one row per municipality whose answer letter we have. Each row is extracted
  from the letter with ``siting.wishes.extract`` and then checked by a person (``reviewed = yes``);
  the letters are the public documents in ``../shared/seeds`` (pass ``--letters``).
* ``template.csv`` — all 356 municipalities, unanswered, for users to fill in.

Usage::

    python scripts/build_wishes.py [--letters DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from siting.data import load_kommuner_geometry
from siting.io import atomic_path
from siting.paths import DATA_DIR, shared_data_dir
from siting.wishes import COLUMNS, template
from siting.wishes.extract import extract_letter

#: Letters that are municipalities' answers (file name in the seeds folder), reviewed by hand.
ANSWER_LETTERS = ["004_ac97c43636cddae3.txt"]  # Elverum kommune, 30.05.2022


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = shared_data_dir()
    parser.add_argument("--letters", type=Path, default=shared.parent / "seeds" if shared else None)
    args = parser.parse_args()
    k = load_kommuner_geometry()
    names = dict(zip(k.kommunenummer, k.name, strict=True))
    rows = []
    for name in ANSWER_LETTERS:
        rec = extract_letter(args.letters / name, names).model_dump()
        rec["reviewed"] = "yes"
        rows.append(rec)
    with atomic_path(DATA_DIR / "wishes" / "wishes.csv") as tmp:
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp, index=False)
    with atomic_path(DATA_DIR / "wishes" / "template.csv") as tmp:
        template(k).to_csv(tmp, index=False)
    print(f"wrote data/wishes/wishes.csv ({len(rows)} answers) and data/wishes/template.csv ({len(k)} municipalities)")


if __name__ == "__main__":
    main()
