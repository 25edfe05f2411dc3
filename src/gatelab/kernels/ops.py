"""The activations as registered PyTorch operators: ``gatelab::activation`` and its backward.

``torch.ops.gatelab.activation(x, spec)`` is f(x) for a registered activation named by its
canonical spec string (``"e_gem(N=2)"``); ``torch.ops.gatelab.activation_backward(x, grad,
spec)`` is grad·f′(x). Their implementation runs the fused kernel that covers the call (see
:func:`gatelab.kernels.select.select`) or else the exact formula, so a graph that holds the op
stays right whatever dtype or device it later meets.

Registered with ``torch.library.custom_op`` (the modern API: Zou et al., "PyTorch custom
operators", pytorch.org/tutorials/advanced/custom_ops_landing_page) together with

- ``register_fake``: the output's shape, dtype and strides (those of ``empty_like(x)``, which
  the implementation reproduces), so torch.compile, torch.export and FakeTensor tracing see an
  op instead of a data-pointer call;
- ``register_autograd``: backward by the backward op, or by the exact differentiable formula
  when the backward itself is recorded (``create_graph=True``, nested transforms), so double
  backward is right, never silently zero;
- ``register_vmap``: the ops are elementwise, so a batched call is one call on the stacked
  tensor.

:func:`gatelab.autograd.apply` calls these ops wherever its input is not a plain tensor (vmap,
FakeTensor, jit.trace, torch.compile); on plain tensors it calls the kernels directly, since a
registered op costs ~6 µs more per call (``benchmarks/dispatch_overhead.py``). Loading a
``jit.trace``'d graph that holds these ops needs ``import gatelab`` first, which registers them.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor

from .._compute import exact_backward, exact_forward
from ..registry import Spec, lookup, resolve
from .select import select


@functools.lru_cache(maxsize=512)
def _resolve_cached(spec: str) -> tuple[Spec, dict[str, Any]]:
    return resolve(spec)


def resolve_op_spec(spec: str) -> tuple[Spec, dict[str, Any]]:
    """(Spec, bound params) named by `spec`; re-resolved when the registry changed."""
    entry, params = _resolve_cached(spec)
    if lookup(entry.name) is not entry:
        _resolve_cached.cache_clear()
        entry, params = _resolve_cached(spec)
    return entry, params


def _like(x: Tensor, value: Tensor) -> Tensor:
    """`value` laid out as ``empty_like(x)`` (what the fake implementation promises)."""
    out = torch.empty_like(x)
    if value.stride() == out.stride():
        return value
    return out.copy_(value)


@torch.library.custom_op("gatelab::activation", mutates_args=())
def activation(x: Tensor, spec: str) -> Tensor:
    """f(x) for the registered activation `spec` (a spec string), by its kernel or exactly."""
    entry, params = resolve_op_spec(spec)
    kernel = select(entry, x, params)
    with torch.no_grad():
        value = (
            exact_forward(entry, x, params) if kernel is None else kernel.forward(entry, x, params)
        )
    return _like(x, value)


@torch.library.custom_op("gatelab::activation_backward", mutates_args=())
def activation_backward(x: Tensor, grad: Tensor, spec: str) -> Tensor:
    """grad·f′(x) for the registered activation `spec`, by its kernel or exactly."""
    entry, params = resolve_op_spec(spec)
    kernel = select(entry, x, params)
    with torch.no_grad():
        if kernel is None:
            value = exact_backward(entry, x, grad, params)
        else:
            value = kernel.backward(entry, x, grad, params)
    return _like(x, value)


@activation.register_fake
def _activation_fake(x: Tensor, spec: str) -> Tensor:
    return torch.empty_like(x)


@activation_backward.register_fake
def _activation_backward_fake(x: Tensor, grad: Tensor, spec: str) -> Tensor:
    return torch.empty_like(x)


def backward_value(x: Tensor, grad: Tensor, spec: str) -> Tensor:
    """grad·f′(x): the fast op, or the exact differentiable formula if this is being recorded."""
    if torch.is_grad_enabled():
        entry, params = resolve_op_spec(spec)
        return exact_backward(entry, x, grad, params)
    return torch.ops.gatelab.activation_backward(x, grad, spec)


def _setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
    x, spec = inputs
    ctx.spec = spec
    ctx.save_for_backward(x)


def _backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
    (x,) = ctx.saved_tensors
    return backward_value(x, grad, ctx.spec), None


activation.register_autograd(_backward, setup_context=_setup_context)


def _batched(x: Tensor, dim: int | None, size: int) -> Tensor:
    """`x` with its batch dimension first (expanded if it has none)."""
    return x.movedim(dim, 0) if dim is not None else x.expand(size, *x.shape)


@activation.register_vmap
def _activation_vmap(info: Any, in_dims: tuple, x: Tensor, spec: str) -> tuple[Tensor, int]:
    return torch.ops.gatelab.activation(x, spec), in_dims[0]


@activation_backward.register_vmap
def _activation_backward_vmap(
    info: Any, in_dims: tuple, x: Tensor, grad: Tensor, spec: str
) -> tuple[Tensor, int]:
    x_dim, grad_dim = in_dims[0], in_dims[1]
    x, grad = _batched(x, x_dim, info.batch_size), _batched(grad, grad_dim, info.batch_size)
    return torch.ops.gatelab.activation_backward(x, grad, spec), 0
