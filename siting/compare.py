"""Compare run folders: a table (terminal, CSV, Markdown) and PNG plots.

Plots, both from the demand points (population grid cells) in each run's ``layers.gpkg``:

* ``cumulative.png``: people within x minutes today, and per scenario the *difference* from today
  (people within x minutes), with each scenario's threshold marked — readable where overlapping
  cumulative curves are not;
* ``districts.png``: share within T per police district today and per scenario, one panel per
  threshold: scenarios with different thresholds never share a coverage axis.

Plots and ``comparison.md`` speak the runs' language (``--lang``; default the first run's, nb) and
use the colours of :mod:`siting.style` (today grey, plan A orange, plan B green as on the comparison
map); ``comparison.csv`` keeps the raw column names for analysts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from siting import i18n
from siting.errors import SitingError
from siting.i18n import Lang, t
from siting.io import atomic_dir, atomic_path, check_output_dir
from siting.style import PLAN_COLORS, ROUND, TODAY_COLOR, TODAY_FILL, number_axis
from siting.uncertainty import difference

COLUMNS = ["scenario", "model", "status", "new_offices", "T", "within_T_before", "within_T_after",
           "within_30", "within_45", "mean_min", "median_min", "p90_min", "max_min",
           "within_T_after_low", "within_T_after_high", "people_newly_within_T", "people_newly_within_T_low",
           "people_newly_within_T_high", "mean_min_low", "mean_min_high"]  # fmt: skip
#: Banded headline figures in ``comparison.csv``: column prefix → ``metrics.json`` headline key
#: (``_low``/``_high``: the ends of the drive-time uncertainty band, empty for runs without one).
BANDED = {"within_T_after": "share_within_T_after", "people_newly_within_T": "people_newly_within_T", "mean_min": "mean_time_after"}


#: What every reader of a run folder relies on (``metrics.json`` and ``manifest.json``).
REQUIRED = {"metrics.json": ("threshold_minutes", "headline.share_within_T_before", "headline.share_within_T_after",
                             "headline.mean_time_before", "headline.mean_time_after"),
            "manifest.json": ("scenario", "new_sites")}  # fmt: skip


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
    for name, keys in REQUIRED.items():
        doc = docs[name]
        for key in keys:
            parts = key.split(".")
            for i, part in enumerate(parts):
                if not isinstance(doc, dict) or part not in doc:
                    raise SitingError(f"{name} lacks {'.'.join(parts[: i + 1])!r} (written by another version or edited); "
                                      "rerun the scenario", path=run)  # fmt: skip
                doc = doc[part]
            doc = docs[name]
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
            "people_newly_within_T": i18n.value_of(h.get("people_newly_within_T")),
        })  # fmt: skip
        for col, key in BANDED.items():
            b = i18n.band_for(h, key) or {}
            rows[-1].update({f"{col}_low": b.get("low"), f"{col}_high": b.get("high")})
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


def runs_lang(runs, lang: str | None = None) -> Lang:
    """``lang`` if given, else the first run's language (``manifest.json``), else nb."""
    if lang or not runs:
        return i18n.lang_of(lang)
    return i18n.lang_of(load_run(runs[0])[1].get("language"))


def _plan_label(man: dict, lang: Lang) -> str:
    title = i18n.plan_title(man, lang)
    return title if len(title) <= 48 else title[:46] + "…"


def cumulative_figure(runs, minutes: np.ndarray | None = None, lang: str | None = None):
    """Two panels from the demand points (grid cells), not municipality means: today's people within
    x minutes, and per scenario the change against today (people within x minutes), one line each
    in the plan colours of :mod:`siting.style`, with each scenario's threshold marked. Runs without a
    demand layer are left out (named in the subtitle)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lang = runs_lang(runs, lang)
    minutes = np.arange(0, 121, 0.5) if minutes is None else minutes
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [1, 1.3]})
    base = None
    skipped = []
    for i, r in enumerate(runs):
        m, man, _ = load_run(r)
        d = load_demand(r)
        if d is None:
            skipped.append(_plan_label(man, lang))
            continue
        w = d["population"].to_numpy(float)
        tb, ta = d["time_before"].to_numpy(float), d["time_after"].to_numpy(float)
        before = cumulative_people(tb, w, minutes)
        if base is None:
            base = before
            top.plot(minutes, 100 * before / w.sum(), color=TODAY_COLOR, label=t("c.today", lang))
        color = PLAN_COLORS[i % len(PLAN_COLORS)]
        bottom.plot(minutes, (cumulative_people(ta, w, minutes) - before) / 1000, color=color,
                    label=f"{_plan_label(man, lang)} (T = {i18n.tick(m['threshold_minutes'], lang)} min)")  # fmt: skip
        bottom.axvline(m["threshold_minutes"], color=color, ls=":", lw=1)
    top.set_ylabel(t("c.cum.y", lang))
    top.set_title(t("c.cum.title", lang) + (" " + t("c.no_demand", lang, names=", ".join(skipped)) if skipped else ""))
    top.grid(alpha=0.3)
    top.legend(loc="lower right")
    bottom.axhline(0, color=TODAY_COLOR, lw=0.8)
    bottom.set_ylabel(t("c.cum.change", lang))
    bottom.set_xlabel(t("c.cum.x", lang))
    bottom.grid(alpha=0.3)
    for ax in (top, bottom):
        number_axis(ax.yaxis, lang)
        number_axis(ax.xaxis, lang)
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


def districts_figure(runs, lang: str | None = None):
    """Per police district, share within T today and per scenario (plan colours of
    :mod:`siting.style`): one panel per threshold, so scenarios with different thresholds never
    share a coverage axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lang = runs_lang(runs, lang)
    by_T: dict[float, list] = {}
    for i, r in enumerate(runs):
        m, man, _ = load_run(r)
        by_T.setdefault(float(m["threshold_minutes"]), []).append((_plan_label(man, lang), r, PLAN_COLORS[i % len(PLAN_COLORS)]))
    fig, axes = plt.subplots(len(by_T), 1, figsize=(10, 4.2 * len(by_T)), squeeze=False)
    for ax, (T, members) in zip(axes[:, 0], sorted(by_T.items()), strict=True):
        before, data = None, {}
        for name, r, color in members:
            b, a = district_shares(r, T)
            before = before or b
            data[name] = (a, color)
        districts = sorted(before)
        width = 0.8 / (len(data) + 1)
        x = np.arange(len(districts))
        ax.bar(x, [before[d] for d in districts], width, label=t("c.today", lang), color=TODAY_FILL)
        for i, (name, (vals, color)) in enumerate(data.items(), start=1):
            ax.bar(x + i * width, [vals.get(d, np.nan) for d in districts], width, label=name, color=color)
        ax.set_xticks(x + width * len(data) / 2, districts, rotation=45, ha="right")
        ax.set_ylabel(t("c.dist.y", lang, T=T))
        ax.set_title(t("c.dist.title", lang, T=T))
        lo = min(min(before.values()), *(min(v.values()) for v, _ in data.values()))
        ax.set_ylim(max(0, 5 * np.floor((lo - 2) / 5)), 100)
        number_axis(ax.yaxis, lang)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def display_table(runs, lang: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The comparison for readers: one row per run with plain column headers in ``lang``, people
    next to every share, the people newly within T, and the formatters per column (the cells hold
    the numbers). A figure with a drive-time uncertainty band (:mod:`siting.uncertainty`) prints
    it, ``41 000 (28 000–56 000)``, people rounded by the band's width
    (:func:`siting.i18n.band_step`), else as :data:`siting.style.ROUND` says."""
    lang = runs_lang(runs, lang)
    rows, T_all = [], set()
    v = i18n.value_of
    for r in runs:
        m, man, _ = load_run(r)
        h, a = m["headline"], m["national"]["after"]
        pop = v(m["national"]["before"].get("population"))
        T_all.add(float(m["threshold_minutes"]))
        gain = v(h.get("people_newly_within_T"))
        if gain is None and pop:  # runs written before the band: from the shares
            gain = (v(h["share_within_T_after"]) - v(h["share_within_T_before"])) * pop
        rows.append({"plan": i18n.plan_title(man, lang), "new": len(man["new_sites"]), "T": float(m["threshold_minutes"]),
                     "before": (v(h["share_within_T_before"]), pop, i18n.band_for(h, "share_within_T_before"),
                                i18n.band_for(h, "people_within_T_before")),
                     "after": (v(h["share_within_T_after"]), pop, i18n.band_for(h, "share_within_T_after"),
                               i18n.band_for(h, "people_within_T_after")),
                     "gain": (gain, i18n.band_for(h, "people_newly_within_T")),
                     "w30": (v(a["share_within_30"]), pop), "w45": (v(a["share_within_45"]), pop),
                     "mean": (v(a["mean"]), i18n.band_for(h, "mean_time_after")), "median": v(a["median"]), "p90": v(a["p90"]),
                     "max": v(a["max"])})  # fmt: skip
    keys = ("plan", "new", "T", "before", "after", "gain", "w30", "w45", "mean", "median", "p90", "max")
    cols = {k: t(f"c.col.{k}", lang) for k in keys}
    df = pd.DataFrame(rows).rename(columns=cols)

    def share(x):
        s, pop, band, pband = (*x, None, None)[:4]
        people = f" ({i18n.people(s * pop, i18n.band_step(pband, ROUND['people_national']), lang)})" if pop else ""  # band: the share's
        return i18n.with_band(i18n.pct(s, 1, lang), band, lambda b: i18n.pct(b, 1, lang), lang) + people

    mins = lambda x: i18n.minutes(x, 1, lang)  # noqa: E731
    fmt = {cols["T"]: lambda x: i18n.minutes(x, 0, lang), cols["mean"]: lambda x: i18n.with_band(mins(x[0]), x[1], mins, lang),
           cols["median"]: mins, cols["p90"]: mins, cols["max"]: mins, cols["gain"]: lambda x: i18n.banded_people(x[0], x[1], lang),
           **{cols[k]: share for k in ("before", "after", "w30", "w45")}}  # fmt: skip
    return df, fmt


def difference_lines(runs, lang: str | None = None) -> list[str]:
    """Each run against the first one with the same threshold: the difference in people within T and
    in mean drive time under the runs' own times and under every drive-time assumption, and whether
    it is within the drive-time uncertainty (the differences under the assumptions do not all have
    the same sign; :func:`siting.uncertainty.difference`). Runs without bands give no line."""
    lang = runs_lang(runs, lang)
    loaded = [load_run(r) for r in runs]
    out = []
    for i, (m, man, _) in enumerate(loaded):
        T = float(m["threshold_minutes"])
        ref = next((j for j, (mj, _, _) in enumerate(loaded[:i]) if float(mj["threshold_minutes"]) == T), None)
        if ref is None:
            continue
        ma, mana = loaded[ref][0], loaded[ref][1]
        for key, what in (("people_within_T_after", "c.diff.people"), ("mean_time_after", "c.diff.mean")):
            d = difference(i18n.band_for(m["headline"], key), i18n.band_for(ma["headline"], key))
            if d is None:
                continue
            if key == "people_within_T_after":
                step = i18n.band_step(d, ROUND["people_national"])
                fmt = lambda x, step=step: i18n.signed_people(x, step, lang)  # noqa: E731
            else:
                fmt = lambda x: i18n.signed(x, 1, lang) + i18n.NBSP + "min"  # noqa: E731
            within = d["within"] or fmt(d["value"]) == fmt(0.0)  # a difference that rounds to nothing is none
            out.append(t(what, lang, b=man["scenario"], a=mana["scenario"], T=T, d=fmt(d["value"]), lo=fmt(d["low"]),
                         hi=fmt(d["high"]), verdict=t("c.within" if within else "c.beyond", lang)))  # fmt: skip
    return out


def plot_cumulative(runs, path: Path, lang: str | None = None) -> None:
    _save(cumulative_figure(runs, lang=lang), path)


def plot_districts(runs, path: Path, lang: str | None = None) -> None:
    _save(districts_figure(runs, lang=lang), path)


def write_comparison(runs, out: Path, lang: str | None = None, force: bool = False) -> pd.DataFrame:
    """The comparison folder ``out`` (atomically): ``comparison.csv`` (raw columns), ``comparison.md``
    (plain headers in ``lang``) and the plots. An existing folder is replaced only with ``force``
    and only if it is a comparison folder (``comparison.csv``), like a run folder."""
    check_output_dir(out, force=force, marker="comparison.csv", what="comparison folder")  # before any work
    table = compare_table(runs)
    shown, fmt = display_table(runs, lang)
    diffs = difference_lines(runs, lang)
    with atomic_dir(out, force=force, marker="comparison.csv") as tmp:
        table.to_csv(tmp / "comparison.csv", index=False)
        (tmp / "comparison.md").write_text(_md(shown, fmt) + ("\n" + "\n".join(f"- {x}" for x in diffs) + "\n" if diffs else ""),
                                           encoding="utf-8")  # fmt: skip
        plot_cumulative(runs, tmp / "cumulative.png", lang)
        plot_districts(runs, tmp / "districts.png", lang)
    return table


def _md(df: pd.DataFrame, fmt: dict) -> str:
    def cell(c, v):
        return str(fmt[c](v)) if c in fmt else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(c, v) for c, v in zip(df.columns, row, strict=True)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"
