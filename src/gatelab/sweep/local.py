"""The local executor: a pool of worker processes sized to the cores.

Workers ignore SIGINT (a terminal's Ctrl-C reaches the whole process group), from their first
instruction on (:func:`gatelab.faults.children_ignore_interrupts`): the driver decides. When it
is interrupted, it terminates the workers at once — an in-flight run keeps its last epoch's
checkpoint — delivers the results that had finished but were not yet delivered, and re-raises,
so every finished run gets its record and no queued run starts.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from gatelab.faults import Interrupted, children_ignore_interrupts, ignore_interrupts, kill_workers

from .worker import point_args, run_point, set_reporter, set_threads

Deliver = Callable[[Any], None]


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def default_threads(workers: int | None) -> int:
    """Torch threads per run: the cores shared among the workers (cores // workers)."""
    cores = default_workers()
    return max(1, cores // min(workers or cores, cores))


def _start_worker(threads: int, events: Any = None) -> None:
    """A pool worker: Ctrl-C left to the driver, `threads` torch threads, progress events
    into the queue `events` (if any)."""
    ignore_interrupts()
    set_threads(threads)
    if events is not None:
        set_reporter(events.put)


def run_jobs(
    function: Callable[..., Any],
    jobs: Sequence[tuple],
    deliver: Deliver,
    workers: int | None = None,
    threads: int | None = None,
    progress: Any = None,
) -> None:
    """``deliver(function(*job))`` for each job as it finishes. Workers are spawned processes
    (a fresh interpreter: no inherited threads or CUDA state) with `threads` torch threads each
    (default cores // workers); with one worker the jobs run in this process. With `progress`,
    the jobs' events (:func:`.worker.report`) reach ``progress.event``: directly in this
    process, through a queue the display drains from worker processes."""
    workers = min(workers or default_workers(), max(1, len(jobs)))
    threads = threads or default_threads(workers)
    if workers == 1:
        set_threads(threads)
        set_reporter(progress.event if progress is not None else None)
        try:
            for job in jobs:
                deliver(function(*job))
        finally:
            set_reporter(None)
        return
    context = multiprocessing.get_context("spawn")
    events = context.Queue() if progress is not None else None
    if events is not None:
        progress.listen(events)
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(threads, events)
    )
    with children_ignore_interrupts():  # the pool spawns its workers in submit()
        pending = {pool.submit(function, *job) for job in jobs}
    ready: list = []
    try:
        while pending or ready:
            if not ready:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                ready = list(done)
            deliver(ready.pop().result())  # popped first: a record is never delivered twice
    except Interrupted:
        finished = ready + [f for f in pending if f.done()]  # before the kill: results
        stop(pool, pending)
        for future in finished:
            if future.exception() is None:
                deliver(future.result())
        raise
    except BaseException:
        stop(pool, pending)
        raise
    pool.shutdown()


def stop(pool: ProcessPoolExecutor, pending: set) -> None:
    """Terminate the workers now (an in-flight run keeps its last checkpoint) instead of
    letting the pool work through its queue: the pool then fails every queued job as broken.
    Queued futures are not cancelled first — Python 3.11's pool then raises InvalidStateError
    in its manager thread when it fails the cancelled ones."""
    kill_workers()
    # Joining the pool's manager (it notices the dead workers at once) releases its queues'
    # semaphores; without it the resource tracker warns of leaked ones after the exit line.
    closer = threading.Thread(target=pool.shutdown, daemon=True)
    closer.start()
    closer.join(timeout=5)


def run_local(
    points: Sequence,
    directory: str,
    deliver: Deliver,
    workers: int | None = None,
    threads: int | None = None,
    progress: Any = None,
) -> None:
    """Deliver each point's record as it finishes (one run per job)."""
    jobs = [(*point_args(p), directory) for p in points]
    run_jobs(run_point, jobs, deliver, workers, threads, progress)
