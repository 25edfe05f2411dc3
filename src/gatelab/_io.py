"""Atomic file writes: a reader sees the old file or the new one, never a torn one.

The bytes go to a temporary file in the target's directory, are flushed and fsync'ed, and
``os.replace`` puts them in place (atomic on POSIX and Windows within one file system).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(path)  # a failed write names no file by itself
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` as UTF-8 to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Write `data` as strict JSON (no NaN/inf literals) to `path` atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def atomic_torch_save(path: str | Path, obj: Any) -> Path:
    """``torch.save(obj)`` to `path` atomically; load it back with ``weights_only=True``."""
    import torch  # here, not at the top: results.py (and so every CLI call) imports this module

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written: a write may be short (a signal, a nearly full
    disk) without raising, and the rest must follow or the record is torn."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(28, "No space left on device")  # a write that makes no progress
        view = view[written:]


def check_writable(directory: str | Path) -> None:
    """Create `directory` and write, fsync and remove a probe file in it — before any work
    whose result would go there; StoreError naming the path if the file system refuses."""
    from .faults import NotWritable

    directory = Path(directory)
    probe = directory / f".write-probe-{os.getpid()}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            write_all(fd, b"probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as error:
        raise NotWritable(error.errno, error.strerror or str(error), str(directory)) from None
