"""The Ray executor: one Ray task per grid point, the same records as the local executor.

``address=None`` starts a local Ray runtime with `workers` CPUs; an address ("auto",
"ray://host:10001") joins an existing cluster. Workers write checkpoints under
``DIR/runs/RUN_ID``: for resume after a crash on a multi-node cluster, DIR must be on a shared
file system. Records are appended by the driver only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .worker import point_args, run_point, set_threads


def _remote_point(threads: int, config: dict, run_id: str, axes: dict, directory: str) -> dict:
    set_threads(threads)
    return run_point(config, run_id, axes, directory)


def run_ray(
    points: Sequence, directory: str, workers: int | None = None, address: str | None = None
) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise ImportError("the ray executor needs Ray: pip install 'gatelab[ray]'") from None
    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_remote_point)
        pending = [remote.remote(1, *point_args(p), directory) for p in points]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()
