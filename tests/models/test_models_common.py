"""Properties every model shares, checked on smoke-scale versions: output shapes, one fresh
activation module per use (per-layer parameters for learnable activations), a few optimiser steps
that lower a finite loss, and dropout/noise active only in training mode."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import nn

import gatelab
from gatelab.models import (
    CNN9,
    MLP,
    Autoencoder,
    PreActResNet,
    WideResNet,
    cifar_resnet,
    frame_classifier,
    window_tagger,
)


@dataclass(frozen=True)
class Case:
    build: Callable[..., nn.Module]  # (activation, dropout) -> model
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    activations: int  # counted by hand from the architecture
    stochastic: bool  # has dropout or input noise


CASES = {
    "mlp": Case(lambda a, p: MLP(20, 5, 16, 3, a, p), (8, 20), (8, 5), 3, True),
    "mlp_image_input": Case(lambda a, p: MLP(16, 3, 8, 2, a, p), (8, 1, 4, 4), (8, 3), 2, True),
    "window_tagger": Case(
        lambda a, p: window_tagger(a, embedding_dim=4, hidden=8, num_tags=5, dropout=p),
        (8, 12),
        (8, 5),
        2,
        True,
    ),
    "frame_classifier": Case(
        lambda a, p: frame_classifier(a, frames=3, features=4, hidden=8, num_phones=7, dropout=p),
        (8, 12),
        (8, 7),
        5,
        True,
    ),
    "autoencoder": Case(lambda a, p: Autoencoder(20, (16, 8, 4), a), (8, 20), (8, 20), 5, False),
    "cnn9": Case(
        lambda a, p: CNN9(a, 10, (4, 8), dropout=p, input_noise=0.15 if p else 0.0),
        (8, 3, 16, 16),
        (8, 10),
        9,
        True,
    ),
    "cifar_resnet14": Case(
        lambda a, p: cifar_resnet(14, 10, a, (4, 8, 16)), (8, 3, 8, 8), (8, 10), 1 + 2 * 6, False
    ),
    **{
        f"preact_{norm}": Case(
            lambda a, p, norm=norm: PreActResNet(7, a, norm, (8, 16), (1, 1), groups=4),
            (8, 3, 8, 8),
            (8, 7),
            2 * 2 + 1,
            False,
        )
        for norm in ("batch", "layer", "group")
    },
    "wrn10_1": Case(
        lambda a, p: WideResNet(10, 1, 10, p, a), (8, 3, 8, 8), (8, 10), 1 + 2 * 3 + 1, True
    ),
}


def activation_modules(model: nn.Module) -> list[nn.Module]:
    """Every activation use, counting a module reused in two places twice."""
    return [
        module
        for _, module in model.named_modules(remove_duplicate=False)
        if isinstance(module, gatelab.Activation)
    ]


def batch(case: Case, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(case.input_shape, generator=generator)
    if case.output_shape == (case.input_shape[0], math.prod(case.input_shape[1:])):
        return x, x.flatten(1)  # autoencoder: reconstruct the input
    return x, torch.randint(case.output_shape[1], (case.input_shape[0],), generator=generator)


def loss_of(case: Case, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if target.dtype.is_floating_point:
        return nn.functional.mse_loss(output, target)
    return nn.functional.cross_entropy(output, target)


@pytest.mark.parametrize("name", CASES)
def test_output_shape(name):
    case = CASES[name]
    torch.manual_seed(0)
    model = case.build("gelu", 0.0).eval()
    x, _ = batch(case)
    assert model(x).shape == case.output_shape


@pytest.mark.parametrize("name", CASES)
def test_one_fresh_activation_per_use(name):
    case = CASES[name]
    spec = "e_gem(N=2, eps=1e-4)"
    acts = activation_modules(case.build(spec, 0.0))
    assert len(acts) == case.activations
    assert len({id(act) for act in acts}) == case.activations
    assert all(repr(act) == repr(gatelab.create(spec)) for act in acts)


@pytest.mark.parametrize("name", CASES)
def test_learnable_activations_get_per_layer_parameters(name):
    case = CASES[name]
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    fixed, learnable = case.build("relu", 0.0), case.build("prelu", 0.0)
    assert count(learnable) - count(fixed) == case.activations  # one slope per PReLU
    slopes = [p for act in activation_modules(learnable) for p in act.parameters()]
    assert len({id(p) for p in slopes}) == case.activations


@pytest.mark.parametrize("name", CASES)
def test_a_few_adam_steps_lower_a_finite_loss(name):
    case = CASES[name]
    torch.manual_seed(0)
    model = case.build("gelu", 0.0).train()
    x, target = batch(case)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        loss = loss_of(case, model(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    final = loss_of(case, model(x), target).item()
    assert all(math.isfinite(value) for value in losses)
    assert final < 0.9 * losses[0], (losses, final)


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.stochastic])
def test_dropout_only_in_training_mode(name):
    case = CASES[name]
    torch.manual_seed(0)
    x, _ = batch(case)
    model = case.build("gelu", 0.5)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))
    deterministic = case.build("gelu", 0.0).train()
    assert torch.equal(deterministic(x), deterministic(x))


def test_unknown_activation_is_rejected_by_name():
    with pytest.raises(ValueError, match="unknown activation 'gleu'"):
        MLP(4, 2, activation="gleu")
