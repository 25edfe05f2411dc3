"""The wide residual network of Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016
(arXiv:1605.07146), in the variant Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)",
arXiv:1606.08415, §3.5 trained on CIFAR-100 (WRN-40-4, dropout keep 0.7).

The GELU paper's block differs from Zagoruyko & Komodakis's BN-act-conv-dropout-BN-act-conv: it is
"conv-act-dropout(keep 0.7)-conv-act-BN + shortcut". Read with the official code
(github.com/hendrycks/GELUs, SGDR_WRNs_gelu.py, ``ResNet_FullPre_Wide``) the network is::

    stem:   3×3 conv 16 (no bias) → BN → act → BN
    block:  3×3 conv (stride s, bias) → act → dropout → 3×3 conv (bias) → act → BN
            + shortcut (identity, or a bias-free 1×1 conv with stride s when the shape changes)
    head:   BN → act → global average pool → linear

with 3 stages of n = (depth − 4)/6 blocks of 16k, 32k and 64k channels, stride 2 entering
stages 2 and 3. Conv weights use He et al. 2015 normal init, std √(2/fan_in)
(``HeNormal(gain='relu')``); the classifier std √(1/fan_in) (``HeNormal()``); biases 0. (The
released code leaves the 1×1 shortcuts at Lasagne's Glorot default and also projects a
16 → 16 shortcut when k = 1; here every conv is He-initialised and shortcuts project only when
the shape changes, as in Zagoruyko & Komodakis.)
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from ..modules import create
from .mlp import check_dropout, check_positive


class WideBlock(nn.Module):
    """conv3×3 → act → dropout → conv3×3 → act → BN, plus the shortcut (GELU paper §3.5)."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, dropout: float, activation: str
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.act1 = create(activation)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.act2 = create(activation)
        self.bn = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out = self.dropout(self.act1(self.conv1(x)))
        out = self.bn(self.act2(self.conv2(out)))
        return out + self.shortcut(x)


class WideResNet(nn.Module):
    """WRN-`depth`-`widen` with the GELU paper's block order (module docstring); depth = 6n + 4.
    The defaults are the paper's CIFAR-100 WRN-40-4 with dropout 0.3 (keep 0.7)."""

    def __init__(
        self,
        depth: int = 40,
        widen: int = 4,
        num_classes: int = 100,
        dropout: float = 0.3,
        activation: str = "gelu",
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise ValueError(
                "a wide ResNet has depth 6n + 4 with n >= 1 (10, 16, 22, 28, 40, ...), "
                f"got {depth!r}"
            )
        check_positive(widen=widen, num_classes=num_classes, in_channels=in_channels)
        check_dropout(dropout)
        blocks_per_stage = (depth - 4) // 6
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            create(activation),
            nn.BatchNorm2d(16),
        )
        blocks: list[nn.Module] = []
        channels = 16
        for stage, width in enumerate((16 * widen, 32 * widen, 64 * widen)):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(WideBlock(channels, width, stride, dropout, activation))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.BatchNorm2d(channels), create(activation), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.fc = nn.Linear(channels, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal convs and classifier, zero biases, BN scale 1 and shift 0."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()
        nn.init.normal_(self.fc.weight, std=1 / math.sqrt(self.fc.in_features))
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.head(self.blocks(self.stem(x))))
