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
from gatelab.results import RecordWriter, read_records

from .spec import SweepSpec

SPEC_FILE = "sweep.json"
#: local: one run per process; ray: one run per Ray task; ensemble / ray-ensemble: groups of runs
#: that differ only in seed, lr and dropout train as one stacked model (sweep/ensemble.py).
EXECUTORS = ("local", "ray", "ensemble", "ray-ensemble")


def pending(spec: SweepSpec, directory: str | Path, retry_failed: bool = False) -> list:
    """The grid points of `spec` without a final record in `directory`."""
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
    group for the ensemble executors (default: all runs that can train together)."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; use {', '.join(EXECUTORS)}")
    if ensemble_size is not None and "ensemble" not in executor:
        raise ValueError("--ensemble-size needs --executor ensemble or ray-ensemble")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_json(directory / SPEC_FILE, _spec_json(spec))
    todo = pending(spec, directory, retry_failed)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    writer = RecordWriter(directory)
    total = len(spec.points)
    log(
        f"{spec.name}: {total} runs, {total - len(todo)} already done, {len(todo)} to run "
        f"({executor} executor)"
    )
    if todo:
        if "ensemble" in executor:
            from .ensemble import run_ensemble

            records = run_ensemble(
                spec.points, todo, str(directory), workers, ensemble_size, ray_address,
                use_ray=executor == "ray-ensemble",
            )  # fmt: skip
        elif executor == "ray":
            from .ray_backend import run_ray

            records = run_ray(todo, str(directory), workers, ray_address)
        else:
            from .local import run_local

            records = run_local(todo, str(directory), workers)
        bar = _bar(len(todo), progress)
        for count, record in enumerate(records, start=1):
            record["sweep"] = spec.name
            writer.append(record)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(_short(record), refresh=False)
            else:
                log(f"[{count}/{len(todo)}] {_short(record)}")
        if bar is not None:
            bar.close()
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


def _bar(total: int, progress: bool | None):
    if not (sys.stdout.isatty() if progress is None else progress):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="run", file=sys.stderr)


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
