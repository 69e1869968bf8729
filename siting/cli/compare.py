"""``siting compare RUN...``: scenarios side by side (terminal table, CSV, Markdown, PNG plots)."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare run folders: table, CSV, Markdown and plots")
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", type=Path, default=Path("runs/comparison"))
    p.add_argument("--lang", choices=("nb", "en"), help="language of the plots and comparison.md (default: the first run's, nb)")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from siting.compare import write_comparison

    table = write_comparison(args.runs, args.out, args.lang)
    t = Table(title="Scenario comparison (after; shares of population)")
    for c in table.columns:
        t.add_column(c)
    for row in table.itertuples(index=False):
        t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    Console(width=200).print(t)
    print(f"wrote {args.out}/comparison.csv, comparison.md, cumulative.png, districts.png")
    return 0
