"""``siting map RUN [--compare RUN2]``: (re)draw the HTML map of a run, or one map comparing two runs."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("map", help="draw the HTML map of a run folder (or compare two runs)")
    p.add_argument("run")
    p.add_argument("--compare", metavar="RUN2", help="second run folder: one map comparing plan RUN (A) with plan RUN2 (B)")
    p.add_argument("--out", help="HTML file (default RUN/map.html or RUN/compare-<RUN2>.html)")
    p.add_argument("--force", action="store_true", help="overwrite an existing map (only a page siting wrote)")
    p.add_argument("--lang", choices=("nb", "en"), help="page language (default: the run's, nb)")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from siting.errors import reading_folders
    from siting.io import check_output_file, html_by_siting
    from siting.maps import compare_map, map_from_run, write_map

    run = Path(args.run)
    out = Path(args.out) if args.out else run / (f"compare-{Path(args.compare).name}.html" if args.compare else "map.html")
    check_output_file(out, force=args.force, written_by=html_by_siting, what="map")  # before any work
    with reading_folders([run, *([args.compare] if args.compare else [])]):
        m = compare_map(run, args.compare, lang=args.lang) if args.compare else map_from_run(run, lang=args.lang)
    write_map(m, out)
    print(f"wrote {out}")
    return 0
