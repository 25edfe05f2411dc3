"""The §3.2 MNIST autoencoder: 784-1000-500-250-30-250-500-1000-784, activated code, linear
reconstruction, unit-norm rows; sizes and counts derived by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gatelab.models import Autoencoder
from models.helpers import call_order


def test_default_layers_mirror_784_1000_500_250_30():
    model = Autoencoder()
    shapes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    sizes = [784, 1000, 500, 250, 30, 250, 500, 1000, 784]
    assert shapes == list(zip(sizes[:-1], sizes[1:]))
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    assert sum(p.numel() for p in model.parameters()) == expected == 2_837_314


def test_activation_after_every_layer_but_the_reconstruction():
    model = Autoencoder(12, (8, 4), activation="relu")
    x = torch.randn(64, 12)
    assert call_order(model, x) == ["Linear", "Activation"] * 3 + ["Linear"]
    assert (model.encode(x) >= 0).all()  # the ReLU-activated 4-d code
    assert (model(x) < 0).any()  # the output is linear


def test_unit_norm_rows_and_zero_biases():
    model = Autoencoder(12, (8, 4))
    for layer in (m for m in model.modules() if isinstance(m, nn.Linear)):
        torch.testing.assert_close(layer.weight.norm(dim=1), torch.ones(layer.out_features))
        assert torch.count_nonzero(layer.bias) == 0


def test_image_batches_are_flattened():
    assert Autoencoder(16, (8, 2))(torch.randn(3, 1, 4, 4)).shape == (3, 16)


@pytest.mark.parametrize(("widths", "message"), [((), "at least one layer"), ((8, 0), "widths")])
def test_bad_widths_are_rejected(widths, message):
    with pytest.raises(ValueError, match=message):
        Autoencoder(12, widths)
