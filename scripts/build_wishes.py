"""Rebuild ``data/wishes/``: the municipal positions on a new police office, and the template.

* ``wishes.csv`` — one row per municipality with a *sourced* position (16 rows):

  - the answer letters we hold (``../shared/seeds``; pass ``--letters``), extracted with
    ``siting.wishes.extract`` and checked by a person: Elverum (30 May 2022, formal answer);
  - the 15 positions of ``../shared/data/wishes/municipal-positions-2022.md`` (pass ``--positions``),
    each with its public source URL, date and evidence strength (:data:`EVIDENCE_BY_KOMMUNE`,
    classified by hand from the document's "evidence strength" column).

  No position is imputed for any other municipality: they stay "no answer on file".
* ``template.csv`` — all 356 municipalities, unanswered, for users to fill in.

Usage::

    python scripts/build_wishes.py [--letters DIR] [--positions FILE]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

from siting.data import load_kommuner_geometry
from siting.io import atomic_path
from siting.paths import DATA_DIR, shared_data_dir
from siting.wishes import COLUMNS, template
from siting.wishes.extract import extract_letter
from siting.wishes.schema import WishRecord

#: Letters that are municipalities' answers (file name in the seeds folder), reviewed by hand.
ANSWER_LETTERS = ["004_ac97c43636cddae3.txt"]  # Elverum kommune, 30.05.2022
#: No public URL of the Elverum letter is known; its text is the project's source document (seeds/README.md).
ELVERUM_SOURCE = "answer letter of Elverum kommune, 30.05.2022, ref. 2022001040-3 (../shared/seeds/004_ac97c43636cddae3.txt)"

#: (evidence, date) per municipality number, read by hand from the document's "evidence strength"
#: and "date" columns. A formal answer counted by Politiforum from the answers is a formal answer;
#: the answer's content told by the police or a news phone round is a reported answer; a mayor's or
#: council's position is a statement; a position deduced from the office being granted later is
#: inferred after the fact.
EVIDENCE_BY_KOMMUNE = {
    "3046": ("formal answer", "2022"),  # Krødsherad: counted by Politiforum from the answers
    "5417": ("reported answer", "2022-11-15"),  # Salangen: answers reported by the police station chief
    "1547": ("statement", "2022-04-25"),  # Aukra: mayor, formannskap 25 Apr 2022, before the formal answer
    "1514": ("statement", "2022-08"),  # Sande: mayor's position in the hearing's context
    "3807": ("formal answer", "2022"),  # Skien: formal answer quoted, no office request seen
    "4643": ("reported answer", "2022-11"),  # Årdal: NRK phone round, not the formal answer
    "4637": ("reported answer", "2022-11"),  # Hyllestad: same NRK phone round
    "3443": ("statement", "2022-12"),  # Vestre Toten: formannskap statement
    "5034": ("statement", "2022"),  # Meråker: local politics, outcome not seen
    "3425": ("inferred after the fact", "2023-01"),  # Engerdal
    "1525": ("inferred after the fact", "2023-01"),  # Stranda (Geiranger)
    "3045": ("inferred after the fact", "2023-01"),  # Sigdal
    "3011": ("inferred after the fact", "2023-06"),  # Hvaler
    "3042": ("inferred after the fact", "2023-08"),  # Hemsedal
    "4227": ("inferred after the fact", "2024"),  # Kvinesdal
}


def parse_positions(path: Path) -> list[dict]:
    """The municipality table of municipal-positions-2022.md as wishes records."""
    rows, last_url = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or not re.fullmatch(r"\d{4}", cells[1]):
            continue
        name, knr, position, premises, date_text, strength, source = cells
        url = source if source.startswith("http") else last_url  # "same NRK page"
        last_url = url
        wants = position.split()[0].strip("(,")
        if wants not in ("yes", "no", "unclear"):
            raise SystemExit(f"{knr} {name}: cannot read position {position!r}")
        evidence, date = EVIDENCE_BY_KOMMUNE[knr]
        formal = evidence in ("formal answer", "reported answer")
        rows.append({
            "kommunenummer": knr, "kommune": re.sub(r"\s*\(.*\)$", "", name),
            "answered": "yes" if formal else "unknown", "wants_office": wants,
            "offers_premises": "unclear",  # no source states premises offered in a 2022 answer
            "premises_where": "" if premises == "not stated" else premises,
            "evidence_wants_office": f"{position}; evidence: {strength}; date: {date_text}",
            "date": date, "source_url": url, "evidence": evidence, "reviewed": "yes",
            "source_document": "../shared/data/wishes/municipal-positions-2022.md",
        })  # fmt: skip
    missing = set(EVIDENCE_BY_KOMMUNE) - {r["kommunenummer"] for r in rows}
    if missing:
        raise SystemExit(f"positions not found in {path}: {sorted(missing)}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = shared_data_dir()
    parser.add_argument("--letters", type=Path, default=shared.parent / "seeds" if shared else None)
    parser.add_argument("--positions", type=Path, default=shared / "wishes" / "municipal-positions-2022.md" if shared else None)
    args = parser.parse_args()
    k = load_kommuner_geometry()
    names = dict(zip(k.kommunenummer, k.name, strict=True))
    rows = []
    for name in ANSWER_LETTERS:
        rec = extract_letter(args.letters / name, names).model_dump()
        rec.update(reviewed="yes", evidence="formal answer", source_document=ELVERUM_SOURCE)
        rows.append(rec)
    rows += parse_positions(args.positions)
    for r in rows:  # every row must pass the schema and name a real municipality
        WishRecord.model_validate(r)
        if names[r["kommunenummer"]] != r["kommune"]:
            raise SystemExit(f"{r['kommunenummer']}: name {r['kommune']!r} is not {names[r['kommunenummer']]!r}")
    df = pd.DataFrame(rows, columns=COLUMNS).sort_values("kommunenummer")
    with atomic_path(DATA_DIR / "wishes" / "wishes.csv") as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(DATA_DIR / "wishes" / "template.csv") as tmp:
        template(k).to_csv(tmp, index=False)
    print(f"wrote data/wishes/wishes.csv ({len(df)} municipalities) and data/wishes/template.csv ({len(k)} municipalities)")


if __name__ == "__main__":
    main()
