"""The report's sweep section: the marginal curve, the robust core, the trade-off, in words."""

from __future__ import annotations

import json

from siting import i18n
from siting.i18n import Lang, t
from siting.report.figures import frequency_figure, marginal_figure, param_label, pareto_figure
from siting.report.page import e, table
from siting.style import ROUND


def sweep_section(sw, kommuner_geo, lang: Lang) -> str:
    meta = sw.meta
    title = meta.get("title") or sw.name
    varied = ", ".join(param_label(v, lang) for v in meta["varied"])
    parts = [f"<section id='sweep'><h2>{e(t('r.sweep.title', lang, name=title))}</h2>",
             f"<p>{e(t('r.sweep.intro', lang, n=meta['runs'], varied=varied))} {e(t('r.sweep.curve', lang))}</p>"]  # fmt: skip
    status = sw.runs.status.value_counts().to_dict()
    parts.append(f"<p class='note'>{e(t('r.sweep.status', lang, status=', '.join(f'{v} {k}' for k, v in status.items())))}</p>")
    if sw.marginal is not None and len(sw.marginal):
        parts.append(f"<h3 id='marginal'>{e(t('r.sweep.marginal', lang))}</h3>"
                     f"<img alt='{e(t('r.alt.marginal', lang))}' src='{marginal_figure(sw, lang)}'>")  # fmt: skip
        parts += marginal_tables(sw, lang)
    if sw.frequency is not None and len(sw.frequency):
        f = sw.frequency.head(30)
        pcols = [c for c in f.columns if c.startswith("share_p")][-3:]
        c = {k: t(f"r.freq.{k}", lang) for k in ("site", "kommune", "district", "runs", "share", "core")}
        show = f[["name", "kommune", "politidistrikt", "runs_selected", "share_of_runs", *pcols, "robust_core_at_p"]].copy()
        show["name"] = [i18n.plain_name(n, k, lang) for n, k in zip(show["name"], show["kommune"], strict=True)]
        show.columns = [c["site"], c["kommune"], c["district"], c["runs"], c["share"],
                        *(t("r.freq.share_p", lang, p=pc.removeprefix("share_p")) for pc in pcols), c["core"]]  # fmt: skip
        pct = lambda v: i18n.pct(v, 0, lang)  # noqa: E731
        fmt = {col: pct for col in show.columns[4 : 5 + len(pcols)]}
        parts.append(f"<h3 id='frequency'>{e(t('r.freq.title', lang))}</h3><p class='note'>{e(t('r.freq.note', lang))}</p>"
                     + table(show, fmt, "freq")
                     + f"<img alt='{e(t('r.alt.frequency', lang))}' src='{frequency_figure(sw, kommuner_geo, lang)}'>")  # fmt: skip
    if sw.pareto is not None and sw.pareto.pareto.any():
        parts.append(f"<h3>{e(t('r.sweep.pareto', lang))}</h3><img alt='{e(t('r.alt.pareto', lang))}' src='{pareto_figure(sw, lang)}'>")
    parts.append("</section>")
    return "\n".join(parts)


def marginal_tables(sw, lang: Lang) -> list[str]:
    """Per threshold, at the central values of the other parameters: people within T and mean drive
    time against p, with the change per added office."""
    meta, m = sw.meta, sw.marginal
    tcol = "model.threshold_minutes" if "model.threshold_minutes" in m else None
    base = m
    for c in [c for c in meta["varied"] if c not in ("new_offices", tcol) and c in m]:
        vals = sorted(m[c].unique())
        base = base[base[c] == (1 if 1 in vals else vals[len(vals) // 2])]
    keys = {"p": "p", "pop_within_T": "within", "pop_within_T_change_per_office": "per_office", "mean_time": "mean",
            "mean_time_change_per_office": "mean_per_office", "offences_within_T": "offences",
            "offences_within_T_change_per_office": "offences_per_office"}  # fmt: skip
    step = ROUND["people_national"]
    fmts = {"within": lambda v: i18n.people(v, step, lang), "per_office": lambda v: i18n.signed_people(v, step, lang),
            "mean": lambda v: i18n.minutes(v, 2, lang), "mean_per_office": lambda v: i18n.signed(v, 3, lang),
            "offences": lambda v: i18n.people(v, 10, lang), "offences_per_office": lambda v: i18n.signed_people(v, 10, lang)}  # fmt: skip
    out = []
    for T, g in base.groupby(tcol) if tcol else [(None, base)]:
        g = g[[c for c in keys if c in g]]
        names = {c: t(f"r.marg.{keys[c]}", lang, T=float(T) if T is not None else "T") for c in g.columns}
        g = g.rename(columns=names)
        fmt = {names[c]: fmts[keys[c]] for c in names if keys[c] in fmts}
        if T is not None:
            out.append(f"<h4>{e(t('r.marg.heading', lang, T=float(T)))}</h4>")
        out.append(table(g, fmt, "marginal"))
    return out


def about_sweep(sw, lang: Lang) -> str:
    groups = sw.timings.get("groups", [])
    rows = "".join(f"<dt>{e(t('r.sweep.group', lang, params=json.dumps(g.get('params', {}), ensure_ascii=False)))}</dt>"
                   f"<dd>{e(g['network'])}; {e(t('r.sweep.matrix', lang, source=g['matrix_source'], n=g['runs']))}</dd>" for g in groups)  # fmt: skip
    return (f"<h4>{e(t('r.sweep.about', lang, name=sw.meta.get('title') or sw.name))}</h4><dl>{rows}"
            f"<dt>{e(t('r.sweep.offences', lang))}</dt><dd>{e(sw.meta.get('offences'))}</dd></dl>")
