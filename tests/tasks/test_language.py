"""The transformer testbeds through the trainer: smoke runs learn, records say which tokenizer
was used, and two gloo ranks under torchrun agree on the loss and the weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gatelab.tasks import RunConfig
from gatelab.train import run

QUIET = {"log": lambda line: None, "progress": False}


@pytest.mark.parametrize("task, metrics", [("gpt2", {"val_loss", "val_perplexity"}),
                                           ("bert-small", {"val_loss"})])  # fmt: skip
def test_smoke_language_models_learn(task, metrics, tmp_path, one_thread):
    config = RunConfig(task, activation="gelu", scale="smoke", epochs=2,
                       options={"tokenizer": "bytes"})  # fmt: skip
    record = run(config, tmp_path, **QUIET)
    assert record["status"] == "ok", record["error"]
    assert set(record["metrics"]) == metrics
    losses = [row["val_loss"] for row in record["history"]]
    assert losses[1] < losses[0] < 5.6  # below ln(260) after 50 steps, and still falling
    assert record["data"]["tokenizer"] == "bytes"
    assert record["data"]["source"].startswith("stdlib(")
    assert record["tokens_per_second"] == pytest.approx(record["samples_per_second"] * 64)


def test_gated_mlp_option(tmp_path, one_thread):
    config = RunConfig("gpt2", activation="gem(N=2)", scale="smoke", epochs=1,
                       options={"tokenizer": "bytes", "mlp": "glu"})  # fmt: skip
    record = run(config, tmp_path, **QUIET)
    assert record["status"] == "ok", record["error"]


def test_two_gloo_ranks_agree_on_loss_and_weights(tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "gatelab", "run", "gpt2", "--scale", "smoke", "--epochs", "1", "--device", "cpu",
        "--set", "tokenizer=bytes", "--out", str(tmp_path), "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
    ranks = [json.loads((tmp_path / "ranks" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["train_loss"] == ranks[1]["train_loss"]  # all-reduced
    assert ranks[0]["weight_checksum"] == ranks[1]["weight_checksum"]  # DDP kept them in sync
    record = json.loads((tmp_path / "result.json").read_text())
    assert (
        record["status"] == "ok" and record["history"][0]["train_loss"] == ranks[0]["train_loss"][0]
    )


class Interrupt(BaseException):
    """Stands in for a kill (not an Exception: the trainer does not record it)."""


def test_language_runs_resume_to_the_same_result(tmp_path, one_thread):
    config = RunConfig("gpt2", scale="smoke", epochs=2, options={"tokenizer": "bytes"})
    reference = run(config, tmp_path / "full", **QUIET)

    def stop_after_first_evaluation(line: str) -> None:
        if "epoch 1/2" in line:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(config, tmp_path / "killed", log=stop_after_first_evaluation, progress=False)
    resumed = run(config, tmp_path / "killed", resume=True, **QUIET)
    strip = lambda r: [{k: v for k, v in row.items() if k != "seconds"} for row in r["history"]]  # noqa: E731
    assert strip(resumed) == strip(reference)
    assert resumed["metrics"] == reference["metrics"]
