"""The results store of a sweep directory: one JSON record per run, append-only, crash-safe.

    DIR/records.jsonl      one line per finished run (ok, diverged or failed): the trainer's
                           record plus run_id and the grid point
    DIR/runs/RUN_ID/       the run's checkpoint while it trains (resume after a crash)
    DIR/sweep.json         the validated sweep spec

A run trained in an ensemble (gatelab.ensemble) says so in ``ensemble = {group, size, member}``
(None for a run of its own); its ``wall_seconds`` and ``train_seconds`` are its group's, which
trained all members at once: count them once per group (gatelab.report.render.compute_seconds).

A record is written as one ``write`` of a whole line followed by ``fsync``, by one process (the
sweep's driver), so a record is whole or absent. A crash in the middle of a write leaves a
truncated last line: :func:`read_records` ignores it with a warning naming the file, and
:class:`RecordWriter` cuts it off before appending, so the next record starts on its own line.

    import gatelab.results
    df = gatelab.results.load("sweeps/demo")   # pandas DataFrame, one row per run
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

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


class RecordWriter:
    """Appends whole records to ``DIR/records.jsonl`` (one process writes; see module doc)."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / RECORDS
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _cut_partial_tail(self.path)

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, allow_nan=False, ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


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
            f"{path}: dropping a truncated last record ({len(data) - keep} bytes)", stacklevel=3
        )
        file.truncate(keep)


def read_records(directory: str | Path) -> list[dict[str, Any]]:
    """The records of a sweep directory, the latest per run_id (a retried run replaces its
    failed record); a truncated or unreadable line is skipped with a warning naming the file."""
    path = Path(directory) / RECORDS
    if not path.exists():
        return []
    latest: dict[str, dict[str, Any]] = {}
    for number, record in _parse_lines(path):
        if not isinstance(record, dict) or "run_id" not in record:
            warnings.warn(f"{path}:{number}: not a run record; skipped", stacklevel=2)
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
            warnings.warn(f"{path}:{number}: {where} ignored", stacklevel=3)


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


def _protocol(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / "sweep.json"
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("protocol") or {})
