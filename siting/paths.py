"""Where the bundled data and the caches live (and, for development only, the shared reference data)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DATA_DIR = Path(os.environ.get("SITING_DATA_DIR", REPO_DIR / "data"))
SCENARIO_DIR = REPO_DIR / "scenarios"
MAPS_DIR = REPO_DIR / "maps"


def shared_data_dir() -> Path | None:
    """Return the reference-data folder (``../shared/data`` beside the checkout), or None.

    For tests, benchmarks and the rebuild scripts in ``scripts/`` only: the product never reads
    this folder at run time (its inputs resolve through :mod:`siting.inputs`; a test checks that
    no other module under ``siting/`` calls this). ``SITING_SHARED_DATA`` overrides the location;
    an empty value disables it.
    """
    env = os.environ.get("SITING_SHARED_DATA")
    if env is not None:
        return Path(env) if env and Path(env).is_dir() else None
    for candidate in (REPO_DIR.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


def cache_dir() -> Path:
    """Directory for built networks and other caches (``SITING_CACHE_DIR`` or ~/.cache/siting).

    Raises :class:`~siting.errors.SitingError` naming the setting when the folder is a file or
    cannot be created or written.
    """
    from siting.errors import SitingError

    env = os.environ.get("SITING_CACHE_DIR")
    path = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "siting"
    setting = f"SITING_CACHE_DIR={env}" if env else f"the cache folder {path} (set SITING_CACHE_DIR to choose another)"
    if path.exists() and not path.is_dir():
        raise SitingError(f"{setting}: is a file, not a folder; set SITING_CACHE_DIR to a writable folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SitingError(f"{setting}: cannot create the cache folder ({exc.strerror or exc}); set SITING_CACHE_DIR to a "
                          "writable folder") from None  # fmt: skip
    if not os.access(path, os.W_OK | os.X_OK):
        raise SitingError(f"{setting}: the cache folder is not writable; set SITING_CACHE_DIR to a writable folder")
    return path
