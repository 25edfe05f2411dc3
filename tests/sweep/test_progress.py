"""A sweep's progress: the status line's text and ETA, plain lines off a terminal, the workers'
epoch events, the demo's first line and no CUDA_HOME warning on CPU-only machines."""

import io
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from gatelab.sweep import parse_spec, progress, run_sweep
from gatelab.sweep.progress import (
    SweepProgress,
    clock,
    epoch_estimates,
    eta_seconds,
    eta_text,
    run_cost,
    run_label,
    running_text,
    status_text,
    throughput_eta,
    wants_live,
)

SMOKE = {
    "tasks": ["mnist-mlp"],
    "activations": ["relu", "silu"],
    "seeds": 1,
    "settings": {"scale": "smoke", "epochs": 1, "dataset": "synthetic"},
}
STATUS = re.compile(r"^\w+: \d+/\d+ runs done · \d+:\d\d elapsed · ETA (—|~?\d+:\d\d)")


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


# --- the pure pieces ------------------------------------------------------------------------


def test_clock():
    assert [clock(s) for s in (0, 7.4, 59.6, 723, 3723, -3)] == [
        "0:00", "0:07", "1:00", "12:03", "1:02:03", "0:00"
    ]  # fmt: skip


def test_eta_is_the_mean_run_time_times_the_runs_left_over_the_workers():
    assert eta_seconds([], 5, 2) is None  # no run finished yet
    assert eta_seconds([10.0, 20.0], 6, 2) == 45.0  # 15 s × 6 runs / 2 workers
    assert eta_seconds([10.0, 20.0], 6, 1) == 90.0
    assert eta_seconds([12.0], 1, 4) == 12.0  # one run left: one worker busy, not four
    assert eta_seconds([12.0], 0, 2) == 0.0
    # runs in progress count for what is left of theirs: 2 queued × 10 + (10 − 4) = 26 s, / 2
    assert eta_seconds([10.0], 3, 2, [(4.0, 1)]) == 13.0
    assert eta_seconds([10.0], 1, 2, [(25.0, 1)]) == 0.0  # overdue: nothing negative
    assert eta_seconds([2.0], 5, 1, [(3.0, 5)]) == 7.0  # an ensemble of 5: 10 s − 3 s
    assert throughput_eta(30.0, 3, 6) == 60.0 and throughput_eta(30.0, 0, 6) is None


def test_eta_text():
    assert eta_text(None) == "ETA —"
    assert eta_text(45.2) == "ETA 0:45"
    assert eta_text(95, approximate=True) == "ETA ~1:35"
    assert eta_text(4000) == "ETA 1:06:40"


def test_epoch_estimates_extrapolate_the_runs_in_progress():
    jobs = [
        # 5 s to the end of epoch 1 (set-up included), then 0.5 s per epoch: 5 + 9 × 0.5
        {"started": 0.0, "runs": 1, "epochs": 10, "first": (1, 5.0), "last": (3, 6.0)},
        # one report (epoch 2 after 4 s): that pace for the 8 epochs left, 4 + 8 × 2
        {"started": 10.0, "runs": 1, "epochs": 10, "first": (2, 14.0), "last": (2, 14.0)},
        # an ensemble of 4: its time over its runs, (2 + 1 × 2) / 4
        {"started": 0.0, "runs": 4, "epochs": 2, "first": (1, 2.0), "last": (1, 2.0)},
        {"started": 0.0, "runs": 1},  # no epoch yet: no estimate
    ]
    assert epoch_estimates(jobs) == [9.5, 20.0, 1.0]


def test_status_line_text():
    assert (
        status_text("demo", 5, 24, 42.0, "ETA 2:10", ["gelu seed 2 epoch 3/10"])
        == "demo: 5/24 runs done · 0:42 elapsed · ETA 2:10 · running gelu seed 2 epoch 3/10"
    )
    assert (
        status_text("s", 0, 4, 3.0, "ETA —") == "s: 0/4 runs done · 0:03 elapsed · ETA — · starting"
    )
    assert status_text("s", 2, 4, 3.0, "ETA 0:03") == "s: 2/4 runs done · 0:03 elapsed · ETA 0:03"
    assert status_text("s", 4, 4, 9.0, "") == "s: 4/4 runs done · 0:09 elapsed"
    many = [f"relu seed {i} starting" for i in range(6)]
    assert status_text("s", 0, 9, 0, "ETA —", many).endswith("relu seed 3 starting, +2 more")
    assert running_text("gelu seed 2", 3, 10) == "gelu seed 2 epoch 3/10"
    assert running_text("gelu seed 2") == "gelu seed 2 starting"


def test_run_labels_and_costs():
    info = {"task": "mnist-mlp", "activation": "gelu", "seed": 2, "lr": 1e-3, "runs": 1}
    assert run_label(info) == "gelu seed 2"
    assert run_label(info, {"lr", "task"}) == "mnist-mlp gelu seed 2 lr 0.001"
    assert run_label({**info, "runs": 5}) == "gelu ×5"
    assert run_cost({"wall_seconds": 12.0, "ensemble": None}) == 12.0
    assert run_cost({"wall_seconds": 12.0, "ensemble": {"group": "g", "size": 4}}) == 3.0
    assert run_cost({"status": "failed"}) is None


def test_a_live_line_only_on_a_terminal_with_the_default_log():
    assert wants_live(None, custom_log=False, terminal=True)
    assert not wants_live(None, custom_log=False, terminal=False)  # pipe, CI, tests
    assert not wants_live(None, custom_log=True, terminal=True)  # the caller's log: plain
    assert wants_live(True, custom_log=True, terminal=False)
    assert not wants_live(False, custom_log=False, terminal=True)


# --- the display ----------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def record(run_id, wall=10.0, **extra):
    return {"run_id": run_id, "wall_seconds": wall, "ensemble": None, **extra}


def test_plain_output_has_a_status_line_with_the_eta_after_the_first_run_then_every_30_s():
    lines, now = [], Clock()
    display = SweepProgress("s", 4, 2, lines.append, live=False, clock_=now, background=False)
    display.event(("start", "a", {"activation": "relu", "seed": 0, "runs": 1}))
    display.event(("start", "b", {"activation": "silu", "seed": 0, "runs": 1}))
    now.t += 4
    display.event(("epoch", "b", 1, 2))
    display.tick()
    assert lines == []  # no plain line before 30 s or a finished run
    now.t += 6
    display.finished(record("a", wall=10.0), "[1/4] mnist-mlp relu seed 0 lr 0.001: ok")
    # 3 left, b started 10 s ago: (2 × 10 + 0) / 2 workers = 10 s
    assert lines == [
        "[1/4] mnist-mlp relu seed 0 lr 0.001: ok",
        "s: 1/4 runs done · 0:10 elapsed · ETA 0:10 · running silu seed 0 epoch 1/2",
    ]
    now.t += 2
    display.finished(record("b", wall=12.0), "[2/4] b")
    assert lines[-1] == "[2/4] b"  # the ETA was shown; the next status line is due at 30 s
    now.t += 29
    display.tick()
    assert len(lines) == 4 and STATUS.match(lines[-1]) and "2/4 runs done" in lines[-1]
    now.t += 5
    display.tick()
    assert len(lines) == 4
    display.event(("log", "ignored by the log: workers' own lines go to stderr"))
    assert len(lines) == 4
    display.close()


def test_before_any_run_finishes_the_eta_comes_from_the_epochs():
    lines, now = [], Clock()
    display = SweepProgress("s", 2, 1, lines.append, live=False, clock_=now, background=False)
    assert display.text() == "s: 0/2 runs done · 0:00 elapsed · ETA — · starting"
    display.event(("start", "a", {"activation": "relu", "seed": 0, "runs": 1}))
    assert display.text().endswith("ETA — · running relu seed 0 starting")
    now.t += 3
    display.event(("epoch", "a", 1, 4))  # 3 s to epoch 1, 3 more epochs at that pace: 12 s
    assert (
        display.text()
        == "s: 0/2 runs done · 0:03 elapsed · ETA ~0:24 · running relu seed 0 epoch 1/4"
    )
    display.event(("end", "a"))
    display.event(("epoch", "a", 2, 4))  # late events of a finished run change nothing
    assert "running" not in display.text()
    display.close()


def test_the_live_line_prints_the_run_lines_above_it(monkeypatch):
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    now = Clock()
    display = SweepProgress("s", 2, 1, None, live=True, clock_=now, background=False)
    display.event(("start", "a", {"activation": "relu", "seed": 0, "runs": 1}))
    display.event(("epoch", "a", 1, 2))
    display.tick()
    now.t += 5
    display.finished(record("a", wall=5.0), "[1/2] mnist-mlp relu seed 0 lr 0.001: ok")
    display.close()
    out = stream.getvalue()
    assert "\r" in out and "s: 0/2 runs done" in out and "relu seed 0 epoch 1/2" in out
    assert "[1/2] mnist-mlp relu seed 0 lr 0.001: ok\n" in out
    assert "s: 1/2 runs done · 0:05 elapsed · ETA 0:05" in out


# --- with the executors ---------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_the_workers_report_start_epochs_and_end(tmp_path, monkeypatch, workers):
    events = []
    original = SweepProgress.event

    def spy(self, event):
        events.append(event)
        original(self, event)

    monkeypatch.setattr(SweepProgress, "event", spy)
    monkeypatch.setattr(progress, "REFRESH", 0.05)
    lines = []
    spec = parse_spec(SMOKE)
    records = run_sweep(spec, tmp_path, workers=workers, log=lines.append, progress=False)
    assert [r["status"] for r in records] == ["ok", "ok"]
    for point in spec.points:
        mine = [e for e in events if e[1] == point.run_id]
        assert [e[0] for e in mine] == ["start", "epoch", "end"]
        assert mine[1][2:] == (1, 1)
    assert re.search(r"\(local executor, \d workers?, \d threads? per run\) in ", lines[0])
    assert lines[1].startswith("[1/2] ") and STATUS.match(lines[2]) and "1/2 runs done" in lines[2]
    assert lines[3].startswith("[2/2] ")


def test_a_piped_sweep_prints_plain_lines_with_done_total_and_eta(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        textwrap.dedent(
            """\
            name = "piped"
            tasks = ["mnist-mlp"]
            activations = ["relu", "silu"]
            [settings]
            scale = "smoke"
            epochs = 1
            dataset = "synthetic"
            """
        )
    )
    command = [sys.executable, "-m", "gatelab", "sweep", str(spec), "--out", str(tmp_path / "o")]
    done = subprocess.run(
        [*command, "--workers", "1"], capture_output=True, text=True, env=env(), timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "\r" not in done.stderr and "\x1b" not in done.stderr  # no terminal codes in a pipe
    assert lines[0].startswith("piped: 2 runs, 0 already done, 2 to run (local executor, 1 worker")
    runs = [line for line in lines if line.startswith("[")]
    assert [line[:6] for line in runs] == ["[1/2] ", "[2/2] "]
    assert re.match(r"\[1/2\] mnist-mlp \w+ seed 0 lr 0\.001: ok test_accuracy \d\.\d{4}$", runs[0])
    status = [line for line in lines if STATUS.match(line)]
    assert status and "piped: 1/2 runs done" in status[0] and "ETA —" not in status[0]
    assert lines.index(status[0]) == lines.index(runs[0]) + 1


# --- the demo's first line --------------------------------------------------------------------


def test_the_demo_says_what_it_runs_before_any_run_starts(tmp_path):
    # -X importtime writes a line per import to stderr as it happens: the lines before the
    # header show whether torch (1–3 s of the wait on 2 cores) was imported before it
    out = tmp_path / "demo"
    command = [sys.executable, "-X", "importtime", "-m", "gatelab", "demo", "--out", str(out),
               "--workers", "1"]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env(),
        start_new_session=True,
    )  # fmt: skip
    try:
        imported_before = []
        first = process.stderr.readline()
        while first.startswith("import time:"):
            imported_before.append(first.split("|")[-1].strip())
            first = process.stderr.readline()
        first_at = time.monotonic() - started
        second = process.stderr.readline()
        while second.startswith("import time:"):
            second = process.stderr.readline()
        records = out / "records.jsonl"
        finished_any = records.exists() and records.stat().st_size > 0
    finally:
        os.killpg(process.pid, signal.SIGINT)  # stop the demo: it would train 24 runs
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert first.startswith("gatelab demo: ") and str(out) in first
    assert "gatelab.cli" in imported_before  # the import lines were read
    heavy = sorted({name.split(".")[0] for name in imported_before} & HEAVY_FOR_HEADER)
    assert heavy == [], f"imported before the demo's first line: {heavy}"
    # 0.2 s here (the AMD EPYC machine, where import torch alone is 3 s); the bound leaves room
    # for a loaded machine
    assert first_at < 10, f"the first line came after {first_at:.1f} s"
    assert second.startswith("demo: 24 runs, 0 already done, 24 to run (local executor, 1 worker")
    assert not finished_any  # both lines came before any run finished


#: Modules the demo's header must not wait for: torch and what comes with it.
HEAVY_FOR_HEADER = {"torch", "numpy", "sympy", "scipy", "pandas", "matplotlib", "mpmath"}


# --- no CUDA_HOME warning ---------------------------------------------------------------------


def test_only_the_no_cuda_runtime_warning_is_dropped(caplog):
    import gatelab.modules  # noqa: F401  (imports gatelab.kernels.cpu, which installs the filter)

    logger = logging.getLogger("torch.utils.cpp_extension")
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("No CUDA runtime is found, using CUDA_HOME='%s'", "/usr/local")
        logger.warning("another warning")
    assert [r.getMessage() for r in caplog.records] == ["another warning"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="the warning is for machines without CUDA")
def test_no_cuda_home_warning_in_a_compiled_smoke_run(tmp_path):
    # CUDA_HOME pointing at a directory makes torch.utils.cpp_extension warn on import here;
    # --compile (inductor) imports it in the run
    quiet = {**env(), "CUDA_HOME": str(tmp_path)}
    probe = subprocess.run(
        [sys.executable, "-c", "import torch.utils.cpp_extension"],
        capture_output=True, text=True, env=quiet, timeout=120,
    )  # fmt: skip
    assert "No CUDA runtime is found" in probe.stderr  # the warning this test is about
    command = [
        sys.executable, "-m", "gatelab", "run", "mnist-mlp", "--dataset", "synthetic",
        "--scale", "smoke", "--epochs", "1", "--compile", "--out", str(tmp_path / "run"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=quiet, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/1" in done.stderr  # the run's own lines still come
    assert "CUDA_HOME" not in done.stderr + done.stdout
