"""Progress bars for long stages (drive-time matrix, model building): shown on an interactive
terminal unless logging is quieter than INFO (``--quiet``); silent otherwise (tests, pipes, CI)."""

from __future__ import annotations

import logging
import sys


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar:
    def __init__(self, total: int, desc: str):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           TimeRemainingColumn(), transient=True)  # fmt: skip
        self._p.start()
        self._task = self._p.add_task(desc, total=total)

    def update(self, n: int = 1) -> None:
        self._p.advance(self._task, n)

    def close(self) -> None:
        self._p.stop()


def progress(total: int, desc: str, min_total: int = 2):
    """A progress bar with ``update(n)`` and ``close()``; a silent one when not interactive."""
    show = sys.stderr.isatty() and logging.getLogger("siting").getEffectiveLevel() <= logging.INFO and total >= min_total
    return _Bar(total, desc) if show else _Silent()
