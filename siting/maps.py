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

from siting.data.stations import count_offices
from siting.errors import SitingError
from siting.io import atomic_write_text

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

YLORRD = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026"]
GREENS = ["#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b"]
PURPLES = ["#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d"]
RDPU = ["#fff7f3", "#fde0dd", "#fcc5c0", "#fa9fb5", "#f768a1", "#dd3497", "#ae017e", "#7a0177", "#49006a"]
BRBG = ["#8c510a", "#bf812d", "#dfc27d", "#f6e8c3", "#f5f5f5", "#c7eae5", "#80cdc1", "#35978f", "#01665e"]


# --- numbers and words --------------------------------------------------------------------------------
def people(v: float, step: int = 10) -> str:
    """People rounded to ``step`` with thin-space thousands: ``86 000``."""
    if v is None or not np.isfinite(v):
        return "–"
    return f"{int(round(v / step) * step):,}".replace(",", "\u202f")


def signed_people(v: float, step: int = 100) -> str:
    return ("+" if v >= 0 else "−") + people(abs(v), step)


def _pct(x) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.1f} %"


def _min(v, nd: int = 1) -> str:
    return "–" if v is None or pd.isna(v) or not np.isfinite(v) else f"{v:.{nd}f} min"


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
    """A linear colour scale clipped to [vmin, vmax] with round ticks."""

    key: str
    label: str
    colors: list[str]
    vmin: float
    vmax: float
    step: float
    unit: str = ""
    note: str = ""
    mark: float | None = None
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
        grad = ", ".join(self.colors)
        span = (self.vmax - self.vmin) or 1
        ticks = "".join(
            f'<span style="left:{100 * (t - self.vmin) / span:.1f}%">{_tick(t)}</span>' for t in self.ticks()
        )
        top = ""
        if self.mark is not None and self.vmin < self.mark < self.vmax:
            top = (f'<div class="siting-bar-ticks"><span style="left:{100 * (self.mark - self.vmin) / span:.1f}%;font-weight:bold">'
                   f"T = {_tick(self.mark)} ▾</span></div>")  # fmt: skip
        clip = f" Values beyond {_tick(self.vmin)}…{_tick(self.vmax)} take the end colours." if self.note == "" else " " + self.note
        return (f'<div class="siting-bar" data-mode="{html.escape(self.key)}">'
                f'{top}<div class="siting-bar-grad" style="background:linear-gradient(to right, {grad})"></div>'
                f'<div class="siting-bar-ticks">{ticks}</div>'
                f'<div class="siting-bar-caption">{html.escape(self.label)}{html.escape(self.unit)}.{html.escape(clip)}</div></div>')  # fmt: skip


def _tick(t: float) -> str:
    s = f"{t:,.10g}".replace(",", "\u202f")
    return s.replace("-", "−")


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
    for name, t in (("time_before", before), ("time_after", after)):
        t = np.asarray(t, float)
        cols[name] = np.where(np.isfinite(t), t, np.nan)
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


def _label(col: str, T: float | None = None) -> str:
    """A readable label for a column name (``within_T`` → ``within 30 min``)."""
    if T is not None:
        col = col.replace("newly_covered", "newly_within_T").replace("within_T", f"within_{T:g}_min")
    return col.replace("_", " ").replace("per 1000", "per 1 000").capitalize()


def _offence_fields(k: pd.DataFrame, T: float) -> list[tuple[str, pd.Series]]:
    """Hover rows for the municipality layer's offence columns (helper "criteria": ``offences``,
    ``offences_low/high``, ``offences_per_1000``, ``offences_share_within_T_*``, ``crime_flag``)."""
    cols = offence_columns(k)
    out = []
    if "offences" in cols:
        val = _fmt_series(k["offences"].astype(float), "num")
        if {"offences_low", "offences_high"} <= set(cols):
            lo, hi = k["offences_low"].astype(float), k["offences_high"].astype(float)
            rng = (" (" + _fmt_series(lo, "num") + "–" + _fmt_series(hi, "num") + ")").where((hi - lo).abs() > 1e-9, "")
            val = val + rng
        out.append(("Reported offences per year", val))
    for c in cols:
        if c in ("offences", "offences_low", "offences_high"):
            continue
        v = k[c].astype(float)
        out.append((_label(c, T), v.map(_pct) if "share" in c else _fmt_series(v, "num")))
    if "crime_flag" in k.columns:
        flag = k["crime_flag"].fillna("").astype(str)
        if flag.str.strip().ne("").any():
            out.append(("Crime data note", flag.where(flag.str.strip().ne(""), "–")))
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


def _legend_html(markers: list[tuple[str, str]], scales: list[Scale], rank_note: str, kommuner_label: str) -> str:
    """The legend's inner HTML (template; trusted structure, every text escaped)."""
    opts = "".join(f'<option value="{html.escape(s.key)}">{html.escape(s.label)}</option>' for s in scales)
    rows = "".join(f'<div class="siting-row">{sym}<span>{html.escape(text)}</span></div>' for sym, text in markers)
    bars = "".join(s.bar_html() for s in scales)
    return (f'<button id="siting-legend-toggle" type="button" aria-label="show or hide the legend">Legend</button>'
            f'<div class="siting-body"><h2>Legend</h2>{rows}<div class="siting-rank">{html.escape(rank_note)}</div>'
            f'<div id="siting-mode-box"><label for="siting-mode">{html.escape(kommuner_label)}</label><br>'
            f'<select id="siting-mode">{opts}</select>{bars}</div></div>')  # fmt: skip


def _panel_html(title: str, short: str, lines: list[str], warnings: list[str], notes: list[str]) -> str:
    """Summary panel: title and ``short`` headline always shown, the rest collapsible; ``short``,
    ``lines``, ``warnings`` and ``notes`` are already-escaped HTML fragments."""
    body = "".join(f'<p class="siting-big">{x}</p>' for x in lines)
    body += "".join(f'<div class="siting-warn">{w}</div>' for w in warnings)
    body += "".join(f'<p class="siting-note">{n}</p>' for n in notes)
    return (f'<div id="siting-panel" role="region" aria-label="summary">'
            f'<button id="siting-panel-toggle" type="button" aria-label="show or hide the summary">☰</button>'
            f'<h1>{html.escape(title)}</h1><p class="siting-short">{short}</p><div class="siting-body">{body}</div></div>')  # fmt: skip


def _headline(metrics: dict) -> dict:
    """People and shares within T today and with the plan, and the change."""
    h = metrics.get("headline", {})
    total = (metrics.get("national", {}).get("before", {}) or {}).get("population")
    b, a = h.get("share_within_T_before"), h.get("share_within_T_after")
    out = {"T": metrics.get("threshold_minutes"), "share_before": b, "share_after": a, "total": total,
           "mean_before": h.get("mean_time_before"), "mean_after": h.get("mean_time_after")}  # fmt: skip
    if total and b is not None and a is not None:
        out.update(people_before=b * total, people_after=a * total, people_gain=(a - b) * total)
    return out


def _headline_line(hd: dict, who: str = "") -> str:
    T = f"{float(hd['T'] or 0):g}"
    gain = f" (<b>{signed_people(hd['people_gain'])} people</b>)" if "people_gain" in hd else ""
    pb = f" ({people(hd['people_before'], 100)} people)" if "people_before" in hd else ""
    return (f"{who}Within <b>{T} min</b> of a police office: {_pct(hd['share_before'])}{pb} today → "
            f"<b>{_pct(hd['share_after'])}</b>{gain}. Mean drive time {_min(hd['mean_before'])} → {_min(hd['mean_after'])}.")  # fmt: skip


def _crime_line(metrics: dict) -> str:
    """Offences within T today and with the plan, when the run has crime metrics (``metrics.crime``)."""
    c = ((metrics.get("crime") or {}).get("national")) or {}
    b, a = c.get("share_offences_within_T_before"), c.get("share_offences_within_T_after")
    if b is None or a is None:
        return ""
    T = f"{float(metrics.get('threshold_minutes') or 0):g}"
    gain = c.get("offences_newly_within_T")
    more = f" (<b>{signed_people(gain, 10)} offences a year</b>)" if gain is not None else ""
    return f"Reported offences within <b>{T} min</b>: {_pct(b)} → <b>{_pct(a)}</b>{more}."


def _wishes_notes(kommuner: pd.DataFrame, metrics: dict) -> tuple[list[str], list[str]]:
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
        warnings.append(f"Wishes on file for only {int(n)} of {len(kommuner)} municipalities; the others are unknown, "
                        "not “no”.")  # fmt: skip
    agg = w.get("national_aggregates")
    if not isinstance(agg, dict):
        try:  # the run used a wishes file: the documented national totals give the context
            from siting.wishes import NATIONAL_AGGREGATES as agg
        except ImportError:
            agg = None
    if isinstance(agg, dict) and {"want_office", "do_not_want_office"} <= set(agg):
        a = {k: html.escape(str(v)) for k, v in agg.items()}
        rc = agg.get("want_office_regional_councils")
        notes.append(f"Nationally, about {a.get('answers_received', '?')} of {a.get('municipalities', '356')} municipalities "
                     f"answered the ministry: {a['want_office']} want an office" + (f" (+{a['want_office_regional_councils']} regional "
                     "council)" if rc else "") + f", {a['do_not_want_office']} do not, {a.get('unclear', '?')} unclear (published "
                     "totals, not per municipality).")  # fmt: skip
    return warnings, notes


def _map_skeleton() -> folium.Map:
    return folium.Map(location=[64.5, 13.0], zoom_start=5, tiles=None, prefer_canvas=True)


def _attach(m: folium.Map, payload: dict, panel: str, legend: str, title: str) -> folium.Map:
    payload = {"map": m.get_name(), **payload}
    root = m.get_root()
    root.header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"), name="siting_title")
    root.header.add_child(folium.Element("<style>" + (STATIC / "siting-map.css").read_text(encoding="utf-8") + "</style>"),
                          name="siting_css")  # fmt: skip
    root.html.add_child(folium.Element(panel), name="siting_panel")
    root.html.add_child(folium.Element(f'<template id="siting-legend-template">{legend}</template>'), name="siting_legend")
    root.html.add_child(folium.Element(f'<script type="application/json" id="siting-data">{_json_for_script(payload)}</script>'),
                        name="siting_data")  # fmt: skip
    return m


def _kommune_scales(k: pd.DataFrame, T: float, pw: pd.DataFrame | None) -> list[tuple[Scale, pd.Series]]:
    both = pd.concat([k["time_before"], k["time_after"]]).astype(float)
    _, hi, step = robust_range(both, 0.0, 0.98)
    out = [(Scale("after", "Drive time with the plan", YLORRD, 0, hi, step, " (min)", mark=T), k["time_after"]),
           (Scale("before", "Drive time today", YLORRD, 0, hi, step, " (min)", mark=T), k["time_before"])]  # fmt: skip
    ch = k["time_change"].astype(float)
    lo, _, step = robust_range(ch[ch < 0], 0.05, 1.0)
    out.append((Scale("change", "Change in drive time", GREENS[::-1], min(lo, -step), 0, step, " (min)"), ch))
    if pw is not None:
        newly = k["kommunenummer"].map(pw["people_newly_within_T"]).astype(float)
        _, hi, step = robust_range(newly[newly > 0], 0.0, 0.95)
        out.append((Scale("newly", f"People newly within {T:g} min", PURPLES, 0, hi, step), newly))
    rate = offence_rate(k)
    if rate is not None:
        _, hi, step = robust_range(rate, 0.0, 0.98)
        out.append((Scale("offences", "Reported offences per 1 000 inhabitants", RDPU, 0, hi, step), rate))
    return out


def _kommune_payload(k: gpd.GeoDataFrame, fields: list[tuple[str, pd.Series]], scales: list[tuple[Scale, pd.Series]]) -> dict:
    return {
        "geom": encode_polygons(k.geometry, coverage=True),
        "names": k["name"].astype(str).tolist(),
        "fields": [f for f, _ in fields],
        "values": [list(r) for r in zip(*(s.tolist() for _, s in fields), strict=True)] if fields else [],
    }, {s.key: [s.color(v) for v in vals] for s, vals in scales}


def _fmt_series(s: pd.Series, kind: str) -> pd.Series:
    if kind == "min":
        return s.map(lambda v: _min(v))
    if kind == "people":
        return s.map(lambda v: people(v) if pd.notna(v) else "–")
    if kind == "num":
        return s.map(lambda v: "–" if pd.isna(v) else f"{v:,.1f}".replace(",", "\u202f"))
    return s.fillna("–").astype(str)


def _stations_payload(stations: gpd.GeoDataFrame) -> list:
    """Per existing office: lat, lon, name, type, district, stand-in flag, position note."""
    st = _latlon(stations)
    n = len(st)
    stand = st["stand_in"].map(_truthy) if "stand_in" in st.columns else pd.Series(False, index=st.index)
    src = st["location_source"].fillna("").astype(str) if "location_source" in st.columns else pd.Series("", index=st.index)
    qual = st["location_quality"].fillna("").astype(str) if "location_quality" in st.columns else pd.Series("", index=st.index)
    notes = [f"stand-in: {s_}" if si else (f"approximate ({q})" if q and q != "exact" else "")
             for si, s_, q in zip(stand, src, qual, strict=True)]  # fmt: skip
    return [[round(g.y, 5), round(g.x, 5), str(nm), str(t), str(d), int(si), nt]
            for g, nm, t, d, si, nt in zip(st.geometry, st["name"], st.get("type", [""] * n), st.get("politidistrikt", [""] * n),
                                           stand, notes, strict=True)]  # fmt: skip


def ranked_proposals(proposals: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Proposals numbered 1… by people newly within T (ties: the model's order)."""
    pr = proposals.copy()
    if not len(pr):
        pr["map_rank"] = []
        return pr
    model_rank = pr["rank"] if "rank" in pr.columns else pd.Series(range(1, len(pr) + 1), index=pr.index)
    pr["_mr"] = model_rank.astype(int)
    newly = pr["pop_newly_covered"].astype(float) if "pop_newly_covered" in pr.columns else pd.Series(0.0, index=pr.index)
    pr["_n"] = -newly.fillna(0)
    pr = pr.sort_values(["_n", "_mr"], kind="stable")
    pr["map_rank"] = range(1, len(pr) + 1)
    return pr.drop(columns=["_n"])


def _site_rows(p, T: float) -> list[list[str]]:
    rows = [["Municipality", f"{p.get('kommune', '')} ({p.get('kommunenummer', '')})"], ["Police district", str(p.get("politidistrikt", ""))]]
    if "pop_newly_covered" in p:
        rows.append([f"People newly within {T:g} min", people(p["pop_newly_covered"])])
    for c in p.index:
        if c.startswith("offences") and pd.notna(p[c]):
            rows.append([_label(c, T), _pct(float(p[c])) if "share" in c else f"{float(p[c]):,.0f}".replace(",", "\u202f")])
    if "pop_served" in p:
        rows.append(["People for whom it is the nearest office", people(p["pop_served"])])
    if "mean_time_saved" in p:
        rows.append(["Mean time saved for them", _min(p["mean_time_saved"])])
    if "wish_status" in p and str(p["wish_status"]) != "no wishes file":
        rows.append(["Municipality's wish", str(p["wish_status"])])
    if _truthy(p.get("stand_in")):
        v = p["stand_in"]
        rows.append(["Stand-in", f"for {v}" if str(v).lower() not in ("true", "1", "yes") else "position stands in for a locality or address that is not sourced"])
    if "_mr" in p and "map_rank" in p and int(p["_mr"]) != int(p["map_rank"]):
        rows.append(["Model's order", f"#{int(p['_mr'])}"])
    return rows


def _station_standin_legend(stations: pd.DataFrame) -> list[tuple[str, str]]:
    if "stand_in" in stations.columns and stations["stand_in"].map(_truthy).any():
        return [('<span class="siting-dot siting-dot-standin"></span>', "existing office at a stand-in position (address not sourced)")]
    return []


def _marker_symbol(kind: str, label: str, stand_in: bool = False) -> str:
    return f'<div class="siting-site siting-{kind}{" siting-standin" if stand_in else ""}">{html.escape(label)}</div>'


# --- the map of one run -------------------------------------------------------------------------------------
def make_map(kommuner, stations, proposals, coverage_before, coverage_after, metrics: dict, manifest: dict,
             demand: pd.DataFrame | None = None) -> folium.Map:  # fmt: skip
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

    Returns
    -------
    folium.Map
    """
    T = float(metrics.get("threshold_minutes") or 30)
    k = kommuner.copy()
    pw = people_within(demand, T)
    scales = _kommune_scales(k, T, pw)
    fields = [("Municipality number", k["kommunenummer"].astype(str)), ("Police district", k["politidistrikt"].astype(str)),
              ("Population 2022", _fmt_series(k["population_2022"].astype(float), "people")),
              ("Drive time today", _fmt_series(k["time_before"], "min")),
              ("Drive time with the plan", _fmt_series(k["time_after"], "min")),
              ("Change", _fmt_series(k["time_change"], "min"))]  # fmt: skip
    if pw is not None:
        get = lambda c: k["kommunenummer"].map(pw[c]).astype(float)  # noqa: E731
        fields += [(f"People within {T:g} min today", _fmt_series(get("people_within_T_before"), "people")),
                   (f"People within {T:g} min with the plan", _fmt_series(get("people_within_T_after"), "people")),
                   (f"People newly within {T:g} min", _fmt_series(get("people_newly_within_T"), "people"))]  # fmt: skip
        if "offences_newly_within_T" in pw.columns:
            fields.append((f"Offences newly within {T:g} min", _fmt_series(get("offences_newly_within_T"), "num")))
    fields += _offence_fields(k, T)
    if "wish_status" in k.columns and not k["wish_status"].astype(str).eq("no wishes file").all():
        fields.append(("Wish on file", k["wish_status"].fillna("no answer").astype(str)))
    if "new_offices" in k.columns:
        fields.append(("New offices here", k["new_offices"].fillna(0).astype(int).astype(str)))
    kp, colors = _kommune_payload(k, fields, scales)

    pr = ranked_proposals(proposals)
    prl = _latlon(pr)
    sites = []
    n_stand_in = 0
    for (_, p), g in zip(pr.iterrows(), prl.geometry, strict=True):
        si = _truthy(p.get("stand_in"))
        n_stand_in += si
        sites.append({"lat": round(g.y, 5), "lon": round(g.x, 5), "label": str(int(p["map_rank"])), "kind": "new", "stand_in": si,
                      "title": f"#{int(p['map_rank'])} {p['name']}" + (" (stand-in)" if si else ""), "rows": _site_rows(p, T)})  # fmt: skip

    areas = []
    for gdf, name, color, show in ((coverage_before, f"Within {T:g} min today", "#2c7fb8", False),
                                   (coverage_after, f"Within {T:g} min with the plan", "#31a354", False)):  # fmt: skip
        if gdf is not None and len(gdf):
            areas.append({"name": name, "color": color, "show": show, "geom": [p for g in encode_polygons(gdf.geometry) for p in g]})

    hd = _headline(metrics)
    n_new = len(pr)
    lines = [f"<b>{n_new}</b> new offices. " + _headline_line(hd)]
    crime = _crime_line(metrics)
    if crime:
        lines.append(crime)
    warnings, notes = _wishes_notes(k, metrics)
    if manifest.get("is_estimate") or metrics.get("is_estimate"):
        warnings.insert(0, "ESTIMATED drive times (straight-line estimate, no road network).")
    status = str(manifest.get("status", ""))
    if status and status not in ("optimal", "evaluated"):
        warnings.append(f"Solver status: {html.escape(status)} — the plan is not proven optimal.")
    if n_stand_in:
        warnings.append(f"{n_stand_in} site(s) marked * are stand-ins: their exact locality or address is not sourced (see hover).")
    notes.append(f"Markers are numbered by people newly within {T:g} min (those for whom the office becomes the nearest "
                 "and who were beyond T before); hover or tap for details.")  # fmt: skip
    if manifest.get("description"):
        notes.append(html.escape(str(manifest["description"])))
    notes.append(f"Network: {html.escape(str(manifest.get('network', '')))} · status: {html.escape(status)}")
    title = str(manifest.get("title") or manifest.get("scenario", "siting"))
    short = (f"<b>{signed_people(hd['people_gain'])} people</b> within {T:g} min ({_pct(hd['share_before'])} → {_pct(hd['share_after'])})"
             if "people_gain" in hd else f"Within {T:g} min: {_pct(hd['share_before'])} → {_pct(hd['share_after'])}")
    if warnings:
        short += " · ⚠ see notes"
    panel = _panel_html(title, short, lines, warnings, notes)

    markers = [(_marker_symbol("new", "1"), f"proposed new office (number = rank by people newly within {T:g} min)"),
               ('<span class="siting-dot"></span>', "existing office"),
               ('<div class="siting-cluster" style="width:26px;height:26px"><div>12</div></div>', "cluster of existing offices (count)")]  # fmt: skip
    if n_stand_in:
        markers.insert(1, (_marker_symbol("new", "7", True), "stand-in position (exact locality not sourced)"))
    markers += _station_standin_legend(stations)
    legend = _legend_html(markers, [s for s, _ in scales], "", "Colour municipalities by")
    payload = {"T": T, "q": QUANTUM, "bounds": NORWAY_BOUNDS, "kommuner": kp, "kommuner_label": "Municipalities (coloured)",
               "colors": colors, "modes": [{"key": s.key} for s, _ in scales], "areas": areas,
               "stations": _stations_payload(stations), "stations_label": f"Existing offices ({count_offices(stations)})",
               "site_groups": [{"name": f"Proposed new offices ({n_new})", "sites": sites}],
               "attribution": _ATTRIBUTION}  # fmt: skip
    return _attach(_map_skeleton(), payload, panel, legend, title)


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


def compare_map(run_a: str | Path, run_b: str | Path) -> folium.Map:
    """One map comparing plan A (``run_a``) with plan B (``run_b``): sites both share, only in A and
    only in B; per municipality the people within T who gain or lose with B instead of A; both
    headlines. Both runs must use the same threshold T."""
    la, ma, fa = read_run_layers(run_a)
    lb, mb, fb = read_run_layers(run_b)
    Ta, Tb = ma.get("threshold_minutes"), mb.get("threshold_minutes")
    if Ta != Tb:
        raise SitingError(f"cannot compare coverage at different thresholds (A: {Ta} min, B: {Tb} min); compare runs with the same "
                          "model.threshold_minutes", path=run_b)  # fmt: skip
    T = float(Ta or 30)
    na, nb = str(fa.get("scenario", Path(run_a).name)), str(fb.get("scenario", Path(run_b).name))
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
        scales.append((Scale("people", f"People within {T:g} min: B minus A", BRBG, -m, m, step,
                             note=f"Teal: more people within {T:g} min with B ({nb}); brown: more with A ({na})."), net))  # fmt: skip
    m, step = symmetric_range(k["diff"])
    scales.append((Scale("diff", "Drive time: B minus A", BRBG[::-1], -m, m, step, " (min)",
                         note=f"Teal: faster with B ({nb}); brown: faster with A ({na})."), k["diff"]))  # fmt: skip
    _, hi, step = robust_range(pd.concat([k["time_A"], k["time_B"]]), 0.0, 0.98)
    scales += [(Scale("A", f"Drive time with A ({na})", YLORRD, 0, hi, step, " (min)"), k["time_A"]),
               (Scale("B", f"Drive time with B ({nb})", YLORRD, 0, hi, step, " (min)"), k["time_B"])]  # fmt: skip

    fields = [("Municipality number", k["kommunenummer"].astype(str)), ("Police district", k["politidistrikt"].astype(str)),
              ("Population 2022", _fmt_series(k["population_2022"].astype(float), "people")),
              ("Drive time today", _fmt_series(k["time_before"], "min")),
              (f"Drive time with A ({na})", _fmt_series(k["time_A"], "min")),
              (f"Drive time with B ({nb})", _fmt_series(k["time_B"], "min"))]  # fmt: skip
    if cp is not None:
        get = lambda c: k["kommunenummer"].map(cp[c]).astype(float)  # noqa: E731
        fields += [(f"People within {T:g} min with A", _fmt_series(get("within_A"), "people")),
                   (f"People within {T:g} min with B", _fmt_series(get("within_B"), "people"))]  # fmt: skip
        if pointwise:
            fields += [(f"Gain with B (within {T:g} min only with B)", _fmt_series(get("gain_B"), "people")),
                       (f"Loss with B (within {T:g} min only with A)", _fmt_series(get("loss_B"), "people"))]  # fmt: skip
    kp, colors = _kommune_payload(k, fields, scales)

    pa, pb = ranked_proposals(la["proposals"]), ranked_proposals(lb["proposals"])
    pairs = match_sites(pa, pb)
    in_a = {i for i, _ in pairs}
    in_b = {j for _, j in pairs}
    groups = {"shared": [], "a": [], "b": []}
    la4, lb4 = _latlon(pa).geometry, _latlon(pb).geometry
    for i, j in pairs:
        p, q = pa.iloc[i], pb.iloc[j]
        rows = [["In A", f"#{int(p['map_rank'])} {p['name']}"], ["In B", f"#{int(q['map_rank'])} {q['name']}"]] + _site_rows(q, T)[:2]
        groups["shared"].append({"lat": round(lb4.iloc[j].y, 5), "lon": round(lb4.iloc[j].x, 5), "label": "AB", "kind": "shared",
                                 "stand_in": _truthy(p.get("stand_in")) or _truthy(q.get("stand_in")),
                                 "title": f"In both plans: {q['name']}", "rows": rows})  # fmt: skip
    for kind, prop, geo, used, nm in (("a", pa, la4, in_a, na), ("b", pb, lb4, in_b, nb)):
        for i in range(len(prop)):
            if i in used:
                continue
            p = prop.iloc[i]
            groups[kind].append({"lat": round(geo.iloc[i].y, 5), "lon": round(geo.iloc[i].x, 5), "label": kind.upper(), "kind": kind,
                                 "stand_in": _truthy(p.get("stand_in")),
                                 "title": f"Only in {kind.upper()} ({nm}): #{int(p['map_rank'])} {p['name']}", "rows": _site_rows(p, T)})  # fmt: skip

    areas = []
    ca, cb = la.get("coverage_after"), lb.get("coverage_after")
    if ca is not None and cb is not None and len(ca) and len(cb):
        ua, ub = ca.to_crs(25833).union_all(), cb.to_crs(25833).union_all()
        for geom, name, color in ((ub.difference(ua), f"Within {T:g} min only with B", "#01665e"),
                                  (ua.difference(ub), f"Within {T:g} min only with A", "#8c510a")):  # fmt: skip
            if not geom.is_empty:
                gs = gpd.GeoSeries([geom], crs=25833)
                areas.append({"name": name, "color": color, "show": False, "geom": [p for g in encode_polygons(gs) for p in g]})

    ha, hb = _headline(ma), _headline(mb)
    lines = [f"<b>A</b> = {html.escape(na)} ({len(pa)} new offices). " + _headline_line(ha),
             f"<b>B</b> = {html.escape(nb)} ({len(pb)} new offices). " + _headline_line(hb)]  # fmt: skip
    if "people_after" in ha and "people_after" in hb:
        d = hb["people_after"] - ha["people_after"]
        more = f"B reaches <b>{people(abs(d), 100)}</b> {'more' if d >= 0 else 'fewer'} people within {T:g} min than A"
        if pointwise and cp is not None:
            more += f" ({people(cp['gain_B'].sum(), 100)} gain, {people(cp['loss_B'].sum(), 100)} lose)"
        lines.append(more + ".")
    lines.append(f"Sites: {len(pairs)} in both, {len(pa) - len(pairs)} only in A, {len(pb) - len(pairs)} only in B "
                 f"(same site: within {SAME_SITE_M / 1000:g} km).")  # fmt: skip
    warnings = []
    for man, met, who in ((fa, ma, "A"), (fb, mb, "B")):
        if man.get("is_estimate") or met.get("is_estimate"):
            warnings.append(f"{who}: ESTIMATED drive times (no road network).")
    n_si = sum(s["stand_in"] for g in groups.values() for s in g)
    if n_si:
        warnings.append(f"{n_si} site(s) marked * are stand-ins: their exact locality or address is not sourced (see hover).")
    notes = []
    if cp is None:
        notes.append("People gaining or losing are not shown: a run folder has no demand layer (rerun with this version).")
    elif not pointwise:
        notes.append("The runs use different demand points: per municipality only the net difference is shown.")
    title = f"{na} (A) vs {nb} (B)"
    short = (f"Within {T:g} min: A <b>{signed_people(ha['people_gain'])}</b>, B <b>{signed_people(hb['people_gain'])}</b> people"
             if "people_gain" in ha and "people_gain" in hb else
             f"Within {T:g} min: A {_pct(ha['share_after'])}, B {_pct(hb['share_after'])} (today {_pct(ha['share_before'])})")
    panel = _panel_html(title, short, lines, warnings, notes)
    markers = [(_marker_symbol("shared", "AB"), "site in both plans"), (_marker_symbol("a", "A"), f"only in A ({na})"),
               (_marker_symbol("b", "B"), f"only in B ({nb})"), ('<span class="siting-dot"></span>', "existing office"),
               ('<div class="siting-cluster" style="width:26px;height:26px"><div>12</div></div>', "cluster of existing offices (count)")]  # fmt: skip
    markers += _station_standin_legend(la["stations"])
    legend = _legend_html(markers, [s for s, _ in scales], "", "Colour municipalities by")
    payload = {"T": T, "q": QUANTUM, "bounds": NORWAY_BOUNDS, "kommuner": kp, "kommuner_label": "Municipalities (coloured)",
               "colors": colors, "modes": [{"key": s.key} for s, _ in scales], "areas": areas,
               "stations": _stations_payload(la["stations"]), "stations_label": f"Existing offices ({count_offices(la['stations'])})",
               "site_groups": [{"name": f"In both plans ({len(pairs)})", "sites": groups["shared"]},
                               {"name": f"Only in A: {na} ({len(groups['a'])})", "sites": groups["a"]},
                               {"name": f"Only in B: {nb} ({len(groups['b'])})", "sites": groups["b"]}],
               "attribution": _ATTRIBUTION}  # fmt: skip
    return _attach(_map_skeleton(), payload, panel, legend, title)


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
    """Write a map as one self-contained HTML file (libraries and icons inlined; atomic)."""
    atomic_write_text(path, _stable_ids(inline_assets(m.get_root().render())))
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


def map_from_run(run_dir: str | Path) -> folium.Map:
    """Redraw the map of a run folder."""
    layers, metrics, manifest = read_run_layers(run_dir)
    return make_map(*(layers[n] for n in LAYERS), metrics, manifest, demand=layers.get("demand"))
