"""A memory budget: a step that would need more memory than allowed stops with one line instead
of taking a shared machine down.

Every large allocation is estimated first and checked with :func:`require`::

    from siting import resources

    resources.require(n_rows * n_nodes * 8, f"far rows ({n_rows:,} demand points × {n_nodes:,} road nodes)",
                      "lower network.cutoff_minutes or use coarser demand (demand.cell_size_m)")

The budget is ``SITING_MAX_MEMORY``: a size (``8G``, ``512M``, ``1.5GiB``, bytes) or a share of
the machine's memory (``50%``); default :data:`DEFAULT_SHARE` of the physical memory. It bounds
one allocation (or the arrays of one step, estimated together), not the whole process.
"""

from __future__ import annotations

import os
import re

from siting.errors import SitingError

#: The environment variable that sets the budget.
ENV = "SITING_MAX_MEMORY"
#: Default budget: this share of the machine's physical memory.
DEFAULT_SHARE = 0.25

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class ResourceError(SitingError):
    """A step would need more memory than the budget (``SITING_MAX_MEMORY``)."""


def physical_memory() -> int:
    """Bytes of physical memory of this machine."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 8 GiB
        return 8 << 30


def parse_size(text: str) -> int:
    """``8G`` / ``8GB`` / ``8GiB`` / ``512M`` / ``1.5g`` / ``123456`` (bytes) / ``50%`` (of physical memory) → bytes."""
    s = text.strip().lower().replace(" ", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(%|[kmgt]?(?:i?b)?)", s)
    if not m or float(m.group(1)) <= 0:
        raise SitingError(f"{ENV}={text!r}: not a memory size; write e.g. {ENV}=8G, 512M or 50% (of this machine's memory)")
    value, unit = float(m.group(1)), m.group(2)
    if unit == "%":
        return int(physical_memory() * min(value, 100.0) / 100)
    return int(value * _UNITS[unit[:1] if unit not in ("b", "") else unit])


def budget() -> int:
    """The memory budget in bytes (``SITING_MAX_MEMORY``, else :data:`DEFAULT_SHARE` of physical memory)."""
    env = os.environ.get(ENV, "").strip()
    return parse_size(env) if env else int(physical_memory() * DEFAULT_SHARE)


def size_text(nbytes: float) -> str:
    """``22.4 GiB``, ``512 MiB``."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= factor:
            return f"{nbytes / factor:.1f} {unit}"
    return f"{int(nbytes)} bytes"


def require(nbytes: float, what: str, setting_hint: str) -> None:
    """Stop before an allocation of ``nbytes`` that exceeds the budget.

    Parameters
    ----------
    nbytes : float
        Estimated bytes of the allocation (or of every array of the step together).
    what : str
        What needs it, with its dimensions, e.g. ``"far rows (23 362 demand points × 129 241 road nodes)"``.
    setting_hint : str
        The scenario setting (or input) that makes it smaller, e.g.
        ``"use coarser demand (demand.cell_size_m)"``.

    Raises
    ------
    ResourceError
        One line: what, how much, the budget, the setting to change and ``SITING_MAX_MEMORY``.
    """
    limit = budget()
    if nbytes > limit:
        raise ResourceError(f"{what} would need {size_text(nbytes)} of memory, more than the budget of {size_text(limit)} "
                            f"({ENV}); {setting_hint}, or raise {ENV} if this machine has the memory")  # fmt: skip
