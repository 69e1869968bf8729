"""Large MIPs handed to HiGHS as arrays (no per-variable Python objects).

Models with hundreds of thousands of variables spend most of their time in PuLP building
expressions; here the site part of the model (``p``, required, group bounds — built once by
:meth:`SitingModel._site_vars` in PuLP, a few thousand variables) is read back into arrays and
joined with the model's own rows, and the whole MIP is passed to ``highspy`` in one call. The
objective constant is passed as HiGHS's offset, so objective, bound and gap are in the model's
own units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pulp
import scipy.sparse as sp


@dataclass
class SiteBlock:
    """The site variables and their constraints as arrays."""

    ids: np.ndarray  # site index of each y column
    rows: sp.csr_array  # (n_rows, n_y)
    lower: np.ndarray
    upper: np.ndarray


def site_block(model, exact_p: bool = True) -> SiteBlock:
    """``y`` variables of the allowed sites with every site constraint of ``model`` (read from PuLP);
    ``exact_p=False`` leaves out ``Σ y = p`` (models whose site count is the result)."""
    prob = pulp.LpProblem("sites", pulp.LpMinimize)
    y = model._site_vars(prob, exact_p=exact_p)
    ids = np.fromiter(y.keys(), dtype=np.int64, count=len(y))
    col = {v.name: k for k, v in enumerate(y.values())}
    r, c, v, lo, hi = [], [], [], [], []
    for k, con in enumerate(prob.constraints.values()):
        for var, coef in con.items():
            r.append(k), c.append(col[var.name]), v.append(float(coef))
        rhs = -float(con.constant)
        lo.append(rhs if con.sense in (pulp.LpConstraintEQ, pulp.LpConstraintGE) else -np.inf)
        hi.append(rhs if con.sense in (pulp.LpConstraintEQ, pulp.LpConstraintLE) else np.inf)
    rows = sp.csr_array((v, (r, c)), shape=(len(lo), len(ids)))
    return SiteBlock(ids, rows, np.asarray(lo, float), np.asarray(hi, float))


def set_matrix(lp, A) -> None:
    """``A`` (any scipy sparse matrix) as the constraint matrix of the ``highspy.HighsLp`` ``lp``
    (column-wise, sorted, 32-bit indices)."""
    import highspy

    csc = sp.csc_array(A)
    csc.sort_indices()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)


def solve_highs(cost, lower, upper, integer, A: sp.csr_array, row_lower, row_upper, offset: float, time_limit, gap: float,
                log_path: str, sense: str = "min"):  # fmt: skip
    """Solve a MIP with HiGHS; return (x or None, status, solver objective, bound), objective and
    bound with the offset included; ``status`` as in :func:`siting.models.base._run` (``optimal``
    only when HiGHS proved it)."""
    import highspy

    from .base import _stdout_to_log, run_highs

    with _stdout_to_log(log_path):  # the HiGHS banner (printed by C code on creation) goes to the log
        h = highspy.Highs()
    for k, val in {"output_flag": True, "log_to_console": False, "log_file": log_path, "threads": 1, "random_seed": 0,
                   "mip_rel_gap": float(gap)}.items():  # fmt: skip
        h.setOptionValue(k, val)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    lp = highspy.HighsLp()
    n = len(cost)
    lp.num_col_, lp.num_row_ = n, A.shape[0]
    lp.col_cost_ = np.asarray(cost, float)
    lp.col_lower_, lp.col_upper_ = np.asarray(lower, float), np.asarray(upper, float)
    lp.row_lower_, lp.row_upper_ = np.asarray(row_lower, float), np.asarray(row_upper, float)
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMaximize if sense == "max" else highspy.ObjSense.kMinimize
    set_matrix(lp, A)
    lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in integer]
    h.passModel(lp)
    with _stdout_to_log(log_path):
        run_highs(h)  # Ctrl-C stops the solve
    ms = h.getModelStatus()
    info = h.getInfo()
    sol = h.getSolution()
    has = bool(sol.value_valid)
    if ms == highspy.HighsModelStatus.kInfeasible:
        return None, "infeasible", math.nan, math.nan
    obj = float(info.objective_function_value) if has else math.nan
    bound = float(getattr(info, "mip_dual_bound", math.nan))
    if ms == highspy.HighsModelStatus.kOptimal:
        status = "optimal" if gap == 0 else "feasible"  # stopped at the requested gap: not proven optimal
    elif ms in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kIterationLimit):
        status = "time_limit"
    else:
        status = "feasible" if has else "infeasible"
    if status == "optimal" and not math.isfinite(bound):
        bound = obj
    return (np.asarray(sol.col_value, float) if has else None), status, obj, bound


def solve_arrays(solver: str, cost, lower, upper, integer, A: sp.csr_array, row_lower, row_upper, offset: float, time_limit,
                 gap: float, log_path: str, sense: str = "min"):  # fmt: skip
    """:func:`solve_highs` for ``solver="highs"``; for ``"cbc"`` the same MIP through PuLP (slower to
    build, for checks and machines without HiGHS). Same return values."""
    if solver == "highs":
        return solve_highs(cost, lower, upper, integer, A, row_lower, row_upper, offset, time_limit, gap, log_path, sense)
    from .base import _run

    prob = pulp.LpProblem("arrays", pulp.LpMaximize if sense == "max" else pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{k}", None if not np.isfinite(lo) else float(lo), None if not np.isfinite(hi) else float(hi),
                         cat="Integer" if b else "Continuous")
         for k, (lo, hi, b) in enumerate(zip(lower, upper, integer, strict=True))]  # fmt: skip
    prob += pulp.lpSum(float(c) * v for c, v in zip(cost, x, strict=True) if c) + float(offset)
    A = sp.csr_array(A)
    for r in range(A.shape[0]):
        expr = pulp.lpSum(float(v) * x[int(c)] for c, v in zip(A.indices[A.indptr[r] : A.indptr[r + 1]], A.data[A.indptr[r] : A.indptr[r + 1]], strict=True))
        lo, hi = float(row_lower[r]), float(row_upper[r])
        if lo == hi:
            prob += expr == lo, f"r{r}"
            continue
        if np.isfinite(lo):
            prob += expr >= lo, f"r{r}_lo"
        if np.isfinite(hi):
            prob += expr <= hi, f"r{r}_hi"
    status, bound = _run(prob, solver, time_limit, gap, log_path)
    if status == "infeasible":
        return None, status, math.nan, math.nan
    values = np.array([np.nan if v.value() is None else v.value() for v in x], float)
    return values, status, float(pulp.value(prob.objective) or 0.0), bound
