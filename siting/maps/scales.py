"""Colour scales with round ticks (1, 2, 2.5 or 5 × 10^k), clipped to robust quantile ranges."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from siting import i18n
from siting.i18n import Lang, t
from siting.style import DRIVE_TIME


def nice_step(span: float, n: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^k) giving about ``n`` intervals over ``span``."""
    if span <= 0 or not np.isfinite(span):
        return 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def robust_range(values, lo_q: float = 0.02, hi_q: float = 0.98, zero: bool = True) -> tuple[float, float, float]:
    """Clipped-quantile range rounded outwards to a round step; returns (vmin, vmax, step)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0.0, 1.0, 0.25
    lo, hi = float(np.quantile(v, lo_q)), float(np.quantile(v, hi_q))
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo <= 0:
        hi = lo + 1
    step = nice_step(hi - lo)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, step


def symmetric_range(values, q: float = 0.95) -> tuple[float, float]:
    """(m, step) for a diverging scale −m…m with round ticks through 0: m covers the ``q`` quantile
    of the absolute non-zero values (the rest is clipped)."""
    v = np.abs(np.asarray(values, float))
    v = v[np.isfinite(v) & (v > 0)]
    top = float(np.quantile(v, q)) if len(v) else 1.0
    step = nice_step(top, 2)
    return math.ceil(top / step - 1e-9) * step, step


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)], float)


@dataclass
class Scale:
    """A linear colour scale clipped to [vmin, vmax] with round ticks; ``label`` and ``note`` are
    already in the page's language ``lang``."""

    key: str
    label: str
    colors: list[str]
    vmin: float
    vmax: float
    step: float
    unit: str = ""
    note: str = ""
    mark: float | None = None
    lang: Lang = "nb"
    _rgb: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self._rgb = np.array([_hex(c) for c in self.colors])

    def color(self, v) -> str | None:
        if v is None or pd.isna(v) or not np.isfinite(v):
            return None
        t = (min(max(float(v), self.vmin), self.vmax) - self.vmin) / ((self.vmax - self.vmin) or 1)
        x = t * (len(self.colors) - 1)
        i = min(int(x), len(self.colors) - 2)
        rgb = self._rgb[i] + (x - i) * (self._rgb[i + 1] - self._rgb[i])
        return "#" + "".join(f"{int(round(c)):02x}" for c in rgb)

    def ticks(self) -> list[float]:
        n = int(round((self.vmax - self.vmin) / self.step))
        return [self.vmin + i * self.step for i in range(n + 1)]

    def bar_html(self) -> str:
        tick = lambda v: i18n.tick(v, self.lang)  # noqa: E731
        grad = ", ".join(self.colors)
        span = (self.vmax - self.vmin) or 1
        ticks = "".join(f'<span style="left:{100 * (v - self.vmin) / span:.1f}%">{tick(v)}</span>' for v in self.ticks())
        top = ""
        if self.mark is not None and self.vmin < self.mark < self.vmax:
            top = (f'<div class="siting-bar-ticks"><span style="left:{100 * (self.mark - self.vmin) / span:.1f}%;font-weight:bold">'
                   f"T = {tick(self.mark)} ▾</span></div>")  # fmt: skip
        clip = self.note or t("scale.clipped", self.lang, lo=tick(self.vmin), hi=tick(self.vmax))
        return (f'<div class="siting-bar" data-mode="{html.escape(self.key)}">'
                f'{top}<div class="siting-bar-grad" style="background:linear-gradient(to right, {grad})"></div>'
                f'<div class="siting-bar-ticks">{ticks}</div>'
                f'<div class="siting-bar-caption">{html.escape(self.label)}{html.escape(self.unit)}. {html.escape(clip)}</div></div>')  # fmt: skip


def time_scale(key: str, label: str, T: float | None, lang: Lang) -> Scale:
    """The one drive-time scale (:data:`siting.style.DRIVE_TIME`, 0–60 min) with T marked."""
    d = DRIVE_TIME
    return Scale(key, label, d["colors"], d["vmin"], d["vmax"], d["step"], " (min)", mark=T, lang=lang)
