"""``siting report RUN_OR_SWEEP... --out report.html``: one page for a decision-maker.

Reads run folders (``siting run``) and sweep folders (``siting sweep``) — never solves again — and
writes one HTML file with everything inlined (figures as PNG data URIs, no scripts, no external
resources), so it can be mailed, archived and opened offline, in Norwegian by default (``lang``):

* the result of each run in plain words: people within T and how many more than today, minutes,
  offences within T, the plan's efficiency with the absolute gap to the best plan, the sites that
  bring nobody new within T;
* a map per run on the one visual language of :mod:`siting.style` (the new offices as the red,
  numbered discs of the interactive map, in the same rank order) and a link to the run's
  interactive map, copied into ``<report>-kart/`` beside the page so the link still works after
  the folder is moved or zipped;
* the new sites with what each buys (``explain.csv``) and, for evaluated plans, the efficiency
  against the optimum with the best swaps (``efficiency.json``);
* from sweeps: the marginal curve, the robust core, Pareto frontiers;
* runs side by side (with two or more runs), with plain column headers;
* from explain folders (``siting explain --criteria/--revealed``): the ledger of what each criterion
  buys and costs, and the weights a given plan implicitly valued (:mod:`~siting.report.criteria`);
* the calculation behind every number (model, solver, network, files), folded under "Om beregningen".

Modules: :mod:`~siting.report.load` (folders), :mod:`~siting.report.runs` and
:mod:`~siting.report.sweep` (sections), :mod:`~siting.report.figures`, :mod:`~siting.report.page`.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from urllib.parse import quote

from siting import i18n
from siting.errors import SitingError
from siting.i18n import Lang, t, th
from siting.io import atomic_path, atomic_write_text, html_by_siting, mark_html
from siting.report.criteria import folder_sections
from siting.report.figures import map_figure
from siting.report.load import Criteria, Run, Sweep, load_source
from siting.report.page import CSS, e
from siting.report.runs import (
    about_section,
    compare_section,
    efficiency_section,
    headline_text,
    sites_section,
)
from siting.report.sweep import sweep_section

__all__ = ["Criteria", "Run", "Sweep", "build_report", "load_source", "map_folder", "write_report"]


def _municipalities():
    from siting.data import load_kommuner

    return load_kommuner()


def map_folder(out: Path) -> Path:
    """Where the report keeps copies of the runs' interactive maps: ``<stem>-kart/`` beside it."""
    return out.with_name(f"{out.stem}-kart")


def report_lang(items, lang: str | None) -> Lang:
    """``lang`` if given, else the first run's (or sweep's) language, else nb."""
    if lang:
        return i18n.lang_of(lang)
    for it in items:
        meta = it.manifest if isinstance(it, Run) else it.meta  # a sweep's or an explain folder's
        if meta.get("language"):
            return i18n.lang_of(meta["language"])
    return i18n.DEFAULT_LANG


def build_report(sources: list[str | Path], title: str | None = None, lang: str | None = None,
                 map_links: dict[str, str] | None = None) -> str:  # fmt: skip
    """The report page (HTML text) for run and sweep folders.

    ``map_links``: per run folder (as given), the link (relative to the page) to its interactive
    map; without one the page names the map's file instead.
    """
    items = [load_source(s) for s in sources]
    if not items:
        raise SitingError("give at least one run or sweep folder")
    lang = report_lang(items, lang)
    runs = [i for i in items if isinstance(i, Run)]
    sweeps = [i for i in items if isinstance(i, Sweep)]
    links = {str(Path(k)): v for k, v in (map_links or {}).items()}
    geo = _municipalities()
    title = title or (runs[0].title(lang) if len(runs) == 1 and not sweeps else t("r.title", lang))
    body = [f"<h1>{e(title)}</h1><p class='note'>{e(t('r.intro', lang, runs=len(runs), sweeps=len(sweeps), date=date.today().isoformat()))}</p>"]
    if runs:
        body.append(f"<section id='headline'><h2>{e(t('r.in_short', lang))}</h2>" + "".join(headline_text(r, lang) for r in runs) + "</section>")
    for r in runs:
        link = links.get(str(r.path))
        maplink = (f"<p><a class='maplink' href='{e(link)}'>{e(t('r.map_link', lang))}</a></p>" if link else
                   f"<p class='note'>{th('r.map_file', lang, file=str(r.path / 'map.html'))}</p>")  # fmt: skip
        body.append(f"<section class='runsec' id='run-{e(r.name)}'><h2>{e(r.title(lang))}</h2><div class='run'>"
                    f"<div><img class='map' alt='{e(t('r.alt.map', lang, name=r.title(lang)))}' src='{map_figure(r, geo, lang)}'>{maplink}</div>"
                    f"<div>{efficiency_section(r, lang)}</div></div>{sites_section(r, lang)}</section>")  # fmt: skip
    for s in sweeps:
        body.append(sweep_section(s, geo, lang))
    for c in (i for i in items if isinstance(i, Criteria)):
        body.append(folder_sections(c.path, lang))
    if len(runs) > 1:
        body.append(compare_section(runs, lang))
    body.append(about_section(runs, sweeps, lang))
    return (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>")  # fmt: skip


def write_report(sources: list[str | Path], out: str | Path, title: str | None = None, lang: str | None = None) -> Path:
    """Write the report to ``out`` and copy each run's interactive map into ``<stem>-kart/`` beside
    it (``<run folder name>.html``), linked relatively, so the page and its maps move together."""
    out = Path(out)
    folder = map_folder(out)
    links, copies = {}, []
    for s in sources:
        src = Path(s) / "map.html"
        if (Path(s) / "manifest.json").exists() and src.exists():
            name = Path(s).resolve().name
            while any(dst.name == f"{name}.html" for _, dst in copies):  # two run folders with one name
                name += "-2"
            copies.append((src, folder / f"{name}.html"))
            if copies[-1][1].exists() and not html_by_siting(copies[-1][1]):
                raise SitingError("exists and was not written by siting; choose another --out (the report copies the "
                                  "runs' maps beside it)", path=copies[-1][1])  # fmt: skip
            links[str(Path(s))] = quote(f"{folder.name}/{name}.html")
    page = build_report(sources, title, lang, links)
    if copies:
        folder.mkdir(parents=True, exist_ok=True)
        for src, dst in copies:
            with atomic_path(dst) as tmp:
                shutil.copyfile(src, tmp)
    atomic_write_text(out, mark_html(page))
    return out
