"""Every task runs at the smoke scale through the real loaders, on small files written in the
datasets' published formats (CIFAR pickles, STL-10 binaries, TIMIT SPHERE, Twitter POS text)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from data.formats import write_cifar_batch, write_stl10
from data.test_timit import write_corpus as write_timit
from data.test_twitter_pos import write_corpus as write_twitter

from gatelab.tasks import TASKS, RunConfig, get_task
from gatelab.train import run

QUIET = {"log": lambda line: None, "progress": False}


def class_images(n: int, classes: int, shape: tuple[int, ...], seed: int):
    """uint8 images whose mean brightness pattern depends on the class: learnable, small."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    prototypes = rng.integers(0, 256, size=(classes, *shape))
    images = 0.7 * prototypes[labels] + 0.3 * rng.integers(0, 256, size=(n, *shape))
    return images.astype(np.uint8), labels


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for name, folder, files, key, classes in (
        ("cifar10", "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], b"labels", 10),
        ("cifar100", "cifar-100-python", ["train"], b"fine_labels", 100),
    ):
        per_file = 200 // len(files)
        for i, file in enumerate([*files, "test_batch" if name == "cifar10" else "test"]):
            images, labels = class_images(
                per_file if i < len(files) else 60, classes, (3072,), seed=i
            )
            extra = {b"coarse_labels": list(labels % 20)} if name == "cifar100" else {}
            write_cifar_batch(root / folder / file, images, {key: list(labels), **extra})
        if name == "cifar10":
            write_cifar_batch(root / folder / "batches.meta", np.zeros((0, 3072), np.uint8), {})
    for split, n in (("train", 60), ("test", 40)):
        images, labels = class_images(n, 10, (3, 96, 96), seed=7)
        write_stl10(root / "stl10_binary", split, images, labels)
    write_twitter(root / "twitter")
    write_timit(root / "timit")
    return root


DATASETS = {
    "cifar10-cnn9": None,
    "cifar100-wrn40-4": None,
    "cifar10-resnet56": None,
    "cifar100-resnet56": None,
    "resnet-norm": None,
    "twitter-pos": "twitter",
    "timit": "timit",
}


IMAGE_AND_VECTOR_TASKS = sorted(n for n, t in TASKS.items() if t.objective != "language")


@pytest.mark.parametrize("name", IMAGE_AND_VECTOR_TASKS)  # language tasks: test_language.py
def test_every_task_runs_at_smoke_scale(name, data_root, tmp_path):
    task = get_task(name)
    sub = DATASETS.get(name, "")
    root = None if name.startswith("mnist") else str(data_root / sub if sub else data_root)
    config = RunConfig(name, activation="gelu", scale="smoke", data_root=root, download=False)
    record = run(config, tmp_path, **QUIET)
    assert record["status"] == "ok", record["error"]
    assert len(record["history"]) == task.epochs["smoke"]
    assert record["metrics"][task.metric] is not None
    assert "smoke" in record["data_source"] or name in ("twitter-pos", "timit")
    if name == "mnist-noise":
        curve = record["curves"]["noise"]
        assert [p["a"] for p in curve] == [0.25 * i for i in range(13)]
        assert curve[0]["accuracy"] == pytest.approx(record["metrics"]["test_accuracy"])


@pytest.mark.parametrize("norm", ["layer", "group"])
def test_resnet_norm_on_stl10_with_other_norms(norm, data_root, tmp_path):
    config = RunConfig(
        "resnet-norm",
        scale="smoke",
        dataset="stl10",
        data_root=str(data_root),
        download=False,
        options={"norm": norm},
    )
    record = run(config, tmp_path, **QUIET)
    assert record["status"] == "ok", record["error"]
    assert record["dataset"] == "stl10" and record["options"] == {"norm": norm}


def test_synthetic_data_trains_every_image_task_shape(tmp_path):
    config = RunConfig("cifar10-resnet56", scale="smoke", dataset="synthetic", epochs=2)
    record = run(config, tmp_path, **QUIET)
    assert record["status"] == "ok"
    assert record["data_source"].startswith("generated: synthetic_like('cifar10'")


def test_mnist_tasks_take_mnist1d(tmp_path):
    record = run(RunConfig("mnist-ae", scale="smoke", dataset="mnist1d"), tmp_path, **QUIET)
    assert record["status"] == "ok"
    assert record["metrics"]["test_mse"] > 0
    assert torch.isfinite(torch.tensor(record["metrics"]["test_mse"]))


@pytest.mark.parametrize("name", ["mnist-mlp", "mnist-ae"])
def test_the_gain_init_scales_the_first_layer_by_the_pixels_rms(name):
    """init=gain on [0, 1] pixels: the first layer's std·√fan_in is 1/√E[x²] of the training
    inputs (computed here from the data the task loads), the paper init is untouched."""
    import dataclasses
    import math

    from gatelab.tasks import resolve_options
    from gatelab.tasks.mnist import mnist_data

    task = get_task(name)
    config = RunConfig(name, activation="gem(N=1)", scale="smoke", options={"init": "gain"})
    config = dataclasses.replace(config, options=resolve_options(task, config.options))
    pixels = mnist_data(config).train[0]
    expected = 1 / math.sqrt(float(pixels.double().square().mean()))
    assert 2.5 < expected < 4.5  # MNIST digits: E[x²] ≈ 0.1
    torch.manual_seed(0)
    model = task.build(config, torch.device("cpu")).model
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert float(first.weight.std()) * math.sqrt(first.in_features) == pytest.approx(
        expected, rel=0.03
    )
