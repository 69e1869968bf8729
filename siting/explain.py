"""Explain and challenge a plan: what each site buys, what could replace it, how good the plan is.

For a plan (the new sites of a run, or any given plan such as the offices the government decided):

* **per site** (:func:`explain_sites`): people (and offences) newly within T for whom it is the
  nearest office, the municipalities it serves, its marginal value (people within T and
  person-minutes lost if it alone were removed), its best replacement and the regret of that swap;
* **near-optimal alternatives** (:func:`alternatives`): the k best distinct plans of the scenario's
  model (no-good cuts), or all plans within x % of the optimum, and which sites they exchange;
* **plan efficiency** (:func:`efficiency`): the share of the attainable gain the plan achieves
  against the optimum for the same p and assumptions — people within T (MCLP) and mean drive time
  (p-median on uncut times) — with the best improving single swaps.

All functions are pure (arrays in, tables out); :mod:`siting.pipeline` runs them after the metrics
stage and only its outputs stage writes the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp
import scipy.sparse as sp

from siting import plans
from siting.errors import InfeasibleError
from siting.models import MODELS, SitingModel
from siting.style import ranked

#: How many improving swaps are reported.
TOP_SWAPS = 5
#: Models whose objective is minimised (the others are maximised).
MINIMISED = ("pmedian", "hybrid")


def _names(inputs, idx) -> list[str]:
    s = inputs.sites
    return [f"{s['name'].iloc[j]} ({s.kommune.iloc[j]})" if s["name"].iloc[j] != s.kommune.iloc[j] else str(s["name"].iloc[j]) for j in idx]


# ------------------------------------------------------------------------------------------- per site
def explain_sites(inputs, data: plans.PlanData, plan, T: float, allowed: np.ndarray) -> pd.DataFrame:
    """One row per plan site, in the one rank order (:func:`siting.style.rank_order`, the order of
    ``proposals.csv``): what it buys and what could replace it."""
    plan = [int(j) for j in plan]
    cols = ["rank", "site_id", "name", "kommune", "politidistrikt", "pop_newly_within_T", "pop_served",
            "kommuner_served", "n_kommuner_served", "coverage_loss_if_removed", "time_loss_if_removed_pop_min",
            "best_replacement_coverage", "regret_people", "best_replacement_time", "regret_pop_min"]  # fmt: skip
    if not plan:
        return pd.DataFrame(columns=cols)
    after, nearest = plans.times(data, plan)
    w = data.weights
    newly = (data.before > T) & (after <= T)
    loss = {m["site"]: m for m in plans.marginal_values(data, plan, T)}
    rep_c = {r["site"]: r for r in plans.best_replacement(data, plan, T, allowed, "coverage")}
    rep_t = {r["site"]: r for r in plans.best_replacement(data, plan, T, allowed, "time")}
    kname = inputs.kommuner.set_index("kommunenummer")["name"]
    dk = inputs.demand.kommunenummer.to_numpy(str)
    # the points each site serves, found once (a scan per site costs plan × points: hours at p = all candidates)
    order = np.argsort(nearest, kind="stable")  # within a site: point order, so the sums are those of a mask
    bounds = np.searchsorted(nearest[order], np.c_[plan, np.asarray(plan) + 1])
    sv = nearest >= 0
    per_kommune = pd.Series(w[sv]).groupby([nearest[sv], dk[sv]], sort=False).sum()
    per_kommune = {j: g.droplevel(0) for j, g in per_kommune.groupby(level=0, sort=False)}
    rows = []
    for rank, (j, (lo, hi)) in enumerate(zip(plan, bounds, strict=True), start=1):
        served = order[lo:hi]
        by_k = per_kommune.get(j, pd.Series(dtype=float)).sort_index().sort_values(ascending=False)
        by_k = by_k[by_k >= 0.5]
        s = inputs.sites.iloc[j]
        row = {
            "rank": rank, "site_id": s.site_id, "name": s["name"], "kommune": s.kommune, "politidistrikt": s.politidistrikt,
            "pop_newly_within_T": float(w[served[newly[served]]].sum()), "pop_served": float(w[served].sum()),
            "kommuner_served": "; ".join(f"{kname.get(k, k)} {v:,.0f}" for k, v in by_k.items()), "n_kommuner_served": int(len(by_k)),
            "coverage_loss_if_removed": loss[j]["coverage_loss"], "time_loss_if_removed_pop_min": loss[j]["time_loss_pop_min"],
            "best_replacement_coverage": _names(inputs, [rep_c[j]["replacement"]])[0] if rep_c[j]["replacement"] >= 0 else "",
            "regret_people": rep_c[j]["regret"],
            "best_replacement_time": _names(inputs, [rep_t[j]["replacement"]])[0] if rep_t[j]["replacement"] >= 0 else "",
            "regret_pop_min": rep_t[j]["regret"],
        }  # fmt: skip
        if data.offences is not None:
            row["offences_newly_within_T"] = float(data.offences[served[newly[served]]].sum())
            row["offences_loss_if_removed"] = loss[j]["offences_loss"]
        rows.append(row)
    return ranked(pd.DataFrame(rows), "pop_newly_within_T").reset_index(drop=True)


# ------------------------------------------------------------------------------------------- alternatives
def _with_cuts(model_cls):
    """A subclass of a model whose build adds no-good cuts (and keeps every candidate column, so
    sites with identical coverage show up as the interchangeable alternatives they are)."""

    class WithCuts(model_cls):
        cuts: list = []

        def solve(self, *args, **kwargs):  # the PuLP route (it calls build), not a model's own array path
            return SitingModel.solve(self, *args, **kwargs)

        def build(self):
            prob, y = super().build()
            if isinstance(prob, pulp.LpProblem):
                for name in [n for n in prob.constraints if n.startswith("dominated_")]:
                    del prob.constraints[name]
                for i, plan in enumerate(self.cuts):
                    prob += pulp.lpSum(y[int(j)] for j in plan if int(j) in y) <= len(plan) - 1, f"nogood_{i}"
            return prob, y

    WithCuts.__name__ = f"{model_cls.__name__}WithCuts"
    return WithCuts


def model_params(sc, tm) -> dict:
    """The keyword parameters the pipeline gives the scenario's model."""
    params = {"service_radius": sc.model.threshold_minutes}
    if sc.model.type == "backup":
        params["backup_weight"] = sc.model.backup_weight
    if sc.model.type == "pcenter":
        params["fixed_times"] = tm.before
    if sc.model.type == "hybrid":
        params.update(objective_weights=sc.model.objective_weights, lexicographic=sc.model.lexicographic, solver=sc.solver.name)
    return params


def alternatives(sc, problem, tm, k: int = 5, within: float | None = None, first=None) -> pd.DataFrame:
    """The k best distinct plans of the scenario's model (``mclp``, ``pmedian``, ``backup``,
    ``hybrid``): solve, forbid that exact set (Σ y_S ≤ p − 1), solve again.

    ``first``: the run's own solution, taken as rank 1 (so ties show as alternatives to *it*).
    With ``within`` (a share, e.g. 0.01), stop at the first plan more than that share worse than
    rank 1 (the table then holds every plan within it, up to ``k``). Each row: rank, objective,
    relative loss vs rank 1, status, the sites, and the sites given up / taken compared with rank 1.
    """
    mtype = sc.model.type
    if mtype not in ("mclp", "pmedian", "backup", "hybrid"):
        raise ValueError(f"alternatives need a model with exactly p new sites (mclp, pmedian, backup, hybrid), not {mtype}")
    cls = _with_cuts(MODELS[mtype])
    cuts: list[list[int]] = []
    rows = []
    best = None
    if first is not None:
        best = (first.objective, sorted(int(j) for j in first.selected))
        rows.append({"rank": 1, "objective": first.objective, "loss_vs_optimum": 0.0, "status": first.status,
                     "sites": best[1], "dropped": [], "added": []})  # fmt: skip
        cuts.append(best[1])
    while len(rows) < k:
        m = cls(tm.cost, problem.weights, sc.new_offices, fixed=problem.fixed, constraints=problem.constraints, **model_params(sc, tm))
        m.cuts = list(cuts)
        try:
            sol = m.solve(solver=sc.solver.name, time_limit=sc.solver.time_limit, gap=sc.solver.gap)
        except InfeasibleError:  # no further distinct plan
            break
        chosen = sorted(int(j) for j in sol.selected)
        if best is None:
            best = (sol.objective, chosen)
        loss = _relative_loss(best[0], sol.objective, minimise=mtype in MINIMISED)
        if within is not None and rows and loss > within + 1e-12:
            break
        rows.append({"rank": len(rows) + 1, "objective": sol.objective, "loss_vs_optimum": loss, "status": sol.status,
                     "sites": chosen, "dropped": sorted(set(best[1]) - set(chosen)), "added": sorted(set(chosen) - set(best[1]))})  # fmt: skip
        cuts.append(chosen)
    return pd.DataFrame(rows)


def _relative_loss(best: float, value: float, minimise: bool) -> float:
    if best == 0:
        return 0.0 if value == best else math.inf
    return (value - best) / abs(best) if minimise else (best - value) / abs(best)


def exact_time_cost(data: plans.PlanData) -> sp.csr_array:
    """The matrix with the far rows replaced by their uncut times: a p-median on it minimises the
    exact population-weighted time (no penalty for points beyond the cutoff)."""
    return sp.csr_array(data.exact)


# ------------------------------------------------------------------------------------------- efficiency
@dataclass
class Efficiency:
    """How much of the attainable gain a plan achieves (same p, same allowed sites and constraints).

    ``coverage`` = (people within T with the plan − today) / (optimum − today);
    ``mean_time`` = (today's mean − plan's mean) / (today's mean − optimum's mean). 1 = as good as
    the optimum; values are computed from exact times (no cutoff).
    """

    p: int
    T: float
    coverage: float
    mean_time: float
    plan: dict
    today: dict
    optimum_coverage: dict
    optimum_time: dict
    optimum_coverage_sites: list[int]
    optimum_time_sites: list[int]
    status: dict
    swaps_coverage: list[dict] = field(default_factory=list)
    swaps_time: list[dict] = field(default_factory=list)
    band: dict = field(default_factory=dict)


def efficiency(problem, data: plans.PlanData, plan, T: float, solver: str = "highs", time_limit: float = 600,
               groups: np.ndarray | None = None, band=None, coverage: dict | None = None) -> Efficiency:  # fmt: skip
    """Plan efficiency against the MCLP and p-median optima for the same p and constraints; the
    swaps are one per site to open, or one per ``groups`` label (e.g. municipality) when given;
    the band under each drive-time assumption (:func:`efficiency_band`, with ``band`` and ``coverage``)."""
    plan = [int(j) for j in plan]
    p = len(plan)
    cons = problem.constraints
    allowed = ~problem.fixed & ~(np.zeros(len(problem.fixed), bool) if cons.forbidden is None else np.asarray(cons.forbidden, bool))
    free = _without_required(cons)
    s_cov = _coverage_optimum(problem, data, p, T, solver, time_limit)
    med = MODELS["pmedian"](exact_time_cost(data), data.weights, p, fixed=problem.fixed, constraints=free)
    s_time = med.solve(solver=solver, time_limit=time_limit)
    today = plans.score_times(data, data.before, T)
    mine = plans.score(data, plan, T)
    oc = plans.score(data, s_cov.selected, T)
    ot = plans.score(data, s_time.selected, T)
    cov_gain = oc["pop_within_T"] - today["pop_within_T"]
    time_gain = today["mean_time"] - ot["mean_time"]
    eff = Efficiency(
        p=p, T=T,
        coverage=(mine["pop_within_T"] - today["pop_within_T"]) / cov_gain if cov_gain > 0 else math.nan,
        mean_time=(today["mean_time"] - mine["mean_time"]) / time_gain if time_gain > 0 else math.nan,
        plan=mine, today=today, optimum_coverage=oc, optimum_time=ot,
        optimum_coverage_sites=[int(j) for j in s_cov.selected], optimum_time_sites=[int(j) for j in s_time.selected],
        status={"coverage": s_cov.status, "time": s_time.status},
    )  # fmt: skip
    eff.swaps_coverage = plans.best_swaps(data, plan, T, allowed, "coverage", TOP_SWAPS, groups)
    eff.swaps_time = plans.best_swaps(data, plan, T, allowed, "time", TOP_SWAPS, groups)
    eff.band = efficiency_band(problem, data, plan, eff, solver, time_limit, band, coverage)
    return eff


def _coverage_optimum(problem, data: plans.PlanData, p: int, T: float, solver: str, time_limit: float):
    """The MCLP optimum for ``p`` new sites and radius ``T`` (any allowed site; the plan's own are no requirement)."""
    free = _without_required(problem.constraints)
    mclp = MODELS["mclp"](data.cost, data.weights, p, fixed=problem.fixed, constraints=free, service_radius=T)
    return mclp.solve(solver=solver, time_limit=time_limit)


def efficiency_band(problem, data: plans.PlanData, plan, eff: Efficiency, solver: str = "highs", time_limit: float = 600,
                    band=None, coverage: dict | None = None, assumptions=None) -> dict:  # fmt: skip
    """Plan efficiency under each drive-time assumption of :mod:`siting.uncertainty`, with its band.

    ``band``: the run's :class:`siting.pipeline.band_stage.BandTimes` (default: the run's times ×
    each factor of ``assumptions``). Where the times are the run's × ``f``, the coverage optimum is
    the optimum on the same matrix with radius ``T / f``; on a rebuilt network (ferry waits varied)
    it is the optimum on ``coverage[name]`` (the points beyond ``T`` today and their sites within
    ``T``, :meth:`BandTimes.coverage`), today's and the plan's coverage from the band's own times.
    Either way the optimum is solved again (proven when its status is ``optimal``). The p-median
    optimum does not move under a uniform factor, so the mean-time efficiency is the same under
    every assumption; on a rebuilt network that is an approximation (the ferry waits do not enter it).
    """
    from siting.uncertainty import ASSUMPTIONS
    from siting.uncertainty import band as banded

    if band is None:
        from siting.pipeline.band_stage import BandTimes

        band = [BandTimes(a) for a in assumptions or ASSUMPTIONS]
    w, T, p = data.weights, eff.T, len(plan)
    at_cov, at_time, status = {}, {}, {}
    for b in band:
        a = b.assumption
        if b.network is None:
            Tf = T / a.factor
            s = _coverage_optimum(problem, data, p, Tf, solver, time_limit)
            today = plans.score_times(data, data.before, Tf)["pop_within_T"]
            mine = plans.score(data, plan, Tf)["pop_within_T"]
            best = plans.score(data, s.selected, Tf)["pop_within_T"]
            status[b.name] = {"coverage_optimum": s.status, "gap": s.gap, "radius_on_run_matrix": Tf}
        else:
            rows, cost = coverage[b.name]
            today, mine = float(w[b.before <= T].sum()), float(w[b.after <= T].sum())
            s = MODELS["mclp"](cost, w[rows], p, fixed=problem.fixed, constraints=_without_required(problem.constraints),
                               service_radius=T).solve(solver=solver, time_limit=time_limit)  # fmt: skip
            reached = sp.csr_array(cost)[:, s.selected].tocsr()
            hit = np.zeros(len(rows), bool)
            hit[np.repeat(np.arange(len(rows)), np.diff(reached.indptr))[reached.data <= T]] = True
            best = today + float(w[rows][hit].sum())
            status[b.name] = {"coverage_optimum": s.status, "gap": s.gap, "points_beyond_T": int(len(rows)),
                              "mean_time_efficiency": "approximated: uniform factor, ferry waits as in the run"}  # fmt: skip
        at_cov[b.name] = (mine - today) / (best - today) if best > today else math.nan
        f = a.factor
        t_today, t_plan, t_opt = (f * x["mean_time"] for x in (eff.today, eff.plan, eff.optimum_time))
        at_time[b.name] = (t_today - t_plan) / (t_today - t_opt) if t_today > t_opt else math.nan
    return {"coverage_efficiency": banded(eff.coverage, at_cov), "mean_time_efficiency": banded(eff.mean_time, at_time),
            "optimum_status": status}


def _without_required(cons):
    """The same constraints without required sites: the optimum may choose any allowed site
    (an evaluated plan's own sites are not requirements)."""
    from dataclasses import replace

    return replace(cons, required=None)


def efficiency_dict(eff: Efficiency, inputs) -> dict:
    """JSON-ready efficiency with site names."""

    def swaps(rows):
        return [{**r, "remove_name": _names(inputs, [r["remove"]])[0], "add_name": _names(inputs, [r["add"]])[0],
                 "remove_site_id": str(inputs.sites.site_id.iloc[r["remove"]]), "add_site_id": str(inputs.sites.site_id.iloc[r["add"]]),
                 "add_kommunenummer": str(inputs.sites.kommunenummer.iloc[r["add"]])}
                for r in rows]  # fmt: skip

    return {
        "p": eff.p, "threshold_minutes": eff.T,
        "coverage_efficiency": eff.coverage, "mean_time_efficiency": eff.mean_time,
        "definition": "share of the attainable gain achieved: (plan − today) / (optimum − today) for people within T "
                      "(optimum: MCLP) and for mean drive time (optimum: p-median on uncut times), same p, same allowed sites",
        "today": eff.today, "plan": eff.plan, "optimum_coverage": eff.optimum_coverage, "optimum_time": eff.optimum_time,
        "optimum_coverage_sites": _names(inputs, eff.optimum_coverage_sites),
        "optimum_time_sites": _names(inputs, eff.optimum_time_sites), "optimum_status": eff.status,
        "optimum_coverage_site_ids": [str(inputs.sites.site_id.iloc[j]) for j in eff.optimum_coverage_sites],
        "optimum_time_site_ids": [str(inputs.sites.site_id.iloc[j]) for j in eff.optimum_time_sites],
        "top_swaps_coverage": swaps(eff.swaps_coverage), "top_swaps_time": swaps(eff.swaps_time), "band": eff.band,
        "swaps_note": "the best single swap (give up one site of the plan, open another) for each municipality to open in, best first",
    }  # fmt: skip


# ------------------------------------------------------------------------------------------- one call
@dataclass
class PlanAnalysis:
    """Stage result written by the outputs stage: ``explain.csv`` and, when computed,
    ``efficiency.json`` and ``alternatives.csv``."""

    sites: pd.DataFrame
    efficiency: dict | None = None
    alternatives: pd.DataFrame | None = None


def analyse(sc, inputs, tm, far, problem, sol, with_efficiency: bool = False, k: int = 0, within: float | None = None,
            band=None) -> PlanAnalysis:  # fmt: skip
    """Explain the solution's sites; optionally efficiency (evaluate runs, with its band under the
    drive-time assumptions of ``band``, the run's band stage) and k alternatives."""
    data = plans.PlanData.from_stages(inputs, tm, far)
    T = float(sc.model.threshold_minutes)
    cons = problem.constraints
    allowed = ~problem.fixed & ~(np.zeros(len(problem.fixed), bool) if cons.forbidden is None else np.asarray(cons.forbidden, bool))
    plan = [int(j) for j in sol.selected]
    out = PlanAnalysis(explain_sites(inputs, data, plan, T, allowed))
    if with_efficiency and plan:
        coverage = {b.name: b.coverage(inputs, T) for b in band or [] if b.network is not None}
        eff = efficiency(problem, data, plan, T, sc.solver.name, sc.solver.time_limit, inputs.sites.kommunenummer.to_numpy(str),
                         band, coverage)  # fmt: skip
        out.efficiency = efficiency_dict(eff, inputs)
    if k > 0:
        alt = alternatives(sc, problem, tm, k, within, first=sol)
        if len(alt):
            for col in ("sites", "dropped", "added"):
                alt[col] = ["; ".join(_names(inputs, v)) for v in alt[col]]
        out.alternatives = alt
    return out
