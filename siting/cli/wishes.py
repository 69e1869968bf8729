"""``siting wishes extract|template|validate``."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("wishes", help="municipalities' consultation answers")
    s = p.add_subparsers(dest="wishes_command", metavar="SUBCOMMAND", required=True)
    e = s.add_parser("extract", help="read answer letters (txt, PDF, DOCX) into a review CSV")
    e.add_argument("letters", nargs="+", type=Path)
    e.add_argument("--out", type=Path, default=Path("wishes.csv"))
    e.add_argument("--force", action="store_true", help="overwrite an existing wishes CSV (only one with siting's columns)")
    e.set_defaults(func=extract)
    t = s.add_parser("template", help="a wishes CSV with all 356 municipalities to fill in")
    t.add_argument("--out", type=Path, default=Path("wishes-template.csv"))
    t.add_argument("--force", action="store_true", help="overwrite an existing wishes CSV (only one with siting's columns)")
    t.set_defaults(func=make_template)
    v = s.add_parser("validate", help="check a wishes CSV")
    v.add_argument("file", type=Path)
    v.set_defaults(func=validate)


def extract(args) -> int:
    import pandas as pd

    from siting.data import load_kommuner_geometry
    from siting.io import atomic_path, check_output_file, csv_with_header
    from siting.wishes import COLUMNS
    from siting.wishes.extract import extract_letter

    check_output_file(args.out, force=args.force, written_by=csv_with_header(COLUMNS), what="wishes CSV")  # a reviewed file is work
    k = load_kommuner_geometry()
    names = dict(zip(k.kommunenummer, k.name, strict=True))
    rows = [extract_letter(f, names).model_dump() for f in args.letters]
    with atomic_path(args.out) as tmp:
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp, index=False)
    for r in rows:
        print(f"{r['kommunenummer']} {r['kommune']}: wants office {r['wants_office']}, premises {r['offers_premises']}, "
              f"satisfied {r['satisfied']}, channels {r['contact_channels'] or '-'} (confidence {r['confidence']})")  # fmt: skip
    print(f"wrote {args.out} — review it (set reviewed = yes) before using it in a scenario")
    return 0


def make_template(args) -> int:
    from siting.data import load_kommuner_geometry
    from siting.io import atomic_path, check_output_file, csv_with_header
    from siting.wishes import COLUMNS, template

    check_output_file(args.out, force=args.force, written_by=csv_with_header(COLUMNS), what="wishes CSV")
    with atomic_path(args.out) as tmp:
        template(load_kommuner_geometry()).to_csv(tmp, index=False)
    print(f"wrote {args.out}")
    return 0


def validate(args) -> int:
    from siting.data import load_kommuner_geometry
    from siting.wishes import load_wishes

    w = load_wishes(args.file, kommuner=load_kommuner_geometry())
    print(f"{args.file}: ok, {len(w)} municipalities: " + ", ".join(f"{s} {n}" for s, n in w.status.value_counts().items())
          + "; evidence: " + ", ".join(f"{e} {n}" for e, n in w.evidence.value_counts().items())
          + "; every other municipality: no answer on file")  # fmt: skip
    return 0
