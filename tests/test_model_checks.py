"""Model results checked against independent recomputation (issue 15 A2-A5).

* array arguments: index lists and boolean masks, shape/dtype/range errors naming the argument;
* bound, objective and gap in the same units (objective constant and maximisation sign kept);
* solver output goes to the log file only;
* a zero stored in a sparse matrix is a real zero; the reported objective equals the cost of the
  chosen sites recomputed from the matrix, for every model, dense and sparse.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from siting.errors import SitingError
from siting.models import LSCP, MCLP, BackupCoverage, Hybrid, PCenter, PMedian, SiteConstraints

T = 30.0
ROOT = Path(__file__).resolve().parents[1]


def synthetic_instance(seed: int, nd: int = 12, ns: int = 8, n_fixed: int = 1, zeros: bool = True):
    """Random synthetic instance: times 0-60 min, ~20 % unreachable (inf), some exact zeros."""
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 60, (nd, ns)).round(1)
    cost[rng.random((nd, ns)) < 0.2] = np.inf
    if zeros:  # sites standing on demand points: time 0
        cost[rng.random((nd, ns)) < 0.15] = 0.0
    w = rng.integers(1, 100, nd).astype(float)
    fixed = np.zeros(ns, bool)
    fixed[:n_fixed] = True
    return cost, w, fixed


def explicit_sparse(dense: np.ndarray) -> sp.csr_array:
    """Sparse matrix storing every reachable pair, zeros included (the documented convention)."""
    rows, cols = np.nonzero(np.isfinite(dense))
    return sp.csr_array((dense[rows, cols], (rows, cols)), shape=dense.shape)


def times_to(cost, open_sites):
    return cost[:, list(open_sites)].min(axis=1) if len(open_sites) else np.full(cost.shape[0], np.inf)


# --------------------------------------------------------------------------------------------- A2
def test_fixed_as_index_list_equals_boolean_mask():
    cost, w, _ = synthetic_instance(0, zeros=False)
    mask = np.zeros(cost.shape[1], bool)
    mask[[0, 3]] = True
    by_mask = MCLP.from_cost_matrix(cost, w, 2, fixed=mask, service_radius=T).solve()
    by_list = MCLP.from_cost_matrix(cost, w, 2, fixed=[0, 3], service_radius=T).solve()
    assert {0, 3} <= set(by_list.open_sites)
    assert list(by_list.selected) == list(by_mask.selected) and by_list.objective == by_mask.objective
    m = PMedian.from_cost_matrix(cost, w, 1, fixed=[0])
    assert list(np.flatnonzero(m.fixed)) == [0]
    # required / forbidden as index lists too
    cons = SiteConstraints(required=[5], forbidden=np.array([1, 2]))
    sol = MCLP.from_cost_matrix(cost, w, 2, fixed=[0], constraints=cons, service_radius=T).solve()
    assert 5 in sol.selected and not {1, 2} & set(sol.selected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fixed": [0, 9]}, "fixed.*0..7"),
        ({"fixed": [-1]}, "fixed.*0..7"),
        ({"fixed": np.ones(5, bool)}, "fixed.*8"),
        ({"fixed": [0.5]}, "fixed"),
        ({"fixed": [[0, 1]]}, "fixed"),
        ({"fixed": [1, 1]}, "fixed.*twice"),
        ({"weights": np.ones(3)}, "weights.*12"),
        ({"weights": -np.ones(12)}, "weights"),
        ({"weights": np.full(12, np.nan)}, "weights"),
        ({"weights": np.array(["a"] * 12)}, "weights"),
        ({"required": [8]}, "required.*0..7"),
        ({"forbidden": np.ones(3, bool)}, "forbidden.*8"),
        ({"groups": {"d": np.array(["A"] * 3)}}, "groups.*'d'.*8"),
        ({"wish_bonus": np.ones(2)}, "wish_bonus.*8"),
        ({"wish_bonus": np.full(8, np.inf)}, "wish_bonus"),
        ({"cost": -np.ones((12, 8))}, "cost_matrix.*negative"),
        ({"cost": np.ones(12)}, "cost_matrix.*2-D"),
        ({"cost": np.full((12, 8), np.nan)}, "cost_matrix.*NaN"),
        ({"cost": np.full((12, 8), "x")}, "cost_matrix"),
        ({"cost": sp.csr_array(np.full((12, 8), np.inf))}, "cost_matrix.*stored"),
        ({"fixed_times": np.ones(3)}, "fixed_times.*12"),
        ({"demand_groups": np.array(["a"] * 3)}, "demand_groups.*12"),
    ],
)
def test_bad_array_arguments_are_one_line_errors_naming_the_argument(kwargs, match):
    cost, w, _ = synthetic_instance(1)
    cost = kwargs.pop("cost", cost)
    w = kwargs.pop("weights", w)
    fixed = kwargs.pop("fixed", [0])
    cons = SiteConstraints(**{k: kwargs.pop(k) for k in ("required", "forbidden", "groups", "wish_bonus") if k in kwargs})
    with pytest.raises(SitingError, match=match) as exc:
        PMedian.from_cost_matrix(cost, w, 1, fixed=fixed, constraints=cons, **kwargs)
    assert "\n" not in str(exc.value)


# --------------------------------------------------------------------------------------------- A3
@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("model", [MCLP, PMedian, BackupCoverage, Hybrid])
def test_bound_and_objective_in_the_same_units_when_optimal(model, solver):
    cost, w, fixed = synthetic_instance(3, nd=25, ns=10)
    sol = model.from_cost_matrix(cost, w, 3, fixed=fixed, service_radius=T).solve(solver=solver)
    assert sol.status == "optimal"
    assert sol.bound == pytest.approx(sol.objective, rel=1e-6)
    assert sol.gap == pytest.approx(0.0, abs=1e-6)


def lcg_points(n: int, seed: int) -> np.ndarray:
    """Deterministic synthetic points in a 100 × 100 square (own LCG: independent of numpy versions)."""
    x, out = seed, []
    for _ in range(2 * n):
        x = (1103515245 * x + 12345) % 2**31
        out.append(x / 2**31 * 100)
    return np.array(out).reshape(n, 2)


def pmedian_150():
    """150 synthetic points, every point a candidate site; weights 1-7."""
    pts = lcg_points(150, 42)
    cost = np.round(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)), 1)
    return cost, (np.arange(150) % 7 + 1).astype(float)


#: p-median optimum of :func:`pmedian_150` with p = 10 (HiGHS proves it; CBC's root bound equals it).
PMEDIAN_150_OPTIMUM = 6253.9


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_time_limited_run_reports_a_true_gap(solver):
    cost, w = pmedian_150()
    sol = PMedian.from_cost_matrix(cost, w, 10).solve(solver=solver, time_limit=0.3)
    assert sol.objective == pytest.approx(float(w @ times_to(cost, sol.selected)))
    assert sol.objective >= PMEDIAN_150_OPTIMUM - 1e-6
    if np.isfinite(sol.bound):
        assert sol.bound <= PMEDIAN_150_OPTIMUM + 1e-6
        assert sol.gap == pytest.approx(abs(sol.objective - sol.bound) / abs(sol.objective))
    else:
        assert sol.gap == np.inf
    # the reported gap is an honest upper limit of how far the plan is from the best
    assert sol.gap >= (sol.objective - PMEDIAN_150_OPTIMUM) / sol.objective - 1e-9
    if sol.status == "optimal":
        assert sol.objective == pytest.approx(PMEDIAN_150_OPTIMUM)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_requested_gap_is_a_true_gap(solver):
    cost, w = pmedian_150()
    sol = PMedian.from_cost_matrix(cost, w, 10).solve(solver=solver, gap=0.02)
    assert sol.gap <= 0.02 + 1e-9 and sol.status in ("optimal", "feasible")
    assert PMEDIAN_150_OPTIMUM - 1e-6 <= sol.objective <= PMEDIAN_150_OPTIMUM * 1.02 + 1e-6
    assert sol.bound <= PMEDIAN_150_OPTIMUM + 1e-6


# --------------------------------------------------------------------------------------------- A4
@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_solver_output_goes_to_the_log_file_only(solver, tmp_path, capfd):
    cost, w, fixed = synthetic_instance(2)
    log = tmp_path / "solver.log"
    PMedian.from_cost_matrix(cost, w, 2, fixed=fixed).solve(solver=solver, log_path=log)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    text = log.read_text()
    assert text.strip()
    if solver == "highs":
        assert "HiGHS" in text


def test_highs_banner_goes_to_the_log_file(tmp_path):
    # a fresh process: HiGHS prints its banner (from C code) once per process, at the first solve
    log = tmp_path / "solver.log"
    code = (
        "import numpy as np\n"
        "from siting.models import PMedian\n"
        "PMedian.from_cost_matrix(np.array([[1.0, 2.0], [3.0, 1.0]]), np.ones(2), 1, formulation='radius')"
        f".solve(log_path={str(log)!r})\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    assert "Running HiGHS" in log.read_text()


# --------------------------------------------------------------------------------------------- C9
def test_ctrl_c_while_importing_the_solver_stops(tmp_path):
    # PuLP imports highspy inside a catch-all: Ctrl-C there was swallowed and HiGHS became "Not Available"
    code = (
        "import sys, importlib.machinery\n"
        "class Interrupt:\n"  # Ctrl-C arrives while highspy is being loaded
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'highspy':\n"
        "            return importlib.machinery.ModuleSpec(name, self)\n"
        "    def create_module(self, spec):\n"
        "        return None\n"
        "    def exec_module(self, module):\n"
        "        raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "try:\n"
        "    import siting.models\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
        "else:\n"
        "    print('continued')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.stdout.strip() == "interrupted", r.stdout + r.stderr


def test_solver_failure_is_a_one_line_error(monkeypatch):
    import pulp

    def broken(self, lp, callback=None):
        raise pulp.PulpSolverError("Pulp: Error while executing cbc\nmore detail")

    monkeypatch.setattr(pulp.PULP_CBC_CMD, "actualSolve", broken)
    cost, w, fixed = synthetic_instance(2)
    with pytest.raises(SitingError, match="solver 'cbc' failed: Pulp: Error while executing cbc$"):
        PMedian.from_cost_matrix(cost, w, 2, fixed=fixed).solve(solver="cbc")


# --------------------------------------------------------------------------------------------- A5
def test_stored_zero_is_a_real_zero():
    # demand point i sits on site i (time 0); every site reaches every point
    rng = np.random.default_rng(4)
    dense = rng.uniform(5, 50, (8, 8)).round(1)
    np.fill_diagonal(dense, 0.0)
    w = rng.integers(1, 10, 8).astype(float)
    want = PMedian.from_cost_matrix(dense, w, 3).solve()
    got = PMedian.from_cost_matrix(explicit_sparse(dense), w, 3).solve()
    assert got.objective == pytest.approx(want.objective)
    assert got.objective == pytest.approx(float(w @ times_to(dense, got.selected)))
    # sp.csr_array(dense) drops the zeros: give the reachable pairs explicitly
    implicit = sp.csr_array(dense)
    assert implicit.nnz == 56
    masked = PMedian.from_cost_matrix(implicit, w, 3, reachable=np.ones((8, 8), bool)).solve()
    assert masked.objective == pytest.approx(want.objective)


def _recompute(name, cost, w, fixed, chosen, bonus):
    """Objective of fixed + chosen computed directly from the dense matrix (independent of the models)."""
    open_ = list(np.flatnonzero(fixed)) + list(chosen)
    t = times_to(cost, open_)
    n_cov = (cost[:, open_] <= T).sum(axis=1)
    pen = 2 * max(cost[np.isfinite(cost)].max(), 1.0)
    b = float(bonus[list(chosen)].sum())
    if name == "mclp":
        return w[t <= T].sum() + b
    if name == "backup":
        return w[n_cov >= 1].sum() + w[n_cov >= 2].sum() + b
    if name == "pmedian":
        return float(w @ np.where(np.isfinite(t), t, pen)) - b
    if name == "hybrid":
        return -w[t <= T].sum() + 0.01 * float(w @ np.where(np.isfinite(t), t, pen)) - b
    if name == "pcenter":
        return t[np.isfinite(t) & (w > 0)].max()
    if name == "lscp":
        return len(chosen)
    raise AssertionError(name)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("model", [MCLP, PMedian, BackupCoverage, Hybrid, PCenter, LSCP])
def test_objective_equals_cost_recomputed_from_the_matrix(model, seed):
    cost, w, fixed = synthetic_instance(seed)
    rng = np.random.default_rng(100 + seed)
    bonus = np.where(rng.random(cost.shape[1]) < 0.3, 25.0, 0.0) if model not in (PCenter, LSCP) else np.zeros(cost.shape[1])
    objectives = []
    for matrix in (cost, explicit_sparse(cost)):
        cons = SiteConstraints(wish_bonus=bonus.copy())
        kw = {"target_share": 0.7} if model is LSCP else {}
        sol = model.from_cost_matrix(matrix, w, 2, fixed=fixed, constraints=cons, service_radius=T, **kw).solve()
        assert sol.objective == pytest.approx(_recompute(model.name, cost, w, fixed, sol.selected, bonus), abs=1e-6)
        objectives.append(sol.objective)
    assert objectives[0] == pytest.approx(objectives[1])


def test_ctrl_c_during_a_highs_solve_stops_the_run(tmp_path):
    """SIGINT while HiGHS is inside its solve: it stops at once and KeyboardInterrupt reaches the caller
    (PuLP's plain ``run()`` kept solving until the time limit)."""
    log = tmp_path / "solver.log"
    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests')\n"
        "import numpy as np\n"
        "from test_model_checks import lcg_points\n"
        "from siting.models import PMedian\n"
        "cost = lcg_points(15000, 7).reshape(300, 100)\n"  # uniform random times: HiGHS needs minutes
        "try:\n"
        f"    PMedian.from_cost_matrix(cost, np.ones(300), 10, formulation='radius').solve(time_limit=600, log_path={str(log)!r})\n"
        "    print('finished', flush=True)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 300
        while "Solving MIP model" not in (log.read_text(errors="replace") if log.exists() else ""):  # HiGHS is solving
            assert proc.poll() is None and time.monotonic() < deadline, "the solve did not start"
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        out = proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()
    assert out.strip() == "interrupted"
