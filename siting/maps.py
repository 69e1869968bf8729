"""Self-contained HTML maps for decision-makers (folium).

A map shows: municipalities coloured by drive time to the nearest office (before, after, change;
switchable), existing offices (clustered), proposed offices numbered by rank, the area within T
minutes before and after, a title panel with the headline metrics, layer control, fullscreen,
scale and a search by municipality name. Drawn in EPSG:4326.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import branca.colormap as cm
import folium
import geopandas as gpd
import pandas as pd
from folium import plugins

from siting.errors import SitingError
from siting.io import atomic_write_text

LAYERS = ("kommuner", "stations", "proposals", "coverage_before", "coverage_after")


def _light(gdf: gpd.GeoDataFrame, tolerance_m: float = 700.0) -> gpd.GeoDataFrame:
    """Simplified (in metres, topology kept per polygon) and rounded to ~10 m for a small HTML file."""
    import shapely

    g = gdf.to_crs(25833).copy()
    g["geometry"] = g.geometry.simplify(tolerance_m)
    g = g.to_crs(4326)
    g["geometry"] = shapely.set_precision(g.geometry.values, 1e-4)
    return g


def _fmt(v, unit=" min", nd=1):
    return "–" if v is None or pd.isna(v) else f"{v:.{nd}f}{unit}"


def _title_panel(metrics: dict, manifest: dict) -> str:
    h = metrics.get("headline", {})
    T = metrics.get("threshold_minutes", "T")
    est = manifest.get("is_estimate")
    warn = (
        '<div style="color:#b00020;font-weight:bold">ESTIMATED drive times (no road network)</div>' if est else ""
    )
    def pct(x):
        return "–" if x is None else f"{100 * x:.1f} %"
    return f"""
    <div id="siting-title" style="position:fixed;top:10px;left:60px;z-index:9999;background:white;padding:8px 12px;
      border:1px solid #888;border-radius:4px;font:13px sans-serif;max-width:420px">
      <div style="font-size:16px;font-weight:bold">{html.escape(manifest.get("title") or manifest.get("scenario", ""))}</div>
      <div>{html.escape(manifest.get("description", ""))}</div>
      <div>New offices: {len(manifest.get("new_sites", []))} · within {T} min: {pct(h.get("share_within_T_before"))}
        → <b>{pct(h.get("share_within_T_after"))}</b></div>
      <div>Mean drive time: {_fmt(h.get("mean_time_before"))} → <b>{_fmt(h.get("mean_time_after"))}</b></div>
      <div style="color:#555">Network: {html.escape(str(manifest.get("network", "")))} · solver status: {html.escape(str(manifest.get("status", "")))}</div>
      {warn}
    </div>"""


def make_map(kommuner, stations, proposals, coverage_before, coverage_after, metrics: dict, manifest: dict) -> folium.Map:
    """Build the decision-maker map from the run layers (any CRS; drawn in EPSG:4326)."""
    k = _light(kommuner)
    m = folium.Map(location=[64.5, 13.0], zoom_start=5, tiles=None, control_scale=True, prefer_canvas=True)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap basemap").add_to(m)
    folium.TileLayer(tiles="", name="Plain (offline)", attr="no tiles").add_to(m)
    vmax = float(max(k["time_before"].max(skipna=True), k["time_after"].max(skipna=True), 1))
    scale = cm.linear.YlOrRd_09.scale(0, min(vmax, 120))
    scale.caption = "Drive time to nearest office (min)"
    change = cm.LinearColormap(["#1a9850", "#ffffbf", "#ffffff"], vmin=min(float(k["time_change"].min(skipna=True) or 0), -1), vmax=0)
    change.caption = "Change in drive time (min)"
    fields = ["name", "kommunenummer", "population_2022", "politidistrikt", "time_before", "time_after", "time_change", "wish_status"]
    k2 = k[fields + ["geometry"]].copy()
    for c in ("time_before", "time_after", "time_change"):
        k2[c] = k2[c].round(1)
    aliases = ["Municipality", "Number", "Population 2022", "Police district", "Before (min)", "After (min)", "Change (min)", "Wish"]
    layers = {}
    for col, name, cmap, show in (
        ("time_before", "Drive time before", scale, False),
        ("time_after", "Drive time after", scale, True),
        ("time_change", "Change in drive time", change, False),
    ):
        def style(feat, col=col, cmap=cmap):
            v = feat["properties"][col]
            return {"fillColor": "#cccccc" if v is None else cmap(max(min(v, cmap.vmax), cmap.vmin)),
                    "color": "#555", "weight": 0.3, "fillOpacity": 0.7}  # fmt: skip
        gj = folium.GeoJson(
            k2.to_json(na="null"), name=name, style_function=style, show=show,
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, localize=True),
        )  # fmt: skip
        gj.add_to(m)
        layers[col] = gj
    scale.add_to(m)
    change.add_to(m)
    for gdf, name, color in ((coverage_before, "Within T before", "#3182bd"), (coverage_after, "Within T after", "#31a354")):
        if gdf is not None and len(gdf):
            folium.GeoJson(_light(gdf, 500).to_json(), name=name, show=False,
                           style_function=lambda f, c=color: {"color": c, "fillColor": c, "weight": 1, "fillOpacity": 0.25}).add_to(m)  # fmt: skip
    st = stations.to_crs(4326)
    cluster = plugins.MarkerCluster(name=f"Existing offices ({len(st)})", options={"disableClusteringAtZoom": 9})
    for s in st.itertuples():
        folium.CircleMarker(
            [s.geometry.y, s.geometry.x], radius=5, color="#08306b", fill=True, fill_color="#2171b5", fill_opacity=0.9,
            tooltip=f"{s.name} ({s.type})", popup=folium.Popup(f"<b>{html.escape(s.name)}</b><br>{s.type}<br>{s.politidistrikt}", max_width=250),
        ).add_to(cluster)  # fmt: skip
    cluster.add_to(m)
    pr = proposals.to_crs(4326)
    group = folium.FeatureGroup(name=f"Proposed new offices ({len(pr)})")
    for p in pr.itertuples():
        icon = folium.DivIcon(
            html=f'<div class="siting-proposal" style="background:#d7301f;color:white;border-radius:50%;width:24px;height:24px;'
                 f'line-height:24px;text-align:center;font:bold 12px sans-serif;border:2px solid white">{int(p.rank)}</div>',
            icon_size=(24, 24), icon_anchor=(12, 12),
        )  # fmt: skip
        popup = (
            f"<b>#{int(p.rank)} {html.escape(str(p.name))}</b><br>{html.escape(str(p.kommune))} ({p.kommunenummer}), {p.politidistrikt}"
            f"<br>Population newly within T: {p.pop_newly_covered:,.0f}<br>Mean time saved for its area: {_fmt(p.mean_time_saved)}"
            f"<br>Wish: {html.escape(str(p.wish_status))}"
        )
        folium.Marker([p.geometry.y, p.geometry.x], icon=icon, tooltip=f"#{int(p.rank)} {p.name}",
                      popup=folium.Popup(popup, max_width=300)).add_to(group)  # fmt: skip
    group.add_to(m)
    plugins.Search(layer=layers["time_after"], search_label="name", placeholder="Search municipality", collapsed=False).add_to(m)
    plugins.Fullscreen().add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.get_root().html.add_child(folium.Element(_title_panel(metrics, manifest)))
    m.get_root().html.add_child(folium.Element(f"<title>{html.escape(manifest.get('title', 'siting'))}</title>"))
    return m


STATIC = Path(__file__).resolve().parent / "static"
#: CDN file name → vendored copy (see siting/static/README.md).
VENDORED = {
    "leaflet.js": "leaflet.js", "leaflet.css": "leaflet.css", "leaflet.markercluster.js": "leaflet.markercluster.js",
    "MarkerCluster.css": "MarkerCluster.css", "MarkerCluster.Default.css": "MarkerCluster.Default.css",
    "Control.FullScreen.min.js": "Control.FullScreen.js", "Control.FullScreen.css": "Control.FullScreen.css",
    "leaflet-search.min.js": "leaflet-search.min.js", "leaflet-search.min.css": "leaflet-search.min.css",
    "d3.min.js": "d3.min.js", "jquery-3.7.1.min.js": "jquery-3.7.1.min.js",
}  # fmt: skip


def inline_assets(page: str) -> str:
    """Replace CDN ``<script>``/``<link>`` tags by the vendored files' contents; drop unused ones
    (Bootstrap, Font Awesome, awesome-markers: the maps use none of them)."""

    def script(mt):
        name = mt.group(1).rsplit("/", 1)[-1]
        if name in VENDORED:
            return "<script>" + (STATIC / VENDORED[name]).read_text(encoding="utf-8") + "</script>"
        return ""

    def link(mt):
        name = mt.group(1).rsplit("/", 1)[-1]
        if name in VENDORED:
            return "<style>" + (STATIC / VENDORED[name]).read_text(encoding="utf-8") + "</style>"
        return ""

    page = re.sub(r'<script src="(https?://[^"]+)"></script>', script, page)
    return re.sub(r'<link rel="stylesheet" href="(https?://[^"]+)"\s*/?>', link, page)


def write_map(m: folium.Map, path: str | Path) -> Path:
    """Write a map as one self-contained HTML file (libraries inlined; atomic)."""
    atomic_write_text(path, inline_assets(m.get_root().render()))
    return Path(path)


def read_run_layers(run_dir: str | Path) -> tuple[dict, dict, dict]:
    run = Path(run_dir)
    gpkg = run / "layers.gpkg"
    if not gpkg.exists():
        raise SitingError("not a run folder (no layers.gpkg); give the folder `siting run` wrote", path=run)
    layers = {name: gpd.read_file(gpkg, layer=name) for name in LAYERS}
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    return layers, metrics, manifest


def map_from_run(run_dir: str | Path) -> folium.Map:
    """Redraw the map of a run folder."""
    layers, metrics, manifest = read_run_layers(run_dir)
    return make_map(*(layers[n] for n in LAYERS), metrics, manifest)


def compare_map(run_a: str | Path, run_b: str | Path) -> folium.Map:
    """Two scenarios side by side (synchronised maps): after-times and proposals of each."""
    dual = plugins.DualMap(location=[64.5, 13.0], zoom_start=5, tiles=None)
    for side, run in ((dual.m1, run_a), (dual.m2, run_b)):
        layers, metrics, manifest = read_run_layers(run)
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap basemap").add_to(side)
        k = _light(layers["kommuner"])
        scale = cm.linear.YlOrRd_09.scale(0, 120)
        folium.GeoJson(
            k[["name", "time_after", "geometry"]].to_json(na="null"), name=f"{manifest['scenario']}: drive time after",
            style_function=lambda f, s=scale: {"fillColor": "#ccc" if f["properties"]["time_after"] is None else s(min(f["properties"]["time_after"], 120)),
                                               "color": "#555", "weight": 0.3, "fillOpacity": 0.7},
            tooltip=folium.GeoJsonTooltip(["name", "time_after"], ["Municipality", "After (min)"]),
        ).add_to(side)  # fmt: skip
        for p in layers["proposals"].to_crs(4326).itertuples():
            folium.Marker([p.geometry.y, p.geometry.x], tooltip=f"{manifest['scenario']} #{int(p.rank)} {p.name}",
                          icon=folium.DivIcon(html=f'<div class="siting-proposal" style="background:#d7301f;color:white;border-radius:50%;'
                                                   f'width:22px;height:22px;line-height:22px;text-align:center;font:bold 11px sans-serif">{int(p.rank)}</div>',
                                              icon_size=(22, 22), icon_anchor=(11, 11))).add_to(side)  # fmt: skip
        h = metrics.get("headline", {})
        folium.map.Marker([71.5, 5 if side is dual.m1 else 20], icon=folium.DivIcon(
            html=f'<div style="font:bold 13px sans-serif;background:white;padding:4px;width:260px">{html.escape(manifest["scenario"])}: '
                 f'{100 * (h.get("share_within_T_after") or 0):.1f} % within {metrics.get("threshold_minutes")} min</div>')).add_to(side)  # fmt: skip
    folium.LayerControl(collapsed=False).add_to(dual)
    return dual
