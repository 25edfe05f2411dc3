"""What runs inside a worker process: one grid point → one record (never an exception)."""

from __future__ import annotations

import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gatelab.faults import is_environment_error, store_error
from gatelab.tasks import RunConfig, objective_fields

RUNS = "runs"


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
    try:
        record = run(RunConfig(**config), out, resume=True, log=lambda line: None, progress=False)
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
    (out / CHECKPOINT).unlink(missing_ok=True)  # the record is what lasts; free the disk
    return {"run_id": run_id, "axes": axes, **record}


def point_args(point) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The picklable arguments of :func:`run_point` for a GridPoint."""
    config = asdict(point.config)
    config["options"] = dict(point.config.options)
    return config, point.run_id, dict(point.axes)
