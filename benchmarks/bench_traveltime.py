"""Drive-time matrix benchmark: siting (multi-source csgraph Dijkstra) vs. the naive osmnx/networkx way.

National Kartverket N1000 network, 1 000 facilities × 20 000 demand points (SSB 250 m cells drawn
with a fixed seed; facilities = further populated cells), cutoff 90 min. The naive approach runs
``networkx.single_source_dijkstra_path_length`` once per facility (with the same cutoff); it is
timed on a subset of facilities and scaled up, and its times are checked against ours.

    python benchmarks/bench_traveltime.py [--facilities 1000] [--demand 20000] [--naive-sample 100]
"""

from __future__ import annotations

import argparse

import networkx as nx
import numpy as np
from common import demand_points, national_graph, timed

from siting import traveltime as tt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--facilities", type=int, default=1000)
    ap.add_argument("--demand", type=int, default=20000)
    ap.add_argument("--cutoff", type=float, default=90.0)
    ap.add_argument("--naive-sample", type=int, default=100)
    args = ap.parse_args()
    t: dict[str, float] = {}
    with timed("build/load N1000 graph", t):
        graph, grid = national_graph()
    print(f"graph: {graph.n_nodes:,} nodes, {graph.matrix.nnz:,} edges ({graph.info.get('cache')})")
    pts, _ = demand_points(grid, args.demand + args.facilities, seed=1)
    demand, fac = pts[: args.demand], pts[args.demand :]
    with timed(f"siting matrix {args.facilities} x {args.demand}", t):
        m = tt.travel_time_matrix(graph, demand, fac, cutoff=args.cutoff)
    print(f"stored pairs within {args.cutoff:g} min: {m.nnz:,}")
    G = nx.from_scipy_sparse_array(graph.matrix, create_using=nx.DiGraph)
    d, f = tt.snap(graph, demand), tt.snap(graph, fac)
    sample = np.linspace(0, args.facilities - 1, args.naive_sample).astype(int)
    with timed(f"naive networkx, {len(sample)} facilities", t):
        naive = {j: nx.single_source_dijkstra_path_length(G, int(f.node[j]), cutoff=args.cutoff) for j in sample}
    # identical times (same snapping and access times) on the sample
    mc = m.tocsc()
    worst = 0.0
    for j in sample:
        col = np.full(args.demand, np.inf)
        col[mc.indices[mc.indptr[j] : mc.indptr[j + 1]]] = mc.data[mc.indptr[j] : mc.indptr[j + 1]]
        ref = np.array([naive[j].get(int(n), np.inf) for n in d.node]) + f.access_minutes[j] + d.access_minutes
        ref[ref > args.cutoff] = np.inf
        both = np.isfinite(ref) | np.isfinite(col)
        worst = max(worst, float(np.max(np.abs(np.nan_to_num(ref[both] - col[both], nan=0.0, posinf=1e9, neginf=1e9)), initial=0)))
    few = sample[: max(len(sample) // 10, 5)]
    with timed(f"naive networkx without cutoff, {len(few)} facilities", t):
        for j in few:
            nx.single_source_dijkstra_path_length(G, int(f.node[j]))
    ours = t[f"siting matrix {args.facilities} x {args.demand}"]
    for label, n in ((f"naive networkx, {len(sample)} facilities", len(sample)),
                     (f"naive networkx without cutoff, {len(few)} facilities", len(few))):  # fmt: skip
        full = t[label] * args.facilities / n
        print(f"{label} -> extrapolated to {args.facilities}: {full:.1f} s, siting is {full / ours:.1f}x faster")
    print(f"max |difference| siting vs networkx on the sample: {worst:.2e} min")


if __name__ == "__main__":
    main()
