"""The §3.5 shallow CIFAR-10 CNN of Hendrycks & Gimpel: layer order, kernel sizes and padding,
feature-map sizes, the parameter count derived by hand, the input noise, bad arguments."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gatelab.models import CNN9
from gatelab.models.cnn9 import GaussianNoise
from models.helpers import call_order


def test_layer_order_matches_the_paper_table():
    conv = ["Conv2d", "BatchNorm2d", "Activation"]
    expected = (
        ["GaussianNoise"]
        + conv * 3
        + ["MaxPool2d", "Dropout"]
        + conv * 3
        + ["MaxPool2d", "Dropout"]
        + conv * 3
        + ["AdaptiveAvgPool2d", "Flatten", "Linear", "BatchNorm1d"]
    )
    model = CNN9(width=(4, 8), input_noise=0.15).eval()
    assert call_order(model, torch.randn(2, 3, 32, 32)) == expected
    assert call_order(CNN9(width=(4, 8)).eval(), torch.randn(2, 3, 32, 32)) == expected[1:]


def test_kernels_padding_and_the_valid_conv_leave_6x6_maps():
    model = CNN9(width=(4, 8))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size[0] for c in convs] == [3] * 7 + [1, 1]
    assert [c.padding[0] for c in convs] == [1] * 6 + [0] * 3
    assert [c.out_channels for c in convs] == [4] * 3 + [8] * 6
    assert all(c.bias is None for c in convs)  # BN supplies the shift
    shapes = []
    convs[6].register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
    model.eval()(torch.randn(1, 3, 32, 32))
    assert shapes == [(8, 6, 6)]  # 32 -> pool 16 -> pool 8 -> valid 3x3 conv 6


def test_parameter_count_of_the_paper_network():
    weights = [
        3 * 96 * 9 + 2 * 96 * 96 * 9,  # 3 x [3x3 conv 96], no biases
        96 * 192 * 9 + 2 * 192 * 192 * 9,  # 3 x [3x3 conv 192]
        192 * 192 * 9,  # 3x3 valid conv 192
        2 * 192 * 192,  # 2 x [1x1 conv 192]
        192 * 10,  # bias-free dense to 10
    ]
    batch_norm = 2 * (3 * 96 + 6 * 192 + 10)  # scale and shift per channel, logits included
    total = sum(weights) + batch_norm
    assert sum(p.numel() for p in CNN9().parameters()) == total == 1_408_244


def test_input_noise_has_the_requested_spread_in_training_only():
    torch.manual_seed(0)
    noise, x = GaussianNoise(0.15), torch.randn(200_000)
    assert abs((noise.train()(x) - x).std().item() - 0.15) < 0.15 * 0.01
    assert torch.equal(noise.eval()(x), x)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": (96, 192, 192)}, "two channel counts"),
        ({"input_noise": -0.1}, "noise standard deviation"),
        ({"dropout": 1.5}, "keep probability"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CNN9(**kwargs)
