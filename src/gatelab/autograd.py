"""The one dispatch of every activation call, and the one autograd Function behind it.

:func:`apply` decides, per call, in this order:

1. **export** (torch.export, ONNX): the Spec's ``native`` op, else its precise formula, traced
   as standard operators (exact GELU becomes ONNX ``Gelu``), so exported graphs run anywhere —
   in the compute dtype for torch.export, in the input dtype for ONNX (onnxruntime has no
   float64 Erf, Elu, Selu, … kernels);
2. **jit.trace**: the registered operator ``gatelab::activation`` (:mod:`gatelab.kernels.ops`),
   which the trace records and ``jit.save`` keeps; learnable parameters (tensors, not strings)
   and unregistered Specs trace the precise formula instead;
3. **torch.compile**: the operator where a C or Triton kernel covers the call (opaque to
   inductor, faster than what it generates), else :class:`ActivationCore` over the exact
   formulas, which inductor fuses;
4. **eager**: a covered call on a plain tensor that needs no graph runs the kernel directly —
   a registered op or an autograd Function costs 6–10 µs per call — and everything else takes
   :class:`ActivationFunction` (:class:`EagerActivationFunction` and
   :class:`EagerKernelFunction` outside torch.func: the same rules, cheaper entries): kernels
   inside it on plain tensors, the operator on wrapped ones
   (vmap), the exact formulas where no kernel covers the call.

:class:`ActivationFunction` saves only x (and any learnable parameter tensors); backward
recomputes g·f′(x) from it — by the kernel, or by the Spec's closed-form derivative written with
differentiable torch ops when the backward itself is recorded (``create_graph=True``,
``torch.func.grad`` of a grad), so double backward is exact. It has ``setup_context`` and a
generated vmap rule (torch.func: vmap, grad, jacrev, functional_call ensembles) and ``jvp``
(forward-mode AD, jacfwd): f′(x)·ẋ plus ∂f/∂p·ṗ for learnable parameters. Dynamo refuses
autograd Functions with a custom jvp ("Unsupported custom jvp"), so under torch.compile
:class:`ActivationCore`, the same Function without jvp, is used.

The compute-dtype policy lives in :mod:`gatelab._compute`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.autograd.forward_ad as forward_ad
from torch import Tensor

from ._compute import (
    compute_dtype,
    evaluate,
    exact_backward,
    exact_forward,
    exact_param_partials,
    in_compute_dtype,
)
from .kernels import ops
from .kernels.select import COMPILED, TRITON, C, registered, select
from .registry import Spec

__all__ = [
    "ActivationCore",
    "ActivationFunction",
    "EagerActivationFunction",
    "EagerKernelFunction",
    "apply",
    "compute_dtype",
    "evaluate",
    "ops",
    "plain",
]

_KERNELS = {kernel.name: kernel for kernel in (C, COMPILED, TRITON)}
_PLAIN_TYPES = (Tensor, torch.nn.Parameter)
_is_wrapped = torch._C._functorch.is_functorch_wrapped_tensor
_functorch_level = torch._C._functorch.maybe_current_level


def _raw(x: Tensor) -> bool:
    """Whether `x` is a real tensor that no torch.func transform wraps and no dispatch mode
    (make_fx, FakeTensorMode, …) intercepts."""
    return (
        type(x) in _PLAIN_TYPES and not _is_wrapped(x) and torch._C._len_torch_dispatch_stack() == 0
    )


def plain(x: Tensor) -> bool:
    """Whether `x` is a real, storage-backed tensor that no transform or tracer wraps: the only
    kind a kernel's raw (data-pointer) call may see."""
    return _raw(x) and torch._C._get_tracing_state() is None and not torch.compiler.is_compiling()


def _exporting() -> bool:
    # The public function, not its flags: dynamo special-cases it (tracing the private
    # GLOBALS.in_onnx_export breaks torch.compile's fullgraph).
    return torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export()


def _forward_value(spec: Spec, x: Tensor, params: Mapping[str, Any], kernel: str | None):
    if kernel is None:
        return exact_forward(spec, x, params)
    if plain(x):
        return _KERNELS[kernel].forward(spec, x, params)
    return torch.ops.gatelab.activation(x, spec.format(params))


def _slope_times(spec: Spec, x: Tensor, t: Tensor, params: Mapping[str, Any], kernel: str | None):
    """t·f′(x): by the kernel when nothing records this computation, else differentiably."""
    if kernel is None or torch.is_grad_enabled():
        return exact_backward(spec, x, t, params)
    if plain(x) and plain(t):
        return _KERNELS[kernel].backward(spec, x, t, params)
    return torch.ops.gatelab.activation_backward(x, t.to(x.dtype), spec.format(params))


class ActivationCore(torch.autograd.Function):
    """f(x) with backward g·f′(x); saves only x and learnable parameters (see module doc)."""

    generate_vmap_rule = True  # forward, backward and jvp are vmap-able ops or gatelab::*

    @staticmethod
    def forward(x, spec, constants, names, kernel, *tensors):  # type: ignore[override]
        return _forward_value(spec, x, {**constants, **dict(zip(names, tensors))}, kernel)

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[override]
        x, spec, constants, names, kernel, *tensors = inputs
        ctx.spec, ctx.constants, ctx.names, ctx.kernel = spec, constants, names, kernel
        ctx.save_for_backward(x, *tensors)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, *tensors = ctx.saved_tensors
        spec: Spec = ctx.spec
        params = {**ctx.constants, **dict(zip(ctx.names, tensors))}
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = _slope_times(spec, x, grad, params, ctx.kernel)
        grad_params: list[Tensor | None] = [None] * len(tensors)
        if any(ctx.needs_input_grad[5:]):
            partials = exact_param_partials(spec, x, params)
            grad_c = in_compute_dtype(x, spec, grad)
            for i, (name, tensor) in enumerate(zip(ctx.names, tensors)):
                if ctx.needs_input_grad[5 + i]:
                    total = (grad_c * partials[name]).sum_to_size(tensor.shape)
                    grad_params[i] = total.to(tensor.dtype)
        return (grad_x, None, None, None, None, *grad_params)


class ActivationFunction(ActivationCore):
    """:class:`ActivationCore` with forward-mode AD: ḟ = f′(x)·ẋ + Σ ∂f/∂p·ṗ."""

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[override]
        ActivationCore.setup_context(ctx, inputs, output)
        (
            x,
            *_,
        ) = inputs
        ctx.save_for_forward(x, *inputs[5:])

    @staticmethod
    def jvp(ctx, x_t, _spec, _constants, _names, _kernel, *tensor_ts):  # type: ignore[override]
        x, *tensors = ctx.saved_tensors
        spec: Spec = ctx.spec
        params = {**ctx.constants, **dict(zip(ctx.names, tensors))}
        out = torch.zeros_like(x) if x_t is None else _slope_times(spec, x, x_t, params, ctx.kernel)
        if any(t is not None for t in tensor_ts):
            partials = exact_param_partials(spec, x, params)
            extra = 0
            for name, t in zip(ctx.names, tensor_ts):
                if t is not None:
                    extra = extra + partials[name] * in_compute_dtype(x, spec, t)
            out = (in_compute_dtype(x, spec, out) + extra).to(x.dtype)
        return out


class EagerActivationFunction(torch.autograd.Function):
    """:class:`ActivationFunction` on the exact path, for plain tensors outside torch.func.

    The same rules with a cheaper entry. For Functions with a ``setup_context``,
    ``Function.apply`` binds the arguments with ``inspect.signature`` on every call: 28 µs of a
    41 µs float32 forward at 2^10 elements (2 CPU threads, torch 2.14.1); torch.func needs that
    form, so ActivationFunction keeps it. Kernel-covered calls take :class:`EagerKernelFunction`.
    """

    @staticmethod
    def forward(ctx, x, spec, constants, names, kernel, *tensors):  # type: ignore[override]
        ctx.spec, ctx.constants, ctx.names, ctx.kernel = spec, constants, names, None
        ctx.save_for_backward(x, *tensors)
        if forward_ad._current_level >= 0:  # a dual level is open: jvp may run
            ctx.save_for_forward(x, *tensors)
        return exact_forward(spec, x, {**constants, **dict(zip(names, tensors))})

    backward = staticmethod(ActivationCore.backward)
    jvp = staticmethod(ActivationFunction.jvp)


class EagerKernelFunction(torch.autograd.Function):
    """The hot case of :class:`EagerActivationFunction`: a kernel, a plain tensor, constant
    parameters. Three arguments instead of five and no parameter bookkeeping, which brings
    fwd+bwd at 2^10 float32 elements back to its cost before the kernels became operators
    (2 CPU threads; benchmarks/dispatch_overhead.py)."""

    @staticmethod
    def forward(ctx, x, spec, params, kernel):  # type: ignore[override]
        ctx.spec, ctx.params, ctx.kernel = spec, params, kernel.name
        ctx.save_for_backward(x)
        if forward_ad._current_level >= 0:  # a dual level is open: jvp may run
            ctx.save_for_forward(x)
        return kernel.forward(spec, x, params)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        if torch.is_grad_enabled() or not _raw(grad):
            return _slope_times(ctx.spec, x, grad, ctx.params, ctx.kernel), None, None, None
        return _KERNELS[ctx.kernel].backward(ctx.spec, x, grad, ctx.params), None, None, None

    @staticmethod
    def jvp(ctx, x_t, *_):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return _slope_times(ctx.spec, x, x_t, ctx.params, ctx.kernel)


def apply(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor:
    """Evaluate the activation `spec` with bound `params` on `x`, differentiably.

    Tensor-valued parameters (a module's learnable ones) receive gradients. See the module
    docstring for which path serves which call.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    names = tuple(k for k, v in params.items() if isinstance(v, Tensor))
    compiling = torch.compiler.is_compiling()
    raw = not compiling and _raw(x)  # dynamo cannot trace the functorch / dispatch-mode queries
    tracing = torch._C._get_tracing_state() is not None
    # Exporters trace fake tensors (torch.export, ONNX dynamo) or run under jit tracing (ONNX
    # legacy) or dynamo: a raw tensor outside both cannot be exporting, which saves the 1 µs
    # of asking.
    if (not raw or tracing or compiling) and _exporting():
        traced = spec.native if spec.native is not None and not names else spec.forward
        if torch.onnx.is_in_onnx_export():  # runtimes lack float64 Erf, Elu, …: input dtype
            compute_dtype(x)  # the same dtype check as the Function path
            return traced(x, **params)
        # torch.export: in the compute dtype (torch's float32 gelu is off by 1.8e-3 at x = −4).
        return evaluate(spec, traced, x, params).to(x.dtype)
    if tracing:  # torch.jit.trace
        if names or not registered(spec):
            return exact_forward(spec, x, params)  # the formula, recorded as aten ops
        return torch.ops.gatelab.activation(x, spec.format(params))
    if compiling:
        if not names and select(spec, x, params, compiling=True) is not None:
            return torch.ops.gatelab.activation(x, spec.format(params))
        constants = {k: v for k, v in params.items() if k not in names}
        tensors = tuple(params[k] for k in names)
        return ActivationCore.apply(x, spec, constants, names, None, *tensors)
    kernel = None if names else select(spec, x, params)
    if kernel is not None and raw and _functorch_level() is None:
        if forward_ad._current_level < 0 and not (x.requires_grad and torch.is_grad_enabled()):
            return kernel.forward(spec, x, params)  # no graph: skip the Function's ~10 µs
        return EagerKernelFunction.apply(x, spec, params, kernel)
    name = None if kernel is None else kernel.name
    constants = {k: v for k, v in params.items() if k not in names}
    tensors = tuple(params[k] for k in names)
    if raw and _functorch_level() is None and all(map(_raw, tensors)):  # kernel is None here
        return EagerActivationFunction.apply(x, spec, constants, names, None, *tensors)
    return ActivationFunction.apply(x, spec, constants, names, name, *tensors)
