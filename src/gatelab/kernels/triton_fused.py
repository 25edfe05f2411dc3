"""Fused Triton kernels: bias + activation, and the gated linear units act(a) ⊙ b.

* ``act(x + bias)`` with the bias broadcast along the last dimension — the epilogue of a linear
  layer in one pass (x + bias is never written out and read back). Backward recomputes
  act′(x + bias) from the saved input; the bias gradient is the row sum of the input gradient
  (accumulated in float32).
* GLU forms (Shazeer, "GLU Variants Improve Transformer", arXiv:2002.05202, 2020): for the two
  projections a = xW and b = xV, out = act(a)·b — GEGLU (gelu), SwiGLU (silu), ReGLU (relu) and a
  GEM-gated GLU (gem, e_gem, se_gem) — with both gradients g·b·act′(a) and g·act(a) from one
  backward kernel that reads a, b and g once.

The activation math (float32 compute, accuracy) is that of :mod:`gatelab.kernels.triton_gated`;
the autograd Functions over these launchers are in :mod:`gatelab.kernels.dispatch`.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from .triton_gated import BLOCK, NUM_WARPS, KernelConfig, activation, check_tensors, derivative

# A 2-D tile of BLOCK elements, BLOCK_COLS = min(next_pow2(cols), MAX_TILE_COLS): several whole
# rows per program when rows are short, so the bias slice is loaded once per tile and no
# per-element modulo is needed to find an element's column.
MAX_TILE_COLS = BLOCK


# --- bias + activation ------------------------------------------------------------------------


@triton.jit
def _tile(rows, cols, BLOCK_ROWS: tl.constexpr, BLOCK_COLS: tl.constexpr):
    row = tl.program_id(0).to(tl.int64) * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)[:, None]
    col = tl.program_id(1) * BLOCK_COLS + tl.arange(0, BLOCK_COLS)[None, :]
    return row * cols + col, col, (row < rows) & (col < cols)


@triton.jit
def _bias_forward_kernel(
    x_ptr,
    bias_ptr,
    y_ptr,
    rows,
    cols,
    ACT: tl.constexpr,
    ORDER: tl.constexpr,
    ORDER_BITS: tl.constexpr,
    SCALE_HI: tl.constexpr,
    SCALE_LO: tl.constexpr,
    ALPHA: tl.constexpr,
    PRECISE: tl.constexpr,
    BLOCK_ROWS: tl.constexpr,
    BLOCK_COLS: tl.constexpr,
):
    offsets, col, mask = _tile(rows, cols, BLOCK_ROWS, BLOCK_COLS)
    z = tl.load(x_ptr + offsets, mask=mask).to(tl.float32)
    z += tl.load(bias_ptr + col, mask=col < cols).to(tl.float32)
    y = activation(z, ACT, ORDER, ORDER_BITS, SCALE_HI, SCALE_LO, ALPHA, PRECISE)
    tl.store(y_ptr + offsets, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _bias_backward_kernel(
    x_ptr,
    bias_ptr,
    grad_ptr,
    out_ptr,
    rows,
    cols,
    ACT: tl.constexpr,
    ORDER: tl.constexpr,
    ORDER_BITS: tl.constexpr,
    SCALE_HI: tl.constexpr,
    SCALE_LO: tl.constexpr,
    ALPHA: tl.constexpr,
    PRECISE: tl.constexpr,
    BLOCK_ROWS: tl.constexpr,
    BLOCK_COLS: tl.constexpr,
):
    offsets, col, mask = _tile(rows, cols, BLOCK_ROWS, BLOCK_COLS)
    z = tl.load(x_ptr + offsets, mask=mask).to(tl.float32)
    z += tl.load(bias_ptr + col, mask=col < cols).to(tl.float32)
    grad = tl.load(grad_ptr + offsets, mask=mask).to(tl.float32)
    dy = derivative(z, ACT, ORDER, ORDER_BITS, SCALE_HI, SCALE_LO, ALPHA, PRECISE)
    tl.store(out_ptr + offsets, (grad * dy).to(out_ptr.dtype.element_ty), mask=mask)


def _check_bias(x: Tensor, bias: Tensor) -> None:
    if x.dim() == 0 or bias.shape != x.shape[-1:]:
        raise ValueError(
            f"bias must have shape (x.shape[-1],) = {tuple(x.shape[-1:])}, got {tuple(bias.shape)}"
        )
    if bias.dtype != x.dtype or bias.device != x.device:
        raise ValueError(
            f"bias must match x's dtype and device ({x.dtype}, {x.device}); "
            f"got {bias.dtype}, {bias.device}: convert it with bias.to(x)"
        )


def _launch_bias(kernel, x: Tensor, bias: Tensor, extra: tuple, out: Tensor, config) -> Tensor:
    cols = x.shape[-1]
    rows = x.numel() // cols if cols else 0
    if x.numel():
        block_cols = min(triton.next_power_of_2(cols), MAX_TILE_COLS)
        block_rows = max(1, BLOCK // block_cols)
        grid = (triton.cdiv(rows, block_rows), triton.cdiv(cols, block_cols))
        kernel[grid](
            x, bias, *extra, out, rows, cols, **config.constexprs(x.dtype),
            BLOCK_ROWS=block_rows, BLOCK_COLS=block_cols, num_warps=NUM_WARPS,
        )  # fmt: skip
    return out


def bias_forward(x: Tensor, bias: Tensor, config: KernelConfig) -> Tensor:
    """act(x + bias), bias broadcast along the last dimension, in x's dtype."""
    check_tensors(x)
    _check_bias(x, bias)
    x, bias = x.contiguous(), bias.contiguous()
    return _launch_bias(_bias_forward_kernel, x, bias, (), torch.empty_like(x), config)


def bias_backward(x: Tensor, bias: Tensor, grad: Tensor, config: KernelConfig) -> Tensor:
    """grad·act′(x + bias), in x's dtype (the gradient of both x and, summed, the bias)."""
    check_tensors(x, grad)
    _check_bias(x, bias)
    x, bias, grad = x.contiguous(), bias.contiguous(), grad.contiguous()
    return _launch_bias(_bias_backward_kernel, x, bias, (grad,), torch.empty_like(x), config)


# --- gated linear units -----------------------------------------------------------------------


@triton.jit
def _glu_forward_kernel(
    a_ptr,
    b_ptr,
    y_ptr,
    numel,
    ACT: tl.constexpr,
    ORDER: tl.constexpr,
    ORDER_BITS: tl.constexpr,
    SCALE_HI: tl.constexpr,
    SCALE_LO: tl.constexpr,
    ALPHA: tl.constexpr,
    PRECISE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < numel
    a = tl.load(a_ptr + offsets, mask=mask).to(tl.float32)
    b = tl.load(b_ptr + offsets, mask=mask).to(tl.float32)
    y = activation(a, ACT, ORDER, ORDER_BITS, SCALE_HI, SCALE_LO, ALPHA, PRECISE) * b
    tl.store(y_ptr + offsets, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _glu_backward_kernel(
    a_ptr,
    b_ptr,
    grad_ptr,
    grad_a_ptr,
    grad_b_ptr,
    numel,
    ACT: tl.constexpr,
    ORDER: tl.constexpr,
    ORDER_BITS: tl.constexpr,
    SCALE_HI: tl.constexpr,
    SCALE_LO: tl.constexpr,
    ALPHA: tl.constexpr,
    PRECISE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < numel
    a = tl.load(a_ptr + offsets, mask=mask).to(tl.float32)
    b = tl.load(b_ptr + offsets, mask=mask).to(tl.float32)
    grad = tl.load(grad_ptr + offsets, mask=mask).to(tl.float32)
    act = activation(a, ACT, ORDER, ORDER_BITS, SCALE_HI, SCALE_LO, ALPHA, PRECISE)
    slope = derivative(a, ACT, ORDER, ORDER_BITS, SCALE_HI, SCALE_LO, ALPHA, PRECISE)
    tl.store(grad_a_ptr + offsets, (grad * b * slope).to(grad_a_ptr.dtype.element_ty), mask=mask)
    tl.store(grad_b_ptr + offsets, (grad * act).to(grad_b_ptr.dtype.element_ty), mask=mask)


def _grid(numel: int) -> tuple[int]:
    return (triton.cdiv(numel, BLOCK),)


def glu_forward(a: Tensor, b: Tensor, config: KernelConfig) -> Tensor:
    """act(a)·b for two projections of the same shape and dtype, in that dtype."""
    check_tensors(a, b)
    a, b = a.contiguous(), b.contiguous()
    y = torch.empty_like(a)
    if a.numel():
        _glu_forward_kernel[_grid(a.numel())](
            a, b, y, a.numel(), **config.constexprs(a.dtype), BLOCK=BLOCK, num_warps=NUM_WARPS
        )
    return y


def glu_backward(a: Tensor, b: Tensor, grad: Tensor, config: KernelConfig) -> tuple[Tensor, Tensor]:
    """(grad·b·act′(a), grad·act(a)) from one pass over a, b and grad."""
    check_tensors(a, b, grad)
    a, b, grad = a.contiguous(), b.contiguous(), grad.contiguous()
    grad_a, grad_b = torch.empty_like(a), torch.empty_like(b)
    if a.numel():
        _glu_backward_kernel[_grid(a.numel())](
            a, b, grad, grad_a, grad_b, a.numel(), **config.constexprs(a.dtype),
            BLOCK=BLOCK, num_warps=NUM_WARPS,
        )  # fmt: skip
    return grad_a, grad_b
