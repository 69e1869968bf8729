"""``siting report``: Norwegian by default, no English on the nb page, plain headers, the one rank
order and colours of the map, every gap in absolute terms, a relative link to the interactive map
that survives moving the folder, and a 390 px phone without sideways scrolling (headless Chromium)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from browser import framed
from i18n_check import english_words
from test_run import fast_copy

from siting.cli import main
from siting.run import run_scenario
from siting.style import PLAN_COLORS

#: raw column keys that must never reach a reader
RAW_KEYS = ("within_T_before", "within_T_after", "max_min", "mean_min", "pop_newly", "coverage_loss", "regret_people",
            "share_of_runs", "runs_selected", "robust_core_at_p", "pop_within_T", "(grid ")  # fmt: skip

#: measures the page after load: horizontal overflow, key elements, the map link
PROBE = """<script>window.addEventListener('load',function(){var out={items:{}};
out.vw=window.innerWidth;out.scroll=document.scrollingElement.scrollWidth;
['#headline','#marginal','#frequency','#assumptions','#compare','img.map'].forEach(function(s){
var el=document.querySelector(s),b=el&&el.getBoundingClientRect();out.items[s]=b?{w:b.width,h:b.height}:null;});
out.images=Array.prototype.map.call(document.images,function(i){return i.complete&&i.naturalWidth>0;});
out.links=Array.prototype.map.call(document.querySelectorAll('a.maplink'),function(a){return a.href;});
out.lang=document.documentElement.lang;window.__report(out);});</script>"""


def render(page_path, width: int, tmp_path) -> dict:
    """Open the report at exactly ``width`` px (in a frame: headless windows are at least 500 px)."""
    p = framed(page_path, (width, 900), PROBE, tmp_path)
    assert p["vw"] == width, p["vw"]
    return p


def data_strings(*runs) -> list[str]:
    """Strings on the page that come from the data, not the catalogue: names, descriptions, files."""
    out = []
    for run in runs:
        man = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        out += [man.get(k) for k in ("description", "network", "scenario_file", "population_source", "demand_model", "model", "solver")]
        out += [str(v.get("origin") if isinstance(v, dict) else v) for v in (man.get("inputs") or {}).values()] + list(man.get("inputs") or {})
        for f in ("proposals.csv", "explain.csv"):
            if (run / f).exists():
                df = pd.read_csv(run / f)
                out += [str(x) for c in ("name", "kommune", "best_replacement_coverage", "kommuner_served") if c in df for x in df[c].dropna()]
        if (run / "efficiency.json").exists():
            e = json.loads((run / "efficiency.json").read_text(encoding="utf-8"))
            out += [s[k] for key in ("top_swaps_coverage", "top_swaps_time") for s in e[key] for k in ("remove_name", "add_name")]
    return [str(s) for s in out if s]


def test_report_nb_by_default_matches_the_map_and_fits_a_phone(decided, tmp_path):
    out = tmp_path / "share" / "rapport.html"
    out.parent.mkdir()
    assert main(["report", str(decided), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<html lang='nb'>" in page and "Kort fortalt" in page and "Regjeringens 20 nye tjenestesteder (2022–2024)" in page
    assert english_words(page, data_strings(decided)) == []
    assert not [k for k in RAW_KEYS if k in re.sub(r"<details.*?</details>", "", page, flags=re.S)]
    # the sites that add nobody within T, in words; every percentage gap with its absolute size
    ex = pd.read_csv(decided / "explain.csv")
    zero = ex[ex.pop_newly_within_T.round() <= 0]
    assert len(zero) and f"{len(zero)} av de 20 tjenestestedene gir ingen flere innbyggere innen 30 min:" in page
    assert re.search(r"\d+\u00a0% av den mulige økningen i innbyggere innen 30 min <small>\(≈ [\d\u202f]+ innbyggere eller "
                     r"\d+,\d prosentpoeng under den beste planen\)", page)  # fmt: skip
    assert re.search(r"\d+\u00a0% av den mulige reduksjonen i gjennomsnittlig kjøretid <small>\(\d+,\d\u00a0min over", page)
    # one rank order: the report's table, proposals.csv, explain.csv and the map's numbers agree
    props = pd.read_csv(decided / "proposals.csv")
    assert list(ex.site_id) == list(props.site_id) and list(ex["rank"]) == list(range(1, 21))
    table = re.search(r"<table class=\"sites\">.*?</table>", page, re.S).group(0)
    ranks_in_report = [int(r) for r in re.findall(r"<tr><td class='num'>(\d+)</td>", table)]
    assert ranks_in_report == list(range(1, 21))
    mp = (decided / "map.html").read_text(encoding="utf-8")
    sites = json.loads(re.search(r'id="siting-data">(.*?)</script>', mp, re.S).group(1))["site_groups"][0]["sites"]
    assert [s["site_id"] for s in sites] == list(props.site_id) and [s["label"] for s in sites] == [str(i) for i in range(1, 21)]

    # the interactive map travels with the page: move the whole folder, the link still resolves
    moved = shutil.move(str(out.parent), str(tmp_path / "moved"))
    page_moved = tmp_path / "moved" / "rapport.html"
    p = render(page_moved, 390, tmp_path)
    assert not p["errors"] and not p["resources"], p
    assert p["lang"] == "nb" and p["scroll"] <= 390, p["scroll"]  # no sideways scrolling on a 390 px phone
    assert len(p["links"]) == 1 and p["links"][0].startswith((tmp_path / "moved").as_uri())
    from urllib.parse import unquote, urlparse

    target = tmp_path / "moved" / unquote(urlparse(p["links"][0]).path).rsplit("/moved/", 1)[1]
    assert moved and target.exists() and 'id="siting-data"' in target.read_text(encoding="utf-8")


def test_report_in_english_on_request_and_with_uncertainty_bands(decided, tmp_path):
    run = shutil.copytree(decided, tmp_path / "run")
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    pop = metrics["national"]["before"]["population"]
    metrics["headline"]["band"] = {"share_within_T_after": {"low": 5_150_000 / pop, "high": 5_200_000 / pop}}
    (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    out = tmp_path / "report.html"
    assert main(["report", str(run), "--out", str(out), "--lang", "en"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<html lang='en'>" in page and "In short" in page and "of the attainable gain in people within 30 min" in page
    assert "add nobody within 30 min" in page and "percentage points below the best plan" in page
    assert re.search(r"<b>[\d\u202f]+ \(5\u202f150\u202f000–5\u202f200\u202f000\)</b> people", page)


def test_report_of_runs_and_a_sweep_renders_in_chromium(decided, tmp_path):
    """A run with efficiency, a run with another threshold and a sweep: one page, nothing loaded from
    outside, no console errors, the key elements visible, no English, plain headers; at 390 px the
    page does not scroll sideways (wide tables scroll inside their own box)."""
    from siting.compare import cumulative_figure, cumulative_people, districts_figure, load_demand
    from siting.scenario import load_scenario
    from siting.sweep import expand, run_sweep

    other = run_scenario(fast_copy("max-coverage-30", tmp_path, model={"type": "mclp", "threshold_minutes": 45}), tmp_path / "mc45")
    path = fast_copy("max-coverage-30", tmp_path)
    sweep = run_sweep(path, expand(load_scenario(path), [("model.threshold_minutes", [20, 30]), ("new_offices", [0, 3])]),
                      tmp_path / "sweep", jobs=1, progress=False)  # fmt: skip
    out = tmp_path / "report.html"
    assert main(["report", str(decided), str(other), str(sweep), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<script" not in page  # self-contained
    for text in ("Kort fortalt", "av den mulige økningen", "Hva hvert ekstra tjenestested gir", "Robust kjerne", "Om beregningen",
                 "innenfor 45 minutters kjøring", "innenfor 30 minutters kjøring", "Planene side om side", "Innen T med planen"):  # fmt: skip
        assert text in page, text
    sweep_names = pd.read_csv(sweep / "frequency.csv")
    data = data_strings(decided, other) + [str(x) for c in ("name", "kommune", "politidistrikt") for x in sweep_names[c]]
    data += [json.loads((sweep / "timings.json").read_text(encoding="utf-8")).get("groups", [{}])[0].get("network", "")]
    assert english_words(page, data) == []
    assert not [k for k in RAW_KEYS if k in re.sub(r"<details.*?</details>", "", page, flags=re.S)]
    for width in (1200, 390):
        p = render(out, width, tmp_path)
        assert not p["errors"] and not p["resources"], p
        for sel, box in p["items"].items():
            assert box and box["w"] > 100 and box["h"] > 20, (width, sel, box)
        assert len(p["images"]) >= 6 and all(p["images"])
        assert p["scroll"] <= width, (width, p["scroll"])

    # compare plots: one coverage panel per threshold, in the page's language; cumulative differences from the grid cells
    fig = districts_figure([decided, other])
    assert sorted(ax.get_title() for ax in fig.axes) == ["Terskel T = 30 minutter", "Terskel T = 45 minutter"]
    fig = cumulative_figure([decided, other], minutes=np.array([10.0, 30.0, 45.0]), lang="en")
    d = load_demand(other)
    w = d.population.to_numpy(float)
    by_hand = [(w[d.time_after <= x].sum() - w[d.time_before <= x].sum()) / 1000 for x in (10, 30, 45)]
    line = next(ln for ln in fig.axes[1].lines if "T = 45 min" in ln.get_label())
    assert list(line.get_ydata()) == pytest.approx(by_hand) and line.get_color() == PLAN_COLORS[1]  # plan B's colour
    assert list(cumulative_people(np.array([5.0, np.inf, 20.0]), np.array([1.0, 2.0, 4.0]), np.array([0, 5, 30]))) == [0, 1, 5]
