"""The image-classification protocols on CIFAR-10/100 and STL-10.

- ``cifar10-cnn9``: Hendrycks & Gimpel §3.5, the shallow 9-layer CNN with BN on every layer;
  pixels (x − 127.5)/128, ZCA whitening (ε = 1e-2, our choice: the paper gives none), Gaussian
  input noise σ = 0.15, no augmentation, Adam, batch 100, 200 epochs, lr constant then linear
  decay to 0 from the half, β1 0.9 → 0.5 at the half (their code).
- ``cifar100-wrn40-4``: §3.5, WRN-40-4 with the paper's block order, dropout 0.3, SGDR (one
  cosine cycle T0 = 50, η = 0.1) for 50 epochs, Nesterov 0.9, wd 5e-4, batch 128, crop + flip,
  per-channel standardisation.
- ``cifar10-resnet56`` / ``cifar100-resnet56``: the GEM paper's testbed (Krause 2026) with
  He et al. 2016 §4.2's recipe: SGD 0.1, momentum 0.9, wd 1e-4, batch 128, lr ÷10 at 50% and
  75% of the run (32k and 48k of 64k iterations = 164 epochs of 45k images), crop + flip,
  45k/5k train/validation split, per-channel standardisation.
- ``resnet-norm``: Lee 2023 compares activations under batch, layer and group normalisation in
  a residual CNN on CIFAR-10, CIFAR-100 and STL-10; the paper's network and protocol are not
  available, so this is a pre-activation ResNet-18 (He et al. 2016b) with option ``norm``,
  trained with SGD 0.1, Nesterov 0.9, wd 5e-4, one cosine cycle of 100 epochs, batch 128,
  crop (pad = size/8) + flip — our documented choice.

Validation: 5,000 training images (1/10 when the training set is smaller, e.g. STL-10's 5,000
or the smoke subsample), a fixed split shared by every run.
"""

from __future__ import annotations

import torch

from .base import (
    Experiment,
    RunConfig,
    Task,
    TensorData,
    adam,
    cosine,
    linear_decay_from_half,
    register_task,
    step_decay,
)
from .datasets import load
from .preprocess import (
    apply_zca,
    centered_pixels,
    channel_stats,
    gaussian_noise,
    random_crop_flip,
    split_validation,
    unit_range,
    zca_matrix,
)

GELU_PAPER = "Hendrycks & Gimpel, Gaussian Error Linear Units (GELUs), arXiv:1606.08415 v4"
GEM_PAPER = "Krause, Geometric Monomial (GEM), arXiv:2604.21677; recipe of He et al. 2016 §4.2"
LEE_PAPER = "Lee, GELU Activation Function in Deep Learning, arXiv:2305.12073 (2023)"
SGD_LR_GRID = (0.3, 0.1, 0.03)


def _val_size(n: int) -> int:
    return min(5000, max(1, n // 10))


def image_data(config: RunConfig, choices: tuple[str, ...], scaling: str) -> TensorData:
    """Split off validation, then scale: "standardize" (per-channel, training statistics) or
    "zca" ((x − 127.5)/128 then ZCA whitening fitted on the training split)."""
    splits = load(config, choices)
    train, val = split_validation(splits.train_x, splits.train_y, _val_size(len(splits.train_x)))
    test = (splits.test_x, splits.test_y)
    if scaling == "zca":
        train_x = centered_pixels(train[0])
        mean, matrix = zca_matrix(train_x)
        scale = lambda x: apply_zca(centered_pixels(x), mean, matrix)  # noqa: E731
    else:
        mean, std = channel_stats(unit_range(train[0]))
        scale = lambda x: (unit_range(x) - mean) / std  # noqa: E731
    pairs = [(scale(x), y) for x, y in (train, val, test)]
    return TensorData(*pairs, splits.num_classes, splits.name, splits.source)


def sgd(momentum: float, weight_decay: float, nesterov: bool):
    def make(params, lr: float) -> torch.optim.Optimizer:
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov
        )

    return make


def build_cnn9(config: RunConfig, device: torch.device) -> Experiment:
    from gatelab.models.cnn9 import CNN9

    data = image_data(config, ("cifar10",), "zca")
    width = (16, 32) if config.scale == "smoke" else (96, 192)
    model = CNN9(config.activation, num_classes=data.num_classes, width=width)
    schedule = linear_decay_from_half(beta1_after=0.5)
    return Experiment(model, data, "classify", 100, adam, schedule, gaussian_noise(0.15))


def build_wrn(config: RunConfig, device: torch.device) -> Experiment:
    from gatelab.models.wrn import WideResNet

    data = image_data(config, ("cifar100",), "standardize")
    depth, widen = (10, 1) if config.scale == "smoke" else (40, 4)
    model = WideResNet(
        depth=depth,
        widen=widen,
        num_classes=data.num_classes,
        dropout=0.3,
        activation=config.activation,
    )
    optimizer = sgd(0.9, 5e-4, nesterov=True)
    return Experiment(model, data, "classify", 128, optimizer, cosine, random_crop_flip(4))


def build_resnet56(dataset: str):
    def build(config: RunConfig, device: torch.device) -> Experiment:
        from gatelab.models.resnet import cifar_resnet

        data = image_data(config, (dataset,), "standardize")
        depth, widths = (8, (8, 16, 32)) if config.scale == "smoke" else (56, (16, 32, 64))
        model = cifar_resnet(depth, data.num_classes, config.activation, widths=widths)
        optimizer = sgd(0.9, 1e-4, nesterov=False)
        return Experiment(model, data, "classify", 128, optimizer, step_decay(), random_crop_flip())

    return build


def build_resnet_norm(config: RunConfig, device: torch.device) -> Experiment:
    from gatelab.models.resnet import PreActResNet

    data = image_data(config, ("cifar10", "cifar100", "stl10"), "standardize")
    smoke = config.scale == "smoke"
    widths, blocks = ((8, 16, 32, 64), (1, 1, 1, 1)) if smoke else ((64, 128, 256, 512), (2,) * 4)
    model = PreActResNet(
        data.num_classes,
        config.activation,
        norm=str(config.options["norm"]),
        widths=widths,
        blocks=blocks,
        groups=8 if smoke else 32,
    )
    pad = data.train[0].shape[-1] // 8
    optimizer = sgd(0.9, 5e-4, nesterov=True)
    return Experiment(model, data, "classify", 128, optimizer, cosine, random_crop_flip(pad))


register_task(
    Task(
        name="cifar10-cnn9",
        summary="shallow 9-layer CNN, ZCA, input noise 0.15, Adam 200 epochs (GELU paper §3.5)",
        citation=f"{GELU_PAPER}, §3.5",
        datasets=("cifar10",),
        lr=1e-3,
        lr_grid=(1e-3, 1e-4, 1e-5),
        epochs={"smoke": 1, "paper": 200},
        objective="classify",
        build=build_cnn9,
    )
)
register_task(
    Task(
        name="cifar100-wrn40-4",
        summary="Wide ResNet 40-4, dropout 0.3, SGDR 50 epochs (GELU paper §3.5)",
        citation=f"{GELU_PAPER}, §3.5",
        datasets=("cifar100",),
        lr=0.1,
        lr_grid=SGD_LR_GRID,
        epochs={"smoke": 1, "paper": 50},
        objective="classify",
        build=build_wrn,
    )
)
for _name in ("cifar10", "cifar100"):
    register_task(
        Task(
            name=f"{_name}-resnet56",
            summary=f"ResNet-56 on {_name.upper()}, He et al. 2016 recipe (GEM paper testbed)",
            citation=GEM_PAPER,
            datasets=(_name,),
            lr=0.1,
            lr_grid=SGD_LR_GRID,
            epochs={"smoke": 1, "paper": 164},
            objective="classify",
            build=build_resnet56(_name),
        )
    )
register_task(
    Task(
        name="resnet-norm",
        summary="pre-activation ResNet-18 with batch/layer/group norm (after Lee 2023)",
        citation=f"{LEE_PAPER}; network: He et al. 2016b (protocol not published: ours)",
        datasets=("cifar10", "cifar100", "stl10"),
        lr=0.1,
        lr_grid=SGD_LR_GRID,
        epochs={"smoke": 1, "paper": 100},
        objective="classify",
        build=build_resnet_norm,
        options={"norm": "batch"},
    )
)
