"""Compare run folders: a table (terminal, CSV, Markdown) and PNG plots.

Plots, both from the demand points (population grid cells) in each run's ``layers.gpkg``:

* ``cumulative.png``: people within x minutes today, and per scenario the *difference* from today
  (people within x minutes), with each scenario's threshold marked — readable where overlapping
  cumulative curves are not;
* ``districts.png``: share within T per police district today and per scenario, one panel per
  threshold: scenarios with different thresholds never share a coverage axis.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from siting.errors import SitingError
from siting.io import atomic_path, atomic_write_text

COLUMNS = ["scenario", "model", "status", "new_offices", "T", "within_T_before", "within_T_after",
           "within_30", "within_45", "mean_min", "median_min", "p90_min", "max_min"]  # fmt: skip


def load_run(run: str | Path) -> tuple[dict, dict, pd.DataFrame]:
    """Read a run folder's metrics, manifest and municipality table; one-line errors for anything else."""
    run = Path(run)
    if not run.exists():
        raise SitingError("run folder not found", path=run)
    if not run.is_dir():
        raise SitingError("is a file, not a run folder (give the folder `siting run` wrote, e.g. runs/max-coverage-30)", path=run)
    docs = {}
    for name in ("metrics.json", "manifest.json"):
        try:
            docs[name] = json.loads((run / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SitingError(f"not a complete run folder (missing {name})", path=run) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise SitingError(f"{name} is damaged (not valid JSON{where}); rerun the scenario", path=run) from None
        if not isinstance(docs[name], dict):
            raise SitingError(f"{name} is damaged (not a JSON object); rerun the scenario", path=run)
    try:
        kommuner = pd.read_csv(run / "kommuner.csv", dtype={"kommunenummer": str})
    except FileNotFoundError:
        raise SitingError("not a complete run folder (missing kommuner.csv)", path=run) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise SitingError("kommuner.csv is damaged; rerun the scenario", path=run) from None
    return docs["metrics.json"], docs["manifest.json"], kommuner


def compare_table(runs: list[str | Path]) -> pd.DataFrame:
    rows = []
    for r in runs:
        m, man, _ = load_run(r)
        try:
            a = m["national"]["after"]
            h = m["headline"]
            man["new_sites"], man["scenario"], m["threshold_minutes"]  # noqa: B018  present in every run's files
        except (KeyError, TypeError) as exc:
            raise SitingError(f"metrics.json or manifest.json is damaged (no {exc}); rerun the scenario", path=r) from None
        rows.append({
            "scenario": man["scenario"], "model": man["model"], "status": man["status"], "new_offices": len(man["new_sites"]),
            "T": m["threshold_minutes"], "within_T_before": h["share_within_T_before"], "within_T_after": h["share_within_T_after"],
            "within_30": a["share_within_30"], "within_45": a["share_within_45"], "mean_min": a["mean"],
            "median_min": a["median"], "p90_min": a["p90"], "max_min": a["max"],
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def load_demand(run: str | Path) -> pd.DataFrame | None:
    """The run's demand points (``layers.gpkg`` layer ``demand``: population, minutes before and
    after per grid cell or place), or None for run folders written before that layer existed."""
    layers = Path(run) / "layers.gpkg"
    if not layers.exists():
        return None
    import pyogrio

    if "demand" not in [n for n, _ in pyogrio.list_layers(layers)]:
        return None
    return pyogrio.read_dataframe(layers, layer="demand", read_geometry=False)


def cumulative_people(times: np.ndarray, weights: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """People within each of ``minutes`` (unreachable = never), from demand points."""
    t = np.where(np.isfinite(times), times, np.inf)
    order = np.argsort(t, kind="stable")
    cum = np.r_[0.0, np.cumsum(weights[order])]
    return cum[np.searchsorted(t[order], minutes, side="right")]


def cumulative_figure(runs, minutes: np.ndarray | None = None):
    """Two panels from the demand points (grid cells), not municipality means: today's people within
    x minutes, and per scenario the change against today (people within x minutes), one line each,
    with each scenario's threshold marked. Runs without a demand layer are left out (named in the
    subtitle)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = np.arange(0, 121, 0.5) if minutes is None else minutes
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [1, 1.3]})
    base = None
    skipped = []
    for r in runs:
        m, man, _ = load_run(r)
        d = load_demand(r)
        if d is None:
            skipped.append(man["scenario"])
            continue
        w = d["population"].to_numpy(float)
        tb, ta = d["time_before"].to_numpy(float), d["time_after"].to_numpy(float)
        before = cumulative_people(tb, w, minutes)
        if base is None:
            base = before
            top.plot(minutes, 100 * before / w.sum(), color="#444", label="today's offices")
        line, = bottom.plot(minutes, (cumulative_people(ta, w, minutes) - before) / 1000, label=f"{man['scenario']} (T = {m['threshold_minutes']:g} min)")
        bottom.axvline(m["threshold_minutes"], color=line.get_color(), ls=":", lw=1)
    top.set_ylabel("% of population within x min")
    top.set_title("People by drive time to the nearest police office" + (f" (no demand layer: {', '.join(skipped)})" if skipped else ""))
    top.grid(alpha=0.3)
    top.legend(loc="lower right")
    bottom.axhline(0, color="#444", lw=0.8)
    bottom.set_ylabel("change vs today, thousand people within x min")
    bottom.set_xlabel("minutes to the nearest office (demand points: population grid cells)")
    bottom.grid(alpha=0.3)
    if bottom.lines[1:]:
        bottom.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def district_shares(run, T: float) -> tuple[dict, dict]:
    """Share of the population within exactly ``T`` minutes per police district, today and with the
    plan: from the demand points when the run has them, else from ``metrics.json`` (only for T in
    15/30/45/60)."""
    m, _, k = load_run(run)
    d = load_demand(run)
    if d is not None:
        dist = d["kommunenummer"].astype(str).map(k.set_index("kommunenummer")["politidistrikt"])
        w = d["population"].to_numpy(float)
        out = {}
        for key in ("time_before", "time_after"):
            t = d[key].to_numpy(float)
            inside = pd.Series(np.where(np.isfinite(t) & (t <= T), w, 0.0)).groupby(dist.to_numpy()).sum()
            out[key] = (100 * inside / pd.Series(w).groupby(dist.to_numpy()).sum()).to_dict()
        return out["time_before"], out["time_after"]
    if int(T) != T or int(T) not in (15, 30, 45, 60):
        raise SitingError(f"run has no demand layer and metrics only hold 15/30/45/60 min, not T = {T:g}; rerun it", path=run)
    d = m["politidistrikt"]
    return ({g: 100 * v["before"][f"share_within_{int(T)}"] for g, v in d.items()},
            {g: 100 * v["after"][f"share_within_{int(T)}"] for g, v in d.items()})  # fmt: skip


def districts_figure(runs):
    """Per police district, share within T today and per scenario: one panel per threshold, so
    scenarios with different thresholds never share a coverage axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_T: dict[float, list] = {}
    for r in runs:
        m, man, _ = load_run(r)
        by_T.setdefault(float(m["threshold_minutes"]), []).append((man["scenario"], r))
    fig, axes = plt.subplots(len(by_T), 1, figsize=(10, 4.2 * len(by_T)), squeeze=False)
    for ax, (T, members) in zip(axes[:, 0], sorted(by_T.items()), strict=True):
        before, data = None, {}
        for name, r in members:
            b, a = district_shares(r, T)
            before = before or b
            data[name] = a
        districts = sorted(before)
        width = 0.8 / (len(data) + 1)
        x = np.arange(len(districts))
        ax.bar(x, [before[d] for d in districts], width, label="today", color="#bbbbbb")
        for i, (name, vals) in enumerate(data.items(), start=1):
            ax.bar(x + i * width, [vals.get(d, np.nan) for d in districts], width, label=name)
        ax.set_xticks(x + width * len(data) / 2, districts, rotation=45, ha="right")
        ax.set_ylabel(f"% of population within {T:g} min")
        ax.set_title(f"Threshold T = {T:g} minutes")
        lo = min(min(before.values()), *(min(v.values()) for v in data.values()))
        ax.set_ylim(max(0, 5 * np.floor((lo - 2) / 5)), 100)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_cumulative(runs, path: Path) -> None:
    _save(cumulative_figure(runs), path)


def plot_districts(runs, path: Path) -> None:
    _save(districts_figure(runs), path)


def write_comparison(runs, out: Path) -> pd.DataFrame:
    table = compare_table(runs)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "comparison.csv") as tmp:
        table.to_csv(tmp, index=False)
    atomic_write_text(out / "comparison.md", _md(table))
    plot_cumulative(runs, out / "cumulative.png")
    plot_districts(runs, out / "districts.png")
    return table


def _md(df: pd.DataFrame) -> str:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"
