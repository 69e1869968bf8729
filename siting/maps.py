"""Self-contained HTML maps for decision-makers.

One map per run (``make_map``) and one map comparing two runs (``compare_map``). Municipality
geometry is embedded once — simplified as a coverage (shared borders stay shared), quantised and
delta-encoded — and one municipality layer is restyled by a selector (drive time with the plan,
today, change, people newly within T, offences when the run has them). The areas within T minutes,
existing offices (clustered), proposed offices ranked by people newly within T, a marker legend with
the active colour bar, and a collapsible summary panel with the headline in people and percent.
Leaflet and its plugins, the map script (``siting/static/siting-map.js``) and the icons are inlined,
so the file opens offline; only the optional OpenStreetMap background needs internet. Drawn in
EPSG:4326. All text from the data is escaped (HTML) and the JSON payload cannot close its script.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from siting import i18n
from siting.data.stations import count_offices
from siting.errors import SitingError
from siting.i18n import Html, Lang, t, th
from siting.io import atomic_write_text
from siting.style import AREA_COLORS, BRBG, DRIVE_TIME, GREENS, PURPLES, RDPU, ROUND, css_vars, ranked

LAYERS = ("kommuner", "stations", "proposals", "coverage_before", "coverage_after")
#: optional run layer: demand points with ``kommunenummer``, ``population``, ``time_before``, ``time_after``
#: (and optionally ``offences``): gives people (offences) newly within T per municipality.
OPTIONAL_LAYERS = ("demand",)
#: display simplification (metres, EPSG:25833) and quantisation step (degrees) of the embedded geometry
SIMPLIFY_M = 500.0
QUANTUM = 5e-4
NORWAY_BOUNDS = [[57.9, 4.4], [71.2, 31.2]]
#: fewer wishes records than this: the map warns that the file is not the whole picture
FEW_WISHES = 50
#: proposals of two runs closer than this (metres) are the same site in a comparison
SAME_SITE_M = 1000.0
STATIC = Path(__file__).resolve().parent / "static"



def _truthy(v) -> bool:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return False
    return str(v).strip().lower() not in ("", "false", "0", "no", "none", "nan")


# --- colour scales with round ticks ------------------------------------------------------------------
def nice_step(span: float, n: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^k) giving about ``n`` intervals over ``span``."""
    if span <= 0 or not np.isfinite(span):
        return 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def robust_range(values, lo_q: float = 0.02, hi_q: float = 0.98, zero: bool = True) -> tuple[float, float, float]:
    """Clipped-quantile range rounded outwards to a round step; returns (vmin, vmax, step)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0.0, 1.0, 0.25
    lo, hi = float(np.quantile(v, lo_q)), float(np.quantile(v, hi_q))
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo <= 0:
        hi = lo + 1
    step = nice_step(hi - lo)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, step


def symmetric_range(values, q: float = 0.95) -> tuple[float, float]:
    """(m, step) for a diverging scale −m…m with round ticks through 0: m covers the ``q`` quantile
    of the absolute non-zero values (the rest is clipped)."""
    v = np.abs(np.asarray(values, float))
    v = v[np.isfinite(v) & (v > 0)]
    top = float(np.quantile(v, q)) if len(v) else 1.0
    step = nice_step(top, 2)
    return math.ceil(top / step - 1e-9) * step, step


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)], float)


@dataclass
class Scale:
    """A linear colour scale clipped to [vmin, vmax] with round ticks; ``label`` and ``note`` are
    already in the page's language ``lang``."""

    key: str
    label: str
    colors: list[str]
    vmin: float
    vmax: float
    step: float
    unit: str = ""
    note: str = ""
    mark: float | None = None
    lang: Lang = "nb"
    _rgb: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self._rgb = np.array([_hex(c) for c in self.colors])

    def color(self, v) -> str | None:
        if v is None or pd.isna(v) or not np.isfinite(v):
            return None
        t = (min(max(float(v), self.vmin), self.vmax) - self.vmin) / ((self.vmax - self.vmin) or 1)
        x = t * (len(self.colors) - 1)
        i = min(int(x), len(self.colors) - 2)
        rgb = self._rgb[i] + (x - i) * (self._rgb[i + 1] - self._rgb[i])
        return "#" + "".join(f"{int(round(c)):02x}" for c in rgb)

    def ticks(self) -> list[float]:
        n = int(round((self.vmax - self.vmin) / self.step))
        return [self.vmin + i * self.step for i in range(n + 1)]

    def bar_html(self) -> str:
        tick = lambda v: i18n.tick(v, self.lang)  # noqa: E731
        grad = ", ".join(self.colors)
        span = (self.vmax - self.vmin) or 1
        ticks = "".join(f'<span style="left:{100 * (v - self.vmin) / span:.1f}%">{tick(v)}</span>' for v in self.ticks())
        top = ""
        if self.mark is not None and self.vmin < self.mark < self.vmax:
            top = (f'<div class="siting-bar-ticks"><span style="left:{100 * (self.mark - self.vmin) / span:.1f}%;font-weight:bold">'
                   f"T = {tick(self.mark)} ▾</span></div>")  # fmt: skip
        clip = self.note or t("scale.clipped", self.lang, lo=tick(self.vmin), hi=tick(self.vmax))
        return (f'<div class="siting-bar" data-mode="{html.escape(self.key)}">'
                f'{top}<div class="siting-bar-grad" style="background:linear-gradient(to right, {grad})"></div>'
                f'<div class="siting-bar-ticks">{ticks}</div>'
                f'<div class="siting-bar-caption">{html.escape(self.label)}{html.escape(self.unit)}. {html.escape(clip)}</div></div>')  # fmt: skip


def time_scale(key: str, label: str, T: float | None, lang: Lang) -> Scale:
    """The one drive-time scale (:data:`siting.style.DRIVE_TIME`, 0–60 min) with T marked."""
    d = DRIVE_TIME
    return Scale(key, label, d["colors"], d["vmin"], d["vmax"], d["step"], " (min)", mark=T, lang=lang)


# --- geometry ------------------------------------------------------------------------------------------
def encode_polygons(geoms: gpd.GeoSeries, tolerance_m: float = SIMPLIFY_M, coverage: bool = False, q: float = QUANTUM) -> list:
    """Simplify (metres, EPSG:25833; as a coverage keeps shared borders shared), reproject to
    EPSG:4326, quantise to ``q`` degrees and delta-encode: per geometry a list of polygons, each a
    list of rings ``[dx0, dy0, dx1, dy1, ...]`` (integers; the ring is closed implicitly)."""
    import shapely

    g = geoms.to_crs(25833)
    vals = g.values
    if coverage:
        try:
            vals = shapely.coverage_simplify(vals, tolerance_m)
        except Exception:  # not a valid coverage (overlaps): simplify each polygon on its own
            vals = shapely.simplify(vals, tolerance_m, preserve_topology=True)
    else:
        vals = shapely.simplify(vals, tolerance_m, preserve_topology=True)
    g = gpd.GeoSeries(vals, crs=25833).to_crs(4326)
    out = []
    for geom in g.values:
        polys = []
        if geom is not None and not geom.is_empty:
            parts = getattr(geom, "geoms", [geom])
            for p in parts:
                if p.geom_type != "Polygon":
                    continue
                rings = []
                for r in (p.exterior, *p.interiors):
                    c = np.round(np.asarray(r.coords)[:-1, :2] / q).astype(np.int64)
                    if len(c) >= 2:
                        keep = np.r_[True, np.any(np.diff(c, axis=0) != 0, axis=1)]
                        c = c[keep]
                    if len(c) < 3:
                        continue
                    d = np.diff(c, axis=0, prepend=np.zeros((1, 2), np.int64))
                    rings.append(d.ravel().tolist())
                if rings and p.exterior is not None:
                    polys.append(rings)
        out.append(polys)
    return out


def _latlon(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(4326) if gdf.crs is not None else gdf


# --- per municipality: people (and offences) within T --------------------------------------------------
def people_within(demand: pd.DataFrame | None, T: float) -> pd.DataFrame | None:
    """Per municipality: people within T today, with the plan and newly within T (and offences when
    the demand points carry an ``offences`` weight). None without demand points."""
    if demand is None or not len(demand) or not {"kommunenummer", "population", "time_before", "time_after"} <= set(demand.columns):
        return None
    d = pd.DataFrame({"kommunenummer": demand["kommunenummer"].astype(str)})
    b = demand["time_before"].to_numpy(float) <= T
    a = demand["time_after"].to_numpy(float) <= T
    for wcol, prefix in (("population", "people"), ("offences", "offences")):
        if wcol in demand.columns:
            w = demand[wcol].to_numpy(float)
            d[f"{prefix}_within_T_before"] = np.where(b, w, 0.0)
            d[f"{prefix}_within_T_after"] = np.where(a, w, 0.0)
            d[f"{prefix}_newly_within_T"] = np.where(a & ~b, w, 0.0)
    return d.groupby("kommunenummer").sum()


def demand_layer(demand: gpd.GeoDataFrame, before, after) -> gpd.GeoDataFrame:
    """The run's ``demand`` layer: points with municipality, population (and ``offences`` when the
    demand carries that weight) and minutes to the nearest office today and with the plan (NaN:
    unreachable)."""
    cols = {"kommunenummer": demand["kommunenummer"].astype(str).to_numpy(), "population": demand["population"].to_numpy(float)}
    if "offences" in demand.columns:
        cols["offences"] = demand["offences"].to_numpy(float)
    for name, tt in (("time_before", before), ("time_after", after)):
        tt = np.asarray(tt, float)
        cols[name] = np.where(np.isfinite(tt), tt, np.nan)
    return gpd.GeoDataFrame(cols, geometry=demand.geometry.to_numpy(), crs=demand.crs)


def offence_columns(kommuner: pd.DataFrame) -> list[str]:
    return [c for c in kommuner.columns if c.startswith("offences") and pd.api.types.is_numeric_dtype(kommuner[c])]


def offence_rate(kommuner: pd.DataFrame) -> pd.Series | None:
    """Offences per 1 000 inhabitants per municipality, if the layer has offence columns."""
    for c in ("offences_per_1000", "offences_per_1000_inhabitants"):
        if c in kommuner.columns:
            return kommuner[c].astype(float)
    if "offences" in kommuner.columns and "population_2022" in kommuner.columns:
        return kommuner["offences"].astype(float) / kommuner["population_2022"].replace(0, np.nan).astype(float) * 1000
    return None


#: offence columns of the municipality layer and the proposals, and their catalogue keys
OFFENCE_LABELS = {"offences_per_1000": "offences.per_1000", "offences_per_1000_inhabitants": "offences.per_1000",
                  "offences_share_within_T_before": "offences.share_before", "offences_share_within_T_after": "offences.share_after",
                  "offences_newly_covered": "offences.newly", "offences_newly_within_T": "offences.newly"}  # fmt: skip


def _label(col: str, T: float, lang: Lang) -> str:
    """A readable label for a data column (known columns from the catalogue, others spelled out)."""
    if col in OFFENCE_LABELS:
        return t(OFFENCE_LABELS[col], lang, T=T)
    return col.replace("_", " ").capitalize()


def _offence_fields(k: pd.DataFrame, T: float, lang: Lang) -> list[tuple[str, pd.Series]]:
    """Hover rows for the municipality layer's offence columns (helper "criteria": ``offences``,
    ``offences_low/high``, ``offences_per_1000``, ``offences_share_within_T_*``, ``crime_flag``)."""
    cols = offence_columns(k)
    out = []
    if "offences" in cols:
        val = _fmt_series(k["offences"].astype(float), "num", lang)
        if {"offences_low", "offences_high"} <= set(cols):
            lo, hi = k["offences_low"].astype(float), k["offences_high"].astype(float)
            rng = (" (" + _fmt_series(lo, "num", lang) + i18n.DASH + _fmt_series(hi, "num", lang) + ")").where((hi - lo).abs() > 1e-9, "")
            val = val + rng
        out.append((t("offences.per_year", lang), val))
    for c in cols:
        if c in ("offences", "offences_low", "offences_high"):
            continue
        v = k[c].astype(float)
        out.append((_label(c, T, lang), v.map(lambda x: i18n.pct(x, 1, lang)) if "share" in c else _fmt_series(v, "num", lang)))
    if "crime_flag" in k.columns:
        flag = k["crime_flag"].fillna("").astype(str)
        if flag.str.strip().ne("").any():
            out.append((t("offences.note", lang), flag.map(lambda f: i18n.enum("crime_flag", f, lang) if f.strip() else i18n.DASH)))
    return out


# --- page parts ------------------------------------------------------------------------------------------
def _json_for_script(obj) -> str:
    """JSON that cannot end its ``<script>`` element (``</script>``, ``<!--``) whatever the strings hold."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _json_default(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if not np.isfinite(v) else float(v)
    return str(v)


def _legend_html(markers: list[tuple[str, str]], scales: list[Scale], lang: Lang) -> str:
    """The legend's inner HTML (template; trusted structure, every text escaped)."""
    e = html.escape
    opts = "".join(f'<option value="{e(s.key)}">{e(s.label)}</option>' for s in scales)
    rows = "".join(f'<div class="siting-row">{sym}<span>{e(text)}</span></div>' for sym, text in markers)
    bars = "".join(s.bar_html() for s in scales)
    return (f'<button id="siting-legend-toggle" type="button" aria-label="{e(t("legend.toggle", lang))}">{e(t("legend", lang))}</button>'
            f'<div class="siting-body"><h2>{e(t("legend", lang))}</h2>{rows}'
            f'<div id="siting-mode-box"><label for="siting-mode">{e(t("legend.colour_by", lang))}</label><br>'
            f'<select id="siting-mode">{opts}</select>{bars}</div></div>')  # fmt: skip


def _panel_html(title: str, short: str, lines: list[str], warnings: list[str], notes: list[str], about: list[str], lang: Lang) -> str:
    """Summary panel: title and ``short`` headline always shown, the rest collapsible; the
    calculation's details (files, models, network) folded under "Om beregningen". ``short``,
    ``lines``, ``warnings``, ``notes`` and ``about`` are already-escaped HTML fragments."""
    e = html.escape
    body = "".join(f'<p class="siting-big">{x}</p>' for x in lines)
    body += "".join(f'<div class="siting-warn">{w}</div>' for w in warnings)
    body += "".join(f'<p class="siting-note">{n}</p>' for n in notes)
    if about:
        body += (f'<details class="siting-about"><summary>{e(t("about", lang))}</summary>'
                 + "".join(f'<p class="siting-note">{a}</p>' for a in about) + "</details>")  # fmt: skip
    return (f'<div id="siting-panel" role="region" aria-label="{e(t("panel", lang))}">'
            f'<button id="siting-panel-toggle" type="button" aria-label="{e(t("panel.toggle", lang))}">☰</button>'
            f'<h1>{e(title)}</h1><p class="siting-short">{short}</p><div class="siting-body">{body}</div></div>')  # fmt: skip


def _headline(metrics: dict) -> dict:
    """People and shares within T today and with the plan, and the change (a value written with its
    band, ``{"value": v, "low": a, "high": b}``, counts as its value; the bands are kept under
    ``bands``)."""
    h = metrics.get("headline", {})
    v = i18n.value_of
    total = v((metrics.get("national", {}).get("before", {}) or {}).get("population"))
    b, a = v(h.get("share_within_T_before")), v(h.get("share_within_T_after"))
    out = {"T": metrics.get("threshold_minutes"), "share_before": b, "share_after": a, "total": total,
           "mean_before": v(h.get("mean_time_before")), "mean_after": v(h.get("mean_time_after")),
           "bands": {k: i18n.band_of(x) for k, x in h.items() if i18n.band_of(x)}}  # fmt: skip
    if total and b is not None and a is not None:
        out.update(people_before=b * total, people_after=a * total, people_gain=(a - b) * total)
    return out


def _headline_line(hd: dict, lang: Lang) -> str:
    """The headline in people and percent with the threshold named (HTML)."""
    step = ROUND["people_national"]
    gain = th("hl.gain", lang, n=i18n.signed_people(hd["people_gain"], step, lang)) if "people_gain" in hd else ""
    pb = th("hl.people", lang, n=i18n.people(hd["people_before"], step, lang)) if "people_before" in hd else ""
    return th("hl.line", lang, T=float(hd["T"] or 0), before=i18n.pct(hd["share_before"], 1, lang), pb=Html(pb),
              after=i18n.pct(hd["share_after"], 1, lang), gain=Html(gain), mb=i18n.minutes(hd["mean_before"], 1, lang),
              ma=i18n.minutes(hd["mean_after"], 1, lang))  # fmt: skip


def _crime_line(metrics: dict, lang: Lang) -> str:
    """Offences within T today and with the plan, when the run has crime metrics (``metrics.crime``)."""
    c = ((metrics.get("crime") or {}).get("national")) or {}
    b, a = i18n.value_of(c.get("share_offences_within_T_before")), i18n.value_of(c.get("share_offences_within_T_after"))
    if b is None or a is None:
        return ""
    gain = i18n.value_of(c.get("offences_newly_within_T"))
    more = th("crime.more", lang, n=i18n.signed_people(gain, 10, lang)) if gain is not None else ""
    return th("crime.line", lang, T=float(metrics.get("threshold_minutes") or 0), before=i18n.pct(b, 1, lang),
              after=i18n.pct(a, 1, lang), more=Html(more))  # fmt: skip


def _wishes_notes(kommuner: pd.DataFrame, metrics: dict, lang: Lang) -> tuple[list[str], list[str]]:
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


def _map_skeleton() -> folium.Map:
    return folium.Map(location=[64.5, 13.0], zoom_start=5, tiles=None, prefer_canvas=True)


def _attach(m: folium.Map, payload: dict, panel: str, legend: str, title: str, lang: Lang) -> folium.Map:
    payload = {"map": m.get_name(), "lang": lang, "i18n": i18n.catalogue(lang, "js."), **payload}
    m.siting_lang = lang  # write_map: <html lang="...">
    root = m.get_root()
    root.header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"), name="siting_title")
    css = css_vars() + (STATIC / "siting-map.css").read_text(encoding="utf-8")
    root.header.add_child(folium.Element("<style>" + css + "</style>"), name="siting_css")
    root.html.add_child(folium.Element(panel), name="siting_panel")
    root.html.add_child(folium.Element(f'<template id="siting-legend-template">{legend}</template>'), name="siting_legend")
    root.html.add_child(folium.Element(f'<script type="application/json" id="siting-data">{_json_for_script(payload)}</script>'),
                        name="siting_data")  # fmt: skip
    return m


def _kommune_scales(k: pd.DataFrame, T: float, pw: pd.DataFrame | None, lang: Lang) -> list[tuple[Scale, pd.Series]]:
    out = [(time_scale("after", t("time.after", lang), T, lang), k["time_after"]),
           (time_scale("before", t("time.before", lang), T, lang), k["time_before"])]  # fmt: skip
    ch = k["time_change"].astype(float)
    lo, _, step = robust_range(ch[ch < 0], 0.05, 1.0)
    out.append((Scale("change", t("time.change", lang), GREENS[::-1], min(lo, -step), 0, step, " (min)", lang=lang), ch))
    if pw is not None:
        newly = k["kommunenummer"].map(pw["people_newly_within_T"]).astype(float)
        _, hi, step = robust_range(newly[newly > 0], 0.0, 0.95)
        out.append((Scale("newly", t("people.newly", lang, T=T), PURPLES, 0, hi, step, lang=lang), newly))
    rate = offence_rate(k)
    if rate is not None:
        _, hi, step = robust_range(rate, 0.0, 0.98)
        out.append((Scale("offences", t("offences.per_1000", lang), RDPU, 0, hi, step, lang=lang), rate))
    return out


def _kommune_payload(k: gpd.GeoDataFrame, fields: list[tuple[str, pd.Series]], scales: list[tuple[Scale, pd.Series]]) -> dict:
    return {
        "geom": encode_polygons(k.geometry, coverage=True),
        "names": k["name"].astype(str).tolist(),
        "fields": [f for f, _ in fields],
        "values": [list(r) for r in zip(*(s.tolist() for _, s in fields), strict=True)] if fields else [],
    }, {s.key: [s.color(v) for v in vals] for s, vals in scales}


def _fmt_series(s: pd.Series, kind: str, lang: Lang) -> pd.Series:
    if kind == "min":
        return s.map(lambda v: i18n.minutes(v, 1, lang))
    if kind == "people":
        return s.map(lambda v: i18n.people(v, ROUND["people_site"], lang))
    if kind == "num":
        return s.map(lambda v: i18n.num(v, 1, lang))
    return s.fillna(i18n.DASH).astype(str)


def _kommune_fields(k: pd.DataFrame, lang: Lang) -> list[tuple[str, pd.Series]]:
    """The hover rows every municipality has (number, district, population, drive time today)."""
    return [(t("k.number", lang), k["kommunenummer"].astype(str)), (t("k.district", lang), k["politidistrikt"].astype(str)),
            (t("k.population", lang), _fmt_series(k["population_2022"].astype(float), "people", lang)),
            (t("time.before", lang), _fmt_series(k["time_before"], "min", lang))]  # fmt: skip


def _stations_payload(stations: gpd.GeoDataFrame, lang: Lang) -> list:
    """Per existing office: lat, lon, name, type, district, stand-in flag, position note."""
    st = _latlon(stations)
    n = len(st)
    stand = st["stand_in"].map(_truthy) if "stand_in" in st.columns else pd.Series(False, index=st.index)
    src = st["location_source"].fillna("").astype(str) if "location_source" in st.columns else pd.Series("", index=st.index)
    qual = st["location_quality"].fillna("").astype(str) if "location_quality" in st.columns else pd.Series("", index=st.index)
    notes = [t("station.standin", lang, place=_place_in(s_)) if si else
             (t("station.approximate", lang, quality=i18n.enum("location_quality", q, lang)) if q and q != "exact" else "")
             for si, s_, q in zip(stand, src, qual, strict=True)]  # fmt: skip
    return [[round(g.y, 5), round(g.x, 5), str(nm), str(t_), str(d), int(si), nt]
            for g, nm, t_, d, si, nt in zip(st.geometry, st["name"], st.get("type", [""] * n), st.get("politidistrikt", [""] * n),
                                            stand, notes, strict=True)]  # fmt: skip


def _place_in(source: str) -> str:
    """The place named in a position's source (``GeoNames place 7626353 (Kyrkjebygda)`` → ``Kyrkjebygda``)."""
    mt = re.search(r"\(([^()]+)\)\s*$", source)
    return mt.group(1) if mt else source


def ranked_proposals(proposals: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Proposals in the one rank order (:func:`siting.style.ranked`: people newly within T, ties by
    site id), numbered 1… in ``map_rank`` (= ``rank`` of runs written since the rank order was unified)."""
    pr = ranked(proposals, "pop_newly_covered", rank="map_rank")
    return pr


def _site_rows(p, T: float, lang: Lang) -> list[list[str]]:
    rows = [[t("k.municipality", lang), f"{p.get('kommune', '')} ({p.get('kommunenummer', '')})"],
            [t("k.district", lang), str(p.get("politidistrikt", ""))]]  # fmt: skip
    if "pop_newly_covered" in p:
        rows.append([t("people.newly", lang, T=T), i18n.people(p["pop_newly_covered"], ROUND["people_site"], lang)])
    for c in p.index:
        if c.startswith("offences") and pd.notna(p[c]):
            rows.append([_label(c, T, lang), i18n.pct(float(p[c]), 1, lang) if "share" in c else i18n.num(float(p[c]), 0, lang)])
    if "pop_served" in p:
        rows.append([t("site.served", lang), i18n.people(p["pop_served"], ROUND["people_site"], lang)])
    if "mean_time_saved" in p:
        rows.append([t("site.time_saved", lang), i18n.minutes(p["mean_time_saved"], 1, lang)])
    if "wish_status" in p and str(p["wish_status"]) != "no wishes file":
        rows.append([t("site.wish", lang), i18n.enum("wish_status", p["wish_status"], lang)])
    if _truthy(p.get("stand_in")):
        v = p["stand_in"]
        rows.append([t("standin", lang), t("standin.for", lang, place=v) if str(v).lower() not in ("true", "1", "yes")
                     else t("standin.unsourced", lang)])  # fmt: skip
    return rows


def _station_standin_legend(stations: pd.DataFrame, lang: Lang) -> list[tuple[str, str]]:
    if "stand_in" in stations.columns and stations["stand_in"].map(_truthy).any():
        return [('<span class="siting-dot siting-dot-standin"></span>', t("legend.station_standin", lang))]
    return []


def _marker_symbol(kind: str, label: str, stand_in: bool = False) -> str:
    return f'<div class="siting-site siting-{kind}{" siting-standin" if stand_in else ""}">{html.escape(label)}</div>'


def _existing_legend(stations, lang: Lang) -> list[tuple[str, str]]:
    return [('<span class="siting-dot"></span>', t("legend.existing", lang)),
            ('<div class="siting-cluster" style="width:26px;height:26px"><div>12</div></div>', t("legend.cluster", lang)),
            *_station_standin_legend(stations, lang)]  # fmt: skip


def _about(manifests: list[tuple[str, dict]], lang: Lang) -> list[str]:
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


def _title(manifest: dict, lang: Lang, n: int | None = None, short: bool = False) -> str:
    """The plan's name: the scenario's ``title`` (free text), else "<scenario>: N new offices"
    (``short``: the scenario's name)."""
    title = str(manifest.get("title") or "")
    if title and not re.fullmatch(r".*: \d+ new police offices", title):  # not the English title of runs before titles existed
        return title
    if short:
        return str(manifest.get("scenario", "siting"))
    n = len(manifest.get("new_sites", [])) if n is None else n
    return t("title.fallback", lang, name=manifest.get("scenario", "siting"), n=n)


def page_lang(manifest: dict, lang: str | None = None) -> Lang:
    """The page language: ``lang`` if given, else the run's (``manifest.json`` ``language``), else nb."""
    return i18n.lang_of(lang or manifest.get("language"))


# --- the map of one run -------------------------------------------------------------------------------------
def make_map(kommuner, stations, proposals, coverage_before, coverage_after, metrics: dict, manifest: dict,
             demand: pd.DataFrame | None = None, lang: str | None = None) -> folium.Map:  # fmt: skip
    """Build the decision-maker map of one run from its layers (any CRS; drawn in EPSG:4326).

    Parameters
    ----------
    kommuner : GeoDataFrame
        Municipalities with ``name``, ``kommunenummer``, ``population_2022``, ``politidistrikt``,
        ``time_before``, ``time_after``, ``time_change`` (minutes) and optionally ``wish_status``,
        offence columns (``offences*``).
    stations, proposals : GeoDataFrame
        Existing offices; proposed offices (``pop_newly_covered`` etc.; optional ``stand_in``).
    coverage_before, coverage_after : GeoDataFrame or None
        Areas within T minutes today and with the plan.
    metrics, manifest : dict
        The run's ``metrics.json`` and ``manifest.json``.
    demand : DataFrame, optional
        Demand points with times (gives people newly within T per municipality).
    lang : {"nb", "en"}, optional
        Page language (default: the run's ``language``, else nb).

    Returns
    -------
    folium.Map
    """
    lang = page_lang(manifest, lang)
    T = float(metrics.get("threshold_minutes") or 30)
    k = kommuner.copy()
    pw = people_within(demand, T)
    scales = _kommune_scales(k, T, pw, lang)
    fields = _kommune_fields(k, lang) + [(t("time.after", lang), _fmt_series(k["time_after"], "min", lang)),
                                         (t("time.change", lang), _fmt_series(k["time_change"], "min", lang))]  # fmt: skip
    if pw is not None:
        get = lambda c: k["kommunenummer"].map(pw[c]).astype(float)  # noqa: E731
        fields += [(t("people.before", lang, T=T), _fmt_series(get("people_within_T_before"), "people", lang)),
                   (t("people.after", lang, T=T), _fmt_series(get("people_within_T_after"), "people", lang)),
                   (t("people.newly", lang, T=T), _fmt_series(get("people_newly_within_T"), "people", lang))]  # fmt: skip
        if "offences_newly_within_T" in pw.columns:
            fields.append((t("offences.newly", lang, T=T), _fmt_series(get("offences_newly_within_T"), "num", lang)))
    fields += _offence_fields(k, T, lang)
    if "wish_status" in k.columns and not k["wish_status"].astype(str).eq("no wishes file").all():
        fields.append((t("k.wish", lang), k["wish_status"].fillna("no answer on file").map(lambda v: i18n.enum("wish_status", v, lang))))
    if "new_offices" in k.columns:
        fields.append((t("k.new_offices", lang), k["new_offices"].fillna(0).astype(int).astype(str)))
    kp, colors = _kommune_payload(k, fields, scales)

    pr = ranked_proposals(proposals)
    prl = _latlon(pr)
    sites = []
    n_stand_in = 0
    for (_, p), g in zip(pr.iterrows(), prl.geometry, strict=True):
        si = _truthy(p.get("stand_in"))
        n_stand_in += si
        sites.append({"lat": round(g.y, 5), "lon": round(g.x, 5), "label": str(int(p["map_rank"])), "kind": "new", "stand_in": si,
                      "site_id": str(p.get("site_id", "")),
                      "title": f"#{int(p['map_rank'])} {p['name']}" + (f" ({t('standin', lang).lower()})" if si else ""),
                      "rows": _site_rows(p, T, lang)})  # fmt: skip

    areas = []
    for gdf, name, color, show in ((coverage_before, t("area.before", lang, T=T), AREA_COLORS["before"], False),
                                   (coverage_after, t("area.after", lang, T=T), AREA_COLORS["after"], False)):  # fmt: skip
        if gdf is not None and len(gdf):
            areas.append({"name": name, "color": color, "show": show, "geom": [p for g in encode_polygons(gdf.geometry) for p in g]})

    hd = _headline(metrics)
    n_new = len(pr)
    lines = [th("hl.n_new", lang, n=n_new) + _headline_line(hd, lang)]
    crime = _crime_line(metrics, lang)
    if crime:
        lines.append(crime)
    warnings, notes = _wishes_notes(k, metrics, lang)
    if manifest.get("is_estimate") or metrics.get("is_estimate"):
        warnings.insert(0, th("warn.estimate", lang))
    status = str(manifest.get("status", ""))
    if status and status not in ("optimal", "evaluated"):
        warnings.append(th("warn.status", lang, status=status))
    if n_stand_in:
        warnings.append(th("warn.standin", lang, n=n_stand_in))
    notes.append(th("note.rank", lang, T=T))
    title = _title(manifest, lang, n_new)
    short = (th("hl.short", lang, gain=i18n.signed_people(hd["people_gain"], ROUND["people_national"], lang), T=T,
                before=i18n.pct(hd["share_before"], 1, lang), after=i18n.pct(hd["share_after"], 1, lang))
             if "people_gain" in hd else
             th("hl.short_share", lang, T=T, before=i18n.pct(hd["share_before"], 1, lang), after=i18n.pct(hd["share_after"], 1, lang)))  # fmt: skip
    if warnings:
        short += th("hl.see_notes", lang)
    panel = _panel_html(title, short, lines, warnings, notes, _about([("", manifest)], lang), lang)

    markers = [(_marker_symbol("new", "1"), t("legend.new", lang, T=T))]
    if n_stand_in:
        markers.append((_marker_symbol("new", "7", True), t("legend.standin", lang)))
    markers += _existing_legend(stations, lang)
    legend = _legend_html(markers, [s for s, _ in scales], lang)
    payload = {"T": T, "q": QUANTUM, "bounds": NORWAY_BOUNDS, "kommuner": kp, "kommuner_label": t("layer.kommuner", lang),
               "colors": colors, "modes": [{"key": s.key} for s, _ in scales], "areas": areas,
               "stations": _stations_payload(stations, lang),
               "stations_label": t("layer.existing", lang, n=count_offices(stations)),
               "site_groups": [{"name": t("layer.new", lang, n=n_new), "sites": sites}],
               "attribution": _ATTRIBUTION}  # fmt: skip
    return _attach(_map_skeleton(), payload, panel, legend, title, lang)


_ATTRIBUTION = "© Kartverket, Statistisk sentralbyrå"


# --- one map comparing two runs --------------------------------------------------------------------------
def match_sites(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, within_m: float = SAME_SITE_M) -> list[tuple[int, int]]:
    """Pairs (i, j) of positions in ``a`` and ``b`` that are the same site (closest pairs first, each
    site used once, at most ``within_m`` metres apart in EPSG:25833)."""
    if not len(a) or not len(b):
        return []
    pa = np.c_[a.to_crs(25833).geometry.x, a.to_crs(25833).geometry.y]
    pb = np.c_[b.to_crs(25833).geometry.x, b.to_crs(25833).geometry.y]
    d = np.hypot(pa[:, None, 0] - pb[None, :, 0], pa[:, None, 1] - pb[None, :, 1])
    pairs, used_a, used_b = [], set(), set()
    for flat in np.argsort(d, axis=None, kind="stable"):
        i, j = divmod(int(flat), d.shape[1])
        if d[i, j] > within_m:
            break
        if i not in used_a and j not in used_b:
            pairs.append((i, j))
            used_a.add(i)
            used_b.add(j)
    return pairs


def compare_people(da: pd.DataFrame | None, db: pd.DataFrame | None, T: float) -> tuple[pd.DataFrame | None, bool]:
    """Per municipality: people within T with A and with B, and — when both runs have the same demand
    points — people within T only with B (gain) and only with A (loss). Returns (table, pointwise)."""
    if da is None or db is None:
        return None, False
    pa, pb = people_within(da, T), people_within(db, T)
    if pa is None or pb is None:
        return None, False
    t = pd.DataFrame({"within_A": pa["people_within_T_after"], "within_B": pb["people_within_T_after"]}).fillna(0.0)
    same = (len(da) == len(db) and np.array_equal(da["kommunenummer"].astype(str).to_numpy(), db["kommunenummer"].astype(str).to_numpy())
            and np.allclose(da["population"].to_numpy(float), db["population"].to_numpy(float)))  # fmt: skip
    if "geometry" in getattr(da, "columns", []) and same:
        same = bool(np.allclose(da.geometry.x, db.geometry.x) and np.allclose(da.geometry.y, db.geometry.y))
    if same:
        ina = da["time_after"].to_numpy(float) <= T
        inb = db["time_after"].to_numpy(float) <= T
        w = da["population"].to_numpy(float)
        g = pd.DataFrame({"kommunenummer": da["kommunenummer"].astype(str), "gain_B": np.where(inb & ~ina, w, 0.0),
                          "loss_B": np.where(ina & ~inb, w, 0.0)}).groupby("kommunenummer").sum()  # fmt: skip
        t = t.join(g, how="left").fillna(0.0)
    return t, same


def compare_map(run_a: str | Path, run_b: str | Path, lang: str | None = None) -> folium.Map:
    """One map comparing plan A (``run_a``) with plan B (``run_b``): sites both share, only in A and
    only in B; per municipality the people within T who gain or lose with B instead of A; both
    headlines. Both runs must use the same threshold T. ``lang``: page language (default: run A's)."""
    la, ma, fa = read_run_layers(run_a)
    lb, mb, fb = read_run_layers(run_b)
    lang = page_lang(fa, lang)
    Ta, Tb = ma.get("threshold_minutes"), mb.get("threshold_minutes")
    if Ta != Tb:
        raise SitingError(f"cannot compare coverage at different thresholds (A: {Ta} min, B: {Tb} min); compare runs with the same "
                          "model.threshold_minutes", path=run_b)  # fmt: skip
    T = float(Ta or 30)
    na, nb = _title(fa, lang, short=True), _title(fb, lang, short=True)
    ka, kb = la["kommuner"], lb["kommuner"].set_index("kommunenummer")
    k = ka.copy()
    k["time_A"] = k["time_after"].astype(float)
    k["time_B"] = k["kommunenummer"].map(kb["time_after"]).astype(float)
    k["diff"] = k["time_B"] - k["time_A"]
    cp, pointwise = compare_people(la.get("demand"), lb.get("demand"), T)

    scales = []
    if cp is not None:
        net = k["kommunenummer"].map(cp["within_B"] - cp["within_A"]).astype(float)
        m, step = symmetric_range(net)
        scales.append((Scale("people", t("cmp.scale_people", lang, T=T), BRBG, -m, m, step,
                             note=t("cmp.scale_people_note", lang, T=T), lang=lang), net))  # fmt: skip
    m, step = symmetric_range(k["diff"])
    scales.append((Scale("diff", t("cmp.scale_diff", lang), BRBG[::-1], -m, m, step, " (min)", note=t("cmp.scale_diff_note", lang),
                         lang=lang), k["diff"]))  # fmt: skip
    scales += [(time_scale("A", t("cmp.time_a", lang), T, lang), k["time_A"]),
               (time_scale("B", t("cmp.time_b", lang), T, lang), k["time_B"])]  # fmt: skip

    fields = _kommune_fields(k, lang) + [(t("cmp.time_a", lang), _fmt_series(k["time_A"], "min", lang)),
                                         (t("cmp.time_b", lang), _fmt_series(k["time_B"], "min", lang))]  # fmt: skip
    if cp is not None:
        get = lambda c: k["kommunenummer"].map(cp[c]).astype(float)  # noqa: E731
        fields += [(t("cmp.people_a", lang, T=T), _fmt_series(get("within_A"), "people", lang)),
                   (t("cmp.people_b", lang, T=T), _fmt_series(get("within_B"), "people", lang))]  # fmt: skip
        if pointwise:
            fields += [(t("cmp.gain", lang, T=T), _fmt_series(get("gain_B"), "people", lang)),
                       (t("cmp.loss", lang, T=T), _fmt_series(get("loss_B"), "people", lang))]  # fmt: skip
    kp, colors = _kommune_payload(k, fields, scales)

    pa, pb = ranked_proposals(la["proposals"]), ranked_proposals(lb["proposals"])
    pairs = match_sites(pa, pb)
    in_a = {i for i, _ in pairs}
    in_b = {j for _, j in pairs}
    groups = {"shared": [], "a": [], "b": []}
    la4, lb4 = _latlon(pa).geometry, _latlon(pb).geometry
    for i, j in pairs:
        p, q = pa.iloc[i], pb.iloc[j]
        rows = [[t("cmp.in_a", lang), f"#{int(p['map_rank'])} {p['name']}"], [t("cmp.in_b", lang), f"#{int(q['map_rank'])} {q['name']}"]]
        groups["shared"].append({"lat": round(lb4.iloc[j].y, 5), "lon": round(lb4.iloc[j].x, 5), "label": "AB", "kind": "shared",
                                 "stand_in": _truthy(p.get("stand_in")) or _truthy(q.get("stand_in")), "site_id": str(q.get("site_id", "")),
                                 "title": t("cmp.site_both", lang, name=q["name"]), "rows": rows + _site_rows(q, T, lang)[:2]})  # fmt: skip
    for kind, prop, geo, used in (("a", pa, la4, in_a), ("b", pb, lb4, in_b)):
        for i in range(len(prop)):
            if i in used:
                continue
            p = prop.iloc[i]
            groups[kind].append({"lat": round(geo.iloc[i].y, 5), "lon": round(geo.iloc[i].x, 5), "label": kind.upper(), "kind": kind,
                                 "stand_in": _truthy(p.get("stand_in")), "site_id": str(p.get("site_id", "")),
                                 "title": t(f"cmp.site_only_{kind}", lang, rank=int(p["map_rank"]), name=p["name"]),
                                 "rows": _site_rows(p, T, lang)})  # fmt: skip

    areas = []
    ca, cb = la.get("coverage_after"), lb.get("coverage_after")
    if ca is not None and cb is not None and len(ca) and len(cb):
        ua, ub = ca.to_crs(25833).union_all(), cb.to_crs(25833).union_all()
        for geom, name, color in ((ub.difference(ua), t("cmp.area_b", lang, T=T), AREA_COLORS["only_b"]),
                                  (ua.difference(ub), t("cmp.area_a", lang, T=T), AREA_COLORS["only_a"])):  # fmt: skip
            if not geom.is_empty:
                gs = gpd.GeoSeries([geom], crs=25833)
                areas.append({"name": name, "color": color, "show": False, "geom": [p for g in encode_polygons(gs) for p in g]})

    ha, hb = _headline(ma), _headline(mb)
    step = ROUND["people_national"]
    lines = [th("cmp.plan", lang, who="A", name=na, n=len(pa)) + _headline_line(ha, lang),
             th("cmp.plan", lang, who="B", name=nb, n=len(pb)) + _headline_line(hb, lang)]  # fmt: skip
    if "people_after" in ha and "people_after" in hb:
        d = hb["people_after"] - ha["people_after"]
        more = th("cmp.more" if d >= 0 else "cmp.fewer", lang, n=i18n.people(abs(d), step, lang), T=T)
        if pointwise and cp is not None:
            more += th("cmp.gain_loss", lang, gain=i18n.people(cp["gain_B"].sum(), step, lang), loss=i18n.people(cp["loss_B"].sum(), step, lang))
        lines.append(more + ".")
    lines.append(th("cmp.sites", lang, both=len(pairs), a=len(pa) - len(pairs), b=len(pb) - len(pairs), km=i18n.tick(SAME_SITE_M / 1000, lang)))
    warnings = []
    for man, met, who in ((fa, ma, "A"), (fb, mb, "B")):
        if man.get("is_estimate") or met.get("is_estimate"):
            warnings.append(f"{who}: " + th("warn.estimate", lang))
    n_si = sum(s["stand_in"] for g in groups.values() for s in g)
    if n_si:
        warnings.append(th("warn.standin", lang, n=n_si))
    notes = []
    if cp is None:
        notes.append(th("cmp.no_demand", lang))
    elif not pointwise:
        notes.append(th("cmp.not_pointwise", lang))
    title = t("cmp.title", lang, a=na, b=nb)
    short = (th("cmp.short", lang, T=T, a=i18n.signed_people(ha["people_gain"], step, lang), b=i18n.signed_people(hb["people_gain"], step, lang))
             if "people_gain" in ha and "people_gain" in hb else
             th("cmp.short_share", lang, T=T, a=i18n.pct(ha["share_after"], 1, lang), b=i18n.pct(hb["share_after"], 1, lang),
                today=i18n.pct(ha["share_before"], 1, lang)))  # fmt: skip
    panel = _panel_html(title, short, lines, warnings, notes, _about([("A", fa), ("B", fb)], lang), lang)
    markers = [(_marker_symbol("shared", "AB"), t("legend.both", lang)), (_marker_symbol("a", "A"), t("legend.only_a", lang, name=na)),
               (_marker_symbol("b", "B"), t("legend.only_b", lang, name=nb)), *_existing_legend(la["stations"], lang)]  # fmt: skip
    legend = _legend_html(markers, [s for s, _ in scales], lang)
    payload = {"T": T, "q": QUANTUM, "bounds": NORWAY_BOUNDS, "kommuner": kp, "kommuner_label": t("layer.kommuner", lang),
               "colors": colors, "modes": [{"key": s.key} for s, _ in scales], "areas": areas,
               "stations": _stations_payload(la["stations"], lang),
               "stations_label": t("layer.existing", lang, n=count_offices(la["stations"])),
               "site_groups": [{"name": t("cmp.group_both", lang, n=len(pairs)), "sites": groups["shared"]},
                               {"name": t("cmp.group_a", lang, name=na, n=len(groups["a"])), "sites": groups["a"]},
                               {"name": t("cmp.group_b", lang, name=nb, n=len(groups["b"])), "sites": groups["b"]}],
               "attribution": _ATTRIBUTION}  # fmt: skip
    return _attach(_map_skeleton(), payload, panel, legend, title, lang)


# --- writing --------------------------------------------------------------------------------------------------
#: CDN file name → vendored copy (see siting/static/README.md).
VENDORED = {"leaflet.js": "leaflet.js", "leaflet.css": "leaflet.css"}
#: plugins and the map script, inlined after the map is created
LIBS_JS = ("leaflet.markercluster.js", "Control.FullScreen.js", "leaflet-search.min.js", "siting-map.js")
LIBS_CSS = ("MarkerCluster.css", "Control.FullScreen.css", "leaflet-search.min.css")
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
    page = _stable_ids(inline_assets(m.get_root().render()))
    page = re.sub(r"<html(?=[\s>])", f'<html lang="{getattr(m, "siting_lang", "nb")}"', page, count=1)
    atomic_write_text(path, page)
    return Path(path)


def read_run_layers(run_dir: str | Path) -> tuple[dict, dict, dict]:
    """Layers (``LAYERS``, and ``demand`` when present), metrics and manifest of a run folder."""
    import pyogrio

    run = Path(run_dir)
    gpkg = run / "layers.gpkg"
    if not run.is_dir() or not gpkg.exists():
        raise SitingError("not a run folder (no layers.gpkg); give the folder `siting run` wrote", path=run)
    try:
        present = {name for name, _ in pyogrio.list_layers(gpkg)}
        missing = [n for n in LAYERS if n not in present]
        if missing:
            raise SitingError(f"run folder's layers.gpkg lacks layer(s) {', '.join(missing)}; rerun the scenario", path=gpkg)
        layers = {name: gpd.read_file(gpkg, layer=name) for name in LAYERS + OPTIONAL_LAYERS if name in present}
        metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
        manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SitingError(f"not a complete run folder (missing {Path(exc.filename).name})", path=run) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SitingError(f"damaged run folder ({exc.__class__.__name__}: {exc}); rerun the scenario", path=run) from None
    return layers, metrics, manifest


def map_from_run(run_dir: str | Path, lang: str | None = None) -> folium.Map:
    """Redraw the map of a run folder (``lang``: page language, default the run's)."""
    layers, metrics, manifest = read_run_layers(run_dir)
    return make_map(*(layers[n] for n in LAYERS), metrics, manifest, demand=layers.get("demand"), lang=lang)
