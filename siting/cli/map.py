"""``siting map RUN [--compare RUN2]``: (re)draw the HTML map of a run, or one map comparing two runs."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("map", help="draw the HTML map of a run folder (or compare two runs)")
    p.add_argument("run")
    p.add_argument("--compare", metavar="RUN2", help="second run folder: one map comparing plan RUN (A) with plan RUN2 (B)")
    p.add_argument("--out", help="HTML file (default RUN/map.html or RUN/compare-<RUN2>.html)")
    p.add_argument("--lang", choices=("nb", "en"), help="page language (default: the run's, nb)")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from siting.maps import compare_map, map_from_run, write_map

    run = Path(args.run)
    if args.compare:
        m = compare_map(run, args.compare, lang=args.lang)
        out = Path(args.out) if args.out else run / f"compare-{Path(args.compare).name}.html"
    else:
        m = map_from_run(run, lang=args.lang)
        out = Path(args.out) if args.out else run / "map.html"
    write_map(m, out)
    print(f"wrote {out}")
    return 0
