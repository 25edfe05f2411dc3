"""The sweep driver: skip what is done, run the rest on an executor, store each record.

Rerunning the same command on the same directory resumes the sweep: runs with an ``ok`` or
``diverged`` record are skipped, so are ``failed`` ones unless ``retry_failed``; a run that was
interrupted resumes from its checkpoint in ``DIR/runs/RUN_ID``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gatelab._io import atomic_write_json
from gatelab._io import check_writable as probe_writable
from gatelab.faults import Interrupted, store_error
from gatelab.results import (
    RECORDS,
    DirectoryLock,
    RecordWriter,
    read_records,
    read_sweep_file,
    refuse_links,
)

from .progress import SweepProgress, wants_live
from .spec import SweepSpec

SPEC_FILE = "sweep.json"
#: local: one run per process; ray: one run per Ray task; ensemble / ray-ensemble: groups of runs
#: that differ only in seed, lr and dropout train as one stacked model (sweep/ensemble.py).
EXECUTORS = ("local", "ray", "ensemble", "ray-ensemble")


def pending(spec: SweepSpec, directory: str | Path, retry_failed: bool = False) -> list:
    """The grid points of `spec` without a final record in `directory` (records come from the
    driver only: a run whose record is missing runs again, from its result.json if it has one)."""
    final = {"ok", "diverged"} if retry_failed else {"ok", "diverged", "failed"}
    done = {r["run_id"] for r in read_records(directory) if r.get("status") in final}
    return [p for p in spec.points if p.run_id not in done]


def run_sweep(
    spec: SweepSpec,
    directory: str | Path,
    *,
    executor: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    retry_failed: bool = False,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    ensemble_size: int | None = None,
) -> list[dict[str, Any]]:
    """Run every pending point of `spec`, appending records to ``directory``; returns all of
    the directory's records for this spec's points. `ensemble_size` caps the members of a
    group for the ensemble executors (default: all runs that can train together).

    `log` gets the plan line, one ``[k/N] …`` line per finished run and a status line (done,
    elapsed, ETA) after the first and then at most every 30 s (default: stderr). `progress`
    (default: stderr is a terminal and no `log` is given) shows instead a live status line
    with the runs' epochs, the ``[k/N]`` lines printed above it (:mod:`.progress`; needs tqdm,
    else plain lines).

    Before any training the directory is checked (writable, no links, not locked by another
    sweep) and locked for the sweep's life. An environment error (full disk, read-only) raises
    :class:`gatelab.faults.StoreError` and records nothing for the runs in progress; SIGINT or
    SIGTERM inside :func:`gatelab.faults.interruptible` stops the workers, records the runs that
    finished and raises :class:`gatelab.faults.Interrupted` with ``recorded``/``pending`` set.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; use {', '.join(EXECUTORS)}")
    if ensemble_size is not None and "ensemble" not in executor:
        raise ValueError("--ensemble-size needs --executor ensemble or ray-ensemble")
    directory = Path(directory)
    live = wants_live(progress, log is not None, _terminal(sys.stderr))
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    stored = read_sweep_file(directory) if directory.is_dir() else None
    description = _spec_json(spec)
    todo = pending(spec, directory, retry_failed) if directory.is_dir() else list(spec.points)
    if not todo and _same_points(stored, description):  # nothing to write: read-only works
        log(f"{spec.name}: {len(spec.points)} runs, all done")
        return _records_of(spec, directory)
    check_writable(directory)
    with DirectoryLock(directory):
        todo = pending(spec, directory, retry_failed)  # another sweep may have added records
        threads = _threads(stored, workers, executor, log)
        description["threads_per_run"] = threads
        _write(directory / SPEC_FILE, description)
        total = len(spec.points)
        options = (workers, threads, ray_address, ensemble_size)
        parallel = _parallel(spec, todo, executor, options, directory)
        log(
            f"{spec.name}: {total} runs, {total - len(todo)} already done, {len(todo)} to run "
            f"({executor} executor, {_count(parallel, 'worker')}, "
            f"{_count(threads, 'thread')} per run) in {directory}"
        )
        if todo:
            display = SweepProgress(spec.name, len(todo), parallel, log, live, _varying(todo))
            recorder = _Recorder(spec, directory, len(todo), display)
            _execute(spec, todo, directory, executor, options, recorder)
    return _records_of(spec, directory)


class _Recorder:
    """Appends each delivered record and shows progress; counts what this sitting recorded."""

    def __init__(self, spec, directory: Path, total: int, display: SweepProgress) -> None:
        self.spec, self.total, self.display = spec, total, display
        self.writer = RecordWriter(directory)
        self.count = 0

    def __call__(self, record: dict[str, Any]) -> None:
        record["sweep"] = self.spec.name
        self.writer.append(record)
        self.count += 1
        self.display.finished(record, f"[{self.count}/{self.total}] {_short(record)}")

    def close(self) -> None:
        self.display.close()


def _execute(spec, todo, directory: Path, executor: str, options: tuple, recorder) -> None:
    """Run `todo` on the executor, delivering records to `recorder`; an interrupt is re-raised
    with what was recorded and what is left."""
    workers, threads, ray_address, size = options
    display = recorder.display
    try:
        if "ensemble" in executor:
            from .ensemble import run_ensemble

            run_ensemble(
                spec.points, todo, str(directory), recorder, workers, size, ray_address,
                use_ray=executor == "ray-ensemble", threads=threads, progress=display,
            )  # fmt: skip
        elif executor == "ray":
            from .ray_backend import run_ray

            run_ray(todo, str(directory), recorder, workers, ray_address, threads)
        else:
            from .local import run_local

            run_local(todo, str(directory), recorder, workers, threads, display)
    except Interrupted as stop:
        stop.detail = (
            f"{recorder.count} run(s) recorded in this sitting in {directory / RECORDS}, "
            f"{len(todo) - recorder.count} still to run; rerun the same command to resume "
            "(runs in progress continue from their last checkpoint)"
        )
        raise
    finally:
        recorder.close()


def check_writable(directory: Path) -> None:
    """Refuse linked store files, then probe that `directory` takes writes (StoreError)."""
    refuse_links(directory / RECORDS, directory / SPEC_FILE)
    probe_writable(directory)


def _parallel(spec, todo, executor: str, options: tuple, directory: Path) -> int | None:
    """How many jobs (runs, or ensemble groups) train at once: the workers (default: one per
    core), at most one per job; None on a Ray cluster of unknown size."""
    from .local import default_workers

    workers, _, ray_address, size = options
    if executor.startswith("ray") and workers is None and ray_address:
        return None
    jobs = len(todo)
    if "ensemble" in executor:
        from .ensemble import group_jobs

        jobs = len(group_jobs(spec.points, todo, str(directory), size))
    return max(1, min(workers or default_workers(), jobs))


def _count(n: int | None, noun: str) -> str:
    if n is None:
        return f"the cluster's {noun}s"
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _varying(todo) -> set[str]:
    """The run settings that differ between the runs to do (the status line names them)."""
    return {k for k in ("task", "lr") if len({getattr(p.config, k) for p in todo}) > 1}


def _terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False


def _threads(stored: dict | None, workers: int | None, executor: str, log) -> int:
    """Torch threads per run: the sweep's recorded value on a resume (results depend on it,
    so a sweep never mixes runs computed with different thread counts), else cores // workers
    (1 for the Ray executors: one CPU per task)."""
    from .local import default_threads

    wanted = 1 if executor.startswith("ray") else default_threads(workers)
    recorded = (stored or {}).get("threads_per_run")
    if isinstance(recorded, int) and not isinstance(recorded, bool) and recorded >= 1:
        if recorded != wanted:
            log(
                f"resuming with {recorded} thread(s) per run, as this sweep's runs so far were "
                f"computed (not {wanted}): results depend on the thread count"
            )
        return recorded
    return wanted


def _write(path: Path, description: dict[str, Any]) -> None:
    try:
        atomic_write_json(path, description)
    except OSError as error:
        raise store_error(error, path) from None


def _same_points(stored: dict | None, description: dict[str, Any]) -> bool:
    return stored is not None and stored.get("points") == description["points"]


def _records_of(spec: SweepSpec, directory: Path) -> list[dict[str, Any]]:
    ids = {p.run_id for p in spec.points}
    return [r for r in read_records(directory) if r["run_id"] in ids]


def _short(record: dict[str, Any]) -> str:
    metrics = record.get("metrics") or {}
    shown = next(
        (
            f"{k} {v:.4f}"
            for k in ("test_accuracy", "test_mse")
            if isinstance(v := metrics.get(k), float)
        ),
        "",
    )
    return (
        f"{record['task']} {record['activation']} seed {record['seed']} lr {record['lr']:g}: "
        f"{record['status']} {shown}"
    ).rstrip()


def _spec_json(spec: SweepSpec) -> dict[str, Any]:
    points = []
    for p in spec.points:
        config = asdict(p.config)
        config["options"] = dict(p.config.options)
        points.append({"run_id": p.run_id, "config": config, "axes": dict(p.axes)})
    return {
        "name": spec.name,
        "protocol": dict(spec.protocol),
        "spec": spec.source,
        "points": points,
    }
