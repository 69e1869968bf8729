"""The report's run sections: the headline in words, what each new office buys, how good the plan
is (every percentage with its absolute size), and the calculation's details, folded."""

from __future__ import annotations

import numpy as np
import pandas as pd

from siting import i18n
from siting.errors import SitingError
from siting.i18n import Html, Lang, t, th
from siting.report.page import details, e, table
from siting.style import ROUND

NAT = ROUND["people_national"]
SITE = ROUND["people_site"]


def _people(v, lang: Lang, step: int = SITE) -> str:
    return i18n.people(v, step, lang)


def offences(run) -> dict | None:
    """Offences within T today and with the plan, from the run's demand points."""
    d = run.demand
    if d is None:
        return None
    off = d["offences"].to_numpy(float) if "offences" in d else None
    if off is None:
        try:
            from siting.crime import spread_offences
            from siting.data.crime import load_offences

            off = spread_offences(d, load_offences())[0]["offences"].to_numpy(float)
        except (ImportError, SitingError, OSError):
            return None
    T = float(run.metrics["threshold_minutes"])
    res = {"total": float(off.sum())}
    for key in ("time_before", "time_after"):
        tt = d[key].to_numpy(float)
        res[key] = float(off[np.isfinite(tt) & (tt <= T)].sum())
    return res


def _with_band(text: str, container: dict, key: str, fmt, lang: Lang) -> str:
    return i18n.with_band(text, i18n.band_for(container, key), fmt, lang)


def sites_adding_nobody(run) -> list[tuple[str, str | None]]:
    """(name, municipality) of the new sites that bring nobody newly within T (rank order)."""
    ex = run.explain
    if ex is not None and "pop_newly_within_T" in ex:
        newly, names, kommune = ex["pop_newly_within_T"], ex["name"], ex.get("kommune")
    else:
        p = run.proposals
        if "pop_newly_covered" not in p:
            return []
        newly, names, kommune = p["pop_newly_covered"], p["name"], p.get("kommune")
    ks = kommune if kommune is not None else [None] * len(names)
    return [(n, k) for n, k, v in zip(names, ks, newly.astype(float), strict=True) if round(v) <= 0]


def _zero_sentence(run, lang: Lang) -> str:
    zero = sites_adding_nobody(run)
    if not zero:
        return ""
    n = len(run.manifest.get("new_sites", [])) or len(run.proposals)
    names = [i18n.plain_name(n, k, lang) for n, k in zero]
    listed = (", ".join(names[:-1]) + " " + t("r.and", lang) + " " + names[-1]) if len(names) > 1 else names[0]
    return th("r.zero", lang, k=len(zero), n=n, T=float(run.metrics["threshold_minutes"]), names=listed)


def headline_text(run, lang: Lang) -> str:
    """The run's result in plain words: people within T with the plan and how many more than today,
    drive times, offences, efficiency with its absolute gap, the sites that add nobody."""
    h, m, man = run.metrics["headline"], run.metrics, run.manifest
    v = i18n.value_of
    T = float(m["threshold_minutes"])
    pop = v(m["national"]["before"]["population"])
    n = len(man["new_sites"])
    sb, sa = v(h["share_within_T_before"]), v(h["share_within_T_after"])
    within_b, within_a = sb * pop, sa * pop
    if man.get("model") == "evaluate":
        what = t("r.what.evaluate", lang)
    else:
        what = t("r.what.optimise", lang, model=t(f"r.model.{man.get('model')}", lang) if i18n.has(f"r.model.{man.get('model')}") else man.get("model"))
        if man.get("status") not in ("optimal", None):
            what += " " + t("r.what.status", lang, status=man.get("status"))
    s = [f"<p><b>{e(run.title(lang))}</b> — {th('r.n_new', lang, n=n)}, {e(what)}.</p><ul>"]
    # people rounded as finely as their drive-time band allows (a band 180 000 wide → thousands)
    share_band = i18n.band_for(h, "share_within_T_after")
    people_band = i18n.band_for(h, "people_within_T_after") or (
        {"low": share_band["low"] * pop, "high": share_band["high"] * pop} if share_band else None)
    gain_step = i18n.band_step(i18n.band_for(h, "people_newly_within_T"), NAT)
    s.append("<li>" + th("r.hl.people", lang, within=Html(e(i18n.banded_people(within_a, people_band, lang, NAT))),
                         share=i18n.pct(sa, 1, lang), T=T, more=i18n.signed_people(within_a - within_b, gain_step, lang),
                         today=i18n.pct(sb, 1, lang)) + "</li>")  # fmt: skip
    mins = lambda x: i18n.minutes(x, 1, lang)  # noqa: E731
    s.append("<li>" + th("r.hl.time", lang, after=Html(e(_with_band(mins(v(h["mean_time_after"])), h, "mean_time_after", mins, lang))),
                         before=mins(v(h["mean_time_before"])), p90a=i18n.minutes(v(h["p90_after"]), 0, lang),
                         p90b=i18n.minutes(v(h["p90_before"]), 0, lang)) + "</li>")  # fmt: skip
    off = offences(run)
    if off:
        s.append("<li>" + th("r.hl.offences", lang, T=T, after=_people(off["time_after"], lang, NAT), total=_people(off["total"], lang, NAT),
                             share=i18n.pct(off["time_after"] / off["total"], 1, lang),
                             more=i18n.signed_people(off["time_after"] - off["time_before"], SITE, lang)) + "</li>")  # fmt: skip
    if run.efficiency:
        s.append("<li>" + efficiency_sentence(run.efficiency, lang) + "</li>")
    zero = _zero_sentence(run, lang)
    if zero:
        s.append(f"<li>{zero}</li>")
    if man.get("is_estimate"):
        s.append("<li>" + th("r.hl.estimate", lang) + "</li>")
    s.append("</ul>")
    return "\n".join(s)


def gaps(eff: dict) -> dict:
    """The plan's distance from the optimum in absolute terms: people within T (and percentage
    points) short of the best plan for coverage, minutes of mean drive time above the best for time."""
    plan, oc, ot = eff["plan"], eff["optimum_coverage"], eff["optimum_time"]
    return {"people": oc["pop_within_T"] - plan["pop_within_T"], "points": oc["share_within_T"] - plan["share_within_T"],
            "minutes": plan["mean_time"] - ot["mean_time"]}  # fmt: skip


def efficiency_sentence(eff: dict, lang: Lang) -> str:
    g = gaps(eff)
    return th("r.eff.sentence", lang, cov=i18n.pct(eff["coverage_efficiency"], 0, lang), T=float(eff["threshold_minutes"]), p=eff["p"],
              people=i18n.people(g["people"], NAT, lang), points=i18n.num(100 * g["points"], 1, lang),
              time=i18n.pct(eff["mean_time_efficiency"], 0, lang), minutes=i18n.minutes(g["minutes"], 1, lang))  # fmt: skip


def _top3(text: str, lang: Lang) -> str:
    """``A 2,087; B 1,289; C 989; D 886`` → ``A 2 090, B 1 290, C 990 (+1 til)``."""
    parts = [p.strip() for p in str(text).split(";") if p.strip()]
    out = []
    for p in parts[:3]:
        name, _, num = p.rpartition(" ")
        try:
            out.append(f"{name} {_people(float(num.replace(',', '')), lang)}")
        except ValueError:
            out.append(p)
    return ", ".join(out) + (" " + t("r.more_n", lang, n=len(parts) - 3) if len(parts) > 3 else "")


def sites_section(run, lang: Lang) -> str:
    """What each new office buys, in the one rank order."""
    if run.explain is None or not len(run.explain):
        return ""
    ex = run.explain
    T = float(run.metrics["threshold_minutes"])
    c = {k: t(f"r.sites.{k}", lang, T=T) for k in ("rank", "site", "kommune", "newly", "lost", "served", "replacement", "swap_gain")}
    df = pd.DataFrame({
        c["rank"]: ex["rank"], c["site"]: [i18n.plain_name(n, k, lang) for n, k in zip(ex["name"], ex["kommune"], strict=True)],
        c["kommune"]: ex["kommune"], c["newly"]: ex["pop_newly_within_T"], c["lost"]: ex["coverage_loss_if_removed"],
        c["served"]: ex["kommuner_served"].fillna("").map(lambda x: _top3(x, lang)),
        c["replacement"]: ex["best_replacement_coverage"].fillna("").map(lambda x: i18n.plain_name(x, None, lang)),
        c["swap_gain"]: -ex["regret_people"],
    })  # fmt: skip
    fmt = {c["newly"]: lambda v: _people(v, lang), c["lost"]: lambda v: _people(v, lang),
           c["swap_gain"]: lambda v: i18n.signed_people(v, SITE, lang)}  # fmt: skip
    return f"<h3>{e(t('r.sites.title', lang))}</h3><p class='note'>{e(t('r.sites.note', lang, T=T))}</p>" + table(df, fmt, "sites")


def efficiency_section(run, lang: Lang) -> str:
    eff = run.efficiency
    if not eff:
        return ""
    T = float(eff["threshold_minutes"])
    g = gaps(eff)
    within, share, mean = t("r.eff.within", lang, T=T), t("r.eff.share", lang), t("r.eff.mean", lang)
    rows = pd.DataFrame([{"": t(f"r.eff.{k}", lang, p=eff["p"]), within: eff[src]["pop_within_T"], share: eff[src]["share_within_T"],
                          mean: eff[src]["mean_time"]}
                         for k, src in (("today", "today"), ("plan", "plan"), ("best_cov", "optimum_coverage"), ("best_time", "optimum_time"))])  # fmt: skip
    give, take, saved = t("r.swap.give", lang), t("r.swap.take", lang), t("r.swap.saved", lang)
    nm = lambda s, side: i18n.plain_name(s[f"{side}_name"], None, lang)  # noqa: E731
    sw = pd.DataFrame([{give: nm(s, "remove"), take: nm(s, "add"), within: s["coverage_change"], saved: s["time_saved_pop_min"]}
                       for s in eff["top_swaps_coverage"]])  # fmt: skip
    swt = pd.DataFrame([{give: nm(s, "remove"), take: nm(s, "add"), saved: s["time_saved_pop_min"], within: s["coverage_change"]}
                        for s in eff["top_swaps_time"]])  # fmt: skip
    signed = {within: lambda v: i18n.signed_people(v, SITE, lang), saved: lambda v: i18n.signed_people(v, 1000, lang)}
    none = f"<p>{e(t('r.swap.none', lang))}</p>"
    return (f"<h3 id='efficiency-{e(run.name)}'>{e(t('r.eff.title', lang))}</h3>"
            f"<p class='big'>{th('r.eff.big_cov', lang, pct=i18n.pct(eff['coverage_efficiency'], 0, lang), T=T)} "
            f"<small>{th('r.eff.gap_cov', lang, people=i18n.people(g['people'], NAT, lang), points=i18n.num(100 * g['points'], 1, lang))}</small></p>"
            f"<p class='big'>{th('r.eff.big_time', lang, pct=i18n.pct(eff['mean_time_efficiency'], 0, lang))} "
            f"<small>{th('r.eff.gap_time', lang, minutes=i18n.minutes(g['minutes'], 1, lang))}</small></p>"
            f"<p class='note'>{e(t('r.eff.definition', lang))}</p>"
            + table(rows, {within: lambda v: _people(v, lang, NAT), share: lambda v: i18n.pct(v, 1, lang),
                           mean: lambda v: i18n.minutes(v, 1, lang)}, "eff")
            + f"<h4>{e(t('r.swap.cov', lang))}</h4><p class='note'>{e(t('r.swap.note', lang))}</p>" + (table(sw, signed, "swaps") if len(sw) else none)
            + f"<h4>{e(t('r.swap.time', lang))}</h4>" + (table(swt, signed, "swaps") if len(swt) else none))  # fmt: skip


def about_run(run, lang: Lang) -> str:
    """The calculation behind a run, for analysts (folded on the page): model, solver, network,
    demand, candidates, inputs and files."""
    man, m = run.manifest, run.metrics
    items = [
        (t("r.about.description", lang), man.get("description")),
        (t("r.about.model", lang), t("r.about.model_v", lang, model=man.get("model"), solver=man.get("solver"), status=man.get("status"),
                                     gap=man.get("gap"))),
        (t("r.about.threshold", lang), i18n.minutes(m["threshold_minutes"], 0, lang)),
        (t("r.about.network", lang), man.get("network")),
        (t("r.about.demand", lang), t("r.about.demand_v", lang, model=man.get("demand_model"), n=i18n.num(man.get("demand_points"), 0, lang))),
        (t("r.about.candidates", lang), t("r.about.candidates_v", lang, n=i18n.num(man.get("candidate_sites"), 0, lang),
                                          k=man.get("existing_offices"))),
        (t("r.about.population", lang), man.get("population_source")),
        (t("r.about.folder", lang), run.path.name),
        (t("r.about.scenario", lang), man.get("scenario_file")),
    ]  # fmt: skip
    inputs = man.get("inputs") or {}
    if isinstance(inputs, dict) and inputs:
        items.append((t("r.about.inputs", lang), "; ".join(f"{k}: {v.get('origin') if isinstance(v, dict) else v}" for k, v in inputs.items())))
    elif isinstance(inputs, list) and inputs:
        items.append((t("r.about.inputs", lang), "; ".join(f"{i.get('name')}: {i.get('origin')}" for i in inputs if isinstance(i, dict))))
    return f"<h4>{e(run.title(lang))}</h4><dl>" + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items if v) + "</dl>"


def compare_section(runs, lang: Lang) -> str:
    from siting.compare import cumulative_figure, display_table, districts_figure
    from siting.report.figures import png

    paths = [r.path for r in runs]
    tab, fmt = display_table(paths, lang)
    return (f"<section id='compare'><h2>{e(t('r.compare', lang))}</h2>" + table(tab, fmt, "compare")
            + f"<img alt='{e(t('r.alt.cumulative', lang))}' src='{png(cumulative_figure(paths, lang=lang))}'>"
            + f"<img alt='{e(t('r.alt.districts', lang))}' src='{png(districts_figure(paths, lang=lang))}'></section>")  # fmt: skip


def about_section(runs, sweeps, lang: Lang) -> str:
    from siting.report.sweep import about_sweep

    body = "".join(about_run(r, lang) for r in runs) + "".join(about_sweep(s, lang) for s in sweeps)
    body += f"<p class='note'>{e(t('r.about.data', lang))}</p>"
    return f"<section id='assumptions'>{details(t('about', lang), body)}</section>"
