"""Capacitated models: a workload limit per *new* office (as ArcGIS's capacitated coverage and
capacitated p-median, and spopt's capacitated p-median).

A police office handles a finite workload, so each new office may serve at most ``capacity`` units
of ``capacity_weights`` (population or reported offences per demand point; default: the model
weights). Existing (fixed) offices are not capacitated: demand a new office cannot take stays with
the nearest existing office (p-median) or is not newly covered (coverage).

Demand is **split** by default (``split_demand=True``: a 2 km demand cell may be served partly by
two offices, the usual relaxation for aggregated demand); ``split_demand=False`` allocates each
demand point whole to one office (binary allocation, as ArcGIS does).

* :class:`CapacitatedPMedian` minimises ``Σ_i w_i × time`` over allocations ``x_ij`` with
  ``Σ_i c_i x_ij ≤ C y_j`` for new sites. As in the uncapacitated p-median, a point only benefits
  from a new site strictly closer than its nearest fixed office, so only those pairs get variables:
  cost ``= Σ_i w_i base_i + Σ x_ij w_i (t_ij − base_i)`` with ``Σ_j x_ij ≤ 1``.
* :class:`CapacitatedMCLP` maximises the weight within ``service_radius`` of an office: points
  covered by a fixed office count fully; others are covered by new sites up to their capacity:
  ``z_ij ≤ y_j``, ``Σ_j z_ij ≤ 1``, ``Σ_i c_i z_ij ≤ C y_j``.

Both are exact MIPs (solved like every model, status proven by the solver) and checked against
brute force over all site sets in ``tests/test_capacitated.py``.
"""

from __future__ import annotations

import os

import numpy as np
import pulp

from siting.errors import SitingError

from .base import SitingModel, _run, assign_nearest, unreachable_cost
from .cover import coverage_matrix, fixed_cover_count


class _Capacitated(SitingModel):
    def _capacity(self) -> tuple[float, np.ndarray]:
        cap = self.params.get("capacity")
        if cap is None or not np.isfinite(float(cap)) or float(cap) <= 0:
            raise SitingError(f"{self.name}: capacity must be a positive number (maximum workload per new office)")
        c = self.params.get("capacity_weights")
        c = self.weights if c is None else np.asarray(c, dtype=float)
        if c.shape != self.weights.shape or np.any(c < 0) or not np.all(np.isfinite(c)):
            raise SitingError(f"capacity_weights must be {self.weights.shape[0]} finite non-negative numbers")
        return float(cap), c

    def _pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, sites, times) of the allocation variables, sorted by row; subclasses choose the pairs."""
        raise NotImplementedError

    def _row_base(self) -> np.ndarray:
        """Per demand row, the time a pair's time is measured against (p-median: nearest fixed office)."""
        return np.zeros(self.cost.shape[0])

    def _allocation(self):
        """Allocation rows: demand points with the same pairs (sites and times), base and ratio of
        capacity weight to weight are merged when demand may be split — exact, since any split of a
        merged row can be shared out in proportion to the members' weights (same objective, same
        loads). Returns (pair row, pair site, pair time, row weight, row capacity weight, row base)."""
        rows, cols, t = self._pairs()
        _, c = self._capacity()
        base = self._row_base()
        if not len(rows):
            z = np.zeros(0)
            return rows, cols, t, z, z, z
        starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
        ends = np.r_[starts[1:], len(rows)]
        split = self.params.get("split_demand", True)
        groups: dict = {}
        g_of = np.empty(len(starts), dtype=np.int64)
        for n, (s0, e0) in enumerate(zip(starts, ends, strict=True)):
            i = rows[s0]
            key = (i,) if not split else (cols[s0:e0].tobytes(), np.round(t[s0:e0], 6).tobytes(), round(float(base[i]), 6),
                                          round(float(c[i] / self.weights[i]), 12))  # fmt: skip
            g_of[n] = groups.setdefault(key, len(groups))
        members = np.repeat(g_of, ends - starts)  # group of each pair
        first = np.unique(g_of, return_index=True)[1]
        keep = np.isin(np.arange(len(rows)), np.concatenate([np.arange(starts[k], ends[k]) for k in first]))
        row_of_group = rows[starts[first]]
        w = np.bincount(g_of, weights=self.weights[rows[starts]], minlength=len(groups))
        cw = np.bincount(g_of, weights=c[rows[starts]], minlength=len(groups))
        return members[keep], cols[keep], t[keep], w, cw, base[row_of_group]

    def _formulate(self, prob: pulp.LpProblem, y: dict) -> tuple:
        """Allocation variables and capacity rows for site variables (or 0/1 constants) ``y``;
        returns (variables, pair group, pair site, pair time, group weight, group base)."""
        cap, _ = self._capacity()
        g, cols, t, w, cw, base = self._allocation()
        cat = "Continuous" if self.params.get("split_demand", True) else "Binary"
        x = [pulp.LpVariable(f"x_{i}_{j}", 0, 1, cat=cat) for i, j in zip(g, cols, strict=True)]
        by_row: dict[int, list] = {}
        by_site: dict[int, list] = {}
        for k, (i, j) in enumerate(zip(g, cols, strict=True)):
            prob += x[k] <= y[int(j)], f"open_{i}_{j}"
            by_row.setdefault(int(i), []).append(x[k])
            if cw[i] > 0:
                by_site.setdefault(int(j), []).append(float(cw[i]) * x[k])
        for i, xs in by_row.items():
            prob += pulp.lpSum(xs) <= 1, f"one_{i}"
        for j, load in by_site.items():
            prob += pulp.lpSum(load) <= cap * y[j], f"capacity_{j}"
        self.stats = {"allocation_vars": len(x), "allocation_rows": len(w), "capacity": cap,
                      "split_demand": cat == "Continuous", "candidate_sites": int(self.allowed().sum())}  # fmt: skip
        self._x = (x, g, cols, cw)
        return x, g, cols, t, w, base

    def evaluate(self, chosen) -> float:
        """Exact capacitated objective of fixed + ``chosen`` (the allocation LP/MIP with the sites
        fixed), wish bonus included. The allocation it finds is the one :meth:`loads` reports."""
        chosen = {int(j) for j in np.asarray(chosen, int)}
        y = {int(j): (1 if int(j) in chosen else 0) for j in np.flatnonzero(self.allowed())}
        prob = pulp.LpProblem(f"{self.name}_eval", self.sense)
        prob += self._objective(prob, y, bonus=False)
        _run(prob, "highs", None, 0.0, self.params.get("log_path") or os.devnull)
        bonus = self.bonus_of(sorted(chosen))
        return float(pulp.value(prob.objective) or 0.0) + (bonus if self.sense == pulp.LpMaximize else -bonus)

    def loads(self, solution_sites, x, groups, cols, cw) -> dict[int, float]:
        """Workload (in ``capacity_weights`` units) allocated to each new site."""
        out = dict.fromkeys((int(j) for j in solution_sites), 0.0)
        for v, i, j in zip(x, groups, cols, strict=True):
            if int(j) in out and v.value():
                out[int(j)] += float(cw[i]) * float(v.value())
        return out

    def build(self):
        prob = pulp.LpProblem(self.name, self.sense)
        y = self._site_vars(prob)
        prob += self._objective(prob, y, bonus=True)
        return prob, y

    def solve(self, solver="highs", time_limit=600, gap=0.0, log_path=None):
        sol = super().solve(solver=solver, time_limit=time_limit, gap=gap, log_path=log_path)
        if getattr(self, "_x", None) is not None and sol.status != "heuristic":
            loads = self.loads(sol.selected, *self._x)
            cap = self.stats["capacity"]
            sol.stats = {**sol.stats, "load_per_new_site": {str(j): round(v, 3) for j, v in loads.items()},
                         "sites_at_capacity": int(sum(v >= cap * (1 - 1e-6) for v in loads.values()))}  # fmt: skip
        return sol


class CapacitatedPMedian(_Capacitated):
    """p-median with a workload limit per new office (see module docstring).

    Parameters (``**params``): ``capacity`` (required), ``capacity_weights``, ``split_demand``,
    ``unreachable_minutes`` (cost of a point no office reaches, as in :class:`PMedian`).
    """

    name = "capacitated_pmedian"
    sense = pulp.LpMinimize

    def _base(self) -> np.ndarray:
        _, base = assign_nearest(self.cost, np.flatnonzero(self.fixed))
        return np.where(np.isfinite(base), base, unreachable_cost(self))

    def _row_base(self) -> np.ndarray:
        return self._base()

    def _pairs(self):
        base = self._base()
        cand = np.flatnonzero(self.allowed())
        sub = self.cost[:, cand].tocoo()
        keep = (sub.data < base[sub.row] - 1e-9) & (self.weights[sub.row] > 0)
        order = np.lexsort((sub.col[keep], sub.row[keep]))
        return sub.row[keep][order], cand[sub.col[keep][order]], sub.data[keep][order]

    def _objective(self, prob, y, bonus: bool):
        x, g, _, t, w, base = self._formulate(prob, y)
        gain = [float(w[i] * (tt - base[i])) * v for v, i, tt in zip(x, g, t, strict=True)]
        return pulp.lpSum(gain) + float(np.dot(self.weights, self._base())) - (self._bonus(y) if bonus else 0)


class CapacitatedMCLP(_Capacitated):
    """Maximal coverage with a workload limit per new office (see module docstring).

    Parameters (``**params``): ``capacity`` (required), ``capacity_weights``, ``split_demand``,
    ``service_radius`` (minutes, default 30).
    """

    name = "capacitated_mclp"
    sense = pulp.LpMaximize

    def _pairs(self):
        radius = float(self.params.get("service_radius", 30.0))
        cov = coverage_matrix(self.cost, radius)
        done = fixed_cover_count(cov, self.fixed) > 0
        cand = np.flatnonzero(self.allowed())
        sub = cov[:, cand].tocoo()
        keep = ~done[sub.row] & (self.weights[sub.row] > 0)
        order = np.lexsort((sub.col[keep], sub.row[keep]))
        return sub.row[keep][order], cand[sub.col[keep][order]], np.zeros(int(keep.sum()))

    def _objective(self, prob, y, bonus: bool):
        radius = float(self.params.get("service_radius", 30.0))
        done = fixed_cover_count(coverage_matrix(self.cost, radius), self.fixed) > 0
        x, g, _, _, w, _ = self._formulate(prob, y)
        return (pulp.lpSum(float(w[i]) * v for v, i in zip(x, g, strict=True)) + float(self.weights[done].sum())
                + (self._bonus(y) if bonus else 0))  # fmt: skip

    def rank(self, chosen, limit=None):
        from .coverage import MCLP

        return MCLP.rank(self, chosen) if limit is None else super().rank(chosen, limit)

    def heuristic(self) -> np.ndarray:
        from .coverage import MCLP

        return MCLP.heuristic(self)
