"""``siting compare RUN...``: scenarios side by side (terminal table, CSV, Markdown, PNG plots)."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare run folders: table, CSV, Markdown and plots")
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", type=Path, default=Path("runs/comparison"))
    p.add_argument("--force", action="store_true", help="overwrite an existing comparison folder (only one siting wrote)")
    p.add_argument("--lang", choices=("nb", "en"), help="language of the plots and comparison.md (default: the first run's, nb)")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from siting.compare import difference_lines, display_table, write_comparison
    from siting.errors import reading_folders

    with reading_folders(args.runs):
        write_comparison(args.runs, args.out, args.lang, force=args.force)
        shown, fmt = display_table(args.runs, args.lang)
    t = Table(title="siting compare")
    for c in shown.columns:
        t.add_column(c)
    for row in shown.itertuples(index=False):
        t.add_row(*[str(fmt[c](v)) if c in fmt else str(v) for c, v in zip(shown.columns, row, strict=True)])
    Console(width=240).print(t)
    for line in difference_lines(args.runs, args.lang):
        print(line)
    print(f"wrote {args.out}/comparison.csv, comparison.md, cumulative.png, districts.png")
    return 0
