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
