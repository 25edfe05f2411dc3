"""The local executor: a pool of worker processes sized to the cores."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from .worker import point_args, run_point, set_threads


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def run_jobs(
    function: Callable[..., Any], jobs: Sequence[tuple], workers: int | None = None
) -> Iterator[Any]:
    """Yield ``function(*job)`` for each job as it finishes. Workers are spawned processes (a
    fresh interpreter: no inherited threads or CUDA state), each with cores // workers torch
    threads; with one worker the jobs run in this process."""
    cores = default_workers()
    workers = min(workers or cores, max(1, len(jobs)))
    if workers == 1:
        set_threads(cores)
        for job in jobs:
            yield function(*job)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=set_threads, initargs=(max(1, cores // workers),)
    ) as pool:
        futures = [pool.submit(function, *job) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def run_local(
    points: Sequence, directory: str, workers: int | None = None
) -> Iterator[dict[str, Any]]:
    """Yield each point's record as it finishes (one run per job)."""
    yield from run_jobs(run_point, [(*point_args(p), directory) for p in points], workers)
