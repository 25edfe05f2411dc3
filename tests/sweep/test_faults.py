"""Faults that are not the runs' own, with real processes: Ctrl-C and SIGTERM at random moments,
a disk that fills, two sweeps on one directory, a read-only directory, foreign files, thread
counts on resume. Each fault: what the user sees, and that a plain rerun finishes the sweep
with every record whole and unique."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatelab.faults import StoreError
from gatelab.results import RECORDS, RecordWriter, read_records

SPEC = """tasks = ["mnist-mlp"]
activations = ["relu", "gelu", "silu", "elu"]
seeds = 2
lrs = [1e-3]
[settings]
scale = "smoke"
epochs = {epochs}
dataset = "synthetic"
"""
RUNS = 8


def write_spec(tmp_path: Path, epochs: int = 150) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(epochs=epochs), encoding="utf-8")
    return path


def gatelab(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "gatelab", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kwargs,
    )  # fmt: skip


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def lines(directory: Path) -> list[dict]:
    path = directory / RECORDS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_whole_and_unique(directory: Path, expected: int | None = None) -> list[dict]:
    records = lines(directory)  # json.loads of every line: a torn record would raise
    ids = [r["run_id"] for r in records]
    assert len(ids) == len(set(ids)), "a run was recorded twice"
    assert all(r["status"] == "ok" for r in records)
    if expected is not None:
        assert len(records) == expected
    return records


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# --- interrupts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("trial", "executor"), [(0, "local"), (1, "local"), (2, "ensemble")])
def test_ctrl_c_at_a_random_moment_records_what_finished_and_a_rerun_completes(
    tmp_path, trial, executor
):
    # 100 epochs: the sweep takes ≈ 53 s on the AMD EPYC machine (2.6× slower than the AVX-512
    # one, so ≈ 20 s there), and the moment is within its first 10 s: from the workers' start
    # to mid-way through the first runs (past the first records on the faster machine). The
    # rerun that finishes it is most of the test's time (150 epochs and 4–14 s: 115 s a trial).
    spec, out = write_spec(tmp_path, epochs=100), tmp_path / "out"
    sweep = gatelab("sweep", str(spec), "--out", str(out), "--workers", "2",
                    "--executor", executor, start_new_session=True)  # fmt: skip
    time.sleep(random.Random(trial).uniform(3.0, 10.0))
    os.killpg(sweep.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    sent = time.monotonic()
    code, _, err = finish(sweep, timeout=30)
    assert time.monotonic() - sent < 10
    deadline = time.monotonic() + 10
    while group_alive(sweep.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(sweep.pid), "worker processes outlived the interrupt"
    assert code == 130 and "Traceback" not in err
    (message,) = [line for line in err.splitlines() if "interrupted" in line]
    recorded = assert_whole_and_unique(out)
    assert f"interrupted (SIGINT): {len(recorded)} run(s) recorded in this sitting" in message
    assert f"{RUNS - len(recorded)} still to run; rerun the same command to resume" in message
    code, _, err = finish(
        gatelab("sweep", str(spec), "--out", str(out), "--workers", "2", "--executor", executor)
    )
    assert code == 0, err
    assert f"{len(recorded)} already done, {RUNS - len(recorded)} to run" in err
    assert_whole_and_unique(out, RUNS)


def spawned_workers(pid: int) -> list[int]:
    """The pids of `pid`'s multiprocessing workers (Linux /proc), the resource tracker left out."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
def test_workers_ignore_ctrl_c_while_they_still_import_torch(tmp_path):
    """A worker needs seconds to import torch before any code of ours runs in it. A Ctrl-C then
    raised KeyboardInterrupt in it, whose traceback reached the terminal whenever it was printed
    before the driver's SIGTERM arrived (5 of 6 Ctrl-Cs at 0.5 s steps, 2026-12-03). Workers now
    start with SIGINT ignored: one sent to the workers alone, mid-import, leaves them running."""
    spec, out = write_spec(tmp_path), tmp_path / "out"
    sweep = gatelab("sweep", str(spec), "--out", str(out), "--workers", "2",
                    start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while len(spawned_workers(sweep.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = spawned_workers(sweep.pid)
    assert len(workers) == 2, "the sweep did not start its two workers"
    time.sleep(0.5)  # inside the workers' `import torch`
    for pid in workers:
        os.kill(pid, signal.SIGINT)
    time.sleep(1.0)
    assert spawned_workers(sweep.pid) == workers, "a worker died of the SIGINT"
    os.killpg(sweep.pid, signal.SIGINT)
    code, _, err = finish(sweep, timeout=60)
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_sigterm_stops_the_sweep_like_ctrl_c(tmp_path):
    spec, out = write_spec(tmp_path), tmp_path / "out"
    sweep = gatelab("sweep", str(spec), "--out", str(out), start_new_session=True)
    time.sleep(6)
    sweep.send_signal(signal.SIGTERM)  # the driver only, as a service manager does
    code, _, err = finish(sweep, timeout=30)
    assert code == 143 and "Traceback" not in err and "interrupted (SIGTERM)" in err
    assert "leaked" not in err  # the pool's queues are closed: no resource-tracker warning
    deadline = time.monotonic() + 10
    while group_alive(sweep.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(sweep.pid), "worker processes outlived the interrupt"
    assert_whole_and_unique(out)


def test_a_second_ctrl_c_kills_at_once(tmp_path):
    spec, out = write_spec(tmp_path, epochs=400), tmp_path / "out"
    sweep = gatelab("sweep", str(spec), "--out", str(out), "--workers", "2",
                    start_new_session=True)  # fmt: skip
    time.sleep(5)
    os.killpg(sweep.pid, signal.SIGINT)
    os.killpg(sweep.pid, signal.SIGINT)
    code, _, _ = finish(sweep, timeout=10)
    assert code == 130
    assert_whole_and_unique(out)


def test_ctrl_c_in_gatelab_run_keeps_the_checkpoint_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    # 100 epochs: 10 s alone on the AMD EPYC machine, so the Ctrl-C half a second after the
    # first checkpoint lands mid-run on any machine; the resume is most of the test's time
    args = ("run", "mnist-mlp", "--scale", "smoke", "--epochs", "100", "--dataset",
            "synthetic", "--out", str(out))  # fmt: skip
    run = gatelab(*args, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(run.pid, signal.SIGINT)
    code, _, err = finish(run, timeout=20)
    assert code == 130 and "Traceback" not in err
    assert "interrupted (SIGINT): mnist-mlp gelu stopped in epoch" in err
    assert "its last checkpoint is in" in err and (out / "checkpoint.pt").exists()
    assert not (out / "result.json").exists()
    code, _, err = finish(gatelab(*args, "--resume"))
    assert code == 0, err
    assert json.loads((out / "result.json").read_text())["status"] == "ok"


# --- the disk fills -----------------------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs (root can mount one); skipped where mounting is not allowed."""
    where = tmp_path / "tmpfs"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True)


def test_a_full_disk_stops_the_sweep_records_no_failure_and_a_rerun_finishes(tmp_path, tmpfs):
    spec, out = write_spec(tmp_path, epochs=3), tmpfs / "out"
    ballast = tmpfs / "ballast"
    ballast.write_bytes(b"\0" * int(2.6e6))  # leaves ≈ 0.4 MB: less than one checkpoint
    code, _, err = finish(gatelab("sweep", str(spec), "--out", str(out), "--workers", "2"))
    assert code == 1 and "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("gatelab: error:")]
    assert "No space left on device (ENOSPC)" in line and str(tmpfs) in line
    assert "rerun the same command" in line
    assert all(r["status"] != "failed" for r in lines(out))  # the disk's fault is not the runs'
    ballast.unlink()
    remount(tmpfs, "size=64m")
    code, _, err = finish(gatelab("sweep", str(spec), "--out", str(out), "--workers", "2"))
    assert code == 0, err
    assert_whole_and_unique(out, RUNS)


def test_an_append_on_a_full_disk_leaves_the_file_at_its_last_whole_record(tmpfs):
    writer = RecordWriter(tmpfs)
    first = {"run_id": "a", "task": "t", "activation": "gelu", "seed": 0, "status": "ok"}
    writer.append(first)
    size = (tmpfs / RECORDS).stat().st_size
    free = os.statvfs(tmpfs).f_bavail * os.statvfs(tmpfs).f_frsize
    (tmpfs / "ballast").write_bytes(b"\0" * (free - 2048))  # room for part of the next record
    big = {**first, "run_id": "b", "history": [{"epoch": i, "x": 0.5} for i in range(2000)]}
    with pytest.raises(StoreError, match=r"No space left on device \(ENOSPC\)"):
        writer.append(big)
    assert (tmpfs / RECORDS).stat().st_size == size  # truncated back: no torn tail
    (tmpfs / "ballast").unlink()
    writer.append({**first, "run_id": "c"})
    assert [r["run_id"] for r in read_records(tmpfs)] == ["a", "c"]


def test_a_short_write_is_continued_not_left_torn(tmp_path, monkeypatch):
    import gatelab._io as io_module

    real = os.write
    calls = []

    def short(fd, data):
        calls.append(len(data))
        return real(fd, bytes(data[: max(1, len(data) // 3)]))  # a third at a time

    monkeypatch.setattr(io_module.os, "write", short)
    RecordWriter(tmp_path).append({"run_id": "a", "task": "t", "activation": "g", "seed": 0,
                                   "status": "ok", "history": list(range(100))})  # fmt: skip
    assert len(calls) > 3
    assert read_records(tmp_path)[0]["history"] == list(range(100))


# --- one writer per directory -------------------------------------------------------------------


def test_a_second_sweep_on_the_same_directory_is_refused(tmp_path):
    spec, out = write_spec(tmp_path, epochs=60), tmp_path / "out"
    first = gatelab("sweep", str(spec), "--out", str(out))
    deadline = time.monotonic() + 60
    while not (out / ".lock").exists() or not (out / ".lock").read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    code, _, err = finish(gatelab("sweep", str(spec), "--out", str(out)))
    assert code == 1 and "Traceback" not in err
    assert f"is in use by pid {first.pid} (" in err and "another --out" in err
    code, _, err = finish(first)
    assert code == 0, err
    assert_whole_and_unique(out, RUNS)
    code, _, _ = finish(gatelab("sweep", str(spec), "--out", str(out)))  # the lock is free again
    assert code == 0


# --- a read-only directory ----------------------------------------------------------------------


def test_a_read_only_directory_is_refused_before_training_and_a_done_sweep_still_shows(
    tmp_path, tmpfs
):
    remount(tmpfs, "size=64m")
    spec, out = write_spec(tmp_path, epochs=3), tmpfs / "out"
    assert finish(gatelab("sweep", str(spec), "--out", str(out)))[0] == 0
    remount(tmpfs, "ro")
    code, stdout, err = finish(gatelab("sweep", str(spec), "--out", str(out)))
    assert "all done" in err and "relu" in stdout  # the leaderboard of a finished sweep
    assert "report not written" in stdout and "Read-only file system" in stdout
    more = tmp_path / "more.toml"
    more.write_text(SPEC.format(epochs=3).replace("seeds = 2", "seeds = 3"), encoding="utf-8")
    started = time.monotonic()
    code, _, err = finish(gatelab("sweep", str(more), "--out", str(out)))
    assert (
        code == 1
        and f"cannot write to {out}: Read-only file system (EROFS)" in err
        and "Traceback" not in err
    )
    assert time.monotonic() - started < 20  # refused before loading data or training
    code, _, err = finish(gatelab("run", "mnist-mlp", "--scale", "smoke", "--dataset",
                                  "synthetic", "--out", str(tmpfs / "run")))  # fmt: skip
    assert code == 1 and "Read-only file system (EROFS)" in err and "Traceback" not in err


# --- foreign and damaged files ------------------------------------------------------------------

GOOD = {"run_id": "r1", "task": "mnist-mlp", "activation": "gelu", "seed": 0, "lr": 1e-3,
        "status": "ok", "metrics": {"val_accuracy": 0.9, "test_accuracy": 0.9}}  # fmt: skip
FOREIGN = [
    '{"run_id": ["a"], "status": "ok"}',
    json.dumps({**GOOD, "run_id": "r2", "options": [1]}),
    '{"run_id": "r3"}',
    json.dumps({**GOOD, "run_id": "r4", "seed": "zero"}),
    json.dumps({**GOOD, "run_id": "r5", "status": "done"}),
    json.dumps({**GOOD, "run_id": "r6", "metrics": {"test_accuracy": "high"}}),
    "[1, 2, 3]",
    "not json at all",
]


def test_foreign_lines_are_skipped_and_named_by_file_and_line(tmp_path):
    path = tmp_path / RECORDS
    path.write_text("\n".join([json.dumps(GOOD), *FOREIGN]) + "\n", encoding="utf-8")
    with pytest.warns(UserWarning) as caught:
        records = read_records(tmp_path)
    assert [r["run_id"] for r in records] == ["r1"]
    where = sorted(int(str(w.message).split(":")[1]) for w in caught)
    assert where == list(range(2, 2 + len(FOREIGN)))
    code, _, err = finish(gatelab("report", str(tmp_path)))
    assert code == 0 and "Traceback" not in err
    assert f"gatelab: warning: {path}:2: not a run record ('run_id' is list" in err


def test_damaged_or_linked_store_files_are_refused_with_their_path(tmp_path):
    from gatelab import results

    (tmp_path / RECORDS).write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    (tmp_path / "sweep.json").write_text("{garbage", encoding="utf-8")
    with pytest.raises(ValueError, match=r"sweep\.json is damaged"):
        results.load(tmp_path)
    code, _, err = finish(gatelab("report", str(tmp_path)))
    assert code == 2 and "sweep.json is damaged" in err and "Traceback" not in err
    (tmp_path / "sweep.json").unlink()

    target = tmp_path / "elsewhere.jsonl"
    target.write_text(json.dumps(GOOD) + "\n" + '{"torn', encoding="utf-8")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / RECORDS).symlink_to(target)
    with pytest.raises(ValueError, match="symbolic link"):
        RecordWriter(linked)
    with pytest.raises(ValueError, match="symbolic link"):
        read_records(linked)
    assert target.read_text(encoding="utf-8").endswith('{"torn')  # not truncated through it
    spec = write_spec(tmp_path, epochs=1)
    code, _, err = finish(gatelab("sweep", str(spec), "--out", str(linked)))
    assert code == 2 and "symbolic link" in err and "Traceback" not in err

    as_directory = tmp_path / "dir"
    (as_directory / RECORDS).mkdir(parents=True)
    with pytest.raises(ValueError, match="is not a file"):
        read_records(as_directory)


# --- threads per run ----------------------------------------------------------------------------


def test_a_resume_keeps_the_sweeps_thread_count_and_gets_the_same_numbers(tmp_path):
    spec, out = write_spec(tmp_path, epochs=3), tmp_path / "out"
    assert finish(gatelab("sweep", str(spec), "--out", str(out), "--workers", "2"))[0] == 0
    first = {r["run_id"]: r for r in lines(out)}
    kept = list(first)[:4]
    path = out / RECORDS
    path.write_text("".join(json.dumps(first[i]) + "\n" for i in kept), encoding="utf-8")
    for run_id in set(first) - set(kept):  # as if never run: no checkpoint, no result.json
        for file in (out / "runs" / run_id).iterdir():
            file.unlink()
    code, _, err = finish(gatelab("sweep", str(spec), "--out", str(out), "--workers", "1"))
    assert code == 0, err
    assert "resuming with 1 thread(s) per run" in err  # one worker alone would take 2
    again = {r["run_id"]: r for r in lines(out)}
    assert all(r["threads"] == 1 for r in again.values())
    for run_id in set(first) - set(kept):  # in-process, 1 thread: the very same numbers
        assert again[run_id]["metrics"] == first[run_id]["metrics"]
