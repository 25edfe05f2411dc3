"""The shallow 9-layer CIFAR-10 CNN of Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)",
arXiv:1606.08415, §3.5: the architecture of Salimans & Kingma 2016 (weight normalisation,
arXiv:1602.07868), trained with batch normalisation.

Layer by layer as in the official code (github.com/hendrycks/GELUs, all_convnet.py)::

    Gaussian noise σ = 0.15 (training only; see below)
    3 × [3×3 conv 96, pad 1]  → 2×2 max-pool → dropout 0.5
    3 × [3×3 conv 192, pad 1] → 2×2 max-pool → dropout 0.5
    3×3 conv 192, valid → 2 × [1×1 conv 192] → global average pool → dense 10 → BN

"BN on every layer": each conv is ``batch_norm(Conv(..., nonlinearity=f))``, which in Lasagne
drops the conv bias and applies conv → BN → f; the final dense layer is
``batch_norm(Dense(10, nonlinearity=None))``, i.e. a bias-free linear map followed by BN of the
logits. Weights use Lasagne's default Glorot-uniform initialisation.

The official code makes the σ = 0.15 input noise the network's first layer; gatelab's
``cifar10-cnn9`` task applies it as a training-time input transform (the protocol lives in its
task), so `input_noise` defaults to 0 — no noise layer. ``input_noise=0.15`` gives the
self-contained network of all_convnet.py (noise active only in training mode, like dropout);
never use both, or the inputs are noised twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..modules import create
from .mlp import check_dropout, check_positive


class GaussianNoise(nn.Module):
    """x + σ·N(0, 1) in training mode, x unchanged in eval mode (Lasagne GaussianNoiseLayer)."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        if not sigma >= 0:
            raise ValueError(f"the noise standard deviation must be >= 0, got {sigma!r}")
        self.sigma = sigma

    def forward(self, x: Tensor) -> Tensor:
        if self.training and self.sigma > 0:
            return x + self.sigma * torch.randn_like(x)
        return x

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


def conv_bn_act(
    in_channels: int, out_channels: int, kernel_size: int, padding: int, activation: str
) -> nn.Sequential:
    """Bias-free conv → BatchNorm2d → a fresh activation (Lasagne ``batch_norm(ConvLayer)``)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False),
        nn.BatchNorm2d(out_channels),
        create(activation),
    )


class CNN9(nn.Module):
    """The §3.5 CNN: optional training-time input noise (module docstring), 9 conv layers with
    BN and a fresh activation each, then global average pooling and a bias-free linear layer
    with BN to `num_classes` logits. `width` = (channels of the first three convs, channels of
    the other six). Needs inputs of at least 12×12; 32×32 CIFAR images give 6×6 maps after the
    valid conv."""

    def __init__(
        self,
        activation: str = "gelu",
        num_classes: int = 10,
        width: Sequence[int] = (96, 192),
        dropout: float = 0.5,
        input_noise: float = 0.0,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        width = tuple(width)
        if len(width) != 2:
            raise ValueError(f"width must be two channel counts like (96, 192), got {width!r}")
        narrow, wide = width
        check_positive(num_classes=num_classes, narrow=narrow, wide=wide, in_channels=in_channels)
        check_dropout(dropout)
        noise = [GaussianNoise(input_noise)] if input_noise else []
        self.features = nn.Sequential(
            *noise,
            conv_bn_act(in_channels, narrow, 3, 1, activation),
            conv_bn_act(narrow, narrow, 3, 1, activation),
            conv_bn_act(narrow, narrow, 3, 1, activation),
            nn.MaxPool2d(2),
            nn.Dropout(dropout),
            conv_bn_act(narrow, wide, 3, 1, activation),
            conv_bn_act(wide, wide, 3, 1, activation),
            conv_bn_act(wide, wide, 3, 1, activation),
            nn.MaxPool2d(2),
            nn.Dropout(dropout),
            conv_bn_act(wide, wide, 3, 0, activation),
            conv_bn_act(wide, wide, 1, 0, activation),
            conv_bn_act(wide, wide, 1, 0, activation),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(
            nn.Linear(wide, num_classes, bias=False), nn.BatchNorm1d(num_classes)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weights (Lasagne's default), BN scale 1 and shift 0."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
