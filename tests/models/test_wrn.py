"""The WRN-40-4 of Hendrycks & Gimpel §3.5: the conv-act-dropout-conv-act-BN block order, the
parameter count derived by hand (≈ Zagoruyko & Komodakis's 8.9M), shortcuts, init, depths."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import gatelab
from gatelab.models import WideResNet
from models import helpers

ORDERED = (nn.Conv2d, nn.BatchNorm2d, nn.Dropout, nn.Linear, gatelab.Activation)


def call_order(model: nn.Module, x: torch.Tensor) -> list[str]:
    return helpers.call_order(model, x, ORDERED)


def wrn_parameters_by_hand(depth: int, k: int, classes: int) -> int:
    """Stem 3x3 conv (no bias) + 2 BN; per block two biased 3x3 convs, one BN and a bias-free
    1x1 projection when the shape changes; final BN and the linear head."""
    n = (depth - 4) // 6
    total = 3 * 16 * 9 + 2 * 2 * 16
    channels = 16
    for width in (16 * k, 32 * k, 64 * k):
        for _ in range(n):
            total += channels * width * 9 + width + width * width * 9 + width + 2 * width
            total += channels * width if channels != width else 0
            channels = width
    return total + 2 * channels + channels * classes + classes


def test_wrn_40_4_parameter_count():
    count = sum(p.numel() for p in WideResNet().parameters())
    assert count == wrn_parameters_by_hand(40, 4, 100) == 8_972_884
    assert count == pytest.approx(8.9e6, rel=0.01)  # Zagoruyko & Komodakis, Table 1


def test_block_order_is_conv_act_dropout_conv_act_bn():
    model = WideResNet(depth=16, widen=1, num_classes=10).eval()  # 2 blocks per stage
    order = call_order(model, torch.randn(2, 3, 8, 8))
    block = ["Conv2d", "Activation", "Dropout", "Conv2d", "Activation", "BatchNorm2d"]
    projected = block + ["Conv2d"]  # the shortcut runs after the residual branch
    stem = ["Conv2d", "BatchNorm2d", "Activation", "BatchNorm2d"]
    head = ["BatchNorm2d", "Activation", "Linear"]
    assert order == stem + block * 2 + (projected + block) * 2 + head


def test_defaults_are_wrn_40_4_with_keep_0_7_dropout():
    model = WideResNet()
    rates = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert rates == [0.3] * 18
    widths = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert sorted(set(widths)) == [16, 64, 128, 256]
    projections = [
        m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)
    ]
    assert [(p.in_channels, p.out_channels, p.stride[0]) for p in projections] == [
        (16, 64, 1),
        (64, 128, 2),
        (128, 256, 2),
    ]
    assert model.fc.out_features == 100


def test_widen_1_keeps_the_identity_shortcut_in_stage_one():
    model = WideResNet(depth=10, widen=1)
    strides = [
        m.stride[0] for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)
    ]
    assert strides == [2, 2]


def test_he_init_and_zero_biases():
    torch.manual_seed(0)
    model = WideResNet()
    conv = model.blocks[-1].conv2  # 256 x 256 x 3 x 3, fan_in 2304
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / 2304), rel=0.02)
    assert torch.count_nonzero(conv.bias) == 0
    assert model.fc.weight.std().item() == pytest.approx(math.sqrt(1 / 256), rel=0.05)
    assert torch.count_nonzero(model.fc.bias) == 0


def test_stage_sizes_on_cifar_images():
    model = WideResNet(depth=10, widen=1, num_classes=10).eval()
    shapes = []
    for block in model.blocks:
        block.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


@pytest.mark.parametrize("depth", [39, 41, 4, 0, 40.0])
def test_depth_must_be_6n_plus_4(depth):
    with pytest.raises(ValueError, match="6n \\+ 4"):
        WideResNet(depth=depth)


def test_bad_dropout_is_rejected():
    with pytest.raises(ValueError, match="keep probability"):
        WideResNet(dropout=0.7 + 0.3)
