"""Sweeps end to end: skipping finished runs, failures, SIGKILL and resume, Ray vs local."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gatelab.results import RECORDS, load, read_records
from gatelab.sweep import parse_spec, pending, run_sweep

QUIET = {"log": lambda line: None, "progress": False}
SPEC = {
    "tasks": ["mnist-mlp"],
    "activations": ["relu", "silu"],
    "seeds": 2,
    "settings": {"scale": "smoke", "epochs": 1},
}
TOML = """tasks = ["mnist-mlp"]
activations = ["relu", "silu", "elu"]
seeds = 2
[settings]
scale = "smoke"
epochs = 2
"""


def table(records) -> list:
    return sorted((r["run_id"], r["status"], json.dumps(r["metrics"], sort_keys=True),
                   json.dumps([{k: v for k, v in h.items() if k != "seconds"}
                               for h in r["history"]])) for r in records)  # fmt: skip


def test_rerunning_skips_finished_runs(tmp_path):
    spec = parse_spec(SPEC)
    first = run_sweep(spec, tmp_path, workers=1, **QUIET)
    assert len(first) == 4 and all(r["status"] == "ok" for r in first)
    assert pending(spec, tmp_path) == []
    lines = (tmp_path / RECORDS).read_text().splitlines()
    second = run_sweep(spec, tmp_path, workers=1, **QUIET)
    assert (tmp_path / RECORDS).read_text().splitlines() == lines  # nothing appended
    assert table(second) == table(first)
    frame = load(tmp_path)
    assert len(frame) == 4 and set(frame["activation"]) == {"relu", "silu"}
    assert not list((tmp_path / "runs").glob("*/checkpoint.pt"))  # freed after the record


def test_failed_runs_are_kept_and_retried_only_on_request(tmp_path):
    spec = parse_spec({"tasks": ["cifar10-resnet56"], "activations": ["gelu"], "seeds": 1,
                       "settings": {"scale": "smoke", "download": False,
                                    "data_root": str(tmp_path / "nothing")}})  # fmt: skip
    (failed,) = run_sweep(spec, tmp_path / "out", workers=1, **QUIET)
    assert failed["status"] == "failed" and "DatasetNotFound" in failed["error"]
    assert pending(spec, tmp_path / "out") == []
    assert len(pending(spec, tmp_path / "out", retry_failed=True)) == 1
    run_sweep(spec, tmp_path / "out", workers=1, retry_failed=True, **QUIET)
    assert len((tmp_path / "out" / RECORDS).read_text().splitlines()) == 2
    assert len(read_records(tmp_path / "out")) == 1  # one row per run


def kill_and_resume(tmp_path, toml: str, options: list[str], ready, total: int) -> None:
    """Run the sweep `toml` to the end (the reference), then again until ready(out) holds,
    SIGKILL it, rerun it: the records must be complete, unique and equal to the reference."""
    spec_path = tmp_path / "s.toml"
    spec_path.write_text(toml, encoding="utf-8")
    command = [sys.executable, "-m", "gatelab", "sweep", str(spec_path), *options]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([*command, "--out", str(tmp_path / "ref")], env=env, check=True,
                   capture_output=True)  # fmt: skip
    out = tmp_path / "killed"
    process = subprocess.Popen([*command, "--out", str(out)], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    records = out / RECORDS
    while not ready(out):
        assert process.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = records.read_text().count("\n") if records.exists() else 0
    assert killed_at < total, "the sweep finished before the kill"
    subprocess.run([*command, "--out", str(out)], env=env, check=True, capture_output=True)
    ids = [json.loads(line)["run_id"] for line in records.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == total  # none lost, none duplicated
    assert table(read_records(out)) == table(read_records(tmp_path / "ref"))


def test_a_sweep_killed_with_sigkill_resumes_without_lost_or_duplicated_records(tmp_path):
    def two_records(out) -> bool:
        records = out / RECORDS
        return records.exists() and records.read_text().count("\n") >= 2

    kill_and_resume(tmp_path, TOML, ["--workers", "1"], two_records, total=6)


def test_ray_executor_gives_the_local_executors_records(tmp_path):
    pytest.importorskip("ray")
    spec = parse_spec({**SPEC, "activations": ["relu"]})
    local = run_sweep(spec, tmp_path / "local", workers=2, **QUIET)
    remote = run_sweep(spec, tmp_path / "ray", executor="ray", workers=2, **QUIET)
    assert table(remote) == table(local)


def test_cli_rejects_zero_workers(capsys):
    from gatelab.cli import main

    assert main(["demo", "--workers", "0"]) == 2
    assert "--workers: must be from 1 to 1,024, got 0" in capsys.readouterr().err
