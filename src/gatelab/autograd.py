"""One memory-efficient autograd Function for every catalog entry, and the compute-dtype policy.

Forward saves only the input (and any learnable parameter tensors); backward recomputes the
closed-form derivative from it, so a layer keeps one tensor alive instead of the 3–10
intermediates of a naive composition (``benchmarks/peak_memory.py`` measures this). Backward is
written with differentiable torch ops, so double backward works through ordinary autograd.

Compute dtypes: float16/bfloat16 are computed in float32; float32 in float64, which keeps every
result within 2 ulp of the exact value (argument roundings such as 1.702·x are amplified by up
to |x|² in the tails and would cost tens of ulp in float32); float64 in float64 with
double-double arguments where a tail needs them (see :mod:`gatelab._precise`). Devices without
float64 (MPS) stay in float32.
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


def evaluate(
    spec: Spec, formula: Callable[..., Any], x: Tensor, params: Mapping[str, Any]
) -> Tensor:
    """`formula(x, **params)` in the compute dtype of `x`, returned in that compute dtype."""
    dtype = compute_dtype(x, spec.upcast_float32)
    return formula(x.to(dtype), **_cast(params, dtype))


def _exporting() -> bool:
    # The public function, not its flags: dynamo special-cases it (tracing the private
    # GLOBALS.in_onnx_export breaks torch.compile's fullgraph).
    return torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export()


class ActivationFunction(torch.autograd.Function):
    """f(x) with backward g·f′(x) from the Spec's closed form; saves only x and parameters."""

    @staticmethod
    def forward(ctx, x, spec, constants, names, *tensors):  # type: ignore[override]
        params = {**constants, **dict(zip(names, tensors))}
        ctx.spec, ctx.constants, ctx.names = spec, constants, names
        ctx.save_for_backward(x, *tensors)
        return evaluate(spec, spec.forward, x, params).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, *tensors = ctx.saved_tensors
        spec: Spec = ctx.spec
        params = {**ctx.constants, **dict(zip(ctx.names, tensors))}
        grad_c = grad.to(compute_dtype(x, spec.upcast_float32))
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = (grad_c * evaluate(spec, spec.derivative, x, params)).to(x.dtype)
        grad_params: list[Tensor | None] = [None] * len(tensors)
        if any(ctx.needs_input_grad[4:]):
            if spec.param_derivatives is None:
                raise RuntimeError(f"{spec.name} has no derivatives for its parameters")
            partials = evaluate(spec, spec.param_derivatives, x, params)
            for i, (name, tensor) in enumerate(zip(ctx.names, tensors)):
                if ctx.needs_input_grad[4 + i]:
                    total = (grad_c * partials[name]).sum_to_size(tensor.shape)
                    grad_params[i] = total.to(tensor.dtype)
        return (grad_x, None, None, None, *grad_params)


def apply(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor:
    """Evaluate the activation `spec` with bound `params` on `x`, differentiably.

    Tensor-valued parameters (a module's learnable ones) receive gradients. Under ONNX export or
    torch.export the Spec's `native` op (or else its `naive` composition) is traced instead, so
    exported graphs contain standard operators (exact GELU becomes ONNX `Gelu`).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    names = tuple(k for k, v in params.items() if isinstance(v, Tensor))
    if _exporting():
        traced = spec.native if spec.native is not None and not names else spec.forward
        if traced is not None:
            compute_dtype(x)  # the same dtype check as the Function path
            return traced(x, **params)
    if not names and not torch.compiler.is_compiling():
        fused = None
        if x.is_cuda:
            fused = _triton_apply(spec, x, params)
        elif x.device.type == "cpu":
            fused = _cpu_apply(spec, x, params)
        if fused is not None:
            return fused
    constants = {k: v for k, v in params.items() if k not in names}
    tensors = tuple(params[k] for k in names)
    return ActivationFunction.apply(x, spec, constants, names, *tensors)


_CPU_APPLY: Any = None


def _cpu_apply(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor | None:
    """The fused CPU kernels of :mod:`gatelab.kernels.cpu` (None: not covered, switched off
    with GATELAB_CPU_KERNELS=0, or building failed)."""
    global _CPU_APPLY
    if _CPU_APPLY is None:  # imported on first use (a cycle at import time); ~1 µs per call saved
        from .kernels.cpu import cpu_apply

        _CPU_APPLY = cpu_apply
    return _CPU_APPLY(spec, x, params)


def _triton_apply(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor | None:
    """The Triton kernels of :mod:`gatelab.kernels` for CUDA tensors (None: not covered,
    or Triton missing). torch.compile traces the torch path instead, which it fuses itself."""
    from .kernels.dispatch import triton_apply

    return triton_apply(spec, x, params)
