"""HTML pieces of the report: escaping, tables that scroll inside their own box, the stylesheet."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from siting.style import SITE_COLORS


def e(x) -> str:
    return html.escape(str(x))


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def table(df: pd.DataFrame, fmt: dict | None = None, cls: str = "") -> str:
    """A table (headers as given: plain words) in a box that scrolls sideways on its own on a narrow
    screen; numbers right-aligned, formatted by ``fmt`` (column → function)."""
    fmt = fmt or {}
    head = "".join(f"<th scope='col'>{e(c)}</th>" for c in df.columns)
    rows = []
    for r in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, r, strict=True):
            f = fmt.get(c)
            txt = "" if _missing(v) else (f(v) if f else v)
            num = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            cells.append(f"<td class='num'>{e(txt)}</td>" if num else f"<td>{e(txt)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="tw" tabindex="0"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')  # fmt: skip


def details(summary: str, body: str, ident: str = "") -> str:
    """A folded section ("Om beregningen")."""
    i = f" id='{e(ident)}'" if ident else ""
    return f"<details class='about'{i}><summary>{e(summary)}</summary>{body}</details>"


ACCENT = SITE_COLORS["existing"]

CSS = f"""*{{box-sizing:border-box}}
body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:0 auto;padding:1rem 1.2rem;
color:#222;line-height:1.45;overflow-wrap:break-word}}
h1{{font-size:1.6rem;margin-bottom:.2rem}}h2{{border-bottom:2px solid {ACCENT};padding-bottom:.2rem;margin-top:2rem}}
.note{{color:#555;font-size:.9rem}}.big{{font-size:1.25rem;font-weight:600;color:{ACCENT}}}.big small{{font-weight:400;color:#333}}
img{{max-width:100%;height:auto;display:block;margin:.6rem 0}}
.tw{{overflow-x:auto;max-width:100%;margin:.5rem 0}}table{{border-collapse:collapse;font-size:.85rem;width:100%}}
th,td{{border-bottom:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top}}th{{background:#f4f6fb}}
td{{overflow-wrap:break-word;min-width:3.5em}}td.num{{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums;overflow-wrap:normal}}
dl{{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:.2rem .8rem;font-size:.9rem}}
dt{{font-weight:600}}dd{{margin:0;overflow-wrap:anywhere}}
.run{{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1rem;align-items:start}}
details.about{{margin:1rem 0;border:1px solid #ddd;border-radius:4px;padding:.3rem .7rem}}details.about summary{{cursor:pointer;font-weight:600}}
.maplink{{display:inline-block;margin:.3rem 0;padding:.35rem .7rem;border:1px solid {ACCENT};border-radius:4px;color:{ACCENT};
text-decoration:none;font-weight:600}}
@media (max-width:800px){{.run{{grid-template-columns:minmax(0,1fr)}}}}
@media (max-width:500px){{body{{padding:.6rem .7rem}}h1{{font-size:1.3rem}}dl{{display:block}}dd{{margin:0 0 .4rem}}
table{{font-size:.8rem}}.big{{font-size:1.1rem}}}}"""
