"""On-disk caches whose hits equal rebuilds: keyed, checksummed, written atomically, verified on read.

Every cache kind (built road graphs, drive-time matrices, far rows, demand points) stores its
entries with :func:`save` and reads them with :func:`load`. An entry is one ``.npz`` file with the
arrays and a JSON header (``__meta__``) holding

* ``kind`` and the **full key**: the parts the key hashes (settings, file and array fingerprints),
  not only the hash that names the file;
* a **checksum** (SHA-256) of every array's name, dtype, shape and bytes.

:func:`load` returns the arrays only if the file is a readable entry of this kind, its parts
equal the parts asked for, every array has the dtype and shape the header states, the checksum
matches and the caller's own check (shapes against the run, row counts) passes. Anything else —
an entry copied from another scenario, a truncated or overwritten file, random bytes — is
reported in one warning line, recorded (:func:`recording`, written to ``manifest.json`` as
``cache_events``) and treated as a miss: the caller rebuilds and :func:`save` replaces the entry.

Reading untrusted ``.npz`` files (cache entries and user inputs) goes through :func:`read_npz`:
member sizes are checked against the memory budget (:mod:`siting.resources`) before anything is
decompressed, and every failure is one :class:`DamagedFile` with a plain reason.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from siting.errors import SitingError

log = logging.getLogger(__name__)

#: Format tag of a cache entry (bump to invalidate every entry).
FORMAT = "siting-cache-2"
_META = "__meta__"


class DamagedFile(Exception):
    """A ``.npz`` file that cannot be read as what it should be; ``str()`` is the reason."""


# ------------------------------------------------------------------------------------------- hashing
def fingerprint(*arrays: np.ndarray) -> str:
    """SHA-256 (hex) of arrays: dtype, shape and bytes of each, in order."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B") if a.size else b"")
        h.update(b"|")
    return h.hexdigest()


def key_of(parts: Mapping) -> str:
    """The key (16 hex digits) of a cache entry's parts (JSON-able; arrays given as :func:`fingerprint`)."""
    return hashlib.sha256(_canonical(parts).encode()).hexdigest()[:16]


def _canonical(parts: Mapping) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of named arrays (names sorted)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode() + b"=")
        h.update(fingerprint(arrays[name]).encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------- events
_EVENTS: contextvars.ContextVar[list | None] = contextvars.ContextVar("siting_cache_events", default=None)


@contextmanager
def recording() -> Iterator[list[dict]]:
    """Collect the cache problems met inside the block (each: ``cache``, ``file``, ``problem``, ``action``)."""
    events: list[dict] = []
    token = _EVENTS.set(events)
    try:
        yield events
    finally:
        _EVENTS.reset(token)


def _damaged(kind: str, path: Path, problem: str) -> None:
    log.warning("cache: ignoring the %s entry %s (%s); rebuilding it", kind, path.name, problem)
    events = _EVENTS.get()
    if events is not None:
        events.append({"cache": kind, "file": str(path), "problem": problem, "action": "rebuilt"})


# ------------------------------------------------------------------------------------------- files
def read_npz(path: Path, budget_what: str | None = None) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (no pickles), or :class:`DamagedFile` with the reason.

    Each member's ``.npy`` header is read first: an array claiming more bytes than its member
    holds, or all of them together more than the memory budget, is refused before anything is
    allocated (a damaged or hostile header cannot make it allocate more). ``budget_what`` names a
    user's file in the :class:`~siting.resources.ResourceError` raised when a genuine file
    exceeds the budget.
    """
    from siting import resources

    path = Path(path)
    try:
        total = 0
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as fh:
                    fmt = np.lib.format
                    version = fmt.read_magic(fh)
                    shape, _, dtype = (fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0)(fh)
                if dtype.hasobject:
                    raise DamagedFile(f"member {info.filename} holds Python objects, not numbers or text")
                nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if nbytes > info.file_size:
                    raise DamagedFile(f"member {info.filename} claims {resources.size_text(nbytes)} but holds "
                                      f"{resources.size_text(info.file_size)}")  # fmt: skip
                total += nbytes
        if total > resources.budget():
            if budget_what is None:
                raise DamagedFile(f"its arrays claim {resources.size_text(total)}, more than the memory budget")
            resources.require(total, budget_what, "use a smaller file")
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except (FileNotFoundError, DamagedFile, SitingError):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to parse untrusted bytes is damage, said in one line
        raise DamagedFile(f"not a readable .npz file ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def save(path: Path, kind: str, parts: Mapping, arrays: Mapping[str, np.ndarray], compress: bool = False) -> None:
    """Write a cache entry atomically (see module docstring).

    Raises :class:`~siting.errors.SitingError` naming ``SITING_CACHE_DIR`` when the cache cannot
    be written.
    """
    from siting.io import atomic_path

    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    meta = {"format": FORMAT, "kind": kind, "key": key_of(parts), "parts": json.loads(_canonical(parts)),
            "checksum": checksum(arrays), "arrays": {k: [v.dtype.str, list(v.shape)] for k, v in arrays.items()}}  # fmt: skip
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            (np.savez_compressed if compress else np.savez)(fh, **arrays, **{_META: np.array(json.dumps(meta))})
    except OSError as exc:
        raise SitingError(f"cannot write the cache ({exc.strerror or exc}); set SITING_CACHE_DIR to a writable folder",
                          path=path) from None  # fmt: skip


def load(path: Path, kind: str, parts: Mapping, check: Callable[[dict], str | None] | None = None) -> dict[str, np.ndarray] | None:
    """The arrays of a verified cache entry, or None (missing, or damaged: warned, recorded).

    Parameters
    ----------
    path : Path
        The entry's file.
    kind : str
        What it holds (``"matrix"``, ``"far rows"``, ``"network"``, ``"demand"``).
    parts : mapping
        The full key: the entry is used only if it was saved with equal parts.
    check : callable, optional
        ``check(arrays)`` returns a problem (str) or None: shapes and row counts against the run.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        arrays = read_npz(path)
        meta = json.loads(str(arrays.pop(_META)))
        if meta.get("format") != FORMAT or meta.get("kind") != kind:
            raise DamagedFile(f"not a {kind} cache entry of this version")
        want, have = json.loads(_canonical(parts)), meta.get("parts") or {}
        if meta.get("key") != key_of(parts) or have != want:
            diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k)) or ["key"]
            raise DamagedFile(f"made for other inputs: {', '.join(diff)} differ")
        declared = meta.get("arrays") or {}
        if set(declared) != set(arrays):
            raise DamagedFile("arrays missing or added")
        for name, a in arrays.items():
            if [a.dtype.str, list(a.shape)] != declared[name]:
                raise DamagedFile(f"array {name} has the wrong dtype or shape")
        if checksum(arrays) != meta.get("checksum"):
            raise DamagedFile("content checksum mismatch")
        problem = check(arrays) if check is not None else None
        if problem:
            raise DamagedFile(problem)
    except KeyError:
        _damaged(kind, path, "no header")
        return None
    except (DamagedFile, json.JSONDecodeError, TypeError, ValueError, AttributeError, IndexError) as exc:
        _damaged(kind, path, str(exc) or type(exc).__name__)
        return None
    return arrays
