"""All performance benchmarks of issue 17 side by side, as one table.

    python benchmarks/run_all.py --quick     # ≤ 2 min: matrix engines, MCLP/p-median vs spopt, formulations, pmed35/36, rl1304 p=5/10/100
    python benchmarks/run_all.py             # + national 250 m targets, 100-run sweep, OR-Library pmed35–40, rl1304 p=5…500, fl1400

Columns: instance, this project (s), the reference and its time (s), ratio (reference ÷ ours), and the
equality check (max |Δ time| for matrices, equal objective for models). References: the previous engine
of this project (batched Dijkstra on the full graph), networkx, igraph and pandana (optional: ``pip install
pandana igraph``; timed on a sample of sources and scaled), PySAL spopt (``pip install -e ".[bench]"``) and
the classical assignment p-median. Needs ``../shared/data`` (or ``SITING_SHARED_DATA``). The machine's
load average is printed with the table: timings on a shared machine are only comparable within one run.
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

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import demand_points, national_graph  # noqa: E402

ROWS: list[tuple] = []


def row(instance, ours, ref_name, ref, check):
    ratio = f"{ref / ours:.1f}x" if ours and ref and np.isfinite(ref) else "—"
    ROWS.append((instance, f"{ours:.2f}" if ours is not None else "—", ref_name, f"{ref:.2f}" if ref is not None else "—", ratio, check))
    print(f"  {instance} | {ROWS[-1][1]} s | {ref_name} {ROWS[-1][3]} s | {ratio} | {check}", flush=True)


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


# ------------------------------------------------------------------------------------------- matrices
def legacy_matrix(graph, demand_xy, facility_xy, cutoff=90.0, batch=64):
    """The previous engine: batched csgraph Dijkstra on the full graph, dense gather per batch."""
    from scipy.sparse.csgraph import dijkstra

    from siting import traveltime as tt

    d, f = tt.snap(graph, demand_xy), tt.snap(graph, facility_xy)
    src, inverse = np.unique(f.node, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(0, len(src) + batch, batch))
    rows, cols, vals = [], [], []
    for b, start in enumerate(range(0, len(src), batch)):
        dist = dijkstra(graph.matrix, directed=True, indices=src[start : start + batch], limit=cutoff)
        fac = order[bounds[b] : bounds[b + 1]]
        t = dist[inverse[fac] - start][:, d.node] + f.access_minutes[fac, None] + d.access_minutes[None, :]
        fi, di = np.nonzero(t <= cutoff)
        rows.append(di), cols.append(fac[fi]), vals.append(t[fi, di])
    return sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(demand_xy), len(facility_xy)))


def _node_times_check(graph, m, demand, fac, sample, times_of, cutoff):
    """Compare our matrix with a reference's node-to-node times on a sample of facilities: max |Δ| over
    pairs both keep, and the number of pairs only one of them keeps (within ``cutoff``)."""
    from siting import traveltime as tt

    d, f = tt.snap(graph, demand), tt.snap(graph, fac)
    mc = m.tocsc()
    worst, differ = 0.0, 0
    for j in sample:
        ref = times_of(int(f.node[j]), d.node) + f.access_minutes[j] + d.access_minutes
        ref[ref > cutoff] = np.inf
        col = np.full(len(demand), np.inf)
        col[mc.indices[mc.indptr[j] : mc.indptr[j + 1]]] = mc.data[mc.indptr[j] : mc.indptr[j + 1]]
        both = np.isfinite(ref) & np.isfinite(col)
        worst = max(worst, float(np.abs(ref[both] - col[both]).max(initial=0.0)))
        differ += int((np.isfinite(ref) != np.isfinite(col)).sum())
    return f"max |Δ| {worst:.1e} min, {differ} pairs kept by one only"


def bench_matrix(graph, grid, n_demand, n_fac, cutoff=90.0, n_sample=20):
    from siting import traveltime as tt

    pts, _ = demand_points(grid, n_demand + n_fac, seed=1)
    demand, fac = pts[:n_demand], pts[n_demand:]
    tt._contraction(graph)  # built once per graph (0.1 s), cached like the graph itself
    tt.snap(graph, demand)
    name = f"matrix {n_fac:,} x {n_demand:,} national N1000, {cutoff:g} min"
    m, ours = timed(tt.travel_time_matrix, graph, demand, fac, cutoff)
    old, t_old = timed(legacy_matrix, graph, demand, fac, cutoff)
    same = (old.astype(bool) != m.astype(bool)).nnz == 0
    row(name, ours, "previous engine", t_old, f"same pairs: {same}, max |Δ| {abs(old - m).max():.1e} min")
    sample = np.linspace(0, n_fac - 1, n_sample).astype(int)
    import networkx as nx

    G = nx.from_scipy_sparse_array(graph.matrix, create_using=nx.DiGraph)
    f = tt.snap(graph, fac)
    t = time.perf_counter()
    res = {int(f.node[j]): nx.single_source_dijkstra_path_length(G, int(f.node[j]), cutoff=cutoff) for j in sample}
    t_nx = (time.perf_counter() - t) * n_fac / len(sample)
    worst = _node_times_check(graph, m, demand, fac, sample, lambda s, nodes: np.array([res[s].get(int(n), np.inf) for n in nodes]), cutoff)
    row(name, ours, "networkx (scaled)", t_nx, worst)
    try:
        import igraph as ig
    except ImportError:
        row(name, ours, "igraph", None, "not installed")
    else:
        c = graph.matrix.tocoo()
        g = ig.Graph(n=graph.n_nodes, edges=list(zip(c.row.tolist(), c.col.tolist(), strict=True)), directed=True)
        g.es["w"] = c.data.tolist()
        d_nodes = np.unique(tt.snap(graph, demand).node)
        t = time.perf_counter()
        res = {int(f.node[j]): np.asarray(g.distances(source=int(f.node[j]), target=d_nodes.tolist(), weights="w")[0]) for j in sample}
        t_ig = (time.perf_counter() - t) * n_fac / len(sample)
        pos = {int(n): k for k, n in enumerate(d_nodes)}
        worst = _node_times_check(graph, m, demand, fac, sample, lambda s, nodes: res[s][[pos[int(n)] for n in nodes]], cutoff)
        row(name, ours, "igraph (scaled)", t_ig, worst)
    try:
        import pandana
        import pandas as pd
    except ImportError:
        row(name, ours, "pandana", None, "not installed")
    else:
        c = graph.matrix.tocoo()
        nodes = pd.DataFrame({"x": graph.node_xy[:, 0], "y": graph.node_xy[:, 1]})
        edges = pd.DataFrame({"from": c.row, "to": c.col, "minutes": c.data})
        t = time.perf_counter()
        net = pandana.Network(nodes.x, nodes.y, edges["from"], edges["to"], edges[["minutes"]], twoway=False)
        t_build = time.perf_counter() - t
        d_nodes = tt.snap(graph, demand).node
        t = time.perf_counter()
        res = {}
        for j in sample:
            s = int(f.node[j])
            res[s] = np.asarray(net.shortest_path_lengths([s] * len(d_nodes), d_nodes.tolist(), imp_name="minutes"), float)
        t_pd = (time.perf_counter() - t) * n_fac / len(sample) + t_build
        worst = _node_times_check(graph, m, demand, fac, sample, lambda s, nodes: res[s], cutoff)
        row(name, ours, "pandana CH (scaled)", t_pd, worst + " (pandana: fixed-point weights)")


# ------------------------------------------------------------------------------------------- models
def bench_models_vs_spopt(graph, grid, n_demand=3000, n_sites=300, p=10):
    """MCLP and p-median on a national sample, against spopt (CBC from the dense matrix) if installed."""
    import pulp

    from siting import traveltime as tt
    from siting.models import MCLP, PMedian

    pts, pop = demand_points(grid, n_demand + n_sites, seed=3)
    demand, w, sites = pts[:n_demand], pop[:n_demand].astype(float), pts[n_demand:]
    cost = tt.travel_time_matrix(graph, demand, sites, cutoff=90)
    name = f"{{}} {n_demand:,} x {n_sites} national sample, p={p}"
    s1, t1 = timed(MCLP.from_cost_matrix(cost, w, p, service_radius=30).solve)
    s2, t2 = timed(PMedian.from_cost_matrix(cost, w, p).solve)
    s3, t3 = timed(PMedian.from_cost_matrix(cost, w, p, formulation="assignment").solve)
    s4, t4 = timed(PMedian.from_cost_matrix(cost, w, p, formulation="radius").solve)
    ours = name.format(f"p-median ({s2.stats.get('formulation')})")
    for ref, s_ref, t_ref in (("assignment formulation", s3, t3), ("radius formulation (HiGHS)", s4, t4)):
        row(ours, t2, ref, t_ref, f"equal objective: {abs(s2.objective - s_ref.objective) <= 1e-6 * s_ref.objective}")
    try:
        from spopt.locate import MCLP as SMCLP
        from spopt.locate import PMedian as SPMedian
    except ImportError:
        row(name.format("MCLP"), t1, "spopt", None, "not installed (pip install -e '.[bench]')")
        return
    dense = np.full(cost.shape, 1e4)
    c = cost.tocoo()
    dense[c.row, c.col] = c.data
    sm, ts = timed(lambda: SMCLP.from_cost_matrix(dense, w, service_radius=30, p_facilities=p, name="b").solve(pulp.PULP_CBC_CMD(msg=False)))
    spopt_cov = float(w[(dense[:, [j for j, v in enumerate(sm.fac_vars) if v.value() > 0.5]] <= 30 + 1e-9).any(axis=1)].sum())
    row(name.format("MCLP"), t1, "spopt MCLP (CBC)", ts, f"equal objective: {abs(spopt_cov - s1.objective) <= 1e-6 * s1.objective}")
    unreach = 2 * float(cost.data.max())
    dense_pm = np.where(dense >= 1e4, unreach, dense)
    sp_, tp = timed(lambda: SPMedian.from_cost_matrix(dense_pm, w, p_facilities=p, name="b").solve(pulp.PULP_CBC_CMD(msg=False)))
    chosen = [j for j, v in enumerate(sp_.fac_vars) if v.value() > 0.5]
    spopt_obj = float(np.dot(w, dense_pm[:, chosen].min(axis=1)))
    row(name.format("p-median"), t2, "spopt PMedian (CBC)", tp, f"equal objective: {abs(spopt_obj - s2.objective) <= 1e-6 * s2.objective}")


def bench_national(cell=250, dedups=(1000, 500)):
    """Issue targets: each model in a fresh process on the warm matrix cache (bench_national.py)."""
    targets = {"mclp": 10, "pmedian": 60, "pcenter": 120}
    for dedup in dedups:
        for model in ("mclp", "pmedian", "pcenter"):
            cmd = [sys.executable, str(HERE / "bench_national.py"), "--one", "--models", model, "--cell", str(cell), "--dedup", str(dedup)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                print(r.stderr[-1500:])
                continue
            x = json.loads(r.stdout.strip().splitlines()[-1])
            row(f"national {model} {x['demand']:,} x {x['sites']:,} (p=20, 250 m)", x["model_s"], "target", targets[model],
                f"{x['status']}, gap {x['gap']:.1e}, peak {x['peak_rss_mb'] / 1024:.1f} GB, {x['pairs']:,} pairs")  # fmt: skip


def bench_sweep():
    """100 MCLP runs on the national 1 km instance through ``siting sweep`` (matrix shared)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.yaml"
        base.write_text("name: sweep-bench\nnew_offices: 20\nmodel:\n  type: mclp\n  threshold_minutes: 30\ndemand:\n  cell_size_m: 1000\n")
        cmd = [sys.executable, "-m", "siting", "sweep", str(base), "--vary", "model.threshold_minutes=15..60:5",
               "--vary", "new_offices=5..50:5", "--jobs", "2", "--out", str(Path(tmp) / "out")]  # fmt: skip
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
        secs = time.perf_counter() - t
        ok = r.returncode == 0
        n = 0
        if ok:
            import csv

            with open(Path(tmp) / "out" / "runs.csv", newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            n = len(rows)
            opt = sum(r["status"] == "optimal" for r in rows)
        row("sweep: 100 MCLP runs, national 1 km", secs, "target", 300,
            f"{n} runs, {opt if ok else 0} optimal" if ok else f"failed: {r.stderr.strip().splitlines()[-1:]}")  # fmt: skip


def bench_pmed(ks=(35, 36, 37, 38, 39, 40), time_limit=120):
    """OR-Library dense p-median instances (Beasley 1985), every node a demand point and a site, each
    in a fresh process (bench_pmed.py) so its peak memory is its own; the check is the published optimum."""
    for k in ks:
        r = subprocess.run([sys.executable, str(HERE / "bench_pmed.py"), str(k), "--time-limit", str(time_limit)],
                           capture_output=True, text=True)  # fmt: skip
        if r.returncode:
            row(f"OR-Library pmed{k}", None, "target", 30, f"failed: {r.stderr.strip().splitlines()[-1:]}")
            continue
        d = json.loads(r.stdout.strip().splitlines()[-1])
        row(f"OR-Library {d['name']} (n={d['n']}, p={d['p']}, dense; {d['formulation']})", d["seconds"], "target", 30,
            f"{d['status']}, objective {d['objective']:.0f}, published optimum {d['optimum']}: "
            f"{'equal' if round(d['objective']) == d['optimum'] else 'DIFFERENT'}; {d['nodes']} nodes; "
            f"peak {d['peak_mb']:.0f} MB (target 2 048)")  # fmt: skip


TSPLIB_TARGET = {"rl1304": 30, "fl1400": 600}  # seconds (issue 23); runs may take twice as long before they stop


def bench_tsplib(cases):
    """TSPLIB p-median instances (every city a client and a site, floored Euclidean distances), each in a
    fresh process (bench_tsplib.py); the check is the published optimum where one was found, else the proven bound."""
    for name, p in cases:
        target = TSPLIB_TARGET[name]
        limit = 2 * target if name == "rl1304" else target
        r = subprocess.run([sys.executable, str(HERE / "bench_tsplib.py"), name, str(p), "--time-limit", str(limit)],
                           capture_output=True, text=True)  # fmt: skip
        if r.returncode:
            row(f"TSPLIB {name} p={p}", None, "target", target, f"failed: {r.stderr.strip().splitlines()[-1:]}")
            continue
        d = json.loads(r.stdout.strip().splitlines()[-1])
        opt = d["optimum"]
        check = (f"published optimum {opt}: {'equal' if round(d['objective']) == opt else 'DIFFERENT'}" if opt is not None
                 else "no published optimum found")  # fmt: skip
        row(f"TSPLIB {name} (n={d['n']}, p={p}, dense)", d["seconds"], "target", target,
            f"{d['status']}, objective {d['objective']:.0f}, bound {d['bound']:.0f}, {check}; CPU {d['cpu_seconds']:.1f} s; "
            f"{d['nodes']} B&B nodes, {d['radius_mip_nodes']} to HiGHS; peak {d['peak_mb']:.0f} MB")  # fmt: skip


RL1304 = [("rl1304", p) for p in (5, 10, 20, 50, 100, 200, 300, 400, 500)]
FL1400 = [("fl1400", p) for p in (10, 50, 100, 200)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="the ≤ 2 min subset")
    args = ap.parse_args()
    load = os.getloadavg()
    t0 = time.perf_counter()
    graph, grid = national_graph()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs", flush=True)
    bench_matrix(graph, grid, 2000, 1000, n_sample=10 if args.quick else 30)
    bench_models_vs_spopt(graph, grid, *((600, 60, 5) if args.quick else (1000, 100, 10)))
    bench_pmed((35, 36) if args.quick else (35, 36, 37, 38, 39, 40))
    bench_tsplib([("rl1304", 5), ("rl1304", 10), ("rl1304", 100)] if args.quick else RL1304 + FL1400)
    if not args.quick:
        bench_matrix(graph, grid, 20000, 1000, n_sample=20)
        bench_national()
        bench_sweep()
    load2 = os.getloadavg()
    print("\n| instance | this project (s) | reference | reference (s) | ratio | check |\n| --- | --- | --- | --- | --- | --- |")
    for r in ROWS:
        print("| " + " | ".join(str(v) for v in r) + " |")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average before {load[0]:.1f}, after {load2[0]:.1f} "
          f"({os.cpu_count()} CPUs)")  # fmt: skip


if __name__ == "__main__":
    main()
