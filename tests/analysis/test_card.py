"""Property cards checked against facts derived by hand (derivations in the comments) or
computed independently with mpmath from the papers' formulas — never from gatelab's code."""

import functools
import math

import mpmath as mp
import pytest

pytest.importorskip("sympy")

from gatelab.analysis import analyze  # noqa: E402

mp.mp.dps = 30


@functools.cache
def card(spec, reference=None):
    return analyze(spec, reference)


def _phi(x):
    return mp.npdf(x)


def _Phi(x):
    return mp.ncdf(x)


def test_gelu_card():
    c = card("gelu")
    # GELU′ = Φ + xφ = 0 at the minimum; GELU″ = (2 − x²)φ vanishes at ±√2, where GELU′ peaks.
    argmin = mp.findroot(lambda x: _Phi(x) + x * _phi(x), -0.75)
    assert c["argmin"] == pytest.approx(float(argmin), rel=1e-14)
    assert c["min_value"] == pytest.approx(float(argmin * _Phi(argmin)), rel=1e-14)
    assert c["lipschitz_argmax"] == pytest.approx(math.sqrt(2), rel=1e-14)
    root2 = mp.sqrt(2)
    assert c["lipschitz"] == pytest.approx(float(_Phi(root2) + root2 * _phi(root2)), rel=1e-14)
    # |GELU″| = |2 − x²|φ: critical points 0, ±2 (x(x² − 4)φ = 0); the largest is 2φ(0).
    assert c["sup_second_derivative"] == pytest.approx(float(2 * _phi(0)), rel=1e-14)
    # E[zΦ(z)] = E[φ(z)] = 1/(2√π) (Stein's lemma: E[z g(z)] = E[g′(z)]).
    assert c["normal_mean"] == pytest.approx(1 / (2 * math.sqrt(math.pi)), rel=1e-14)
    assert c["smoothness"] == "inf" and c["symbolic"] and c["gate_is_cdf"] is True
    assert c["limit_neg_inf"] == 0.0 and c["limit_pos_inf"] == "inf"
    assert c["asymptote_pos_inf"] == {"slope": 1.0, "intercept": 0.0}
    assert c["bounded_below"] and not c["bounded_above"] and not c["monotonic"]
    assert c["decreasing_intervals"] == [["-inf", pytest.approx(float(argmin), rel=1e-14)]]
    assert not c["convex"] and c["zeros"] == [0.0]
    # ‖GELU − relu‖₁ = 2∫₀^∞ xΦ(−x)dx = 2·E[max(Z,0)²]/2 = 1/2.
    assert c["lp_distance_to_relu"]["1"] == pytest.approx(0.5, rel=1e-12)
    assert "\\operatorname{erfc}" in c["derivative_latex"] or "erf" in c["derivative_latex"]


@pytest.mark.parametrize("N", [1, 2, 3])
def test_gem_lipschitz_closed_form(N):
    # gem′ = t(k + t)/(1 + t)², t = x^{2N}, k = 2N + 1; d/dt = 0 ⇔ k − t(k − 2) = 0 ⇒
    # t* = k/(k − 2), so L(N) = (2N + 1)²/(8N) at x* = ((2N + 1)/(2N − 1))^{1/2N}.
    c = card(f"gem(N={N})")
    assert c["lipschitz"] == pytest.approx((2 * N + 1) ** 2 / (8 * N), rel=1e-14)
    x_star = ((2 * N + 1) / (2 * N - 1)) ** (1 / (2 * N))
    assert c["lipschitz_argmax"] == pytest.approx(x_star, rel=1e-12)
    assert c["smoothness"] == 2 * N
    assert c["monotonic"] and c["min_value"] == 0.0 and c["argmin"] == ["-inf", 0.0]


def test_gem_distance_to_relu():
    # gem − relu = −x/(1 + x^{2N}) for x > 0: ~ −x^{1−2N}, so for N = 1 the L¹ norm diverges;
    # ∫₀^∞ x²/(1+x²)² = π/4; ∫₀^∞ x/(1+x⁴) = π/4; sup x/(1+x²) = 1/2 at x = 1.
    one, two = card("gem")["lp_distance_to_relu"], card("gem(N=2)")["lp_distance_to_relu"]
    assert one["1"] == "inf"
    assert one["2"] == pytest.approx(math.sqrt(math.pi / 4), rel=1e-10)
    assert one["inf"] == pytest.approx(0.5, rel=1e-14)
    assert two["1"] == pytest.approx(math.pi / 4, rel=1e-10)


def test_e_gem_eps_table():
    # N = 1: sup εx/(ε + x²) = √ε/2 at x = √ε; ∫₀^∞ ε²x²/(ε + x²)² = (π/4)ε^{3/2}.
    rows = card("e_gem")["lp_table_over_eps"]
    assert [r["eps"] for r in rows] == [1e-1, 1e-2, 1e-4, 1e-6]
    for row in rows:
        assert row["1"] == "inf"
        assert row["inf"] == pytest.approx(math.sqrt(row["eps"]) / 2, rel=1e-12)
        assert row["2"] == pytest.approx(math.sqrt(math.pi / 4 * row["eps"] ** 1.5), rel=1e-8)


@pytest.mark.parametrize(
    "spec, expected",
    [("relu", 0), ("elu", 1), ("elu(alpha=0.5)", 0), ("celu(alpha=2.0)", 1),
     ("hardswish", 0), ("relu_squared", 1), ("se_gem(N=2)", 4), ("leaky_relu", 0),
     ("silu", "inf"), ("tanh", "inf"), ("se_gem(alpha=1.0)", "inf")],
)  # fmt: skip
def test_smoothness_classes(spec, expected):
    # ELU: f′ = 1 vs αe^0 = α at 0 (equal iff α = 1), f″ = 0 vs α: C¹ exactly when α = 1.
    # CELU: f′ = 1 vs e^{0/α} = 1 always, f″ = 0 vs 1/α: C¹ for every α.
    # SE-GEM with α = 1 is the single rational x^{2N+1}/(ε + x^{2N}): analytic.
    assert card(spec)["smoothness"] == expected


def test_relu_moments_and_gain():
    # z ~ N(0,1): E[relu] = 1/√(2π), E[relu²] = 1/2, E[relu′²] = P(z > 0) = 1/2, gain √2.
    c = card("relu")
    assert c["normal_mean"] == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-14)
    assert c["normal_second_moment"] == pytest.approx(0.5, rel=1e-14)
    assert c["normal_derivative_second_moment"] == pytest.approx(0.5, rel=1e-14)
    assert c["init_gain"] == pytest.approx(math.sqrt(2), rel=1e-14)
    # at scale s: E[relu(z)²] = s²/2 (homogeneity)
    for row in c["normal_moments_by_scale"]:
        assert row["second_moment"] == pytest.approx(row["s"] ** 2 / 2, rel=1e-12)
    assert c["lipschitz"] == 1.0 and c["lipschitz_argmax"] == [0.0, "inf"]
    assert c["range_3s"] == [0.0, 3.0]


def test_saturating_and_negative_side_facts():
    elu = card("elu(alpha=0.5)")
    assert elu["limit_neg_inf"] == -0.5 and elu["min_value"] == -0.5 and elu["argmin"] == "-inf"
    assert elu["lp_distance_to_relu"] == {"1": "inf", "2": "inf", "inf": 0.5}
    leaky = card("leaky_relu")
    assert leaky["bounded_below"] is False and leaky["lp_distance_to_relu"]["inf"] == "inf"
    tanh = card("tanh")
    assert (tanh["limit_neg_inf"], tanh["limit_pos_inf"]) == (-1.0, 1.0)
    assert tanh["lipschitz"] == 1.0 and tanh["lipschitz_argmax"] == 0.0
    # softplus′ = σ < 1 everywhere, → 1 only as x → ∞: the supremum is not attained.
    softplus = card("softplus")
    assert softplus["lipschitz"] == 1.0 and softplus["lipschitz_argmax"] == "inf"
    assert softplus["convex"] and softplus["argmin"] == "-inf"


def test_hardswish_card():
    # f = x(x+3)/6 on [−3, 3]: minimum −3/8 at −3/2; f′ = (2x + 3)/6 reaches 3/2 at x = 3−.
    c = card("hardswish")
    assert c["min_value"] == pytest.approx(-0.375) and c["argmin"] == pytest.approx(-1.5)
    assert c["lipschitz"] == pytest.approx(1.5) and c["lipschitz_argmax"] == pytest.approx(3.0)
    assert c["decreasing_intervals"] == [[-3.0, pytest.approx(-1.5)]]
    assert c["junctions"] == [-3.0, 3.0] and c["gate_is_cdf"] is True


def test_gate_is_cdf_flags():
    assert card("se_gem")["gate_is_cdf"] is False  # F → α at −∞ and falls towards 0
    assert card("relu")["gate_is_cdf"] is True
    assert card("elu")["gate_is_cdf"] is None  # not a gated activation


def test_approximation_errors_against_gelu():
    c = card("gelu_tanh", "gelu")

    # independent: dense 30-digit scan of |tanh-GELU − GELU| from the two formulas, refined.
    def diff(x):
        u = mp.sqrt(2 / mp.pi) * (x + mp.mpf("0.044715") * x**3)
        return x / (1 + mp.exp(-2 * u)) - x * mp.ncdf(x)

    xs = [mp.mpf(i) / 1000 for i in range(-6000, 6001)]
    best = max(xs, key=lambda x: abs(diff(x)))
    peak = mp.findroot(lambda x: mp.diff(diff, x), best)
    assert c["max_abs_error"] == pytest.approx(float(abs(diff(peak))), rel=1e-9)
    assert c["reference"] == "gelu"
    sig = card("gelu_sigmoid", "gelu")
    assert sig["max_rel_error"] == "inf"  # e^{−1.702|x|} vs e^{−x²/2}: the ratio diverges
