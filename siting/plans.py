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
    far_cost : scipy sparse or ndarray
        ``(len(far_rows), n_sites)`` uncut minutes for those points (sparse: stored = reachable;
        dense: ``inf`` = unreachable), at least every site within ``before``.
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
        self.far_rows = np.asarray(self.far_rows, int)
        self._is_far = np.zeros(self.cost.shape[0], bool)
        self._is_far[self.far_rows] = True
        # one sparse matrix of exact rows: the matrix's rows for near points, the uncut rows for far ones
        c = self.cost.tocoo()
        near = ~self._is_far[c.row]
        if sp.issparse(self.far_cost):
            f = sp.coo_array(self.far_cost)
            fr, fk, fv = f.row, f.col, f.data
        else:
            fr, fk = np.nonzero(np.isfinite(self.far_cost))
            fv = np.asarray(self.far_cost)[fr, fk]
        self.exact = sp.csc_array((np.r_[c.data[near], fv], (np.r_[c.row[near], self.far_rows[fr]], np.r_[c.col[near], fk])),
                                  shape=self.cost.shape)  # fmt: skip
        self.exact.sort_indices()

    @classmethod
    def from_stages(cls, inputs, tm, far) -> PlanData:
        """From the pipeline's :class:`Inputs`, :class:`TimeMatrix` and :class:`FarRows`."""
        return cls(tm.cost, tm.before, far.rows, far.cost, inputs.weights, inputs.fixed, offences_per_point(inputs))

    @property
    def n_sites(self) -> int:
        return self.cost.shape[1]

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and minutes of site ``j``: stored entries for near rows, uncut times for far rows."""
        c = self.exact
        return c.indices[c.indptr[j] : c.indptr[j + 1]], c.data[c.indptr[j] : c.indptr[j + 1]]


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


def _entries(data: PlanData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (demand point, site, minutes) a site can serve: stored matrix entries for near rows,
    the uncut block for far rows."""
    c = data.exact
    return c.indices, np.repeat(np.arange(c.shape[1]), np.diff(c.indptr)), c.data


def _removal(data: PlanData, plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times with the plan, the plan site serving each point, and each point's time if that site
    alone were removed — for every site at once, from the best and second-best server per point
    (one sort of the plan's columns instead of a rescore per site).

    Returns ``after`` and ``nearest`` exactly as :func:`times` (ties: the existing office, then the
    lower index) and ``without``: the time when ``nearest`` is closed (``after`` where ``nearest`` is -1).
    """
    n = len(data.before)
    parts = [(np.arange(n), np.asarray(data.before, float), np.full(n, -1))]  # today's offices first on ties
    for j in sorted({int(s) for s in plan}):
        r, t = data.column(j)
        parts.append((r, t, np.full(len(r), j)))
    r, t, j = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((j, t, r))
    r, t, j = r[order], t[order], j[order]
    first = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])  # one per point, in point order (each has its `before`)
    after, nearest = t[first], j[first]
    second = np.minimum(first + 1, len(r) - 1)
    runner_up = np.where((first + 1 < len(r)) & (r[second] == np.arange(n)), t[second], np.inf)
    return after, nearest, np.where(nearest >= 0, runner_up, after)


def marginal_values(data: PlanData, plan, T: float) -> list[dict]:
    """Per plan site: people (and offences) within T and person-minutes lost if it alone were removed."""
    plan = [int(j) for j in plan]
    after, nearest, without = _removal(data, plan)
    w, n = data.weights, data.n_sites
    own = nearest >= 0
    lost = own & (after <= T) & (without > T)
    fin = own & np.isfinite(without)
    cov = np.bincount(nearest[lost], weights=w[lost], minlength=n)
    minutes = np.bincount(nearest[fin], weights=w[fin] * (without[fin] - after[fin]), minlength=n)
    off = np.bincount(nearest[lost], weights=data.offences[lost], minlength=n) if data.offences is not None else None
    out = []
    for j in plan:
        row = {"site": j, "coverage_loss": float(cov[j]), "time_loss_pop_min": float(minutes[j])}
        if off is not None:
            row["offences_loss"] = float(off[j])
        out.append(row)
    return out


def _swap_effects(data: PlanData, plan: list[int], T: float):
    """Per plan site ``j``: the effect of every single swap "give up ``j``, open site ``k``", as arrays
    over all sites ``k``: the change in people within T and the person-minutes saved.

    One pass over the matrix for all ``j``: what opening ``k`` gains on top of the whole plan,
    corrected on the points ``j`` serves (whose time without ``j`` is their runner-up's), so the
    work grows with the matrix plus plan × sites, not plan × matrix.
    """
    w, n = data.weights, data.n_sites
    after, nearest, without = _removal(data, plan)
    r, k, t = _entries(data)

    def cov_gain(base, rows, minutes):  # people brought within T by the site of each entry
        return w[rows] * ((base[rows] > T) & (minutes <= T))

    def time_gain(base, rows, minutes):  # person-minutes the site of each entry saves
        b = base[rows]
        return w[rows] * np.where(np.isfinite(b), np.maximum(b - minutes, 0.0), 0.0)

    owned = nearest[r] >= 0  # entries on points a plan site serves: their base changes when it closes
    ro, ko, to = r[owned], k[owned], t[owned]
    plan_sites = np.array(sorted({int(j) for j in plan}), dtype=int)
    at = np.searchsorted(plan_sites, nearest[ro])
    shape = (len(plan_sites), n)
    fix_cov = sp.csr_array((cov_gain(without, ro, to) - cov_gain(after, ro, to), (at, ko)), shape=shape)
    fix_time = sp.csr_array((time_gain(without, ro, to) - time_gain(after, ro, to), (at, ko)), shape=shape)
    g_cov = np.bincount(k, weights=cov_gain(after, r, t), minlength=n)
    g_time = np.bincount(k, weights=time_gain(after, r, t), minlength=n)
    fin_full = np.isfinite(after)
    cov_full = float(w[after <= T].sum())
    time_full = _wsum(w[fin_full], after[fin_full])
    own = nearest >= 0
    lost = own & (after <= T) & (without > T)
    cov_lost = np.bincount(nearest[lost], weights=w[lost], minlength=n)
    fa, fw = own & fin_full, own & np.isfinite(without)
    minutes_change = (np.bincount(nearest[fw], weights=w[fw] * without[fw], minlength=n)
                      - np.bincount(nearest[fa], weights=w[fa] * after[fa], minlength=n))  # fmt: skip
    for j in plan:
        i = int(np.searchsorted(plan_sites, j))
        d_cov = (cov_full - cov_lost[j]) + (g_cov + fix_cov[[i]].toarray().ravel()) - cov_full  # people within T after the swap minus now
        d_time = time_full - ((time_full + minutes_change[j]) - (g_time + fix_time[[i]].toarray().ravel()))  # person-minutes saved
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
    for j, d_cov, d_time in _swap_effects(data, plan, T) if ok.any() else ():
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
    if not (allowed & ~in_plan).any():  # every allowed site is in the plan (p = all candidates): nothing can replace
        return [{"site": j, "replacement": -1, "regret": float("nan")} for j in plan]
    out = []
    for j, d_cov, d_time in _swap_effects(data, plan, T):
        # regret = objective now minus objective after the swap
        regret = np.where(allowed & ~in_plan, -(d_cov if objective == "coverage" else d_time), np.inf)
        k = int(np.argmin(regret)) if np.isfinite(regret).any() else -1
        out.append({"site": j, "replacement": k, "regret": float(regret[k]) if k >= 0 else float("nan")})
    return out
