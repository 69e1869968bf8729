"""The page around the data: summary panel, legend, headline sentences, the inlined libraries and
the writing of one self-contained HTML file."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import folium
import pandas as pd

from siting import i18n
from siting.i18n import Html, Lang, t, th
from siting.io import atomic_write_text, mark_html
from siting.maps.encode import json_for_script, truthy
from siting.maps.scales import Scale
from siting.style import ROUND, css_vars

NORWAY_BOUNDS = [[57.9, 4.4], [71.2, 31.2]]


#: fewer wishes records than this: the map warns that the file is not the whole picture
FEW_WISHES = 50


STATIC = Path(__file__).resolve().parent.parent / "static"


ATTRIBUTION = "© Kartverket, Statistisk sentralbyrå"


def legend_html(markers: list[tuple[str, str]], scales: list[Scale], lang: Lang) -> str:
    """The legend's inner HTML (template; trusted structure, every text escaped)."""
    e = html.escape
    opts = "".join(f'<option value="{e(s.key)}">{e(s.label)}</option>' for s in scales)
    rows = "".join(f'<div class="siting-row">{sym}<span>{e(text)}</span></div>' for sym, text in markers)
    bars = "".join(s.bar_html() for s in scales)
    return (f'<button id="siting-legend-toggle" type="button" aria-label="{e(t("legend.toggle", lang))}">{e(t("legend", lang))}</button>'
            f'<div class="siting-body"><h2>{e(t("legend", lang))}</h2>{rows}'
            f'<div id="siting-mode-box"><label for="siting-mode">{e(t("legend.colour_by", lang))}</label><br>'
            f'<select id="siting-mode">{opts}</select>{bars}</div></div>')  # fmt: skip


def panel_html(title: str, short: str, lines: list[str], warnings: list[str], notes: list[str], about: list[str], lang: Lang) -> str:
    """The panel: a column beside the map on a desktop, a bottom sheet on a phone (collapsed at
    first to the title and ``short`` headline). Below the headline ``lines`` and ``warnings``: the
    what-if block (``#siting-whatif``, filled by the page when the run has its data), the ranked site
    list (``#siting-sites``), ``notes`` and, folded under "Om beregningen", the calculation's details
    (files, models, network). ``short``, ``lines``, ``warnings``, ``notes`` and ``about`` are
    already-escaped HTML fragments."""
    e = html.escape
    body = "".join(f'<p class="siting-big">{x}</p>' for x in lines)
    body += "".join(f'<div class="siting-warn">{w}</div>' for w in warnings)
    body += f'<section id="siting-whatif" aria-label="{e(t("js.wi_title", lang))}"></section>'
    body += f'<nav id="siting-sites" aria-label="{e(t("js.sheet", lang))}"></nav>'
    body += "".join(f'<p class="siting-note">{n}</p>' for n in notes)
    if about:
        body += (f'<details class="siting-about"><summary>{e(t("about", lang))}</summary>'
                 + "".join(f'<p class="siting-note">{a}</p>' for a in about) + "</details>")  # fmt: skip
    return (f'<div id="siting-panel" role="region" aria-label="{e(t("panel", lang))}">'
            f'<div class="siting-head"><button id="siting-panel-toggle" type="button" aria-expanded="true" '
            f'aria-label="{e(t("panel.toggle", lang))}"><span class="siting-grip"></span>{e(t("js.sheet", lang))}</button>'
            f'<h1>{e(title)}</h1><p class="siting-short">{short}</p></div><div class="siting-body">{body}</div></div>')  # fmt: skip


def headline(metrics: dict) -> dict:
    """People and shares within T today and with the plan, and the change (a value written with its
    band, ``{"value": v, "low": a, "high": b}``, counts as its value; the bands are kept under
    ``bands``)."""
    h = metrics.get("headline", {})
    v = i18n.value_of
    total = v((metrics.get("national", {}).get("before", {}) or {}).get("population"))
    b, a = v(h.get("share_within_T_before")), v(h.get("share_within_T_after"))
    out = {"T": metrics.get("threshold_minutes"), "share_before": b, "share_after": a, "total": total,
           "mean_before": v(h.get("mean_time_before")), "mean_after": v(h.get("mean_time_after")),
           "bands": {k: i18n.band_for(h, k) for k in ("share_within_T_after", "mean_time_after", "people_within_T_before",
                                                      "people_newly_within_T") if i18n.band_for(h, k)}}  # fmt: skip
    if total and b is not None and a is not None:
        out.update(people_before=b * total, people_after=a * total, people_gain=(a - b) * total)
    return out


def headline_line(hd: dict, lang: Lang) -> str:
    """The headline in people and percent with the threshold named (HTML)."""
    step = ROUND["people_national"]
    bands = hd.get("bands") or {}
    # people rounded as finely as their drive-time band allows
    gain_step, before_step = (i18n.band_step(bands.get(k), step) for k in ("people_newly_within_T", "people_within_T_before"))
    gain = th("hl.gain", lang, n=i18n.signed_people(hd["people_gain"], gain_step, lang)) if "people_gain" in hd else ""
    pb = th("hl.people", lang, n=i18n.people(hd["people_before"], before_step, lang)) if "people_before" in hd else ""
    pct, mins = (lambda x: i18n.pct(x, 1, lang)), (lambda x: i18n.minutes(x, 1, lang))
    after = i18n.with_band(pct(hd["share_after"]), bands.get("share_within_T_after"), pct, lang)  # "95,5 % (95,1 %–95,9 %)"
    return th("hl.line", lang, T=float(hd["T"] or 0), before=pct(hd["share_before"]), pb=Html(pb), after=after, gain=Html(gain),
              mb=mins(hd["mean_before"]), ma=i18n.with_band(mins(hd["mean_after"]), bands.get("mean_time_after"), mins, lang))  # fmt: skip


def crime_line(metrics: dict, lang: Lang) -> str:
    """Offences within T today and with the plan, when the run has crime metrics (``metrics.crime``)."""
    c = ((metrics.get("crime") or {}).get("national")) or {}
    b, a = i18n.value_of(c.get("share_offences_within_T_before")), i18n.value_of(c.get("share_offences_within_T_after"))
    if b is None or a is None:
        return ""
    gain = i18n.value_of(c.get("offences_newly_within_T"))
    more = th("crime.more", lang, n=i18n.signed_people(gain, 10, lang)) if gain is not None else ""
    return th("crime.line", lang, T=float(metrics.get("threshold_minutes") or 0), before=i18n.pct(b, 1, lang),
              after=i18n.pct(a, 1, lang), more=Html(more))  # fmt: skip


def wishes_notes(kommuner: pd.DataFrame, metrics: dict, lang: Lang) -> tuple[list[str], list[str]]:
    """(warnings, notes) about the wishes on file."""
    warnings, notes = [], []
    if "wish_status" not in kommuner.columns:
        return warnings, notes
    status = kommuner["wish_status"].astype(str)
    if status.eq("no wishes file").all():
        return warnings, notes
    w = metrics.get("wishes") or {}
    n = w.get("records")
    if not isinstance(n, int | float):  # older runs: municipalities with a known position
        n = int((~status.str.lower().str.startswith("no answer") & status.ne("no wishes file")).sum())
    if n < FEW_WISHES:
        warnings.append(th("wishes.few", lang, n=int(n), total=len(kommuner)))
    agg = w.get("national_aggregates")
    if not isinstance(agg, dict):
        try:  # the run used a wishes file: the documented national totals give the context
            from siting.wishes import NATIONAL_AGGREGATES as agg
        except ImportError:
            agg = None
    if isinstance(agg, dict) and {"want_office", "do_not_want_office"} <= set(agg):
        rc = agg.get("want_office_regional_councils")
        notes.append(th("wishes.national", lang, answered=agg.get("answers_received", "?"), total=agg.get("municipalities", 356),
                        want=agg["want_office"], rc=Html(th("wishes.rc", lang, n=rc) if rc else ""), no=agg["do_not_want_office"],
                        unclear=agg.get("unclear", "?")))  # fmt: skip
    return warnings, notes


def _station_standin_legend(stations: pd.DataFrame, lang: Lang) -> list[tuple[str, str]]:
    if "stand_in" in stations.columns and stations["stand_in"].map(truthy).any():
        return [('<span class="siting-dot siting-dot-standin"></span>', t("legend.station_standin", lang))]
    return []


def marker_symbol(kind: str, label: str, stand_in: bool = False) -> str:
    return f'<div class="siting-site siting-{kind}{" siting-standin" if stand_in else ""}">{html.escape(label)}</div>'


def existing_legend(stations, lang: Lang) -> list[tuple[str, str]]:
    return [('<span class="siting-dot"></span>', t("legend.existing", lang)), *_station_standin_legend(stations, lang)]


def about(manifests: list[tuple[str, dict]], lang: Lang) -> list[str]:
    """The folded "About the calculation": description, network, model and solver status, the
    scenario file (HTML, escaped)."""
    out = []
    for who, man in manifests:
        e = lambda v: html.escape(str(v))  # noqa: E731
        pre = f"<b>{e(who)}</b>: " if who else ""
        if man.get("description"):
            out.append(pre + e(man["description"]))
        parts = [th("about.model", lang, model=man["model"], status=man.get("status", "")) if man.get("model") else "",
                 th("about.network", lang, network=man["network"]) if man.get("network") else "",
                 th("about.scenario", lang, scenario=man.get("scenario_file") or man.get("scenario", ""))]  # fmt: skip
        out.append(pre + " ".join(p for p in parts if p))
    return out


def page_lang(manifest: dict, lang: str | None = None) -> Lang:
    """The page language: ``lang`` if given, else the run's (``manifest.json`` ``language``), else nb."""
    return i18n.lang_of(lang or manifest.get("language"))


def map_skeleton() -> folium.Map:
    return folium.Map(location=[64.5, 13.0], zoom_start=5, tiles=None, prefer_canvas=True)


def attach(m: folium.Map, payload: dict, panel: str, legend: str, title: str, lang: Lang) -> folium.Map:
    payload = {"map": m.get_name(), "lang": lang, "i18n": i18n.catalogue(lang, "js."), **payload}
    m.siting_lang = lang  # write_map: <html lang="...">
    root = m.get_root()
    root.header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"), name="siting_title")
    css = css_vars() + (STATIC / "siting-map.css").read_text(encoding="utf-8")
    root.header.add_child(folium.Element("<style>" + css + "</style>"), name="siting_css")
    root.html.add_child(folium.Element(panel), name="siting_panel")
    root.html.add_child(folium.Element(f'<template id="siting-legend-template">{legend}</template>'), name="siting_legend")
    root.html.add_child(folium.Element(f'<script type="application/json" id="siting-data">{json_for_script(payload)}</script>'),
                        name="siting_data")  # fmt: skip
    return m


#: CDN file name → vendored copy (see siting/static/README.md).
VENDORED = {"leaflet.js": "leaflet.js", "leaflet.css": "leaflet.css"}


#: plugins and the map script, inlined after the map is created
LIBS_JS = ("Control.FullScreen.js", "leaflet-search.min.js", "siting-map.js", "siting-whatif.js")


LIBS_CSS = ("Control.FullScreen.css", "leaflet-search.min.css")


_MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml"}


def _css(name: str) -> str:
    """A vendored stylesheet with its icons inlined as data: URIs."""
    text = (STATIC / name).read_text(encoding="utf-8")

    def data_uri(mt):
        ref = mt.group(1).strip("'\"")
        img = STATIC / "images" / Path(ref).name
        if ref.startswith("#") or ref.startswith("data:") or not img.exists():
            return mt.group(0)
        return f'url("data:{_MIME[img.suffix]};base64,{base64.b64encode(img.read_bytes()).decode()}")'

    return re.sub(r"url\(([^)]+)\)", data_uri, text)


def inline_assets(page: str) -> str:
    """Replace CDN ``<script>``/``<link>`` tags by the vendored files (icons as data: URIs); drop
    unused ones (jQuery, Bootstrap, Font Awesome, awesome-markers); add the plugins and the map script
    after the map is created."""

    def script(mt):
        name = mt.group(1).rsplit("/", 1)[-1]
        return "<script>" + (STATIC / VENDORED[name]).read_text(encoding="utf-8") + "</script>" if name in VENDORED else ""

    def link(mt):
        name = mt.group(1).rsplit("/", 1)[-1]
        return "<style>" + _css(VENDORED[name]) + "</style>" if name in VENDORED else ""

    page = re.sub(r'<script src="(https?://[^"]+)"></script>', script, page)
    page = re.sub(r'<link rel="stylesheet" href="(https?://[^"]+)"\s*/?>', link, page)
    css = "".join("<style>" + _css(n) + "</style>" for n in LIBS_CSS)
    page = page.replace("</head>", css + "</head>", 1)
    libs = "".join("<script>" + (STATIC / n).read_text(encoding="utf-8") + "</script>" for n in LIBS_JS)
    head, sep, tail = page.rpartition("</html>")
    return head + libs + sep + tail if sep else page + libs


def _stable_ids(page: str) -> str:
    """Replace folium's random element ids by sequential ones (byte-identical reruns, no churn in git)."""
    ids: dict[str, str] = {}
    return re.sub(r"(?<=_)[0-9a-f]{32}\b", lambda mt: ids.setdefault(mt.group(0), f"{len(ids):032d}"), page)


def write_map(m: folium.Map, path: str | Path) -> Path:
    """Write a map as one self-contained HTML file (libraries and icons inlined; atomic), with the
    page's language on ``<html lang>``."""
    page = mark_html(_stable_ids(inline_assets(m.get_root().render())))
    page = re.sub(r"<html(?=[\s>])", f'<html lang="{getattr(m, "siting_lang", "nb")}"', page, count=1)
    atomic_write_text(path, page)
    return Path(path)
