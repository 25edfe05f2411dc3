"""Every catalog entry's sympy form against its float64 torch implementation, and user CDFs."""

import math
import random

import mpmath as mp
import pytest
import torch

sp = pytest.importorskip("sympy")

import gatelab  # noqa: E402
from gatelab.analysis import analyze  # noqa: E402
from gatelab.analysis.numeric import compile_mp  # noqa: E402
from gatelab.analysis.symbolic import expression  # noqa: E402
from gatelab.registry import resolve  # noqa: E402

SPECS = sorted(gatelab.names()) + [
    "gem(N=3)", "e_gem(N=2, eps=1e-06)", "se_gem(N=2, eps=10.0, alpha=0.5)", "silu(beta=1.5)",
    "gelu_general(mu=0.5, sigma=2.0)", "elu(alpha=0.3)", "softplus(beta=2.0)",
]  # fmt: skip


@pytest.mark.parametrize("spec", SPECS)
def test_sympy_form_matches_torch_float64(spec):
    entry, params = resolve(spec)
    f = compile_mp(expression(entry, params))
    rng = random.Random(spec)
    xs = [rng.gauss(0, 4) for _ in range(200)] + [-30.0, -7.5, 0.0, 2.5, 40.0]
    got = gatelab.get_fn(spec)(torch.tensor(xs, dtype=torch.float64)).tolist()
    for x, y in zip(xs, got):
        with mp.workdps(30):
            exact = float(f(x))
        assert y == pytest.approx(exact, rel=1e-14, abs=1e-300), (spec, x)


@pytest.fixture
def user_entries():
    names = []
    yield names
    for name in names:
        gatelab.unregister(name)


def test_user_activation_with_and_without_a_sympy_cdf(user_entries):
    x = sp.Symbol("x")
    gatelab.gated(torch.sigmoid, name="logit_sym", sympy_cdf=1 / (1 + sp.exp(-x)))
    gatelab.gated(lambda t: 0.5 + torch.atan(t) / math.pi, name="cauchy_numeric")
    user_entries += ["logit_sym", "cauchy_numeric"]
    symbolic = analyze("logit_sym")
    silu = analyze("silu")
    assert symbolic["symbolic"] and symbolic["smoothness"] == "inf"
    assert symbolic["min_value"] == pytest.approx(silu["min_value"], rel=1e-14)
    numeric = analyze("cauchy_numeric")
    assert numeric["symbolic"] is False and numeric["precision"].startswith("float64")
    for key in ("derivative_latex", "smoothness", "asymptote_pos_inf"):
        assert numeric[key] is None  # unavailable, not guessed
    # x(1/2 + atan(x)/π) → −1/π as x → −∞ (atan x = −π/2 + 1/|x| + …): a numeric estimate.
    assert numeric["limit_neg_inf"] == pytest.approx(-1 / math.pi, rel=1e-6)
    assert numeric["gate_is_cdf"] is True
