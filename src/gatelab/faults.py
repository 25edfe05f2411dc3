"""Faults that are not a run's own: the machine's (a full disk, a read-only or forbidden
directory) and the user's (Ctrl-C, SIGTERM).

- :class:`StoreError` — writing the results store failed because of the environment. It stops a
  sweep with one line naming the path and the errno and is **never** recorded as a run's outcome:
  the run stays pending, and a plain rerun finishes it once the cause is gone (the discipline of
  SQLite's and PostgreSQL's write-ahead logs: an I/O error is the store's, never the data's).
- :func:`is_environment_error` — whether an exception is such an error (by errno).
- :func:`interruptible` — SIGINT and SIGTERM become :class:`Interrupted` in the main thread, at a
  point outside any :func:`critical` section (a record being appended); a second signal kills
  this process and its worker processes at once. Shells and service managers read 128 + the
  signal number as "stopped by that signal" (POSIX): 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator

#: errnos that mean "the environment cannot take this write", not "the run is wrong".
ENVIRONMENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,  # no space left on device
        errno.EDQUOT,  # disk quota exceeded
        errno.EROFS,  # read-only file system
        errno.EACCES,  # permission denied
        errno.EPERM,  # operation not permitted
        errno.EIO,  # I/O error
        errno.EMFILE,  # too many open files
        errno.ENFILE,
        errno.ELOOP,  # a symbolic link where the store refuses one
    }
)


class StoreError(OSError):
    """The results store (or a run's checkpoint) could not be written: the environment's fault.
    ``str()`` is one line naming the path, the errno and the way out."""

    def __str__(self) -> str:
        name = errno.errorcode.get(self.errno, "?") if self.errno else "?"
        where = f"{self.filename}: " if self.filename else ""
        return (
            f"{where}{self.strerror} ({name}); nothing was recorded for the runs in progress — "
            "free the space or fix the permissions, then rerun the same command to finish them"
        )


class NotWritable(StoreError):
    """The output directory refused a probe write, before any work started."""

    def __str__(self) -> str:
        name = errno.errorcode.get(self.errno, "?") if self.errno else "?"
        return (
            f"cannot write to {self.filename}: {self.strerror} ({name}); nothing was run — "
            "choose another --out or fix the directory, then run the command again"
        )


def is_environment_error(error: BaseException) -> bool:
    """Whether `error` is an OSError whose errno says the environment refused (ENOSPC, EROFS,
    EACCES, …), as opposed to an error of the run itself."""
    return isinstance(error, OSError) and error.errno in ENVIRONMENT_ERRNOS


def store_error(error: OSError, path: object = None) -> StoreError:
    """`error` as a StoreError naming `path` (its own filename if it has one)."""
    if isinstance(error, StoreError):
        return error
    return StoreError(error.errno, error.strerror or str(error), str(error.filename or path or ""))


# --- interrupts ----------------------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived (a BaseException, so a run's `except Exception` that records
    failures does not swallow it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_state = threading.local()


def _deferred() -> list[int]:
    if not hasattr(_state, "deferred"):
        _state.deferred, _state.depth, _state.count = [], 0, 0
    return _state.deferred


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A section that a signal must not cut (appending a record): an interrupt arriving inside
    is raised when the section ends."""
    deferred = _deferred()
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
    if _state.depth == 0 and deferred:
        raise Interrupted(deferred.pop())


def _handler(signum: int, frame: object) -> None:
    _deferred()
    _state.count += 1
    if _state.count > 1:  # the second signal: stop everything now
        kill_workers(signal.SIGKILL)
        os._exit(128 + signum)
    if _state.depth > 0:
        _state.deferred.append(signum)
        return
    raise Interrupted(signum)


def kill_workers(sig: int = signal.SIGTERM) -> None:
    """Send `sig` to every worker process this process started (multiprocessing children)."""
    for child in multiprocessing.active_children():
        with contextlib.suppress(ProcessLookupError, OSError):
            os.kill(child.pid, sig)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread while inside (a no-op
    outside the main thread, where signal handlers cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferred()
    _state.count = 0
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def children_ignore_interrupts() -> Iterator[None]:
    """Processes spawned inside start with SIGINT ignored: an ignored disposition survives
    exec, so a Ctrl-C while a spawned worker still imports torch (seconds, before any code of
    ours runs in it) prints no KeyboardInterrupt traceback from it. This process ignores SIGINT
    meanwhile, so keep the section to the spawns (~20 ms each, 2026-12-03): a Ctrl-C inside it
    is lost and must be pressed again. A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ignore_interrupts() -> None:
    """For worker processes: leave SIGINT to the driver, which stops the workers itself (a
    terminal's Ctrl-C reaches the whole process group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
