"""Triton kernels for the gated activations, forward and backward (issue 7, GPU path).

Covered: gelu, gelu_tanh, gelu_sigmoid, silu, gem, e_gem, se_gem (and relu, for ReGLU). The
formulas are those of the Specs in :mod:`gatelab.catalog.gelu` and :mod:`gatelab.catalog.gem`,
derivatives their closed forms; inputs of float16, bfloat16 or float32 are loaded, computed in
float32 and stored in the input dtype. Only core ``tl`` operations are used (no libdevice), so the
same kernels run under ``TRITON_INTERPRET=1`` on a CPU, which is how CI tests them. Triton reads
``TRITON_INTERPRET`` when ``@triton.jit`` runs, i.e. when this module is first imported;
:data:`INTERPRETED` records which kind of kernels this process holds.

float32 numerics (the torch path computes float32 in float64; here everything is float32):

* Gaussian gate: Φ(x) = ½·erfc(|x|/√2) for x < 0 and 1 − ½·erfc(|x|/√2) otherwise, so nothing
  cancels. erfc(w) = t·e^{−w²}·e^{P(2t−1)}, t = 2/(2 + w), P a degree-11 polynomial fitted (least
  squares on Chebyshev nodes, 60-digit mpmath targets) to log(erfc(w)·e^{w²}/t) on t ∈ [0, 1];
  fit error 1.1e-8 relative. This is the Numerical Recipes ``erfcc`` form (W. H. Press et al.,
  *Numerical Recipes*, 2nd ed., §6.2) with a refitted polynomial. e^{−x²/2} is formed from the
  exact square x² = h² + (2hl + l²) (x = h + l, h the top 12 bits of x), so the tail does not
  lose |x|² ulp to the rounding of x².
* Logistic gates x·σ(kx) and gelu_tanh (σ(2u) = ½(1 + tanh u)): the argument t is carried as a
  float-float pair (Dekker, 1971, "A floating-point technique for extending the available
  precision", with a bit-mask split so FMA contraction cannot break it) and folded in to first
  order, σ(t_hi + t_lo) = σ(t_hi) with e^{−|t|} scaled by (1 − sign(t)·t_lo).
* exp of large negative arguments uses a Cody–Waite reduction (W. J. Cody & W. Waite, *Software
  Manual for the Elementary Functions*, 1980) and an exact power-of-two scale, so the GPU's
  ``ex2.approx`` sees only |r| ≤ ½ln 2 (``tl.exp`` of −80 would lose ~40 ulp to the rounding of
  −80·log2 e).
* GEM: r = min(x/c, c/x), s = r^{2N} by repeated squaring, as in the Spec — never overflows.

float16/bfloat16 inputs skip the float-float refinements (``PRECISE`` is a compile-time constant):
their 8–11-bit results round away errors of |t|·2^-24.

Accuracy (measured under the interpreter against the float64 torch path, itself within 0.5 ulp
of 60-digit mpmath, on 6·10^5 points of [−14, 6] and N(0, 9) plus the grid of tests/reference.py;
tests/test_kernels/test_triton.py enforces the bounds in brackets). float32 forward, worst: gelu
7.7 ulp [10], gelu_tanh 4.4, gelu_sigmoid 4.6, silu 4.2 [6], GEM family ≤ 2N + 1.3 [2N + 4] (the
rounding of x/c is raised to the power 2N). float32 derivatives: within 4.7·(ulp(f′) +
2^-24·(|F| + |x·F′|)), F the gate — f′ = F + x·F′ cancels near its zeros, so the error is
relative to the terms [the same ulp bounds + 4·2^-24·(|F| + |x·F′|)]. Where the exact value is
subnormal (gelu below x ≈ −13) the error is below 2^-140 absolute. float16/bfloat16: within 1 ulp.
On a GPU, ``ex2.approx`` and ``div.full`` (≤ 2 ulp each) replace the interpreter's numpy exp and
division, so expect up to ~2 ulp more there. ±inf give the limits, NaN propagates, finite inputs
never give NaN.

Cost (PTX for sm_90, per element, forward/backward): float32 gelu 59/65 instructions,
gelu_tanh 78/85, silu 46/49, GEM 18/23; bfloat16 gelu 40/43, gelu_tanh 22/29, silu 19/22.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch
import triton
import triton.language as tl
from torch import Tensor

# Elementwise and memory-bound: 1024 elements per program over 4 warps gives each thread 8
# elements, i.e. two 16-byte loads in float32 and one in bfloat16/float16, and a grid of 16k
# programs at 2^24 elements. benchmarks/triton_kernels.py --block/--warps compares other choices.
BLOCK = 1024
NUM_WARPS = 4

# Activation codes: compile-time constants of the kernels (tl.constexpr, so @triton.jit code
# can compare against them).
GELU, GELU_TANH, GELU_SIGMOID, SILU, RELU, GEM, E_GEM, SE_GEM = map(tl.constexpr, range(8))
ACTIVATIONS = {
    "gelu": GELU,
    "gelu_tanh": GELU_TANH,
    "gelu_sigmoid": GELU_SIGMOID,
    "silu": SILU,
    "relu": RELU,
    "gem": GEM,
    "e_gem": E_GEM,
    "se_gem": SE_GEM,
}
KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class KernelConfig:
    """An activation with its parameters bound, as the kernels' compile-time constants.

    `scale_hi + scale_lo` is the logistic slope k (1.702 for gelu_sigmoid, β for silu), with
    `scale_hi` holding 12 significant bits so that scale_hi·x splits exactly; for the GEM family
    `scale_hi` is c = ε^{1/2N} rounded to float32 (1 for gem). `order` is GEM's N.
    """

    activation: int
    order: int = 1
    scale_hi: float = 0.0
    scale_lo: float = 0.0
    alpha: float = 0.0

    def constexprs(self, dtype: torch.dtype) -> dict[str, Any]:
        """The kernels' compile-time constants for inputs of `dtype`; PRECISE (float-float
        arguments, exact squares, Cody–Waite exp) only for float32, whose 24-bit results need
        them — float16/bfloat16 results round away errors of |t|·2^-24."""
        return {
            "PRECISE": dtype == torch.float32,
            "ACT": self.activation,
            "ORDER": self.order,
            "ORDER_BITS": self.order.bit_length(),
            "SCALE_HI": self.scale_hi,
            "SCALE_LO": self.scale_lo,
            "ALPHA": self.alpha,
        }


def _split_slope(value: Fraction) -> tuple[float, float]:
    """(hi, lo): hi = value to 12 significant bits (float32 mask), lo = value − hi."""
    bits = np.array([float(value)], dtype=np.float32).view(np.int32) & np.int32(-4096)
    hi = float(bits.view(np.float32)[0])
    return hi, float(value - Fraction(hi))


# Constants outside this range (β, c = ε^{1/2N}, α) would underflow or overflow float32 inside
# the kernels; such calls are left to the torch path.
_SAFE_CONSTANT = (2.0**-60, 2.0**60)


def _safe(value: float, allow_zero: bool = False) -> bool:
    return (allow_zero and value == 0) or _SAFE_CONSTANT[0] <= value <= _SAFE_CONSTANT[1]


def kernel_config(name: str, params: dict[str, Any]) -> KernelConfig | None:
    """The kernel constants for a registered activation `name` with bound `params`, or None
    when the kernels do not cover it (another activation, a tensor-valued parameter, or a
    constant too small or large for float32 arithmetic)."""
    if name not in ACTIVATIONS or any(isinstance(v, Tensor) for v in params.values()):
        return None
    code = ACTIVATIONS[name].value
    if code in (GELU_SIGMOID.value, SILU.value):
        slope = Fraction("1.702") if code == GELU_SIGMOID.value else Fraction(params["beta"])
        if not _safe(float(slope)):
            return None
        hi, lo = _split_slope(slope)
        return KernelConfig(code, scale_hi=hi, scale_lo=lo)
    if code in (GEM.value, E_GEM.value, SE_GEM.value):
        order, alpha = params["N"], float(params.get("alpha", 0.0))
        scale = float(np.float32(params.get("eps", 1.0) ** (1.0 / (2 * order))))
        if not (_safe(scale) and _safe(alpha, allow_zero=True)):
            return None
        return KernelConfig(code, order, scale, 0.0, alpha)
    return KernelConfig(code)


# --- float32 building blocks ------------------------------------------------------------------


@triton.jit
def _split(a):
    """a = hi + lo exactly, hi the top 12 significant bits (products of halves are exact)."""
    hi = (a.to(tl.int32, bitcast=True) & -4096).to(tl.float32, bitcast=True)
    return hi, a - hi


@triton.jit
def _product_error(a, a_hi, a_lo, b, b_hi, b_lo, p):
    """a·b − p exactly for p = fl(a·b) (Dekker's TwoProduct, halves given)."""
    return ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


@triton.jit
def _renormalize(hi, lo):
    """(s, e) with s = fl(hi + lo) and s + e = hi + lo exactly, for |hi| ≥ |lo| (Fast2Sum)."""
    s = hi + lo
    return s, lo - (s - hi)


@triton.jit
def _exp_nonpositive(y):
    """e^y for y ≤ 0 (NaN propagates): Cody–Waite reduction y = n·ln2 + r, |r| ≤ ½ln2, and an
    exact 2^n built in two halves so that subnormal results round once, gradually."""
    y = tl.maximum(y, -110.0, propagate_nan=tl.PropagateNan.ALL)  # e^-110 < 2^-150: rounds to 0
    n = tl.floor(y * 1.4426950408889634 + 0.5)
    r = (y - n * 0.693359375) + n * 2.12194440e-4  # ln 2 = 0.693359375 − 2.12194440e-4
    k = tl.where(n == n, n, 0.0).to(tl.int32)  # keeps NaN out of the integer conversion
    half = k >> 1
    first = ((half + 127) << 23).to(tl.float32, bitcast=True)
    second = ((k - half + 127) << 23).to(tl.float32, bitcast=True)
    return tl.exp(r) * first * second


@triton.jit
def _logistic(t, t_lo, PRECISE: tl.constexpr):
    """(σ(t + t_lo), σ·(1 − σ)) with e = e^{−|t|} ≤ 1: no overflow, exact tails."""
    upper = t >= 0
    if PRECISE:
        e = _exp_nonpositive(-tl.abs(t)) * (1.0 - tl.where(upper, t_lo, -t_lo))
    else:
        e = tl.exp(-tl.abs(t))
    q = 1.0 / (1.0 + e)
    return tl.where(upper, q, e * q), e * q * q


@triton.jit
def _slope_argument(x, K_HI: tl.constexpr, K_LO: tl.constexpr, PRECISE: tl.constexpr):
    """t = k·x as a float-float (t, t_lo), k = K_HI + K_LO with K_HI of 12 significant bits
    (t_lo = 0 unless PRECISE)."""
    if PRECISE:
        x_hi, x_lo = _split(x)
        t = x * K_HI
        t, t_lo = _renormalize(t, ((x_hi * K_HI - t) + x_lo * K_HI) + x * K_LO)
    else:
        t = x * (K_HI + K_LO)
        t_lo = tl.zeros_like(t)
    return t, t_lo


@triton.jit
def _tanh_argument(x, PRECISE: tl.constexpr):
    """t = 2√(2/π)·x·(1 + 0.044715x²) = x·(C + D·x²) as a float-float (t, t_lo)
    (t_lo = 0 unless PRECISE)."""
    if PRECISE:
        t, t_lo = _tanh_argument_dd(x)
    else:
        t = x * (1.5957691216057308 + 0.07135481627260025 * (x * x))
        t_lo = tl.zeros_like(t)
    return t, t_lo


@triton.jit
def _tanh_argument_dd(x):
    """x·(C + D·x²) as a float-float, from exact products (TwoProduct) and a TwoSum."""
    x_hi, x_lo = _split(x)
    sq = x * x
    sq_lo = _product_error(x, x_hi, x_lo, x, x_hi, x_lo, sq)
    sq_hi, sq_tail = _split(sq)
    # D = 2√(2/π)·0.044715 = 0.07135009765625 (12 bits) + 4.718616350248776e-06
    b = sq * 0.07135009765625
    b_lo = ((sq_hi * 0.07135009765625 - b) + sq_tail * 0.07135009765625) + (
        sq * 4.718616350248776e-06 + sq_lo * 0.07135009765625
    )
    # C = 2√(2/π) = 1.5957691669464111 (float32) − 4.534068042105272e-08; s = C + b (TwoSum)
    s = 1.5957691669464111 + b
    bb = s - 1.5957691669464111
    s_lo = ((1.5957691669464111 - (s - bb)) + (b - bb)) + (b_lo - 4.534068042105272e-08)
    s_hi, s_tail = _split(s)
    t = x * s
    return _renormalize(t, _product_error(x, x_hi, x_lo, s, s_hi, s_tail, t) + x * s_lo)


@triton.jit
def _normal_cdf_and_density(x, PRECISE: tl.constexpr):
    """(Φ(x), φ(x)) for |x| ≤ 20, from ½erfc(|x|/√2) on whichever side does not cancel."""
    a = tl.abs(x)
    if PRECISE:  # e^{−x²/2} = e^{−h²/2}·e^{−small} from the exact square x² = h² + 2hl + l²
        a_hi, a_lo = _split(a)
        head = _exp_nonpositive(-0.5 * (a_hi * a_hi))
        small = a_hi * a_lo + 0.5 * (a_lo * a_lo)
    else:
        head = tl.exp(-0.5 * (a * a))
        small = 0.0
    t = 2.0 / (2.0 + a * 0.7071067811865476)
    u = 2.0 * t - 1.0
    p = -8.728052162021328e-05
    p = p * u + 8.0026525227377e-06
    p = p * u + 0.0005737581505537155
    p = p * u - 0.00022791527329001123
    p = p * u - 0.0022887578393351402
    p = p * u + 0.0017940695998468043
    p = p * u + 0.008808822491922538
    p = p * u - 0.00988002037093424
    p = p * u - 0.04689364011036452
    p = p * u + 0.04734388772515948
    p = p * u + 0.6726431547552753
    p = p * u - 0.6717940916826453
    half_erfc = (0.5 * t) * (head * tl.exp(p - small))
    density = head * (tl.exp(-small) * 0.3989422804014327)  # dead code in forward kernels
    return tl.where(x < 0, half_erfc, 1.0 - half_erfc), density


@triton.jit
def _ratio_power(a, C: tl.constexpr, ORDER: tl.constexpr, ORDER_BITS: tl.constexpr):
    """For a ≥ 0: (a > c, s) with s = min(a/c, c/a)^{2N} ∈ [0, 1], by repeated squaring."""
    large = a > C
    r = tl.where(
        large, C / tl.maximum(a, C), tl.minimum(a, C, propagate_nan=tl.PropagateNan.ALL) / C
    )
    base = r * r
    s = tl.full(r.shape, 1.0, tl.float32)
    for i in tl.static_range(ORDER_BITS):
        if (ORDER >> i) & 1:
            s = s * base
        base = base * base
    return large, s


@triton.jit
def _gem_magnitude(a, C: tl.constexpr, ORDER: tl.constexpr, ORDER_BITS: tl.constexpr):
    """a^{2N+1}/(c^{2N} + a^{2N}) for a ≥ 0, overflow-free."""
    large, s = _ratio_power(a, C, ORDER, ORDER_BITS)
    return a * tl.where(large, 1.0, s) / (1.0 + s)


@triton.jit
def _gem_slope(a, C: tl.constexpr, ORDER: tl.constexpr, ORDER_BITS: tl.constexpr):
    """d/da of `_gem_magnitude` for a ≥ 0."""
    large, s = _ratio_power(a, C, ORDER, ORDER_BITS)
    k = 2.0 * ORDER + 1.0
    numerator = tl.where(large, 1.0 + k * s, s * (k + s))
    return numerator / ((1.0 + s) * (1.0 + s))


# --- the activations and their derivatives, in float32 ---------------------------------------


@triton.jit
def _clamp(x, bound):
    return tl.minimum(
        tl.maximum(x, -bound, propagate_nan=tl.PropagateNan.ALL),
        bound,
        propagate_nan=tl.PropagateNan.ALL,
    )


@triton.jit
def _floor(x, bound):
    """max(x, −bound): the gate is exactly 0 below it, so −inf·0 never occurs."""
    return tl.maximum(x, -bound, propagate_nan=tl.PropagateNan.ALL)


@triton.jit
def activation(
    x,
    ACT: tl.constexpr,
    ORDER: tl.constexpr,
    ORDER_BITS: tl.constexpr,
    SCALE_HI: tl.constexpr,
    SCALE_LO: tl.constexpr,
    ALPHA: tl.constexpr,
    PRECISE: tl.constexpr,
):
    """f(x) in float32 for the activation code ACT (see KernelConfig for the constants)."""
    if ACT == GELU:  # x·Φ(x); Φ(±20) is 0 or 1 in float32
        cdf, _ = _normal_cdf_and_density(_clamp(x, 20.0), PRECISE)
        y = _floor(x, 20.0) * cdf
    elif ACT == GELU_TANH:  # x·σ(t); σ(∓60) is 0 or 1 in float32 beyond |x| = 20
        t, t_lo = _tanh_argument(_clamp(x, 20.0), PRECISE)
        gate, _ = _logistic(t, t_lo, PRECISE)
        y = _floor(x, 20.0) * gate
    elif ACT == GELU_SIGMOID or ACT == SILU:  # x·σ(kx); σ is 0 or 1 beyond |kx| = 200
        bound = 200.0 / (SCALE_HI + SCALE_LO)
        t, t_lo = _slope_argument(_clamp(x, bound), SCALE_HI, SCALE_LO, PRECISE)
        gate, _ = _logistic(t, t_lo, PRECISE)
        y = _floor(x, bound) * gate
    elif ACT == RELU:
        y = tl.maximum(x, 0.0, propagate_nan=tl.PropagateNan.ALL)
    elif ACT == SE_GEM:  # odd rational function, scaled by α on x < 0
        magnitude = _gem_magnitude(tl.abs(x), SCALE_HI, ORDER, ORDER_BITS)
        if ALPHA == 0.0:  # not 0·magnitude: that is NaN at x = −inf
            y = tl.where(x < 0, 0.0, magnitude)
        else:
            y = tl.where(x < 0, -ALPHA * magnitude, magnitude)
    else:  # gem, e_gem: the rational function of relu(x)
        positive = tl.maximum(x, 0.0, propagate_nan=tl.PropagateNan.ALL)
        y = _gem_magnitude(positive, SCALE_HI, ORDER, ORDER_BITS)
    return y


@triton.jit
def derivative(
    x,
    ACT: tl.constexpr,
    ORDER: tl.constexpr,
    ORDER_BITS: tl.constexpr,
    SCALE_HI: tl.constexpr,
    SCALE_LO: tl.constexpr,
    ALPHA: tl.constexpr,
    PRECISE: tl.constexpr,
):
    """f′(x) in float32: the Specs' closed forms."""
    if ACT == GELU:  # Φ(x) + x·φ(x)
        xc = _clamp(x, 20.0)
        cdf, density = _normal_cdf_and_density(xc, PRECISE)
        dy = cdf + xc * density
    elif ACT == GELU_TANH:  # σ(t) + x·σ(1 − σ)·t′, t′ = C(1 + 3·0.044715x²)
        xc = _clamp(x, 20.0)
        t, t_lo = _tanh_argument(xc, PRECISE)
        gate, spread = _logistic(t, t_lo, PRECISE)
        dy = gate + xc * spread * (1.5957691216057308 * (1.0 + 0.134145 * xc * xc))
    elif ACT == GELU_SIGMOID or ACT == SILU:  # σ(t) + t·σ(1 − σ), t = kx
        xc = _clamp(x, 200.0 / (SCALE_HI + SCALE_LO))
        t, t_lo = _slope_argument(xc, SCALE_HI, SCALE_LO, PRECISE)
        gate, spread = _logistic(t, t_lo, PRECISE)
        dy = gate + t * spread
    elif ACT == RELU:
        dy = tl.where(x > 0, 1.0, 0.0)
    elif ACT == SE_GEM:
        slope = _gem_slope(tl.abs(x), SCALE_HI, ORDER, ORDER_BITS)
        dy = tl.where(x < 0, ALPHA * slope, slope)
    else:
        positive = tl.maximum(x, 0.0, propagate_nan=tl.PropagateNan.ALL)
        dy = _gem_slope(positive, SCALE_HI, ORDER, ORDER_BITS)
    return dy


# --- kernels ----------------------------------------------------------------------------------


@triton.jit
def _forward_kernel(
    x_ptr,
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
    x = tl.load(x_ptr + offsets, mask=mask).to(tl.float32)
    y = activation(x, ACT, ORDER, ORDER_BITS, SCALE_HI, SCALE_LO, ALPHA, PRECISE)
    tl.store(y_ptr + offsets, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _backward_kernel(
    x_ptr,
    grad_ptr,
    out_ptr,
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
    x = tl.load(x_ptr + offsets, mask=mask).to(tl.float32)
    grad = tl.load(grad_ptr + offsets, mask=mask).to(tl.float32)
    dy = derivative(x, ACT, ORDER, ORDER_BITS, SCALE_HI, SCALE_LO, ALPHA, PRECISE)
    tl.store(out_ptr + offsets, (grad * dy).to(out_ptr.dtype.element_ty), mask=mask)


# Whether @triton.jit built interpreter kernels (TRITON_INTERPRET=1 at import): they run on CPU.
INTERPRETED: bool = type(_forward_kernel).__name__ == "InterpretedFunction"


# --- launchers --------------------------------------------------------------------------------


def check_tensors(x: Tensor, *others: Tensor) -> None:
    """Raise unless x has a kernel dtype and every other tensor matches its shape, dtype, device."""
    if x.dtype not in KERNEL_DTYPES:
        raise TypeError(f"Triton kernels take float32/float16/bfloat16 tensors, got {x.dtype}")
    for other in others:
        if other.shape != x.shape or other.dtype != x.dtype or other.device != x.device:
            raise ValueError(
                f"tensors must match: got {tuple(other.shape)} {other.dtype} {other.device} "
                f"beside {tuple(x.shape)} {x.dtype} {x.device}"
            )


def forward(x: Tensor, config: KernelConfig) -> Tensor:
    """f(x) for any shape (non-contiguous inputs are made contiguous), in x's dtype."""
    check_tensors(x)
    x = x.contiguous()
    y = torch.empty_like(x)
    if x.numel():
        grid = (triton.cdiv(x.numel(), BLOCK),)
        _forward_kernel[grid](
            x, y, x.numel(), **config.constexprs(x.dtype), BLOCK=BLOCK, num_warps=NUM_WARPS
        )
    return y


def backward(x: Tensor, grad: Tensor, config: KernelConfig) -> Tensor:
    """grad·f′(x), recomputing f′ from x, in x's dtype."""
    check_tensors(x, grad)
    x, grad = x.contiguous(), grad.contiguous()
    out = torch.empty_like(x)
    if x.numel():
        grid = (triton.cdiv(x.numel(), BLOCK),)
        _backward_kernel[grid](
            x, grad, out, x.numel(), **config.constexprs(x.dtype), BLOCK=BLOCK, num_warps=NUM_WARPS
        )
    return out


__all__ = [
    "ACTIVATIONS",
    "BLOCK",
    "INTERPRETED",
    "KernelConfig",
    "activation",
    "backward",
    "check_tensors",
    "derivative",
    "forward",
    "kernel_config",
]
