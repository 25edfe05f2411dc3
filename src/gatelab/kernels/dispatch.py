"""The fused Triton layers (act(x + bias), GLU) and their autograd Functions; whether Triton is
available. The plain activation's Triton path is chosen by :mod:`gatelab.kernels.select`.

Each entry point returns the result, or None when the call is not covered — then the caller takes
the torch path (:func:`gatelab.autograd.apply`). Covered: the activations of
:data:`gatelab.kernels.triton_gated.ACTIVATIONS` with plain-number parameters, on float32,
float16 or bfloat16 tensors on a CUDA device, with Triton installed. float64 is left to torch
(its float64 accuracy is the point of float64). With ``allow_cpu=True`` CPU tensors are covered
too, but only when the kernels were built by the Triton interpreter (``TRITON_INTERPRET=1`` when
:mod:`gatelab.kernels.triton_gated` was first imported): that is how CI runs this path.

The autograd Functions save only their inputs; backward recomputes f′ from them in one kernel.
When the backward itself is being recorded (``create_graph=True``: double backward, gradient
penalties) it is computed instead with the Spec's differentiable torch derivative, exactly as on the
torch path, so second derivatives are right, not silently zero.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import torch
from torch import Tensor

from .._compute import compute_dtype, evaluate
from ..registry import Spec, lookup


@functools.cache
def _modules() -> tuple[ModuleType, ModuleType] | None:
    """(triton_gated, triton_fused), imported on first use; None without Triton."""
    try:
        from . import triton_fused, triton_gated
    except ImportError:
        return None
    return triton_gated, triton_fused


def available() -> bool:
    """Whether Triton is installed, so that the kernels can be built."""
    return _modules() is not None


def interpreted() -> bool:
    """Whether the kernels run under the Triton interpreter (TRITON_INTERPRET=1 at import)."""
    modules = _modules()
    return modules is not None and modules[0].INTERPRETED


def _on_kernel_device(tensors: tuple[Tensor, ...], allow_cpu: bool) -> bool:
    device = tensors[0].device
    if any(t.device != device for t in tensors):
        return False
    if device.type == "cuda":
        return True
    return device.type == "cpu" and allow_cpu and interpreted()


def _config(spec: Spec, params: Mapping[str, Any], tensors: tuple[Tensor, ...], allow_cpu: bool):
    """The KernelConfig for this call, or None when the kernels do not cover it."""
    if not _on_kernel_device(tensors, allow_cpu):
        return None
    modules = _modules()
    if modules is None:
        return None
    dtype = tensors[0].dtype
    if dtype not in modules[0].KERNEL_DTYPES or any(t.dtype != dtype for t in tensors):
        return None
    try:
        registered = lookup(spec.name)
    except ValueError:
        return None
    if registered is not spec:  # a user's Spec under a catalog name is not ours to compile
        return None
    return modules[0].kernel_config(spec.name, {**spec.defaults, **params})


def _torch_terms(ctx, x: Tensor) -> tuple[Tensor, Tensor]:
    """(f(x), f′(x)) by the Spec's torch formulas in x's compute dtype, differentiably."""
    return (
        evaluate(ctx.spec, ctx.spec.forward, x, ctx.params),
        evaluate(ctx.spec, ctx.spec.derivative, x, ctx.params),
    )


def _remember(ctx, spec: Spec, params: Mapping[str, Any], config) -> None:
    ctx.spec, ctx.params, ctx.config = spec, dict(params), config


class BiasActivationFunction(torch.autograd.Function):
    """act(x + bias) saving only x and bias; backward recomputes act′ in one kernel."""

    @staticmethod
    def forward(ctx, x: Tensor, bias: Tensor, spec: Spec, params: dict, config) -> Tensor:  # type: ignore[override]
        _remember(ctx, spec, params, config)
        ctx.save_for_backward(x, bias)
        return _modules()[1].bias_forward(x, bias, config)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, bias = ctx.saved_tensors
        if torch.is_grad_enabled():
            z = x.to(compute_dtype(x)) + bias.to(compute_dtype(x))
            _, slope = _torch_terms(ctx, z)
            grad_z = (grad.to(z.dtype) * slope).to(x.dtype)
        else:
            grad_z = _modules()[1].bias_backward(x, bias, grad, ctx.config)
        grad_bias = None
        if ctx.needs_input_grad[1]:
            grad_bias = grad_z.reshape(-1, x.shape[-1]).sum(0, dtype=torch.float32).to(bias.dtype)
        return (grad_z if ctx.needs_input_grad[0] else None), grad_bias, None, None, None


class GLUFunction(torch.autograd.Function):
    """act(a)·b saving only a and b; one backward kernel gives both gradients."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, spec: Spec, params: dict, config) -> Tensor:  # type: ignore[override]
        _remember(ctx, spec, params, config)
        ctx.save_for_backward(a, b)
        return _modules()[1].glu_forward(a, b, config)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        a, b = ctx.saved_tensors
        if torch.is_grad_enabled():
            value, slope = _torch_terms(ctx, a)
            grad_c, b_c = grad.to(value.dtype), b.to(value.dtype)
            grad_a, grad_b = (grad_c * b_c * slope).to(a.dtype), (grad_c * value).to(b.dtype)
        else:
            grad_a, grad_b = _modules()[1].glu_backward(a, b, grad, ctx.config)
        return grad_a, grad_b, None, None, None


def triton_bias_apply(
    spec: Spec, x: Tensor, bias: Tensor, params: Mapping[str, Any], *, allow_cpu: bool = False
) -> Tensor | None:
    """act(x + bias), bias of shape (x.shape[-1],), fused in one kernel each way; or None."""
    config = _config(spec, params, (x, bias), allow_cpu)
    if config is None:
        return None
    return BiasActivationFunction.apply(x, bias, spec, params, config)


def triton_glu(
    spec: Spec, a: Tensor, b: Tensor, params: Mapping[str, Any], *, allow_cpu: bool = False
) -> Tensor | None:
    """The gated linear unit act(a)·b of two projections of equal shape (GEGLU with gelu,
    SwiGLU with silu, ReGLU with relu, a GEM-gated GLU with the GEM family); or None."""
    config = _config(spec, params, (a, b), allow_cpu)
    if config is None:
        return None
    if a.shape != b.shape:
        raise ValueError(
            f"GLU projections must have equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    return GLUFunction.apply(a, b, spec, params, config)


__all__ = ["available", "interpreted", "triton_bias_apply", "triton_glu"]
