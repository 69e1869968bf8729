"""Shared machinery of the facility-location models: inputs, constraints, solving, solutions.

Inputs follow :mod:`spopt`: a cost matrix ``(n_demand, n_sites)`` (scipy sparse, stored entry = a
reachable time, 0.0 included, absent = unreachable; or dense with ``inf`` = unreachable), demand
weights, and a mask of *fixed* sites (the existing offices: always open, never closed).
``p_facilities`` counts *new* sites only.

Solving goes through PuLP with HiGHS (``highspy``) or CBC. The status is read from the solver
itself: PuLP calls a HiGHS run stopped by its time limit "Optimal", so the HiGHS model status and
MIP gap are read from ``highspy``; CBC's log tells whether optimality was proven.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

try:  # imported before PuLP, whose own import of highspy swallows every exception, Ctrl-C included
    import highspy
except ImportError:  # HiGHS missing: solver "highs" reports it as not available
    highspy = None
import pulp  # noqa: E402

from siting.errors import InfeasibleError, SitingError

log = logging.getLogger(__name__)

SOLVERS = ("highs", "cbc")


@dataclass
class SiteConstraints:
    """Constraints on which sites may open, shared by every model.

    Attributes
    ----------
    required : array of bool or list of int, optional
        Candidate sites that must open (a boolean mask over the sites or a list of site indices).
    forbidden : array of bool or list of int, optional
        Candidate sites that must not open (e.g. in municipalities that declined an office).
    groups : dict[str, array of str], optional
        Group label per site, e.g. ``{"politidistrikt": [...], "kommunenummer": [...]}``.
    max_per_group, min_per_group : dict[str, int | dict[str, int]]
        Bounds on *new* sites per group, a number for every group or a dict per label.
    wish_bonus : array of float, optional
        Objective bonus per site (in the objective's units), e.g. for municipalities that asked
        for an office and offered premises.
    """

    required: np.ndarray | None = None
    forbidden: np.ndarray | None = None
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    max_per_group: dict[str, int | dict[str, int]] = field(default_factory=dict)
    min_per_group: dict[str, int | dict[str, int]] = field(default_factory=dict)
    wish_bonus: np.ndarray | None = None
    names: list[str] | None = None  # site names for messages


@dataclass
class Solution:
    """The result of a model solve.

    Attributes
    ----------
    selected : ndarray of int
        New sites, in rank order (greedy order of marginal contribution).
    open_sites : ndarray of int
        Fixed plus selected sites.
    assignment : ndarray of int
        Per demand point, the nearest open site (``-1`` if none reachable).
    assignment_time : ndarray of float
        Time to that site (``inf`` if none).
    objective, bound, gap : float
        Objective value, best bound, relative gap (0 when proven optimal).
    status : str
        ``optimal`` (proven), ``feasible``, ``time_limit``, ``infeasible`` or ``heuristic``.
    """

    model: str
    selected: np.ndarray
    open_sites: np.ndarray
    assignment: np.ndarray
    assignment_time: np.ndarray
    objective: float
    status: str
    gap: float
    bound: float
    runtime: float
    solver: str
    log_path: str | None = None
    stats: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "model": self.model,
            "solver": self.solver,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "runtime_s": round(self.runtime, 3),
            "new_sites": [int(i) for i in self.selected],
            **self.stats,
        }


def as_csr(cost_matrix, reachable=None) -> sp.csr_array:
    """Cost matrix as CSR with stored entry = reachable pair (time 0.0 included).

    Dense input: ``inf`` = unreachable. Sparse input: every *stored* entry is a reachable time (an
    explicitly stored 0.0 is a real zero), an absent entry is unreachable. scipy drops zeros when a
    sparse matrix is built from a dense one (``sp.csr_array(dense)``); pass ``reachable`` (a boolean
    mask, dense or sparse, of the reachable pairs) to restore them: a reachable pair that is not
    stored then has time 0.

    Raises :class:`SitingError` (naming ``cost_matrix``) for a matrix that is not 2-D and numeric,
    has NaN or negative times, or stores ``inf``/NaN in a sparse matrix.
    """
    if sp.issparse(cost_matrix):
        csr = sp.csr_array(cost_matrix)
        if csr.dtype.kind not in "iuf":
            raise SitingError(f"cost_matrix: expected numeric travel times, got dtype {csr.dtype}")
        csr = csr.astype(float)
        csr.sum_duplicates()
        if not np.all(np.isfinite(csr.data)):
            raise SitingError("cost_matrix: a sparse matrix stores reachable pairs only; stored entries must be finite "
                              "times (leave unreachable pairs out instead of storing inf/NaN)")  # fmt: skip
    else:
        dense = np.asarray(cost_matrix)
        if dense.dtype.kind not in "iuf":
            raise SitingError(f"cost_matrix: expected numeric travel times, got dtype {dense.dtype}")
        if dense.ndim != 2:
            raise SitingError(f"cost_matrix: expected a 2-D matrix (demand points × sites), got shape {dense.shape}")
        dense = dense.astype(float)
        if np.isnan(dense).any():
            raise SitingError("cost_matrix: has NaN entries; use inf for unreachable pairs")
        rows, cols = np.nonzero(np.isfinite(dense))
        csr = sp.csr_array((dense[rows, cols], (rows, cols)), shape=dense.shape)
    if min(csr.shape) == 0:
        raise SitingError(f"cost_matrix: needs at least one demand point and one site, got shape {csr.shape}")
    if csr.nnz and csr.data.min() < 0:
        raise SitingError(f"cost_matrix: negative travel time ({csr.data.min():g}); times must be >= 0")
    if reachable is not None:
        mask = sp.csr_array(reachable if sp.issparse(reachable) else np.asarray(reachable), dtype=bool)
        if mask.shape != csr.shape:
            raise SitingError(f"reachable: expected a mask of shape {csr.shape} like cost_matrix, got {mask.shape}")
        mask.eliminate_zeros()
        outside = csr.astype(bool).multiply(mask).nnz
        if outside != csr.nnz:
            raise SitingError(f"reachable: {csr.nnz - outside} pairs have a stored time in cost_matrix but are marked unreachable")
        coo = mask.tocoo()
        values = np.asarray(csr[coo.row, coo.col]).ravel()  # 0.0 where reachable but not stored
        csr = sp.csr_array((values.astype(float), (coo.row, coo.col)), shape=csr.shape)
    return csr


def _numeric_vector(value, n: int, name: str, what: str, allow_negative: bool = False, allow_inf: bool = False) -> np.ndarray:
    """1-D float array of length ``n`` or a one-line :class:`SitingError` naming the argument."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise SitingError(f"{name}: expected numbers, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise SitingError(f"{name}: expected {n} values (one per {what}), got shape {arr.shape}")
    arr = arr.astype(float)
    bad = np.isnan(arr) | (np.isinf(arr) if not allow_inf else np.isneginf(arr))
    if bad.any():
        raise SitingError(f"{name}: entry {int(np.flatnonzero(bad)[0])} is {arr[bad][0]}; values must be finite numbers")
    if not allow_negative and (arr < 0).any():
        i = int(np.flatnonzero(arr < 0)[0])
        raise SitingError(f"{name}: entry {i} is negative ({arr[i]:g}); values must be >= 0")
    return arr


def site_mask(value, n_sites: int, name: str) -> np.ndarray:
    """Boolean mask of sites from a boolean mask of length ``n_sites`` or a list/array of site indices.

    Raises :class:`SitingError` naming the argument for any other shape, dtype or an index out of range.
    """
    if value is None:
        return np.zeros(n_sites, bool)
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise SitingError(f"{name}: expected a boolean mask of {n_sites} sites or a list of site indices, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(n_sites, bool)
    if arr.dtype.kind == "b":
        if arr.shape != (n_sites,):
            raise SitingError(f"{name}: a boolean mask needs {n_sites} entries (one per site), got {arr.size}")
        return arr.copy()
    if arr.dtype.kind not in "iu":
        raise SitingError(f"{name}: expected a boolean mask or integer site indices, got dtype {arr.dtype}")
    out_of_range = (arr < 0) | (arr >= n_sites)
    if out_of_range.any():
        raise SitingError(f"{name}: site index {int(arr[out_of_range][0])} out of range 0..{n_sites - 1}")
    mask = np.zeros(n_sites, bool)
    mask[arr] = True
    if mask.sum() != arr.size:
        raise SitingError(f"{name}: a site index is given twice (a 0/1 array? pass a boolean mask: arr.astype(bool))")
    return mask


def _checked_constraints(c: SiteConstraints, n_sites: int) -> SiteConstraints:
    """A copy of ``c`` with ``required``/``forbidden`` as boolean masks, every array checked against ``n_sites``."""
    from dataclasses import replace

    groups = {}
    for g, labels in c.groups.items():
        arr = np.asarray(labels)
        if arr.shape != (n_sites,):
            raise SitingError(f"groups['{g}']: expected {n_sites} labels (one per site), got shape {arr.shape}")
        groups[g] = arr
    for kind, spec in (("max_per_group", c.max_per_group), ("min_per_group", c.min_per_group)):
        for g, b in spec.items():
            for v in (b.values() if isinstance(b, dict) else [b]):
                if v is not None and not (isinstance(v, int | np.integer) and v >= 0):
                    raise SitingError(f"{kind}['{g}']: expected a whole number >= 0 of new sites, got {v!r}")
    bonus = None if c.wish_bonus is None else _numeric_vector(c.wish_bonus, n_sites, "wish_bonus", "site", allow_negative=True)
    if c.names is not None and len(c.names) != n_sites:
        raise SitingError(f"names: expected {n_sites} site names, got {len(c.names)}")
    return replace(c, required=site_mask(c.required, n_sites, "required"), forbidden=site_mask(c.forbidden, n_sites, "forbidden"),
                   groups=groups, wish_bonus=bonus)  # fmt: skip


class SitingModel:
    """Base class: holds inputs, checks constraints, solves with PuLP, reports the truth."""

    name = "model"
    sense = pulp.LpMaximize

    def __init__(self, cost_matrix, weights, p_facilities: int, fixed=None, constraints=None, reachable=None, **params):
        self.cost = as_csr(cost_matrix, reachable)
        n_demand, n_sites = self.cost.shape
        self.weights = _numeric_vector(weights, n_demand, "weights", "demand point")
        self.fixed = site_mask(fixed, n_sites, "fixed")
        self.p = int(p_facilities)
        self.constraints = _checked_constraints(constraints or SiteConstraints(), n_sites)
        for key in ("fixed_times", "demand_groups"):
            if params.get(key) is not None:
                if key == "fixed_times":
                    params[key] = _numeric_vector(params[key], n_demand, key, "demand point", allow_inf=True)
                elif np.asarray(params[key]).shape != (n_demand,):
                    raise SitingError(f"{key}: expected {n_demand} labels (one per demand point), got shape {np.asarray(params[key]).shape}")
        for key in ("service_radius", "unreachable_minutes"):
            v = params.get(key)
            if v is not None and not (isinstance(v, int | float | np.number) and math.isfinite(v) and v > 0):
                raise SitingError(f"{key}: expected a positive number of minutes, got {v!r}")
        self.params = params
        self._check()

    @classmethod
    def from_cost_matrix(cls, cost_matrix, weights, p_facilities: int = 0, fixed=None, constraints=None, reachable=None, **params):
        """Build the model from arrays.

        Parameters
        ----------
        cost_matrix : array or scipy sparse, shape (n_demand, n_sites)
            Travel times in minutes; dense ``inf`` or an absent sparse entry = unreachable, a stored
            sparse 0.0 = time 0 (see :func:`as_csr`).
        weights : array of float, shape (n_demand,)
            Demand weights (population), finite and >= 0.
        p_facilities : int
            Number of *new* sites to open.
        fixed : array of bool (n_sites,) or list of int, optional
            Existing sites, always open: a boolean mask or a list of site indices.
        constraints : SiteConstraints, optional
            ``required``/``forbidden`` also as masks or index lists.
        reachable : array of bool or sparse, optional
            For a sparse ``cost_matrix`` whose zeros were not stored: the reachable pairs.

        Every array is checked (shape, dtype, range); a bad one raises :class:`SitingError` naming it.
        """
        return cls(cost_matrix, weights, p_facilities, fixed=fixed, constraints=constraints, reachable=reachable, **params)

    @classmethod
    def from_geodataframe(
        cls, demand, sites, cost_matrix, weight_col: str, p_facilities: int = 0, fixed_col: str | None = None,
        group_cols: tuple[str, ...] = (), constraints: SiteConstraints | None = None, **params,
    ):  # fmt: skip
        """Build the model from GeoDataFrames of demand points and sites (rows match the matrix)."""
        constraints = constraints or SiteConstraints()
        for col in group_cols:
            constraints.groups.setdefault(col, sites[col].astype(str).to_numpy())
        if constraints.names is None and "name" in sites:
            constraints.names = sites["name"].astype(str).tolist()
        fixed = sites[fixed_col].to_numpy(bool) if fixed_col else None
        return cls(cost_matrix, demand[weight_col].to_numpy(float), p_facilities, fixed=fixed, constraints=constraints, **params)

    # ---------------------------------------------------------------- constraints
    @property
    def n_sites(self) -> int:
        return self.cost.shape[1]

    def _mask(self, arr) -> np.ndarray:
        return site_mask(arr, self.n_sites, "sites")

    def allowed(self) -> np.ndarray:
        """Candidate sites that may open."""
        return ~self.fixed & ~self._mask(self.constraints.forbidden)

    def _site_name(self, j: int) -> str:
        names = self.constraints.names
        return names[j] if names else f"site {j}"

    def _bounds(self, kind: str) -> list[tuple[str, str, int, np.ndarray]]:
        spec = self.constraints.max_per_group if kind == "max" else self.constraints.min_per_group
        out = []
        for group, bound in spec.items():
            if group not in self.constraints.groups:
                raise SitingError(f"constraint on '{group}' but sites carry no such label")
            labels = np.asarray(self.constraints.groups[group]).astype(str)
            for label in sorted(set(labels[~self.fixed])):
                b = bound.get(label) if isinstance(bound, dict) else bound
                if b is not None:
                    out.append((group, label, int(b), labels == label))
        return out

    def _check(self) -> None:
        c = self.constraints
        required, forbidden = self._mask(c.required), self._mask(c.forbidden)
        both = np.flatnonzero(required & forbidden)
        if len(both):
            raise InfeasibleError(f"{self._site_name(both[0])} is both required and forbidden")
        if np.any(required & self.fixed):
            j = np.flatnonzero(required & self.fixed)[0]
            raise InfeasibleError(f"{self._site_name(j)} is an existing office, it cannot be required as new")
        if self.p < 0:
            raise InfeasibleError(f"number of new offices must be >= 0, got {self.p}")
        n_allowed = int(self.allowed().sum())
        if self.p > n_allowed and self.name not in ("lscp",):
            raise InfeasibleError(f"p={self.p} new offices but only {n_allowed} candidate sites are allowed")
        if required.sum() > self.p and self.name not in ("lscp",):
            raise InfeasibleError(f"{int(required.sum())} sites are required but only p={self.p} new offices")
        allowed = self.allowed()
        for group, label, b, members in self._bounds("min"):
            avail = int((members & allowed).sum())
            if b > avail:
                raise InfeasibleError(
                    f"{group} {label}: at least {b} new offices required but only {avail} candidates allowed"
                )
        for group, label, b, members in self._bounds("max"):
            req = int((members & required).sum())
            if req > b:
                raise InfeasibleError(f"{group} {label}: {req} sites required but at most {b} new offices allowed")
        if self.name not in ("lscp",):
            mins = sum(b for _, _, b, _ in self._bounds("min"))
            if mins > self.p and len({g for g, *_ in self._bounds("min")}) == 1:
                raise InfeasibleError(f"minimum new offices per group add up to {mins} but p={self.p}")

    def _site_vars(self, prob: pulp.LpProblem, exact_p: bool = True) -> dict[int, pulp.LpVariable]:
        """Binary open-variables for the allowed candidates, with p, required and group constraints."""
        allowed = np.flatnonzero(self.allowed())
        y = {int(j): pulp.LpVariable(f"y_{j}", cat="Binary") for j in allowed}
        if exact_p:
            prob += pulp.lpSum(y.values()) == self.p, "p_new_sites"
        for j in np.flatnonzero(self._mask(self.constraints.required)):
            prob += y[int(j)] == 1, f"required_{j}"
        for kind in ("max", "min"):
            for group, label, b, members in self._bounds(kind):
                expr = pulp.lpSum(y[int(j)] for j in np.flatnonzero(members) if int(j) in y)
                cname = re.sub(r"\W", "_", f"{kind}_{group}_{label}")
                prob += (expr <= b) if kind == "max" else (expr >= b), cname
        return y

    def bonus_of(self, chosen) -> float:
        """Total wish bonus of the ``chosen`` new sites."""
        bonus = self.constraints.wish_bonus
        return 0.0 if bonus is None else float(bonus[np.asarray(chosen, int)].sum())

    def _bonus(self, y: dict[int, pulp.LpVariable]):
        bonus = self.constraints.wish_bonus
        if bonus is None:
            return 0
        return pulp.lpSum(float(bonus[j]) * v for j, v in y.items() if bonus[j])

    # ---------------------------------------------------------------- solving
    def build(self) -> tuple[pulp.LpProblem, dict[int, pulp.LpVariable]]:
        raise NotImplementedError

    def solve(
        self, solver: str = "highs", time_limit: float | None = 600, gap: float = 0.0, log_path: str | Path | None = None
    ) -> Solution:
        """Solve to proven optimality (or until ``time_limit`` seconds / relative ``gap``).

        The reported ``objective`` is the model's objective of the chosen sites recomputed from the
        matrix (:meth:`evaluate`), ``bound`` the solver's proven bound in the same units (objective
        constant and maximisation sign kept) and ``gap`` = ``|objective − bound| / |objective|``.
        Solver output goes to ``log_path`` only (a temporary file when not given).

        Returns
        -------
        Solution
            ``status`` is ``optimal`` only when the solver proved it.
        """
        t0 = time.perf_counter()
        prob, y = self.build()
        if isinstance(prob, Solution):  # trivial model solved without a MIP
            prob.runtime = time.perf_counter() - t0
            return prob
        log_path = self._log_path(log_path)
        warm = solver == "cbc" and self.name in ("mclp", "pmedian", "backup") and bool(y)
        if warm:  # greedy warm start for CBC (PuLP passes none to the HiGHS API); an infeasible start is ignored
            start = set(int(j) for j in self.heuristic())
            for j, v in y.items():
                v.setInitialValue(1 if j in start else 0)
        status, bound = _run(prob, solver, time_limit, gap, log_path, warm_start=bool(warm))
        runtime = time.perf_counter() - t0
        if status == "infeasible":
            raise InfeasibleError(f"{self.name}: the constraints cannot all be met (solver says infeasible)")
        values = np.array([np.nan if v.value() is None else v.value() for v in y.values()], dtype=float)
        integral = np.all(np.isfinite(values)) and np.all(np.minimum(values, 1 - values) < 1e-6)
        if y and (not integral or (self.name != "lscp" and int((values > 0.5).sum()) != self.p)):
            return self._fallback(bound, runtime, solver, log_path, time_limit)
        chosen = np.array(sorted(j for j, v in y.items() if (v.value() or 0) > 0.5), dtype=int)
        return self._finish(chosen, float(pulp.value(prob.objective) or 0.0), bound, prob.sense, status, runtime, solver, log_path)

    def _fallback(self, bound: float, runtime: float, solver: str, log_path, time_limit) -> Solution:
        """The solver stopped before any solution: the greedy plan (checked against every constraint)
        with the solver's bound, status ``heuristic``."""
        chosen = self.heuristic()
        self._check_plan(chosen, time_limit)
        log.warning("%s: no solution within the time limit; greedy heuristic used", self.name)
        objective = self.evaluate(chosen)
        return self.make_solution(chosen, objective, "heuristic", relative_gap(objective, bound), bound, runtime, solver, log_path)

    def _from_arrays(self, x, ny: int, ids, status: str, solver_objective: float, bound: float, sense: int, runtime: float,
                     solver: str, log_path, time_limit) -> Solution:  # fmt: skip
        """An array model's answer (site variables are ``x[:ny]``, for the sites ``ids``) as a checked
        :class:`Solution`: infeasible is an error, no integral plan falls back to :meth:`_fallback`."""
        if status == "infeasible":
            raise InfeasibleError(f"{self.name}: the constraints cannot all be met (solver says infeasible)")
        yv = x[:ny] if x is not None else np.full(ny, np.nan)
        if ny and (np.any(~np.isfinite(yv)) or np.any(np.minimum(yv, 1 - yv) > 1e-6) or int((yv > 0.5).sum()) != self.p):
            return self._fallback(bound, runtime, solver, log_path, time_limit)
        return self._finish(np.sort(np.asarray(ids)[yv > 0.5]), solver_objective, bound, sense, status, runtime, solver, log_path)

    def _log_path(self, log_path) -> str:
        """``log_path`` as a string, or a fresh temporary file for the solver's log."""
        return str(log_path) if log_path else tempfile.mkstemp(prefix=f"siting-{self.name}-", suffix=".log")[1]

    def _finish(self, chosen, solver_objective: float, bound: float, sense: int, status: str, runtime: float, solver: str,
                log_path) -> Solution:  # fmt: skip
        """The solver's plan as a :class:`Solution`: objective recomputed from the matrix and checked
        against the solver's (:meth:`_check_objective`), gap from the bound, and ``optimal`` only when
        that gap is within the solver's tolerances."""
        objective = self.evaluate(chosen)
        self._check_objective(objective, solver_objective, bound, sense)
        rel = relative_gap(objective, bound)
        if status == "optimal" and rel > 1e-6:  # proven optimal within the solver's tolerances only
            status = "feasible"
        return self.make_solution(chosen, objective, status, rel, bound, runtime, solver, log_path)

    def _check_objective(self, objective: float, solver_objective: float, bound: float, sense: int) -> None:
        """The recomputed objective must match the solver's incumbent (or improve on it: its assignment
        part may be suboptimal) and respect the bound; otherwise the model is wrong — never report it."""
        tol = 1e-5 * max(1.0, abs(objective)) + 1e-6
        worse = objective - solver_objective if sense == pulp.LpMinimize else solver_objective - objective
        beyond = (bound - objective if sense == pulp.LpMinimize else objective - bound) if math.isfinite(bound) else -math.inf
        if worse > tol or beyond > tol:
            raise RuntimeError(
                f"{self.name}: internal check failed: objective of the chosen sites {objective:.6g}, solver objective "
                f"{solver_objective:.6g}, bound {bound:.6g}; please report this"
            )

    def _check_plan(self, chosen, time_limit) -> None:
        """A fallback plan must meet every constraint; otherwise there is no answer to give."""
        chosen = np.asarray(chosen, int)
        mask = np.zeros(self.n_sites, bool)
        mask[chosen] = True
        required = self._mask(self.constraints.required)
        ok = len(chosen) == self.p and not (mask & ~self.allowed()).any() and not (required & ~mask).any()
        for kind in ("max", "min"):
            for _, _, b, members in self._bounds(kind):
                n = int((members & mask).sum())
                ok &= n <= b if kind == "max" else n >= b
        if not ok:
            raise SitingError(f"{self.name}: no solution meeting the constraints within the time limit ({time_limit} s); "
                              "raise solver.time_limit")  # fmt: skip

    def heuristic(self) -> np.ndarray:
        """Greedy fallback: add the allowed site that most reduces population-weighted time, p times."""
        required = np.flatnonzero(self._mask(self.constraints.required))
        rest = self.rank(np.flatnonzero(self.allowed() & ~self._mask(self.constraints.required)), limit=self.p - len(required))
        return np.r_[required, rest].astype(int)

    def evaluate(self, chosen) -> float:
        """The model's objective for fixed + ``chosen`` recomputed from the matrix (here the p-median
        objective: population-weighted time, unreachable at the penalty cost, minus any wish bonus)."""
        return self.weighted_time(chosen) - self.bonus_of(chosen)

    def weighted_time(self, chosen) -> float:
        """Population-weighted time of fixed + ``chosen`` (unreachable at the penalty cost)."""
        _, t = assign_nearest(self.cost, np.r_[np.flatnonzero(self.fixed), np.asarray(chosen, int)].astype(int))
        return float(np.dot(self.weights, np.where(np.isfinite(t), t, unreachable_cost(self))))

    def covered_count(self, chosen, radius: float) -> np.ndarray:
        """Per demand point, the number of open sites (fixed + ``chosen``) within ``radius`` minutes."""
        open_sites = np.r_[np.flatnonzero(self.fixed), np.asarray(chosen, int)].astype(int)
        sub = self.cost[:, open_sites].tocoo()
        return np.bincount(sub.row[sub.data <= radius + 1e-9], minlength=self.cost.shape[0])

    def make_solution(self, chosen, objective, status, gap, bound, runtime, solver, log_path, stats=None) -> Solution:
        ranked = self.rank(chosen)
        open_sites = np.r_[np.flatnonzero(self.fixed), ranked].astype(int)
        assign, t = assign_nearest(self.cost, open_sites)
        stats = {**(stats or getattr(self, "stats", {})), **self.cutoff_report(t, objective)}
        return Solution(
            model=self.name, selected=ranked, open_sites=np.sort(open_sites), assignment=assign, assignment_time=t,
            objective=objective, status=status, gap=gap, bound=bound, runtime=runtime, solver=solver,
            log_path=log_path, stats=stats,
        )  # fmt: skip

    #: Objective counts drive times (not only coverage within a radius): a matrix cutoff can matter.
    time_objective = False

    def cutoff_report(self, assigned_time: np.ndarray, objective: float) -> dict:
        """With ``cutoff_minutes`` (the matrix holds no time beyond it): how many demand points have no
        open site within the cutoff, and whether the cutoff could have changed the optimum.

        For a time objective it cannot when every such point is within the cutoff of its assigned
        site and the penalty for a point beyond it is at most the cutoff: every uncut time beyond
        the cutoff is then at least what the model charged, so the model's objective of any plan is
        a lower limit of its uncut objective and equals it for the chosen plan. For coverage models
        the cutoff changes nothing when it is at least the service radius.
        """
        cutoff = self.params.get("cutoff_minutes")
        if cutoff is None:
            return {}
        beyond = (self.weights > 0) & ~np.isfinite(assigned_time)
        report = {"cutoff_minutes": float(cutoff), "beyond_cutoff_points": int(beyond.sum()),
                  "beyond_cutoff_population": float(self.weights[beyond].sum())}  # fmt: skip
        if self.time_objective:
            report["cutoff_penalty_minutes"] = unreachable_cost(self)
            may = bool(beyond.any()) or unreachable_cost(self) > float(cutoff) + 1e-9
        else:
            may = float(self.params.get("service_radius", 0.0)) > float(cutoff) + 1e-9
        report["cutoff_may_change_optimum"] = may
        return report

    def rank(self, chosen: np.ndarray, limit: int | None = None) -> np.ndarray:
        """Order chosen sites by marginal gain in population-weighted time (greedy, ties by index);
        with ``limit``, stop after that many (the greedy heuristic)."""
        chosen = [int(j) for j in chosen]
        limit = len(chosen) if limit is None else min(limit, len(chosen))
        best = _nearest_time(self.cost, np.flatnonzero(self.fixed))
        best[~np.isfinite(best)] = 1e6  # unreachable so far: any reachable site is a large gain
        csc = sp.csc_array(self.cost)
        cols = {j: (csc.indices[csc.indptr[j] : csc.indptr[j + 1]], csc.data[csc.indptr[j] : csc.indptr[j + 1]]) for j in chosen}
        order = []
        while chosen and len(order) < limit:
            gains = [float(np.dot(self.weights[r], np.maximum(best[r] - d, 0.0))) for r, d in (cols[j] for j in chosen)]
            j = chosen.pop(int(np.argmax(gains)))
            order.append(j)
            r, d = cols[j]
            best[r] = np.minimum(best[r], d)
        return np.array(order, dtype=int)


def unreachable_cost(model: SitingModel) -> float:
    """Cost charged for a demand point no open site reaches: ``unreachable_minutes`` if given; else,
    for a matrix cut at ``cutoff_minutes``, the cutoff itself (a lower limit of every time beyond
    it, so the objective and bound stay lower limits of the uncut ones); else twice the largest
    time in the matrix."""
    given = model.params.get("unreachable_minutes")
    if given is not None:
        return float(given)
    cutoff = model.params.get("cutoff_minutes")
    if cutoff is not None:
        return float(cutoff)
    top = float(model.cost.data.max()) if model.cost.nnz else 60.0
    return 2.0 * max(top, 1.0)


def _nearest_time(cost: sp.csr_array, sites) -> np.ndarray:
    _, t = assign_nearest(cost, np.asarray(sites, dtype=int))
    return t.astype(float)


def assign_nearest(cost: sp.csr_array, open_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open site per demand point (``-1``/``inf`` where none is reachable)."""
    n = cost.shape[0]
    if len(open_sites) == 0:
        return np.full(n, -1), np.full(n, np.inf)
    sub = cost[:, open_sites].tocoo()
    best = np.full(n, np.inf)
    arg = np.full(n, -1)
    order = np.lexsort((sub.col, sub.data))  # by time, ties by site order
    rows, cols, vals = sub.row[order], sub.col[order], sub.data[order]
    first = np.unique(rows, return_index=True)[1]
    best[rows[first]] = vals[first]
    arg[rows[first]] = np.asarray(open_sites)[cols[first]]
    return arg, best


def relative_gap(objective: float, bound: float) -> float:
    """``|objective − bound| / |objective|`` (0 when both are 0, ``inf`` when the bound is unknown)."""
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    diff = abs(objective - bound)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / abs(objective) if objective else math.inf


def _fold_constant(prob: pulp.LpProblem) -> None:
    """Move the objective constant onto a variable fixed at 1, so that the solver optimises (and
    measures its relative gap on) the true objective; PuLP would pass it to neither solver."""
    obj = prob.objective
    constant = float(getattr(obj, "constant", 0.0) or 0.0)
    if constant:
        one = pulp.LpVariable("objective_constant", 1, 1)
        expr = obj.copy()
        expr.constant = 0
        expr.addterm(one, constant)
        prob.setObjective(expr)


_stdout_lock = threading.Lock()
_stdout_depth = 0


@contextlib.contextmanager
def _stdout_to_log(log_path: str):
    """Send whatever the solver library prints on the process's stdout (e.g. the HiGHS banner, written
    by C code and so beyond ``sys.stdout``) to ``log_path`` instead of the terminal."""
    global _stdout_depth
    libc = ctypes.CDLL(None)
    with _stdout_lock:
        _stdout_depth += 1
        outer = _stdout_depth == 1
        if outer:
            sys.stdout.flush()
            libc.fflush(None)
            saved = os.dup(1)
            capture = tempfile.TemporaryFile()
            os.dup2(capture.fileno(), 1)
    try:
        yield
    finally:
        with _stdout_lock:
            _stdout_depth -= 1
            if outer:
                sys.stdout.flush()
                libc.fflush(None)  # also flushes the solver's own log file
                os.dup2(saved, 1)
                os.close(saved)
                capture.seek(0)
                text = capture.read()
                capture.close()
                if text:
                    with open(log_path, "ab") as fh:
                        fh.write(b"\n--- solver console output ---\n" + text)


def run_highs(h) -> None:
    """``h.run()``, but Ctrl-C stops it: ``Highs.run()`` alone keeps solving until HiGHS finishes (up to
    the time limit) while the interrupt waits. HiGHS runs in highspy's solver thread; on Ctrl-C it is
    cancelled through its interrupt callbacks and the interrupt is raised here."""
    h.HandleUserInterrupt = True
    h.startSolve()
    try:
        while not h.wait(0.1)[0]:
            pass
    except KeyboardInterrupt:
        h.cancelSolve()
        h.joinSolve()
        raise


class _InterruptibleHiGHS(pulp.HiGHS):
    """PuLP's HiGHS API with :func:`run_highs` (Ctrl-C stops the solve)."""

    def callSolver(self, lp):
        run_highs(lp.solverModel)


def _solve(prob: pulp.LpProblem, api, solver: str) -> int:
    """``prob.solve`` with solver failures as one-line errors (Ctrl-C still stops the run)."""
    if solver == "highs" and highspy is None:
        raise SitingError("solver 'highs' is not available: install highspy (pip install highspy) or set solver.name: cbc")
    try:
        return prob.solve(api)
    except pulp.PulpSolverError as exc:
        first = (str(exc).strip().splitlines() or ["no message"])[0][:200]
        raise SitingError(f"solver '{solver}' failed: {first}") from None


def _run(prob: pulp.LpProblem, solver: str, time_limit, gap: float, log_path: str, warm_start: bool = False) -> tuple[str, float]:
    """Solve ``prob``; return (status, bound) as proven by the solver, the bound in the objective's
    units (constant included, maximisation sign kept; ``nan`` if none)."""
    if solver not in SOLVERS:
        raise SitingError(f"unknown solver '{solver}' (allowed: {', '.join(SOLVERS)})")
    _fold_constant(prob)
    sign = -1.0 if prob.sense == pulp.LpMaximize else 1.0  # both solvers minimise sign × objective
    if solver == "highs":
        s = _InterruptibleHiGHS(msg=False, timeLimit=time_limit, gapRel=gap, log_file=log_path, output_flag=True,
                       log_to_console=False, threads=1, random_seed=0)  # fmt: skip
        with _stdout_to_log(log_path):
            _solve(prob, s, solver)
        h = prob.solverModel
        ms = h.getModelStatus()
        info = h.getInfo()
        bound = sign * float(getattr(info, "mip_dual_bound", math.nan))
        if ms == highspy.HighsModelStatus.kOptimal:
            status = "optimal" if gap == 0 else "feasible"  # stopped at the requested gap: not proven optimal
        elif ms == highspy.HighsModelStatus.kInfeasible:
            return "infeasible", math.nan
        elif ms in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kIterationLimit):
            status = "time_limit"
        else:
            status = "feasible" if h.getSolution().value_valid else "infeasible"
        if status != "time_limit" and prob.numVariables() and not h.getSolution().value_valid:
            return "infeasible", math.nan
        if status == "optimal" and not math.isfinite(bound):
            bound = float(pulp.value(prob.objective))
        return status, bound
    s = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=gap or None, logPath=log_path, threads=1, warmStart=warm_start,
                          options=["randomSeed 1", "randomCbcSeed 1"])  # fmt: skip
    code = _solve(prob, s, solver)
    text = Path(log_path).read_text(errors="replace") if Path(log_path).exists() else ""
    if code == pulp.LpStatusInfeasible or "Result - Problem proven infeasible" in text:
        return "infeasible", math.nan
    # CBC prints its objective and bound in the minimised sense (× -1 for a maximisation)
    bound = _cbc_number(text, r"Lower bound:\s+(-?[\d.e+-]+)")
    bound = math.nan if bound is None else sign * bound
    proven = "Result - Optimal solution found" in text or (code == pulp.LpStatusOptimal and "Result -" not in text)
    if proven:
        return ("optimal" if not gap else "feasible"), float(pulp.value(prob.objective)) if gap == 0 or math.isnan(bound) else bound
    if "Stopped on time" in text:
        return "time_limit", bound
    return "feasible", bound


def _cbc_number(text: str, pattern: str) -> float | None:
    m = re.findall(pattern, text)
    return float(m[-1]) if m else None
