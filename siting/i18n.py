"""Words and numbers on the decision-maker pages: one message catalogue, Norwegian (bokmål) by default.

Every visible string of the maps, the report and the ``siting compare`` plots comes from
:data:`siting.messages.MESSAGES` through :func:`t` (plain text) or :func:`th` (HTML with every
argument escaped); every number goes through the formatters here, which write numbers the
Norwegian way in ``nb`` (``1 234,5``, ``12,3 %``) and with a decimal point in ``en`` (``1 234.5``).
Both languages group thousands with a narrow no-break space (U+202F) and write minus as ``−``; a
percent sign is joined to its number by a no-break space (U+00A0), so neither wraps alone.

A key missing from the catalogue raises :class:`KeyError` (a programming error, caught by the
tests, never a page with a hole in it); ``tests/test_i18n.py`` checks that both languages have every
key with the same placeholders, and scans generated ``nb`` pages for English words.

Examples
--------
>>> t("people_within", "nb", T=30)
'Innbyggere innen 30 min'
>>> num(1234.5, 1, "nb"), pct(0.1234, 1, "nb"), people(86_049.7, 100, "en")
('1\\u202f234,5', '12,3\\xa0%', '86\\u202f000')
"""

from __future__ import annotations

import html
import math
import re
from typing import Literal, get_args

from siting.errors import SitingError

Lang = Literal["nb", "en"]
LANGS: tuple[str, ...] = get_args(Lang)
DEFAULT_LANG: Lang = "nb"

GROUP = "\u202f"  #: thousands separator (narrow no-break space)
NBSP = "\u00a0"  #: between a number and ``%``
MINUS = "\u2212"
DASH = "\u2013"  #: ranges (``36 000–45 000``) and "no value"


class Html(str):
    """A string that is already HTML: :func:`th` inserts it as it is (everything else is escaped)."""


def lang_of(value: object = None) -> Lang:
    """``value`` as a language code (``None`` or ``""``: the default, ``nb``); anything else is a
    one-line :class:`SitingError` naming the allowed values."""
    if value is None or value == "":
        return DEFAULT_LANG
    v = str(value).strip().lower()
    if v not in LANGS:
        raise SitingError(f"unknown language {value!r}; allowed: {', '.join(LANGS)}")
    return v  # type: ignore[return-value]


def _entry(key: str) -> dict:
    from siting.messages import MESSAGES

    try:
        return MESSAGES[key]
    except KeyError:
        raise KeyError(f"message {key!r} is not in the catalogue (siting/messages.py)") from None


def t(key: str, lang: Lang = DEFAULT_LANG, **kw) -> str:
    """The message ``key`` in ``lang`` (plain text), with ``{placeholders}`` filled from ``kw``.

    Numbers in ``kw`` are used as given: format them first (:func:`num`, :func:`people`, ...);
    a float threshold ``T`` is written without a trailing ``.0``.
    """
    text = _entry(key)[lang_of(lang)]
    if not kw:
        return text
    return text.format(**{k: _plain(v, lang) for k, v in kw.items()})


def th(key: str, lang: Lang = DEFAULT_LANG, **kw) -> Html:
    """The message ``key`` as HTML: the catalogue's markup is kept, every argument is escaped
    unless it is :class:`Html`."""
    text = _entry(key)[lang_of(lang)]
    args = {k: v if isinstance(v, Html) else html.escape(_plain(v, lang), quote=False) for k, v in kw.items()}
    return Html(text.format(**args) if kw else text)


def _plain(v, lang) -> str:
    if isinstance(v, float):
        return num(v, 0, lang) if v == int(v) else tick(v, lang)
    return str(v)


def has(key: str) -> bool:
    from siting.messages import MESSAGES

    return key in MESSAGES


def catalogue(lang: Lang, prefix: str) -> dict[str, str]:
    """Every message whose key starts with ``prefix`` (the prefix removed), e.g. the strings the map
    script needs (``catalogue(lang, "js.")``)."""
    from siting.messages import MESSAGES

    return {k[len(prefix) :]: v[lang_of(lang)] for k, v in MESSAGES.items() if k.startswith(prefix)}


# --- numbers --------------------------------------------------------------------------------------------
def _finite(v) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def num(v, digits: int = 0, lang: Lang = DEFAULT_LANG) -> str:
    """``1234.5`` → ``1 234,5`` (nb) or ``1 234.5`` (en); ``–`` for no value."""
    if not _finite(v):
        return DASH
    s = f"{float(v):,.{digits}f}"
    if s.startswith("-") and float(s.replace(",", "")) == 0:
        s = s[1:]  # no "−0"
    s = s.replace(",", GROUP)
    if lang_of(lang) == "nb":
        s = s.replace(".", ",")
    return s.replace("-", MINUS)


def tick(v, lang: Lang = DEFAULT_LANG) -> str:
    """A round number as short as it is: ``2.5`` → ``2,5``, ``60.0`` → ``60``, ``-10`` → ``−10``."""
    if not _finite(v):
        return DASH
    s = f"{float(v):,.10g}".replace(",", GROUP)
    if lang_of(lang) == "nb":
        s = s.replace(".", ",")
    return s.replace("-", MINUS)


def signed(v, digits: int = 0, lang: Lang = DEFAULT_LANG) -> str:
    """``+1 234`` / ``−1 234`` / ``0``."""
    if not _finite(v):
        return DASH
    s = num(abs(float(v)), digits, lang)
    zero = s.strip("0,.") == ""
    return s if zero else ("+" if float(v) > 0 else MINUS) + s


def pct(share, digits: int = 1, lang: Lang = DEFAULT_LANG) -> str:
    """A share (0…1) as a percentage: ``0.1234`` → ``12,3 %`` (nb)."""
    return DASH if not _finite(share) else f"{num(100 * float(share), digits, lang)}{NBSP}%"


def points(diff, digits: int = 1, lang: Lang = DEFAULT_LANG) -> str:
    """A difference of two shares in percentage points, signed: ``0.007`` → ``+0,7``."""
    return signed(100 * float(diff), digits, lang) if _finite(diff) else DASH


def people(v, step: int = 10, lang: Lang = DEFAULT_LANG) -> str:
    """A count rounded to ``step`` (see :data:`siting.style.ROUND`): ``86 049.7`` → ``86 050``."""
    if not _finite(v):
        return DASH
    return num(round(float(v) / step) * step, 0, lang)


def signed_people(v, step: int = 100, lang: Lang = DEFAULT_LANG) -> str:
    """``+88 300`` / ``−1 200`` (``0`` without a sign)."""
    if not _finite(v):
        return DASH
    return signed(round(float(v) / step) * step, 0, lang)


def minutes(v, digits: int = 1, lang: Lang = DEFAULT_LANG) -> str:
    """``12.34`` → ``12,3 min``."""
    return DASH if not _finite(v) else f"{num(v, digits, lang)}{NBSP}min"


def band_step(band: dict | None, minimum: int = 100) -> int:
    """Rounding step for a count with ``band`` (``{"low", "high"}``): a power of ten no finer than a
    quarter of the band's width, and no finer than ``minimum`` — a band 9 000 wide → thousands."""
    if not isinstance(band, dict) or not (_finite(band.get("low")) and _finite(band.get("high"))):
        return minimum
    width = float(band["high"]) - float(band["low"])
    return minimum if width <= 4 * minimum else max(minimum, 10 ** math.floor(math.log10(width / 4)))


def banded_people(value, band: dict | None, lang: Lang = DEFAULT_LANG, minimum: int = 100) -> str:
    """People with their band, both rounded to a step the band's width allows: ``41 000 (28 000–56 000)``."""
    step = band_step(band, minimum)
    return with_band(people(value, step, lang), band, lambda x: people(x, step, lang), lang)


def with_band(text: str, band: dict | None, fmt, lang: Lang = DEFAULT_LANG) -> str:
    """``text`` followed by its uncertainty band when there is one: ``40 900 (36 000–45 000)``.

    ``band`` is a mapping with ``low`` and ``high`` (any other keys are ignored); ``fmt`` formats
    one end (e.g. ``lambda v: people(v, 100, lang)``). Without a band, ``text`` alone.
    """
    if not isinstance(band, dict) or not (_finite(band.get("low")) and _finite(band.get("high"))):
        return text
    return f"{text} ({fmt(band['low'])}{DASH}{fmt(band['high'])})"


def value_of(x):
    """A metric that may carry a band (``{"value": v, "low": a, "high": b}``) as its plain value."""
    return x.get("value") if isinstance(x, dict) else x


def band_of(x) -> dict | None:
    """The band of a metric written as ``{"value": v, "low": a, "high": b}``, else None."""
    return x if isinstance(x, dict) and "low" in x and "high" in x else None


def band_for(container: dict | None, key: str) -> dict | None:
    """The uncertainty band of ``container[key]``: the value itself written as ``{"value", "low",
    "high"}``, or a parallel ``container["band"][key]`` / ``container["bands"][key]`` holding ``low``
    and ``high``; None when the run has none (the pages then print the value alone)."""
    if not isinstance(container, dict):
        return None
    own = band_of(container.get(key))
    if own:
        return own
    for name in ("band", "bands"):
        b = container.get(name)
        if isinstance(b, dict) and band_of(b.get(key)):
            return b[key]
    return None


def plan_title(manifest: dict, lang: Lang = DEFAULT_LANG, n: int | None = None, short: bool = False) -> str:
    """A plan's name for readers: the scenario's ``title`` (free text, ``manifest.json``), else
    "<scenario>: N nye tjenestesteder" (``short``: the scenario's name)."""
    title = str(manifest.get("title") or "")
    if title and not re.fullmatch(r".*: \d+ new police offices", title):  # not the English title of runs before titles existed
        return title
    if short:
        return str(manifest.get("scenario", "siting"))
    n = len(manifest.get("new_sites", [])) if n is None else n
    return t("title.fallback", lang, name=manifest.get("scenario", "siting"), n=n)


_GRID_NAME = re.compile(r"^(?P<base>.+?) \(grid -?\d+/-?\d+\)(?: \((?P<kommune>[^()]+)\))?$")


def plain_name(name, kommune: str | None = None, lang: Lang = DEFAULT_LANG) -> str:
    """A site's name for readers: a population-grid cluster (``Drøbak (grid 255/6624)``, named
    after the nearest settlement by :func:`siting.candidates.name_clusters`) becomes "ved Drøbak,
    Frogn" / "near Drøbak, Frogn", or "i Frogn" when no settlement is near; other names stay.
    ``kommune`` is the site's municipality (also read from a trailing ``(Frogn)``)."""
    name = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    mt = _GRID_NAME.match(name)
    if not mt:
        return name
    base, k = mt["base"], kommune or mt["kommune"] or ""
    if not k or base == k:
        return t("site.in", lang, kommune=k or base)
    return t("site.near", lang, place=base, kommune=k)


def enum(kind: str, value, lang: Lang = DEFAULT_LANG) -> str:
    """A coded value from the data (``wish_status``, ``crime_flag``, ``location_quality``) in words;
    a value the catalogue does not know is shown as it is."""
    key = f"{kind}.{value}"
    return t(key, lang) if has(key) else str(value)
