"""A sweep's progress: a live status line on a terminal, plain lines elsewhere.

On a terminal (stderr is one, and tqdm — the ``train`` extra — is installed) one line at the
bottom is redrawn twice a second while each finished run's ``[k/N] …`` line prints above it::

    demo: 5/24 runs done · 0:42 elapsed · ETA 2:10 · running gelu seed 2 epoch 3/10, …

Elsewhere (a pipe, CI, a log file, or no tqdm) the same text is printed as a plain line after
the first finished run (the first ETA) and then at most every :data:`PLAIN_EVERY` seconds,
between the ``[k/N]`` lines, which are unchanged.

The ETA (:func:`eta_seconds`) is the mean wall time of the runs finished in this sitting (a run
of an ensemble: its group's time over its size) times the runs left — less what the runs in
progress have already spent — over the runs that train in parallel. It reads ``ETA —`` until
one run has finished, or ``ETA ~…`` when extrapolated from the epochs the runs in progress have
reported (:func:`epoch_estimates`). Those reports come from the workers' events
(:func:`gatelab.sweep.worker.report`); the Ray executors send none, so there the line shows
no epochs and no estimate before the first run ends.
"""

from __future__ import annotations

import queue as queues
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: Seconds between redraws of the live line (and polls of the workers' events).
REFRESH = 0.5
#: Seconds between plain progress lines, at most (one also follows the first finished run).
PLAIN_EVERY = 30.0
#: Running runs named in the status line; the rest are counted ("+3 more").
SHOWN_RUNNING = 4


def clock(seconds: float) -> str:
    """``0:07``, ``12:03``, ``1:02:03``: a duration in whole seconds."""
    whole = max(0, int(round(seconds)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def eta_seconds(
    run_seconds: Sequence[float],
    remaining: int,
    workers: int,
    in_flight: Sequence[tuple[float, int]] = (),
) -> float | None:
    """Seconds left: `remaining` runs at the mean of `run_seconds` (one run's wall time each)
    over the runs that train at once, ``min(workers, remaining)``. `in_flight` — (seconds
    since it started, runs) per job known to be running — is work partly done: such a job
    counts for what is left of its runs' mean time. None without a run time; 0 when nothing
    remains."""
    if remaining <= 0:
        return 0.0
    if not run_seconds:
        return None
    mean = sum(run_seconds) / len(run_seconds)
    flying = sum(runs for _, runs in in_flight)
    work = max(0, remaining - flying) * mean
    work += sum(max(0.0, mean * runs - age) for age, runs in in_flight)
    return work / max(1, min(workers, remaining))


def throughput_eta(elapsed: float, done: int, remaining: int) -> float | None:
    """Seconds left at this sitting's pace so far (elapsed / done × remaining): for an unknown
    number of parallel workers (a Ray cluster); None before a run has finished."""
    if remaining <= 0:
        return 0.0
    return elapsed / done * remaining if done > 0 else None


def eta_text(seconds: float | None, approximate: bool = False) -> str:
    """``ETA 2:10``; ``ETA ~2:10`` for an estimate from epochs; ``ETA —`` for none yet."""
    if seconds is None:
        return "ETA —"
    return f"ETA {'~' if approximate else ''}{clock(seconds)}"


def epoch_estimates(running: Iterable[dict[str, Any]]) -> list[float]:
    """One run's wall time extrapolated from each running job that has reported epochs: the
    time to its first reported epoch (set-up included) plus its remaining epochs at the pace
    between its first and latest reports (at the first one's pace while it has one), over
    its runs (an ensemble trains several). A job is a dict with ``started``, ``runs``,
    ``epochs`` and ``first``/``last`` = (epoch, time) of its reports."""
    estimates = []
    for job in running:
        first, last, epochs = job.get("first"), job.get("last"), job.get("epochs") or 0
        if first is None or last is None or first[0] < 1 or epochs < last[0]:
            continue
        (e0, t0), (e1, t1) = first, last
        to_first = t0 - job["started"]
        pace = (t1 - t0) / (e1 - e0) if e1 > e0 else to_first / e0
        estimates.append((to_first + (epochs - e0) * pace) / max(1, job.get("runs") or 1))
    return estimates


def running_text(label: str, epoch: int | None = None, epochs: int | None = None) -> str:
    """``gelu seed 2 epoch 3/10``; ``gelu seed 2 starting`` before its first epoch ends."""
    return f"{label} epoch {epoch}/{epochs}" if epoch else f"{label} starting"


def run_label(info: dict[str, Any], varying: Iterable[str] = ()) -> str:
    """``gelu seed 2`` (``gelu ×5`` for an ensemble of 5), with the task and lr when the sweep
    varies them."""
    varying = set(varying)
    runs = info.get("runs") or 1
    activation = info.get("activation")
    label = f"{activation} ×{runs}" if runs > 1 else f"{activation} seed {info.get('seed')}"
    if "lr" in varying and runs == 1 and isinstance(info.get("lr"), (int, float)):
        label += f" lr {info['lr']:g}"
    if "task" in varying:
        label = f"{info.get('task')} {label}"
    return label


def status_text(
    name: str, done: int, total: int, elapsed: float, eta: str, running: Sequence[str] = ()
) -> str:
    """The status line: ``demo: 5/24 runs done · 0:42 elapsed · ETA 2:10 · running …``
    (``· starting`` while nothing has finished or started yet; no ETA part when `eta` is "")."""
    parts = [f"{name}: {done}/{total} runs done", f"{clock(elapsed)} elapsed"] + [eta] * bool(eta)
    if not running and done == 0:
        parts.append("starting")  # the workers, before their first run reports
    elif running:
        shown = ", ".join(running[:SHOWN_RUNNING])
        more = len(running) - SHOWN_RUNNING
        parts.append(f"running {shown}" + (f", +{more} more" if more > 0 else ""))
    return " · ".join(parts)


def run_cost(record: dict[str, Any]) -> float | None:
    """One run's share of wall time in `record`: its own, or its ensemble's over the size."""
    wall = record.get("wall_seconds")
    if not isinstance(wall, (int, float)) or isinstance(wall, bool) or wall < 0:
        return None
    size = (record.get("ensemble") or {}).get("size")
    return wall / size if isinstance(size, int) and size > 1 else float(wall)


def wants_live(progress: bool | None, custom_log: bool, terminal: bool) -> bool:
    """A live line when asked (`progress` True), else by default only for a terminal stderr
    with the default log (a caller's `log` gets plain lines)."""
    return progress if progress is not None else (terminal and not custom_log)


def _live_bar(total: int):
    """A tqdm line on stderr that shows only our text, or None without tqdm."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(
        total=total, file=sys.stderr, bar_format="{desc}", dynamic_ncols=True, leave=False,
        mininterval=0, unit="run",
    )  # fmt: skip


class SweepProgress:
    """The display of one sitting of a sweep: `total` runs to do, `workers` in parallel
    (None: unknown, the ETA then follows this sitting's pace).

    :meth:`finished` is called with each record (and its ``[k/N]`` line) by the driver;
    :meth:`event` takes the workers' events, directly or from a queue given to :meth:`listen`,
    which a background thread drains while it redraws the live line (or prints the plain
    progress line when due). Thread-safe; :meth:`close` stops the thread and clears the line.
    """

    def __init__(
        self,
        name: str,
        total: int,
        workers: int | None,
        log: Callable[[str], None],
        live: bool,
        varying: Iterable[str] = (),
        clock_: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self.name, self.total, self.workers, self.log = name, total, workers, log
        self.varying = set(varying)
        self.now = clock_
        self.started = self.now()
        self.done = 0
        self.costs: list[float] = []
        self.running: dict[str, dict[str, Any]] = {}
        self.ended: set[str] = set()
        self.lock = threading.RLock()
        self.bar = _live_bar(total) if live else None
        self.last_plain = self.started
        self.shown_eta = False
        self.events: Any = None
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        if self.bar is not None:
            self._render()
        if background:
            self.thread = threading.Thread(target=self._loop, name="gatelab-progress", daemon=True)
            self.thread.start()

    @property
    def live(self) -> bool:
        return self.bar is not None

    # --- inputs --------------------------------------------------------------------------------

    def listen(self, events: Any) -> None:
        """Drain `events` (a multiprocessing queue the workers put their events in)."""
        self.events = events

    def event(self, event: tuple) -> None:
        """Apply one worker event: start, epoch, end or log (see gatelab.sweep.worker)."""
        kind, *args = event
        with self.lock:
            if kind == "start" and len(args) == 2 and args[0] not in self.ended:
                key, info = args
                runs = info.get("runs") or 1
                label = run_label(info, self.varying)
                self.running[key] = {"label": label, "started": self.now(), "runs": runs}
            elif kind == "epoch" and len(args) == 3 and args[0] in self.running:
                key, epoch, epochs = args
                job = self.running[key]
                job.update(epoch=epoch, epochs=epochs, last=(epoch, self.now()))
                job.setdefault("first", job["last"])
            elif kind == "end" and len(args) == 1:
                self.running.pop(args[0], None)
                self.ended.add(args[0])
            elif kind == "log" and len(args) == 1:  # a worker's own line: stderr, as ever
                if self.bar is not None:
                    self.bar.write(str(args[0]), file=sys.stderr)
                else:
                    print(args[0], file=sys.stderr, flush=True)

    def finished(self, record: dict[str, Any], line: str) -> None:
        """A run's record was stored: count it, print its line and, when due, the status."""
        with self.lock:
            self.done += 1
            cost = run_cost(record)
            if cost is not None:
                self.costs.append(cost)
            run_id = record.get("run_id")
            if run_id in self.running:  # its "end" event may come after the record
                del self.running[run_id]
                self.ended.add(run_id)
            self._print(line)
            if self.live:
                self._render()
            elif self.done < self.total and (
                not self.shown_eta or self.now() - self.last_plain >= PLAIN_EVERY
            ):
                self._plain()

    # --- output --------------------------------------------------------------------------------

    def text(self) -> str:
        """The status line now."""
        with self.lock:
            now = self.now()
            remaining = self.total - self.done
            approximate = False
            if self.workers is None:
                eta = throughput_eta(now - self.started, self.done, remaining)
            else:
                flying = [(now - job["started"], job["runs"]) for job in self.running.values()]
                eta = eta_seconds(self.costs, remaining, self.workers, flying)
                if eta is None:
                    estimates = epoch_estimates(self.running.values())
                    if estimates:
                        eta, approximate = eta_seconds(estimates, remaining, self.workers), True
            running = [
                running_text(job["label"], job.get("epoch"), job.get("epochs"))
                for job in self.running.values()
            ]
            return status_text(
                self.name, self.done, self.total, now - self.started,
                eta_text(eta, approximate) if remaining > 0 else "", running,
            )  # fmt: skip

    def _print(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            self.log(line)

    def _render(self) -> None:
        self.bar.n = self.done
        self.bar.set_description_str(self.text(), refresh=True)

    def _plain(self) -> None:
        self.log(self.text())
        self.last_plain = self.now()
        self.shown_eta = self.shown_eta or bool(self.costs)

    def tick(self) -> None:
        """Redraw the live line, or print the plain line if one is due."""
        with self.lock:
            if self.live:
                self._render()
            elif self.done < self.total and self.now() - self.last_plain >= PLAIN_EVERY:
                self._plain()

    def _loop(self) -> None:
        try:
            while not self.stopping.is_set():
                events = self.events
                if events is None:
                    self.stopping.wait(REFRESH)
                else:
                    deadline = self.now() + REFRESH
                    while (left := deadline - self.now()) > 0 and not self.stopping.is_set():
                        try:
                            self.event(events.get(timeout=left))
                        except queues.Empty:
                            break
                        except (EOFError, OSError, ValueError, TypeError):
                            self.events = events = None  # closed or torn by a killed worker
                            break
                if not self.stopping.is_set():
                    self.tick()
        except Exception:  # noqa: BLE001  (a closed stderr: progress is never worth a crash)
            return

    def close(self) -> None:
        """Stop the background thread, close the workers' queue and clear the live line."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        events, self.events = self.events, None
        if events is not None:
            try:
                while True:  # what the workers sent last (their queues flush as they exit)
                    self.event(events.get_nowait())
            except Exception:  # noqa: BLE001  (queue.Empty, or a queue torn by a killed worker)
                pass
            try:
                events.close()
            except Exception:  # noqa: BLE001
                pass
        with self.lock:
            if self.bar is not None:
                self.bar.close()
                self.bar = None
