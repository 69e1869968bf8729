"""User-facing errors.

Every mistake a user can make (bad file, bad field, impossible constraint) raises
:class:`SitingError` with a one-line message that names the file, the field and the fix.
The command line prints that line and exits non-zero, without a traceback.
"""

from __future__ import annotations


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


class InfeasibleError(SitingError):
    """Constraints cannot all be met; the message names the constraint."""
