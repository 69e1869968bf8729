"""Time-based models: p-median, p-center, and the hybrid of coverage, time and wishes.

p-median is solved exactly at national size with the compact radius formulation of
:mod:`.radius`: only sites *strictly closer* than a demand point's nearest fixed (or required)
office enter its levels, points with the same site order share variables (a trie), and the MIP
goes to HiGHS as arrays (:mod:`.arrays`). Without fixed offices every site enters every level
and that LP is neither small nor integral; there (``formulation="auto"``, a dense block of at
most :data:`DENSE_LIMIT` costs, no group bounds or wish bonus) the Lagrangian branch-and-bound
of :mod:`.lagrangian` proves the optimum instead; any node whose truncated radius model
(:mod:`.capped`: radii proven from the node's Lagrangian bound) is small goes to HiGHS whole, which
at large p is the root itself. The classical assignment formulation
(``formulation="assignment"``: ``base_i + Σ_j x_ij (t_ij − base_i)``) is kept for checks.
"""

from __future__ import annotations

import numpy as np
import pulp
import scipy.sparse as sp

from siting.errors import InfeasibleError, SitingError

from .arrays import site_block, solve_highs
from .base import SitingModel, Solution, assign_nearest, relative_gap, unreachable_cost
from .capped import RadiusSubtree
from .coverage import LSCP, MCLP, coverage_matrix, fixed_cover_count
from .lagrangian import pmedian_branch_and_bound
from .radius import RadiusModel, build_radius

FORMULATIONS = ("auto", "radius", "lagrangian", "assignment")
DENSE_LIMIT = 2_000_000  # demand rows × candidate sites up to which "auto" may use the dense branch-and-bound


def median_base(model: SitingModel) -> np.ndarray:
    """Per demand point, its time whatever else opens: the nearest fixed or required site
    (``unreachable_minutes`` when none reaches it)."""
    always = model.fixed | model._mask(model.constraints.required)
    _, base = assign_nearest(model.cost, np.flatnonzero(always))
    return np.where(np.isfinite(base), base, unreachable_cost(model))


#: Sites to open from which the branch-and-bound hands nodes to HiGHS (:class:`.capped.RadiusSubtree`).
#: Measured: at p = 5 and 10 (OR-Library pmed35/36/38/39) they cost 16–60 s where the tree alone
#: takes 0.6–4.5 s; from p = 80 on (pmed37/40, TSPLIB p ≥ 100) they prove at the root.
RADIUS_NODES_MIN_P = 20


def dense_block(model: SitingModel, limit: float = np.inf):
    """The p-median as a dense cost block for :func:`.lagrangian.pmedian_branch_and_bound`.

    Columns: the allowed, not required candidates. Rows: demand points some column serves
    strictly sooner than their ``base`` (:func:`median_base`), with equal rows merged; a cost is
    ``weight × min(time, base)``. Returns ``(cost, weights, columns, required, constant)`` — the
    objective of a plan is ``constant + Σ_rows min over its columns`` — or ``None`` when the block
    would exceed ``limit`` entries.
    """
    required = model._mask(model.constraints.required)
    cols = np.flatnonzero(model.allowed() & ~required)
    base = median_base(model)
    w = np.asarray(model.weights, float)
    sub = sp.csr_array(model.cost)[:, cols].tocoo()
    better = (sub.data < base[sub.row]) & (w[sub.row] > 0)
    rows = np.unique(sub.row[better])
    if len(rows) * len(cols) > limit:
        return None
    in_model = np.zeros(len(w), bool)
    in_model[rows] = True
    constant = float(np.dot(w[~in_model], base[~in_model]))
    times = np.repeat(base[rows, None], len(cols), axis=1)
    pos = np.searchsorted(rows, sub.row[better])
    times[pos, sub.col[better]] = sub.data[better]
    uniq, inv = np.unique(times, axis=0, return_inverse=True)
    merged = np.bincount(inv.ravel(), weights=w[rows], minlength=len(uniq))
    return uniq * merged[:, None], merged, cols, np.flatnonzero(required), constant


def add_median_terms(model: SitingModel, prob: pulp.LpProblem, y: dict) -> tuple:
    """Add the radius formulation (:mod:`.radius`) to a PuLP problem; return (cost expression, constant, stats)."""
    rm = build_radius(model.cost, model.weights, median_base(model), model.allowed(), model.p)
    z = [pulp.LpVariable(f"lv_{k}", 0) for k in range(rm.n_nodes)]
    for k in range(rm.n_nodes):
        sites = rm.level_sites[rm.level_ptr[k] : rm.level_ptr[k + 1]]
        par = 1 if rm.parent[k] < 0 else z[rm.parent[k]]
        prob += z[k] + pulp.lpSum(y[int(j)] for j in sites) >= par, f"level_{k}"
    expr = pulp.lpSum(float(c) * v for c, v in zip(rm.coef, z, strict=True) if c)
    return expr, rm.constant, _radius_stats(model, rm)


def _radius_stats(model: SitingModel, rm: RadiusModel) -> dict:
    return {"formulation": "radius", "level_vars": rm.n_nodes, "level_site_entries": len(rm.level_sites),
            "demand_rows_in_model": rm.rows_in_model, "unreachable_minutes": unreachable_cost(model)}  # fmt: skip


def add_assignment_terms(model: SitingModel, prob: pulp.LpProblem, y: dict) -> tuple:
    """Classical pruned assignment variables (kept for checks); return (cost expression, constant part, stats)."""
    penalty = unreachable_cost(model)
    base = median_base(model)
    cand = np.flatnonzero(model.allowed())
    sub = model.cost[:, cand].tocoo()
    keep = (sub.data < base[sub.row] - 1e-9) & (model.weights[sub.row] > 0)
    rows, cols, vals = sub.row[keep], cand[sub.col[keep]], sub.data[keep]
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    # merge demand points with identical (candidate, time) profiles and base
    starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1] if len(rows) else np.array([], int)
    ends = np.r_[starts[1:], len(rows)] if len(rows) else np.array([], int)
    groups: dict = {}
    for s, e in zip(starts, ends, strict=True):
        i = rows[s]
        key = (cols[s:e].tobytes(), np.round(vals[s:e], 6).tobytes(), round(float(base[i]), 6))
        g = groups.get(key)
        if g is None:
            groups[key] = [i, float(model.weights[i]), cols[s:e], vals[s:e]]
        else:
            g[1] += float(model.weights[i])
    constant = float(np.dot(model.weights, base))
    terms = []
    n_x = 0
    for k, (i, w, cs, ts) in enumerate(groups.values()):
        xs = []
        for j, t in zip(cs, ts, strict=True):
            x = pulp.LpVariable(f"x_{k}_{j}", 0, 1)
            prob += x <= y[int(j)], f"open_{k}_{j}"
            xs.append(x)
            terms.append(w * (float(t) - float(base[i])) * x)
        prob += pulp.lpSum(xs) <= 1, f"one_{k}"
        n_x += len(xs)
    stats = {"formulation": "assignment", "assignment_vars": n_x, "demand_rows_in_model": len(groups),
             "unreachable_minutes": penalty}  # fmt: skip
    return pulp.lpSum(terms), constant, stats


class PMedian(SitingModel):
    """p-median (Hakimi 1964; ReVelle & Swain 1970): minimise population-weighted drive time.

    Objective: Σ population × time to the nearest open office (minutes), minus any wish bonus.
    Demand no open office reaches costs ``unreachable_minutes`` (default twice the largest time
    in the matrix).
    """

    name = "pmedian"
    time_objective = True

    def build(self):
        prob = pulp.LpProblem("pmedian", pulp.LpMinimize)
        y = self._site_vars(prob)
        terms = add_assignment_terms if self.params.get("formulation") == "assignment" else add_median_terms
        expr, constant, self.stats = terms(self, prob, y)
        prob += expr + constant - self._bonus(y)
        return prob, y

    def solve(self, solver="highs", time_limit=600, gap=0.0, log_path=None) -> Solution:
        """Solve to proven optimality (see :meth:`SitingModel.solve`).

        ``formulation`` (model parameter): ``auto`` (default) — the Lagrangian branch-and-bound
        (:mod:`.lagrangian`) when there are no fixed offices, no group bounds and no wish bonus and
        the dense block has at most :data:`DENSE_LIMIT` entries, else the radius formulation
        (HiGHS, as arrays); ``radius``, ``lagrangian`` or ``assignment`` force one. In the
        branch-and-bound every node whose radius formulation truncated at its proven client radii has
        at most 60 000 level entries (120 000 at the root) is solved whole by HiGHS (from p = 20 on) (:class:`.capped.RadiusSubtree`): at
        large p the root, at small p deeper nodes. ``solver="cbc"`` always goes through PuLP.
        """
        method = self.params.get("formulation") or "auto"
        if method not in FORMULATIONS:
            raise ValueError(f"pmedian: formulation must be one of {', '.join(FORMULATIONS)}, not {method!r}")
        plain = not list(self._bounds("max")) and not list(self._bounds("min")) and not (
            self.constraints.wish_bonus is not None and np.any(np.asarray(self.constraints.wish_bonus, float)))
        if method == "lagrangian" and not plain:
            raise SitingError("pmedian: formulation 'lagrangian' takes no group bounds or wish bonus; use 'radius'")
        if method == "lagrangian" or (method == "auto" and solver == "highs" and plain and not self.fixed.any()):
            block = dense_block(self, np.inf if method == "lagrangian" else DENSE_LIMIT)
            if block is not None:
                return self._solve_branch_and_bound(block, time_limit, gap, log_path)
        if solver != "highs" or method == "assignment":
            return super().solve(solver, time_limit, gap, log_path)
        import time as _time

        t0 = _time.perf_counter()
        log_path = self._log_path(log_path)
        sb = site_block(self)
        rm = build_radius(self.cost, self.weights, median_base(self), self.allowed(), self.p)
        self.stats = _radius_stats(self, rm)
        ny, nz = len(sb.ids), rm.n_nodes
        col = np.full(self.n_sites, -1, np.int64)
        col[sb.ids] = np.arange(ny)
        # level rows: z_k + Σ_{j in level k} y_j − z_parent ≥ 0 (≥ 1 at the root)
        size = np.diff(rm.level_ptr)
        has_par = rm.parent >= 0
        r = np.r_[np.arange(nz), np.repeat(np.arange(nz), size), np.flatnonzero(has_par)]
        c = np.r_[ny + np.arange(nz), col[rm.level_sites], ny + rm.parent[has_par]]
        v = np.r_[np.ones(nz), np.ones(len(rm.level_sites)), -np.ones(int(has_par.sum()))]
        levels = sp.csr_array((v, (r, c)), shape=(nz, ny + nz))
        A = sp.vstack([sp.hstack([sb.rows, sp.csr_array((sb.rows.shape[0], nz))]), levels]).tocsr()
        bonus = np.zeros(ny) if self.constraints.wish_bonus is None else np.asarray(self.constraints.wish_bonus, float)[sb.ids]
        args = (np.r_[-bonus, rm.coef], np.zeros(ny + nz), np.r_[np.ones(ny), np.full(nz, np.inf)])
        rows = (A, np.r_[sb.lower, np.where(has_par, 0.0, 1.0)], np.r_[sb.upper, np.full(nz, np.inf)], rm.constant)
        # the LP first: with fixed offices it is usually integral, and an integral LP optimum is the
        # MIP's optimum (the LP is a relaxation) — proven without the MIP's presolve and root work
        x, status, solver_obj, bound = solve_highs(*args, np.zeros(ny + nz, bool), *rows, time_limit, 0.0, log_path)
        integral = status == "optimal" and x is not None and bool(np.all(np.abs(x[:ny] - np.round(x[:ny])) <= 1e-9))
        self.stats["lp_integral"] = integral
        if integral:
            bound = solver_obj  # the LP's optimum is the bound (HiGHS reports no MIP bound for an LP)
        else:
            left = None if time_limit is None else max(float(time_limit) - (_time.perf_counter() - t0), 0.0)
            x, status, solver_obj, bound = solve_highs(*args, np.r_[np.ones(ny, bool), np.zeros(nz, bool)], *rows, left, gap, log_path)
        return self._from_arrays(x, ny, sb.ids, status, solver_obj, bound, pulp.LpMinimize, _time.perf_counter() - t0, "highs",
                                 log_path, time_limit)  # fmt: skip

    def _solve_branch_and_bound(self, block, time_limit, gap, log_path) -> Solution:
        import time as _time

        t0 = _time.perf_counter()
        cost, weights, cols, required, constant = block
        log_path = self._log_path(log_path)
        k = self.p - len(required)
        if k < 0 or k > len(cols):
            raise InfeasibleError(f"{self.name}: {len(required)} required and {len(cols)} other allowed sites cannot make p = {self.p}")
        self.stats = {"formulation": "lagrangian", "demand_rows_in_model": int(cost.shape[0])}
        with open(log_path, "w", encoding="utf-8") as log:
            log.write(f"p-median, Lagrangian branch-and-bound: {cost.shape[0]} demand rows x {cost.shape[1]} sites, p = {k}\n")
            if k == 0:  # the required sites are the plan
                chosen = required
                objective = bound = self.evaluate(chosen)
                status = "optimal"
            else:
                say = lambda m: log.write(m + "\n")  # noqa: E731
                nodes = RadiusSubtree(log=say, log_path=log_path)
                # radius nodes only from RADIUS_NODES_MIN_P sites on: below, HiGHS is slow on the wide radii and the tree quick
                sub = nodes if k >= RADIUS_NODES_MIN_P else None
                res = pmedian_branch_and_bound(cost, k, weights=weights, time_limit=time_limit, gap=gap, log=say, subtree=sub, lp_tree=sub is None)
                chosen = np.r_[required, cols[res.chosen]].astype(int)
                objective, bound, status = constant + res.objective, constant + res.bound, res.status
                self.stats.update(res.stats, radius_mip_nodes=nodes.solved, radius_mip_largest=nodes.entries)
        return self._finish(np.sort(chosen), objective, bound, pulp.LpMinimize, status, _time.perf_counter() - t0, "lagrangian-bb", log_path)


class PCenter(SitingModel):
    """p-center: minimise the longest drive time to the nearest office over all demand points.

    Solved exactly by bisection over the distinct times, each step a set-covering problem (can
    ``p`` new sites bring every point within ``r``?). ``fixed_times`` (optional) gives each
    point's exact time to its nearest fixed office, also beyond the matrix cutoff, so the worst
    case is exact even where it exceeds the cutoff. Demand points no site can reach at all are
    left out and counted in ``stats['unreachable_points']``. Remaining new sites (beyond those
    the optimal radius needs) are chosen by p-median among the allowed candidates.
    """

    name = "pcenter"
    sense = pulp.LpMinimize

    def solve(self, solver="highs", time_limit=600, gap=0.0, log_path=None) -> Solution:
        import time as _time

        t0 = _time.perf_counter()
        active = self.weights > 0
        _, fixed_t = assign_nearest(self.cost, np.flatnonzero(self.fixed))
        given = self.params.get("fixed_times")
        if given is not None:  # exact times to the nearest fixed office, also beyond the matrix cutoff
            fixed_t = np.minimum(fixed_t, np.asarray(given, float))
        _, new_t = assign_nearest(self.cost, np.flatnonzero(self.allowed()))
        best_all = np.minimum(fixed_t, new_t)
        unreachable = active & ~np.isfinite(best_all)
        demand = active & ~unreachable
        lower = float(best_all[demand].max()) if demand.any() else 0.0
        top = float(fixed_t[demand].max()) if demand.any() else 0.0
        values = np.r_[self.cost.data, fixed_t[demand & np.isfinite(fixed_t)]]
        levels = np.unique(values[(values >= lower - 1e-9) & (values <= top + 1e-9)]) if np.isfinite(top) else np.unique(values[values >= lower - 1e-9])
        if len(levels) == 0:
            levels = np.array([lower])
        lo, hi = 0, len(levels) - 1
        best = None
        steps = 0

        def min_sites(r):
            # only points the fixed offices do not already serve within r need a new site
            w = np.where(demand & (fixed_t > r + 1e-9), 1.0, 0.0)
            if not w.any():
                return Solution(self.name, np.array([], int), np.array([], int), np.array([]), np.array([]), 0.0, "optimal",
                                0.0, 0.0, 0.0, solver)  # fmt: skip
            m = LSCP(self.cost, w, 0, fixed=self.fixed, constraints=self.constraints, service_radius=r, target_share=1.0)
            try:
                s = m.solve(solver=solver, time_limit=time_limit, gap=0.0, log_path=log_path)
            except InfeasibleError:
                return None
            except SitingError:  # no answer within the time limit: unknown
                return "unknown"
            return s

        # the largest level must be feasible unless the instance is impossible
        top = min_sites(levels[hi])
        if top is None or top == "unknown" or len(top.selected) > self.p:
            raise InfeasibleError(f"pcenter: p={self.p} new offices cannot bring every point within reach")
        best = (levels[hi], top)
        bound, proven = lower, True  # a level proven infeasible lifts the lower bound to the next level
        while lo < hi:
            mid = (lo + hi) // 2
            s = min_sites(levels[mid])
            steps += 1
            if s is not None and s != "unknown" and len(s.selected) <= self.p:
                hi = mid
                best = (levels[mid], s)
            else:
                if s is None or (s != "unknown" and s.status == "optimal"):
                    bound = max(bound, float(levels[mid + 1]))
                else:
                    proven = False
                lo = mid + 1
        radius, cover_sol = best
        chosen = list(cover_sol.selected)
        if len(chosen) < self.p:  # fill the remaining sites by p-median
            fixed2 = self.fixed.copy()
            fixed2[chosen] = True
            cons = self.constraints
            fill = PMedian(self.cost, self.weights, self.p - len(chosen), fixed=fixed2, constraints=_without(cons, chosen))
            chosen += list(fill.solve(solver=solver, time_limit=time_limit, log_path=log_path).selected)
        self.stats = {"bisection_steps": steps, "unreachable_points": int(unreachable.sum()), "radius": float(radius)}
        bound = float(radius) if proven else bound
        return self.make_solution(np.array(sorted(chosen)), float(radius), "optimal" if proven else "feasible",
                                  relative_gap(float(radius), bound), bound, _time.perf_counter() - t0, solver, log_path)  # fmt: skip

    def cutoff_report(self, assigned_time, objective) -> dict:
        """As :meth:`SitingModel.cutoff_report`; for p-center the cutoff cannot change the optimum when
        the optimal radius is within it (any better plan would have all its times within it too)."""
        report = super().cutoff_report(assigned_time, objective)
        if report:
            report["cutoff_may_change_optimum"] = bool(objective > report["cutoff_minutes"] + 1e-9)
        return report


def _remaining(bounds: dict, groups: dict, chosen) -> dict:
    """Per-group bounds minus the sites already ``chosen`` in each group (never below 0)."""
    out = {}
    for g, b in bounds.items():
        labels = np.asarray(groups[g]).astype(str)
        used = {lab: int(np.sum(labels[chosen] == lab)) for lab in set(labels)}
        per = b if isinstance(b, dict) else dict.fromkeys(set(labels), b)
        out[g] = {lab: max(v - used.get(lab, 0), 0) for lab, v in per.items()}
    return out


def _without(cons, chosen):
    """Constraints for a second stage in which ``chosen`` are already open (fixed)."""
    from dataclasses import replace

    req = None if cons.required is None else cons.required.copy()
    if req is not None:
        req[chosen] = False
    return replace(cons, required=req, max_per_group=_remaining(cons.max_per_group, cons.groups, chosen),
                   min_per_group=_remaining(cons.min_per_group, cons.groups, chosen))  # fmt: skip


class Hybrid(SitingModel):
    """Coverage, drive time and wishes together.

    ``weights={"coverage": a, "time": b}``: maximise ``a × covered population −
    b × population-weighted minutes + wish bonus``. ``lexicographic=True``: first the MCLP
    optimum, then the least population-weighted time among solutions that keep that coverage.
    """

    name = "hybrid"
    time_objective = True

    def build(self):
        radius = float(self.params.get("service_radius", 30.0))
        wts = self.params.get("objective_weights") or {"coverage": 1.0, "time": 0.01}
        lexi = bool(self.params.get("lexicographic", False))
        prob = pulp.LpProblem("hybrid", pulp.LpMinimize)
        y = self._site_vars(prob)
        time_expr, constant, stats = add_median_terms(self, prob, y)
        cov = coverage_matrix(self.cost, radius)
        fixed_cov = fixed_cover_count(cov, self.fixed) > 0
        cand = np.flatnonzero(self.allowed())
        sub = cov[:, cand].tocsr()
        zs = []
        for i in np.flatnonzero(~fixed_cov & (self.weights > 0) & (np.asarray(sub.sum(axis=1)).ravel() > 0)):
            cols = cand[sub.indices[sub.indptr[i] : sub.indptr[i + 1]]]
            z = pulp.LpVariable(f"z_{i}", 0, 1)
            prob += z <= pulp.lpSum(y[int(j)] for j in cols), f"cover_{i}"
            zs.append(float(self.weights[i]) * z)
        coverage = pulp.lpSum(zs) + float(self.weights[fixed_cov].sum())
        if lexi:
            first = MCLP(self.cost, self.weights, self.p, fixed=self.fixed, constraints=self.constraints, service_radius=radius)
            s1 = first.solve(solver=self.params.get("solver", "highs"))
            self.stats = {**stats, "stage1_coverage": s1.objective, "stage1_status": s1.status}
            prob += coverage >= s1.objective - 1e-6 * max(s1.objective, 1), "keep_max_coverage"
            prob += time_expr + constant - self._bonus(y)
        else:
            self.stats = stats
            prob += -float(wts.get("coverage", 1.0)) * coverage + float(wts.get("time", 0.0)) * (time_expr + constant) - self._bonus(y)
        return prob, y

    def evaluate(self, chosen) -> float:
        """The hybrid objective of fixed + ``chosen`` (lexicographic: the second stage's)."""
        time_cost = self.weighted_time(chosen)
        if self.params.get("lexicographic", False):
            return time_cost - self.bonus_of(chosen)
        wts = self.params.get("objective_weights") or {"coverage": 1.0, "time": 0.01}
        covered = float(self.weights[self.covered_count(chosen, float(self.params.get("service_radius", 30.0))) >= 1].sum())
        return -float(wts.get("coverage", 1.0)) * covered + float(wts.get("time", 0.0)) * time_cost - self.bonus_of(chosen)
