"""Shared by the model tests: the order in which a forward pass calls modules."""

from __future__ import annotations

import torch
from torch import nn


def call_order(
    model: nn.Module, x: torch.Tensor, kinds: tuple[type, ...] | None = None
) -> list[str]:
    """Class names of the modules of `kinds` (default: every leaf module) in the order the
    forward pass calls them."""
    names: list[str] = []
    hooks = [
        module.register_forward_hook(lambda m, i, o: names.append(type(m).__name__))
        for module in model.modules()
        if (isinstance(module, kinds) if kinds else not list(module.children()))
    ]
    model(x)
    for hook in hooks:
        hook.remove()
    return names


def validation_loss_drop(model: nn.Module, draw, steps: int = 30) -> tuple[float, float]:
    """(before, after): the model's loss on a fixed validation batch around `steps` AdamW
    steps on training batches; ``draw(split, batch, context, generator)`` returns model inputs."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    val = draw("val", 32, 64, torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = model(*val)[1].item()
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        loss = model(*draw("train", 8, 32, generator))[1]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = model(*val)[1].item()
    return before, after
