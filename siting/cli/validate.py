"""``siting validate FILE``: report every error of a scenario file with its YAML line."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("validate", help="check scenario files and report every error with its line")
    p.add_argument("scenarios", nargs="+")
    p.add_argument("--schema-only", action="store_true",
                   help="check the file only, not its inputs (data files, site names, candidates vs new_offices)")
    p.set_defaults(func=handle)


def input_errors(path, sc) -> list[str]:
    """Checks that need the scenario's inputs (bundled data unless the scenario names files): the
    inputs load, site names resolve, and there are at least ``new_offices`` allowed candidates."""
    import numpy as np

    from siting import pipeline
    from siting.errors import SitingError

    try:
        inputs = pipeline.load_inputs(sc)
        problem = pipeline.build_problem(sc, inputs)
        if sc.network.ferries and sc.network.ferry_table:  # the ferry-route table the network build would read
            from siting.inputs import find
            from siting.network.ferries import read_ferry_table

            table = find("ferries", sc.input_paths().get("ferries"))
            if table is not None:
                read_ferry_table(table.path)
    except SitingError as exc:
        return [f"{path}: {exc}"]
    cand = ~problem.fixed
    forbidden = cand & np.asarray(problem.constraints.forbidden, bool)
    allowed = int(cand.sum() - forbidden.sum())
    if sc.model.type not in ("lscp", "none", "evaluate") and sc.new_offices > allowed:
        return [f"{path}: new_offices: {sc.new_offices} new offices but only {allowed} candidate sites are allowed "
                f"({int(cand.sum())} candidates, {int(forbidden.sum())} forbidden); lower new_offices or add candidates "
                "(candidates.sources, candidates.extra_points)"]  # fmt: skip
    return []


def handle(args) -> int:
    from siting.scenario import scenario_errors

    bad = 0
    for f in args.scenarios:
        sc, errors = scenario_errors(f)
        if not errors and not args.schema_only:
            errors = input_errors(f, sc)
        if errors:
            bad += 1
            for e in errors:
                print(e, file=sys.stderr)
        else:
            print(f"{f}: ok ({sc.name}: model {sc.model.type}, {sc.new_offices} new offices)")
    return 2 if bad else 0
