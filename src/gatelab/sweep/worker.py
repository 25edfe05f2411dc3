"""What runs inside a worker process: one grid point → one record (never an exception).

A worker tells the driver's progress display what it is doing through :func:`report` — events
``("start", key, info)``, ``("epoch", key, epoch, epochs)``, ``("end", key)`` and
``("log", line)`` (key: the run id, or the group id of an ensemble) — when the executor gave it
a channel (:func:`set_reporter`: a multiprocessing queue's ``put``, or the display itself when
the runs are in the driver's process); without one they go nowhere.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gatelab.faults import is_environment_error, store_error
from gatelab.tasks import RunConfig, objective_fields

RUNS = "runs"

_reporter: Callable[[tuple], None] | None = None


def set_reporter(reporter: Callable[[tuple], None] | None) -> None:
    """Where :func:`report` sends this process's progress events (None: nowhere)."""
    global _reporter
    _reporter = reporter


def reporting() -> bool:
    """Whether this process's events reach a driver's display."""
    return _reporter is not None


def report(*event: Any) -> None:
    """Send one progress event to the driver; never fails a run (progress is best effort)."""
    if _reporter is not None:
        try:
            _reporter(event)
        except Exception:  # noqa: BLE001  (a closed queue, a display that went away)
            pass


def run_info(config: dict[str, Any], runs: int = 1) -> dict[str, Any]:
    """What a ``start`` event says about a run (or a group of `runs`)."""
    keys = ("task", "activation", "seed", "lr")
    return {**{k: config.get(k) for k in keys}, "runs": runs}


def set_threads(threads: int) -> None:
    """Give this worker `threads` intra-op threads (workers × threads ≈ cores)."""
    import torch

    torch.set_num_threads(max(1, threads))


def run_point(
    config: dict[str, Any], run_id: str, axes: dict[str, Any], directory: str
) -> dict[str, Any]:
    """Train one grid point, resuming from ``DIR/runs/RUN_ID`` if a checkpoint is there; the
    record carries run_id and axes. Any error becomes a `failed` record."""
    from gatelab.train import CHECKPOINT, run

    out = Path(directory) / RUNS / run_id
    report("start", run_id, run_info(config))
    try:
        record = run(
            RunConfig(**config), out, resume=True, log=lambda line: None, progress=False,
            on_epoch=lambda epoch, epochs: report("epoch", run_id, epoch, epochs),
        )  # fmt: skip
    except Exception as error:  # noqa: BLE001  (run() only raises for bad configs)
        if is_environment_error(error):  # StoreError: stop the sweep, record nothing
            raise store_error(error) from None
        record = {
            **config,
            "status": "failed",
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
            "metrics": {},
            "objective": objective_fields(config["task"]),
            "history": [],
        }
    finally:
        report("end", run_id)
    (out / CHECKPOINT).unlink(missing_ok=True)  # the record is what lasts; free the disk
    return {"run_id": run_id, "axes": axes, **record}


def point_args(point) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The picklable arguments of :func:`run_point` for a GridPoint."""
    config = asdict(point.config)
    config["options"] = dict(point.config.options)
    return config, point.run_id, dict(point.axes)
