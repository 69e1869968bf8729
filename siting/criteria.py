"""The price of each criterion, and what a given plan implicitly valued.

Five criteria, each a number a plan achieves (``f_k``), computed exactly from the drive-time matrix:

* ``population`` — people within T of an office;
* ``offences`` — reported offences (a year) within T;
* ``load`` — load moved off today's offices above the norm (relief, :mod:`siting.models.load`;
  measure ``model.load.measure``, default offences);
* ``centrality`` — people in the least central municipalities (``demand.centrality_classes``,
  default SSB classes 5–6) within T;
* ``wishes`` — municipalities that asked for an office and get a new one, minus those that
  declined and get one anyway. Only positions stated before the decision count (evidence other
  than ``inferred after the fact``) unless asked; a scenario with its own wishes policy sets the
  evidence thresholds (``bonus_min_evidence`` for a "yes", ``exclude_min_evidence`` for a "no").

**Ledger** (:func:`ledger`): each criterion alone (its exact optimum with ``p`` new offices; among
plans that tie, the one with the most people within T, by a second exact solve that keeps the
optimum to 10⁻⁷) and the scenario as written, each row with every criterion's value — what each
buys and what it costs.

**Normalised weights.** A criterion's *score* is the share of its attainable gain a plan achieves,
``g_k(S) = (f_k(S) − f_k(today)) / (f_k(S_k*) − f_k(today))`` with ``S_k*`` the criterion's
optimum alone. For weights ``w`` (≥ 0, sum 1) the best plan maximises ``Σ_k w_k g_k(S)`` — an exact
:class:`~siting.models.load.WeightedCriteria` MIP — and a plan's **efficiency** is its value over
that optimum.

**Revealed weights** (:func:`revealed`): the weights under which a given plan is closest to
optimal. Efficiency is a linear function of ``w`` over the maximum of linear functions, so its
upper level sets are convex and the best weights are found exactly by cutting planes: with the
plans found so far, a linear programme gives the weights with the highest efficiency they allow
(an upper limit), the MIP at those weights gives the true optimum (a proven efficiency) and, if it
is a new plan, adds it; stop when the two agree. The weights within 1 point of the best are
bounded the same way (the range of each weight, each end checked by a MIP). It describes the plan;
it does not justify it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from siting.models import SiteConstraints, WeightedCriteria
from siting.models.load import (
    default_norm,
    excess_above,
    existing_excess,
    label_loads,
    nearest_open,
    site_loads,
)

CRITERIA = ("population", "offences", "load", "centrality", "wishes")
#: "Within 1 point": weights whose efficiency is at most this much below the best.
FLAT = 0.01


@dataclass
class CriteriaData:
    """Everything the criteria need, as plain arrays (see the module docstring)."""

    cost: object
    before: np.ndarray
    fixed: np.ndarray
    T: float
    p: int
    population: np.ndarray
    offences: np.ndarray
    small: np.ndarray
    load: np.ndarray
    labels: np.ndarray
    norm: float
    site_kommune: np.ndarray
    asked: set = field(default_factory=set)
    declined: set = field(default_factory=set)
    constraints: SiteConstraints | None = None
    names: list = field(default_factory=list)
    evidence: tuple = ("statement", "statement")

    def after(self, plan) -> np.ndarray:
        """Minutes to the nearest open office per demand point: the matrix rows hold every site up to
        the point's nearest existing office, so ``min(before, new sites)`` is exact."""
        t = np.array(self.before, float)
        c = self.cost.tocsc() if hasattr(self.cost, "tocsc") else self.cost
        for j in np.asarray(plan, int):
            r, d = c.indices[c.indptr[j] : c.indptr[j + 1]], c.data[c.indptr[j] : c.indptr[j + 1]]
            t[r] = np.minimum(t[r], d)
        return t


def criteria_data(sc, inputs, tm, problem, include_inferred: bool = False) -> CriteriaData:
    """The criteria of a scenario's run (its matrix, constraints and wishes; see the module docstring)."""
    from siting import periphery
    from siting.wishes import counts_for

    sites = inputs.sites
    fixed = inputs.fixed
    wishes, yes_ev, no_ev = inputs.wishes, sc.wishes.bonus_min_evidence, sc.wishes.exclude_min_evidence
    if wishes is None:  # the bundled records, every position stated before the decision
        from siting import inputs as named
        from siting.wishes import load_wishes

        wishes = load_wishes(named.resolve("wishes").path, kommuner=inputs.kommuner)
        yes_ev = no_ev = "statement"
    if include_inferred:
        yes_ev = no_ev = "inferred after the fact"
    k = wishes["kommunenummer"]
    st = wishes.set_index("kommunenummer")["status"]
    asked = {x for x in k if st[x] in ("asked", "asked_with_premises") and counts_for(wishes, [x], yes_ev).iloc[0]}
    declined = {x for x in k if st[x] == "declined" and counts_for(wishes, [x], no_ev).iloc[0]}
    cons = problem.constraints
    forbidden = None
    if sc.constraints.forbidden_sites:  # the scenario's own exclusions stay; the wish policy is a criterion
        from siting.pipeline.model import site_hits

        forbidden = np.zeros(len(sites), bool)
        for hit in site_hits(sc.constraints.forbidden_sites, inputs, "constraints.forbidden_sites"):
            forbidden[hit] = True
    base = replace(cons, forbidden=forbidden, wish_bonus=None, required=None if sc.model.type == "evaluate" else cons.required)
    pop = inputs.weights
    small = periphery.small_population(pop, inputs.demand["centrality_class"].to_numpy(), sc.demand.centrality_classes)
    load, labels = problem.load_weights, problem.office_labels
    norm = sc.model.load.norm if sc.model.load.norm is not None else default_norm(load, fixed, labels, sc.new_offices)
    names = [f"{n} ({kk})" if n != kk else str(n) for n, kk in zip(sites["name"], sites.kommune, strict=True)]
    return CriteriaData(tm.cost, tm.before, fixed, float(sc.model.threshold_minutes), sc.new_offices, pop,
                        inputs.demand["offences"].to_numpy(float), small, load, labels, float(norm),
                        sites.kommunenummer.to_numpy(str), asked, declined, base, names,
                        (yes_ev, no_ev))  # fmt: skip


def plan_values(d: CriteriaData, plan) -> dict:
    """Every criterion's value and the ledger's figures for one plan (new sites)."""
    plan = np.asarray(plan, int)
    t = d.after(plan)
    ok = np.isfinite(t)
    inside = t <= d.T
    loads = site_loads(nearest_open(d.cost, d.fixed, plan), d.load, len(d.fixed))
    open_sites = np.r_[np.flatnonzero(d.fixed), plan].astype(int)
    kom = set(d.site_kommune[plan])
    today_excess = existing_excess(d.cost, d.fixed, [], d.load, d.labels, d.norm)
    return {
        "people_within_T": float(d.population[inside].sum()),
        "share_within_T": float(d.population[inside].sum() / d.population.sum()),
        "mean_time": float(np.average(t[ok], weights=d.population[ok])),
        "offences_within_T": float(d.offences[inside].sum()),
        "load_above_norm": excess_above(label_loads(loads, d.labels, open_sites), d.norm),
        "load_relieved": today_excess - excess_above(label_loads(loads, d.labels, np.flatnonzero(d.fixed)), d.norm),
        "small_people_within_T": float(d.small[inside].sum()),
        "small_share_within_T": float(d.small[inside].sum() / d.small.sum()) if d.small.sum() else float("nan"),
        "wishes_granted": len(kom & d.asked), "wishes_asked": len(d.asked), "declined_overridden": len(kom & d.declined),
        "municipalities_with_office": len(set(d.site_kommune[open_sites])),
    }  # fmt: skip


def criterion_values(v: dict) -> np.ndarray:
    """``f_k`` of a plan in :data:`CRITERIA` order (from :func:`plan_values`)."""
    return np.array([v["people_within_T"], v["offences_within_T"], v["load_relieved"], v["small_people_within_T"],
                     v["wishes_granted"] - v["declined_overridden"]], float)  # fmt: skip


def solve_weighted(d: CriteriaData, coef, solver: str = "highs", time_limit: float = 600, tie: bool = False):
    """The exact optimum of ``Σ_k coef_k f_k(S)``: a :class:`WeightedCriteria` MIP with the
    scenario's site constraints; ``tie``: among the optimal plans, the one with the most people within T."""
    c = dict(zip(CRITERIA, coef, strict=True))
    a = c["population"] * d.population + c["offences"] * d.offences + c["centrality"] * d.small
    groups = np.where(np.isin(d.site_kommune, sorted(d.asked | d.declined)), d.site_kommune, "")
    values = {**{k: c["wishes"] for k in d.asked}, **{k: -c["wishes"] for k in d.declined}}
    m = WeightedCriteria(d.cost, a, d.p, fixed=d.fixed, constraints=d.constraints, service_radius=d.T,
                         load_weights=d.load if c["load"] > 0 else None, load_penalty=c["load"], norm=d.norm,
                         office_labels=d.labels, wish_groups=groups if c["wishes"] else None, wish_values=values,
                         tie_weights=d.population if tie else None)  # fmt: skip
    return m.solve(solver=solver, time_limit=time_limit)


def alone(d: CriteriaData, solver="highs", time_limit=600) -> dict:
    """Each criterion's optimum alone: name → (Solution, values)."""
    out = {}
    for q, k in enumerate(CRITERIA):
        sol = solve_weighted(d, np.eye(len(CRITERIA))[q], solver, time_limit, tie=k != "population")
        out[k] = (sol, plan_values(d, sol.selected))
    return out


# ------------------------------------------------------------------------------------------- the ledger
LEDGER_COLUMNS = ["row", "status", "gap", "people_within_T", "share_within_T", "mean_time", "offences_within_T",
                  "load_above_norm", "load_relieved", "small_people_within_T", "small_share_within_T", "wishes_granted",
                  "wishes_asked", "declined_overridden", "municipalities_with_office", "sites_shared_with_population",
                  "municipalities_shared_with_population",
                  "people_given_up", "sites"]  # fmt: skip


def ledger(d: CriteriaData, scenario_plan, scenario_status: str, best: dict) -> pd.DataFrame:
    """One row per criterion alone, today and the scenario as written (``criteria.csv``)."""
    pop_plan = set(int(j) for j in best["population"][0].selected)
    pop_kom = set(d.site_kommune[sorted(pop_plan)])
    rows = [{"row": "today", "status": "", "gap": 0.0, **plan_values(d, []), "sites": ""}]
    entries = [(k, sol.selected, sol.status, sol.gap) for k, (sol, _) in best.items()]
    entries.append(("all together (scenario)", scenario_plan, scenario_status, 0.0))
    for name, plan, status, gap in entries:
        rows.append({"row": name, "status": status, "gap": gap, **plan_values(d, plan),
                     "sites_shared_with_population": len(pop_plan & set(int(j) for j in plan)),
                     "municipalities_shared_with_population": len(pop_kom & set(d.site_kommune[np.asarray(plan, int)])),
                     "sites": "; ".join(d.names[j] for j in plan)})  # fmt: skip
    df = pd.DataFrame(rows)
    df["people_given_up"] = df.loc[df.row == "population", "people_within_T"].iloc[0] - df["people_within_T"]
    df.loc[df.row == "today", ["people_given_up", "sites_shared_with_population", "municipalities_shared_with_population"]] = np.nan
    return df[LEDGER_COLUMNS]


# ------------------------------------------------------------------------------------------- revealed
@dataclass
class Revealed:
    weights: dict
    efficiency: float
    upper: float
    efficiency_population_only: float
    within_one_point: dict
    proven: bool
    scores_plan: dict
    criteria_used: list
    mip_solves: int
    seconds: float
    iterations: list


def _lp_best(G: np.ndarray, gP: np.ndarray, free: np.ndarray):
    """max over w ≥ 0 of min_S (gP·w)/(g_S·w): minimise t s.t. G w ≤ t, gP·w = 1 (weights only on ``free``)."""
    from scipy.optimize import linprog

    n = G.shape[1]
    c = np.r_[np.zeros(n), 1.0]
    A_ub = np.c_[G, -np.ones(len(G))]
    bounds = [(0, None) if f else (0, 0) for f in free] + [(None, None)]
    r = linprog(c, A_ub=A_ub, b_ub=np.zeros(len(G)), A_eq=np.r_[gP, 0.0][None, :], b_eq=[1.0], bounds=bounds, method="highs")
    if r.status != 0:
        return None, math.nan
    w = np.maximum(r.x[:n], 0)
    return w / w.sum(), 1.0 / r.x[n] if r.x[n] > 0 else math.inf


def _lp_range(G: np.ndarray, gP: np.ndarray, free: np.ndarray, level: float, k: int, sign: float):
    """Extreme weight ``k`` (sign +1: min, −1: max) with gP·w ≥ level · g_S·w for every S, Σw = 1."""
    from scipy.optimize import linprog

    n = G.shape[1]
    c = np.zeros(n)
    c[k] = sign
    bounds = [(0, None) if f else (0, 0) for f in free]
    r = linprog(c, A_ub=level * G - gP[None, :], b_ub=np.zeros(len(G)), A_eq=np.ones((1, n)), b_eq=[1.0], bounds=bounds, method="highs")
    return None if r.status != 0 else np.maximum(r.x, 0)


def revealed(d: CriteriaData, plan, best: dict, solver="highs", time_limit=600, max_solves: int = 100) -> Revealed:
    """The criterion weights under which ``plan`` is closest to optimal (module docstring)."""
    t0 = time.perf_counter()
    f0 = criterion_values(plan_values(d, []))
    fbest = np.array([criterion_values(best[k][1])[q] for q, k in enumerate(CRITERIA)])
    delta = fbest - f0
    free = delta > 1e-9  # a criterion no plan can improve carries no weight
    scale = np.where(free, delta, 1.0)

    def g(values):
        return np.where(free, (criterion_values(values) - f0) / scale, 0.0)

    gP = g(plan_values(d, plan))
    G = [g(v) for _, v in best.values()]
    seen = {tuple(sorted(int(j) for j in s.selected)) for s, _ in best.values()}
    solves, log, proven = 0, [], True

    def optimum(w):
        nonlocal solves
        solves += 1
        sol = solve_weighted(d, w / scale * free, solver, time_limit)
        gs = g(plan_values(d, sol.selected))
        key = tuple(sorted(int(j) for j in sol.selected))
        if key not in seen:
            seen.add(key), G.append(gs)
        return float(gs @ w), sol.status

    # best weights by cutting planes
    w, upper, eff = None, math.inf, -math.inf
    while solves < max_solves:
        w_lp, up = _lp_best(np.array(G), gP, free)
        if w_lp is None:
            break
        upper = min(upper, up)
        top, status = optimum(w_lp)
        proven &= status == "optimal"
        e = float(gP @ w_lp) / top if top > 0 else math.nan
        log.append({"weights": dict(zip(CRITERIA, np.round(w_lp, 4).tolist(), strict=True)), "efficiency": e, "upper": up})
        if e > eff:
            w, eff = w_lp, e
        if eff >= upper - 1e-6:
            break
    # weights within one point of the best: the range of each weight, each end confirmed by a MIP
    ranges = {}
    level = eff - FLAT
    for q, k in enumerate(CRITERIA):
        if not free[q]:
            ranges[k] = [0.0, 0.0]
            continue
        ends = []
        for sign in (1.0, -1.0):
            while True:
                x = _lp_range(np.array(G), gP, free, level, q, sign)
                if x is None:
                    ends.append(math.nan)
                    break
                if solves >= max_solves:
                    proven = False
                    ends.append(float(x[q]))
                    break
                n_before = len(G)
                top, status = optimum(x)
                proven &= status == "optimal"
                if len(G) == n_before or float(gP @ x) >= level * top - 1e-9:
                    ends.append(float(x[q]))
                    break
        ranges[k] = sorted(ends)
    e_pop = float(gP[0])  # population only: the plan's share of the attainable gain in people within T
    return Revealed(dict(zip(CRITERIA, [float(x) for x in w], strict=True)), float(eff), float(upper), e_pop, ranges,
                    bool(proven and eff >= upper - 1e-6), dict(zip(CRITERIA, gP.tolist(), strict=True)),
                    [k for k, f in zip(CRITERIA, free, strict=True) if f], solves, round(time.perf_counter() - t0, 1), log)  # fmt: skip


def revealed_dict(r: Revealed, d: CriteriaData, plan, best: dict) -> dict:
    """``revealed.json``."""
    return {
        "weights": r.weights, "efficiency": r.efficiency, "efficiency_upper_limit": r.upper, "proven": r.proven,
        "efficiency_population_only": r.efficiency_population_only,
        "within_one_point": {"definition": f"weights whose efficiency is at least the best minus {FLAT:g}: the range of each weight",
                             "ranges": r.within_one_point},
        "plan_scores": r.scores_plan, "criteria": list(CRITERIA), "criteria_used": r.criteria_used,
        "definitions": {
            "score": "share of a criterion's attainable gain: (plan − today) / (criterion's optimum alone − today)",
            "efficiency": "Σ w·score(plan) / max over plans of Σ w·score (exact MIP)",
            "wishes": f"asked and granted minus declined and overridden; evidence: yes {d.evidence[0]} or stronger, "
                      f"no {d.evidence[1]} or stronger",
            "load": f"load moved off today's offices above the norm {d.norm:.1f}, up to their excess",
        },
        "note": "This describes the plan: the weights under which it comes closest to optimal. It does not justify it.",
        "mip_solves": r.mip_solves, "seconds": r.seconds, "iterations": r.iterations,
        "plan": [d.names[j] for j in plan], "best_alone": {k: [d.names[j] for j in s.selected] for k, (s, _) in best.items()},
    }  # fmt: skip


__all__ = ["CRITERIA", "CriteriaData", "Revealed", "alone", "criteria_data", "ledger", "plan_values", "revealed",
           "revealed_dict", "solve_weighted"]  # fmt: skip
