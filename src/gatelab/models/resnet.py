"""Residual networks: the CIFAR ResNet of He et al., "Deep Residual Learning for Image
Recognition", CVPR 2016 (arXiv:1512.03385), §4.2 — the ResNet-56 of Krause (2026) — and a
pre-activation ResNet (He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016,
arXiv:1603.05027) with selectable normalisation, standing in for the residual CNN of Lee (2023,
arXiv:2305.12073), whose exact network is not published.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ..modules import create
from .mlp import check_positive

NORMS = ("batch", "layer", "group")


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution, padding 1, no bias (a normalisation layer supplies the shift)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def kaiming_init_convs_(model: nn.Module) -> None:
    """He et al. 2015 (arXiv:1502.01852, §2.2) normal init, std = √(2 / fan_in), for every conv;
    normalisation layers get scale 1 and shift 0; the linear classifier keeps PyTorch's default
    (the papers do not specify it)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class ZeroPadShortcut(nn.Module):
    """He et al. 2016 §4.2 option A: the identity, subsampled by `stride` and with zero channels
    appended up to `out_channels`; it has no parameters."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"an option-A shortcut can only add channels, got {in_channels} -> {out_channels}"
                "; give non-decreasing widths"
            )
        self.extra_channels, self.stride = out_channels - in_channels, stride

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.extra_channels))


class BasicBlock(nn.Module):
    """conv3×3 → BN → act → conv3×3 → BN, plus the shortcut, then act (He et al. 2016, Fig. 2)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, activation: str) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.act1 = create(activation)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = create(activation)
        changes_shape = stride != 1 or in_channels != out_channels
        self.shortcut = (
            ZeroPadShortcut(in_channels, out_channels, stride) if changes_shape else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """He et al. 2016 §4.2: 3×3 conv → BN → act, then one stage of `blocks_per_stage` basic
    blocks per entry of `widths` (stride 2 on entering every stage after the first, option-A
    shortcuts), global average pooling and a linear classifier; 6n + 2 weighted layers."""

    def __init__(
        self,
        blocks_per_stage: int,
        num_classes: int = 10,
        activation: str = "gelu",
        widths: Sequence[int] = (16, 32, 64),
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        widths = tuple(widths)
        if not widths:
            raise ValueError("widths must name at least one stage, e.g. (16, 32, 64)")
        check_positive(blocks_per_stage=blocks_per_stage, num_classes=num_classes)
        check_positive(in_channels=in_channels)
        check_positive(**{f"widths[{i}]": w for i, w in enumerate(widths)})
        self.stem = nn.Sequential(
            conv3x3(in_channels, widths[0]), nn.BatchNorm2d(widths[0]), create(activation)
        )
        blocks: list[nn.Module] = []
        channels = widths[0]
        for stage, width in enumerate(widths):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(BasicBlock(channels, width, stride, activation))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(channels, num_classes)
        kaiming_init_convs_(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.blocks(self.stem(x))))


def cifar_resnet(
    depth: int = 56,
    num_classes: int = 10,
    activation: str = "gelu",
    widths: Sequence[int] = (16, 32, 64),
    in_channels: int = 3,
) -> CifarResNet:
    """The CIFAR ResNet-`depth` of He et al. 2016 §4.2 (depth = 6n + 2: 20, 32, 44, 56, 110, …);
    ResNet-56 (n = 9) has 0.85M parameters (Table 6)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"a CIFAR ResNet has depth 6n + 2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, ...), "
            f"got {depth!r}"
        )
    return CifarResNet((depth - 2) // 6, num_classes, activation, widths, in_channels)


def norm_factory(norm: str, groups: int = 32) -> Callable[[int], nn.Module]:
    """channels ↦ normalisation layer: "batch" = BatchNorm2d (Ioffe & Szegedy 2015); "group" =
    GroupNorm(min(groups, C), C) (Wu & He 2018); "layer" = GroupNorm(1, C), which normalises
    each sample over (C, H, W) with a per-channel affine — the LayerNorm of convolutional
    networks in Wu & He 2018, §3.1, and independent of the input's spatial size."""
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; choose one of {', '.join(NORMS)}")
    check_positive(groups=groups)
    if norm == "batch":
        return nn.BatchNorm2d
    if norm == "layer":
        return lambda channels: nn.GroupNorm(1, channels)
    return lambda channels: _group_norm(channels, groups)


def _group_norm(channels: int, groups: int) -> nn.GroupNorm:
    count = min(groups, channels)
    if channels % count:
        raise ValueError(
            f"group norm needs channels divisible by the number of groups: {channels} channels, "
            f"{count} groups; choose widths that are multiples of {count} or another `groups`"
        )
    return nn.GroupNorm(count, channels)


class PreActBlock(nn.Module):
    """Full pre-activation block (He et al. 2016b, Fig. 4e): norm → act → conv3×3 → norm → act →
    conv3×3, plus the shortcut. When the shape changes the shortcut is a 1×1 projection of the
    pre-activated input (as in the authors' fb.resnet.torch preresnet code)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        activation: str,
        make_norm: Callable[[int], nn.Module],
    ) -> None:
        super().__init__()
        self.norm1 = make_norm(in_channels)
        self.act1 = create(activation)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.norm2 = make_norm(out_channels)
        self.act2 = create(activation)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.projection = None
        if stride != 1 or in_channels != out_channels:
            self.projection = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pre = self.act1(self.norm1(x))
        shortcut = x if self.projection is None else self.projection(pre)
        out = self.conv2(self.act2(self.norm2(self.conv1(pre))))
        return out + shortcut


class PreActResNet(nn.Module):
    """Pre-activation ResNet (He et al. 2016b) in its CIFAR form: a 3×3 stem conv, one stage per
    entry of `widths` with `blocks` pre-activation blocks each (stride 2 entering every stage after
    the first), a final norm → act, adaptive average pooling and a linear classifier. The
    defaults are ResNet-18 (widths 64–512, 2 blocks per stage); adaptive pooling makes it run on
    32×32 (CIFAR) and 96×96 (STL-10) images alike. `norm` is "batch", "layer" or "group" (see
    `norm_factory`), the normalisations Lee (2023) studies with GELU."""

    def __init__(
        self,
        num_classes: int = 10,
        activation: str = "gelu",
        norm: str = "batch",
        widths: Sequence[int] = (64, 128, 256, 512),
        blocks: Sequence[int] = (2, 2, 2, 2),
        groups: int = 32,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        widths, blocks = tuple(widths), tuple(blocks)
        if len(widths) != len(blocks) or not widths:
            raise ValueError(
                f"widths and blocks need one entry per stage, got {len(widths)} widths and "
                f"{len(blocks)} block counts"
            )
        check_positive(num_classes=num_classes, in_channels=in_channels)
        check_positive(**{f"widths[{i}]": w for i, w in enumerate(widths)})
        check_positive(**{f"blocks[{i}]": b for i, b in enumerate(blocks)})
        make_norm = norm_factory(norm, groups)
        self.norm = norm
        self.stem = conv3x3(in_channels, widths[0])
        layers: list[nn.Module] = []
        channels = widths[0]
        for stage, (width, count) in enumerate(zip(widths, blocks)):
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(PreActBlock(channels, width, stride, activation, make_norm))
                channels = width
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Sequential(
            make_norm(channels), create(activation), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.fc = nn.Linear(channels, num_classes)
        kaiming_init_convs_(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.head(self.blocks(self.stem(x))))
