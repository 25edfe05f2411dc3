"""Which fused kernel serves a call: the one place that reads a Spec's ``kernels`` coverage.

A :class:`Kernel` is a pair of raw functions, ``forward(spec, x, params) -> f(x)`` and
``backward(spec, x, grad, params) -> grad·f′(x)``, that take real (plain, storage-backed)
tensors only. :func:`gatelab.autograd.apply` calls them directly on plain tensors, and through
the registered operators of :mod:`gatelab.kernels.ops` everywhere else (vmap, tracing,
torch.compile) — never a data pointer of a wrapper or fake tensor.

Order of preference: CUDA tensors → Triton; CPU tensors → the C kernels (float32), else the
torch.compile'd float64 kernels from :data:`gatelab.kernels.cpu.COMPILED_MIN_NUMEL` elements on.
``force("triton")`` makes CPU tensors take the Triton kernels when they were built by the
interpreter (``TRITON_INTERPRET=1``): how CI tests that path without a GPU.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..registry import Spec, is_registered
from . import cpu, cpu_native


class Kernel(NamedTuple):
    """A fused kernel's forward f(x) and backward grad·f′(x), on plain tensors."""

    name: str  # "c", "compiled" or "triton"
    forward: Callable[[Spec, Tensor, Mapping[str, Any]], Tensor]
    backward: Callable[[Spec, Tensor, Tensor, Mapping[str, Any]], Tensor]


def _c_forward(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor:
    return cpu_native.forward(spec.name, x, params)


def _c_backward(spec: Spec, x: Tensor, grad: Tensor, params: Mapping[str, Any]) -> Tensor:
    return cpu_native.backward(spec.name, x, grad, params)


def _compiled_forward(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor:
    return cpu.run(cpu.kernel(spec, params, x.dtype, "forward"), x)


def _compiled_backward(spec: Spec, x: Tensor, grad: Tensor, params: Mapping[str, Any]) -> Tensor:
    fn = cpu.kernel(spec, params, x.dtype, "backward")
    if fn is None:  # the backward failed to compile (logged): the exact formula, same result
        from .._compute import exact_backward

        with torch.no_grad():
            return exact_backward(spec, x, grad, params)
    return cpu.run(fn, x, grad.to(x.dtype))


@functools.cache
def _triton() -> Any:
    """gatelab.kernels.triton_gated, or None without Triton."""
    try:
        from . import triton_gated
    except ImportError:
        return None
    return triton_gated


def _triton_config(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Any:
    module = _triton()
    if module is None or x.dtype not in module.KERNEL_DTYPES:
        return None
    return module.kernel_config(spec.name, {**spec.defaults, **params})


def _triton_forward(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> Tensor:
    return _triton().forward(x, _triton_config(spec, x, params))


def _triton_backward(spec: Spec, x: Tensor, grad: Tensor, params: Mapping[str, Any]) -> Tensor:
    return _triton().backward(x, grad.to(x.dtype), _triton_config(spec, x, params))


C = Kernel("c", _c_forward, _c_backward)
COMPILED = Kernel("compiled", _compiled_forward, _compiled_backward)
TRITON = Kernel("triton", _triton_forward, _triton_backward)

_forced: str | None = None


def force(path: str | None) -> None:
    """Serve every covered call by one path: "exact" (no kernel), "c", "compiled", "triton"
    (on CPU only under TRITON_INTERPRET=1); None restores the automatic choice. For tests and
    benchmarks."""
    global _forced
    if path not in (None, "exact", "c", "compiled", "triton"):
        raise ValueError(f"unknown kernel path {path!r}; choose exact, c, compiled or triton")
    if path == "triton" and (_triton() is None or not _triton().INTERPRETED):
        if not torch.cuda.is_available():
            raise RuntimeError("force('triton') needs CUDA or TRITON_INTERPRET=1 with Triton")
    _forced = path


def forced() -> str | None:
    """The path set by :func:`force`, or None."""
    return _forced


def registered(spec: Spec) -> bool:
    """Whether `spec` is the entry registered under its name: only those are compiled into
    kernels and named in operator calls (a user's Spec under a catalog name is not ours)."""
    return is_registered(spec)


def _covered_triton(spec: Spec, x: Tensor, params: Mapping[str, Any]) -> bool:
    return _triton_config(spec, x, params) is not None


def select(
    spec: Spec, x: Tensor, params: Mapping[str, Any], *, compiling: bool = False
) -> Kernel | None:
    """The kernel serving `spec` with constant `params` on `x`, or None for the exact path.

    `compiling=True` (inside torch.compile) leaves out the torch.compile'd kernels — inductor
    fuses the exact formulas itself — and does not build the C kernels: the operator's
    implementation checks again at run time and falls back to the exact formula.
    """
    kernels = spec.kernels
    if not kernels or _forced == "exact" or not registered(spec):
        return None
    device = x.device.type
    if _forced == "triton" and device == "cpu":
        return TRITON if "triton" in kernels and _covered_triton(spec, x, params) else None
    if device == "cuda":
        return TRITON if "triton" in kernels and _covered_triton(spec, x, params) else None
    if device != "cpu" or not cpu.enabled():
        return None
    if _forced != "compiled" and "c" in kernels and cpu_native.covers(spec.name, x, params):
        if compiling or cpu_native.library() is not None:
            return C
    if compiling or "compiled" not in kernels or _forced == "c":
        return None
    if not cpu.compiled_covers(spec, x, params):
        return None
    if x.numel() < cpu.COMPILED_MIN_NUMEL and _forced != "compiled":
        return None
    return COMPILED if cpu.kernel(spec, params, x.dtype, "forward") is not None else None
