"""Baselines the gated activations are compared against: ReLU and its relatives, smooth ramps,
and the classic saturating functions. Each formula is written so that no finite input produces
NaN and ±inf give the limits; derivatives are closed forms without cancellation in the tails.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._precise import decay, extended, sigmoid, sigmoid_dd, sigmoid_times_complement, two_prod
from ..modules import Activation, check_fits
from ..registry import COMPILED_ONLY, Spec, positive, positive_int, real, register

NAIR_HINTON = "Nair & Hinton, 'Rectified Linear Units Improve RBMs', ICML 2010"
ELU_PAPER = "Clevert, Unterthiner & Hochreiter, 'Fast and Accurate Deep Network Learning by ELUs', arXiv:1511.07289 (2015)"  # noqa: E501

# SELU's fixed point constants, Klambauer et al. (2017), eq. 14 (to 32 digits).
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


# --- ReLU family ------------------------------------------------------------------------------


def relu(x: Tensor) -> Tensor:
    return torch.relu(x)


def relu_derivative(x: Tensor) -> Tensor:
    return torch.where(x > 0, 1.0, 0.0).to(x.dtype)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return torch.where(x >= 0, x, x * negative_slope)


def leaky_relu_derivative(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    slope = torch.as_tensor(negative_slope, dtype=x.dtype, device=x.device)
    return torch.where(x > 0, torch.ones_like(x), slope)


def prelu(x: Tensor, num_parameters: int = 1, init=0.25) -> Tensor:
    """PReLU's formula: leaky ReLU with slope `init` (a tensor when learned)."""
    return torch.where(x >= 0, x, x * init)


def prelu_derivative(x: Tensor, num_parameters: int = 1, init=0.25) -> Tensor:
    slope = torch.as_tensor(init, dtype=x.dtype, device=x.device)
    return torch.where(x > 0, torch.ones_like(x), slope)


def prelu_param_derivatives(x: Tensor, num_parameters: int = 1, init=0.25):
    return {"init": torch.clamp(x, max=0.0)}


#: prelu's largest num_parameters: 2^20 channels (4 MiB of slopes in float32), far above any
#: real network's widest layer (GPT-3's MLP: 49,152), yet it keeps a typo such as 2^31 − 1
#: from allocating 8.9 GB for 35 s before failing.
MAX_CHANNELS = 1 << 20


class PReLU(Activation):
    """max(0, x) + a·min(0, x) with a learnable slope a, shared or one per channel (dim 1)."""

    def __init__(self, spec="prelu", **params) -> None:
        super().__init__(spec, **params)
        n = self.params["num_parameters"]
        init = check_fits(self.params["init"], name="init")
        self.weight = torch.nn.Parameter(torch.full((n,), float(init)))

    def tensor_params(self, x: Tensor) -> dict[str, Tensor]:
        n = self.params["num_parameters"]
        if n == 1:
            return {"init": self.weight}
        if x.dim() < 2 or x.shape[1] != n:
            raise ValueError(
                f"prelu(num_parameters={n}) expects inputs of shape (batch, {n}, ...), "
                f"got {tuple(x.shape)}"
            )
        return {"init": self.weight.view([n] + [1] * (x.dim() - 2))}

    def current_params(self) -> dict:
        if self.params["num_parameters"] > 1:
            return dict(self.params)
        return {**self.params, "init": float(self.weight.detach()[0])}


def relu_squared(x: Tensor) -> Tensor:
    r = torch.relu(x)
    return r * r


def relu_squared_derivative(x: Tensor) -> Tensor:
    return 2.0 * torch.relu(x)


# --- exponential linear units -----------------------------------------------------------------


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0.0)))


def elu_derivative(x: Tensor, alpha: float = 1.0) -> Tensor:
    return torch.where(x > 0, 1.0, alpha * torch.exp(x.clamp(max=0.0)))


def selu(x: Tensor) -> Tensor:
    return SELU_SCALE * elu(x, SELU_ALPHA)


def selu_derivative(x: Tensor) -> Tensor:
    return SELU_SCALE * elu_derivative(x, SELU_ALPHA)


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0.0) / alpha))


def celu_derivative(x: Tensor, alpha: float = 1.0) -> Tensor:
    return torch.where(x > 0, 1.0, torch.exp(x.clamp(max=0.0) / alpha))


# --- smooth ramps -----------------------------------------------------------------------------


def softplus(x: Tensor, beta: float = 1.0) -> Tensor:
    """log(1 + e^{βx})/β = max(x, 0) + log1p(e^{−|βx|})/β, with βx a double-double in float64."""
    if extended(x) and beta != 1.0:
        hi, lo = two_prod(x.clamp(-800.0 / beta, 800.0 / beta), beta)
        e = decay(hi, hi >= 0) * (1.0 - torch.sign(hi) * lo)
    else:
        e = decay(beta * x, x >= 0)
    return torch.relu(x) + torch.log1p(e) / beta


def softplus_derivative(x: Tensor, beta: float = 1.0) -> Tensor:
    return sigmoid(beta * x)


def mish(x: Tensor) -> Tensor:
    """x·tanh(softplus(x)); with e = exp(−|x|) the gate is n/(n+2), n = e(e+2), for x ≤ 0 and
    (1+2e)/(1+2e+2e²) for x > 0 — both free of overflow and cancellation."""
    return x.clamp(min=-800.0) * _mish_gate(x)  # the gate underflows to 0 below −745


def _mish_gate(x: Tensor) -> Tensor:
    e = decay(x, x > 0)
    n = e * (e + 2.0)
    return torch.where(x > 0, (1.0 + 2.0 * e) / (1.0 + 2.0 * e + 2.0 * e * e), n / (n + 2.0))


def mish_derivative(x: Tensor) -> Tensor:
    # f′ = T + x·(1 − T²)·σ(x), T = tanh(softplus x); 1 − T² without cancellation:
    # 4(n+1)/(n+2)² for x ≤ 0, 4e²(1+e)²/(1+2e+2e²)² for x > 0.
    e = decay(x, x > 0)
    n = e * (e + 2.0)
    d = 1.0 + 2.0 * e + 2.0 * e * e
    sech2 = torch.where(
        x > 0, 4.0 * (e * (1.0 + e)) ** 2 / (d * d), 4.0 * (n + 1.0) / (n + 2.0) ** 2
    )
    xc = x.clamp(-800.0, 800.0)  # sech² underflows to 0 beyond; keeps inf·0 out
    return _mish_gate(x) + xc * sech2 * sigmoid(xc)


def hardswish(x: Tensor) -> Tensor:
    return x.clamp(min=-3.0) * ((x + 3.0).clamp(0.0, 6.0) / 6.0)


def hardswish_derivative(x: Tensor) -> Tensor:
    inner = torch.where(x > 3.0, 1.0, (2.0 * x + 3.0) / 6.0)
    return torch.where(x < -3.0, 0.0, inner)


def hardswish_gate(x: Tensor) -> Tensor:
    return ((x + 3.0) / 6.0).clamp(0.0, 1.0)


# --- saturating -------------------------------------------------------------------------------


def tanh_derivative(x: Tensor) -> Tensor:
    return 4.0 * sigmoid_times_complement(2.0 * x)


def sigmoid_derivative(x: Tensor) -> Tensor:
    return sigmoid_times_complement(x)


def _sigmoid_forward(x: Tensor) -> Tensor:
    return sigmoid_dd(x, None)


# --- registration -----------------------------------------------------------------------------

_BASELINES = [
    Spec(
        name="relu",
        kernels=frozenset({"triton"}),  # for ReGLU (kernels/triton_fused.py)
        symbolic=lambda sp, x: sp.Piecewise((x, x > 0), (0, True)),
        forward=relu,
        derivative=relu_derivative,
        formula=r"\max(0, x)",
        citation=NAIR_HINTON,
        summary="Rectified Linear Unit.",
        gate=lambda x: torch.where(x > 0, 1.0, 0.0).to(x.dtype),
        naive=torch.relu,
        native=F.relu,
        upcast_float32=False,  # exact in every dtype
    ),
    Spec(
        name="leaky_relu",
        symbolic=lambda sp, x, negative_slope=0.01: sp.Piecewise(
            (x, x >= 0), (negative_slope * x, True)
        ),
        forward=leaky_relu,
        derivative=leaky_relu_derivative,
        params=(real("negative_slope", 0.01, "slope for x < 0"),),
        aliases=("lrelu",),
        formula=r"\begin{cases} x & x \ge 0 \\ a\,x & x < 0 \end{cases}",
        citation="Maas, Hannun & Ng, 'Rectifier Nonlinearities Improve Neural Network "
        "Acoustic Models', ICML 2013 workshop",
        summary="Leaky ReLU: slope a = negative_slope for x < 0.",
        naive=leaky_relu,
        native=lambda x, negative_slope=0.01: F.leaky_relu(x, negative_slope),
        upcast_float32=False,  # ≤ 1 ulp in every dtype (the slope is rounded to the dtype)
    ),
    Spec(
        name="prelu",
        symbolic=lambda sp, x, num_parameters=1, init=0.25: sp.Piecewise(
            (x, x >= 0), (init * x, True)
        ),
        forward=prelu,
        derivative=prelu_derivative,
        params=(
            positive_int(
                "num_parameters",
                1,
                "1 (shared) or the number of channels (dim 1)",
                maximum=MAX_CHANNELS,
            ),
            real("init", 0.25, "initial slope a for x < 0"),
        ),
        formula=r"\max(0, x) + a \min(0, x), \; a \text{ learnable}",
        citation="He, Zhang, Ren & Sun, 'Delving Deep into Rectifiers', arXiv:1502.01852 (2015)",
        summary="Parametric ReLU: leaky ReLU whose slope a is learned.",
        naive=prelu,
        param_derivatives=prelu_param_derivatives,
        module_class=PReLU,
        upcast_float32=False,
    ),
    Spec(
        name="elu",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x, alpha=1: sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True)),
        forward=elu,
        derivative=elu_derivative,
        params=(positive("alpha", 1.0, "saturation value −α for x → −∞"),),
        formula=r"\begin{cases} x & x > 0 \\ \alpha\,(e^x - 1) & x \le 0 \end{cases}",
        citation=ELU_PAPER,
        summary="Exponential Linear Unit.",
        naive=lambda x, alpha=1.0: torch.where(x > 0, x, alpha * (torch.exp(x) - 1.0)),
        native=lambda x, alpha=1.0: F.elu(x, alpha),
    ),
    Spec(
        name="selu",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x: (
            sp.Rational(repr(SELU_SCALE))
            * sp.Piecewise((x, x > 0), (sp.Rational(repr(SELU_ALPHA)) * (sp.exp(x) - 1), True))
        ),
        forward=selu,
        derivative=selu_derivative,
        formula=r"\lambda \begin{cases} x & x > 0 \\ \alpha\,(e^x - 1) & x \le 0 "
        r"\end{cases},\ \lambda \approx 1.0507,\ \alpha \approx 1.6733",
        citation="Klambauer, Unterthiner, Mayr & Hochreiter, 'Self-Normalizing Neural "
        "Networks', arXiv:1706.02515 (2017)",
        summary="Scaled ELU with the self-normalising constants λ, α.",
        naive=lambda x: SELU_SCALE * torch.where(x > 0, x, SELU_ALPHA * (torch.exp(x) - 1.0)),
        native=F.selu,
    ),
    Spec(
        name="celu",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x, alpha=1: sp.Piecewise(
            (x, x > 0), (alpha * (sp.exp(x / alpha) - 1), True)
        ),
        forward=celu,
        derivative=celu_derivative,
        params=(positive("alpha", 1.0, "saturation value −α; C¹ for every α"),),
        formula=r"\max(0, x) + \min\!\left(0, \alpha\,(e^{x/\alpha} - 1)\right)",
        citation="Barron, 'Continuously Differentiable Exponential Linear Units', "
        "arXiv:1704.07483 (2017)",
        summary="Continuously differentiable ELU.",
        naive=lambda x, alpha=1.0: (
            torch.relu(x) + torch.clamp(alpha * (torch.exp(x / alpha) - 1.0), max=0.0)
        ),
        native=lambda x, alpha=1.0: F.celu(x, alpha),
    ),
    Spec(
        name="softplus",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x, beta=1: sp.log(1 + sp.exp(beta * x)) / beta,
        forward=softplus,
        derivative=softplus_derivative,
        params=(positive("beta", 1.0, "sharpness β"),),
        formula=r"\tfrac{1}{\beta} \log\left(1 + e^{\beta x}\right)",
        citation="Dugas, Bengio, Bélisle, Nadeau & Garcia, 'Incorporating Second-Order "
        "Functional Knowledge for Better Option Pricing', NeurIPS 2000",
        summary="Softplus, the smooth ReLU (no linear threshold, unlike torch's).",
        naive=lambda x, beta=1.0: torch.log(1.0 + torch.exp(beta * x)) / beta,
    ),
    Spec(
        name="mish",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x: x * sp.tanh(sp.log(1 + sp.exp(x))),
        forward=mish,
        derivative=mish_derivative,
        formula=r"x \tanh\left(\log(1 + e^x)\right)",
        citation="Misra, 'Mish: A Self Regularized Non-Monotonic Activation Function', "
        "arXiv:1908.08681 (2019)",
        summary="Mish: x·tanh(softplus(x)); gated by a CDF.",
        gate=_mish_gate,
        naive=lambda x: x * torch.tanh(torch.log(1.0 + torch.exp(x))),
        native=F.mish,
    ),
    Spec(
        name="hardswish",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x: sp.Piecewise((0, x <= -3), (x * (x + 3) / 6, x <= 3), (x, True)),
        forward=hardswish,
        derivative=hardswish_derivative,
        aliases=("hard_swish",),
        formula=r"x \, \frac{\min(\max(x + 3, 0), 6)}{6}",
        citation="Howard et al., 'Searching for MobileNetV3', arXiv:1905.02244 (2019)",
        summary="Hard Swish: x gated by the CDF of Uniform[−3, 3].",
        gate=hardswish_gate,
        naive=lambda x: x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0,
        native=F.hardswish,
    ),
    Spec(
        name="relu_squared",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x: sp.Piecewise((x**2, x > 0), (0, True)),
        forward=relu_squared,
        derivative=relu_squared_derivative,
        aliases=("relu2", "squared_relu"),
        formula=r"\max(0, x)^2",
        citation="So et al., 'Primer: Searching for Efficient Transformers for Language "
        "Modeling', arXiv:2109.08668 (2021); used by the modded-nanogpt GPT-2 speedrun",
        summary="Squared ReLU (replaced GELU in recent GPT-2 speed records).",
        naive=lambda x: torch.relu(x) ** 2,
        upcast_float32=False,  # one rounding
    ),
    Spec(
        name="tanh",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x: sp.tanh(x),
        forward=torch.tanh,
        derivative=tanh_derivative,
        formula=r"\tanh(x)",
        citation="LeCun, Bottou, Orr & Müller, 'Efficient BackProp', 1998",
        summary="Hyperbolic tangent.",
        naive=torch.tanh,
        native=torch.tanh,
    ),
    Spec(
        name="sigmoid",
        kernels=COMPILED_ONLY,
        symbolic=lambda sp, x: 1 / (1 + sp.exp(-x)),
        forward=_sigmoid_forward,
        derivative=sigmoid_derivative,
        aliases=("logistic",),
        formula=r"\sigma(x) = \frac{1}{1 + e^{-x}}",
        citation="LeCun, Bottou, Orr & Müller, 'Efficient BackProp', 1998",
        summary="Logistic sigmoid.",
        naive=lambda x: 1.0 / (1.0 + torch.exp(-x)),
        native=torch.sigmoid,
    ),
]

for _spec in _BASELINES:
    register(_spec)
