"""One OR-Library p-median instance in this process: time, status, objective vs the published optimum, peak memory.

    python benchmarks/bench_pmed.py 36 [--time-limit 120] [--formulation auto]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import peak_rss_mb

from siting.models import PMedian
from siting.models.orlib import OPTIMA, read_pmed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("k", type=int)
    ap.add_argument("--time-limit", type=float, default=120)
    ap.add_argument("--formulation", default="auto")
    args = ap.parse_args()
    D, p = read_pmed(Path(__file__).resolve().parent / "data" / f"pmed{args.k}.txt.gz")
    t = time.perf_counter()
    s = PMedian.from_cost_matrix(D, np.ones(len(D)), p, formulation=args.formulation).solve(time_limit=args.time_limit)
    print(json.dumps({"name": f"pmed{args.k}", "n": len(D), "p": p, "seconds": time.perf_counter() - t, "status": s.status,
                      "objective": s.objective, "bound": s.bound, "optimum": OPTIMA[f"pmed{args.k}"],
                      "formulation": s.stats.get("formulation"), "nodes": s.stats.get("nodes"), "peak_mb": peak_rss_mb()}))  # fmt: skip


if __name__ == "__main__":
    main()
