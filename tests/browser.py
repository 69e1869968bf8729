"""Headless-Chromium checks of the HTML maps: script errors, legend, layout geometry, screenshots."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SIZES = {"desktop": (1400, 900), "phone": (390, 844)}

#: collects script errors, console.error calls and failed resources, before any other script runs
ERRORS = """<script>window.__errors=[];window.__resources=[];
window.addEventListener('error',function(e){if(e.target&&e.target!==window&&(e.target.src||e.target.href)){window.__resources.push(e.target.src||e.target.href);}
else{window.__errors.push(String(e.message)+' line '+e.lineno);}},true);
var __ce=console.error;console.error=function(){window.__errors.push('console.error: '+Array.prototype.join.call(arguments,' '));__ce.apply(console,arguments);};
</script>"""

#: after the map is drawn: geometry of the panel, legend, controls, Norway and the site markers
MEASURE = """<script>setTimeout(function(){
function r(el){if(!el)return null;var b=el.getBoundingClientRect();return {x:b.left,y:b.top,w:b.width,h:b.height};}
function visible(el){return !!el && el.offsetParent!==null && getComputedStyle(el).display!=='none';}
var out={errors:window.__errors,resources:window.__resources,vw:window.innerWidth,vh:window.innerHeight,xss:!!window.__xss};
try{
var S=window.sitingMap,m=S.map;
out.map=r(m.getContainer());out.panel=r(document.getElementById('siting-panel'));
out.legend=r(document.getElementById('siting-legend'));out.has_legend=!!document.getElementById('siting-legend');
var b=S.municipalities.getBounds(),nw=m.latLngToContainerPoint(b.getNorthWest()),se=m.latLngToContainerPoint(b.getSouthEast());
out.norway={x:nw.x,y:nw.y,w:se.x-nw.x,h:se.y-nw.y};
out.sites=[];document.querySelectorAll('.siting-site').forEach(function(el){if(el.closest('.siting-legend'))return;
var c=el.getBoundingClientRect(),x=c.left+c.width/2,y=c.top+c.height/2,hit=document.elementFromPoint(x,y);
out.sites.push({x:x,y:y,on_top:!!(hit&&hit.closest('.leaflet-siting-proposals-pane'))});});
var lg=document.getElementById('siting-legend');out.legend_collapsed=lg.classList.contains('siting-collapsed');
if(out.legend_collapsed){document.getElementById('siting-legend-toggle').click();}
out.legend_open=r(lg);
out.bars_on=Array.prototype.filter.call(document.querySelectorAll('.siting-legend .siting-bar'),visible).length;
m.removeLayer(S.municipalities);m.fire('overlayremove',{layer:S.municipalities});
out.bars_off=Array.prototype.filter.call(document.querySelectorAll('.siting-legend .siting-bar'),visible).length;
m.addLayer(S.municipalities);m.fire('overlayadd',{layer:S.municipalities});
}catch(e){out.errors.push('probe: '+e.message);}
if(!window.__probeTooltips){document.documentElement.setAttribute('data-probe',JSON.stringify(out));return;}
// zoom in far enough to uncluster the offices, then open every tooltip (names must show as text)
try{var cb=S.clusters.getBounds();m.setView(cb.getCenter(),10,{animate:false});}catch(e){out.errors.push('probe: '+e.message);}
setTimeout(function(){try{
m.eachLayer(function(l){if(l.getTooltip&&l.getTooltip()&&!l.feature){l.openTooltip();}});
S.municipalities.eachLayer(function(l){l.openTooltip(l.getBounds().getCenter());});
out.tooltips=document.querySelectorAll('.leaflet-tooltip').length;
out.text=document.body.innerText.slice(0,200000);out.xss=!!window.__xss;
}catch(e){out.errors.push('probe: '+e.message);}
document.documentElement.setAttribute('data-probe',JSON.stringify(out));},500);},1500);</script>"""


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        if os.environ.get("SITING_REQUIRE_BROWSER"):
            pytest.fail("SITING_REQUIRE_BROWSER is set but no Chromium was found (install the Debian package chromium)")
        pytest.skip("headless Chromium not installed (Debian package chromium)")
    return exe


def _run(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--virtual-time-budget=8000", f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def probe(page: Path, size: tuple[int, int], tmp: Path, tooltips: bool = False) -> dict:
    """Open ``page`` at ``size`` and return the measurements of ``MEASURE`` (plus errors); with
    ``tooltips``, also open every tooltip and return the page text."""
    flag = "<script>window.__probeTooltips=true</script>" if tooltips else ""
    html = page.read_text(encoding="utf-8").replace("<head>", "<head>" + ERRORS + flag, 1)
    head, sep, tail = html.rpartition("</html>")
    probed = tmp / f"probe-{size[0]}x{size[1]}-{page.name}"
    probed.write_text(head + MEASURE + sep + tail, encoding="utf-8")
    res = _run([f"--window-size={size[0]},{size[1]}", "--dump-dom", probed.as_uri()], tmp)
    mt = re.search(r'data-probe="([^"]*)"', res.stdout)
    assert mt, f"no measurements from Chromium: {res.stderr[-2000:]}"
    import html as h

    return json.loads(h.unescape(mt.group(1)))


#: headless Chromium never makes a window narrower than this: a "390 px" window is 500 px wide
MIN_WINDOW_WIDTH = 500


def framed(page: Path, size: tuple[int, int], script: str, tmp: Path) -> dict:
    """Open ``page`` in an iframe of exactly ``size`` (so a 390 px phone really is 390 px wide;
    headless Chromium clamps windows to at least :data:`MIN_WINDOW_WIDTH`) with ``script`` added
    at the end of its body; the script reports by calling ``window.__report(obj)``. Returns ``obj``
    with ``errors`` and ``resources`` (see :data:`ERRORS`). The probed copy sits beside ``page``,
    so relative links resolve as they would for the page itself."""
    inner = page.with_name(f"framed-{size[0]}x{size[1]}-{page.name}")
    report = "<script>window.__report=function(o){o.errors=window.__errors;o.resources=window.__resources;parent.postMessage(JSON.stringify(o),'*');};</script>"
    text = page.read_text(encoding="utf-8").replace("<head>", "<head>" + ERRORS + report, 1)
    head, sep, tail = text.rpartition("</body>")
    inner.write_text((head + script + sep + tail) if sep else text + script, encoding="utf-8")
    outer = tmp / f"frame-{size[0]}x{size[1]}-{page.name}"
    outer.write_text(f"<!DOCTYPE html><html><body style='margin:0'><iframe src='{inner.as_uri()}' style='border:0;width:{size[0]}px;"
                     f"height:{size[1]}px'></iframe><script>addEventListener('message',function(e){{"
                     "document.documentElement.setAttribute('data-probe',e.data);});</script></body></html>", encoding="utf-8")  # fmt: skip
    try:
        res = _run([f"--window-size={max(size[0], MIN_WINDOW_WIDTH) + 20},{size[1] + 20}", "--dump-dom", outer.as_uri()], tmp)
    finally:
        inner.unlink(missing_ok=True)
    mt = re.search(r'data-probe="([^"]*)"', res.stdout)
    assert mt, f"no measurements from Chromium: {res.stderr[-2000:]}"
    import html as h

    return json.loads(h.unescape(mt.group(1)))


def screenshot(page: Path, size: tuple[int, int], out: Path, tmp: Path) -> Path:
    _run([f"--window-size={size[0]},{size[1]}", f"--screenshot={out}", page.as_uri()], tmp)
    assert out.exists() and out.stat().st_size > 5000, "no screenshot"
    return out


def overlap(a: dict, b: dict) -> float:
    """Area of the intersection of two rectangles {x, y, w, h}."""
    w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    return max(w, 0) * max(h, 0)


def check_layout(p: dict, size_name: str) -> None:
    """The assertions every map must pass at either size."""
    assert not p["errors"], p["errors"]
    # offline test machine: only the optional OpenStreetMap background may fail to load
    assert all("tile.openstreetmap.org" in u for u in p["resources"]), p["resources"]
    assert p["has_legend"] and p["bars_on"] == 1 and p["bars_off"] == 0, (p["bars_on"], p["bars_off"])
    assert not p["xss"]
    m, panel, norway = p["map"], p["panel"], p["norway"]
    assert m["w"] == p["vw"] and m["h"] == p["vh"]
    # the summary panel leaves Norway visible: it covers < 3 % of Norway's box on screen
    assert overlap(panel, norway) < 0.03 * norway["w"] * norway["h"], (panel, norway)
    if size_name == "phone":
        assert panel["h"] < 0.12 * p["vh"], panel  # collapsed: title and headline only
        assert p["legend"]["h"] < 60, p["legend"]  # collapsed to its button
    # every site marker is visible: the topmost element at its centre is a site marker
    hidden = [s for s in p["sites"] if 0 <= s["x"] < p["vw"] and 0 <= s["y"] < p["vh"] and not s["on_top"]]
    assert not hidden, hidden
