"""The ensemble executor: grid points that differ only in seed, learning rate and dropout train
together as one stacked model (gatelab.ensemble); everything else runs one by one.

    gatelab sweep SPEC --out DIR --executor ensemble [--ensemble-size K] [--workers N]

Groups are planned from *all* points of the spec (not only the pending ones), sorted and cut
into chunks of at most K (``--ensemble-size``, which caps memory), so a group keeps its id —
``DIR/groups/GROUP_ID/checkpoint.pt`` — across resumes. A group writes each member's record to
``DIR/runs/RUN_ID/result.json`` before the driver appends them to records.jsonl and before its
checkpoint is deleted: a kill at any moment loses and duplicates nothing (a rerun finds the
results, or resumes the checkpoint, or — for members not yet started — trains them).

Tasks whose models are not chains of Linear / activation / Dropout layers (BatchNorm CNNs,
ResNets, transformers) keep exact sequential semantics: their runs train one by one, with a
one-line notice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gatelab._io import atomic_write_json
from gatelab.ensemble.trainer import group_key
from gatelab.faults import is_environment_error, store_error
from gatelab.tasks import RunConfig, objective_fields

from .worker import RUNS, point_args, report, reporting, run_info, run_point

GROUPS = "groups"


def plan(points: Sequence, size: int | None = None) -> list[tuple[str, list]]:
    """(group id, points) for every group of `points`, at most `size` points each."""
    if size is not None and size < 1:
        raise ValueError(f"the ensemble size must be at least 1, got {size}")
    by_key: dict[str, list] = {}
    for point in points:
        by_key.setdefault(group_key(point.config), []).append(point)
    groups = []
    for key in sorted(by_key):
        members = sorted(
            by_key[key],
            key=lambda p: (json.dumps(dict(p.config.options), sort_keys=True, default=list),
                           p.config.lr, p.config.seed),
        )  # fmt: skip
        step = size or len(members)
        for start in range(0, len(members), step):
            chunk = members[start : start + step]
            digest = hashlib.sha1(" ".join(p.run_id for p in chunk).encode()).hexdigest()[:12]
            groups.append((f"{chunk[0].config.task}-group-{digest}", chunk))
    return groups


def run_group(
    members: list[tuple[dict[str, Any], str, dict[str, Any]]], directory: str, group_id: str
) -> list[dict[str, Any]]:
    """Train one group in this process; the members' records (run_id and axes included).
    Members whose result.json is already there are not trained again."""
    from gatelab.ensemble import NotStackable, train_group
    from gatelab.train import RESULT, finished_record

    root = Path(directory)
    done, todo = [], []
    for config, run_id, axes in members:
        record = finished_record(root / RUNS / run_id / RESULT, RunConfig(**config))
        if record is not None:
            done.append({"run_id": run_id, "axes": axes, **record})
        else:
            todo.append((config, run_id, axes))
    if not todo:
        return done
    configs = [RunConfig(**config) for config, _, _ in todo]
    checkpoint = root / GROUPS / group_id
    report("start", group_id, run_info(todo[0][0], runs=len(todo)))
    try:
        records = train_group(
            configs, group_id, checkpoint, _log,
            on_epoch=lambda epoch, epochs: report("epoch", group_id, epoch, epochs),
        )  # fmt: skip
    except NotStackable as reason:
        report("end", group_id)
        _log(f"ensemble: {configs[0].task} runs train one by one ({reason})")
        return done + [run_point(*member, directory) for member in todo]
    except Exception as error:  # noqa: BLE001  (setup failed: failed records, as run_point gives)
        if is_environment_error(error):
            raise store_error(error) from None
        return done + [_failed(config, run_id, axes, error) for config, run_id, axes in todo]
    finally:
        report("end", group_id)
    for record, (_, run_id, axes) in zip(records, todo):
        try:
            atomic_write_json(root / RUNS / run_id / RESULT, record)
        except OSError as error:
            raise store_error(error, root / RUNS / run_id / RESULT) from None
        done.append({"run_id": run_id, "axes": axes, **record})
    shutil.rmtree(checkpoint, ignore_errors=True)  # the records are what lasts
    return done


def _log(line: str) -> None:
    """A group's lines (epochs, notices) go to the driver's display, else to stderr."""
    if reporting():
        report("log", line)
    else:
        print(line, file=sys.stderr, flush=True)


def _failed(config: dict[str, Any], run_id: str, axes: dict, error: Exception) -> dict[str, Any]:
    import traceback

    return {
        "run_id": run_id,
        "axes": axes,
        **config,
        "status": "failed",
        "error": f"{type(error).__name__}: {error}",
        "traceback": traceback.format_exc(),
        "metrics": {},
        "objective": objective_fields(config["task"]),
        "history": [],
    }


def run_ensemble(
    points: Sequence,
    todo: Sequence,
    directory: str,
    deliver: Callable[[dict[str, Any]], None],
    workers: int | None = None,
    size: int | None = None,
    ray_address: str | None = None,
    use_ray: bool = False,
    threads: int | None = None,
    progress: Any = None,
) -> None:
    """Deliver the records of the pending points `todo`, trained in the groups of `points`
    (`progress`: the driver's display, which the local workers report to)."""
    jobs = group_jobs(points, todo, directory, size)

    def deliver_group(records: list[dict[str, Any]]) -> None:
        for record in records:
            deliver(record)

    if use_ray:
        from .ray_backend import run_ray_jobs

        run_ray_jobs(run_group, jobs, deliver_group, workers, ray_address, threads or 1)
    else:
        from .local import run_jobs

        run_jobs(run_group, jobs, deliver_group, workers, threads, progress)


def group_jobs(points: Sequence, todo: Sequence, directory: str, size: int | None) -> list:
    """The jobs (members, directory, group id) that train the pending points `todo`."""
    pending = {p.run_id for p in todo}
    jobs = []
    for group_id, members in plan(points, size):
        mine = [point_args(p) for p in members if p.run_id in pending]
        if mine:
            jobs.append((mine, directory, group_id))
    return jobs
