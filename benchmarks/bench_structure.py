"""Issue 23: whole-structure runs and the memory of national runs, each `siting run` in a fresh process.

    python benchmarks/bench_structure.py                       # every case below
    python benchmarks/bench_structure.py greenfield-2km pmedian-250m-cold
    python benchmarks/bench_structure.py pmedian-250m-cold --code /path/to/other/checkout   # the same case on other code

Cases (national data; cold = an empty cache, so the drive-time matrix is built too):

* ``greenfield-2km``      scenarios/greenfield-2022.yaml (222 locations, p-median, 2 km, efficiency: + MCLP) — target 600 s, 4 GiB
* ``relocate-2km``        scenarios/relocate-10.yaml (up to 10 of today's move, 20 more) — 2 km
* ``greenfield-mclp-2km`` / ``greenfield-pcenter-2km``  the greenfield structure with model mclp / pcenter
* ``greenfield-250m``     the greenfield p-median at 250 m demand — target 8 GiB
* ``pmedian-250m-cold``   scenarios/min-average-time.yaml at 250 m, today's offices fixed, map off — target 30 s, 2 GiB

Per case one JSON line: wall seconds, peak RSS of the run's process (its own ``ru_maxrss``), status,
objective, bound, gap, the stage timings and, for structure runs, kept / moved / added and the
efficiency. The machine's load average is printed before and after: on a shared machine timings are
comparable only within one run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

RUNNER = ("import resource, sys\nfrom siting.cli import main\ncode = main(sys.argv[2:])\n"
          "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))\nsys.exit(code)\n")  # fmt: skip

#: name → (scenario file, changes, seconds target, memory target in GiB)
CASES = {
    "greenfield-2km": ("greenfield-2022", {}, 600, 4),
    "relocate-2km": ("relocate-10", {}, 600, 4),
    "greenfield-mclp-2km": ("greenfield-2022", {"model": {"type": "mclp", "threshold_minutes": 30}}, 600, 4),
    "greenfield-pcenter-2km": ("greenfield-2022", {"model": {"type": "pcenter", "threshold_minutes": 30}}, 600, 4),
    "greenfield-250m": ("greenfield-2022", {"demand": {"cell_size_m": 250}, "solver": {"time_limit": 3600}}, None, 8),
    "pmedian-250m-cold": ("min-average-time", {"demand": {"cell_size_m": 250}}, 30, 2),
}


def scenario_file(name: str, changes: dict, folder: Path) -> Path:
    data = yaml.safe_load((ROOT / "scenarios" / f"{name}.yaml").read_text(encoding="utf-8"))
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    data.setdefault("outputs", {})["map"] = False
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run_case(case: str, code: Path) -> dict:
    name, changes, target_s, target_gb = CASES[case]
    with tempfile.TemporaryDirectory(prefix="bench-structure-") as tmp:
        tmp = Path(tmp)
        sc = scenario_file(name, changes, tmp)
        env = {**os.environ, "PYTHONPATH": str(code), "SITING_CACHE_DIR": str(tmp / "cache")}  # cold: an empty cache
        rss = tmp / "rss"
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", RUNNER, str(rss), "-q", "run", str(sc), "--out", str(tmp / "run")], env=env,
                           capture_output=True, text=True, cwd=code)  # fmt: skip
        wall = time.perf_counter() - t
        out = {"case": case, "code": str(code), "wall_s": round(wall, 1), "target_s": target_s, "target_gib": target_gb,
               "exit": r.returncode}  # fmt: skip
        if rss.exists():
            out["peak_rss_mb"] = round(int(rss.read_text()) / 2**20)
        if r.returncode:
            out["error"] = r.stderr.strip().splitlines()[-1:] if r.stderr.strip() else []
            return out
        man = json.loads((tmp / "run" / "manifest.json").read_text(encoding="utf-8"))
        met = json.loads((tmp / "run" / "metrics.json").read_text(encoding="utf-8"))
        out.update(status=man["status"], objective=man["objective"], bound=man["bound"], gap=man["gap"], model=man["model"],
                   demand_points=man["demand_points"], timings=man["timings_s"])  # fmt: skip
        s = met.get("structure")
        if s:
            out["structure"] = {k: s[k] for k in ("structure_locations", "kept", "moved", "added")}
            if "efficiency" in s:
                e = s["efficiency"]
                out["efficiency"] = {"coverage": e["coverage_efficiency"], "mean_time": e["mean_time_efficiency"],
                                     "today_share": e["today"]["share_within_T"], "best_share": e["optimum_coverage"]["share_within_T"],
                                     "today_mean": e["today"]["mean_time"], "best_mean": e["optimum_time"]["mean_time"],
                                     "optimum_status": e["optimum_status"], "kept": e["today_locations_kept"]}  # fmt: skip
        stats = man.get("model_stats", {})
        out["model_stats"] = {k: v for k, v in stats.items() if isinstance(v, int | float | str) and k != "objective"}
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*", default=list(CASES), choices=[*CASES, []])
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose siting to run (default: this one)")
    args = ap.parse_args()
    print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
    for case in args.cases or list(CASES):
        print(json.dumps(run_case(case, args.code.resolve()), ensure_ascii=False, default=str), flush=True)
    print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
