"""National targets of issue 17: 250 m demand, the default candidates (and a ≥ 5 000 set), the existing
offices fixed, p = 20, proven optimal, warm matrix cache; MCLP, p-median, p-center, each in a fresh
process (its own peak memory).

    python benchmarks/bench_national.py [--cell 250] [--dedup 1000 500] [--models mclp pmedian pcenter]

Prints one line per (candidate set, model): wall time of the model stage (matrix from the warm cache),
status, objective, bound, gap and peak RSS of that process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scenario(model: str, cell: float, dedup: float, time_limit: float = 600):
    from siting.scenario import Scenario

    return Scenario.model_validate({
        "name": f"bench-{model}", "new_offices": 20, "model": {"type": model, "threshold_minutes": 30},
        "demand": {"cell_size_m": cell}, "candidates": {"dedup_distance_m": dedup},
        "solver": {"name": "highs", "time_limit": time_limit},
    })  # fmt: skip


def one(model: str, cell: float, dedup: float) -> dict:
    """Run in this process: inputs, network, matrix (warm cache), then the timed model stage."""
    from common import peak_rss_mb

    from siting import pipeline as pl

    sc = scenario(model, cell, dedup)
    t = time.perf_counter()
    inputs = pl.load_inputs(sc)
    network = pl.load_network_stage(sc)
    tm = pl.drive_time_matrix(network, inputs, sc.network.cutoff_minutes)
    prep = time.perf_counter() - t
    problem = pl.build_problem(sc, inputs)
    t = time.perf_counter()
    sol = pl.solve_model(sc, problem, tm)
    secs = time.perf_counter() - t
    return {"model": model, "cell": cell, "dedup": dedup, "demand": len(inputs.demand), "sites": len(inputs.sites),
            "fixed": int(inputs.fixed.sum()), "pairs": int(tm.cost.nnz), "matrix": tm.cache, "prep_s": round(prep, 1),
            "model_s": round(secs, 2), "status": sol.status, "objective": sol.objective, "bound": sol.bound, "gap": sol.gap,
            "peak_rss_mb": round(peak_rss_mb()), "stats": {k: v for k, v in sol.stats.items() if not isinstance(v, list | dict)}}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cell", type=float, default=250)
    ap.add_argument("--dedup", type=float, nargs="+", default=[1000, 500])
    ap.add_argument("--models", nargs="+", default=["mclp", "pmedian", "pcenter"])
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.models[0], args.cell, args.dedup[0])))
        return
    rows = []
    for dedup in args.dedup:
        for model in args.models:
            cmd = [sys.executable, str(HERE / "bench_national.py"), "--one", "--models", model, "--cell", str(args.cell),
                   "--dedup", str(dedup)]  # fmt: skip
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
            if r.returncode:
                print(r.stderr[-2000:])
                continue
            row = json.loads(r.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
