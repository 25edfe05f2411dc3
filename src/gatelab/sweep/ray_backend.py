"""The Ray executor: one Ray task per grid point (or per ensemble group), the same records as
the local executor.

``address=None`` starts a local Ray runtime with `workers` CPUs; an address ("auto",
"ray://host:10001") joins an existing cluster. Workers write checkpoints under
``DIR/runs/RUN_ID`` (``DIR/groups/GROUP_ID`` for a group): for resume after a crash on a
multi-node cluster, DIR must be on a shared file system. Records are appended by the driver only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gatelab.faults import Interrupted

from .worker import point_args, run_point, set_threads


def _remote_job(threads: int, function: Callable[..., Any], *job: Any) -> Any:
    set_threads(threads)
    return function(*job)


def run_ray_jobs(
    function: Callable[..., Any],
    jobs: Sequence[tuple],
    deliver: Callable[[Any], None],
    workers: int | None = None,
    address: str | None = None,
    threads: int = 1,
) -> None:
    """``deliver(function(*job))`` for each job as its Ray task finishes (`threads` CPUs and
    torch threads per task). Interrupted, it delivers the tasks that had finished, cancels the
    rest and shuts the runtime down."""
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
    pending: list = []
    try:
        remote = ray.remote(num_cpus=threads)(_remote_job)
        pending = [remote.remote(threads, function, *job) for job in jobs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            deliver(ray.get(done[0]))
    except Interrupted:
        finished, pending = ray.wait(pending, num_returns=len(pending), timeout=0)
        for ref in pending:
            ray.cancel(ref, force=True)
        for ref in finished:
            deliver(ray.get(ref))
        raise
    finally:
        if started:
            ray.shutdown()


def run_ray(
    points: Sequence,
    directory: str,
    deliver: Callable[[Any], None],
    workers: int | None = None,
    address: str | None = None,
    threads: int = 1,
) -> None:
    """Deliver each point's record as its Ray task finishes."""
    jobs = [(*point_args(p), directory) for p in points]
    run_ray_jobs(run_point, jobs, deliver, workers, address, threads)
