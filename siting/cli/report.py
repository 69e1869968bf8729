"""``siting report RUN_OR_SWEEP... --out report.html``: one self-contained page for a decision-maker."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("report", help="one self-contained HTML page from run and sweep folders (headline, maps, "
                       "marginal curve, robust core, plan efficiency, assumptions)")  # fmt: skip
    p.add_argument("sources", nargs="+", help="run folders (siting run) and/or sweep folders (siting sweep)")
    p.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file to write (default report.html)")
    p.add_argument("--title", help="page title")
    p.add_argument("--force", action="store_true", help="overwrite an existing report (only a page siting wrote)")
    p.add_argument("--lang", choices=("nb", "en"), help="page language (default: the first run's, nb)")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from siting.errors import reading_folders
    from siting.io import check_output_file, html_by_siting
    from siting.report import map_folder, write_report

    check_output_file(args.out, force=args.force, written_by=html_by_siting, what="report")  # before any work
    with reading_folders(args.sources):
        out = write_report(args.sources, args.out, args.title, args.lang)
    maps = map_folder(out)
    extra = f"; interactive maps in {maps}/ (keep the folder beside the page)" if maps.exists() else ""
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, self-contained{extra})")
    return 0
