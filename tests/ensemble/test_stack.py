"""StackedChain: K members as one batched model, against the members' own forward passes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gatelab.ensemble.stack import NotStackable, StackedChain
from gatelab.models.autoencoder import Autoencoder
from gatelab.models.mlp import MLP


def members(k: int = 3, **kwargs) -> list[nn.Module]:
    models = []
    for seed in range(k):
        torch.manual_seed(seed)
        models.append(MLP(20, 5, hidden=16, depth=3, **kwargs))
    return models


@pytest.mark.parametrize("activation", ["gelu", "relu", "prelu", "gelu_general(learnable=True)"])
def test_the_stacked_forward_is_each_members_forward(activation):
    models = members(activation=activation)
    stacked = StackedChain(models)
    x = torch.randn(3, 7, 20)
    out = stacked(x)
    for k, model in enumerate(models):  # baddbmm sums in another order than addmm: ~1e-6
        torch.testing.assert_close(out[k], model(x[k]), rtol=1e-5, atol=1e-6)
    shared = stacked(x[0], shared=True)
    for k, model in enumerate(models):
        torch.testing.assert_close(shared[k], model(x[0]), rtol=1e-5, atol=1e-6)


def test_member_state_loads_into_the_members_own_model():
    models = members(dropout=0.5)
    stacked = StackedChain(models)
    for k, model in enumerate(models):
        state = stacked.member_state(k)
        assert set(state) == set(model.state_dict())
        for name, value in model.state_dict().items():
            assert torch.equal(state[name], value)


def test_gradients_per_member_are_those_of_the_members_own_loss():
    models = members(activation="prelu")
    stacked = StackedChain(models)
    x, y = torch.randn(3, 9, 20), torch.randint(0, 5, (3, 9))
    out = stacked(x)
    sum(F.cross_entropy(out[k], y[k]) for k in range(3)).backward()
    for k, model in enumerate(models):
        F.cross_entropy(model(x[k]), y[k]).backward()
        grads = stacked.member_state(k, grads=True)
        for name, p in model.named_parameters():
            torch.testing.assert_close(grads[name], p.grad, rtol=1e-4, atol=1e-6)


def test_dropout_masks_are_the_sequential_runs_masks_on_cpu():
    torch.manual_seed(0)
    model = MLP(20, 5, hidden=16, depth=3, dropout=0.5)
    no_dropout = MLP(20, 5, hidden=16, depth=3)
    stacked = StackedChain([model, no_dropout])
    x = torch.randn(2, 7, 20)
    generators = [torch.Generator().manual_seed(11), torch.Generator().manual_seed(99)]
    for layer in stacked.dropouts():
        layer.generators = generators
    out = stacked.train()(x)
    torch.manual_seed(11)  # the sequential run draws its masks from the global generator
    expected = model.train()(x[0])
    torch.testing.assert_close(out[0], expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out[1], no_dropout(x[1]), rtol=1e-5, atol=1e-6)


def test_keep_drops_members_and_their_dropout_probabilities():
    models = members(k=2) + [MLP(20, 5, hidden=16, depth=3, dropout=0.25)]
    stacked = StackedChain(models)
    stacked.keep([2, 0])
    assert stacked.size == 2 and stacked.dropouts()[0].p == [0.25, 0.0]
    out = stacked.eval()(torch.ones(2, 4, 20))
    torch.testing.assert_close(out[0], models[2].eval()(torch.ones(4, 20)), rtol=1e-5, atol=1e-6)


def test_an_autoencoder_stacks_too():
    torch.manual_seed(0)
    models = [Autoencoder(12, (8, 3)) for _ in range(2)]
    x = torch.rand(2, 5, 12)
    out = StackedChain(models)(x)
    assert out.shape == (2, 5, 12)
    for k, model in enumerate(models):
        torch.testing.assert_close(out[k], model(x[k]), rtol=1e-5, atol=1e-6)


class WithBatchNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))

    def chain(self):
        return list(self.layers.named_children())


@pytest.mark.parametrize(
    ("models", "reason"),
    [
        ([nn.Linear(3, 3)], "does not declare a chain"),
        ([WithBatchNorm()], "BatchNorm1d layers cannot be stacked"),
        ([MLP(4, 2, hidden=3, depth=1), MLP(4, 2, hidden=5, depth=1)], "another architecture"),
        ([MLP(4, 2, activation="gelu"), MLP(4, 2, activation="relu")], "another architecture"),
    ],
)
def test_what_cannot_stack_says_why(models, reason):
    with pytest.raises(NotStackable, match=reason):
        StackedChain(models)
