"""The map of one run (``make_map``), and redrawing it from a run folder (``map_from_run``)."""

from __future__ import annotations

import json
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd

from siting import i18n
from siting.data.stations import count_offices
from siting.errors import SitingError
from siting.i18n import plan_title, t, th
from siting.maps.encode import QUANTUM, encode_polygons, latlon, truthy
from siting.maps.page import (
    ATTRIBUTION,
    NORWAY_BOUNDS,
    about,
    attach,
    crime_line,
    existing_legend,
    headline,
    headline_line,
    legend_html,
    map_skeleton,
    marker_symbol,
    page_lang,
    panel_html,
    wishes_notes,
)
from siting.maps.payload import (
    fmt_series,
    kommune_fields,
    kommune_payload,
    kommune_scales,
    offence_fields,
    people_within,
    ranked_proposals,
    site_entry,
    site_name,
    site_rows,
    stations_payload,
)
from siting.style import AREA_COLORS, ROUND

LAYERS = ("kommuner", "stations", "proposals", "coverage_before", "coverage_after")


#: optional run layer: demand points with ``kommunenummer``, ``population``, ``time_before``, ``time_after``
#: (and optionally ``offences``): gives people (offences) newly within T per municipality.
OPTIONAL_LAYERS = ("demand", "structure")


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


def make_map(kommuner, stations, proposals, coverage_before, coverage_after, metrics: dict, manifest: dict,
             demand: pd.DataFrame | None = None, lang: str | None = None, whatif=None, structure=None) -> folium.Map:  # fmt: skip
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
    whatif : siting.maps.whatif.WhatIf, optional
        The run's what-if arrays: the page then recomputes the figures for any set of sites.
    structure : GeoDataFrame, optional
        A structure run's kept / moved / added locations (``status``): today's offices the
        structure leaves out are drawn as grey "moved" markers.

    Returns
    -------
    folium.Map
    """
    lang = page_lang(manifest, lang)
    T = float(metrics.get("threshold_minutes") or 30)
    k = kommuner.copy()
    pw = people_within(demand, T)
    scales = kommune_scales(k, T, pw, lang)
    fields = kommune_fields(k, lang) + [(t("time.after", lang), fmt_series(k["time_after"], "min", lang)),
                                         (t("time.change", lang), fmt_series(k["time_change"], "min", lang))]  # fmt: skip
    if pw is not None:
        get = lambda c: k["kommunenummer"].map(pw[c]).astype(float)  # noqa: E731
        fields += [(t("people.before", lang, T=T), fmt_series(get("people_within_T_before"), "people", lang)),
                   (t("people.after", lang, T=T), fmt_series(get("people_within_T_after"), "people", lang)),
                   (t("people.newly", lang, T=T), fmt_series(get("people_newly_within_T"), "people", lang))]  # fmt: skip
        if "offences_newly_within_T" in pw.columns:
            fields.append((t("offences.newly", lang, T=T), fmt_series(get("offences_newly_within_T"), "num", lang)))
    fields += offence_fields(k, T, lang)
    if "wish_status" in k.columns and not k["wish_status"].astype(str).eq("no wishes file").all():
        fields.append((t("k.wish", lang), k["wish_status"].fillna("no answer on file").map(lambda v: i18n.enum("wish_status", v, lang))))
    if "new_offices" in k.columns:
        fields.append((t("k.new_offices", lang), k["new_offices"].fillna(0).astype(int).astype(str)))
    kp, colors = kommune_payload(k, fields, scales)

    pr = ranked_proposals(proposals)
    prl = latlon(pr)
    sites = []
    n_stand_in = 0
    for (_, p), g in zip(pr.iterrows(), prl.geometry, strict=True):
        si = truthy(p.get("stand_in"))
        n_stand_in += si
        name = site_name(p, lang)
        title = f"#{int(p['map_rank'])} {name}" + (f" ({t('standin', lang).lower()})" if si else "")
        sites.append(site_entry(p, g, str(int(p["map_rank"])), "new", title, site_rows(p, T, lang), name=name, stand_in=si))

    moved = []
    if structure is not None and len(structure):
        mv = structure[structure["status"].astype(str) == "moved"]
        for (_, p), g in zip(mv.iterrows(), latlon(mv).geometry, strict=True):
            name = str(p["name"])
            moved.append(site_entry(p, g, "×", "moved", t("site.moved", lang, name=name), [], name=name, stand_in=False))

    areas = []
    for gdf, name, color, show in ((coverage_before, t("area.before", lang, T=T), AREA_COLORS["before"], False),
                                   (coverage_after, t("area.after", lang, T=T), AREA_COLORS["after"], False)):  # fmt: skip
        if gdf is not None and len(gdf):
            areas.append({"name": name, "color": color, "show": show, "geom": [p for g in encode_polygons(gdf.geometry) for p in g]})

    hd = headline(metrics)
    n_new = len(pr)
    lines = [th("hl.n_new", lang, n=n_new) + headline_line(hd, lang)]
    crime = crime_line(metrics, lang)
    if crime:
        lines.append(crime)
    warnings, notes = wishes_notes(k, metrics, lang)
    if manifest.get("is_estimate") or metrics.get("is_estimate"):
        warnings.insert(0, th("warn.estimate", lang))
    status = str(manifest.get("status", ""))
    if status and status not in ("optimal", "evaluated"):
        warnings.append(th("warn.status", lang, status=status))
    if n_stand_in:
        warnings.append(th("warn.standin", lang, n=n_stand_in))
    notes.append(th("note.rank", lang, T=T))
    packed = None
    if whatif is not None:
        from siting.maps.whatif import MAX_PACKED, encode

        packed = encode(whatif)
        if len(packed) > MAX_PACKED:  # a fine demand grid: the page would grow past its budget
            notes.append(th("note.whatif_too_big", lang, mb=i18n.num(len(packed) / 1e6, 1, lang), max=i18n.num(MAX_PACKED / 1e6, 1, lang)))
            packed = None
    title = plan_title(manifest, lang, n_new)
    short = (th("hl.short", lang, gain=i18n.signed_people(hd["people_gain"], ROUND["people_national"], lang), T=T,
                before=i18n.pct(hd["share_before"], 1, lang), after=i18n.pct(hd["share_after"], 1, lang))
             if "people_gain" in hd else
             th("hl.short_share", lang, T=T, before=i18n.pct(hd["share_before"], 1, lang), after=i18n.pct(hd["share_after"], 1, lang)))  # fmt: skip
    if warnings:
        short += th("hl.see_notes", lang)
    panel = panel_html(title, short, lines, warnings, notes, about([("", manifest)], lang), lang)

    markers = [(marker_symbol("new", "1"), t("legend.new", lang, T=T))]
    if n_stand_in:
        markers.append((marker_symbol("new", "7", True), t("legend.standin", lang)))
    markers += existing_legend(stations, lang)
    if moved:
        markers.append((marker_symbol("moved", "×"), t("legend.moved", lang)))
    legend = legend_html(markers, [s for s, _ in scales], lang)
    payload = {"T": T, "q": QUANTUM, "bounds": NORWAY_BOUNDS, "kommuner": kp, "kommuner_label": t("layer.kommuner", lang),
               "colors": colors, "modes": [{"key": s.key} for s, _ in scales], "areas": areas,
               "stations": stations_payload(stations, lang),
               "stations_label": t("layer.existing", lang, n=count_offices(stations)),
               "site_groups": [{"name": t("layer.new", lang, n=n_new), "key": "new", "sites": sites}]
                              + ([{"name": t("layer.moved", lang, n=len(moved)), "key": "moved", "sites": moved}] if moved else []),
               "attribution": ATTRIBUTION}  # fmt: skip
    if packed is not None:
        payload["whatif"] = packed
        # uncertainty bands of the plan's figures (when metrics.json carries them): shown beside the plan in the what-if block
        payload["bands"] = {k: {"low": float(v["low"]), "high": float(v["high"])} for k, v in hd.get("bands", {}).items()}
    return attach(map_skeleton(), payload, panel, legend, title, lang)


def map_from_run(run_dir: str | Path, lang: str | None = None) -> folium.Map:
    """Redraw the map of a run folder (``lang``: page language, default the run's)."""
    from siting.maps import whatif

    layers, metrics, manifest = read_run_layers(run_dir)
    return make_map(*(layers[n] for n in LAYERS), metrics, manifest, demand=layers.get("demand"), lang=lang,
                    whatif=whatif.load(Path(run_dir) / whatif.FILE), structure=layers.get("structure"))
