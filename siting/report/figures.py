"""The report's figures (PNG data URIs) in the visual language of the map (:mod:`siting.style`):
municipalities on the one drive-time scale, new offices as red numbered discs in the one rank
order, today's offices as small navy dots; axis numbers and words in the page's language."""

from __future__ import annotations

import base64
import io

import numpy as np

from siting import i18n
from siting.i18n import Lang, t
from siting.style import MARKER_SIZE, SITE_COLORS, TODAY_FILL, drive_time_norm, drive_time_ticks, number_axis


def png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def plt_():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_sites(ax, proposals, lang: Lang, numbered: bool = True) -> None:
    """New sites as red discs, numbered by their rank (``rank``: the one rank order)."""
    if not len(proposals):
        return
    ax.scatter(proposals["x"], proposals["y"], s=MARKER_SIZE["new"], marker="o", c=SITE_COLORS["new"], edgecolor="white",
               linewidth=0.8, label=t("r.fig.new", lang), zorder=4)  # fmt: skip
    if numbered:
        for r in proposals.itertuples(index=False):
            ax.annotate(str(int(r.rank)), (r.x, r.y), ha="center", va="center", fontsize=5.5, fontweight="bold", color="white", zorder=5)


def map_figure(run, kommuner_geo, lang: Lang) -> str:
    """Municipalities by mean drive time with the plan (0–60 min), today's offices and the new sites."""
    import geopandas as gpd

    plt = plt_()
    cmap, norm = drive_time_norm()
    fig, ax = plt.subplots(figsize=(6.2, 7.5))
    k = kommuner_geo.merge(run.kommuner[["kommunenummer", "time_after"]], on="kommunenummer", how="left")
    k.plot(column="time_after", ax=ax, cmap=cmap, norm=norm, linewidth=0.1, edgecolor="#888", missing_kwds={"color": "#eee"})
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=norm)
    cb = fig.colorbar(sm, ax=ax, shrink=0.6, ticks=drive_time_ticks(), extend="max")
    cb.set_label(t("r.fig.time_after", lang))
    T = float(run.metrics["threshold_minutes"])
    if T < drive_time_ticks()[-1]:  # the threshold marked as on the map's colour bar
        cb.ax.axhline(T, color="black", lw=1.5)
        cb.ax.text(-0.25, T, f"T = {i18n.tick(T, lang)} ▸", transform=cb.ax.get_yaxis_transform(), va="center", ha="right", fontsize=7,
                   fontweight="bold")  # fmt: skip
    layers = run.path / "layers.gpkg"
    if layers.exists():
        st = gpd.read_file(layers, layer="stations")
        ax.scatter(st.geometry.x, st.geometry.y, s=MARKER_SIZE["existing"], c=SITE_COLORS["existing"], label=t("r.fig.today", lang), zorder=3)
    draw_sites(ax, run.proposals, lang)
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7)
    return png(fig)


def param_label(key: str, lang: Lang) -> str:
    """A swept parameter in words (``model.threshold_minutes`` → "T (min)")."""
    k = f"r.param.{key}"
    return t(k, lang) if i18n.has(k) else key.split(".")[-1].replace("_", " ")


def marginal_figure(sweep, lang: Lang) -> str:
    """People within T against p, one panel per threshold (never one coverage axis for different
    thresholds), and mean drive time against p; one line per combination of the other parameters."""
    plt = plt_()
    m = sweep.marginal
    tcol = "model.threshold_minutes" if "model.threshold_minutes" in m else None
    others = [c for c in sweep.meta["varied"] if c not in ("new_offices", tcol) and c in m]
    thresholds = sorted(m[tcol].unique()) if tcol else [None]
    fig, axes = plt.subplots(1, len(thresholds) + 1, figsize=(4.2 * (len(thresholds) + 1), 3.8), squeeze=False)
    groups = m.groupby(others, sort=True) if others else [((), m)]
    for key, g in groups:
        vals = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{param_label(o, lang)} {i18n.tick(v, lang)}" for o, v in zip(others, vals, strict=True)) or t("r.fig.runs", lang)
        for i, T in enumerate(thresholds):
            gt = (g[g[tcol] == T] if tcol else g).sort_values("p")
            axes[0, i].plot(gt["p"], 100 * gt["share_within_T"], marker="o", ms=3, label=label)
            extra = f", T {i18n.tick(T, lang)}" if tcol else ""
            axes[0, -1].plot(gt["p"], gt["mean_time"], marker="o", ms=3, label=label + extra)
    for i, T in enumerate(thresholds):
        axes[0, i].set_title(t("r.fig.within", lang, T=float(T)) if T is not None else t("r.fig.within_T", lang))
        axes[0, i].set_ylabel(t("r.fig.pct_pop", lang))
    axes[0, -1].set_title(t("r.fig.mean_time", lang))
    axes[0, -1].set_ylabel(t("r.fig.minutes", lang))
    for ax in axes[0]:
        ax.set_xlabel(t("r.fig.p", lang))
        ax.grid(alpha=0.3)
        number_axis(ax.yaxis, lang)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return png(fig)


def frequency_figure(sweep, kommuner_geo, lang: Lang) -> str:
    """Candidates chosen in the sweep, sized by the share of runs that chose them; the robust core
    in the new-site red."""
    plt = plt_()
    f = sweep.frequency
    fig, ax = plt.subplots(figsize=(6.2, 7.5))
    kommuner_geo.plot(ax=ax, color="#f2f2f2", edgecolor="#bbb", linewidth=0.1)
    core = f["robust_core_at_p"].notna() & f["robust_core_at_p"].astype(str).ne("")
    ax.scatter(f.x[~core], f.y[~core], s=8 + 160 * f.share_of_runs[~core], c="#fc9272", alpha=0.8, label=t("r.fig.some_runs", lang))
    ax.scatter(f.x[core], f.y[core], s=8 + 160 * f.share_of_runs[core], c=SITE_COLORS["new"], alpha=0.9, label=t("r.fig.core", lang))
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title(t("r.fig.frequency", lang), fontsize=9)
    return png(fig)


def pareto_figure(sweep, lang: Lang) -> str:
    plt = plt_()
    p = sweep.pareto
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(p.mean_time, 100 * p.share_within_T, c=np.where(p.pareto, SITE_COLORS["new"], TODAY_FILL), s=18)
    front = p[p.pareto].sort_values("mean_time")
    ax.plot(front.mean_time, 100 * front.share_within_T, color=SITE_COLORS["new"], lw=1, label=t("r.fig.pareto", lang))
    ax.set_xlabel(t("r.fig.mean_time_min", lang))
    ax.set_ylabel(t("r.fig.pct_within_T", lang))
    number_axis(ax.xaxis, lang)
    number_axis(ax.yaxis, lang)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)
