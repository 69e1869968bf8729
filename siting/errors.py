"""User-facing errors.

Every mistake a user can make (bad file, bad field, impossible constraint) raises
:class:`SitingError` with a one-line message that names the file, the field and the fix.
The command line prints that line and exits non-zero, without a traceback.
"""

from __future__ import annotations

from contextlib import contextmanager


class SitingError(Exception):
    """An error caused by user input or missing data; its message is shown as one line."""

    exit_code = 2

    def __init__(self, message: str, *, path: object | None = None, field: str | None = None):
        self.path = path
        self.field = field
        parts = []
        if path is not None:
            parts.append(str(path))
        if field:
            parts.append(f"field '{field}'")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class DataError(SitingError):
    """A bundled or user-supplied dataset is missing, corrupt or fails validation."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` (temporary folders, workers) runs."""


@contextmanager
def reading_folders(folders):
    """Readers of run and sweep folders: a file in them that is damaged or from another version
    (a missing key, a wrong type, text that is not JSON or CSV) becomes one :class:`SitingError`
    line naming the folders, not a traceback. Errors that name their file pass through."""
    try:
        yield
    except SitingError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as exc:  # json.JSONDecodeError, pandas parser errors: ValueError
        names = ", ".join(str(f) for f in folders)
        what = f"lacks {exc}" if isinstance(exc, KeyError) else f"holds a damaged file ({str(exc).splitlines()[0][:120]})"
        raise SitingError(f"{names}: a run or sweep folder {what}; rerun it") from None


class InfeasibleError(SitingError):
    """Constraints cannot all be met; the message names the constraint."""
