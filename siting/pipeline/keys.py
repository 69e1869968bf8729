"""Stage keys, the in-process memo and the stage timer shared by every pipeline stage."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: A folder holding this file is a run folder: the only kind ``--force`` may replace.
RUN_MARKER = "manifest.json"


def digest(*parts) -> str:
    """Content hash (16 hex digits) of JSON-able values and numpy arrays."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(str((p.dtype, p.shape)).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"|")
    return h.hexdigest()[:16]


class _Memo:
    """A small in-process LRU memo per stage (big objects: keep only the last few)."""

    def __init__(self, size: int = 4):
        self.size = size
        self.items: OrderedDict[str, object] = OrderedDict()

    def get(self, key: str):
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        return None

    def put(self, key: str, value) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


_INPUTS, _NETWORKS, _MATRICES = _Memo(4), _Memo(4), _Memo(8)


def clear_memo() -> None:
    """Forget every in-process stage result (the disk caches stay)."""
    for m in (_INPUTS, _NETWORKS, _MATRICES):
        m.items.clear()


def _files_fingerprint(folder: Path) -> list:
    """(name, size, mtime) of every file under ``folder``: bundled data changes change the key."""
    if not folder.is_dir():
        return []
    out = []
    for root, _, files in os.walk(folder):
        for f in sorted(files):
            st = os.stat(Path(root) / f)
            out.append((str(Path(root, f).relative_to(folder)), st.st_size, st.st_mtime_ns))
    return sorted(out)


class Timer:
    """Wall-clock seconds per stage (recorded in the manifest)."""

    def __init__(self):
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        t = time.perf_counter()
        log.info("· %s", name)
        yield
        self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - t, 3)


