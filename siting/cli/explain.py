"""``siting explain SCENARIO``: what each site of a plan buys, near-optimal alternatives, plan efficiency."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "explain",
        help="explain and challenge a scenario's plan: per-site value and replacements, k best alternatives, efficiency",
        description="Runs the scenario's stages (cached) and writes explain.csv (per new site: people newly within T, "
        "municipalities served, loss if removed, best replacement and regret), alternatives.csv (k best distinct plans, "
        "no-good cuts) and efficiency.json (share of the attainable gain vs the optimum for the same p, top 5 swaps).",
    )
    p.add_argument("scenario", help="scenario file (an optimising model, or model.type evaluate for a given plan)")
    p.add_argument("--alternatives", type=int, default=0, metavar="K", help="the K best distinct plans (mclp, pmedian, backup, hybrid)")
    p.add_argument("--within", type=float, default=None, metavar="PCT",
                   help="with --alternatives: only plans within PCT %% of the optimum (K is then an upper limit)")  # fmt: skip
    p.add_argument("--efficiency", action="store_true", help="also for optimising models (always on for model.type evaluate)")
    p.add_argument("--criteria", action="store_true",
                   help="solve each criterion alone (population, offences, load, centrality, wishes) and the scenario: criteria.csv")
    p.add_argument("--revealed", action="store_true",
                   help="model.type evaluate: the criterion weights under which the plan is closest to optimal: revealed.json")
    p.add_argument("--include-inferred", action="store_true",
                   help="with --criteria/--revealed: also count wishes inferred after the decision (default: only those stated before)")
    p.add_argument("--out", type=Path, required=True, help="folder to write")
    p.add_argument("--force", action="store_true", help="replace an earlier explain folder (one holding explain.csv)")
    p.set_defaults(func=handle)


def handle(args) -> int:

    from siting import pipeline
    from siting.errors import SitingError
    from siting.explain import analyse
    from siting.io import atomic_dir, check_output_dir, json_text
    from siting.pipeline.band_stage import band_stage
    from siting.scenario import load_scenario

    check_output_dir(args.out, force=args.force, marker="explain.csv", what="explain folder")  # before any computation
    if args.alternatives < 0 or (args.within is not None and not 0 <= args.within < 100):
        raise SitingError("--alternatives must be >= 0 and --within a percentage in [0, 100)")
    sc = load_scenario(args.scenario)
    if args.revealed and sc.model.type != "evaluate":
        raise SitingError(f"--revealed needs a given plan: model.type evaluate with sites (the scenario has {sc.model.type})")
    if args.alternatives and sc.model.type not in ("mclp", "pmedian", "backup", "hybrid"):
        raise SitingError(f"--alternatives needs model.type mclp, pmedian, backup or hybrid (the scenario has {sc.model.type})")
    inputs = pipeline.load_inputs(sc)
    network = pipeline.load_network_stage(sc)
    tm = pipeline.scenario_matrix(sc, network, inputs)
    far = pipeline.far_rows(network, inputs, tm)
    problem = pipeline.build_problem(sc, inputs)
    sol = pipeline.solve_model(sc, problem, tm)
    with_efficiency = args.efficiency or sc.model.type == "evaluate"
    band = band_stage(sc, inputs, network, sol.open_sites) if with_efficiency else None  # the efficiency's band, as a run has it
    res = analyse(sc, inputs, tm, far, problem, sol, with_efficiency=with_efficiency, k=args.alternatives,
                  within=None if args.within is None else args.within / 100, band=band)  # fmt: skip
    with atomic_dir(args.out, force=args.force, marker="explain.csv") as tmp:
        res.sites.to_csv(tmp / "explain.csv", index=False)
        if res.efficiency is not None:
            (tmp / "efficiency.json").write_text(json_text(res.efficiency), encoding="utf-8")
        if res.alternatives is not None:
            res.alternatives.to_csv(tmp / "alternatives.csv", index=False)
        if args.criteria or args.revealed:
            crit = criteria_outputs(args, sc, inputs, tm, problem, sol)
            if crit.get("ledger") is not None:
                crit["ledger"].to_csv(tmp / "criteria.csv", index=False)
            (tmp / "criteria_meta.json").write_text(json_text(crit["meta"]), encoding="utf-8")
            if crit.get("revealed") is not None:
                (tmp / "revealed.json").write_text(json_text(crit["revealed"]),
                                                   encoding="utf-8")  # fmt: skip
    T = sc.model.threshold_minutes
    print(f"{sc.name}: {len(sol.selected)} new sites ({sol.model}, {sol.status})")
    for r in res.sites.itertuples(index=False):
        print(f"  {r.rank:>2}. {r.name} ({r.kommune}): {r.pop_newly_within_T:,.0f} newly within {T:g} min, "
              f"loses {r.coverage_loss_if_removed:,.0f} if removed; best replacement {r.best_replacement_coverage or '-'} "
              f"(regret {r.regret_people:,.0f})")  # fmt: skip
    if res.efficiency is not None:
        print(summary_lines(res.efficiency))
    if res.alternatives is not None:
        print(f"{len(res.alternatives)} alternative plan(s); see alternatives.csv")
    if args.criteria or args.revealed:
        print(criteria_lines(crit, T))
    print(f"wrote {args.out}/")
    return 0


def summary_lines(e: dict) -> str:
    """Efficiency in plain words, with the best swaps."""
    lines = [f"efficiency (same p = {e['p']}): {100 * e['coverage_efficiency']:.0f} % of the attainable gain in people within "
             f"{e['threshold_minutes']:g} min, {100 * e['mean_time_efficiency']:.0f} % of the attainable cut in mean drive time"]  # fmt: skip
    for s in e["top_swaps_coverage"]:
        lines.append(f"  swap {s['remove_name']} → {s['add_name']}: +{s['coverage_change']:,.0f} people within T")
    return "\n".join(lines)


def criteria_outputs(args, sc, inputs, tm, problem, sol) -> dict:
    """The ledger (``--criteria``) and the revealed weights (``--revealed``) of a scenario."""
    from siting import criteria

    d = criteria.criteria_data(sc, inputs, tm, problem, include_inferred=args.include_inferred)
    best = criteria.alone(d, sc.solver.name, sc.solver.time_limit)
    out = {"ledger": criteria.ledger(d, sol.selected, sol.status, best) if args.criteria else None,
           "meta": {"scenario": sc.name, "threshold_minutes": d.T, "p": d.p, "evidence_yes": d.evidence[0], "evidence_no": d.evidence[1],
                    "norm": d.norm, "language": getattr(sc.outputs, "language", None),
                    "load_measure": sc.model.load.measure, "classes": "–".join(map(str, sc.demand.centrality_classes))}}
    if args.revealed:
        r = criteria.revealed(d, problem.plan, best, sc.solver.name, sc.solver.time_limit)
        out["revealed"] = criteria.revealed_dict(r, d, problem.plan, best)
    return out


def criteria_lines(crit: dict, T: float) -> str:
    """The ledger and the revealed weights in plain words."""
    lines = []
    if crit.get("ledger") is not None:
        lines.append(f"criteria (people and offences within {T:g} min, load relieved, small municipalities within {T:g} min, wishes):")
        for r in crit["ledger"].itertuples(index=False):
            lines.append(f"  {r.row:<24} {r.people_within_T:>11,.0f} people  {r.offences_within_T:>9,.0f} offences  "
                         f"{r.load_relieved:>8,.0f} relieved  {r.small_people_within_T:>9,.0f} small  "
                         f"{r.wishes_granted}/{r.wishes_asked} wishes, {r.declined_overridden} no overridden")  # fmt: skip
    rv = crit.get("revealed")
    if rv is not None:
        w = ", ".join(f"{k} {v:.2f}" for k, v in rv["weights"].items())
        lines.append(f"revealed weights: {w}; efficiency {100 * rv['efficiency']:.0f} % "
                     f"(population only {100 * rv['efficiency_population_only']:.0f} %)")  # fmt: skip
        lines.append("  " + rv["note"])
    return "\n".join(lines)
