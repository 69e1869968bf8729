"""End-to-end benchmark of national scenarios (cold and warm cache), stage by stage.

    python benchmarks/bench_run.py [scenario ...]   (default: max-coverage-30 min-average-time)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import need_national_data, peak_rss_mb

from siting.paths import SCENARIO_DIR
from siting.run import run_scenario


def main() -> None:
    need_national_data()
    names = sys.argv[1:] or ["max-coverage-30", "min-average-time"]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SITING_CACHE_DIR"] = str(Path(tmp) / "cache")
        for name in names:
            for label in ("cold", "warm"):
                t = time.perf_counter()
                out = run_scenario(SCENARIO_DIR / f"{name}.yaml", Path(tmp) / f"{name}-{label}", copy_map=False)
                wall = time.perf_counter() - t
                man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
                stages = ", ".join(f"{k} {v:.1f}" for k, v in man["timings_s"].items() if k != "total")
                print(f"{name:<18s} {label}: {wall:6.1f} s  status {man['status']}  peak RSS {peak_rss_mb():.0f} MB")
                print(f"    stages (s): {stages}")


if __name__ == "__main__":
    main()
