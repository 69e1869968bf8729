"""``siting sweep SCENARIO --vary KEY=VALUES ... --out DIR``: a scenario under many assumptions."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a scenario over many parameter values: robust core, marginal curve, Pareto frontiers",
        description="Cartesian product of --vary values (or one run per row of --list). Runs sharing inputs, network "
        "and cutoff share one drive-time matrix, built once here and shipped to the workers.",
    )
    p.add_argument("scenario", help="base scenario file")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=VALUES",
                   help="a scenario field and its values: model.threshold_minutes=20,30,45; network.speed_factor=0.8,1,1.2; "
                        "new_offices=0..40:5 (inclusive range); model.objective_weights.time=0,0.001,0.01")  # fmt: skip
    p.add_argument("--list", dest="list_file", type=Path, help="CSV (header = keys) or YAML list of runs, added to the product")
    p.add_argument("--jobs", type=int, default=None, help="local worker processes (default: all cores; 1 = this process)")
    p.add_argument("--dask", metavar="ADDRESS", help="run on an existing dask.distributed scheduler, e.g. tcp://host:8786")
    p.add_argument("--out", type=Path, required=True, help="sweep folder to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing sweep folder")
    p.set_defaults(func=handle)


def handle(args) -> int:
    import json
    import logging

    import pandas as pd

    from siting.scenario import load_scenario
    from siting.sweep import expand, parse_vary, read_list, run_sweep

    base = load_scenario(args.scenario)
    axes = [parse_vary(v) for v in args.vary]
    rows = read_list(args.list_file) if args.list_file else None
    runs = expand(base, axes, rows)
    quiet = logging.getLogger().level > logging.INFO
    out = run_sweep(args.scenario, runs, args.out, jobs=args.jobs, dask=args.dask, force=args.force, progress=not quiet)
    meta = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    table = pd.read_csv(out / "runs.csv")
    print(f"{meta['runs']} runs on {meta['executor']} in {meta['seconds']:.0f} s; "
          f"{meta['matrix_groups']} drive-time matrix group(s), {meta['matrix_builds']} built (others from cache)")  # fmt: skip
    print(table["status"].value_counts().to_string())
    print(f"wrote {out}/ (runs.csv, sites.csv, frequency.csv, frequency_kommuner.csv, marginal.csv, timings.json, sweep.json)")
    return 0
