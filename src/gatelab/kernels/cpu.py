"""The CPU kernels' switch, and the torch.compile'd kernels for what the C kernels leave.

Two CPU implementations, chosen per call by :func:`gatelab.kernels.select.select`:

- **C kernels** (:mod:`gatelab.kernels.cpu_native`) for float32 tensors of gelu, gelu_tanh,
  gelu_sigmoid, silu and the GEM family, at every size: hand-written float32 loops with
  error-free transformations (forward ≤ 1.4 ulp measured, see that module), vectorised and
  threaded, ~3 µs per call.
- **torch.compile** of float64 formulas (this module) for the other entries whose Spec lists
  "compiled" (half types, elu, mish, …), from :data:`COMPILED_MIN_NUMEL` elements on: the Spec's
  formula (the GEM family uses the single-division forms of :mod:`gatelab.kernels.cpu_formulas`)
  handed to inductor's C++ code generation, which fuses load / compute-float64 / store into one
  loop, forward f(x) and backward g·f′(x); 0.5 ulp, but float64 division and erfc/exp cost more
  than the memory traffic.

About the compiled kernels:

- Compiled lazily per (activation, parameters, dtype, pass) with dynamic shapes, so one compile
  serves every size; cached in memory here and on disk by inductor's FX-graph cache.
  :func:`compile_log` reports how long each compile took (cold: minutes of gcc on the first
  process; warm, from inductor's disk cache: about a second).
- float64 inputs keep the exact path (its double-double tails are not written for a fused
  loop), as do tensor-valued (learnable) parameters.
- When compiling fails (no C++ compiler, an inductor error) the failure is logged once per
  kernel and :func:`kernel` returns None from then on, so callers keep the exact path.

``GATELAB_CPU_KERNELS=0`` in the environment, or :func:`set_enabled(False) <set_enabled>`,
switches both off (the exact float64 path, 0.5 ulp, then serves every call).
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

from .._compute import compute_dtype
from ..registry import Spec
from .cpu_formulas import FLOAT64_FORMS

ENV_VAR = "GATELAB_CPU_KERNELS"
INPUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

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


def _no_cuda_runtime(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("No CUDA runtime is found")


def quiet_cuda_probe() -> None:
    """Drop torch's "No CUDA runtime is found, using CUDA_HOME=…" warning, and only it.
    torch.utils.cpp_extension logs it when first imported (inductor imports it, for these CPU
    kernels and for a run's torch.compile) on a machine with a CUDA toolkit directory but no
    usable GPU: a warning about a GPU no CPU run uses, printed in the middle of a run's or a
    sweep's progress lines (issue 16). The logger's other messages stay."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    if _no_cuda_runtime not in logger.filters:
        logger.addFilter(_no_cuda_runtime)


quiet_cuda_probe()  # before anything imports cpp_extension: gatelab.modules imports this module


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


def compiled_covers(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> bool:
    """Whether the torch.compile kernels handle `spec` with `params` on `x` (at any size)."""
    return (
        enabled()
        and "compiled" in spec.kernels
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


def run(fn: Callable, *tensors: Tensor) -> Tensor:
    """Run a kernel on flat aliases of `tensors`; the result has the first tensor's shape."""
    with torch.no_grad():
        return fn(*map(_flat_alias, tensors)).view(tensors[0].shape)
