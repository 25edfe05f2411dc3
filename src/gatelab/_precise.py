"""Error-free transformations for accurate tails of gated activations.

Gated activations x·F(kx) are exponentially small for x → −∞, and there the relative error of the
result is |d log F/dt| · |t| · (relative error of the argument t = kx). Rounding kx to float64
costs 2^-53, amplified by ~t² for the Gaussian tail (GELU at x = −37: 3e-13 relative). We carry
the argument as a double-double (hi + lo), Dekker (1971) "A floating-point technique for
extending the available precision", and fold lo into the result to first order. Everything here
is written with plain torch ops so that autograd, torch.compile and every device can run it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
from torch import Tensor

_VELTKAMP = 134217729.0  # 2**27 + 1: splits a float64 into two 26-bit halves.


def extended(x: Tensor) -> bool:
    """Whether `x` is float64, the only dtype whose tails need double-double arguments.

    float32 inputs are computed in float64 (gatelab.autograd), where a plain rounding of the
    argument is already 2^29 times finer than float32's ulp.
    """
    return x.dtype == torch.float64


def split_constant(value: str) -> tuple[float, float]:
    """(hi, lo) for a decimal constant: hi = float(value), lo the float64 nearest to value − hi."""
    exact = Fraction(value)
    hi = float(exact)
    return hi, float(exact - Fraction(hi))


def sqrt_constant(numerator: int, denominator: int) -> tuple[float, float]:
    """(hi, lo) of sqrt(numerator/denominator) for a rational under the root, to ~2^-106."""
    hi = math.sqrt(numerator / denominator)
    # One Newton step in exact rationals: lo = (q − hi²) / (2·hi).
    residual = Fraction(numerator, denominator) - Fraction(hi) ** 2
    return hi, float(residual / (2 * Fraction(hi)))


def _split(a: Tensor) -> tuple[Tensor, Tensor]:
    t = _VELTKAMP * a
    hi = t - (t - a)
    return hi, a - hi


def two_prod(a: Tensor, b: Tensor | float) -> tuple[Tensor, Tensor]:
    """p + e == a·b exactly (Dekker's TwoProduct); inputs must stay below ~1e290 in magnitude."""
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(torch.as_tensor(b, dtype=a.dtype, device=a.device))
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


def two_sum(a: Tensor | float, b: Tensor) -> tuple[Tensor, Tensor]:
    """s + e == a + b exactly (Knuth's TwoSum)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def mul_dd(x: Tensor, constant: tuple[float, float]) -> tuple[Tensor, Tensor]:
    """x·(c_hi + c_lo) as a double-double (hi, lo) for a float64 tensor x of moderate size."""
    c_hi, c_lo = constant
    p, e = two_prod(x, c_hi)
    return p, e + x * c_lo


def int_power(x: Tensor, n: int) -> Tensor:
    """x**n for a positive integer n by repeated squaring (exact ops, no pow/log round trip)."""
    result: Tensor | None = None
    base = x
    while n:
        if n & 1:
            result = base if result is None else result * base
        n >>= 1
        if n:
            base = base * base
    assert result is not None
    return result


def decay(t: Tensor, upper: Tensor) -> Tensor:
    """exp(−|t|), with |t| taken as t where `upper` else −t.

    The branch mask must be the one the caller's formula uses: torch's abs() has slope 0 at 0,
    which would make a second derivative through exp(−|t|) wrong at exactly t = 0.
    """
    return torch.exp(torch.where(upper, -t, t))


def sigmoid(t: Tensor) -> Tensor:
    """Logistic σ(t) without overflow: e = exp(−|t|) ≤ 1 on both sides."""
    upper = t >= 0
    e = decay(t, upper)
    return torch.where(upper, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_dd(hi: Tensor, lo: Tensor | None) -> Tensor:
    """σ(hi + lo) to first order in lo: exp(−|hi+lo|) = exp(−|hi|)·(1 − sign(hi)·lo)."""
    upper = hi >= 0
    e = decay(hi, upper)
    if lo is not None:
        e = e * (1.0 - torch.sign(hi) * lo)
    return torch.where(upper, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_times_complement(t: Tensor) -> Tensor:
    """σ(t)·(1 − σ(t)) = e/(1+e)² with e = exp(−|t|), exact in both tails."""
    e = decay(t, t >= 0)
    return e / ((1.0 + e) * (1.0 + e))


INV_SQRT2 = sqrt_constant(1, 2)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# Φ(x) is 0 below −40 and 1 above 40 in float64 (Φ(−40) ≈ 4e-350), so clamping the argument
# there changes no result and keeps the double-double products far from overflow.
_NDTR_SATURATION = 40.0


def ndtr(z: Tensor, z_lo: Tensor | None = None) -> Tensor:
    """Standard normal CDF Φ(z + z_lo), accurate to a few ulp of float64 in the lower tail.

    Φ(z) = erfc(w)/2 with w = −z/√2 (no cancellation for z < 0). w is carried as hi + lo and,
    since d log erfc(w)/dw = −2w(1 + O(w⁻²)) for w > 0, erfc(hi + lo) = erfc(hi)·(1 − 2·hi·lo).
    """
    zc = z.clamp(-_NDTR_SATURATION, _NDTR_SATURATION)
    if not extended(z):
        return 0.5 * torch.special.erfc(-zc * INV_SQRT2[0])
    w_hi, w_lo = mul_dd(-zc, INV_SQRT2)
    if z_lo is not None:
        w_lo = w_lo - z_lo * INV_SQRT2[0]
    tail = 1.0 - 2.0 * w_hi.clamp(min=0.0) * w_lo
    return 0.5 * torch.special.erfc(w_hi) * tail


def normal_pdf(z: Tensor) -> Tensor:
    """φ(z) = exp(−z²/2)/√(2π)."""
    return torch.exp(-0.5 * z * z) * INV_SQRT_2PI
