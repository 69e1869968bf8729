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

import logging
import math
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pulp
import scipy.sparse as sp

from siting.errors import InfeasibleError, SitingError

log = logging.getLogger(__name__)

SOLVERS = ("highs", "cbc")


@dataclass
class SiteConstraints:
    """Constraints on which sites may open, shared by every model.

    Attributes
    ----------
    required : array of bool, optional
        Candidate sites that must open.
    forbidden : array of bool, optional
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


def as_csr(cost_matrix) -> sp.csr_array:
    """Cost matrix as CSR with stored entry = reachable (dense ``inf``/NaN = unreachable)."""
    if sp.issparse(cost_matrix):
        return sp.csr_array(cost_matrix)
    dense = np.asarray(cost_matrix, dtype=float)
    ok = np.isfinite(dense)
    rows, cols = np.nonzero(ok)
    return sp.csr_array((dense[rows, cols], (rows, cols)), shape=dense.shape)


class SitingModel:
    """Base class: holds inputs, checks constraints, solves with PuLP, reports the truth."""

    name = "model"
    sense = pulp.LpMaximize

    def __init__(self, cost_matrix, weights, p_facilities: int, fixed=None, constraints=None, **params):
        self.cost = as_csr(cost_matrix)
        n_demand, n_sites = self.cost.shape
        self.weights = np.asarray(weights, dtype=float)
        if self.weights.shape != (n_demand,):
            raise SitingError(f"weights must have {n_demand} entries (one per demand point), got {self.weights.shape}")
        if np.any(self.weights < 0) or not np.all(np.isfinite(self.weights)):
            raise SitingError("weights must be finite and non-negative")
        self.fixed = np.zeros(n_sites, bool) if fixed is None else np.asarray(fixed, bool)
        self.p = int(p_facilities)
        self.constraints = constraints or SiteConstraints()
        self.params = params
        self._check()

    @classmethod
    def from_cost_matrix(cls, cost_matrix, weights, p_facilities: int = 0, fixed=None, constraints=None, **params):
        """Build the model from arrays (see module docstring for the conventions)."""
        return cls(cost_matrix, weights, p_facilities, fixed=fixed, constraints=constraints, **params)

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
        return np.zeros(self.n_sites, bool) if arr is None else np.asarray(arr, bool)

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
        log_path = str(log_path) if log_path else tempfile.mkstemp(prefix=f"siting-{self.name}-", suffix=".log")[1]
        warm = solver == "cbc" and self.name in ("mclp", "pmedian", "backup") and bool(y)
        if warm:  # greedy warm start for CBC (PuLP passes none to the HiGHS API); an infeasible start is ignored
            start = set(int(j) for j in self.heuristic())
            for j, v in y.items():
                v.setInitialValue(1 if j in start else 0)
        status, bound, mip_gap = _run(prob, solver, time_limit, gap, log_path, warm_start=bool(warm))
        runtime = time.perf_counter() - t0
        if status == "infeasible":
            raise InfeasibleError(f"{self.name}: the constraints cannot all be met (solver says infeasible)")
        values = np.array([np.nan if v.value() is None else v.value() for v in y.values()], dtype=float)
        integral = np.all(np.isfinite(values)) and np.all(np.minimum(values, 1 - values) < 1e-6)
        if y and (not integral or (self.name != "lscp" and int((values > 0.5).sum()) != self.p)):
            # stopped before any solution: fall back to the greedy heuristic, keep the solver's bound
            chosen = self.heuristic()
            log.warning("%s: no solution within the time limit; greedy heuristic used", self.name)
            return self.make_solution(chosen, self.evaluate(chosen), "heuristic", math.inf, bound, runtime, solver, log_path)
        chosen = np.array(sorted(j for j, v in y.items() if (v.value() or 0) > 0.5), dtype=int)
        objective = float(pulp.value(prob.objective) or 0.0)
        return self.make_solution(chosen, objective, status, mip_gap, bound, runtime, solver, log_path)

    def heuristic(self) -> np.ndarray:
        """Greedy fallback: add the allowed site that most reduces population-weighted time, p times."""
        required = np.flatnonzero(self._mask(self.constraints.required))
        rest = self.rank(np.flatnonzero(self.allowed() & ~self._mask(self.constraints.required)), limit=self.p - len(required))
        return np.r_[required, rest].astype(int)

    def evaluate(self, chosen) -> float:
        """Population-weighted time of fixed + ``chosen`` (unreachable at the penalty cost)."""
        _, t = assign_nearest(self.cost, np.r_[np.flatnonzero(self.fixed), np.asarray(chosen, int)].astype(int))
        return float(np.dot(self.weights, np.where(np.isfinite(t), t, unreachable_cost(self))))

    def make_solution(self, chosen, objective, status, gap, bound, runtime, solver, log_path, stats=None) -> Solution:
        ranked = self.rank(chosen)
        open_sites = np.r_[np.flatnonzero(self.fixed), ranked].astype(int)
        assign, t = assign_nearest(self.cost, open_sites)
        return Solution(
            model=self.name, selected=ranked, open_sites=np.sort(open_sites), assignment=assign, assignment_time=t,
            objective=objective, status=status, gap=gap, bound=bound, runtime=runtime, solver=solver,
            log_path=log_path, stats=stats or getattr(self, "stats", {}),
        )  # fmt: skip

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
    """Cost charged for a demand point no open site reaches: ``unreachable_minutes`` if given,
    else twice the largest time in the matrix (documented penalty)."""
    given = model.params.get("unreachable_minutes")
    if given is not None:
        return float(given)
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


def _run(prob: pulp.LpProblem, solver: str, time_limit, gap: float, log_path: str, warm_start: bool = False) -> tuple[str, float, float]:
    """Solve ``prob``; return (status, bound, relative gap) as proven by the solver."""
    if solver not in SOLVERS:
        raise SitingError(f"unknown solver '{solver}' (allowed: {', '.join(SOLVERS)})")
    if solver == "highs":
        s = pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=gap, log_file=log_path, output_flag=True,
                       log_to_console=False, threads=1, random_seed=0)  # fmt: skip
        prob.solve(s)
        import highspy

        h = prob.solverModel
        ms = h.getModelStatus()
        info = h.getInfo()
        obj = h.getObjectiveValue()
        bound = float(getattr(info, "mip_dual_bound", obj))
        rel = float(getattr(info, "mip_gap", 0.0))
        if not math.isfinite(rel) or rel > 1e20:
            rel = math.inf
        if ms == highspy.HighsModelStatus.kOptimal:
            status = "optimal" if rel <= max(gap, 1e-4) + 1e-9 else "feasible"
            if gap > 0 and rel > 1e-6:
                status = "feasible"
        elif ms == highspy.HighsModelStatus.kInfeasible:
            return "infeasible", math.nan, math.nan
        elif ms in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kIterationLimit):
            status = "time_limit"
        else:
            status = "feasible" if h.getSolution().value_valid else "infeasible"
        if status != "time_limit" and prob.numVariables() and not h.getSolution().value_valid:
            return "infeasible", math.nan, math.nan
        return status, bound, (0.0 if status == "optimal" else rel)
    s = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=gap or None, logPath=log_path, threads=1, warmStart=warm_start,
                          options=["randomSeed 1", "randomCbcSeed 1"])  # fmt: skip
    code = prob.solve(s)
    text = Path(log_path).read_text(errors="replace") if Path(log_path).exists() else ""
    if code == pulp.LpStatusInfeasible or "Result - Problem proven infeasible" in text:
        return "infeasible", math.nan, math.nan
    bound = _cbc_number(text, r"Lower bound:\s+(-?[\d.e+]+)")
    obj = _cbc_number(text, r"Objective value:\s+(-?[\d.e+]+)")
    rel = _cbc_number(text, r"Gap:\s+(-?[\d.e+]+)")
    if "Result - Optimal solution found" in text and not (gap and rel and rel > 1e-6):
        return "optimal", obj if bound is None else bound, 0.0
    if "Stopped on time" in text:
        return "time_limit", bound if bound is not None else math.nan, rel if rel is not None else math.inf
    if code == pulp.LpStatusOptimal:  # e.g. solved in presolve, log without the summary
        return ("optimal" if not text or "Optimal" in text else "feasible"), obj or math.nan, 0.0
    return "feasible", bound if bound is not None else math.nan, rel if rel is not None else math.inf


def _cbc_number(text: str, pattern: str) -> float | None:
    m = re.findall(pattern, text)
    return float(m[-1]) if m else None
