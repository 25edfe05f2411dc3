"""gatelab.init_gain: closed forms and the independent 30-digit quadrature of the analysis."""

import math

import mpmath as mp
import pytest

import gatelab


def test_closed_forms():
    assert gatelab.init_gain("relu") == pytest.approx(math.sqrt(2), rel=1e-13)  # E[relu²] = 1/2
    assert gatelab.init_gain("relu_squared") == pytest.approx(1 / math.sqrt(1.5), rel=1e-13)
    assert gatelab.init_gain("selu") == pytest.approx(1.0, rel=1e-9)  # self-normalising
    assert gatelab.normal_moment("relu", 2, s=3.0) == pytest.approx(4.5, rel=1e-13)


@pytest.mark.parametrize("spec", ["gelu", "gelu_tanh", "silu", "gem", "mish", "hardswish"])
def test_agrees_with_mpmath_quadrature(spec):
    f = gatelab.lookup(spec.split("(")[0]).symbolic
    pytest.importorskip("sympy")
    from gatelab.analysis.numeric import compile_mp
    from gatelab.analysis.symbolic import expression
    from gatelab.registry import resolve

    entry, params = resolve(spec)
    g = compile_mp(expression(entry, params))
    mp.mp.dps = 25
    exact = mp.quad(lambda z: g(z) ** 2 * mp.npdf(z), [-mp.inf, -3, 0, 3, mp.inf])
    assert f is not None
    assert gatelab.init_gain(spec) == pytest.approx(float(1 / mp.sqrt(exact)), rel=1e-12)


def test_bad_scale():
    with pytest.raises(ValueError, match="s must be > 0"):
        gatelab.init_gain("gelu", s=0)
