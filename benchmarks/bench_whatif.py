"""What-if in the page: time per evaluation in headless Chromium, on the shipped national maps.

    python benchmarks/bench_whatif.py [map.html ...]   (default: the what-if maps in maps/)

Per map: the page's size and what-if data, the time to unpack the data at load, and per set of 20
sites (the plan with one site swapped for a random candidate) the time of ``sitingMap.evaluate``
(the figures nationally and per police district) and of ``sitingMap.choose`` (the figures plus
the panel, markers and list redrawn) — median and 95th percentile over the runs. The page's target
is 100 ms per change. The machine is shared: repeat and report ranges.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from browser import Chromium  # noqa: E402  (the tests' DevTools-protocol driver)

from siting.paths import MAPS_DIR  # noqa: E402

TIMES = """(function(n){var S=window.sitingMap,c=S.candidates(),p=S.plan(),ev=[],ch=[];
for(var i=0;i<n;i++){var s=p.slice();s[i%s.length]=c[(i*7919)%c.length];
 var t0=performance.now();S.evaluate(s);ev.push(performance.now()-t0);
 t0=performance.now();S.choose(s);ch.push(performance.now()-t0);}
S.choose(p);function q(a,f){a=a.slice().sort(function(x,y){return x-y;});return a[Math.min(a.length-1,Math.floor(f*a.length))];}
return {evaluate:[q(ev,0.5),q(ev,0.95)],choose:[q(ch,0.5),q(ch,0.95)]};})"""


def main() -> None:
    pages = [Path(p) for p in sys.argv[1:]] or [p for p in sorted(MAPS_DIR.glob("*.html")) if '"whatif":' in p.read_text(encoding="utf-8")]
    with tempfile.TemporaryDirectory() as tmp, Chromium(Path(tmp)) as browser:
        for path in pages:
            text = path.read_text(encoding="utf-8")
            data = re.search(r'"whatif":"([^"]*)"', text)
            for size, mobile in (((1400, 900), False), ((390, 844), True)):
                page = browser.open(path, size, mobile=mobile)
                load = page.eval("window.sitingMap.ready.then(function(){return window.sitingMap.loadMs;})")
                r = page.eval(TIMES + "(200)")
                print(f"{path.name:<40s} {size[0]}x{size[1]}: page {len(text.encode()) / 1e6:.2f} MB (what-if {len(data.group(1)) / 1e6:.2f} MB), "
                      f"evaluate median {r['evaluate'][0]:.2f} ms (p95 {r['evaluate'][1]:.2f}), "
                      f"with redraw median {r['choose'][0]:.1f} ms (p95 {r['choose'][1]:.1f}); unpacking the data and the first figures {load:.0f} ms")  # fmt: skip
                page.close()


if __name__ == "__main__":
    main()
