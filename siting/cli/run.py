"""``siting run FILE``: run a scenario and write its run folder."""

from __future__ import annotations

import logging


def register(sub) -> None:
    p = sub.add_parser("run", help="run a scenario YAML and write proposals, metrics and a map")
    p.add_argument("scenario", help="scenario file, e.g. scenarios/max-coverage-30.yaml")
    p.add_argument("--out", help="run folder (default runs/<scenario name>)")
    p.add_argument("--force", action="store_true", help="overwrite an existing run folder")
    p.add_argument("--lang", choices=("nb", "en"), help="language of the map (default: the scenario's outputs.language, nb)")
    p.add_argument("--quiet", dest="run_quiet", action="store_true", help="only errors and the summary")
    p.add_argument("--verbose", dest="run_verbose", action="store_true", help="debug output")
    p.set_defaults(func=handle)


def _minutes(v) -> str:
    """Minutes with one decimal; "–" when there are none (no office reaches anyone: JSON null)."""
    return "–" if v is None else f"{v:.1f}"


def handle(args) -> int:
    from rich.console import Console

    from siting.run import run_scenario

    if args.run_quiet:
        logging.getLogger().setLevel(logging.ERROR)
    elif args.run_verbose:
        logging.getLogger().setLevel(logging.DEBUG)
    console = Console(stderr=True, quiet=logging.getLogger().level > logging.INFO)
    with console.status("running scenario…"):
        out = run_scenario(args.scenario, args.out, force=args.force, lang=args.lang)
    import json

    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    h = m["headline"]
    print(f"{man['scenario']}: {len(man['new_sites'])} new offices · model {man['model']} · solver {man['solver']} · status {man['status']}")
    print(f"within {m['threshold_minutes']:g} min: {100 * h['share_within_T_before']:.1f} % → {100 * h['share_within_T_after']:.1f} %"
          f"{_band(h, 'share_within_T_after', 100, ' %')}; mean drive time {_minutes(h['mean_time_before'])} → "
          f"{_minutes(h['mean_time_after'])} min{_band(h, 'mean_time_after', 1, ' min')}")  # fmt: skip
    s = m.get("structure")
    if s:  # a whole structure (existing.mode greenfield / relocate)
        print(f"structure of {s['structure_locations']} locations: {s['kept']} of today's {s['today_locations']} kept, "
              f"{s['moved']} moved, {s['added']} added (office_values.csv)")  # fmt: skip
        e = s.get("efficiency")
        if e:
            print(f"today's structure against the best of {e['locations']} locations: within {e['threshold_minutes']:g} min "
                  f"{100 * e['today']['share_within_T']:.1f} % vs {100 * e['optimum_coverage']['share_within_T']:.1f} % "
                  f"(efficiency {e['coverage_efficiency']:.2f}); mean drive time {e['today']['mean_time']:.1f} vs "
                  f"{e['optimum_time']['mean_time']:.1f} min (efficiency {e['mean_time_efficiency']:.2f})"
                  + ("" if set(e["optimum_status"].values()) == {"optimal"} else
                     f" — not proven: {', '.join(f'{k} {v}' for k, v in e['optimum_status'].items() if v != 'optimal')}, "
                     "the optimum may be better (bounds in metrics.json)"))  # fmt: skip
    if "efficiency" in m:
        from siting.cli.explain import summary_lines

        print(summary_lines(json.loads((out / "efficiency.json").read_text(encoding="utf-8"))))
    if man["is_estimate"]:
        print("NOTE: drive times are ESTIMATED (no road network)")
    cut = man.get("cutoff") or {}
    if cut.get("cutoff_may_change_optimum"):
        print(f"NOTE: {cut['beyond_cutoff_points']} demand points (population {cut['beyond_cutoff_population']:.0f}) have no open "
              f"office within the {cut['cutoff_minutes']:g}-min cutoff: it may have changed the optimum; raise network.cutoff_minutes")  # fmt: skip
    print(f"wrote {out}/ (proposals.csv, kommuner.csv, metrics.json, manifest.json, map.html)")
    return 0


def _band(headline: dict, key: str, scale: float, unit: str) -> str:
    """`` (93.7–97.0 % under low and high drive times)`` when the run carries a band for ``key``."""
    b = (headline.get("band") or {}).get(key)
    if not isinstance(b, dict) or not all(isinstance(b.get(k), int | float) for k in ("low", "high")):
        return ""  # no band, or not finite (written as null)
    return f" ({scale * b['low']:.1f}–{scale * b['high']:.1f}{unit} under low and high drive times)"
