"""Functional forms: ``gatelab.functional.e_gem(x, N=2)`` for every registered name or alias.

The functions are looked up in the registry on attribute access, so user-registered entries
appear here too. Each saves only its input for backward (see gatelab.autograd).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from .autograd import apply
from .registry import lookup, names, resolve


def __getattr__(name: str) -> Callable[..., Tensor]:
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        spec = lookup(name)
    except ValueError as error:
        raise AttributeError(str(error)) from None

    def activation(x: Tensor, **params: Any) -> Tensor:
        entry, bound = resolve(spec, **params)
        return apply(entry, x, bound)

    activation.__name__ = spec.name
    activation.__doc__ = f"{spec.summary}\n\nf(x) = {spec.formula}\n\nSource: {spec.citation}"
    return activation


def __dir__() -> list[str]:
    return names(aliases=True)
