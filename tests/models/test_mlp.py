"""The fully connected classifiers of Hendrycks & Gimpel §3.1, §3.3, §3.4: layer sizes and
order, parameter counts derived by hand, the unit-norm-row initialisation, bad sizes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gatelab
from gatelab.models import MLP, frame_classifier, window_tagger
from models.helpers import call_order


def linear_shapes(model: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


def dropout_rates(model: nn.Module) -> list[float]:
    return [m.p for m in model.modules() if isinstance(m, nn.Dropout)]


def test_mnist_classifier_defaults_are_eight_hidden_layers_of_128():
    model = MLP(784, 10)
    assert linear_shapes(model) == [(784, 128)] + [(128, 128)] * 7 + [(128, 10)]
    expected = 784 * 128 + 128 + 7 * (128 * 128 + 128) + 128 * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == expected == 217_354
    assert dropout_rates(model) == []  # keep probability 1.0


def test_dropout_follows_every_hidden_activation_and_not_the_output():
    model = MLP(6, 3, hidden=5, depth=3, dropout=0.5)
    order = call_order(model, torch.randn(2, 6))
    assert order == ["Linear", "Activation", "Dropout"] * 3 + ["Linear"]
    assert dropout_rates(model) == [0.5] * 3


def test_every_weight_row_has_unit_norm_and_every_bias_is_zero():
    torch.manual_seed(0)
    model = MLP(300, 10, hidden=200, depth=2)
    for layer in (m for m in model.modules() if isinstance(m, nn.Linear)):
        torch.testing.assert_close(layer.weight.norm(dim=1), torch.ones(layer.out_features))
        assert torch.count_nonzero(layer.bias) == 0
    # Rows are N(0, I) directions: entries scaled by sqrt(fan_in) are ~ N(0, 1).
    scaled = model.layers[0].weight * 300**0.5
    assert abs(scaled.mean().item()) < 0.02
    assert abs(scaled.std().item() - 1) < 0.02


def test_reset_parameters_redraws_unit_norm_rows():
    model = MLP(8, 4, hidden=6, depth=2)
    before = model.layers[0].weight.detach().clone()
    with torch.no_grad():
        model.layers[0].bias.fill_(3.0)
    model.reset_parameters()
    assert not torch.equal(before, model.layers[0].weight)
    torch.testing.assert_close(model.layers[0].weight.norm(dim=1), torch.ones(6))
    assert torch.count_nonzero(model.layers[0].bias) == 0


def test_window_tagger_is_150_to_two_256_to_25_with_keep_0_8():
    model = window_tagger()
    assert linear_shapes(model) == [(150, 256), (256, 256), (256, 25)]
    assert dropout_rates(model) == [pytest.approx(0.2)] * 2
    assert sum(p.numel() for p in model.parameters()) == 150 * 256 + 256 + 256 * 257 + 256 * 25 + 25


def test_frame_classifier_is_286_to_five_2048_to_39_with_keep_0_5():
    model = frame_classifier("relu")
    assert linear_shapes(model) == [(286, 2048)] + [(2048, 2048)] * 4 + [(2048, 39)]
    assert dropout_rates(model) == [0.5] * 5
    assert sum(isinstance(m, gatelab.Activation) for m in model.modules()) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dropout": 1.0}, "keep probability"),
        ({"dropout": -0.1}, r"\[0, 1\)"),
        ({"depth": 0}, "depth must be a positive integer"),
        ({"hidden": 2.5}, "hidden must be a positive integer"),
    ],
)
def test_bad_sizes_are_rejected_with_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLP(4, 2, **kwargs)


# --- the init option: paper | kaiming | gain ---------------------------------------------------


def _linear_stds(model) -> list[float]:
    """Each Linear's weight std × √fan_in (the gain it was drawn with)."""
    import math

    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return [float(m.weight.detach().std()) * math.sqrt(m.in_features) for m in layers]


def test_kaiming_init_draws_every_layer_with_gain_sqrt2():
    import math

    torch.manual_seed(0)
    model = MLP(784, 10, hidden=512, depth=3, activation="gelu", init="kaiming")
    for gain in _linear_stds(model)[:-1]:  # the 10-row output layer is too small to measure
        assert gain == pytest.approx(math.sqrt(2), rel=0.02)
    assert all(float(m.bias.abs().max()) == 0 for m in model.modules() if hasattr(m, "bias"))


@pytest.mark.parametrize(
    ("activation", "second_moment"),
    [("relu", 0.5), ("gem(N=1)", None), ("e_gem(N=1, eps=1e-4)", None)],
)
def test_gain_init_uses_the_activations_variance_preserving_gain(activation, second_moment):
    """E[f(z)²] by an independent route: Monte Carlo over 4M normals (relu: exactly 1/2)."""
    import math

    import gatelab

    if second_moment is None:
        z = torch.randn(1 << 22, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        second_moment = float((gatelab.get_fn(activation)(z) ** 2).mean())
    torch.manual_seed(0)
    model = MLP(784, 10, hidden=512, depth=3, activation=activation, init="gain")
    first, *rest = _linear_stds(model)
    assert first == pytest.approx(1.0, rel=0.02)  # fed by the data: nothing to compensate
    for gain in rest[:-1]:
        assert gain == pytest.approx(1 / math.sqrt(second_moment), rel=0.03)


def test_a_gain_initialised_layer_keeps_the_second_moment_of_normal_inputs():
    """y = W·f(x), x ~ N(0, 1): E[y²] = 1 (He et al. §2.2). Through many layers it need not
    stay 1: for gem the fixed point q = 1 of q ↦ gain²·E[f(√q z)²] is unstable."""
    torch.manual_seed(0)
    x = torch.randn(8192, 512)
    for activation in ("gem(N=1)", "relu", "gelu", "e_gem(N=2, eps=1e-2)"):
        model = MLP(512, 10, hidden=512, depth=2, activation=activation, init="gain")
        act, layer = model.layers[1], model.layers[2]
        with torch.no_grad():
            y = layer(act(x))
        assert float(y.pow(2).mean()) == pytest.approx(1.0, rel=0.05), activation


def test_the_gain_init_compensates_the_second_moment_of_unnormalised_inputs():
    """Pixels in [0, 1] (E[x²] ≈ 1/3 for Unif[0, 1]): the first layer drawn with gain
    1/√E[x²] gives pre-activations with E[y²] = 1 (He et al. 2015, eq. 7), not E[x²]."""
    from gatelab.models.mlp import input_rms

    torch.manual_seed(0)
    x = torch.rand(8192, 512)  # E[x²] = 1/3 exactly
    assert input_rms(x) == pytest.approx(1 / 3**0.5, rel=0.01)
    plain = MLP(512, 10, hidden=512, depth=1, activation="gem(N=1)", init="gain")
    scaled = MLP(
        512, 10, hidden=512, depth=1, activation="gem(N=1)", init="gain", input_rms=input_rms(x)
    )
    with torch.no_grad():
        assert float(plain.layers[0](x).pow(2).mean()) == pytest.approx(1 / 3, rel=0.05)
        assert float(scaled.layers[0](x).pow(2).mean()) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "1"])
def test_a_bad_input_rms_is_refused(bad):
    with pytest.raises(ValueError, match="input_rms must be a positive finite number"):
        MLP(4, 2, init="gain", input_rms=bad)


def test_the_paper_init_is_unchanged_and_an_unknown_init_names_the_choices():
    torch.manual_seed(0)
    a = MLP(20, 5, hidden=8, depth=2)
    torch.manual_seed(0)
    b = MLP(20, 5, hidden=8, depth=2, init="paper")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="paper, kaiming, gain"):
        MLP(20, 5, init="xavier")
