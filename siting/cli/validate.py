"""``siting validate FILE``: report every error of a scenario file with its YAML line."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("validate", help="check scenario files and report every error with its line")
    p.add_argument("scenarios", nargs="+")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from siting.scenario import scenario_errors

    bad = 0
    for f in args.scenarios:
        sc, errors = scenario_errors(f)
        if errors:
            bad += 1
            for e in errors:
                print(e, file=sys.stderr)
        else:
            print(f"{f}: ok ({sc.name}: model {sc.model.type}, {sc.new_offices} new offices)")
    return 2 if bad else 0
