"""The ensemble trainer against sequential runs: same initial weights and batch order exactly,
final metrics within the reordering tolerance; divergence; resume from a checkpoint."""

from __future__ import annotations

import pytest
import torch
from data.test_timit import write_corpus as write_timit
from data.test_twitter_pos import write_corpus as write_twitter

from gatelab.ensemble import EnsembleTrainer, NotStackable, train_group
from gatelab.tasks import RunConfig
from gatelab.train import Trainer, batch_bounds, complete, pick_device, run, shuffled

QUIET = {"log": lambda line: None, "progress": False}
BASE = {"scale": "smoke", "epochs": 3, "device": "cpu", "activation": "gelu"}
#: seeds × lrs × dropout: what a group of the GELU paper's §3.1 grid varies
GRID = [
    RunConfig("mnist-mlp", seed=s, lr=lr, options={"dropout": d}, **BASE)
    for s in (0, 1)
    for lr in (1e-3, 1e-4)
    for d in (0.0, 0.5)
]


def sequential_trainer(config: RunConfig) -> Trainer:
    config = complete(config)
    trainer = Trainer(config, pick_device("cpu"), None, lambda line: None, False)
    trainer.setup(resume=False)
    return trainer


def test_members_start_from_their_sequential_runs_weights_and_batches():
    ensemble = EnsembleTrainer(GRID)
    ensemble.setup(resume=False)
    x = ensemble.data.train[0]
    for member, config in enumerate(GRID):
        single = sequential_trainer(config)
        state = ensemble.model.member_state(member)
        for name, value in single.model.state_dict().items():
            assert torch.equal(state[name], value), name  # bit for bit
        batches = [xb for xb, _ in single._batches(1)]  # the sequential run's first epoch
        order = shuffled(len(x), ensemble.order_generators[member], config.seed, 0, 1)
        bounds = batch_bounds(len(x), ensemble.batch_size)
        assert len(bounds) == len(batches)
        for (a, b), xb in zip(bounds, batches):
            assert torch.equal(x[order[a:b]], xb)


@pytest.fixture(scope="module")
def ensemble_records():
    return train_group(GRID)


@pytest.mark.parametrize("member", range(len(GRID)))
def test_each_member_gets_its_sequential_runs_result(ensemble_records, member):
    single = run(GRID[member], **QUIET)
    mine = ensemble_records[member]
    assert mine["status"] == single["status"] == "ok"
    assert mine["ensemble"] == {"group": "ensemble", "size": len(GRID), "member": member}
    assert mine["config"] == single["config"] and mine["options"] == single["options"]
    # batched matmuls sum in another order (≈1e-6 relative per layer); over 3 epochs of 8-layer
    # training the losses move by < 1e-5 (measured ≤ 1e-7); accuracies may flip an example
    for ours, theirs in zip(mine["history"], single["history"]):
        for key in ("train_loss", "val_loss", "test_loss"):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-5), key
        for key in ("val_accuracy", "test_accuracy"):
            assert abs(ours[key] - theirs[key]) <= 2 / 256, key
    assert set(mine) == set(single)  # the record schema


def test_a_diverging_member_is_recorded_at_its_epoch_and_the_others_go_on():
    configs = [GRID[0], RunConfig("mnist-mlp", seed=0, lr=1e6, **BASE), GRID[1]]
    records = train_group(configs)
    assert [r["status"] for r in records] == ["ok", "diverged", "ok"]
    diverged = records[1]
    assert diverged["diverged_epoch"] in (1, 2, 3)
    assert len(diverged["history"]) == diverged["diverged_epoch"]
    assert all(v is None for v in diverged["metrics"].values())
    alone = run(configs[1], **QUIET)
    assert alone["status"] == "diverged" and alone["diverged_epoch"] == diverged["diverged_epoch"]
    for record, config in ((records[0], GRID[0]), (records[2], GRID[1])):
        single = run(config, **QUIET)
        assert len(record["history"]) == 3
        assert record["history"][-1]["test_loss"] == pytest.approx(
            single["history"][-1]["test_loss"], rel=1e-5
        )


class Stop(BaseException):
    """Raised by a log callback to stop training after a checkpoint, as a kill would."""


def test_a_checkpoint_resumes_to_the_uninterrupted_records_even_for_a_subset(tmp_path):
    configs = GRID[:4]
    whole = train_group(configs)

    def stop_after_first_epoch(line: str) -> None:
        raise Stop

    interrupted = EnsembleTrainer(configs, tmp_path, stop_after_first_epoch)
    interrupted.setup(resume=True)
    with pytest.raises(Stop):
        interrupted.fit()
    # two of the four were recorded meanwhile: the others resume from the group's checkpoint
    rest = [configs[3], configs[1]]
    lines = []
    resumed = train_group(rest, "ensemble", tmp_path, lines.append)
    assert any("resumed" in line and "after epoch 1" in line for line in lines)
    for record, index in zip(resumed, (3, 1)):
        expected = whole[index]
        strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa
        assert strip(record["history"]) == strip(expected["history"])  # bit for bit
        assert record["metrics"] == expected["metrics"]


def test_noise_curves_are_computed_per_member_on_its_own_model():
    configs = [RunConfig("mnist-noise", seed=s, **BASE) for s in (0, 1)]
    records = train_group(configs)
    for record, config in zip(records, configs):
        single = run(config, **QUIET)
        ours, theirs = record["curves"]["noise"], single["curves"]["noise"]
        assert [p["a"] for p in ours] == [p["a"] for p in theirs]
        for p, q in zip(ours, theirs):
            assert p["loss"] == pytest.approx(q["loss"], rel=1e-4)


@pytest.mark.parametrize("task", ["mnist-ae", "twitter-pos", "timit"])
def test_the_other_mlp_tasks_train_as_ensembles(task, tmp_path):
    settings = dict(BASE, epochs=1)
    if task == "twitter-pos":  # small corpora in the real on-disk formats
        write_twitter(tmp_path / "twitter")
        settings["data_root"] = str(tmp_path / "twitter")
    if task == "timit":
        write_timit(tmp_path / "timit")
        settings["data_root"] = str(tmp_path / "timit")
    configs = [RunConfig(task, seed=s, lr=lr, **settings) for s in (0, 1) for lr in (1e-3, 1e-4)]
    records = train_group(configs)
    assert [r["status"] for r in records] == ["ok"] * 4, [r["error"] for r in records]
    single = run(configs[3], **QUIET)
    metric = "test_mse" if task == "mnist-ae" else "test_loss"
    assert records[3]["metrics"][metric] == pytest.approx(single["metrics"][metric], rel=1e-5)


def test_batchnorm_models_refuse_to_stack():
    configs = [RunConfig("resnet-norm", seed=s, dataset="synthetic", **BASE) for s in (0, 1)]
    with pytest.raises(NotStackable):
        train_group(configs)


def test_members_that_differ_in_more_than_seed_lr_and_dropout_are_refused():
    other_epochs = RunConfig("mnist-mlp", seed=0, **{**BASE, "epochs": 2})
    with pytest.raises(ValueError, match="only in seed, lr and dropout"):
        EnsembleTrainer([GRID[0], other_epochs])
    other_init = RunConfig("mnist-mlp", seed=0, options={"init": "gain"}, **BASE)
    with pytest.raises(ValueError, match="only in seed, lr and dropout"):
        EnsembleTrainer([GRID[0], other_init])
