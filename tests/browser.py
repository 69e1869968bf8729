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


def check_layout(page: Page, size_name: str) -> dict:
    """The assertions every map must pass at either size; returns the measurements."""
    errors, resources = page.errors()
    assert not errors, errors
    # offline test machine: only the optional OpenStreetMap background may fail to load
    assert all("tile.openstreetmap.org" in u for u in resources), resources
    p = page.eval(LAYOUT_PROBE)
    assert not p["errors"], p["errors"]
    assert p["has_legend"] and p["bars_on"] == 1 and p["bars_off"] == 0, (p["bars_on"], p["bars_off"])
    assert not p["xss"]
    m, panel, vw, vh = p["map"], p["panel"], p["vw"], p["vh"]
    if size_name == "phone":
        # the map fills the width above the bottom sheet, which shows the title and headline only
        assert m["w"] == vw and m["y"] == 0 and abs(m["y"] + m["h"] - panel["y"]) <= 1, (m, panel)
        assert panel["h"] < 0.12 * vh and panel["y"] + panel["h"] == vh, panel
        assert p["legend"]["h"] < 60, p["legend"]  # collapsed to its button
    else:
        # the panel is a column beside the map: it hides nothing of it
        assert panel["x"] == 0 and abs(panel["w"] - m["x"]) <= 1 and m["x"] + m["w"] == vw and m["h"] == vh, (m, panel)
    return p


#: after the map is drawn: map, panel, legend, the colour bars with the municipality layer on and off
LAYOUT_PROBE = """(function(){
function r(el){if(!el)return null;var b=el.getBoundingClientRect();return {x:b.left,y:b.top,w:b.width,h:b.height};}
function visible(el){return !!el && el.offsetParent!==null && getComputedStyle(el).display!=='none';}
var out={errors:[],vw:innerWidth,vh:innerHeight,xss:!!window.__xss};
try{var S=window.sitingMap,m=S.map;
out.map=r(m.getContainer());out.panel=r(document.getElementById('siting-panel'));
var lg=document.getElementById('siting-legend');out.has_legend=!!lg;out.legend=r(lg);
out.legend_collapsed=lg.classList.contains('siting-collapsed');
if(out.legend_collapsed){document.getElementById('siting-legend-toggle').click();}
out.bars_on=Array.prototype.filter.call(document.querySelectorAll('.siting-legend .siting-bar'),visible).length;
m.removeLayer(S.municipalities);m.fire('overlayremove',{layer:S.municipalities});
out.bars_off=Array.prototype.filter.call(document.querySelectorAll('.siting-legend .siting-bar'),visible).length;
m.addLayer(S.municipalities);m.fire('overlayadd',{layer:S.municipalities});
if(out.legend_collapsed){document.getElementById('siting-legend-toggle').click();}
}catch(e){out.errors.push('probe: '+e.message);}
return out;})()"""


# --- one Chromium, many pages: the DevTools protocol over a pipe (no websocket library needed) ---------------
class Chromium:
    """A headless Chromium driven through the DevTools protocol on ``--remote-debugging-pipe``
    (file descriptors 3 and 4, messages separated by NUL). One process serves many pages, so a test
    module launches Chromium once. Phone pages are emulated as mobile with touch input.

    >>> with Chromium(tmp) as b:  # doctest: +SKIP
    ...     page = b.open(path, SIZES["phone"], mobile=True)
    ...     page.eval("window.sitingMap.plan()")
    """

    def __init__(self, tmp: Path):
        exe = chromium()
        self._profile = tmp / "cdp-profile"
        r_in, w_in = os.pipe()  # Chromium reads commands on fd 3
        r_out, w_out = os.pipe()  # and writes answers on fd 4

        def fds():  # in the child: the pipe ends on 3 and 4, inheritable
            a, b = os.dup(r_in), os.dup(w_out)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--remote-debugging-pipe", "--no-first-run", f"--user-data-dir={self._profile}", "about:blank"],
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(r_in)
        os.close(w_out)
        self._w = os.fdopen(w_in, "wb", buffering=0)
        self._r = os.fdopen(r_out, "rb", buffering=0)
        self._buf = b""
        self._id = 0

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        import select
        import time

        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}, **({"sessionId": session} if session else {})}
        self._w.write(json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buf:
                if not select.select([self._r], [], [], max(end - time.monotonic(), 0))[0]:
                    raise TimeoutError(f"Chromium did not answer {method} within {timeout} s")
                chunk = self._r.read(1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the pipe")
                self._buf += chunk
            raw, self._buf = self._buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]

    def open(self, page: Path, size: tuple[int, int], mobile: bool = False, ready: str = "window.sitingMap") -> Page:
        """Load ``page`` in a new tab of ``size`` (CSS pixels); script errors, ``console.error`` and
        failed resources are collected from before the first script runs; waits until ``ready`` is truthy."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        p = Page(self, target, session)
        p.send("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile})
        if mobile:
            p.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
            p.send("Emulation.setEmitTouchEventsForMouse", {"enabled": True, "configuration": "mobile"})
        p.send("Page.addScriptToEvaluateOnNewDocument", {"source": ERRORS.removeprefix("<script>").removesuffix("</script>")})
        p.send("Page.enable")
        p.send("Page.navigate", {"url": Path(page).resolve().as_uri()})
        p.wait(f"document.readyState === 'complete' && !!({ready})")
        return p

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self._profile, ignore_errors=True)


class Page:
    """One tab of :class:`Chromium`."""

    def __init__(self, browser: Chromium, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session

    def send(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        return self.browser.send(method, params, self.session, timeout)

    def eval(self, expression: str, timeout: float = 60):
        """The value of a JavaScript expression (promises are awaited); a script error raises."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise AssertionError(f"script error: {d.get('exception', {}).get('description') or d.get('text')}")
        return r["result"].get("value")

    def wait(self, condition: str, timeout: float = 30) -> None:
        import time

        end = time.monotonic() + timeout
        while not self.eval(f"!!({condition})"):
            if time.monotonic() > end:
                raise TimeoutError(f"page never met {condition!r}")
            time.sleep(0.05)

    def errors(self) -> tuple[list, list]:
        """(script errors and console.error calls, failed resources) so far."""
        return self.eval("[window.__errors, window.__resources]")

    def tap(self, x: float, y: float) -> None:
        """A finger tap at (x, y) CSS pixels (touch start and end, as a phone sends them)."""
        pt = [{"x": x, "y": y, "radiusX": 5, "radiusY": 5, "force": 1, "id": 1}]
        self.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": pt})
        self.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    def click(self, x: float, y: float) -> None:
        """A mouse move to (x, y) and a left click there."""
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, out: Path) -> Path:
        import base64

        out.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"]))
        return out

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})


#: site markers on screen: overlapping pairs (tap boxes and drawn discs), markers not topmost at their
#: centre, the vertical spread of the markers on screen as a share of the window height, the map's zoom
SITES_PROBE = """(function(){
var S=window.sitingMap,m=S.map;
function boxes(sel){return [].slice.call(document.querySelectorAll('.leaflet-siting-proposals-pane '+sel)).map(function(e){return e.getBoundingClientRect();});}
function pairs(r){var n=0;for(var i=0;i<r.length;i++)for(var j=i+1;j<r.length;j++){
 var w=Math.min(r[i].right,r[j].right)-Math.max(r[i].left,r[j].left),h=Math.min(r[i].bottom,r[j].bottom)-Math.max(r[i].top,r[j].top);
 if(w>0.5&&h>0.5)n++;}return n;}
var hit=boxes('.siting-hit'),disc=boxes('.siting-site'),vh=innerHeight,ys=[],hidden=[],c=m.getContainer().getBoundingClientRect();
disc.forEach(function(b,i){var x=b.left+b.width/2,y=b.top+b.height/2;if(x<c.left||y<c.top||x>c.right||y>c.bottom)return;ys.push(y);
 var el=document.elementFromPoint(x,y);if(!(el&&el.closest('.leaflet-siting-proposals-pane')))hidden.push([Math.round(x),Math.round(y)]);});
return {n:disc.length,hit_pairs:pairs(hit),disc_pairs:pairs(disc),hidden:hidden,on_screen:ys.length,
 spread:ys.length?(Math.max.apply(null,ys)-Math.min.apply(null,ys))/vh:0,zoom:m.getZoom(),
 hit_min:hit.length?Math.min.apply(null,hit.map(function(b){return Math.min(b.width,b.height);})):null};})()"""


def zoom_in(page: Page, steps: int = 1) -> None:
    """Zoom the map in by ``steps`` levels around its centre and wait until the markers are placed."""
    page.eval(f"new Promise(function(res){{var m=window.sitingMap.map;m.once('zoomend',function(){{setTimeout(res,50);}});"
              f"m.setZoom(m.getZoom()+{steps},{{animate:false}});}})")
