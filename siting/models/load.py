"""Workload per office and the weighted-criteria model: coverage, relief of overloaded offices, wishes.

**Catchments.** An office's catchment is the demand whose nearest open office (by drive time) it
is — existing and new offices alike; ties go to the existing office, then to the lower site index
(as :func:`siting.plans.times`). Its **load** is the sum over the catchment of a load weight per
demand point (reported offences, population or a blend). The locations of one office (an office
with two addresses) count as one office (``office_labels``).

**Norm.** ``N`` defaults to the national mean load per office *after* the plan,
``Σ load / (offices today + p)``: the load every office would carry if it were shared evenly.

**Relief** (the presence/workload criterion): the load moved off today's offices that are above
the norm, counted up to what each carries above it::

    relief(S) = Σ_o [ (L_o − N)⁺ − (L_o(S) − N)⁺ ] = Σ_o min(moved_o(S), (L_o − N)⁺)

where ``L_o`` is office ``o``'s load today and ``moved_o(S)`` the part of its catchment whose
nearest office becomes a new one (a point moves as soon as a candidate strictly closer than its
office opens). It rewards new offices where today's offices carry the most load above the norm,
and counts a new office's load only where it relieves an overloaded one.

*Why not the total load above the norm, new offices included?* That objective was built and
checked (closest-assignment constraints in chained form, equal to brute force), but it is
degenerate: a new office can lower the total by at most ``N`` (what it takes from others beyond
``N`` is its own excess), so every site that takes ``N`` from any overloaded office ties, Oslo's
office with 20 times the norm no better than one just above it; on the national data HiGHS stopped
at a 24 % gap after 300 s. The total load above the norm is still reported for every plan
(``siting.workload``), and relief is exact and fast: it has the structure of a covering model.

:class:`WeightedCriteria` maximises ``Σ_i a_i [i within T] + λ · relief + Σ_m b_m [municipality m
gets a new office] + wish bonus``; :class:`LoadRelief` is relief alone. Both are exact MIPs
solved as arrays (HiGHS; CBC through PuLP) whose objective is recomputed from the matrix and
checked against the solver; ``tests/test_load.py`` checks them against brute force.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pulp
import scipy.sparse as sp

from siting.errors import SitingError

from .arrays import site_block, solve_arrays
from .base import SitingModel, Solution, as_csr, assign_nearest
from .cover import coverage_matrix, fixed_cover_count
from .coverage import aggregate_rows


# ------------------------------------------------------------------------------------------- catchments
def nearest_open(cost, fixed: np.ndarray, chosen) -> np.ndarray:
    """Per demand point, the nearest open site (existing offices plus ``chosen``; ``-1`` if none):
    ties to an existing office, then to the lower site index."""
    open_sites = np.r_[np.flatnonzero(fixed), np.sort(np.asarray(chosen, int))].astype(int)
    site, _ = assign_nearest(cost if sp.issparse(cost) and cost.format == "csr" else as_csr(cost), open_sites)
    return site


def office_labels(fixed: np.ndarray, labels=None) -> np.ndarray:
    """One label per site: ``labels`` for existing offices (several locations of one office share
    it), ``site <index>`` for every other site."""
    out = np.array([f"site {j}" for j in range(len(fixed))], dtype=object)
    if labels is not None:
        lab = np.asarray(labels).astype(str)
        out[fixed] = lab[fixed]
    return out


def site_loads(nearest: np.ndarray, load: np.ndarray, n_sites: int) -> np.ndarray:
    """Load per site from each demand point's nearest open site."""
    ok = nearest >= 0
    return np.bincount(nearest[ok], weights=np.asarray(load, float)[ok], minlength=n_sites)


def label_loads(loads: np.ndarray, labels: np.ndarray, sites) -> dict[str, float]:
    """Load per office label over the given (open) sites."""
    out: dict[str, float] = {}
    for j in np.asarray(sites, int):
        out[labels[j]] = out.get(labels[j], 0.0) + float(loads[j])
    return out


def excess_above(loads, norm: float) -> float:
    """``Σ max(0, load − norm)`` over a dict or array of loads."""
    v = np.fromiter(loads.values() if isinstance(loads, dict) else loads, float)
    return float(np.maximum(v - norm, 0.0).sum())


def default_norm(load: np.ndarray, fixed: np.ndarray, labels: np.ndarray, p: int) -> float:
    """The mean load per office after the plan: ``Σ load / (existing offices + p)``."""
    n = len(set(labels[np.flatnonzero(fixed)])) + p
    return float(np.sum(load)) / n if n else 0.0


def existing_excess(cost, fixed: np.ndarray, chosen, load: np.ndarray, labels: np.ndarray, norm: float) -> float:
    """Load above the norm carried by today's offices with ``chosen`` open (new offices not counted)."""
    loads = site_loads(nearest_open(cost, fixed, chosen), load, len(fixed))
    return excess_above(label_loads(loads, labels, np.flatnonzero(fixed)), norm)


# ------------------------------------------------------------------------------------------- the model
class WeightedCriteria(SitingModel):
    """Coverage within T, relief of overloaded offices and wishes honoured, weighted (module docstring).

    ``weights`` are the coverage weights ``a_i`` per demand point (zeros allowed). Parameters
    (``**params``): ``service_radius`` (T, minutes), ``load_weights`` (load per demand point; none:
    no relief term), ``load_penalty`` (``λ``, objective units per unit of relief, default 1),
    ``norm`` (default :func:`default_norm`), ``office_labels`` (one per site), ``wish_groups``
    (a label per site, ``""`` for none) with ``wish_values`` (label → ``b_m``; a negative value is a
    penalty, e.g. for a municipality that declined an office), ``tie_weights`` (per demand point:
    among the optimal plans, a second solve takes the one with the most of this weight within T
    while keeping the optimum — lexicographic ties, exact).
    """

    name = "criteria"
    sense = pulp.LpMaximize

    def __init__(self, *args, **params):
        super().__init__(*args, **params)
        n = self.cost.shape[0]
        lw = self.params.get("load_weights")
        self.load = None if lw is None else np.asarray(lw, float)
        if self.load is not None and (self.load.shape != (n,) or not np.all(np.isfinite(self.load)) or (self.load < 0).any()):
            raise SitingError(f"load_weights: expected {n} finite numbers >= 0 (one per demand point)")
        self.labels = office_labels(self.fixed, self.params.get("office_labels"))
        self.lam = float(self.params.get("load_penalty", 1.0)) if self.load is not None else 0.0
        norm = self.params.get("norm")
        self.norm = (default_norm(self.load, self.fixed, self.labels, self.p) if self.load is not None else 0.0) if norm is None else float(norm)
        if not (math.isfinite(self.norm) and self.norm >= 0 and math.isfinite(self.lam) and self.lam >= 0):
            raise SitingError(f"norm and load_penalty must be finite numbers >= 0 (got {norm!r}, {self.lam!r})")
        groups = self.params.get("wish_groups")
        self.wish_groups = None if groups is None else np.asarray(groups).astype(str)
        if self.wish_groups is not None and self.wish_groups.shape != (self.n_sites,):
            raise SitingError(f"wish_groups: expected {self.n_sites} labels (one per site)")
        self.wish_values = {str(k): float(v) for k, v in (self.params.get("wish_values") or {}).items()}
        tie = self.params.get("tie_weights")
        self.tie = None if tie is None else np.asarray(tie, float)
        if self.tie is not None and (self.tie.shape != (n,) or not np.all(np.isfinite(self.tie)) or (self.tie < 0).any()):
            raise SitingError(f"tie_weights: expected {n} finite numbers >= 0 (one per demand point)")

    # ------------------------------------------------------------------ parts of the objective
    def coverage(self, chosen) -> float:
        """Σ coverage weight of the demand within T of fixed + ``chosen``."""
        return float(self.weights[self.covered_count(chosen, float(self.params.get("service_radius", 30.0))) >= 1].sum())

    def relief(self, chosen) -> float:
        """Load moved off today's offices above the norm, up to their excess (module docstring)."""
        if self.load is None:
            return 0.0
        today = existing_excess(self.cost, self.fixed, [], self.load, self.labels, self.norm)
        return today - existing_excess(self.cost, self.fixed, chosen, self.load, self.labels, self.norm)

    def wishes(self, chosen) -> float:
        """Σ ``b_m`` over the wish groups with at least one chosen site."""
        if self.wish_groups is None:
            return 0.0
        got = set(self.wish_groups[np.asarray(chosen, int)])
        return float(sum(v for k, v in self.wish_values.items() if k in got))

    def evaluate(self, chosen) -> float:
        return self.coverage(chosen) + self.lam * self.relief(chosen) + self.wishes(chosen) + self.bonus_of(chosen)

    # ------------------------------------------------------------------ formulation
    def _cover_block(self, allowed):
        radius = float(self.params.get("service_radius", 30.0))
        cov = coverage_matrix(self.cost, radius)
        done = fixed_cover_count(cov, self.fixed) > 0
        cand = np.flatnonzero(allowed)
        sub = cov[:, cand]
        tie = self.tie if self.tie is not None else np.zeros(len(self.weights))
        rows = np.flatnonzero(~done & ((self.weights > 0) | (tie > 0)) & (np.asarray(sub.sum(axis=1)).ravel() > 0))
        u, w, _, inv = aggregate_rows(sub[rows], self.weights[rows])
        return sp.csr_array(u), w, np.bincount(inv, weights=tie[rows], minlength=len(w)), cand, float(self.weights[done].sum())

    def _relief_block(self, allowed):
        """Rows of demand in the catchments of today's overloaded offices that a candidate strictly
        closer than their office could take (merged by office and candidate set)."""
        e_site, e_time = assign_nearest(self.cost, np.flatnonzero(self.fixed))
        today = label_loads(site_loads(e_site, self.load, self.n_sites), self.labels, np.flatnonzero(self.fixed))
        heavy = sorted(o for o, v in today.items() if v > self.norm)
        pos = {o: k for k, o in enumerate(heavy)}
        cap = np.array([today[o] - self.norm for o in heavy])
        office = np.array([pos.get(self.labels[s], -1) if s >= 0 else -1 for s in e_site])
        c = self.cost.tocoo()
        keep = allowed[c.col] & (c.data < e_time[c.row]) & (office[c.row] >= 0) & (self.load[c.row] > 0)
        m = sp.csr_array((np.ones(int(keep.sum()), np.int8), (c.row[keep], c.col[keep])), shape=self.cost.shape)
        cand = np.flatnonzero(allowed)
        sub = m[:, cand]
        rows = np.flatnonzero(np.asarray(sub.sum(axis=1)).ravel() > 0)
        u, w, reps, _ = aggregate_rows(sub[rows], self.load[rows], extra=office[rows])
        return sp.csr_array(u), w, office[rows][reps], cap, cand

    def solve(self, solver="highs", time_limit=600, gap=0.0, log_path=None) -> Solution:
        t0 = time.perf_counter()
        log_path = self._log_path(log_path)
        sb = site_block(self)
        ny = len(sb.ids)
        y_col = np.full(self.n_sites, -1, np.int64)
        y_col[sb.ids] = np.arange(ny)
        allowed = self.allowed()
        costs, uppers, lowers, rlo, rhi = [np.zeros(ny)], [np.ones(ny)], [np.zeros(ny)], [], []
        n = ny
        offset = 0.0
        entries: list[tuple] = []  # (row index, column, value)
        n_rows = 0

        def link(u, cand, first_var):  # var_k − Σ_{j in row k} y_j ≤ 0
            nonlocal n_rows
            k = np.repeat(np.arange(u.shape[0]), np.diff(u.indptr))
            entries.append((n_rows + np.arange(u.shape[0]), first_var + np.arange(u.shape[0]), np.ones(u.shape[0])))
            entries.append((n_rows + k, y_col[cand[u.indices]], -np.ones(len(k))))
            rlo.append(np.full(u.shape[0], -np.inf)), rhi.append(np.zeros(u.shape[0]))
            n_rows += u.shape[0]

        stats = {"candidate_sites": ny}
        tie_cost = []
        if np.any(self.weights > 0) or self.tie is not None:
            u, w, tw, cand, base = self._cover_block(allowed)
            link(u, cand, n)
            costs.append(w), lowers.append(np.zeros(len(w))), uppers.append(np.ones(len(w)))
            tie_cost.append((n, tw))
            n += len(w)
            offset += base
            stats["coverage_rows"] = len(w)
        if self.load is not None and self.lam > 0:
            u, w, office, cap, cand = self._relief_block(allowed)
            v0, r0 = n, n + len(w)
            link(u, cand, v0)
            costs += [np.zeros(len(w)), np.full(len(cap), self.lam)]
            lowers += [np.zeros(len(w)), np.zeros(len(cap))]
            uppers += [np.ones(len(w)), cap]
            n += len(w) + len(cap)
            # r_o − Σ_{rows k of o} load_k v_k ≤ 0
            entries.append((n_rows + np.arange(len(cap)), r0 + np.arange(len(cap)), np.ones(len(cap))))
            entries.append((n_rows + office, v0 + np.arange(len(w)), -w))
            rlo.append(np.full(len(cap), -np.inf)), rhi.append(np.zeros(len(cap)))
            n_rows += len(cap)
            stats.update(norm=self.norm, relief_rows=len(w), overloaded_offices=len(cap))
        if self.wish_groups is not None and self.wish_values:
            labels = [k for k, v in self.wish_values.items() if v]
            for q, lab in enumerate(labels):
                js = y_col[np.flatnonzero((self.wish_groups == lab) & allowed)]
                if self.wish_values[lab] > 0:  # h ≤ Σ y: earned once a site of the group opens
                    entries.append((np.full(len(js) + 1, n_rows), np.r_[n + q, js], np.r_[1.0, -np.ones(len(js))]))
                    rlo.append([-np.inf]), rhi.append([0.0])
                    n_rows += 1
                else:  # a penalty: h ≥ y_j for every site of the group
                    k = np.arange(len(js))
                    entries.append((np.r_[n_rows + k, n_rows + k], np.r_[js, np.full(len(js), n + q)], np.r_[np.ones(len(js)), -np.ones(len(js))]))
                    rlo.append(np.full(len(js), -np.inf)), rhi.append(np.zeros(len(js)))
                    n_rows += len(js)
            costs.append(np.array([self.wish_values[k] for k in labels])), lowers.append(np.zeros(len(labels)))
            uppers.append(np.ones(len(labels)))
            n += len(labels)
        if self.constraints.wish_bonus is not None:
            costs[0] = np.asarray(self.constraints.wish_bonus, float)[sb.ids]
        if entries:
            rr, cc, vv = (np.concatenate(x) for x in zip(*entries, strict=True))
            model_rows = sp.csr_array((vv, (rr, cc)), shape=(n_rows, n))
        else:
            model_rows = sp.csr_array((0, n))
        site_rows = sp.hstack([sb.rows, sp.csr_array((sb.rows.shape[0], n - ny))]).tocsr()
        A = sp.vstack([site_rows, model_rows]).tocsr()
        cost, lower, upper = np.concatenate(costs), np.concatenate(lowers), np.concatenate(uppers)
        integer, row_lo, row_hi = np.r_[np.ones(ny, bool), np.zeros(n - ny, bool)], np.r_[sb.lower, *rlo], np.r_[sb.upper, *rhi]
        x, status, solver_obj, bound = solve_arrays(solver, cost, lower, upper, integer, A, row_lo, row_hi, offset, time_limit, gap,
                                                    log_path, sense="max")  # fmt: skip
        self.stats = stats
        sol = self._from_arrays(x, ny, sb.ids, status, solver_obj, bound, pulp.LpMaximize, time.perf_counter() - t0, solver,
                                log_path, time_limit)  # fmt: skip
        if self.tie is None or sol.status != "optimal":
            return sol
        # second stage: the most tie-break weight among the plans that keep this optimum
        floor = sol.objective - 1e-7 * max(1.0, abs(sol.objective))
        tc = np.zeros(n)
        for first, tw in tie_cost:
            tc[first : first + len(tw)] = tw
        A2 = sp.vstack([A, sp.csr_array(cost[None, :])]).tocsr()
        x2, status2, _, _ = solve_arrays(solver, tc, lower, upper, integer, A2, np.r_[row_lo, floor - offset], np.r_[row_hi, np.inf],
                                         0.0, time_limit, gap, log_path, sense="max")  # fmt: skip
        if x2 is None or status2 not in ("optimal", "feasible", "time_limit"):
            return sol
        chosen = np.sort(sb.ids[x2[:ny] > 0.5])
        if len(chosen) != self.p or self.evaluate(chosen) < floor:
            return sol
        sol2 = self.make_solution(chosen, self.evaluate(chosen), "optimal", sol.gap, sol.bound, time.perf_counter() - t0, solver, log_path)
        sol2.stats = {**sol2.stats, "tie_break": float(self.tie[self.covered_count(chosen, float(self.params.get("service_radius", 30.0))) >= 1].sum()),
                      "tie_break_status": status2}  # fmt: skip
        return sol2

    def _greedy(self, pool, k: int, start=()) -> list[int]:
        """Add ``k`` sites of ``pool`` to ``start`` one at a time, each the largest marginal objective
        (ties: lowest index), with the terms updated incrementally (column by column)."""
        cov = coverage_matrix(self.cost, float(self.params.get("service_radius", 30.0))).tocsc()
        covered = fixed_cover_count(cov, self.fixed) > 0
        relief = self.load is not None and self.lam > 0
        if relief:
            e_site, e_time = assign_nearest(self.cost, np.flatnonzero(self.fixed))
            today = label_loads(site_loads(e_site, self.load, self.n_sites), self.labels, np.flatnonzero(self.fixed))
            heavy = sorted(o for o, v in today.items() if v > self.norm)
            pos = {o: q for q, o in enumerate(heavy)}
            cap = np.array([today[o] - self.norm for o in heavy])
            office = np.array([pos.get(self.labels[s], -1) if s >= 0 else -1 for s in e_site])
            moved, free = np.zeros(len(heavy)), np.ones(self.cost.shape[0], bool)
            csc = sp.csc_array(self.cost)
        bonus = np.zeros(self.n_sites) if self.constraints.wish_bonus is None else np.asarray(self.constraints.wish_bonus, float)
        got: set[str] = set()
        plan, pool = list(start), sorted(int(j) for j in pool)

        def add(j, commit):
            rows = cov.indices[cov.indptr[j] : cov.indptr[j + 1]]
            gain = float(self.weights[rows][~covered[rows]].sum()) + float(bonus[j])
            if commit:
                covered[rows] = True
            if relief:
                r, t = csc.indices[csc.indptr[j] : csc.indptr[j + 1]], csc.data[csc.indptr[j] : csc.indptr[j + 1]]
                r = r[(t < e_time[r]) & (office[r] >= 0) & free[r]]
                d = np.bincount(office[r], weights=self.load[r], minlength=len(cap))
                gain += self.lam * float((np.minimum(moved + d, cap) - np.minimum(moved, cap)).sum())
                if commit:
                    moved[:] = moved + d
                    free[r] = False
            if self.wish_groups is not None and self.wish_groups[j] not in got:
                gain += self.wish_values.get(self.wish_groups[j], 0.0)
                if commit:
                    got.add(self.wish_groups[j])
            return gain

        for j in plan:
            add(j, True)
        while pool and len(plan) < len(start) + k:
            gains = [add(j, False) for j in pool]
            j = pool.pop(int(np.argmax(gains)))
            add(j, True)
            plan.append(j)
        return plan

    def rank(self, chosen, limit=None):
        """Order chosen sites by marginal objective (greedy; ties by index)."""
        chosen = [int(j) for j in chosen]
        return np.array(self._greedy(chosen, len(chosen) if limit is None else min(limit, len(chosen))), dtype=int)

    def heuristic(self) -> np.ndarray:
        """Greedy fallback: the required sites, then the allowed site that adds most, one at a time."""
        required = [int(j) for j in np.flatnonzero(self._mask(self.constraints.required))]
        rest = np.flatnonzero(self.allowed() & ~self._mask(self.constraints.required))
        return np.array(self._greedy(rest, self.p - len(required), start=required), dtype=int)


class LoadRelief(WeightedCriteria):
    """Relief of overloaded offices alone: open ``p`` new offices to move the most load off today's
    offices above the norm (``weights`` is the load per demand point; ``norm``, ``office_labels``
    as in :class:`WeightedCriteria`). Objective: relief in load units, plus any wish bonus."""

    name = "load"

    def __init__(self, cost_matrix, weights, p_facilities: int, fixed=None, constraints=None, reachable=None, **params):
        params = {**params, "load_weights": weights, "load_penalty": 1.0}
        super().__init__(cost_matrix, np.zeros(np.shape(weights)), p_facilities, fixed=fixed, constraints=constraints,
                         reachable=reachable, **params)  # fmt: skip
