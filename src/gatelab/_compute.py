"""The exact path's compute-dtype policy and its three formulas: f(x), g·f′(x), g·∂f/∂p.

A leaf module (it imports only the registry's Spec type), so that the autograd Function, the
kernels and the custom operators all evaluate the exact path through the same few functions.

Compute dtypes: float16/bfloat16 are computed in float32; float32 in float64, which keeps every
result within 2 ulp of the exact value (argument roundings such as 1.702·x are amplified by up
to |x|² in the tails and would cost tens of ulp in float32); float64 in float64 with
double-double arguments where a tail needs them (see :mod:`gatelab._precise`). A Spec with
``upcast_float32=False`` (exact in its own dtype: relu, prelu, …) computes float32 in float32;
devices without float64 (MPS) stay in float32.

Everything here is written with differentiable, vmap-able torch ops: double backward, the
torch.func transforms and forward-mode AD all work through these formulas unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from .registry import Spec

_HALF = (torch.float16, torch.bfloat16)


def compute_dtype(x: Tensor, upcast_float32: bool = True) -> torch.dtype:
    """The dtype a catalog formula is evaluated in for input `x`."""
    if not x.is_floating_point():
        raise TypeError(
            f"activations take floating-point tensors, got {x.dtype}; convert with x.float()"
        )
    if x.dtype in _HALF:
        return torch.float32
    if x.dtype == torch.float32 and upcast_float32 and x.device.type != "mps":
        return torch.float64
    return x.dtype


def _cast(params: Mapping[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    return {k: v.to(dtype) if isinstance(v, Tensor) else v for k, v in params.items()}


def evaluate(spec: Spec, formula: Callable[..., Any], x: Tensor, params: Mapping[str, Any]) -> Any:
    """`formula(x, **params)` in the compute dtype of `x`, returned in that compute dtype."""
    dtype = compute_dtype(x, spec.upcast_float32)
    return formula(x.to(dtype), **_cast(params, dtype))


def exact_forward(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor:
    """f(x) by the Spec's precise formula, in x's dtype."""
    return evaluate(spec, spec.forward, x, params).to(x.dtype)


def exact_backward(spec: Spec, x: Tensor, grad: Tensor, params: Mapping[str, Any]) -> Tensor:
    """grad·f′(x) by the Spec's closed-form derivative, in x's dtype (differentiable)."""
    grad_c = grad.to(compute_dtype(x, spec.upcast_float32))
    return (grad_c * evaluate(spec, spec.derivative, x, params)).to(x.dtype)


def exact_param_partials(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> dict[str, Tensor]:
    """∂f/∂p at x for the parameters a module learns, in x's compute dtype."""
    if spec.param_derivatives is None:
        raise RuntimeError(f"{spec.name} has no derivatives for its parameters")
    return evaluate(spec, spec.param_derivatives, x, params)


def in_compute_dtype(x: Tensor, spec: Spec, t: Tensor) -> Tensor:
    """`t` cast to the compute dtype of `x` under `spec`."""
    return t.to(compute_dtype(x, spec.upcast_float32))
