"""Atomic file output: never leave a half-written file or run folder behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
