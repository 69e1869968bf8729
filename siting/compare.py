"""Compare run folders: a table (terminal, CSV, Markdown) and PNG plots.

Plots: cumulative share of the population within x minutes for each scenario (before = the
reference shared by all runs, after per scenario), and per-district bars of the share within T
before and after.
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


def plot_cumulative(runs, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    minutes = np.arange(0, 121)
    for i, r in enumerate(runs):
        m, man, k = load_run(r)
        w = k["population_2022"].to_numpy(float)
        for col, style, label in (("time_before", ":", "before"), ("time_after", "-", man["scenario"])):
            if col == "time_before" and i > 0:
                continue
            t = k[col].to_numpy(float)
            ax.plot(minutes, [w[t <= x].sum() / w.sum() * 100 for x in minutes], style, label=label)
    ax.set_xlabel("minutes to nearest office (municipality mean)")
    ax.set_ylabel("% of population")
    ax.set_title("Cumulative population by drive time")
    ax.grid(alpha=0.3)
    ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_districts(runs, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = {}
    before = None
    for r in runs:
        m, man, _ = load_run(r)
        d = m["politidistrikt"]
        T = int(m["threshold_minutes"]) if int(m["threshold_minutes"]) in (15, 30, 45, 60) else 30
        before = {k: v["before"][f"share_within_{T}"] * 100 for k, v in d.items()}
        data[man["scenario"]] = {k: v["after"][f"share_within_{T}"] * 100 for k, v in d.items()}
    districts = sorted(before)
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.8 / (len(data) + 1)
    x = np.arange(len(districts))
    ax.bar(x, [before[d] for d in districts], width, label="before", color="#bbbbbb")
    for i, (name, vals) in enumerate(data.items(), start=1):
        ax.bar(x + i * width, [vals[d] for d in districts], width, label=name)
    ax.set_xticks(x + width * len(data) / 2, districts, rotation=45, ha="right")
    ax.set_ylabel("% of population within T minutes")
    ax.set_ylim(50, 100)
    ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


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
