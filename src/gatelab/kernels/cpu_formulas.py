"""Single-division float64 forms of the GEM family for the fused CPU path.

The catalog's overflow-free GEM (``gatelab.catalog.gem``) evaluates r = min(a/c, c/a) with two
divisions, a reciprocal and two ``where`` branches, so that it also works in float16 and
float32 arithmetic. The fused CPU path always computes in float64, where a simpler form with a
single division is overflow-free for every float16/bfloat16/float32 input:

    t = min(a/c, M),  s = t^{2N} (repeated squaring),  f = a·s/(1 + s),
    f′ = s·(2N + 1 + s)/(1 + s)²,    with c = ε^{1/2N}, M = 2^{64/2N},

the log-logistic gate of Krause (2026), arXiv:2604.21677 (gatelab's reconstruction, see
``gatelab.catalog.gem``) rewritten with s = (a/c)^{2N}. Why it is exact enough:

- Clamping t at M changes nothing visible: for t > M the true s exceeds 2^64, so s/(1 + s) and
  the derivative equal 1 to within 2^-64, below float64's rounding. s ≤ 2^64 and (1 + s)² ≤
  2^128 never overflow, and a·s ≤ 3.4e38·2^64 neither (inputs are at most float32's maximum).
- Underflow of s only happens where f < a·2^-1022 ≤ 1e-269, which is 0 in every target dtype.
- 1/c ≤ (4.9e-324)^{-1/2} ≈ 4.5e161 is finite for every valid ε, so a·(1/c) is never 0·inf.
  Using the multiplication a·(1/c) instead of a/c costs one float64 rounding (2^-53), 2^29
  times below a float32 ulp.
±inf: t = M, so f(+inf) = +inf and f′(+inf) = 1; NaN propagates through min.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._precise import int_power


def _inverse_scale(N: int, eps: float) -> float:
    return eps ** (-1.0 / (2 * N))


def _clamped_power(a: Tensor, N: int, eps: float) -> Tensor:
    """s = min(a/c, 2^{64/2N})^{2N} for a ≥ 0, computed in a's (float64) arithmetic."""
    t = (a * _inverse_scale(N, eps)).clamp(max=2.0 ** (64.0 / (2 * N)))
    return int_power(t, 2 * N)


def positive_part(a: Tensor, N: int, eps: float) -> Tensor:
    """a^{2N+1}/(ε + a^{2N}) for a ≥ 0 (float64 `a`)."""
    s = _clamped_power(a, N, eps)
    return a * s / (1.0 + s)


def positive_slope(a: Tensor, N: int, eps: float) -> Tensor:
    """d/da of `positive_part` for a ≥ 0 (float64 `a`)."""
    s = _clamped_power(a, N, eps)
    one_plus = 1.0 + s
    return s * ((2 * N + 1) + s) / (one_plus * one_plus)


def gem(x: Tensor, N: int = 1) -> Tensor:
    return positive_part(torch.relu(x), N, 1.0)


def gem_derivative(x: Tensor, N: int = 1) -> Tensor:
    return positive_slope(torch.relu(x), N, 1.0)


def e_gem(x: Tensor, N: int = 1, eps: float = 1e-4) -> Tensor:
    return positive_part(torch.relu(x), N, eps)


def e_gem_derivative(x: Tensor, N: int = 1, eps: float = 1e-4) -> Tensor:
    return positive_slope(torch.relu(x), N, eps)


def se_gem(x: Tensor, N: int = 1, eps: float = 1e-4, alpha: float = 0.01) -> Tensor:
    magnitude = positive_part(x.abs(), N, eps)
    negative = torch.zeros_like(magnitude) if alpha == 0 else -alpha * magnitude  # no 0·inf
    return torch.where(x < 0, negative, magnitude)


def se_gem_derivative(x: Tensor, N: int = 1, eps: float = 1e-4, alpha: float = 0.01) -> Tensor:
    slope = positive_slope(x.abs(), N, eps)
    return torch.where(x < 0, alpha * slope, slope)


# name -> (forward, derivative): float64-only forms that replace the Spec's own formulas.
FLOAT64_FORMS = {
    "gem": (gem, gem_derivative),
    "e_gem": (e_gem, e_gem_derivative),
    "se_gem": (se_gem, se_gem_derivative),
}
