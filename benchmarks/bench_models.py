"""Model benchmark at national size: MCLP, p-median, p-center with HiGHS and CBC, vs. PySAL spopt.

Instance: 20 000 demand points (SSB 250 m cells, fixed seed, their population as weights),
2 000 candidate sites (further populated cells) + the 222 existing office locations of 1 January 2022 (fixed), drive times on
the national N1000 network within 90 min, p = 20, T = 30 and 45 min. spopt (``pip install -e
".[bench]"``) solves the same MCLP from the dense matrix.

    python benchmarks/bench_models.py [--demand 20000] [--candidates 2000] [--no-spopt] [--solvers highs,cbc]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import demand_points, national_graph, timed

from siting import traveltime as tt
from siting.data import load_stations
from siting.models import MCLP, PCenter, PMedian


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demand", type=int, default=20000)
    ap.add_argument("--candidates", type=int, default=2000)
    ap.add_argument("--p", type=int, default=20)
    ap.add_argument("--solvers", default="highs,cbc")
    ap.add_argument("--no-spopt", action="store_true")
    args = ap.parse_args()
    t: dict[str, float] = {}
    graph, grid = national_graph()
    pts, pop = demand_points(grid, args.demand + args.candidates, seed=2)
    demand, w = pts[: args.demand], pop[: args.demand]
    st = load_stations()
    sites = np.vstack([np.column_stack([st.geometry.x, st.geometry.y]), pts[args.demand :]])
    fixed = np.zeros(len(sites), bool)
    fixed[: len(st)] = True
    with timed(f"drive-time matrix {args.demand} x {len(sites)}", t):
        cost = tt.travel_time_matrix(graph, demand, sites, cutoff=90)
    print(f"pairs within 90 min: {cost.nnz:,}; fixed offices: {fixed.sum()}")
    fixed_times, _ = tt.nearest_facility_time(graph, demand, sites[fixed])  # exact, also beyond the cutoff
    results = {}
    for solver in args.solvers.split(","):
        for T in (30, 45):
            with timed(f"MCLP T={T} {solver}", t):
                s = MCLP.from_cost_matrix(cost, w, args.p, fixed=fixed, service_radius=T).solve(solver=solver)
            results[("mclp", T, solver)] = s
            print(f"   status {s.status}, objective {s.objective:,.1f}, gap {s.gap}, stats {s.stats}")
        with timed(f"p-median {solver}", t):
            s = PMedian.from_cost_matrix(cost, w, args.p, fixed=fixed).solve(solver=solver)
        print(f"   status {s.status}, objective {s.objective:,.1f}, gap {s.gap}, stats {s.stats}")
        with timed(f"p-center {solver}", t):
            s = PCenter.from_cost_matrix(cost, w, args.p, fixed=fixed, fixed_times=fixed_times).solve(solver=solver)
        print(f"   status {s.status}, objective {s.objective:.2f} min, stats {s.stats}")
    if not args.no_spopt:
        try:
            import pulp
            from spopt.locate import MCLP as SpoptMCLP
        except ImportError:
            print("spopt not installed: pip install -e '.[bench]'")
            return
        dense = cost.toarray()
        dense[dense == 0] = 0.0
        unreachable = np.ones(cost.shape, bool)
        c = cost.tocoo()
        unreachable[c.row, c.col] = False
        dense[unreachable] = 1e6
        with timed("spopt MCLP T=30 (CBC, from dense matrix)", t):
            sm = SpoptMCLP.from_cost_matrix(dense, w, service_radius=30, p_facilities=args.p + int(fixed.sum()),
                                            predefined_facilities_arr=fixed, name="bench")  # fmt: skip
            sm = sm.solve(pulp.PULP_CBC_CMD(msg=False))
        obj = pulp.value(sm.problem.objective)
        ours = results.get(("mclp", 30, "cbc")) or results.get(("mclp", 30, "highs"))
        key = "MCLP T=30 cbc" if ("mclp", 30, "cbc") in results else "MCLP T=30 highs"
        print(f"spopt objective {obj:,.1f} vs siting {ours.objective:,.1f}; speed-up {t['spopt MCLP T=30 (CBC, from dense matrix)'] / t[key]:.0f}x")


if __name__ == "__main__":
    main()
