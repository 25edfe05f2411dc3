"""The GELU family: exact GELU, its tanh and sigmoid approximations, Gaussian GELU, SiLU.

Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)", arXiv:1606.08415 (2016; v4 2020):
GELU(x) = x·Φ(x); approximations 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) and x·σ(1.702x);
Φ may be the CDF of N(μ, σ²) with μ, σ learnable (§2). SiLU x·σ(βx): ibid. §5,
Elfwing et al. arXiv:1702.03118 (2017), Ramachandran et al. arXiv:1710.05941 (2017, "Swish").

Every gate is a CDF F(t) of a scaled argument t = kx. For x → −∞ the result is exponentially
small and its relative error is |t·F′/F| times the argument's rounding error, so in float64
t is carried as a double-double (gatelab._precise). 0.5(1 + tanh u) is evaluated as σ(2u),
which has no cancellation for u < 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .._precise import (
    extended,
    mul_dd,
    ndtr,
    normal_pdf,
    sigmoid,
    sigmoid_dd,
    sigmoid_times_complement,
    split_constant,
    two_prod,
    two_sum,
)
from ..modules import Activation, check_fits, scalar_parameter
from ..registry import COMPILED_ONLY, GATED_KERNELS, Param, Spec, positive, real, register

HENDRYCKS = "Hendrycks & Gimpel, 'Gaussian Error Linear Units (GELUs)', arXiv:1606.08415 (2016)"
SILU_CITATIONS = (
    f"{HENDRYCKS}; Elfwing, Uchibe & Doya, arXiv:1702.03118 (2017); "
    "Ramachandran, Zoph & Le, 'Searching for Activation Functions', arXiv:1710.05941 (2017)"
)

# Beyond these |x| the gate is exactly 0 or 1 in float64, so clamping the gate's argument there
# changes no result and keeps double-double products far from overflow.
_GAUSS_CUT = 40.0  # Φ(−40) ≈ 4e-350
_TANH_CUT = 30.0  # 2u(−30) ≈ −1974
_LOGISTIC_CUT = 800.0  # σ(−800) ≈ 4e-348


# --- gelu: x·Φ(x) ---------------------------------------------------------------------------


def gelu(x: Tensor) -> Tensor:
    return x.clamp(min=-_GAUSS_CUT) * ndtr(x)


def gelu_derivative(x: Tensor) -> Tensor:
    xc = x.clamp(-_GAUSS_CUT, _GAUSS_CUT)
    return ndtr(x) + xc * normal_pdf(xc)


def _gelu_naive(x: Tensor) -> Tensor:
    return 0.5 * x * (1.0 + torch.erf(x * (1.0 / math.sqrt(2.0))))


# --- gelu_tanh: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(2u) -----------------------------

_TWO_SQRT_2_OVER_PI = split_constant("1.59576912160573071175978423973752747")
_CUBIC = split_constant("0.044715")


def _tanh_argument(x: Tensor) -> tuple[Tensor, Tensor | None]:
    """t = 2√(2/π)·x·(1 + 0.044715x²) as (hi, lo); lo only in float64."""
    xc = x.clamp(-_TANH_CUT, _TANH_CUT)
    c, k = _TWO_SQRT_2_OVER_PI, _CUBIC
    if not extended(x):
        return c[0] * xc * (1.0 + k[0] * xc * xc), None
    sq, sq_lo = two_prod(xc, xc)
    b, b_lo = two_prod(sq, k[0])
    b_lo = b_lo + sq_lo * k[0] + sq * k[1]
    s, s_lo = two_sum(1.0, b)
    s_lo = s_lo + b_lo
    p, p_lo = two_prod(xc, s)
    p_lo = p_lo + xc * s_lo
    t, t_lo = two_prod(p, c[0])
    return t, t_lo + p_lo * c[0] + p * c[1]


def gelu_tanh(x: Tensor) -> Tensor:
    return x.clamp(min=-_TANH_CUT) * sigmoid_dd(*_tanh_argument(x))


def gelu_tanh_derivative(x: Tensor) -> Tensor:
    xc = x.clamp(-_TANH_CUT, _TANH_CUT)
    t, _ = _tanh_argument(xc)
    slope = _TWO_SQRT_2_OVER_PI[0] * (1.0 + 3.0 * _CUBIC[0] * xc * xc)
    return sigmoid(t) + xc * sigmoid_times_complement(t) * slope


def gelu_tanh_gate(x: Tensor) -> Tensor:
    return sigmoid(_tanh_argument(x)[0])


def _gelu_tanh_naive(x: Tensor) -> Tensor:
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1.0 + torch.tanh(inner))


# --- logistic gates: gelu_sigmoid x·σ(1.702x) and silu x·σ(βx) --------------------------------


def _logistic_gated(x: Tensor, k: tuple[float, float]) -> Tensor:
    """x·σ(k·x), the argument as a double-double in float64."""
    cut = _LOGISTIC_CUT / k[0]
    xc = x.clamp(-cut, cut)
    floored = x.clamp(min=-cut)  # the gate is exactly 0 below −cut: keeps −inf·0 out
    if extended(x) and k != (1.0, 0.0):
        return floored * sigmoid_dd(*mul_dd(xc, k))
    return floored * sigmoid(xc * k[0])


def _logistic_gated_derivative(x: Tensor, k: float) -> Tensor:
    xc = x.clamp(-_LOGISTIC_CUT / k, _LOGISTIC_CUT / k)
    t = k * xc
    return sigmoid(t) + t * sigmoid_times_complement(t)


_QUICK = split_constant("1.702")


def gelu_sigmoid(x: Tensor) -> Tensor:
    return _logistic_gated(x, _QUICK)


def gelu_sigmoid_derivative(x: Tensor) -> Tensor:
    return _logistic_gated_derivative(x, _QUICK[0])


def silu(x: Tensor, beta: float = 1.0) -> Tensor:
    return _logistic_gated(x, (beta, 0.0))


def silu_derivative(x: Tensor, beta: float = 1.0) -> Tensor:
    return _logistic_gated_derivative(x, beta)


# --- gelu_general: x·Φ((x − μ)/σ) -------------------------------------------------------------


def _standardise(x: Tensor, mu, sigma) -> tuple[Tensor, Tensor | None]:
    """z = (x − μ)/σ as (hi, lo); lo only in float64 and only where Φ is not saturated."""
    z = (x - mu) / sigma
    if not extended(x):
        return z, None
    d, d_lo = two_sum(x, -mu)
    zc = z.clamp(-_GAUSS_CUT, _GAUSS_CUT)
    # Dekker's split in two_prod multiplies by 2²⁷ + 1 and overflows (inf − inf = NaN) for
    # σ ≳ 1e300: the residual is taken on d and σ scaled by the same power of two, which is exact
    # (σ ≤ 1 is left alone, so d never overflows; d may underflow only where |z| < 2⁻⁹⁰⁰).
    scale = _power_of_two_at_most_one(sigma)
    d, d_lo, sigma = d * scale, d_lo * scale, sigma * scale
    p, p_lo = two_prod(zc, sigma)
    z_lo = (((d - p) - p_lo) + d_lo) / sigma
    return zc, torch.where(z.abs() < _GAUSS_CUT, z_lo, torch.zeros_like(z_lo))


def _power_of_two_at_most_one(sigma):
    """2^−e with σ = m·2^e, m ∈ [0.5, 1), for σ > 1, else 1 (a float or a tensor like σ)."""
    if isinstance(sigma, Tensor):
        exponent = torch.frexp(sigma).exponent.clamp(min=0)
        return torch.ldexp(torch.ones_like(sigma), -exponent)
    return math.ldexp(1.0, -max(math.frexp(sigma)[1], 0))


def gelu_general(x: Tensor, mu=0.0, sigma=1.0, learnable: bool = False) -> Tensor:
    # Below μ − 40σ, Φ(z) = 0: flooring x there keeps −inf·0 out. The floor is kept finite in x's
    # dtype, since 40σ overflows for σ > 4.5e306 (float64) or σ > 8.5e36 (a float32 parameter).
    lowest = -torch.finfo(x.dtype).max
    lower = mu - _GAUSS_CUT * sigma
    if isinstance(lower, Tensor):
        floored = torch.maximum(x, lower.clamp(min=lowest).to(x.dtype))
    else:
        floored = x.clamp(min=max(lower, lowest))
    return floored * ndtr(*_standardise(x, mu, sigma))


def _general_terms(x: Tensor, mu, sigma) -> tuple[Tensor, Tensor, Tensor]:
    """(z, Φ(z), x·φ(z)/σ), x·φ(z) taken as 0 where Φ saturates (|z| ≥ 40: φ(40) underflows to 0
    in float64, so x·φ is 0 there for finite x, and this keeps ±inf·0 out)."""
    z = ((x - mu) / sigma).clamp(-_GAUSS_CUT, _GAUSS_CUT)
    x_eff = torch.where(z.abs() < _GAUSS_CUT, x, torch.zeros_like(x))
    return z, ndtr(z), x_eff * normal_pdf(z) / sigma


def gelu_general_derivative(x: Tensor, mu=0.0, sigma=1.0, learnable: bool = False) -> Tensor:
    _, cdf, scaled_pdf = _general_terms(x, mu, sigma)
    return cdf + scaled_pdf


def gelu_general_param_derivatives(x: Tensor, mu=0.0, sigma=1.0, learnable=False):
    z, _, scaled_pdf = _general_terms(x, mu, sigma)
    return {"mu": -scaled_pdf, "sigma": -scaled_pdf * z}


def gelu_general_gate(x: Tensor, mu=0.0, sigma=1.0, learnable: bool = False) -> Tensor:
    return ndtr((x - mu) / sigma)


class GaussianGELU(Activation):
    """x·Φ((x − μ)/σ); with learnable=True, μ and log σ are parameters (σ = exp(log σ) > 0)."""

    def __init__(self, spec="gelu_general", **params) -> None:
        super().__init__(spec, **params)
        if self.params["learnable"]:
            self.mu = scalar_parameter(self.params["mu"], name="mu")
            self.log_sigma = scalar_parameter(math.log(self.params["sigma"]), name="log σ")
            check_fits(self.params["sigma"], name="sigma")  # σ = exp(log σ) must fit too

    def tensor_params(self, x: Tensor) -> dict[str, Tensor]:
        if not self.params["learnable"]:
            return {}
        return {"mu": self.mu, "sigma": self.log_sigma.exp()}

    def current_params(self) -> dict:
        if not self.params["learnable"]:
            return dict(self.params)
        with torch.no_grad():
            mu, sigma = float(self.mu), float(self.log_sigma.exp())
        return {**self.params, "mu": mu, "sigma": sigma}


def _gelu_general_naive(x: Tensor, mu=0.0, sigma=1.0, learnable: bool = False) -> Tensor:
    return x * 0.5 * (1.0 + torch.erf((x - mu) / (sigma * math.sqrt(2.0))))


# --- registration -----------------------------------------------------------------------------

register(
    Spec(
        name="gelu",
        kernels=GATED_KERNELS,
        symbolic=lambda sp, x: x * sp.erfc(-x / sp.sqrt(2)) / 2,  # erfc: sympy mis-limits 1 + erf
        forward=gelu,
        derivative=gelu_derivative,
        aliases=("gelu_exact", "gelu_erf"),
        formula=r"x\,\Phi(x) = \tfrac{x}{2}\left(1 + \operatorname{erf}(x/\sqrt{2})\right)",
        citation=HENDRYCKS,
        family="gelu",
        summary="Gaussian Error Linear Unit, exact: x·Φ(x) with Φ the standard normal CDF.",
        gate=ndtr,
        naive=_gelu_naive,
        native=F.gelu,
    )
)
register(
    Spec(
        name="gelu_tanh",
        kernels=GATED_KERNELS,
        symbolic=lambda sp, x: (
            x * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Rational("0.044715") * x**3))) / 2
        ),
        forward=gelu_tanh,
        derivative=gelu_tanh_derivative,
        aliases=("gelu_new", "gelu_pytorch_tanh", "gelu_approx"),
        formula=(
            r"\tfrac{x}{2}\left(1 + \tanh\!\left(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\right)\right)"
        ),
        citation=HENDRYCKS,
        family="gelu",
        summary="GELU, tanh approximation (used by BERT and GPT-2).",
        gate=gelu_tanh_gate,
        naive=_gelu_tanh_naive,
        native=lambda x: F.gelu(x, approximate="tanh"),
    )
)
register(
    Spec(
        name="gelu_sigmoid",
        kernels=GATED_KERNELS,
        symbolic=lambda sp, x: x / (1 + sp.exp(-sp.Rational("1.702") * x)),
        forward=gelu_sigmoid,
        derivative=gelu_sigmoid_derivative,
        aliases=("quick_gelu",),
        formula=r"x\,\sigma(1.702\,x)",
        citation=HENDRYCKS,
        family="gelu",
        summary="GELU, sigmoid approximation ('quick GELU', used by CLIP).",
        gate=lambda x: sigmoid(1.702 * x),
        naive=lambda x: x * torch.sigmoid(1.702 * x),
    )
)
register(
    Spec(
        name="gelu_general",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x, mu=0, sigma=1, learnable=False: (
            x * sp.erfc(-(x - mu) / (sigma * sp.sqrt(2))) / 2
        ),
        forward=gelu_general,
        derivative=gelu_general_derivative,
        params=(
            real("mu", 0.0, "mean μ of the Gaussian gate"),
            positive("sigma", 1.0, "standard deviation σ of the Gaussian gate"),
            Param("learnable", False, bool, "True or False", None, "learn μ and σ"),
        ),
        aliases=("gaussian_gelu",),
        formula=r"x\,\Phi\!\left(\frac{x - \mu}{\sigma}\right)",
        citation=f"{HENDRYCKS}, §2 (μ, σ learnable; σ → 0, μ = 0 gives ReLU)",
        family="gelu",
        summary="GELU with the CDF of N(μ, σ²); μ and σ optionally learnable.",
        gate=gelu_general_gate,
        naive=_gelu_general_naive,
        param_derivatives=gelu_general_param_derivatives,
        module_class=GaussianGELU,
    )
)
register(
    Spec(
        name="silu",
        kernels=GATED_KERNELS,
        symbolic=lambda sp, x, beta=1: x / (1 + sp.exp(-beta * x)),
        forward=silu,
        derivative=silu_derivative,
        params=(positive("beta", 1.0, "slope β of the logistic gate"),),
        aliases=("swish",),
        formula=r"x\,\sigma(\beta x) = \frac{x}{1 + e^{-\beta x}}",
        citation=SILU_CITATIONS,
        family="gelu",
        summary="Sigmoid Linear Unit / Swish: x·σ(βx).",
        gate=lambda x, beta=1.0: sigmoid(beta * x),
        naive=lambda x, beta=1.0: x * torch.sigmoid(beta * x),
        native=lambda x, beta=1.0: F.silu(x) if beta == 1.0 else x * torch.sigmoid(beta * x),
    )
)
