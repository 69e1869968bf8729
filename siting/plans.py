"""Exact, fast scoring of plans on a drive-time matrix (no graph, no files).

A plan is a set of new sites opened beside today's offices. With the matrix (times within the
cutoff), today's nearest-office times ``before`` and the uncut rows of the points today's offices
reach only beyond the cutoff (:class:`siting.pipeline.FarRows`), the time from the nearest open
office to every demand point is exact::

    after_i = min(before_i, min_{j in plan} t_ij)

Used by sweeps (run on workers: everything here is plain arrays and pickles cheaply) and by the
plan analysis (marginal values, swaps, efficiency), where thousands of plan variants are scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.metrics import weighted_quantile


@dataclass
class PlanData:
    """Everything needed to score plans, as plain arrays.

    Attributes
    ----------
    cost : scipy.sparse.csc_array
        ``(n_demand, n_sites)`` minutes within the cutoff (stored = reachable).
    before : ndarray
        Minutes from today's nearest office (no cutoff; ``inf`` = unreachable).
    far_rows : ndarray of int
        Demand points with ``before > cutoff``.
    far_cost : ndarray
        ``(len(far_rows), n_sites)`` uncut minutes for those points.
    weights : ndarray
        Population per demand point.
    fixed : ndarray of bool
        Today's offices among the sites.
    offences : ndarray or None
        Offences per demand point, when the inputs carry them (column ``offences`` of the demand
        points); ``None`` otherwise, and offence figures are then omitted.
    """

    cost: sp.csc_array
    before: np.ndarray
    far_rows: np.ndarray
    far_cost: np.ndarray
    weights: np.ndarray
    fixed: np.ndarray
    offences: np.ndarray | None = None

    def __post_init__(self):
        self.cost = sp.csc_array(self.cost)
        self.cost.sort_indices()
        self._is_far = np.zeros(self.cost.shape[0], bool)
        self._is_far[self.far_rows] = True
        self._far_pos = np.full(self.cost.shape[0], -1)
        self._far_pos[self.far_rows] = np.arange(len(self.far_rows))

    @classmethod
    def from_stages(cls, inputs, tm, far) -> PlanData:
        """From the pipeline's :class:`Inputs`, :class:`TimeMatrix` and :class:`FarRows`."""
        return cls(tm.cost, tm.before, far.rows, far.cost, inputs.weights, inputs.fixed, offences_per_point(inputs))

    @property
    def n_sites(self) -> int:
        return self.cost.shape[1]

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and minutes of site ``j``: stored entries for near rows, uncut times for far rows."""
        c = self.cost
        r, t = c.indices[c.indptr[j] : c.indptr[j + 1]], c.data[c.indptr[j] : c.indptr[j + 1]]
        near = ~self._is_far[r]
        fr = self.far_cost[:, j]
        ok = np.isfinite(fr)
        return np.r_[r[near], self.far_rows[ok]], np.r_[t[near], fr[ok]]


def _wsum(w: np.ndarray, x: np.ndarray) -> float:
    """Σ w·x with numpy's pairwise summation: the same bits on every machine and thread count
    (``np.dot`` goes through BLAS, whose summation order depends on its threads)."""
    return float((w * x).sum())


def offences_per_point(inputs) -> np.ndarray | None:
    """Reported offences per demand point: the inputs' ``offences`` column when the run has one,
    else SSB 08487 (all offences, default period) spread over the demand points by population
    (:func:`siting.crime.spread_offences`); ``None`` when no crime data can be read."""
    if "offences" in inputs.demand:
        return inputs.demand["offences"].to_numpy(float)
    from siting.errors import SitingError

    try:
        from siting.crime import spread_offences
        from siting.data.crime import load_offences

        off, _ = spread_offences(inputs.demand, load_offences(kommuner=inputs.kommuner))
    except (ImportError, SitingError, OSError):
        return None
    return off["offences"].to_numpy(float)


def times(data: PlanData, sites) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from the nearest open office per demand point, and which new site that is
    (``-1``: an existing office, or unreachable). Ties go to the existing office, then the lower index."""
    after = np.array(data.before, float)
    nearest = np.full(len(after), -1)
    for j in sorted(int(s) for s in sites):
        r, t = data.column(j)
        better = t < after[r]
        after[r[better]] = t[better]
        nearest[r[better]] = j
    return after, nearest


def score(data: PlanData, sites, T: float) -> dict:
    """Headline numbers of a plan: people (and offences) within T, mean/p90/max minutes."""
    after, _ = times(data, sites)
    return score_times(data, after, T)


def score_times(data: PlanData, after: np.ndarray, T: float) -> dict:
    w = data.weights
    ok = np.isfinite(after)
    out = {
        "pop_within_T": float(w[after <= T].sum()),
        "share_within_T": float(w[after <= T].sum() / w.sum()),
        "mean_time": float(np.average(after[ok], weights=w[ok])) if w[ok].sum() else float("nan"),
        "p90_time": weighted_quantile(after, w, 0.9),
        "max_time": float(after[w > 0].max()) if (w > 0).any() else float("nan"),
        "unreachable_pop": float(w[~ok].sum()),
    }
    if data.offences is not None:
        out["offences_within_T"] = float(data.offences[after <= T].sum())
        out["share_offences_within_T"] = float(data.offences[after <= T].sum() / max(data.offences.sum(), 1e-12))
    return out


def _column_gain(data: PlanData, base: np.ndarray, T: float, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every site at once: gain in ``weights`` within T and reduction of Σ weights × minutes
    when that site is added to a plan whose times are ``base``."""
    c = data.cost
    rows = c.indices
    cols = np.repeat(np.arange(c.shape[1]), np.diff(c.indptr))
    near = ~data._is_far[rows]
    r, k, t = rows[near], cols[near], c.data[near]
    # far rows: the uncut block
    fr, fk = np.nonzero(np.isfinite(data.far_cost))
    r = np.r_[r, data.far_rows[fr]]
    k = np.r_[k, fk]
    t = np.r_[t, data.far_cost[fr, fk]]
    b = base[r]
    cov = (b > T) & (t <= T)
    fin = np.isfinite(b)
    saved = np.where(fin, np.maximum(b - t, 0.0), 0.0)
    n = c.shape[1]
    return (np.bincount(k, weights=weights[r] * cov, minlength=n), np.bincount(k, weights=weights[r] * saved, minlength=n))


def marginal_values(data: PlanData, plan, T: float) -> list[dict]:
    """Per plan site: people (and offences) within T and person-minutes lost if it alone were removed."""
    plan = [int(j) for j in plan]
    full = score(data, plan, T)
    after_full, _ = times(data, plan)
    w = data.weights
    out = []
    for j in plan:
        rest = [s for s in plan if s != j]
        a, _ = times(data, rest)
        fin = np.isfinite(a) & np.isfinite(after_full)
        row = {"site": j, "coverage_loss": full["pop_within_T"] - float(w[a <= T].sum()),
               "time_loss_pop_min": _wsum(w[fin], a[fin] - after_full[fin])}  # fmt: skip
        if data.offences is not None:
            row["offences_loss"] = full["offences_within_T"] - float(data.offences[a <= T].sum())
        out.append(row)
    return out


def _swap_effects(data: PlanData, plan: list[int], T: float):
    """Per plan site ``j``: the effect of every single swap "give up ``j``, open site ``k``", as arrays
    over all sites ``k``: the change in people within T and the person-minutes saved."""
    w = data.weights
    after_full, _ = times(data, plan)
    fin_full = np.isfinite(after_full)
    cov_full = float(w[after_full <= T].sum())
    time_full = _wsum(w[fin_full], after_full[fin_full])
    for j in plan:
        a, _ = times(data, [s for s in plan if s != j])
        cov_gain, time_gain = _column_gain(data, a, T, w)
        fin = np.isfinite(a)
        d_cov = float(w[a <= T].sum()) + cov_gain - cov_full  # people within T after the swap minus now
        d_time = time_full - (_wsum(w[fin], a[fin]) - time_gain)  # person-minutes saved by the swap
        yield j, d_cov, d_time


def best_swaps(data: PlanData, plan, T: float, allowed: np.ndarray, objective: str = "coverage", top: int = 5,
               groups: np.ndarray | None = None) -> list[dict]:  # fmt: skip
    """The best improving single swaps (remove one plan site, open one allowed site instead).

    ``objective``: ``coverage`` (people within T) or ``time`` (person-minutes). Every swap carries
    both effects; ``gain`` is in the chosen objective's units (people, or person-minutes saved).
    One swap per site to open — or, with ``groups`` (a label per site, e.g. its municipality), per
    group of sites to open, so that near-identical neighbours do not fill the list — with the site
    to give up that gains most (ties: the larger gain in the other objective, then plan order),
    best first, only positive gains: an empty list means no single swap improves the plan.
    """
    plan = [int(j) for j in plan]
    in_plan = np.zeros(data.n_sites, bool)
    in_plan[plan] = True
    ok = allowed & ~in_plan
    best: dict = {}
    for j, d_cov, d_time in _swap_effects(data, plan, T):
        gain, other = (d_cov, d_time) if objective == "coverage" else (d_time, d_cov)
        for k in np.flatnonzero(ok & (gain > 1e-6)):
            key = groups[k] if groups is not None else int(k)
            cur = best.get(key)
            eps = 1e-6 * max(1.0, abs(float(gain[k])))
            if cur is None or gain[k] > cur["gain"] + eps or (abs(gain[k] - cur["gain"]) <= eps and other[k] > cur["_other"] + eps):
                best[key] = {"remove": j, "add": int(k), "gain": float(gain[k]), "coverage_change": float(d_cov[k]),
                                "time_saved_pop_min": float(d_time[k]), "_other": float(other[k])}  # fmt: skip
    rows = sorted(best.values(), key=lambda r: (-r["gain"], -r["_other"], r["add"]))[:top]
    return [{k: v for k, v in r.items() if k != "_other"} for r in rows]


def best_replacement(data: PlanData, plan, T: float, allowed: np.ndarray, objective: str = "coverage") -> list[dict]:
    """Per plan site: the allowed site that would best replace it, and the regret of that swap
    (objective now minus objective after the swap; ≥ 0 when no swap improves the plan)."""
    plan = [int(j) for j in plan]
    in_plan = np.zeros(data.n_sites, bool)
    in_plan[plan] = True
    out = []
    for j, d_cov, d_time in _swap_effects(data, plan, T):
        # regret = objective now minus objective after the swap
        regret = np.where(allowed & ~in_plan, -(d_cov if objective == "coverage" else d_time), np.inf)
        k = int(np.argmin(regret)) if np.isfinite(regret).any() else -1
        out.append({"site": j, "replacement": k, "regret": float(regret[k]) if k >= 0 else float("nan")})
    return out
