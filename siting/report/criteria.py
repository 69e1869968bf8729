"""Report sections for ``siting explain --criteria`` (the ledger) and ``--revealed`` (what a plan implicitly
valued), in the report's language (:mod:`siting.i18n`). Figures are rounded to what their inputs carry:
people to the nearest 100, offences and load to the nearest 10, shares to 0.1 point, weights to 0.01.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from siting.i18n import Html, enum, num, pct, people, t, th


def _cell(v) -> str:
    return f"<td class='num'>{v}</td>"


def ledger_section(df: pd.DataFrame, T: float, p: int, lang: str = "nb", classes: str = "5–6", evidence: tuple = ("statement", "statement")) -> Html:
    """The ledger table (``criteria.csv``): one row per criterion alone, today and the scenario."""
    cols = ["criteria.col.row", "criteria.col.people", "criteria.col.given_up", "criteria.col.offences", "criteria.col.relieved",
            "criteria.col.small", "criteria.col.wishes", "criteria.col.municipalities", "criteria.col.shared"]  # fmt: skip
    head = "".join(f"<th>{th(c, lang, T=T)}</th>" for c in cols)
    rows = []
    for r in df.itertuples(index=False):
        key = f"criteria.row.{r.row}"
        wishes = (t("criteria.wishes_overridden", lang, granted=int(r.wishes_granted), asked=int(r.wishes_asked), no=int(r.declined_overridden))
                  if r.declined_overridden else t("criteria.wishes_value", lang, granted=int(r.wishes_granted), asked=int(r.wishes_asked)))  # fmt: skip
        given = "" if pd.isna(r.people_given_up) else people(r.people_given_up, 100, lang)
        shared = "" if pd.isna(r.sites_shared_with_population) else num(r.sites_shared_with_population, 0, lang)
        rows.append(f"<tr><th>{th(key, lang, T=T)}</th>" + _cell(people(r.people_within_T, 100, lang)) + _cell(given)
                    + _cell(num(round(r.offences_within_T, -1), 0, lang)) + _cell(num(round(r.load_relieved, -1), 0, lang))
                    + _cell(pct(r.small_share_within_T, 1, lang)) + _cell(wishes) + _cell(num(r.municipalities_with_office, 0, lang))
                    + _cell(shared) + "</tr>")  # fmt: skip
    return Html(f"<section id='criteria'><h2>{th('criteria.title', lang)}</h2><p class='note'>{th('criteria.intro', lang, p=p, T=T)}</p>"
                f"<div class='tw'><table class='ledger'><tr>{head}</tr>{''.join(rows)}</table></div>"
                f"<p class='note'>{th('criteria.notes', lang, classes=classes, yes=enum('evidence', evidence[0], lang), no=enum('evidence', evidence[1], lang))}</p></section>")  # fmt: skip


def revealed_section(rv: dict, T: float, lang: str = "nb") -> Html:
    """The revealed weights (``revealed.json``), said plainly to describe the plan, not to justify it."""
    rows = []
    for k in rv["criteria"]:
        lo, hi = rv["within_one_point"]["ranges"][k]
        rows.append(f"<tr><th>{th(f'criteria.row.{k}', lang, T=T)}</th>" + _cell(num(rv["weights"][k], 2, lang))
                    + _cell(f"{num(lo, 2, lang)}–{num(hi, 2, lang)}") + _cell(pct(rv["plan_scores"][k], 0, lang)) + "</tr>")  # fmt: skip
    head = "".join(f"<th>{th(c, lang)}</th>" for c in ("revealed.col.criterion", "revealed.col.weight", "revealed.col.range",
                                                         "revealed.col.score"))  # fmt: skip
    proven = "" if rv.get("proven") else f" {th('revealed.not_proven', lang)}"
    return Html(f"<section id='revealed'><h2>{th('revealed.title', lang)}</h2><p class='big'>{th('revealed.describes', lang)}</p>"
                f"<p>{th('revealed.efficiency', lang, eff=pct(rv['efficiency'], 0, lang), pop=pct(rv['efficiency_population_only'], 0, lang), T=T)}</p>"
                f"<div class='tw'><table class='revealed'><tr>{head}</tr>{''.join(rows)}</table></div>"
                f"<p class='note'>{th('revealed.method', lang, solves=rv['mip_solves'], seconds=num(rv['seconds'], 0, lang))}{proven}</p></section>")  # fmt: skip


def folder_sections(path: str | Path, lang: str = "nb") -> Html:
    """The sections for an explain folder holding ``criteria.csv`` and/or ``revealed.json``
    (with ``criteria_meta.json`` for the threshold, ``p`` and the definitions)."""
    path = Path(path)
    meta = json.loads((path / "criteria_meta.json").read_text(encoding="utf-8")) if (path / "criteria_meta.json").exists() else {}
    T, p = float(meta.get("threshold_minutes", 30)), int(meta.get("p", 20))
    parts = []
    if (path / "criteria.csv").exists():
        ev = (meta.get("evidence_yes", "statement"), meta.get("evidence_no", "statement"))
        parts.append(ledger_section(pd.read_csv(path / "criteria.csv"), T, p, lang, meta.get("classes", "5–6"), ev))
    if (path / "revealed.json").exists():
        parts.append(revealed_section(json.loads((path / "revealed.json").read_text(encoding="utf-8")), T, lang))
    return Html("".join(parts))
