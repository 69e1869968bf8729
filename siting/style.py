"""One visual language for the map, the report and the ``siting compare`` plots.

Colours and symbols of the sites, the colour scales (one drive-time scale, 0–60 min with round
ticks, everywhere), how figures are rounded, and the one rank order of new sites. The HTML map
reads the colours as CSS custom properties (:func:`css_vars`), matplotlib figures read the same
constants, so a new office is a red numbered disc on the map, in the report and in the plots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# --- colours ----------------------------------------------------------------------------------------------
#: sites: proposed new office; existing office; comparison of plan A with plan B
SITE_COLORS = {
    "new": "#d7301f",  # red disc, numbered by rank
    "existing": "#253494",  # small navy dot
    "both": "#6a3d9a",  # purple: in both plans
    "only_a": "#e66101",  # orange: only in plan A
    "only_b": "#1b7837",  # green: only in plan B
}
#: today's offices / "today" in plots
TODAY_COLOR = "#555555"
TODAY_FILL = "#bbbbbb"
#: plans in plots, in order: plan A, plan B, then further plans (a qualitative palette)
PLAN_COLORS = [SITE_COLORS["only_a"], SITE_COLORS["only_b"], "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#1f78b4", "#666666"]
#: areas within T today / with the plan / only with A / only with B
AREA_COLORS = {"before": "#2c7fb8", "after": "#31a354", "only_a": "#8c510a", "only_b": "#01665e"}

YLORRD = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026"]
GREENS = ["#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b"]
PURPLES = ["#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d"]
RDPU = ["#fff7f3", "#fde0dd", "#fcc5c0", "#fa9fb5", "#f768a1", "#dd3497", "#ae017e", "#7a0177", "#49006a"]
BRBG = ["#8c510a", "#bf812d", "#dfc27d", "#f6e8c3", "#f5f5f5", "#c7eae5", "#80cdc1", "#35978f", "#01665e"]

#: the drive-time scale (minutes to the nearest office) of every map, report figure and plot:
#: colours, range and ticks; values beyond take the end colour
DRIVE_TIME = {"colors": YLORRD, "vmin": 0.0, "vmax": 60.0, "step": 10.0}

# --- symbols -------------------------------------------------------------------------------------------------
#: matplotlib marker per site kind (the map draws the same shapes in CSS: discs; A and B rounded squares)
MARKERS = {"new": "o", "existing": "o", "both": "o", "only_a": "s", "only_b": "D"}
#: marker sizes (points²) in matplotlib figures
MARKER_SIZE = {"new": 120, "existing": 6, "both": 90, "only_a": 80, "only_b": 70}

# --- rounding ------------------------------------------------------------------------------------------------
#: people are rounded to these steps: per site and per municipality to 10, national totals and gaps
#: to 100 (the drive times behind them are not finer than that)
ROUND = {"people_site": 10, "people_national": 100, "share_digits": 1, "minutes_digits": 1, "efficiency_digits": 0}


def css_vars() -> str:
    """The site colours as CSS custom properties for the map's stylesheet (``--siting-new``, ...)."""
    return ":root{" + "".join(f"--siting-{k.replace('_', '-')}:{v};" for k, v in SITE_COLORS.items()) + "}"


def drive_time_norm():
    """A matplotlib colormap and norm for the drive-time scale (:data:`DRIVE_TIME`)."""
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    cmap = LinearSegmentedColormap.from_list("siting_drive_time", DRIVE_TIME["colors"])
    return cmap, Normalize(DRIVE_TIME["vmin"], DRIVE_TIME["vmax"], clip=True)


def drive_time_ticks() -> list[float]:
    d = DRIVE_TIME
    return list(np.arange(d["vmin"], d["vmax"] + d["step"] / 2, d["step"]))


def number_axis(axis, lang: str) -> None:
    """Tick labels of a matplotlib ``axis`` (``ax.xaxis``, ``ax.yaxis``, a colorbar's axis) written
    in ``lang``: decimal comma and thin-space thousands in nb (:func:`siting.i18n.tick`)."""
    from matplotlib.ticker import FuncFormatter

    from siting.i18n import tick

    axis.set_major_formatter(FuncFormatter(lambda v, _: tick(round(v, 6), lang)))


# --- the one rank order of new sites ----------------------------------------------------------------------
def rank_order(newly, site_ids) -> np.ndarray:
    """Positions of the sites in rank order: most people newly within T first (counted in whole
    people, so the same sites rank the same from any table of the run), ties by site id.

    Used by the run (``proposals.csv`` and ``explain.csv`` column ``rank``), the map, the report
    and the plots, so site #2 is the same site everywhere.
    """
    n = np.round(np.nan_to_num(np.asarray(newly, float), nan=0.0))
    ids = np.asarray([str(s) for s in site_ids])
    return np.lexsort((ids, -n)) if len(n) else np.array([], int)


def ranked(df: pd.DataFrame, newly: str, site_id: str = "site_id", rank: str = "rank") -> pd.DataFrame:
    """``df`` (one row per new site) sorted by :func:`rank_order` with ``rank`` set to 1, 2, …

    ``newly`` names the column with people newly within T (``pop_newly_covered`` in proposals,
    ``pop_newly_within_T`` in ``explain.csv``); without it the rows keep their order.
    """
    out = df.copy()
    if not len(out):
        out[rank] = pd.Series(dtype=int)
        return out
    if newly in out.columns and site_id in out.columns:
        out = out.iloc[rank_order(out[newly].to_numpy(float), out[site_id])]
    out[rank] = np.arange(1, len(out) + 1)
    return out
