"""He et al. 2016's CIFAR ResNets (parameter counts of Table 6, option-A shortcuts, block order,
feature-map sizes, init) and the pre-activation ResNet with selectable normalisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import gatelab
from gatelab.models import PreActResNet, cifar_resnet
from gatelab.models.resnet import ZeroPadShortcut
from models import helpers

CORE = (nn.Conv2d, nn.BatchNorm2d, nn.GroupNorm, gatelab.Activation)


def call_order(model: nn.Module, x: torch.Tensor, kinds: tuple[type, ...] = CORE) -> list[str]:
    return helpers.call_order(model, x, kinds)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def resnet_parameters_by_hand(n: int, classes: int = 10) -> int:
    """3x3 convs without bias, BN (2 per channel), option-A shortcuts (none), linear head."""
    stem = 3 * 16 * 9 + 2 * 16
    stage1 = n * (2 * 16 * 16 * 9 + 2 * 2 * 16)
    stage2 = (16 * 32 * 9 + 32 * 32 * 9 + 4 * 32) + (n - 1) * (2 * 32 * 32 * 9 + 4 * 32)
    stage3 = (32 * 64 * 9 + 64 * 64 * 9 + 4 * 64) + (n - 1) * (2 * 64 * 64 * 9 + 4 * 64)
    return stem + stage1 + stage2 + stage3 + 64 * classes + classes


def test_resnet56_parameter_count():
    assert count(cifar_resnet(56)) == resnet_parameters_by_hand(9) == 853_018


@pytest.mark.parametrize(
    ("depth", "published"), [(20, 0.27e6), (32, 0.46e6), (44, 0.66e6), (56, 0.85e6), (110, 1.7e6)]
)
def test_parameter_counts_match_he_et_al_table_6(depth, published):
    assert count(cifar_resnet(depth)) == pytest.approx(published, rel=0.02)


@pytest.mark.parametrize("depth", [55, 57, 2, 0, -4, 56.0, True])
def test_depth_must_be_6n_plus_2(depth):
    with pytest.raises(ValueError, match="6n \\+ 2"):
        cifar_resnet(depth)


def test_option_a_shortcut_subsamples_and_appends_zero_channels():
    x = torch.arange(2 * 2 * 4 * 4, dtype=torch.float32).reshape(2, 2, 4, 4)
    out = ZeroPadShortcut(2, 5, stride=2)(x)
    assert out.shape == (2, 5, 2, 2)
    torch.testing.assert_close(out[:, :2], x[:, :, 0::2, 0::2])
    assert torch.count_nonzero(out[:, 2:]) == 0
    with pytest.raises(ValueError, match="non-decreasing widths"):
        ZeroPadShortcut(4, 2, stride=1)


def test_resnet56_has_no_projection_convs_and_kaiming_weights():
    torch.manual_seed(0)
    model = cifar_resnet(56)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 2 * 27 and all(c.kernel_size == (3, 3) for c in convs)
    last = convs[-1].weight  # 64 x 64 x 3 x 3, fan_in 576
    assert last.std().item() == pytest.approx(math.sqrt(2 / 576), rel=0.03)


def test_basic_block_order_and_stage_sizes():
    model = cifar_resnet(8, widths=(4, 8, 16)).eval()  # one block per stage
    order = call_order(model, torch.randn(2, 3, 32, 32))
    block = ["Conv2d", "BatchNorm2d", "Activation", "Conv2d", "BatchNorm2d", "Activation"]
    assert order == ["Conv2d", "BatchNorm2d", "Activation"] + block * 3
    shapes = []
    for stage_block in model.blocks:
        stage_block.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
    model(torch.randn(2, 3, 32, 32))
    assert shapes == [(4, 32, 32), (8, 16, 16), (16, 8, 8)]


def preact18_parameters_by_hand(classes: int = 10) -> int:
    """3x3 stem, 8 pre-activation blocks (2 norms + 2 3x3 convs, 1x1 projections entering
    stages 2-4), a final norm and the linear head; every norm has 2 parameters per channel."""
    total = 3 * 64 * 9
    channels = 64
    for width in (64, 128, 256, 512):
        for _ in range(2):
            total += 2 * channels + channels * width * 9 + 2 * width + width * width * 9
            total += channels * width if channels != width else 0
            channels = width
    return total + 2 * 512 + 512 * classes + classes


@pytest.mark.parametrize("norm", ["batch", "layer", "group"])
def test_preact_resnet18_parameter_count(norm):
    assert count(PreActResNet(10, "gelu", norm)) == preact18_parameters_by_hand() == 11_172_170


def test_norm_choices_build_the_documented_layers():
    def norms(norm: str) -> list[nn.Module]:
        model = PreActResNet(10, "gelu", norm)
        return [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))]

    assert len(norms("batch")) == 2 * 8 + 1
    assert all(isinstance(m, nn.BatchNorm2d) for m in norms("batch"))
    assert all(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in norms("layer"))
    assert all(m.num_groups == 32 for m in norms("group"))
    small = PreActResNet(10, "gelu", "group", widths=(8, 64), blocks=(1, 1), groups=16)
    groups = {m.num_channels: m.num_groups for m in small.modules() if isinstance(m, nn.GroupNorm)}
    assert groups == {8: 8, 64: 16}  # min(groups, channels)


def test_layer_norm_normalises_each_sample_over_channels_and_space():
    norm = PreActResNet(10, "gelu", "layer", widths=(8,), blocks=(1,)).head[0]
    x = torch.randn(3, 8, 5, 5) * 4 + 2
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    var = x.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
    torch.testing.assert_close(norm(x), (x - mean) / torch.sqrt(var + norm.eps))


@pytest.mark.parametrize("size", [32, 96])  # CIFAR and STL-10
def test_preact_runs_on_cifar_and_stl10_sizes(size):
    model = PreActResNet(10, "gelu", "group", (4, 8, 8, 16), (1, 1, 1, 1), groups=4).eval()
    assert model(torch.randn(2, 3, size, size)).shape == (2, 10)


def test_preact_block_and_head_order():
    model = PreActResNet(5, "gelu", "batch", widths=(8,), blocks=(2,)).eval()
    order = call_order(model, torch.randn(2, 3, 8, 8), (*CORE, nn.AdaptiveAvgPool2d, nn.Linear))
    block = ["BatchNorm2d", "Activation", "Conv2d", "BatchNorm2d", "Activation", "Conv2d"]
    head = ["BatchNorm2d", "Activation", "AdaptiveAvgPool2d", "Linear"]
    assert order == ["Conv2d"] + block * 2 + head


def test_preact_projection_shortcut_takes_the_preactivated_input():
    model = PreActResNet(5, "relu", "batch", widths=(4, 8), blocks=(1, 1)).eval()
    block = model.blocks[1]  # 4 -> 8 channels, stride 2
    seen = []
    block.projection.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    x = torch.randn(2, 4, 8, 8)
    block(x)
    torch.testing.assert_close(seen[0], torch.relu(block.norm1(x)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"norm": "instance"}, "unknown norm 'instance'; choose one of batch, layer, group"),
        ({"norm": "group", "widths": (8, 12), "blocks": (1, 1), "groups": 8}, "divisible"),
        ({"widths": (8, 16), "blocks": (1,)}, "one entry per stage"),
        ({"blocks": (2, 0, 2, 2)}, r"blocks\[1\]"),
    ],
)
def test_preact_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PreActResNet(10, "gelu", **kwargs)
