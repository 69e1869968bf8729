"""``siting report RUN_OR_SWEEP... --out report.html``: one self-contained page for a decision-maker.

Reads run folders (``siting run``) and sweep folders (``siting sweep``) — never solves again — and
writes one HTML file with everything inlined (figures as PNG data URIs, no scripts, no external
resources), so it can be mailed, archived and opened offline:

* headline numbers in plain words per run: people within T, minutes, offences within T;
* a map per run (municipalities by mean drive time, today's offices, the new sites);
* the new sites with what each buys (``explain.csv``) and, for evaluated plans, the plan's
  efficiency against the optimum with the best swaps (``efficiency.json``);
* from sweeps: the marginal curve (one coverage panel per threshold), the selection frequency
  (robust core) as a table and a map, Pareto frontiers when weights were varied;
* the assumptions behind every number.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from siting.errors import SitingError
from siting.io import atomic_write_text


def _people(v) -> str:
    from siting.i18n import people

    return people(v, 10, "en")


def _pct(x, digits: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f} %"


def _e(x) -> str:
    return html.escape(str(x))


@dataclass
class Run:
    path: Path
    metrics: dict
    manifest: dict
    kommuner: pd.DataFrame
    proposals: pd.DataFrame
    explain: pd.DataFrame | None
    efficiency: dict | None
    demand: pd.DataFrame | None

    @property
    def name(self) -> str:
        return self.manifest["scenario"]


@dataclass
class Sweep:
    path: Path
    meta: dict
    runs: pd.DataFrame
    frequency: pd.DataFrame | None
    frequency_kommuner: pd.DataFrame | None
    marginal: pd.DataFrame | None
    pareto: pd.DataFrame | None
    timings: dict

    @property
    def name(self) -> str:
        return f"sweep of {self.meta['scenario']}"


def _csv(path: Path, **kw) -> pd.DataFrame | None:
    return pd.read_csv(path, **kw) if path.exists() else None


def load_source(path: str | Path) -> Run | Sweep:
    """A run folder or a sweep folder."""
    from siting.compare import load_demand, load_run

    path = Path(path)
    if (path / "sweep.json").exists():
        return Sweep(path, json.loads((path / "sweep.json").read_text(encoding="utf-8")), pd.read_csv(path / "runs.csv"),
                     _csv(path / "frequency.csv", dtype={"kommunenummer": str, "robust_core_at_p": str}),
                     _csv(path / "frequency_kommuner.csv", dtype={"kommunenummer": str, "robust_core_at_p": str}), _csv(path / "marginal.csv"),
                     _csv(path / "pareto.csv"), json.loads((path / "timings.json").read_text(encoding="utf-8")))  # fmt: skip
    if not (path / "manifest.json").exists():
        raise SitingError("not a run folder (manifest.json) or a sweep folder (sweep.json)", path=path)
    metrics, manifest, kommuner = load_run(path)
    eff = json.loads((path / "efficiency.json").read_text(encoding="utf-8")) if (path / "efficiency.json").exists() else None
    return Run(path, metrics, manifest, kommuner, pd.read_csv(path / "proposals.csv", dtype={"kommunenummer": str}),
               _csv(path / "explain.csv"), eff, load_demand(path))  # fmt: skip


# ------------------------------------------------------------------------------------------- figures
def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _municipalities():
    from siting.data import load_kommuner

    return load_kommuner()


def map_figure(run: Run, kommuner_geo) -> str:
    """Municipalities by mean drive time with the plan, today's offices (grey) and new sites (red, ranked)."""
    import geopandas as gpd

    plt = _plt()
    layers = run.path / "layers.gpkg"
    fig, ax = plt.subplots(figsize=(6.2, 7.5))
    k = kommuner_geo.merge(run.kommuner[["kommunenummer", "time_after"]], on="kommunenummer", how="left")
    k.plot(column="time_after", ax=ax, cmap="YlOrRd", vmin=0, vmax=60, linewidth=0.1, edgecolor="#888", legend=True,
           legend_kwds={"label": "mean minutes to the nearest office (with the plan)", "shrink": 0.6},
           missing_kwds={"color": "#eee"})  # fmt: skip
    if layers.exists():
        st = gpd.read_file(layers, layer="stations")
        ax.scatter(st.geometry.x, st.geometry.y, s=4, c="#555", label="today's offices", zorder=3)
    if len(run.proposals):
        p = run.proposals
        ax.scatter(p["x"], p["y"], s=110, marker="*", c="#1f3fbf", edgecolor="white", linewidth=0.6, label="new offices", zorder=4)
        for r in p.itertuples(index=False):
            ax.annotate(str(r.rank), (r.x, r.y), xytext=(3, 3), textcoords="offset points", fontsize=6, color="#1f3fbf")
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title(run.manifest.get("title", run.name), fontsize=9)
    return _png(fig)


def marginal_figure(sweep: Sweep) -> str:
    """People within T against p, one panel per threshold (never one coverage axis for different
    thresholds), and mean drive time against p; one line per combination of the other parameters."""
    plt = _plt()
    m = sweep.marginal
    tcol = "model.threshold_minutes" if "model.threshold_minutes" in m else None
    others = [c for c in sweep.meta["varied"] if c not in ("new_offices", tcol) and c in m]
    thresholds = sorted(m[tcol].unique()) if tcol else [None]
    fig, axes = plt.subplots(1, len(thresholds) + 1, figsize=(4.2 * (len(thresholds) + 1), 3.8), squeeze=False)
    groups = m.groupby(others, sort=True) if others else [((), m)]
    for key, g in groups:
        label = ", ".join(f"{o.split('.')[-1]} {v}" for o, v in zip(others, key if isinstance(key, tuple) else (key,), strict=True)) or "runs"
        for i, T in enumerate(thresholds):
            gt = g[g[tcol] == T] if tcol else g
            gt = gt.sort_values("p")
            axes[0, i].plot(gt["p"], 100 * gt["share_within_T"], marker="o", ms=3, label=label)
            axes[0, -1].plot(gt["p"], gt["mean_time"], marker="o", ms=3, label=f"{label}, T {T:g}" if tcol else label)
    for i, T in enumerate(thresholds):
        axes[0, i].set_title(f"within {T:g} min" if T is not None else "within T")
        axes[0, i].set_ylabel("% of population")
    axes[0, -1].set_title("mean drive time")
    axes[0, -1].set_ylabel("minutes")
    for ax in axes[0]:
        ax.set_xlabel("new offices (p)")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def frequency_figure(sweep: Sweep, kommuner_geo) -> str:
    """Candidates chosen in the sweep, sized by the share of runs that chose them; robust core in blue."""
    plt = _plt()
    f = sweep.frequency
    fig, ax = plt.subplots(figsize=(6.2, 7.5))
    kommuner_geo.plot(ax=ax, color="#f2f2f2", edgecolor="#bbb", linewidth=0.1)
    core = f["robust_core_at_p"].notna() & f["robust_core_at_p"].astype(str).ne("")
    ax.scatter(f.x[~core], f.y[~core], s=8 + 160 * f.share_of_runs[~core], c="#e07b39", alpha=0.7, label="chosen in some runs")
    ax.scatter(f.x[core], f.y[core], s=8 + 160 * f.share_of_runs[core], c="#1f3fbf", alpha=0.8, label="robust core (every run at some p)")
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title("Selection frequency across the sweep (size = share of runs)", fontsize=9)
    return _png(fig)


def pareto_figure(sweep: Sweep) -> str:
    plt = _plt()
    p = sweep.pareto
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(p.mean_time, 100 * p.share_within_T, c=np.where(p.pareto, "#1f3fbf", "#bbb"), s=18)
    front = p[p.pareto].sort_values("mean_time")
    ax.plot(front.mean_time, 100 * front.share_within_T, color="#1f3fbf", lw=1, label="Pareto frontier")
    ax.set_xlabel("mean drive time (min)")
    ax.set_ylabel("% of population within T")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


# ------------------------------------------------------------------------------------------- text
def _offences(run: Run) -> dict | None:
    """Offences within T today and with the plan, from the run's demand points."""
    d = run.demand
    if d is None:
        return None
    off = d["offences"].to_numpy(float) if "offences" in d else None
    if off is None:
        try:
            from siting.crime import spread_offences
            from siting.data.crime import load_offences

            off = spread_offences(d, load_offences())[0]["offences"].to_numpy(float)
        except (ImportError, SitingError, OSError):
            return None
    T = float(run.metrics["threshold_minutes"])
    res = {"total": float(off.sum())}
    for key in ("time_before", "time_after"):
        t = d[key].to_numpy(float)
        res[key] = float(off[np.isfinite(t) & (t <= T)].sum())
    return res


def headline_text(run: Run) -> str:
    """The run's result in plain words."""
    h, m, man = run.metrics["headline"], run.metrics, run.manifest
    T = m["threshold_minutes"]
    pop = m["national"]["before"]["population"]
    n = len(man["new_sites"])
    within_b, within_a = h["share_within_T_before"] * pop, h["share_within_T_after"] * pop
    what = "the plan evaluated" if man["model"] == "evaluate" else f"{man['model']} ({man['status']})"
    s = [f"<p><b>{_e(run.name)}</b> — {n} new offices, {_e(what)}.</p><ul>"]
    s.append(f"<li><b>{_people(within_a)}</b> people ({_pct(h['share_within_T_after'])}) would live within {T:g} minutes' "
             f"drive of a police office: <b>{_people(within_a - within_b)}</b> more than today ({_pct(h['share_within_T_before'])}).</li>")  # fmt: skip
    s.append(f"<li>Average drive time to the nearest office: <b>{h['mean_time_after']:.1f} minutes</b> "
             f"(today {h['mean_time_before']:.1f}); the slowest 10 % wait more than {h['p90_after']:.0f} minutes "
             f"(today {h['p90_before']:.0f}).</li>")  # fmt: skip
    off = _offences(run)
    if off:
        s.append(f"<li>Reported offences within {T:g} minutes: <b>{_people(off['time_after'])}</b> of {_people(off['total'])} a year "
                 f"({_pct(off['time_after'] / off['total'])}), {_people(off['time_after'] - off['time_before'])} more than today "
                 "(SSB 08487, spread over each municipality by population).</li>")  # fmt: skip
    if run.efficiency:
        e = run.efficiency
        s.append(f"<li>This plan reaches <b>{_pct(e['coverage_efficiency'], 0)}</b> of the gain in people within {T:g} minutes "
                 f"and <b>{_pct(e['mean_time_efficiency'], 0)}</b> of the cut in mean drive time that the best {e['p']} offices "
                 "would achieve.</li>")  # fmt: skip
    if man.get("is_estimate"):
        s.append("<li><b>Drive times are estimated</b> (straight line; no road network was available).</li>")
    s.append("</ul>")
    return "\n".join(s)


def _table(df: pd.DataFrame, fmt: dict | None = None, cls: str = "") -> str:
    fmt = fmt or {}
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for r in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, r, strict=True):
            f = fmt.get(c)
            txt = f(v) if f and v is not None and not (isinstance(v, float) and np.isnan(v)) else ("" if v is None or (isinstance(v, float) and np.isnan(v)) else v)
            num = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            cells.append(f"<td class='num'>{_e(txt)}</td>" if num else f"<td>{_e(txt)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="tw"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _top3(text: str) -> str:
    """``A 2,087; B 1,289; C 989; D 886`` → ``A 2 090, B 1 290, C 990 (+1 more)``."""
    parts = [p.strip() for p in str(text).split(";") if p.strip()]
    out = []
    for p in parts[:3]:
        name, _, num = p.rpartition(" ")
        try:
            out.append(f"{name} {_people(float(num.replace(',', '')))}")
        except ValueError:
            out.append(p)
    return ", ".join(out) + (f" (+{len(parts) - 3} more)" if len(parts) > 3 else "")


def sites_section(run: Run) -> str:
    if run.explain is None or not len(run.explain):
        return ""
    ex = run.explain
    T = run.metrics["threshold_minutes"]
    df = pd.DataFrame({
        "#": ex["rank"], "site": ex["name"], "municipality": ex["kommune"], f"newly within {T:g} min": ex["pop_newly_within_T"],
        "lost if removed": ex["coverage_loss_if_removed"], "municipalities served (people)": ex["kommuner_served"].fillna("").map(_top3),
        "best replacement": ex["best_replacement_coverage"], "regret (people)": ex["regret_people"],
    })  # fmt: skip
    fmt = {c: _people for c in (f"newly within {T:g} min", "lost if removed", "regret (people)")}
    return (f"<h3>What each new office buys</h3><p class='note'>People newly within {T:g} minutes for whom the office is "
            "the nearest; people lost if it alone were removed; the best single replacement and its regret (negative: "
            "the swap would improve the plan).</p>" + _table(df, fmt, "sites"))  # fmt: skip


def efficiency_section(run: Run) -> str:
    e = run.efficiency
    if not e:
        return ""
    T = e["threshold_minutes"]
    rows = pd.DataFrame([
        {"": "today", f"people within {T:g} min": e["today"]["pop_within_T"], "mean minutes": e["today"]["mean_time"]},
        {"": "this plan", f"people within {T:g} min": e["plan"]["pop_within_T"], "mean minutes": e["plan"]["mean_time"]},
        {"": f"best {e['p']} for coverage", f"people within {T:g} min": e["optimum_coverage"]["pop_within_T"],
         "mean minutes": e["optimum_coverage"]["mean_time"]},
        {"": f"best {e['p']} for drive time", f"people within {T:g} min": e["optimum_time"]["pop_within_T"],
         "mean minutes": e["optimum_time"]["mean_time"]},
    ])  # fmt: skip
    sw = pd.DataFrame([{"give up": s["remove_name"], "open instead": s["add_name"], f"people within {T:g} min": s["coverage_change"],
                        "person-minutes saved": s["time_saved_pop_min"]} for s in e["top_swaps_coverage"]])  # fmt: skip
    swt = pd.DataFrame([{"give up": s["remove_name"], "open instead": s["add_name"], "person-minutes saved": s["time_saved_pop_min"],
                         f"people within {T:g} min": s["coverage_change"]} for s in e["top_swaps_time"]])  # fmt: skip
    signed = {f"people within {T:g} min": lambda v: ("+" if v >= 0 else "−") + _people(abs(v)), "person-minutes saved": _people}
    return (f"<h3 id='efficiency-{_e(run.name)}'>Efficiency of the plan</h3>"
            f"<p class='big'>{_pct(e['coverage_efficiency'], 0)} of the attainable gain in people within {T:g} min · "
            f"{_pct(e['mean_time_efficiency'], 0)} of the attainable cut in mean drive time</p>"
            f"<p class='note'>{_e(e['definition'])}.</p>"
            + _table(rows, {f"people within {T:g} min": _people, "mean minutes": lambda v: f"{v:.2f}"}, "eff")
            + f"<h4>Best single swaps for coverage</h4><p class='note'>{_e(e.get('swaps_note', ''))}.</p>" + (_table(sw, signed, "swaps") if len(sw) else "<p>none improves the plan</p>")
            + "<h4>Best single swaps for drive time</h4>" + (_table(swt, signed, "swaps") if len(swt) else "<p>none improves the plan</p>"))  # fmt: skip


def assumptions_run(run: Run) -> str:
    man, m = run.manifest, run.metrics
    items = [
        ("road network", man.get("network")), ("demand", f"{man.get('demand_model')} ({man.get('demand_points')} points)"),
        ("candidates", f"{man.get('candidate_sites')} candidate sites; {man.get('existing_offices')} existing offices kept open"),
        ("threshold", f"{m['threshold_minutes']:g} minutes"),
        ("model", f"{man.get('model')} · solver {man.get('solver')} · status {man.get('status')} · gap {man.get('gap')}"),
        ("population", man.get("population_source")),
    ]  # fmt: skip
    inputs = man.get("inputs") or []
    if isinstance(inputs, list) and inputs:
        items.append(("inputs", "; ".join(f"{i.get('name')}: {i.get('origin')}" for i in inputs if isinstance(i, dict))))
    return f"<h4>{_e(run.name)}</h4><dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items if v) + "</dl>"


def sweep_section(sw: Sweep, kommuner_geo) -> str:
    meta = sw.meta
    parts = [f"<section id='sweep'><h2>Under other assumptions: {_e(sw.name)}</h2>",
             f"<p>{meta['runs']} runs varying {_e(', '.join(meta['varied']))}. {_e(meta['marginal_curve'])}.</p>"]  # fmt: skip
    status = sw.runs.status.value_counts().to_dict()
    parts.append(f"<p class='note'>Solver status: {_e(', '.join(f'{v} {k}' for k, v in status.items()))}.</p>")
    if sw.marginal is not None and len(sw.marginal):
        parts.append(f"<h3 id='marginal'>What each additional office buys</h3><img alt='marginal curve' src='{marginal_figure(sw)}'>")
        m = sw.marginal
        tcol = "model.threshold_minutes" if "model.threshold_minutes" in m else None
        base = m
        for c in [c for c in meta["varied"] if c not in ("new_offices", tcol) and c in m]:
            vals = sorted(m[c].unique())
            base = base[base[c] == (1 if 1 in vals else vals[len(vals) // 2])]
        cols = ["p", "pop_within_T", "pop_within_T_change_per_office", "mean_time", "mean_time_change_per_office"]
        if "offences_within_T" in base:
            cols += ["offences_within_T", "offences_within_T_change_per_office"]
        for T, g in base.groupby(tcol) if tcol else [(None, base)]:
            g = g[[c for c in cols if c in g]].rename(columns={"pop_within_T": "people within T", "pop_within_T_change_per_office": "per added office",
                                                                "mean_time": "mean minutes", "mean_time_change_per_office": "minutes per added office",
                                                                "offences_within_T": "offences within T",
                                                                "offences_within_T_change_per_office": "offences per added office"})  # fmt: skip
            fmt = {"people within T": _people, "per added office": _people, "mean minutes": lambda v: f"{v:.2f}",
                   "minutes per added office": lambda v: f"{v:+.3f}", "offences within T": _people, "offences per added office": _people}  # fmt: skip
            parts.append(f"<h4>T = {T:g} min (central values of the other parameters)</h4>" if T is not None else "")
            parts.append(_table(g, fmt, "marginal"))
    if sw.frequency is not None and len(sw.frequency):
        f = sw.frequency.head(30)
        pcols = [c for c in f.columns if c.startswith("share_p")]
        show = f[["name", "kommune", "politidistrikt", "runs_selected", "share_of_runs", *pcols[-3:], "robust_core_at_p"]]
        fmt = {c: (lambda v: _pct(v, 0)) for c in ["share_of_runs", *pcols]}
        parts.append("<h3 id='frequency'>Robust core: sites chosen under most assumptions</h3>"
                     "<p class='note'>Share of runs (with at least one new office) that chose the site; robust core = the "
                     "values of p at which every run chose it.</p>" + _table(show, fmt, "freq")
                     + f"<img alt='selection frequency map' src='{frequency_figure(sw, kommuner_geo)}'>")  # fmt: skip
    if sw.pareto is not None and sw.pareto.pareto.any():
        parts.append(f"<h3>Trade-off: coverage against drive time</h3><img alt='Pareto frontier' src='{pareto_figure(sw)}'>")
    groups = sw.timings.get("groups", [])
    parts.append("<h4>Assumptions of the sweep</h4><dl>" + "".join(
        f"<dt>network setting {_e(json.dumps(g.get('params', {})))}</dt><dd>{_e(g['network'])}; matrix {g['matrix_source']}, "
        f"{g['runs']} runs</dd>" for g in groups) + f"<dt>offences</dt><dd>{_e(meta.get('offences'))}</dd></dl></section>")  # fmt: skip
    return "\n".join(parts)


CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:0 auto;padding:1rem 1.2rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #1f3fbf;padding-bottom:.2rem;margin-top:2rem}
.note{color:#555;font-size:.9rem}.big{font-size:1.3rem;font-weight:600;color:#1f3fbf}
img{max-width:100%;height:auto;display:block;margin:.6rem 0}table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top}th{background:#f4f6fb}
.tw{overflow-x:auto}td.num{white-space:nowrap;text-align:right}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;font-size:.9rem}
dt{font-weight:600}dd{margin:0}.run{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1rem;align-items:start}
@media (max-width:800px){.run{grid-template-columns:1fr}}"""


def build_report(sources: list[str | Path], title: str | None = None) -> str:
    """The report page (HTML text) for run and sweep folders."""
    items = [load_source(s) for s in sources]
    if not items:
        raise SitingError("give at least one run or sweep folder")
    runs = [i for i in items if isinstance(i, Run)]
    sweeps = [i for i in items if isinstance(i, Sweep)]
    geo = _municipalities()
    title = title or "Where should the new police offices go?"
    body = [f"<h1>{_e(title)}</h1><p class='note'>Report of {len(runs)} run(s) and {len(sweeps)} sweep(s), "
            f"made {date.today().isoformat()} with siting. All drive times are by road from the office to where people live.</p>"]  # fmt: skip
    if runs:
        body.append("<section id='headline'><h2>In short</h2>" + "".join(headline_text(r) for r in runs) + "</section>")
    for r in runs:
        body.append(f"<section class='runsec' id='run-{_e(r.name)}'><h2>{_e(r.manifest.get('title', r.name))}</h2><div class='run'>"
                    f"<div><img class='map' alt='map of {_e(r.name)}' src='{map_figure(r, geo)}'>"
                    f"<p class='note'>Interactive map: <code>{_e(r.path / 'map.html')}</code></p></div>"
                    f"<div>{efficiency_section(r)}</div></div>{sites_section(r)}</section>")  # fmt: skip
    for s in sweeps:
        body.append(sweep_section(s, geo))
    if len(runs) > 1:
        from siting.compare import compare_table, cumulative_figure, districts_figure

        t = compare_table([r.path for r in runs])
        body.append("<section id='compare'><h2>Side by side</h2>" + _table(t, {c: (lambda v: f"{v:.3f}") for c in t.columns if t[c].dtype == float})
                    + f"<img alt='people by drive time' src='{_png(cumulative_figure([r.path for r in runs]))}'>"
                    + f"<img alt='police districts' src='{_png(districts_figure([r.path for r in runs]))}'></section>")  # fmt: skip
    body.append("<section id='assumptions'><h2>Assumptions</h2>" + "".join(assumptions_run(r) for r in runs)
                + "<p class='note'>Data: Kartverket (CC BY 4.0), Statistisk sentralbyrå (NLOD 2.0), OpenStreetMap contributors "
                "(ODbL), GeoNames (CC BY 4.0); see data/SOURCES.md.</p></section>")  # fmt: skip
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>")  # fmt: skip


def write_report(sources: list[str | Path], out: str | Path, title: str | None = None) -> Path:
    out = Path(out)
    atomic_write_text(out, build_report(sources, title))
    return out
