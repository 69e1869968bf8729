"""One TSPLIB p-median instance in this process: time, status, objective and bound vs the published optimum, peak memory.

    python benchmarks/bench_tsplib.py rl1304 100 [--time-limit 60] [--formulation auto]

Every city is a client of weight 1 and a candidate site; distances are floored Euclidean
(:mod:`siting.models.tsplib`). Prints one JSON line: wall and CPU seconds (the machine is shared:
CPU time is the steadier figure), the load average at the start, status, objective, bound, the
published optimum (``null`` where none was found) and peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from common import peak_rss_mb

from siting.models import PMedian
from siting.models.tsplib import OPTIMA, distances, read_tsp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("p", type=int)
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--formulation", default="auto")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    D = distances(read_tsp(Path(__file__).resolve().parent / "data" / f"{args.name}.tsp.gz"))
    t, cpu = time.perf_counter(), time.process_time()
    s = PMedian.from_cost_matrix(D, np.ones(len(D)), args.p, formulation=args.formulation).solve(time_limit=args.time_limit)
    print(json.dumps({"name": args.name, "n": len(D), "p": args.p, "seconds": round(time.perf_counter() - t, 2),
                      "cpu_seconds": round(time.process_time() - cpu, 2), "load_before": round(load, 1), "status": s.status,
                      "objective": s.objective, "bound": s.bound, "optimum": OPTIMA.get(args.name, {}).get(args.p),
                      "nodes": s.stats.get("nodes"), "radius_mip_nodes": s.stats.get("radius_mip_nodes"),
                      "radius_mip_largest": s.stats.get("radius_mip_largest"), "peak_mb": round(peak_rss_mb())}))  # fmt: skip


if __name__ == "__main__":
    main()
