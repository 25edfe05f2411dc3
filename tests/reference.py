"""Independent high-precision references for every catalog entry, written with mpmath from the
papers' formulas — never from gatelab's code. Used by the accuracy tests and the ulp report.

Where a formula cancels catastrophically at finite precision (1 + tanh u for u ≪ 0), the
reference uses an exact algebraic identity (1 + tanh u = 2/(1 + e^{−2u})) and 60 digits.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

mp.mp.dps = 60

SELU_SCALE = mp.mpf("1.0507009873554804934193349852946")
SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")


def _phi(z):
    if abs(z) > 1e6:  # mpmath's erfc overflows near 1e308; Φ is 0 or 1 to 1e-(10^11) here
        return mp.mpf(0) if z < 0 else mp.mpf(1)
    return mp.erfc(-z / mp.sqrt(2)) / 2


def _sigmoid(t):
    return 1 / (1 + mp.exp(-t))


def _gem_like(x, N, eps):
    return x ** (2 * N + 1) / (eps + x ** (2 * N))


def gelu(x):
    return x * _phi(x)


def gelu_tanh(x):
    u = mp.sqrt(2 / mp.pi) * (x + mp.mpf("0.044715") * x**3)
    return x / (1 + mp.exp(-2 * u))  # = 0.5x(1 + tanh u), exactly


def gelu_sigmoid(x):
    return x * _sigmoid(mp.mpf("1.702") * x)


def gelu_general(x, mu=0.0, sigma=1.0, learnable=False):
    return x * _phi((x - mp.mpf(mu)) / mp.mpf(sigma))


def silu(x, beta=1.0):
    return x * _sigmoid(mp.mpf(beta) * x)


def gem(x, N=1):
    return _gem_like(x, N, 1) if x > 0 else mp.mpf(0)


def e_gem(x, N=1, eps=1e-4):
    return _gem_like(x, N, mp.mpf(eps)) if x > 0 else mp.mpf(0)


def se_gem(x, N=1, eps=1e-4, alpha=0.01):
    value = _gem_like(x, N, mp.mpf(eps)) if x != 0 else mp.mpf(0)
    return value if x >= 0 else mp.mpf(alpha) * value


def relu(x):
    return max(x, mp.mpf(0))


def leaky_relu(x, negative_slope=0.01):
    return x if x >= 0 else mp.mpf(negative_slope) * x


def prelu(x, num_parameters=1, init=0.25):
    return x if x >= 0 else mp.mpf(init) * x


def elu(x, alpha=1.0):
    return x if x > 0 else mp.mpf(alpha) * mp.expm1(x)


def selu(x):
    return SELU_SCALE * (x if x > 0 else SELU_ALPHA * mp.expm1(x))


def celu(x, alpha=1.0):
    return x if x > 0 else mp.mpf(alpha) * mp.expm1(x / mp.mpf(alpha))


def softplus(x, beta=1.0):
    b = mp.mpf(beta)
    return mp.log1p(mp.exp(b * x)) / b


def mish(x):
    return x * mp.tanh(mp.log1p(mp.exp(x)))


def hardswish(x):
    return x * min(max(x + 3, mp.mpf(0)), mp.mpf(6)) / 6


def relu_squared(x):
    return max(x, mp.mpf(0)) ** 2


def tanh(x):
    return mp.tanh(x)


def sigmoid(x):
    return _sigmoid(x)


REFERENCES = {
    name: globals()[name]
    for name in [
        "gelu", "gelu_tanh", "gelu_sigmoid", "gelu_general", "silu", "gem", "e_gem", "se_gem",
        "relu", "leaky_relu", "prelu", "elu", "selu", "celu", "softplus", "mish", "hardswish",
        "relu_squared", "tanh", "sigmoid",
    ]
}  # fmt: skip

# Limits at −∞ and +∞ (for the default parameters), derived by hand.
LIMITS = {
    "gelu": (0.0, math.inf), "gelu_tanh": (0.0, math.inf), "gelu_sigmoid": (0.0, math.inf),
    "gelu_general": (0.0, math.inf), "silu": (0.0, math.inf), "gem": (0.0, math.inf),
    "e_gem": (0.0, math.inf), "se_gem": (-math.inf, math.inf), "relu": (0.0, math.inf),
    "leaky_relu": (-math.inf, math.inf), "prelu": (-math.inf, math.inf), "elu": (-1.0, math.inf),
    "selu": (-float(SELU_SCALE * SELU_ALPHA), math.inf), "celu": (-1.0, math.inf),
    "softplus": (0.0, math.inf), "mish": (0.0, math.inf), "hardswish": (0.0, math.inf),
    "relu_squared": (0.0, math.inf), "tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0),
}  # fmt: skip

# Parameter settings checked besides the defaults.
VARIANTS = {
    "gem": [{"N": 2}, {"N": 3}],
    "e_gem": [{"N": 2, "eps": 1e-6}, {"N": 1, "eps": 10.0}],
    "se_gem": [{"N": 2, "eps": 1e-4, "alpha": 0.1}, {"alpha": 0.0}],
    "silu": [{"beta": 1.5}],
    "softplus": [{"beta": 2.5}],
    "gelu_general": [{"mu": 0.3, "sigma": 0.7}],
    "elu": [{"alpha": 0.5}],
    "celu": [{"alpha": 2.0}],
    "leaky_relu": [{"negative_slope": 0.2}],
}


def grid(dtype: np.dtype) -> np.ndarray:
    """A dense grid of [−1e4, 1e4] (uniform and log-spaced, both signs) plus the extremes."""
    info = np.finfo(dtype)
    magnitudes = np.concatenate(
        [
            np.linspace(0.0, 10.0, 801),
            np.linspace(10.0, 1e4, 400),
            np.logspace(math.log10(float(info.smallest_subnormal)), 4, 700),
        ]
    )
    extremes = [info.max, info.max / 2, info.tiny, info.smallest_subnormal, 1e6, 1e15, 1e30]
    values = np.concatenate([magnitudes, extremes])
    values = values[values <= float(info.max)].astype(dtype)
    return np.unique(np.concatenate([values, -values]))


def reference(name: str, xs: np.ndarray, params: dict) -> list:
    f = REFERENCES[name]
    return [f(mp.mpf(float(x)), **params) for x in xs]


def ulp_errors(got: np.ndarray, ref: list, dtype: np.dtype, abs_floor: float) -> np.ndarray:
    """|got − ref| in units of the dtype's spacing at ref; 0 where within `abs_floor` absolute.

    Where ref exceeds the dtype's range, correct rounding is ±inf: then 0 if got is that inf.
    """
    info = np.finfo(dtype)
    out = np.empty(len(ref))
    for i, (g, r) in enumerate(zip(got.astype(np.float64), ref)):
        if abs(r) > mp.mpf(float(info.max)) * (1 + mp.mpf(2) ** -(info.nmant + 1)):
            out[i] = 0.0 if (math.isinf(g) and (g > 0) == (r > 0)) else math.inf
            continue
        if not math.isfinite(g):
            out[i] = math.inf
            continue
        diff = abs(mp.mpf(g) - r)
        if diff <= abs_floor:
            out[i] = 0.0
            continue
        spacing = float(np.spacing(np.abs(dtype.type(float(r)))))
        spacing = max(spacing, float(info.smallest_subnormal))
        out[i] = float(diff / mp.mpf(spacing))
    return out
