"""Stage 4, model: the scenario's constraints and weights as plain arrays, and the solve (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from siting.models import MODELS, SiteConstraints, Solution
from siting.pipeline.inputs_stage import Inputs
from siting.pipeline.matrix import TimeMatrix
from siting.scenario import Scenario


@dataclass
class Problem:
    """What a model needs besides the matrix, as plain arrays (no files, no geometry).

    Attributes
    ----------
    weights : ndarray
        Model weight per demand point (``demand.weight``: population, offences or a blend).
    fixed : ndarray of bool
        Existing offices (always open) per site.
    constraints : SiteConstraints
        Required/forbidden sites, group bounds, wish bonus, site names.
    demand_districts : ndarray of str
        Police district per demand point (LSCP per-district targets).
    plan : ndarray of int or None
        ``evaluate``: the site indices of the plan to score.
    """

    weights: np.ndarray
    fixed: np.ndarray
    constraints: SiteConstraints
    demand_districts: np.ndarray
    plan: np.ndarray | None = None
    capacity_weights: np.ndarray | None = None
    notes: dict = field(default_factory=dict)
    load_weights: np.ndarray | None = None
    office_labels: np.ndarray | None = None
    existing: np.ndarray | None = None  # today's offices among the sites (structure scenarios: fixed is all False)


def site_hits(names: list[str], inputs: Inputs, what: str) -> list[np.ndarray]:
    """Site indices (matrix columns) per scenario site name: all candidates of a municipality, or of
    a place (see :func:`siting.candidates.resolve_site`)."""
    from siting.candidates import match_sites

    return [hit + inputs.n_fixed for hit in match_sites(names, inputs.candidates, inputs.kommuner, what)]


def plan_sites(names: list[str], inputs: Inputs) -> np.ndarray:
    """``evaluate``: one site index per name (a municipality → its main place)."""
    from siting.candidates import pick_site

    return np.array([pick_site(n, inputs.candidates, inputs.kommuner, "sites") for n in names], dtype=int) + inputs.n_fixed


def build_problem(sc: Scenario, inputs: Inputs) -> Problem:
    """Stage 4a: constraints and weights for the model from the scenario (cheap, no I/O)."""
    sites = inputs.sites
    fixed = inputs.fixed
    cons = SiteConstraints(names=sites["name"].tolist(),
                           groups={"politidistrikt": sites.politidistrikt.to_numpy(str), "kommunenummer": sites.kommunenummer.to_numpy(str)})  # fmt: skip
    forbidden = np.zeros(len(sites), bool)
    required = np.zeros(len(sites), bool)
    for hit in site_hits(sc.constraints.forbidden_sites, inputs, "constraints.forbidden_sites"):
        forbidden[hit] = True  # a municipality: all its candidates
    for name, hit in zip(sc.constraints.required_sites, site_hits(sc.constraints.required_sites, inputs,
                                                                  "constraints.required_sites"), strict=True):  # fmt: skip
        if len(hit) == 1:
            required[hit] = True
        else:  # a municipality (or a place with several candidates): at least one of them opens
            group = f"required site {name}"
            cons.groups[group] = np.where(np.isin(np.arange(len(sites)), hit), "yes", "no")
            cons.min_per_group[group] = {"yes": 1}
    from siting.crime import demand_weights

    weights, weight_desc = demand_weights(inputs.demand, sc.demand.weight, sc.demand.centrality_classes)
    notes = {"demand_weight": {"spec": sc.demand.weight, "formula": weight_desc}}
    if sc.demand.weight != "population":
        notes["demand_weight"]["offences"] = inputs.crime_info
    if inputs.wishes is not None:
        from siting.wishes import counts_for

        status = sites["wish_status"]
        excl = counts_for(inputs.wishes, sites.kommunenummer, sc.wishes.exclude_min_evidence).to_numpy()
        strong = counts_for(inputs.wishes, sites.kommunenummer, sc.wishes.bonus_min_evidence).to_numpy()
        declined = status.eq("declined").to_numpy() & ~fixed & excl
        premises = status.eq("asked_with_premises").to_numpy() & ~fixed & strong
        asked = status.isin(["asked", "asked_with_premises"]).to_numpy() & ~fixed & strong
        if sc.wishes.exclude_declined:
            forbidden |= declined & ~required
        scale = float(weights.sum()) / max(sc.new_offices, 1)
        bonus = np.zeros(len(sites))
        if sc.wishes.asked_with_premises == "require":
            # one site per such municipality: its first candidate (the municipality centre if present)
            first = sites[premises].drop_duplicates("kommunenummer").index.to_numpy()
            required[first] = True
        elif sc.wishes.asked_with_premises == "bonus":
            bonus = np.where(premises, sc.wishes.bonus * scale, 0.0)
        if sc.wishes.asked == "bonus":  # one bonus per municipality, on its main place
            from siting.candidates import pick_site

            for k in sorted(set(sites.kommunenummer[asked])):
                bonus[pick_site(k, inputs.candidates, inputs.kommuner, "wishes") + inputs.n_fixed] = sc.wishes.bonus * scale
        if bonus.any():
            cons.wish_bonus = bonus
        notes["wishes_policy"] = {
            "excluded_municipalities": sorted(set(sites.kommune[declined & forbidden])) if sc.wishes.exclude_declined else [],
            "bonus_municipalities": sorted(set(sites.kommune[bonus > 0])),
            "bonus_per_site": float(sc.wishes.bonus * scale) if bonus.any() else 0.0,
            "exclude_min_evidence": sc.wishes.exclude_min_evidence, "bonus_min_evidence": sc.wishes.bonus_min_evidence,
            "declined_not_counted": sorted(set(sites.kommune[status.eq("declined").to_numpy() & ~fixed & ~excl])),
        }  # fmt: skip
    cons.forbidden, cons.required = forbidden, required
    if sc.constraints.max_per_kommune is not None:
        cons.max_per_group["kommunenummer"] = sc.constraints.max_per_kommune
    if sc.constraints.max_per_district is not None:
        cons.max_per_group["politidistrikt"] = sc.constraints.max_per_district
    if sc.constraints.min_per_district is not None:
        cons.min_per_group["politidistrikt"] = sc.constraints.min_per_district
    bound = sc.constraints.min_in_centrality_classes
    if bound is not None:
        from siting.periphery import demand_classes

        group = f"centrality classes {', '.join(map(str, bound.classes))}"
        in_cls = np.isin(demand_classes(sites.kommunenummer, inputs.centrality), bound.classes)
        cons.groups[group] = np.where(in_cls, "in", "out")
        cons.min_per_group[group] = {"in": bound.count}
    plan = plan_sites(sc.sites, inputs) if sc.model.type == "evaluate" else None
    cap = sc.model.capacity
    cap_w = None
    if cap is not None:
        cap_w = weights if cap.measure == "weight" else inputs.demand[cap.measure].to_numpy(float)
    load_w = weights if sc.model.load.measure == "weight" else inputs.demand[sc.model.load.measure].to_numpy(float)
    from siting.workload import site_office_labels

    if sc.existing.mode != "fixed":  # a whole structure: nothing fixed, today's offices are sites like the others
        return Problem(weights, np.zeros(len(sites), bool), cons, inputs.demand.politidistrikt.to_numpy(str), plan, cap_w, notes, load_w,
                       site_office_labels(sites, inputs.stations), existing=fixed)  # fmt: skip
    return Problem(weights, fixed, cons, inputs.demand.politidistrikt.to_numpy(str), plan, cap_w, notes, load_w,
                   site_office_labels(sites, inputs.stations))  # fmt: skip


def _rows_complete(tm: TimeMatrix, fixed: np.ndarray) -> bool:
    """Every row reaches its point's nearest existing office (as :func:`drive_time_matrix` builds
    them): then every site that can serve a point is in its row and no cutoff applies."""
    if not fixed.any() or not np.all(np.isfinite(tm.before)):
        return False
    from siting.models import assign_nearest

    _, t = assign_nearest(tm.cost, np.flatnonzero(fixed))
    return bool(np.all(np.abs(t - tm.before) <= 1e-6 * np.maximum(1.0, tm.before)))


def solve_model(sc: Scenario, problem: Problem, tm: TimeMatrix, rows_for=None) -> Solution:
    """Stage 4b: solve (or evaluate) the scenario's model on the matrix. No I/O.

    ``rows_for(points, minutes)``: drive-time rows of demand ``points`` up to ``minutes`` each, for
    structure scenarios whose models need longer rows (:mod:`siting.pipeline.structure`).
    """
    if sc.existing.mode != "fixed":
        from siting.pipeline.structure import solve_structure

        return solve_structure(sc, problem, tm, rows_for)
    cost, w, fixed, cons = tm.cost, problem.weights, problem.fixed, problem.constraints
    T = sc.model.threshold_minutes
    solver = sc.solver
    mtype = sc.model.type
    cut = None if _rows_complete(tm, fixed) else tm.cutoff
    if mtype in ("none", "evaluate"):
        chosen = problem.plan if mtype == "evaluate" else np.array([], int)
        base = MODELS["pmedian"](cost, w, 0, fixed=fixed)
        sol = base.make_solution(np.unique(chosen), float("nan"), "evaluated", 0.0, float("nan"), 0.0, "none", None)
        sol.model = mtype
        return sol
    if mtype == "lscp":
        groups = problem.demand_districts if sc.model.target_scope == "district" else None
        m = MODELS["lscp"](cost, w, 0, fixed=fixed, constraints=cons, service_radius=T, cutoff_minutes=cut,
                           target_share=sc.model.target_share, demand_groups=groups)  # fmt: skip
        sol = m.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)
        minimum = len(sol.selected)
        if sc.model.then_best and sc.new_offices > minimum:
            req2 = np.asarray(cons.required, bool).copy()
            req2[sol.selected] = True
            m2 = MODELS["mclp"](cost, w, sc.new_offices, fixed=fixed, constraints=replace(cons, required=req2), service_radius=T,
                                cutoff_minutes=cut)  # fmt: skip
            sol2 = m2.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)
            sol2.stats = {**sol2.stats, "lscp_minimum_new_offices": minimum, "lscp_status": sol.status}
            return sol2
        sol.stats = {**sol.stats, "lscp_minimum_new_offices": minimum}
        return sol
    if mtype == "load":
        m = MODELS["load"](cost, problem.load_weights, sc.new_offices, fixed=fixed, constraints=cons, norm=sc.model.load.norm,
                           office_labels=problem.office_labels)  # fmt: skip
        return m.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)
    params = {"service_radius": T, "cutoff_minutes": cut}
    if mtype == "backup":
        params["backup_weight"] = sc.model.backup_weight
    if mtype == "pcenter":
        params["fixed_times"] = tm.before
    if mtype == "hybrid":
        params.update(objective_weights=sc.model.objective_weights, lexicographic=sc.model.lexicographic, solver=solver.name)
    model_cls = MODELS[mtype]
    if sc.model.capacity is not None:
        from siting.models import CAPACITATED

        model_cls = CAPACITATED[mtype]
        params.update(capacity=sc.model.capacity.max_per_office, capacity_weights=problem.capacity_weights,
                      split_demand=sc.model.capacity.split_demand)  # fmt: skip
    m = model_cls(cost, w, sc.new_offices, fixed=fixed, constraints=cons, **params)
    return m.solve(solver=solver.name, time_limit=solver.time_limit, gap=solver.gap)


