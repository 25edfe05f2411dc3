"""The results store of a sweep directory: one JSON record per run, append-only, crash-safe.

    DIR/records.jsonl      one line per finished run (ok, diverged or failed): the trainer's
                           record plus run_id and the grid point
    DIR/runs/RUN_ID/       the run's checkpoint while it trains (resume after a crash)
    DIR/sweep.json         the validated sweep spec

A run trained in an ensemble (gatelab.ensemble) says so in ``ensemble = {group, size, member}``
(None for a run of its own); its ``wall_seconds`` and ``train_seconds`` are its group's, which
trained all members at once: count them once per group (gatelab.report.render.compute_seconds).

A record is whole or absent. It is written by one process (the sweep's driver, which holds
an exclusive ``flock`` on ``DIR/.lock`` while it writes: a second sweep on the same directory is
refused) as whole-line ``write`` calls followed by ``fsync``; a short write is continued, and an
I/O error (a full disk, a read-only file system) truncates the file back to its last whole
record and raises :class:`gatelab.faults.StoreError` — the run's outcome is never stored as
failed because the disk was full. A crash in the middle of a write leaves a truncated last
line: :func:`read_records` ignores it with a warning naming the file, and
:class:`RecordWriter` cuts it off before appending, so the next record starts on its own line.

Readers skip, with a warning naming file:line, every line that is not a well-formed record of
this schema (:func:`record_problem`); a results store never follows symbolic links (a linked
``records.jsonl`` or ``sweep.json`` is refused), and a damaged ``sweep.json`` is an error naming
its path.

    import gatelab.results
    df = gatelab.results.load("sweeps/demo")   # pandas DataFrame, one row per run
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ._io import write_all
from .faults import critical, store_error

RECORDS = "records.jsonl"
METRICS = (
    "val_loss",
    "val_accuracy",
    "test_loss",
    "test_accuracy",
    "val_mse",
    "test_mse",
    "val_perplexity",
)
COLUMNS = (
    "run_id",
    "task",
    "activation",
    "seed",
    "lr",
    "status",
    "dataset",
    "scale",
    "epochs",
    *METRICS,
    "error",
    "diverged_epoch",
    "wall_seconds",
    "samples_per_second",
    "device",
    "finished_at",
)
#: What a record says about its metric (``record["objective"]``), as columns of the table.
OBJECTIVE = ("metric", "val_metric", "higher_is_better")


STATUSES = ("ok", "diverged", "failed")
LOCK = ".lock"


class StoreWarning(UserWarning):
    """A line or file of a results store that readers skip (named file:line)."""


class StoreLocked(RuntimeError):
    """Another process holds the results directory's lock."""


def refuse_links(*paths: Path) -> None:
    """ValueError for any path that is a symbolic link: a results store follows none (a link
    would let a sweep truncate or append to a file outside its directory)."""
    for path in paths:
        if path.is_symlink():
            raise ValueError(
                f"{path} is a symbolic link; a results store follows none — replace it with "
                "the file itself or use another directory"
            )


class RecordWriter:
    """Appends whole records to ``DIR/records.jsonl`` (one process writes; see module doc)."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / RECORDS
        refuse_links(self.path)
        if self.path.exists() and not self.path.is_file():
            raise ValueError(f"{self.path} is not a file; move it away to record runs here")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _cut_partial_tail(self.path)
        except OSError as error:
            raise store_error(error, self.path) from None

    def append(self, record: Mapping[str, Any]) -> None:
        """Write `record` as one line, whole or not at all (StoreError on an I/O error)."""
        data = (json.dumps(record, allow_nan=False, ensure_ascii=False) + "\n").encode("utf-8")
        with critical():
            try:
                fd = os.open(
                    self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644
                )
            except OSError as error:
                raise store_error(error, self.path) from None
            try:
                start = os.fstat(fd).st_size
                try:
                    write_all(fd, data)
                    os.fsync(fd)
                except OSError as error:
                    os.ftruncate(fd, start)  # back to the last whole record
                    raise store_error(error, self.path) from None
            finally:
                os.close(fd)


class DirectoryLock:
    """An exclusive ``flock`` on ``DIR/.lock`` for the life of a sweep, released on exit or
    death; the file names the holder (pid, command) for the refusal of a second sweep."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / LOCK
        self.fd: int | None = None

    def __enter__(self) -> DirectoryLock:
        refuse_links(self.path)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            raise store_error(error, self.path) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise StoreLocked(
                f"{self.path.parent} is in use by {holder}; wait for it to finish or give this "
                "sweep another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({' '.join(_command())})\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock; the file stays (harmless)
            self.fd = None


def _command() -> list[str]:
    import sys

    name = Path(sys.argv[0]).name
    return ["gatelab" if name in ("__main__.py", "gatelab") else name, *sys.argv[1:]][:8]


def _cut_partial_tail(path: Path) -> None:
    """Truncate a last line that a crash left without its newline."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as file:
        data = file.read()
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        warnings.warn(
            f"{path}: dropping a truncated last record ({len(data) - keep} bytes)",
            StoreWarning,
            stacklevel=3,
        )
        file.truncate(keep)


#: field → (allowed types, whether it must be present) of a run record.
SCHEMA: dict[str, tuple[tuple[type, ...], bool]] = {
    "run_id": ((str,), True),
    "task": ((str,), True),
    "activation": ((str,), True),
    "seed": ((int,), True),
    "status": ((str,), True),
    "lr": ((int, float, type(None)), False),
    "epochs": ((int, type(None)), False),
    "options": ((dict, type(None)), False),
    "axes": ((dict, type(None)), False),
    "metrics": ((dict, type(None)), False),
    "objective": ((dict, type(None)), False),
    "history": ((list, type(None)), False),
    "curves": ((dict, type(None)), False),
    "ensemble": ((dict, type(None)), False),
    "versions": ((dict, type(None)), False),
    "wall_seconds": ((int, float, type(None)), False),
}


def record_problem(record: Any) -> str | None:
    """Why `record` is not a well-formed run record of this schema, or None if it is."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    for field, (types, required) in SCHEMA.items():
        if field not in record:
            if required:
                return f"no {field!r}"
            continue
        value = record[field]
        if isinstance(value, bool) or not isinstance(value, types):
            return f"{field!r} is {type(value).__name__} {json.dumps(value)[:40]}"
    if not record["run_id"] or record["status"] not in STATUSES:
        return f"status {record['status']!r} is not one of {', '.join(STATUSES)}"
    metrics = record.get("metrics") or {}
    bad = [k for k, v in metrics.items() if v is not None and not _is_number(v)]
    if bad:
        return f"metric {bad[0]!r} is not a number"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_records(directory: str | Path) -> list[dict[str, Any]]:
    """The records of a sweep directory, the latest per run_id (a retried run replaces its
    failed record); a truncated, unreadable or malformed line is skipped with a warning naming
    file:line. A records file that is a link or not a file is a ValueError."""
    path = Path(directory) / RECORDS
    refuse_links(path)
    if not path.exists():
        return []
    if not path.is_file():
        raise ValueError(f"{path} is not a file; it should hold one JSON record per line")
    latest: dict[str, dict[str, Any]] = {}
    for number, record in _parse_lines(path):
        problem = record_problem(record)
        if problem is not None:
            warnings.warn(
                f"{path}:{number}: not a run record ({problem}); skipped",
                StoreWarning,
                stacklevel=2,
            )
            continue
        latest.pop(record["run_id"], None)
        latest[record["run_id"]] = record
    return list(latest.values())


def _parse_lines(path: Path) -> Iterator[tuple[int, Any]]:
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            where = "truncated last record" if number == len(lines) else "unreadable record"
            warnings.warn(f"{path}:{number}: {where} ignored", StoreWarning, stacklevel=3)


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as a table row: metrics and options become columns; history and curves stay
    as objects."""
    row = {key: record.get(key) for key in COLUMNS}
    metrics = record.get("metrics") or {}
    for name in METRICS:
        value = metrics.get(name)
        row[name] = float("nan") if value is None else value
    for key, value in (record.get("options") or {}).items():
        row[key] = tuple(value) if isinstance(value, list) else value
    for key, value in (record.get("axes") or {}).items():
        row.setdefault(key, value)
    objective = record.get("objective") or _task_fields(record.get("task"), "objective") or {}
    for key in OBJECTIVE:
        row[key] = objective.get(key)
    for key in ("lr", "epochs", "dataset"):
        if row[key] is None:  # a run that failed before its config was completed
            row[key] = _task_fields(record.get("task"), key, record.get("scale"))
    ensemble = record.get("ensemble") or {}
    row["ensemble_group"] = ensemble.get("group")  # runs trained together share one
    row["ensemble_size"] = ensemble.get("size")
    row["versions"] = record.get("versions") or {}
    row["history"] = record.get("history") or []
    row["curves"] = record.get("curves") or {}
    return row


def _task_fields(task: Any, field: str, scale: Any = None) -> Any:
    """A task's default for a field its record lacks: records written before records carried
    their objective, and failed-before-training records without lr/epochs/dataset. None when
    the task is not registered in this process."""
    from .tasks import TASKS

    known = TASKS.get(task) if isinstance(task, str) else None
    if known is None:
        return None
    if field == "objective":
        return known.objective_fields
    if field == "lr":
        return known.lr
    if field == "dataset":
        return known.datasets[0]
    return known.epochs.get(scale or "paper")


def load(directory: str | Path):
    """The sweep in `directory` as a pandas DataFrame, one row per run (needs pandas)."""
    import pandas as pd

    rows = [flatten(record) for record in read_records(directory)]
    protocol = _protocol(directory)
    frame = pd.DataFrame(
        rows, columns=None if rows else [*COLUMNS, *OBJECTIVE, "versions", "history", "curves"]
    )
    frame.attrs["protocol"] = protocol  # the sweep's [protocol]: read by gatelab.stats
    return frame


def read_sweep_file(directory: str | Path) -> dict[str, Any] | None:
    """``DIR/sweep.json`` as a dict, None if absent; ValueError naming the path if it is a
    link, not JSON, or not an object."""
    path = Path(directory) / "sweep.json"
    refuse_links(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is damaged ({error}); delete it and rerun the sweep") from None
    if not isinstance(data, dict) or not isinstance(data.get("protocol") or {}, dict):
        raise ValueError(f"{path} is damaged (not a sweep description); delete it and rerun")
    return data


def _protocol(directory: str | Path) -> dict[str, Any]:
    data = read_sweep_file(directory)
    return dict((data or {}).get("protocol") or {})
