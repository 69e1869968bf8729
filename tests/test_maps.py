"""The decision-maker map: HTML structure, and a real headless-Chromium render."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from siting.maps import make_map, write_map


@pytest.fixture
def synthetic_layers():
    """Synthetic run layers (two square 'municipalities', 3 stations, 2 proposals) near Hamar."""
    k = gpd.GeoDataFrame(
        {"kommunenummer": ["9001", "9002"], "name": ["Synthetica", "Testvik"], "population_2022": [1000, 3000],
         "politidistrikt": ["Innlandet", "Innlandet"], "time_before": [40.0, 12.0], "time_after": [15.0, 12.0],
         "time_change": [-25.0, 0.0], "wish_status": ["asked_with_premises", "no answer"], "offers_premises": [True, False]},
        geometry=[box(280000, 6740000, 300000, 6760000), box(300000, 6740000, 320000, 6760000)], crs=25833)  # fmt: skip
    st = gpd.GeoDataFrame({"station_id": ["a", "b", "c"], "name": ["A politistasjon", "B lensmannskontor", "C"],
                           "type": ["politistasjon", "lensmannskontor", "other"], "politidistrikt": ["Innlandet"] * 3},
                          geometry=[Point(305000, 6745000), Point(310000, 6750000), Point(315000, 6755000)], crs=25833)  # fmt: skip
    pr = gpd.GeoDataFrame({"rank": [1, 2], "name": ["Nyby", "Andreby"], "kommunenummer": ["9001", "9001"], "kommune": ["Synthetica"] * 2,
                           "politidistrikt": ["Innlandet"] * 2, "pop_newly_covered": [800.0, 100.0], "time_saved_pop_min": [2e4, 1e3],
                           "mean_time_saved": [25.0, 10.0], "wish_status": ["asked_with_premises"] * 2},
                          geometry=[Point(290000, 6750000), Point(285000, 6745000)], crs=25833)  # fmt: skip
    cov = gpd.GeoDataFrame({"minutes": [30.0]}, geometry=[box(285000, 6742000, 318000, 6758000)], crs=25833)
    metrics = {"threshold_minutes": 30, "headline": {"share_within_T_before": 0.75, "share_within_T_after": 1.0,
                                                     "mean_time_before": 19.0, "mean_time_after": 12.75}}  # fmt: skip
    manifest = {"scenario": "synthetic", "title": "synthetic: 2 new police offices", "network": "synthetic", "is_estimate": True,
                "status": "optimal", "new_sites": ["x", "y"]}  # fmt: skip
    return k, st, pr, cov, cov, metrics, manifest


def test_map_structure(synthetic_layers, tmp_path):
    m = make_map(*synthetic_layers)
    out = write_map(m, tmp_path / "map.html")
    html = out.read_text(encoding="utf-8")
    for layer in ("Drive time before", "Drive time after", "Change in drive time", "Within T before", "Within T after",
                  "Existing offices (3)", "Proposed new offices (2)", "OpenStreetMap basemap", "Plain (offline)"):  # fmt: skip
        assert layer in html, layer
    assert html.count("L.circleMarker(") == 3 and html.count("siting-proposal") == 2
    assert "Drive time to nearest office (min)" in html  # legend
    assert "ESTIMATED drive times" in html and "synthetic: 2 new police offices" in html
    # self-contained: no external scripts or stylesheets
    assert not re.search(r'<script src="https?://', html) and not re.search(r'<link rel="stylesheet" href="https?://', html)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_map_renders_in_headless_chromium(synthetic_layers, tmp_path):
    exe = _chromium()
    if exe is None:
        if os.environ.get("SITING_REQUIRE_BROWSER"):
            pytest.fail("SITING_REQUIRE_BROWSER is set but no Chromium was found (install the Debian package chromium)")
        pytest.skip("headless Chromium not installed (Debian package chromium)")
    m = make_map(*synthetic_layers)
    page = write_map(m, tmp_path / "map.html").read_text(encoding="utf-8")
    # collect JavaScript errors into the DOM so --dump-dom shows them
    probe = ("<script>window.__errors=[];window.addEventListener('error',function(e){window.__errors.push(String(e.message));"
             "document.documentElement.setAttribute('data-js-errors',window.__errors.join('|'));});</script>")  # fmt: skip
    page = page.replace("<head>", "<head>" + probe, 1)
    (tmp_path / "probe.html").write_text(page, encoding="utf-8")
    res = subprocess.run(
        [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=8000",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", (tmp_path / "probe.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    dom = res.stdout
    assert "leaflet-container" in dom, res.stderr[-2000:]
    errors = re.search(r'<html[^>]*data-js-errors="([^"]*)"', dom)
    assert errors is None, errors.group(1)
    assert dom.count("siting-proposal") >= 2  # numbered proposal markers rendered
    assert "leaflet-interactive" in dom  # polygons / circle markers drawn
    assert "Drive time to nearest office" in dom  # legend rendered
