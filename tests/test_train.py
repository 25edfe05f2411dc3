"""The trainer's guarantees: records, determinism, divergence, failures, atomic checkpoints that
load with weights_only=True, and resume — in-process and after a real SIGKILL."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

import gatelab
from gatelab.tasks import RunConfig
from gatelab.train import CHECKPOINT, RESULT, complete, run

QUIET = {"log": lambda line: None, "progress": False}
SMOKE = RunConfig("mnist-mlp", activation="relu", seed=3, scale="smoke", epochs=3)
RECORD_KEYS = {
    "task",
    "activation",
    "seed",
    "lr",
    "status",
    "metrics",
    "history",
    "wall_seconds",
    "device",
    "versions",
    "diverged_epoch",
    "error",
    "samples_per_second",
    "epochs",
    "dataset",
}


def without_timing(record: dict) -> dict:
    history = [{k: v for k, v in row.items() if k != "seconds"} for row in record["history"]]
    return {"metrics": record["metrics"], "history": history, "status": record["status"]}


def test_record_has_the_documented_fields(tmp_path):
    record = run(SMOKE, tmp_path, **QUIET)
    assert RECORD_KEYS <= set(record)
    assert record["status"] == "ok" and record["error"] is None
    assert record["lr"] == 1e-3 and record["epochs"] == 3 and record["dataset"] == "mnist-5k"
    assert [row["epoch"] for row in record["history"]] == [1, 2, 3]
    assert set(record["metrics"]) == {"val_loss", "val_accuracy", "test_loss", "test_accuracy"}
    assert 0 <= record["metrics"]["test_accuracy"] <= 1
    assert record["versions"]["torch"] == torch.__version__
    assert record["versions"]["gatelab"] == gatelab.__version__
    # training works: the loss falls and the net beats chance (10 classes)
    losses = [row["train_loss"] for row in record["history"]]
    assert losses[-1] < losses[0]
    assert record["metrics"]["test_accuracy"] > 0.3
    assert json.loads((tmp_path / RESULT).read_text()) == json.loads(json.dumps(record))


def test_same_config_gives_identical_metrics(tmp_path):
    first = run(SMOKE, tmp_path / "a", **QUIET)
    second = run(SMOKE, tmp_path / "b", **QUIET)
    assert without_timing(first) == without_timing(second)
    other_seed = run(RunConfig(**{**SMOKE.__dict__, "seed": 4}), tmp_path / "c", **QUIET)
    assert without_timing(other_seed) != without_timing(first)


class Interrupt(BaseException):
    """Stands in for a kill: not an Exception, so the trainer does not turn it into a record."""


def test_resume_after_an_interruption_reaches_the_same_result(tmp_path):
    reference = run(SMOKE, tmp_path / "full", **QUIET)

    def stop_after_epoch_2(line: str) -> None:
        if "epoch 2/3" in line:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(SMOKE, tmp_path / "killed", log=stop_after_epoch_2, progress=False)
    assert not (tmp_path / "killed" / RESULT).exists()
    state = torch.load(tmp_path / "killed" / CHECKPOINT, weights_only=True)
    assert state["epoch"] == 2
    resumed = run(SMOKE, tmp_path / "killed", resume=True, **QUIET)
    assert without_timing(resumed) == without_timing(reference)
    # a finished run is returned as it is
    again = run(SMOKE, tmp_path / "killed", resume=True, **QUIET)
    assert again["finished_at"] == resumed["finished_at"]


def test_resume_refuses_another_runs_checkpoint(tmp_path):
    run(RunConfig(**{**SMOKE.__dict__, "epochs": 1}), tmp_path, **QUIET)
    (tmp_path / RESULT).unlink()
    record = run(SMOKE, tmp_path, resume=True, **QUIET)
    assert record["status"] == "failed"
    assert "belongs to another run" in record["error"]


def test_checkpoints_are_atomic_and_load_with_weights_only(tmp_path):
    run(RunConfig(**{**SMOKE.__dict__, "epochs": 1}), tmp_path, **QUIET)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT, RESULT]  # no temp files
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert {"model", "optimizer", "epoch", "history", "identity"} <= set(state)


def test_a_nan_loss_is_a_diverged_record_not_an_exception(tmp_path):
    record = run(RunConfig(**{**SMOKE.__dict__, "lr": 1e6, "epochs": 3}), tmp_path, **QUIET)
    assert record["status"] == "diverged"
    assert record["diverged_epoch"] in (1, 2, 3)
    assert len(record["history"]) == record["diverged_epoch"]
    assert all(v is None for v in record["metrics"].values())
    json.dumps(record, allow_nan=False)  # strict JSON: NaN became null


def test_a_missing_dataset_is_a_failed_record_naming_the_files(tmp_path):
    config = RunConfig(
        "cifar10-resnet56", scale="smoke", data_root=str(tmp_path / "none"), download=False
    )
    record = run(config, tmp_path / "out", **QUIET)
    assert record["status"] == "failed"
    assert "cifar-10-batches-py" in record["error"] and "data_batch_1" in record["error"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"task": "mnist-mpl"}, "did you mean mnist-mlp"),
        ({"activation": "gelo"}, "gelu"),
        ({"scale": "huge"}, "scale = 'huge': one of 'smoke' | 'paper'"),
        ({"dataset": "cifar10"}, "task mnist-mlp takes 'mnist-5k' | 'mnist'"),
        ({"options": {"dropuot": 0.5}}, "no option 'dropuot'"),
        ({"lr": -1.0}, "lr = -1.0: a number in (0, 1e+06]"),
        ({"epochs": 0}, "epochs = 0: an integer from 1 to"),
        ({"device": "tpu"}, "device = 'tpu': auto, cpu, cuda or cuda:N"),
    ],
)
def test_bad_configs_raise_before_anything_runs(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        complete(RunConfig(**{**SMOKE.__dict__, **change}))


def test_dropout_option_reaches_the_model(tmp_path):
    record = run(
        RunConfig(**{**SMOKE.__dict__, "epochs": 1, "options": {"dropout": 0.5}}), tmp_path, **QUIET
    )
    assert record["status"] == "ok" and record["options"] == {"dropout": 0.5, "init": "paper"}


def test_a_killed_process_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL a real `gatelab run` once its first checkpoint exists, rerun with --resume."""
    args = [
        "mnist-mlp",
        "--activation",
        "silu",
        "--scale",
        "smoke",
        "--epochs",
        "4",
        "--json",
        "--quiet",
    ]
    command = [sys.executable, "-m", "gatelab", "run", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    reference = json.loads(
        subprocess.run(
            [*command, "--out", str(tmp_path / "ref")],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [*command, "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not (out / CHECKPOINT).exists() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = json.loads(
        subprocess.run(
            [*command, "--out", str(out), "--resume"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert without_timing(resumed) == without_timing(reference)
