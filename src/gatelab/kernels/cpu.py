"""The fused CPU path: one loop per activation and pass that loads, computes and stores once.

Two implementations, chosen per call by :func:`cpu_apply`:

- **C kernels** (:mod:`gatelab.kernels.cpu_native`) for float32 tensors of gelu, gelu_tanh,
  gelu_sigmoid, silu and the GEM family, at every size: hand-written float32 loops with
  error-free transformations (forward ≤ 1.4 ulp measured, see that module), vectorised and
  threaded, ~3 µs per call.
- **torch.compile** of float64 formulas for everything else covered (half types, elu, mish, …),
  from :data:`COMPILED_MIN_NUMEL` elements on: the Spec's formula (the GEM family uses the
  single-division forms of :mod:`gatelab.kernels.cpu_formulas`) handed to inductor's C++ code
  generation, which fuses load / compute-float64 / store into one loop, forward f(x) and
  backward g·f′(x); 0.5 ulp, but float64 division and erfc/exp cost more than the memory
  traffic.

About the compiled kernels:

- Compiled lazily per (activation, parameters, dtype, pass) with dynamic shapes, so one compile
  serves every size; cached in memory here and on disk by inductor's FX-graph cache.
  :func:`compile_log` reports how long each compile took (cold: minutes of gcc on the first
  process; warm, from inductor's disk cache: about a second).
- float64 inputs keep the exact path (its double-double tails are not written for a fused
  loop), as do tensor-valued (learnable) parameters and entries outside :data:`COVERED`.
- When compiling fails (no C++ compiler, an inductor error) the failure is logged once per
  kernel and :func:`cpu_apply` returns None from then on, so callers keep the exact path.

``GATELAB_CPU_KERNELS=0`` in the environment, or :func:`set_enabled(False) <set_enabled>`,
switches both off (the exact float64 path, 0.5 ulp, then serves every call). Backward saves only
x, like ``autograd.ActivationFunction``; under ``create_graph=True`` it uses the exact path's
differentiable derivative so double backward keeps working.
"""

from __future__ import annotations

import logging
import os
import time
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..autograd import compute_dtype, evaluate
from ..registry import Spec
from . import cpu_native
from .cpu_formulas import FLOAT64_FORMS

ENV_VAR = "GATELAB_CPU_KERNELS"
INPUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
# Multi-op catalog entries. relu, leaky_relu and prelu are single native ops already.
COVERED = frozenset(
    {
        "gelu", "gelu_tanh", "gelu_sigmoid", "gelu_general", "silu",
        "gem", "e_gem", "se_gem",
        "elu", "selu", "celu", "softplus", "mish", "hardswish", "relu_squared",
        "tanh", "sigmoid",
    }
)  # fmt: skip

#: The compiled kernels serve CPU tensors from this size on: below it their call overhead
#: (~50 µs) outweighs the gain — at 2^10 elements they are 3–10× slower than eager, from 2^14 on
#: faster (benchmarks/cpu_kernels.py). The C kernels have no such limit.
COMPILED_MIN_NUMEL = 1 << 16

_log = logging.getLogger(__name__)
_override: bool | None = None


def set_enabled(flag: bool | None) -> None:
    """Switch the fused CPU path on or off for this process; None defers to GATELAB_CPU_KERNELS."""
    global _override
    if flag is not None and not isinstance(flag, bool):
        raise TypeError(f"set_enabled takes True, False or None, got {flag!r}")
    _override = flag


def enabled() -> bool:
    """Whether the fused CPU path is on: set_enabled() if called, else GATELAB_CPU_KERNELS != 0."""
    if _override is not None:
        return _override
    value = os.environ.get(ENV_VAR)
    return value is None or value.strip().lower() not in ("0", "false", "off", "no")


@dataclass
class CompiledKernel:
    """One compiled pass (forward or backward) and what it cost to build."""

    key: tuple
    fn: Callable[..., Tensor] | None  # None: compiling failed, use the exact path
    compile_seconds: float = 0.0


_KERNELS: dict[tuple, CompiledKernel] = {}


def compile_log() -> list[dict[str, Any]]:
    """Every kernel compiled in this process: spec, dtype, pass, compile seconds, ok."""
    return [
        {
            "spec": k.key[0],
            "dtype": str(k.key[2]).removeprefix("torch."),
            "pass": k.key[3],
            "compile_seconds": k.compile_seconds,
            "ok": k.fn is not None,
        }
        for k in _KERNELS.values()
    ]


def clear_cache() -> None:
    """Forget the in-memory kernels (inductor's disk cache stays): the next call recompiles."""
    _KERNELS.clear()


def _formulas(spec: Spec, x_dtype: torch.dtype) -> tuple[Callable, Callable, torch.dtype]:
    """(forward, derivative, compute dtype) that the kernels of `spec` evaluate."""
    if spec.name in FLOAT64_FORMS:
        forward, derivative = FLOAT64_FORMS[spec.name]
        return forward, derivative, torch.float64
    probe = torch.empty(0, dtype=x_dtype)
    return spec.forward, spec.derivative, compute_dtype(probe, spec.upcast_float32)


def own_code(fn: Callable) -> Callable:
    """A copy of `fn` with its own code object.

    torch.compile keeps one cache of graphs per code object, with a limit of 8 recompiles; the
    kernels of all activations share two closures' code, so each gets its own copy instead.
    """
    return types.FunctionType(
        fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )


def _forward_source(formula: Callable, params: Mapping[str, Any], dtype: torch.dtype):
    def forward_kernel(x: Tensor) -> Tensor:
        return formula(x.to(dtype), **params).to(x.dtype)

    return forward_kernel


def _backward_source(formula: Callable, params: Mapping[str, Any], dtype: torch.dtype):
    def backward_kernel(x: Tensor, grad: Tensor) -> Tensor:
        return (grad.to(dtype) * formula(x.to(dtype), **params)).to(x.dtype)

    return backward_kernel


def _build(key: tuple, source: Callable, example: tuple[Tensor, ...]) -> CompiledKernel:
    # Only the length is symbolic: with dynamic=True the activation's integer parameters (GEM's
    # N) became symbols too, and the kernel recomputed pow(ε, −1/2N) and the clamp bound with
    # scalar std::pow inside its vector loop — 0.22× copy for gem instead of 0.6× (2^24, f32).
    compiled = torch.compile(own_code(source), dynamic=None, fullgraph=True)
    for tensor in example:
        torch._dynamo.mark_dynamic(tensor, 0)
    start = time.perf_counter()
    try:
        with torch.no_grad():
            compiled(*example)
    except Exception as error:  # noqa: BLE001 - any compiler failure means: use the exact path
        _log.warning(
            "gatelab: compiling the CPU kernel %s failed (%s: %s); using the exact path. "
            "Set %s=0 to skip compiling.",
            key,
            type(error).__name__,
            error,
            ENV_VAR,
        )
        return CompiledKernel(key, None, time.perf_counter() - start)
    return CompiledKernel(key, compiled, time.perf_counter() - start)


def kernel(spec: Spec, params: Mapping[str, Any], dtype: torch.dtype, which: str):
    """The compiled `which` ("forward" or "backward") kernel of `spec`, or None if it failed."""
    key = (spec.format(params), tuple(sorted(params.items())), dtype, which)
    if key not in _KERNELS:
        forward, derivative, compute = _formulas(spec, dtype)
        # The example's length is inductor's size hint: a short one (it was 64) compiles a
        # kernel without its OpenMP loop, i.e. one thread at any size.
        example = torch.linspace(-4.0, 4.0, 1 << 16, dtype=dtype)
        if which == "forward":
            _KERNELS[key] = _build(key, _forward_source(forward, params, compute), (example,))
        else:
            source = _backward_source(derivative, params, compute)
            _KERNELS[key] = _build(key, source, (example, torch.ones_like(example)))
    return _KERNELS[key].fn


def covers(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> bool:
    """Whether :func:`cpu_apply` handles `spec` with `params` on `x` (before building anything)."""
    if not enabled():
        return False
    if cpu_native.covers(spec.name, x, params):
        return True
    return compiled_covers(spec, x, params) and x.numel() >= COMPILED_MIN_NUMEL


def compiled_covers(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> bool:
    """Whether the torch.compile kernels handle `spec` with `params` on `x` (at any size)."""
    return (
        enabled()
        and spec.name in COVERED
        and x.device.type == "cpu"
        and x.dtype in INPUT_DTYPES
        and x.numel() > 1  # sizes 0 and 1 would each cost a specialised recompile
        and not any(isinstance(v, Tensor) for v in params.values())
    )


def _flat_alias(t: Tensor) -> Tensor:
    """A 1-D contiguous tensor over t's elements that is not a view (no ``_base``).

    The kernels then always see the same kind of input — one dimension, stride 1, no grad, no
    base — so torch.compile's guards never ask for a recompile whatever the caller's shape.
    """
    t = t.detach().contiguous()
    flat = torch.empty(0, dtype=t.dtype, device=t.device)
    return flat.set_(t.untyped_storage(), t.storage_offset(), (t.numel(),), (1,))


def _run(fn: Callable, *tensors: Tensor) -> Tensor:
    """Run a kernel on flat aliases of `tensors`; the result has the first tensor's shape."""
    with torch.no_grad():
        return fn(*map(_flat_alias, tensors)).view(tensors[0].shape)


def _exact_backward(spec: Spec, params: Mapping[str, Any], x: Tensor, grad: Tensor) -> Tensor:
    """grad·f′(x) by the exact path's derivative, differentiable (for double backward)."""
    grad_c = grad.to(compute_dtype(x, spec.upcast_float32))
    return (grad_c * evaluate(spec, spec.derivative, x, params)).to(x.dtype)


class CpuActivationFunction(torch.autograd.Function):
    """f(x) by the fused forward kernel; backward g·f′(x) by the fused backward kernel.

    Saves only x. Under create_graph=True, backward uses the Spec's differentiable derivative
    (the exact path's formula) so that double backward works.
    """

    @staticmethod
    def forward(ctx, x, spec, params, forward_fn):  # type: ignore[override]
        ctx.spec, ctx.params = spec, params
        ctx.save_for_backward(x)
        return _run(forward_fn, x)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        spec, params = ctx.spec, ctx.params
        # create_graph=True needs a differentiable backward: the exact path's derivative.
        backward_fn = None if torch.is_grad_enabled() else kernel(spec, params, x.dtype, "backward")
        if backward_fn is None:
            grad_x = _exact_backward(spec, params, x, grad)
        else:
            grad_x = _run(backward_fn, x, grad.to(x.dtype))
        return grad_x, None, None, None


class NativeActivationFunction(torch.autograd.Function):
    """f(x) and g·f′(x) by the C kernels; saves only x; double backward via the exact path."""

    @staticmethod
    def forward(ctx, x, spec, params):  # type: ignore[override]
        ctx.spec, ctx.params = spec, params
        ctx.save_for_backward(x)
        return cpu_native.forward(spec.name, x, params)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        spec, params = ctx.spec, ctx.params
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward
            return _exact_backward(spec, params, x, grad), None, None
        return cpu_native.backward(spec.name, x, grad, params), None, None


def native_apply(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor | None:
    """f(x) through the C kernels, differentiably; None where they do not apply or failed."""
    if not (enabled() and cpu_native.covers(spec.name, x, params)):
        return None
    if cpu_native.library() is None:  # no C compiler: logged once by cpu_native
        return None
    if not (x.requires_grad and torch.is_grad_enabled()):  # no graph: skip the Function's ~10 µs
        return cpu_native.forward(spec.name, x, params)
    return NativeActivationFunction.apply(x, spec, dict(params))


def compiled_apply(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor | None:
    """f(x) through the torch.compile kernels at any size; None where they do not apply."""
    if not compiled_covers(spec, x, params):
        return None
    forward_fn = kernel(spec, params, x.dtype, "forward")
    if forward_fn is None:
        return None
    return CpuActivationFunction.apply(x, spec, dict(params), forward_fn)


def cpu_apply(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor | None:
    """f(x) through the fused CPU kernels, differentiably; None where the path does not apply.

    The C kernels where they cover `x` (float32, see :mod:`gatelab.kernels.cpu_native`), else
    the compiled ones from :data:`COMPILED_MIN_NUMEL` elements on. None means: not covered,
    switched off, or building failed — the caller then uses ``gatelab.autograd.apply``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    y = native_apply(spec, x, params)
    if y is None and x.numel() >= COMPILED_MIN_NUMEL:
        y = compiled_apply(spec, x, params)
    return y
