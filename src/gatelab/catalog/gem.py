"""The GEM family (Krause 2026, "Geometric Monomial", arXiv:2604.21677) — a reconstruction.

The paper's full text is not available offline, so gatelab implements a reconstruction that
satisfies every published constraint: purely rational; gated, f(x) = x·F(x) with F the
log-logistic CDF x^{2N}/(ε + x^{2N}) (shape 2N, scale ε^{1/2N}); C^{2N} at 0 (f and its first
2N derivatives vanish there from both sides, the (2N+1)-th jumps); E-GEM → ReLU in L^p as
ε → 0 (0 ≤ relu − f ≤ ε^{1/2N}/2, so ‖f − relu‖_p → 0); SE-GEM is piecewise: the same rational
function scaled by α on x < 0, so no neuron is dead, with a C^{2N} junction at 0.

Numerics: with c = ε^{1/2N} and r = min(x/c, c/x) ∈ [0, 1], s = r^{2N} never overflows and
  f(x) = x·s/(1 + s)  for x ≤ c,     f(x) = x/(1 + s)  for x > c,
  f′(x) = s(2N+1+s)/(1+s)²  for x ≤ c,   f′(x) = (1 + (2N+1)s)/(1+s)²  for x > c.
The textbook x^{2N+1}/(1+x^{2N}) overflows float16 at x ≈ 256 (N=1) and x ≈ 16 (N=2).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._precise import int_power
from ..registry import GATED_KERNELS, Spec, non_negative, positive, positive_int, register

CITATION = (
    "Krause, 'Geometric Monomial (GEM): a family of rational 2N-differentiable activation "
    "functions', arXiv:2604.21677 (2026). Formula reconstructed by gatelab from the abstract."
)


def _scale(N: int, eps: float) -> float:
    return eps ** (1.0 / (2 * N))


def _ratio_power(a: Tensor, N: int, c: float) -> tuple[Tensor, Tensor]:
    """For a ≥ 0: (a > c, s) with s = min(a/c, c/a)^{2N} ∈ [0, 1]."""
    large = a > c
    r = torch.where(large, c / a.clamp(min=c), a / c)
    return large, int_power(r, 2 * N)


def _positive_part(a: Tensor, N: int, c: float) -> Tensor:
    """a^{2N+1}/(c^{2N} + a^{2N}) for a ≥ 0, overflow-free."""
    large, s = _ratio_power(a, N, c)
    return a * torch.where(large, torch.ones_like(s), s) / (1.0 + s)


def _positive_slope(a: Tensor, N: int, c: float) -> Tensor:
    """d/da of `_positive_part` for a ≥ 0."""
    large, s = _ratio_power(a, N, c)
    k = 2 * N + 1
    numerator = torch.where(large, 1.0 + k * s, s * (k + s))
    return numerator / ((1.0 + s) * (1.0 + s))


def _positive_gate(a: Tensor, N: int, c: float) -> Tensor:
    """The log-logistic CDF a^{2N}/(c^{2N} + a^{2N}) for a ≥ 0, overflow-free."""
    large, s = _ratio_power(a, N, c)
    return torch.where(large, 1.0 / (1.0 + s), s / (1.0 + s))


def _rational_naive(x: Tensor, N: int, eps: float) -> Tensor:
    """The textbook x^{2N+1}/(ε + x^{2N}), as a composition of torch ops (overflows; baseline)."""
    t = x.pow(2 * N)
    return x * t / (eps + t)


# --- gem ------------------------------------------------------------------------------------


def gem(x: Tensor, N: int = 1) -> Tensor:
    return _positive_part(torch.relu(x), N, 1.0)


def gem_derivative(x: Tensor, N: int = 1) -> Tensor:
    return _positive_slope(torch.relu(x), N, 1.0)


def gem_gate(x: Tensor, N: int = 1) -> Tensor:
    return _positive_gate(torch.relu(x), N, 1.0)


# --- e_gem ----------------------------------------------------------------------------------


def e_gem(x: Tensor, N: int = 1, eps: float = 1e-4) -> Tensor:
    return _positive_part(torch.relu(x), N, _scale(N, eps))


def e_gem_derivative(x: Tensor, N: int = 1, eps: float = 1e-4) -> Tensor:
    return _positive_slope(torch.relu(x), N, _scale(N, eps))


def e_gem_gate(x: Tensor, N: int = 1, eps: float = 1e-4) -> Tensor:
    return _positive_gate(torch.relu(x), N, _scale(N, eps))


# --- se_gem ---------------------------------------------------------------------------------


def se_gem(x: Tensor, N: int = 1, eps: float = 1e-4, alpha: float = 0.01) -> Tensor:
    # x^{2N+1}/(ε+x^{2N}) is odd, so the negative side is −α·(positive part at |x|).
    magnitude = _positive_part(x.abs(), N, _scale(N, eps))
    negative = torch.zeros_like(magnitude) if alpha == 0 else -alpha * magnitude
    return torch.where(x < 0, negative, magnitude)


def se_gem_derivative(x: Tensor, N: int = 1, eps: float = 1e-4, alpha: float = 0.01) -> Tensor:
    slope = _positive_slope(x.abs(), N, _scale(N, eps))
    return torch.where(x < 0, alpha * slope, slope)


def se_gem_gate(x: Tensor, N: int = 1, eps: float = 1e-4, alpha: float = 0.01) -> Tensor:
    return torch.where(x < 0, alpha, 1.0) * _positive_gate(x.abs(), N, _scale(N, eps))


def _se_gem_naive(x: Tensor, N: int = 1, eps: float = 1e-4, alpha: float = 0.01) -> Tensor:
    slope = torch.where(x < 0, alpha, 1.0).to(x.dtype)  # Python scalars would make it float32
    return slope * _rational_naive(x, N, eps)


def _se_gem_symbolic(sp, x, N=1, eps=1e-4, alpha=0.01):
    g = x ** (2 * N + 1) / (eps + x ** (2 * N))
    return sp.Piecewise((g, x >= 0), (alpha * g, True))


# A bound keeps 2N + 1 a machine integer inside tensor arithmetic.
_ORDER = positive_int("N", 1, "order: f is C^{2N}", maximum=1024)
_EPS = positive("eps", 1e-4, "ε: scale of the gate; E-GEM → ReLU as ε → 0")

register(
    Spec(
        name="gem",
        kernels=GATED_KERNELS,
        symbolic=lambda sp, x, N=1: sp.Piecewise(
            (x ** (2 * N + 1) / (1 + x ** (2 * N)), x > 0), (0, True)
        ),
        forward=gem,
        derivative=gem_derivative,
        params=(_ORDER,),
        formula=r"\begin{cases} \dfrac{x^{2N+1}}{1 + x^{2N}} & x > 0 \\ 0 & x \le 0 \end{cases}",
        citation=CITATION,
        family="gem",
        summary="Geometric Monomial: x·F(x), F the log-logistic CDF x^{2N}/(1+x^{2N}).",
        gate=gem_gate,
        naive=lambda x, N=1: _rational_naive(torch.relu(x), N, 1.0),
    )
)
register(
    Spec(
        name="e_gem",
        kernels=GATED_KERNELS,
        symbolic=lambda sp, x, N=1, eps=1e-4: sp.Piecewise(
            (x ** (2 * N + 1) / (eps + x ** (2 * N)), x > 0), (0, True)
        ),
        forward=e_gem,
        derivative=e_gem_derivative,
        params=(_ORDER, _EPS),
        aliases=("egem",),
        formula=(
            r"\begin{cases} \dfrac{x^{2N+1}}{\varepsilon + x^{2N}} & x > 0 \\ 0 & x \le 0 "
            r"\end{cases}"
        ),
        citation=CITATION,
        family="gem",
        summary="ε-GEM: GEM with gate x^{2N}/(ε+x^{2N}); approximates ReLU in L^p as ε → 0.",
        gate=e_gem_gate,
        naive=lambda x, N=1, eps=1e-4: _rational_naive(torch.relu(x), N, eps),
    )
)
register(
    Spec(
        name="se_gem",
        kernels=GATED_KERNELS,
        symbolic=_se_gem_symbolic,
        forward=se_gem,
        derivative=se_gem_derivative,
        params=(_ORDER, _EPS, non_negative("alpha", 0.01, "slope factor for x < 0")),
        aliases=("segem",),
        formula=(
            r"\begin{cases} \dfrac{x^{2N+1}}{\varepsilon + x^{2N}} & x \ge 0 \\ "
            r"\alpha\,\dfrac{x^{2N+1}}{\varepsilon + x^{2N}} & x < 0 \end{cases}"
        ),
        citation=CITATION,
        family="gem",
        summary="Symmetric E-GEM: E-GEM with an α-scaled negative branch; no dead neurons.",
        gate=se_gem_gate,
        naive=_se_gem_naive,
    )
)
