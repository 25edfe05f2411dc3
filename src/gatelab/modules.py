"""`nn.Module` and functional forms of every registered activation."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .autograd import apply
from .registry import Spec, lookup, resolve


class Activation(nn.Module):
    """A catalog activation as a module; its repr is a spec string that `gatelab.create` accepts.

    >>> Activation("e_gem(N=2)")
    e_gem(N=2)
    """

    def __init__(self, spec: str | Spec, **params: Any) -> None:
        super().__init__()
        entry, bound = resolve(spec, **params)
        self.spec = entry
        self.params = bound

    def tensor_params(self, x: Tensor) -> dict[str, Tensor]:
        """Parameters passed to the formula as tensors (learnable ones), shaped to broadcast
        against `x`; none by default."""
        return {}

    def current_params(self) -> dict[str, Any]:
        """The parameter values a spec string must carry to rebuild this module."""
        return dict(self.params)

    def forward(self, x: Tensor) -> Tensor:
        return apply(self.spec, x, {**self.params, **self.tensor_params(x)})

    def __repr__(self) -> str:
        return self.spec.format(self.current_params())

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["spec"] = self.spec.name  # Specs hold functions; pickle the registered name
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["spec"] = lookup(state["spec"])
        self.__dict__.update(state)


def create(spec: str | Spec, **overrides: Any) -> nn.Module:
    """Build the module for `spec` ("gelu", "e_gem(N=2, eps=1e-4)", …); `overrides` win."""
    entry, bound = resolve(spec, **overrides)
    cls = entry.module_class or Activation
    return cls(entry, **bound)


class BoundFunction:
    """A functional activation with its parameters bound; repr is its spec string."""

    def __init__(self, spec: Spec, params: dict[str, Any]) -> None:
        self.spec, self.params = spec, params
        self.__name__ = spec.name
        self.__doc__ = spec.summary

    def __call__(self, x: Tensor) -> Tensor:
        return apply(self.spec, x, self.params)

    def __repr__(self) -> str:
        return self.spec.format(self.params)


def get_fn(spec: str | Spec, **overrides: Any) -> BoundFunction:
    """The functional form of `spec`: a callable x ↦ f(x) with closed-form, memory-lean backward."""
    entry, bound = resolve(spec, **overrides)
    return BoundFunction(entry, bound)


def scalar_parameter(value: float, dtype: torch.dtype | None = None) -> nn.Parameter:
    return nn.Parameter(torch.tensor(float(value), dtype=dtype or torch.get_default_dtype()))
