"""Atomic file output: never leave a half-written file or run folder behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Usable with any writer that takes a file name (GeoDataFrame.to_file, DataFrame.to_csv, ...)::

        with atomic_path("out.gpkg") as tmp:
            gdf.to_file(tmp, driver="GPKG")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL want to create the file themselves
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _plain(value, path: str, nulls: dict):
    """JSON-ready ``value``: numpy scalars and arrays as Python values, paths as text, and every
    non-finite number as ``None`` (recorded in ``nulls`` under its dotted path as inf, -inf or nan)."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): _plain(v, f"{path}.{k}" if path else str(k), nulls) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, f"{path}[{i}]", nulls) for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), path, nulls)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        nulls[path] = "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def json_text(obj, **kwargs) -> str:
    """Strict JSON (RFC 8259: never ``Infinity`` or ``NaN``) of a result dict.

    A number that is not finite is written as ``null`` and named, with what it was, under
    ``"non_finite"`` (e.g. ``{"gap": "inf"}``: no bound was proven), so other tools' parsers read
    the file and a reader still sees why the value is missing.
    """
    import json

    nulls: dict[str, str] = {}
    clean = _plain(obj, "", nulls)
    if nulls and isinstance(clean, dict):
        clean["non_finite"] = nulls
    kwargs.setdefault("indent", 2)
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(clean, allow_nan=False, **kwargs)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_writable_place(path: Path, what: str) -> None:
    """The nearest existing folder above ``path`` is a folder siting can write in (probed with a
    temporary file), else one-line :class:`~siting.errors.SitingError`."""
    from siting.errors import SitingError

    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise SitingError(f"cannot create the {what}: {parent} is a file; choose another --out", path=path)
    try:
        fd, probe = tempfile.mkstemp(prefix=".siting-write-check-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SitingError(f"cannot write the {what} here ({exc.strerror or exc}); choose another --out", path=path) from None


def check_output_dir(path: str | os.PathLike, *, force: bool = False, marker: str | None = None, what: str = "output folder") -> None:
    """Check, before any work, that ``path`` can become an output folder.

    Refuses an existing ``path`` without ``force``; with ``force``, replaces only a folder holding
    ``marker`` (e.g. ``manifest.json``: a run folder), never a file or another folder. Refuses a
    place that cannot be written (no permission, read-only, below a file). Raises
    :class:`~siting.errors.SitingError` with one line naming the path and the fix.
    """
    from siting.errors import SitingError

    path = Path(path)
    if path.is_file() or (path.exists() and not path.is_dir()):
        raise SitingError(f"exists and is a file, not a {what}; choose another --out", path=path)
    if path.exists():
        if not force:
            raise SitingError(f"{what} exists; use --force to overwrite it or choose another --out", path=path)
        if marker and not (path / marker).is_file():
            raise SitingError(f"exists but is not a {what} (no {marker}); --force replaces only {what}s: "
                              "choose another --out", path=path)  # fmt: skip
    _check_writable_place(path, what)


#: The mark in the ``<head>`` of every HTML page siting writes (maps, reports): what ``--force`` may replace.
GENERATOR = '<meta name="generator" content="siting">'
#: Marks of pages written before the generator mark (the map's stylesheet comment).
_LEGACY_MARKS = ("/* siting decision-maker map (part of the siting package) */",)


def mark_html(page: str) -> str:
    """``page`` with :data:`GENERATOR` right after its ``<head>`` (once)."""
    import re

    if GENERATOR in page[:4096]:
        return page
    return re.sub(r"(<head(?:\s[^>]*)?>)", lambda m: m.group(1) + GENERATOR, page, count=1, flags=re.IGNORECASE)


def html_by_siting(path: Path) -> bool:
    """True for an HTML page siting wrote (its :data:`GENERATOR` mark, or an older map's stylesheet comment)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return GENERATOR in head or any(m in head for m in _LEGACY_MARKS)


def csv_with_header(columns) -> Callable[[Path], bool]:
    """A test for :func:`check_output_file`: the file is a CSV whose header is exactly ``columns`` (what siting writes)."""

    def test(path: Path) -> bool:
        try:
            with open(path, encoding="utf-8-sig", errors="replace") as fh:
                return fh.readline().rstrip("\r\n").split(",") == list(columns)
        except OSError:
            return False

    return test


def check_output_file(path: str | os.PathLike, *, force: bool = False, written_by: Callable[[Path], bool] | None = None,
                      what: str = "output file") -> None:  # fmt: skip
    """Check, before any work, that ``path`` can be written: the file rule of ``siting run``.

    An existing file is replaced only with ``force`` and only when ``written_by(path)`` says siting
    wrote it (e.g. :func:`html_by_siting`); a folder is never replaced; the place must be
    writable. Raises :class:`~siting.errors.SitingError` with one line naming the path and the fix.
    """
    from siting.errors import SitingError

    path = Path(path)
    if path.is_dir():
        raise SitingError(f"is a folder; give a file name for the {what} (--out)", path=path)
    if path.exists():
        if not force:
            raise SitingError("exists; use --force to overwrite it or choose another --out", path=path)
        if written_by is not None and not written_by(path):
            raise SitingError(f"exists and was not written by siting; --force replaces only siting's own {what}s: choose "
                              "another --out", path=path)  # fmt: skip
    _check_writable_place(path, what)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, force: bool = False, marker: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``path`` only when the block succeeds.

    Refuses to replace an existing folder unless ``force`` is true, and then (with ``marker``)
    only a folder holding that file; never replaces a file (see :func:`check_output_dir`). The
    new folder gets the usual permissions (``0777`` minus the umask), not the private ``0700`` of
    a temporary folder; nothing is left behind (no hidden ``.NAME.*`` folders).
    """
    from siting.errors import SitingError

    path = Path(path)
    check_output_dir(path, force=force, marker=marker)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as exc:
        raise SitingError(f"cannot write the output folder here ({exc.strerror or exc}); choose another --out", path=path) from None
    old = None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            check_output_dir(path, force=force, marker=marker)  # still what it was when the work began
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / "replaced")
            try:
                os.replace(tmp, path)
            except OSError:
                os.replace(old / "replaced", path)  # put the previous folder back
                raise
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
