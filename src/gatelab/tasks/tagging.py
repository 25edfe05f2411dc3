"""The GELU paper's sequence-labelling experiments, framed as per-token / per-frame
classification (Hendrycks & Gimpel, arXiv:1606.08415 v4, §3.3–3.4).

- ``twitter-pos`` (§3.3): a window of 3 words × 50-d tweet embeddings → 2 hidden layers × 256,
  dropout keep 0.8 → 25 tags; Adam, lr ∈ {1e-3, 1e-4, 1e-5}; their code trains 30 epochs with
  batch 16.
- ``timit`` (§3.4): 11 frames × 26 MFCC/energy/delta features → 5 hidden layers × 2048,
  dropout 0.5 → 39 phone classes; Adam, same lr grid, 30 epochs (their code); batch 128 is our
  choice (not published).

Neither corpus may be redistributed: both read your copy from ``--data-root`` in its public
layout (:mod:`gatelab.data.twitter_pos`, :mod:`gatelab.data.timit`). Both take the option
``init`` (paper | kaiming | gain; see :func:`gatelab.models.mlp.init_linear_`).
"""

from __future__ import annotations

import torch

from .base import Experiment, RunConfig, Task, TensorData, adam, constant, register_task
from .datasets import load
from .preprocess import split_validation

CITATION = "Hendrycks & Gimpel, Gaussian Error Linear Units (GELUs), arXiv:1606.08415 v4"
LR_GRID = (1e-3, 1e-4, 1e-5)


def vector_data(config: RunConfig, choices: tuple[str, ...]) -> TensorData:
    """Feature vectors as given by the loader; its own validation split, else 1/10 of train."""
    splits = load(config, choices)
    if splits.val_x is not None:
        train, val = (splits.train_x, splits.train_y), (splits.val_x, splits.val_y)
    else:
        size = max(1, len(splits.train_x) // 10)
        train, val = split_validation(splits.train_x, splits.train_y, size)
    pairs = [(x.float(), y) for x, y in (train, val, (splits.test_x, splits.test_y))]
    return TensorData(*pairs, splits.num_classes, splits.name, splits.source)


def build_twitter_pos(config: RunConfig, device: torch.device) -> Experiment:
    from gatelab.models.mlp import window_tagger

    data = vector_data(config, ("twitter-pos",))
    model = window_tagger(config.activation, num_tags=data.num_classes, init=config.options["init"])
    return Experiment(model, data, "classify", 16, adam, constant)


def build_timit(config: RunConfig, device: torch.device) -> Experiment:
    from gatelab.models.mlp import frame_classifier

    data = vector_data(config, ("timit",))
    size = {"hidden": 64, "depth": 2} if config.scale == "smoke" else {}
    model = frame_classifier(
        config.activation, num_phones=data.num_classes, init=config.options["init"], **size
    )
    return Experiment(model, data, "classify", 128, adam, constant)


register_task(
    Task(
        name="twitter-pos",
        summary="window tagger 150 → 2×256 → 25 tags, dropout keep 0.8 (GELU paper §3.3)",
        citation=f"{CITATION}, §3.3",
        datasets=("twitter-pos",),
        lr=1e-3,
        lr_grid=LR_GRID,
        epochs={"smoke": 2, "paper": 30},
        objective="classify",
        build=build_twitter_pos,
        options={"init": "paper"},
    )
)
register_task(
    Task(
        name="timit",
        summary="frame classifier 286 → 5×2048 → 39 phones, dropout 0.5 (GELU paper §3.4)",
        citation=f"{CITATION}, §3.4",
        datasets=("timit",),
        lr=1e-3,
        lr_grid=LR_GRID,
        epochs={"smoke": 2, "paper": 30},
        objective="classify",
        build=build_timit,
        options={"init": "paper"},
    )
)
