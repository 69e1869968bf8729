"""The decision-maker maps: structure, escaping, size, the one-map comparison, and real renders in
headless Chromium at desktop (1400×900) and phone (390×844) size with layout geometry checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from browser import SITES_PROBE, SIZES, Chromium, check_layout, zoom_in
from shapely.geometry import Point, box

from siting.cli import main
from siting.i18n import people
from siting.maps import (
    compare_people,
    make_map,
    match_sites,
    nice_step,
    robust_range,
    write_map,
)
from siting.paths import MAPS_DIR

MAX_BYTES = 2_500_000
EVIL = '<img src=x onerror="window.__xss=1">'
EVIL_SCRIPT = "</script><script>window.__xss=1</script>"


def synthetic_run(names=("Nyby", "Andreby"), points=((290000, 6750000), (285000, 6745000)), after=None, stand_in=None):
    """Synthetic run layers: two square 'municipalities', 3 stations, proposals, demand points (near Hamar)."""
    k = gpd.GeoDataFrame(
        {"kommunenummer": ["9001", "9002"], "name": [EVIL_SCRIPT, "Testvik"], "population_2022": [1000, 3000],
         "politidistrikt": ["Innlandet", "Innlandet"], "time_before": [40.0, 12.0], "time_after": [15.0, 12.0],
         "time_change": [-25.0, 0.0], "wish_status": ["asked_with_premises", "no answer"], "new_offices": [2, 0]},
        geometry=[box(280000, 6740000, 300000, 6760000), box(300000, 6740000, 320000, 6760000)], crs=25833)  # fmt: skip
    st = gpd.GeoDataFrame({"station_id": ["a", "b", "c"], "name": [EVIL, "B lensmannskontor", "C"],
                           "type": ["politistasjon", "lensmannskontor", "other"], "kommunenummer": ["9002"] * 3,
                           "politidistrikt": ["Innlandet"] * 3, "location_quality": ["exact", "locality", "locality"],
                           "location_source": ["OSM", "GeoNames place 1 (Testvik)", "GeoNames place 2"], "stand_in": [False, True, False]},
                          geometry=[Point(305000, 6745000), Point(310000, 6750000), Point(315000, 6755000)], crs=25833)  # fmt: skip
    n = len(names)
    pr = gpd.GeoDataFrame({"rank": range(1, n + 1), "site_id": [f"s{i}" for i in range(n)], "name": list(names),
                           "kommunenummer": ["9001"] * n, "kommune": ["Synthetica"] * n, "politidistrikt": ["Innlandet"] * n,
                           "source": ["synthetic"] * n, "wish_status": ["asked_with_premises"] * n,
                           "pop_served": [900.0 - 100 * i for i in range(n)], "pop_newly_covered": [100.0 + 700 * (i == 0) for i in range(n)],
                           "time_saved_pop_min": [2e4] * n, "mean_time_saved": [25.0] * n},
                          geometry=[Point(*p) for p in points], crs=25833)  # fmt: skip
    if stand_in is not None:
        pr["stand_in"] = stand_in
    cov = gpd.GeoDataFrame({"minutes": [30.0]}, geometry=[box(285000, 6742000, 318000, 6758000)], crs=25833)
    # demand: 4 points; 2 newly within 30 min in 9001
    tb = np.array([40.0, 40.0, 12.0, 12.0])
    ta = np.array([15.0, 35.0, 12.0, 12.0]) if after is None else np.asarray(after, float)
    dm = gpd.GeoDataFrame({"kommunenummer": ["9001", "9001", "9002", "9002"], "population": [600.0, 400.0, 1500.0, 1500.0],
                           "time_before": tb, "time_after": ta},
                          geometry=[Point(288000, 6748000), Point(282000, 6742000), Point(305000, 6745000), Point(315000, 6755000)],
                          crs=25833)  # fmt: skip
    w = dm.population.to_numpy()
    metrics = {"scenario": "synthetic", "threshold_minutes": 30,
               "headline": {"share_within_T_before": w[tb <= 30].sum() / w.sum(), "share_within_T_after": w[ta <= 30].sum() / w.sum(),
                            "mean_time_before": 19.0, "mean_time_after": 12.75},
               "national": {"before": {"population": float(w.sum())}}}  # fmt: skip
    manifest = {"scenario": "synthetic", "title": f"synthetic {EVIL}: {n} nye", "description": EVIL_SCRIPT,
                "network": "synthetic", "is_estimate": True, "status": "optimal", "new_sites": list(pr.site_id)}  # fmt: skip
    return {"kommuner": k, "stations": st, "proposals": pr, "coverage_before": cov, "coverage_after": cov, "demand": dm}, metrics, manifest


def write_run(folder: Path, layers: dict, metrics: dict, manifest: dict) -> Path:
    folder.mkdir(parents=True)
    for name, gdf in layers.items():
        gdf.to_file(folder / "layers.gpkg", layer=name, driver="GPKG")
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({**manifest, "scenario": folder.name, "title": ""}), encoding="utf-8")
    return folder


def single_map(tmp_path: Path, lang: str | None = None, **kw) -> tuple[Path, str]:
    layers, metrics, manifest = synthetic_run(**kw)
    dm = layers.pop("demand")
    m = make_map(*layers.values(), metrics, manifest, demand=dm, lang=lang)
    out = write_map(m, tmp_path / "map.html")
    return out, out.read_text(encoding="utf-8")


#: per language: texts every single-run map shows (threshold named, people next to percentages)
STRUCTURE = {
    "nb": ["Innen 30 min i dag", "Innen 30 min med planen", "Dagens tjenestesteder (3)", "Foreslåtte nye tjenestesteder (2)",
           "foreslått nytt tjenestested (nummer = rangering etter nye innbyggere innen 30 min)",
           "antatt plassering", "ANSLÅTTE kjøretider", "+600 innbyggere", "75,0\xa0%", "90,0\xa0%",
           "Kommunens ønske er registrert for bare 1 av 2 kommuner",
           "Nasjonalt svarte om lag 220 av 356 kommuner departementet: 33 ønsker et tjenestested",
           '<html lang="nb">', "<summary>Om beregningen</summary>"],
    "en": ["Within 30 min today", "Within 30 min with the plan", "Existing offices (3)", "Proposed new offices (2)",
           "proposed new office (number = rank by people newly within 30 min)", "stand-in",
           "ESTIMATED drive times", "+600 people", "75.0\xa0%", "90.0\xa0%", "Wishes on file for only 1 of 2 municipalities",
           "Nationally, about 220 of 356 municipalities answered the ministry: 33 want an office",
           '<html lang="en">', "<summary>About the calculation</summary>"],
}  # fmt: skip


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_map_structure_legend_headline_and_self_contained(tmp_path, lang):
    _, page = single_map(tmp_path, lang=None if lang == "nb" else lang, stand_in=[False, "Magnormoen"])  # nb: the default
    for text in ["siting-legend-template", *STRUCTURE[lang]]:
        assert text in page, text
    # one municipality layer restyled by a selector: the geometry is embedded once
    data = json.loads(re.search(r'<script type="application/json" id="siting-data">(.*?)</script>', page, re.S).group(1))
    assert len(data["kommuner"]["geom"]) == 2 and set(data["colors"]) == {"after", "before", "change", "newly"}
    assert page.count('"geom"') == 1 + len(data["areas"])
    # people newly within T per municipality from the demand points: 600 in 9001, 0 in 9002
    row = dict(zip(data["kommuner"]["fields"], data["kommuner"]["values"][0], strict=True))
    assert row[{"nb": "Nye innbyggere innen 30 min", "en": "People newly within 30 min"}[lang]] == "600"
    # existing offices at a stand-in (or approximate) position are marked
    notes = {"nb": [[0, ""], [1, "antatt plassering ved Testvik"], [0, "omtrentlig (tettsted)"]],
             "en": [[0, ""], [1, "stand-in at Testvik"], [0, "approximate (locality)"]]}
    assert [row[5:] for row in data["stations"]] == notes[lang]
    # ranks by people newly within T; a stand-in is marked
    sites = data["site_groups"][0]["sites"]
    assert [s["label"] for s in sites] == ["1", "2"] and sites[0]["title"].startswith("#1 Nyby")
    assert [s["stand_in"] for s in sites] == [False, True]
    assert [{"nb": "Antatt plassering", "en": "Stand-in"}[lang], "for Magnormoen"] in sites[1]["rows"]
    assert data["lang"] == lang and data["i18n"]["legend"] == {"nb": "Tegnforklaring", "en": "Legend"}[lang]
    # self-contained: no external or relative scripts, stylesheets or icons
    assert not re.search(r'<script src=|<link rel="stylesheet"', page)
    css = "".join(re.findall(r"<style>(.*?)</style>", page, re.S))
    assert "leaflet-control-layers-toggle" in css and "fullscreen-icon" in css and "search-button" in css
    relative = re.findall(r"url\((?![\"']?(?:data:|#))[^)]*\)", css)
    assert not relative, relative


def test_names_are_escaped_in_the_page(tmp_path):
    _, page = single_map(tmp_path)
    assert EVIL not in page and EVIL_SCRIPT not in page
    assert page.count("</script>") == page.count("<script")  # no name closes a script element
    assert "&lt;img src=x onerror=" in page  # the title, escaped, still readable


def test_robust_scale_has_round_ticks():
    assert nice_step(87) == 25 and nice_step(9) == 2.5 and nice_step(0.8) == 0.2
    change = np.r_[np.full(300, 0.0), -np.linspace(0, 12, 50), -300.0]  # one outlier
    lo, hi, step = robust_range(change[change < 0], 0.05, 1.0)
    assert hi == 0 and -20 <= lo <= -10 and lo % step == 0  # the outlier is clipped
    assert people(86_049.7, 100) == "86\u202f000"


def test_match_sites_within_a_kilometre():
    a = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(10_000, 0), Point(50_000, 0)], crs=25833)
    b = gpd.GeoDataFrame(geometry=[Point(10_400, 300), Point(0, 900), Point(80_000, 0)], crs=25833)
    assert sorted(match_sites(a, b)) == [(0, 1), (1, 0)]


def test_compare_people_gain_and_loss_by_hand():
    la, _, _ = synthetic_run()
    lb, _, _ = synthetic_run(after=[35.0, 20.0, 12.0, 12.0])
    t, pointwise = compare_people(la["demand"], lb["demand"], 30)
    assert pointwise
    assert t.loc["9001", "gain_B"] == 400 and t.loc["9001", "loss_B"] == 600  # point 2 gains, point 1 loses
    assert t.loc["9001", "within_A"] == 600 and t.loc["9001", "within_B"] == 400
    assert t.loc["9002", ["gain_B", "loss_B"]].sum() == 0


def test_one_map_comparison(tmp_path):
    a = write_run(tmp_path / "plan-a", *synthetic_run(names=("Nyby", "Andreby")))
    b = write_run(tmp_path / "plan-b", *synthetic_run(names=("Nyby2", "Fjernby"), points=((290300, 6750200), (315000, 6745000)),
                                                      after=[35.0, 20.0, 12.0, 12.0]))  # fmt: skip
    assert main(["map", str(a), "--compare", str(b), "--out", str(tmp_path / "cmp.html")]) == 0
    page = (tmp_path / "cmp.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="siting-data">(.*?)</script>', page, re.S).group(1))
    groups = {g["name"]: [s["label"] for s in g["sites"]] for g in data["site_groups"]}
    assert groups == {"I begge planene (1)": ["AB"], "Bare i A: plan-a (1)": ["A"], "Bare i B: plan-b (1)": ["B"]}
    assert "A</b> = plan-a" in page and "B</b> = plan-b" in page  # both headlines
    assert "B når <b>200</b> færre innbyggere innen 30 min enn A (400 vinner, 600 taper)" in page
    row = dict(zip(data["kommuner"]["fields"], data["kommuner"]["values"][0], strict=True))
    assert row["Vinner med B (innen 30 min bare med B)"] == "400" and row["Taper med B (innen 30 min bare med A)"] == "600"
    # the same in English
    assert main(["map", str(a), "--compare", str(b), "--out", str(tmp_path / "cmp-en.html"), "--lang", "en"]) == 0
    page_en = (tmp_path / "cmp-en.html").read_text(encoding="utf-8")
    assert "B reaches <b>200</b> fewer people within 30 min than A (400 gain, 600 lose)" in page_en
    assert '<html lang="en">' in page_en and "Only in A: plan-a (1)" in page_en
    assert EVIL not in page


def test_compare_refuses_different_thresholds(tmp_path, capsys):
    layers, metrics, manifest = synthetic_run()
    a = write_run(tmp_path / "a", layers, metrics, manifest)
    b = write_run(tmp_path / "b", layers, {**metrics, "threshold_minutes": 45}, manifest)
    assert main(["map", str(a), "--compare", str(b)]) == 2
    assert "different thresholds" in capsys.readouterr().err


def test_rerun_writes_identical_bytes(tmp_path):
    p1, _ = single_map(tmp_path / "1")
    p2, _ = single_map(tmp_path / "2")
    assert p1.read_bytes() == p2.read_bytes()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """One headless Chromium for the module's pages."""
    with Chromium(tmp_path_factory.mktemp("chromium")) as b:
        yield b


#: every tooltip and popup of the map opened in turn: the text they show
OPEN_ALL = """(function(){var m=window.sitingMap.map,text=[];
m.eachLayer(function(l){if(l.feature)return;
 if(l.getTooltip&&l.getTooltip()){l.openTooltip();text.push(document.querySelector('.leaflet-tooltip:last-child').innerText);l.closeTooltip();}
 if(l.getPopup&&l.getPopup()){l.openPopup();text.push(document.querySelector('.leaflet-popup-content').innerText);l.closePopup();}});
window.sitingMap.municipalities.eachLayer(function(l){l.openTooltip(l.getBounds().getCenter());
 text.push(document.querySelector('.leaflet-tooltip:last-child').innerText);l.closeTooltip();});
return {n:text.length,text:text.join('\\n')+'\\n'+document.body.innerText};})()"""


@pytest.mark.parametrize("size", SIZES)
def test_synthetic_map_in_chromium_escapes_names(size, tmp_path, chromium):
    path, _ = single_map(tmp_path, stand_in=[False, True])
    page = chromium.open(path, SIZES[size], mobile=size == "phone")
    check_layout(page, size)
    opened = page.eval(OPEN_ALL)
    assert opened["n"] >= 7  # 2 municipalities, 2 proposals, 3 offices
    # the names are shown as text, never run: no onerror fired, the </script> name did not blank the map
    assert EVIL in opened["text"] and EVIL_SCRIPT in opened["text"] and not page.eval("!!window.__xss")
    page.close()


SHIPPED_MAPS = sorted(MAPS_DIR.glob("*.html"))


def test_shipped_maps_are_few_and_small():
    assert 1 <= len(SHIPPED_MAPS) <= 4, [p.name for p in SHIPPED_MAPS]
    for page in SHIPPED_MAPS:
        assert page.stat().st_size <= MAX_BYTES, (page.name, page.stat().st_size)
        text = page.read_text(encoding="utf-8")
        assert "siting-legend-template" in text and "siting-data" in text
    assert (MAPS_DIR / "evaluate-plan-vs-max-coverage-30.html").exists()


#: visible controls a finger can tap that are smaller than 44 × 44 px (the attribution's text links excepted)
SMALL_TARGETS = """(function(){var out=[];
document.querySelectorAll('a[href],a[role=button],button,select,input,summary,.leaflet-marker-icon,.leaflet-control-layers-toggle').forEach(function(e){
 if(e.closest('.leaflet-control-attribution')||e.offsetParent===null)return;var b=e.getBoundingClientRect();
 if(b.width===0||b.height===0||b.bottom<0||b.top>innerHeight)return;
 if(Math.min(b.width,b.height)<43.5)out.push((e.id||e.className||e.tagName)+' '+Math.round(b.width)+'x'+Math.round(b.height));});return out;})()"""

#: a finger tap (phone) or mouse click (desktop) at the centre of a site marker: what opens
TARGET = """(function(sel,i){var e=document.querySelectorAll(sel)[i];if(e.closest('#siting-panel'))e.scrollIntoView({block:'center'});
var b=e.getBoundingClientRect();return [b.left+b.width/2,b.top+b.height/2,e.getAttribute('data-site-id')];})"""
OPENED = """(function(){function shown(sel){return Array.prototype.filter.call(document.querySelectorAll(sel),function(e){
return e.style.opacity!=='0';});}var p=shown('.leaflet-popup');
return [p.length,shown('.leaflet-tooltip').length,p.length?p[0].querySelector('.leaflet-popup-content').innerText:''];})()"""


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", SHIPPED_MAPS, ids=[p.stem for p in SHIPPED_MAPS])
def test_shipped_map_in_chromium(path, size, tmp_path, chromium):
    """Layout; no site marker overlaps another at the opening view or after zooming in two steps, none
    hidden; on a phone the sites spread over ≥ 60 % of the screen height and every tap target is
    ≥ 44 px; a tap opens one popup (no tooltip on top); the site list opens its sites."""
    phone = size == "phone"
    page = chromium.open(path, SIZES[size], mobile=phone)
    page.eval("window.sitingMap.ready")
    check_layout(page, size)
    opening = page.eval(SITES_PROBE)
    assert opening["n"] >= 20 and opening["on_screen"] == opening["n"], opening
    assert opening["hit_pairs"] == 0 and opening["disc_pairs"] == 0 and not opening["hidden"], opening
    if phone:
        assert opening["spread"] >= 0.6 and opening["hit_min"] >= 44, opening
        assert not page.eval(SMALL_TARGETS)
    # a tap (click) on the top-ranked site: one popup, no tooltip
    x, y, _ = page.eval(TARGET + "('.leaflet-siting-proposals-pane .siting-hit', 0)")
    (page.tap if phone else page.click)(x, y)
    n_popups, n_tips, text = page.eval(OPENED)
    assert (n_popups, n_tips) == (1, 0) and text, (n_popups, n_tips)
    # the site list: one entry per site, in groups (three on the comparison map); an entry opens its site
    groups = page.eval("Array.prototype.map.call(document.querySelectorAll('#siting-sites section'),function(s){"
                       "return s.querySelectorAll('[data-site-id]').length;})")
    assert sum(groups) == opening["n"] and len(groups) == (3 if "-vs-" in path.stem else 1), groups
    if phone:
        page.eval("void document.getElementById('siting-panel-toggle').click()")
        assert not page.eval(SMALL_TARGETS)  # the open sheet: list entries and buttons too
    x, y, site = page.eval(TARGET + "('#siting-sites [data-site-id]', 2)")
    (page.tap if phone else page.click)(x, y)
    n_popups, _, text = page.eval(OPENED)
    title = page.eval(f"(function(){{var e=document.querySelector('#siting-sites [data-site-id=\"{site}\"] b');return e.textContent;}})()")
    assert n_popups == 1 and title in text, (title, text)
    page.eval("void window.sitingMap.map.closePopup()")
    for _ in range(2):  # zoomed in: still no overlap
        zoom_in(page)
        z = page.eval(SITES_PROBE)
        assert z["hit_pairs"] == 0 and z["disc_pairs"] == 0, z
    if phone or "-vs-" in path.stem:  # a drawn map, not a blank page: every map on a phone, the comparison also on a desktop
        from PIL import Image

        page.eval("void window.sitingMap.fit()")
        shot = page.screenshot(tmp_path / f"{path.stem}-{size}.png")
        img = np.asarray(Image.open(shot).convert("RGB"))
        assert img.shape[:2] == SIZES[size][::-1]
        assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    page.close()


def test_kommune_table_fallback_without_demand(tmp_path):
    layers, metrics, manifest = synthetic_run()
    layers.pop("demand")
    page = write_map(make_map(*layers.values(), metrics, manifest), tmp_path / "m.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="siting-data">(.*?)</script>', page, re.S).group(1))
    assert "newly" not in data["colors"] and "People newly within 30 min" not in data["kommuner"]["fields"]
    assert pd.notna(data["colors"]["after"][0])


def test_rerun_of_shipped_scenario_elsewhere_leaves_tracked_maps_alone(tmp_path, shared_data):
    """Issue 15 C10: ``siting run scenarios/X.yaml --out elsewhere`` must not rewrite maps/*.html."""
    from siting.paths import SCENARIO_DIR

    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in MAPS_DIR.glob("*.html")}
    assert main(["run", str(SCENARIO_DIR / "evaluate-plan.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert (tmp_path / "run" / "map.html").stat().st_size <= MAX_BYTES
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in MAPS_DIR.glob("*.html")} == before


def test_crime_layer_hover_and_headline_when_the_run_has_offences(tmp_path):
    layers, metrics, manifest = synthetic_run()
    k, dm, pr = layers["kommuner"], layers["demand"], layers["proposals"]
    k["offences"], k["offences_low"], k["offences_high"] = [50.0, 120.0], [50.0, 118.0], [50.0, 122.0]
    k["offences_per_1000"] = [50.0, 40.0]
    k["offences_share_within_T_after"] = [0.8, 1.0]
    k["crime_flag"] = ["", "suppressed"]
    dm["offences"] = [30.0, 20.0, 60.0, 60.0]
    pr["offences_newly_covered"] = [30.0, 0.0]
    metrics["crime"] = {"national": {"share_offences_within_T_before": 0.706, "share_offences_within_T_after": 0.882,
                                     "offences_newly_within_T": 30.0}}  # fmt: skip
    page = write_map(make_map(k, layers["stations"], pr, layers["coverage_before"], layers["coverage_after"], metrics, manifest,
                              demand=dm, lang="en"), tmp_path / "m.html").read_text(encoding="utf-8")  # fmt: skip
    data = json.loads(re.search(r'id="siting-data">(.*?)</script>', page, re.S).group(1))
    assert "offences" in data["colors"] and "Reported offences per 1 000 inhabitants" in page
    rows = [dict(zip(data["kommuner"]["fields"], v, strict=True)) for v in data["kommuner"]["values"]]
    assert rows[0]["Offences newly within 30 min"] == "30.0"  # demand point 1 (30 offences) is newly within T
    assert rows[1]["Reported offences per year"] == "120.0 (118.0–122.0)" and rows[1]["Crime data note"] == "suppressed"
    assert rows[0]["Share of offences within 30 min with the plan"] == "80.0\xa0%"
    site = data["site_groups"][0]["sites"][0]
    assert ["Offences newly within 30 min", "30"] in site["rows"]
    assert "Reported offences within <b>30 min</b>: 70.6\xa0% → <b>88.2\xa0%</b> (<b>+30 offences a year</b>)" in page


def test_map_cli_bad_run_folders_are_one_line_errors(tmp_path, capsys):
    layers, metrics, manifest = synthetic_run()
    good = write_run(tmp_path / "good", layers, metrics, manifest)
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    damaged = write_run(tmp_path / "damaged", layers, metrics, manifest)
    (damaged / "metrics.json").write_text("{not json", encoding="utf-8")
    for args in (["map", str(tmp_path / "file.txt")], ["map", str(good), "--compare", str(tmp_path / "file.txt")],
                 ["map", str(damaged)], ["map", str(good), "--compare", str(tmp_path / "missing")]):  # fmt: skip
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("siting: error:") and "\n" not in err and "Traceback" not in err, err
    assert main(["map", str(good)]) == 0 and (good / "map.html").stat().st_size < 400_000
