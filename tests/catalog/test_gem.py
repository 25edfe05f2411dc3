"""Facts about the GEM reconstruction, derived by hand (see src/gatelab/catalog/gem.py)."""

import math

import pytest
import torch

import gatelab


def _f(spec, values):
    return gatelab.get_fn(spec)(torch.tensor(values, dtype=torch.float64)).tolist()


def test_values_by_hand():
    assert _f("gem", [1.0, 2.0, -2.0]) == pytest.approx([0.5, 8 / 5, 0.0], rel=1e-15)
    assert _f("gem(N=2)", [2.0]) == pytest.approx([32 / 17], rel=1e-15)
    assert _f("e_gem(eps=0.5)", [1.0]) == pytest.approx([1 / 1.5], rel=1e-15)
    assert _f("se_gem(eps=1.0, alpha=0.1)", [-1.0, 1.0]) == pytest.approx([-0.05, 0.5])


def test_gate_is_the_log_logistic_cdf():
    x = torch.tensor([0.0, 0.5, 1.0, 3.0, 1e300], dtype=torch.float64)
    for N, eps in [(1, 1.0), (2, 1e-4), (3, 10.0)]:
        gate = gatelab.lookup("e_gem").gate(x, N=N, eps=eps)
        expected = [0.0] + [v ** (2 * N) / (eps + v ** (2 * N)) for v in (0.5, 1.0, 3.0)] + [1.0]
        assert gate.tolist() == pytest.approx(expected, rel=1e-14)
        assert (gate.diff() >= 0).all()  # a CDF: monotone from 0 to 1


def test_e_gem_tends_to_relu():
    # 0 ≤ relu(x) − e_gem(x) = x·ε/(ε + x^{2N}) ≤ ε^{1/2N}/2 (AM–GM), so sup|f − relu| → 0.
    x = torch.linspace(-1, 1, 20001, dtype=torch.float64)
    for N in (1, 2):
        for eps in (1e-2, 1e-4, 1e-6):
            gap = torch.relu(x) - gatelab.get_fn("e_gem", N=N, eps=eps)(x)
            assert gap.min() >= 0
            bound = eps ** (1 / (2 * N)) / 2 * (2 * N - 1) ** ((2 * N - 1) / (2 * N)) / N
            assert gap.max() <= bound * (1 + 1e-9)


def _derivatives(spec, x0, order):
    x = torch.tensor([x0], dtype=torch.float64, requires_grad=True)
    y, out = gatelab.get_fn(spec)(x), []
    for _ in range(order):
        (y,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        out.append(y.item())
    return out


@pytest.mark.parametrize("N", [1, 2])
def test_smooth_of_order_2n_at_zero(N):
    # Near 0+, gem = x^{2N+1}(1 − x^{2N} + …): the k-th derivative at h is
    # (2N+1)!/(2N+1−k)!·h^{2N+1−k}(1 + O(h^{2N})) → 0 for k ≤ 2N, but → (2N+1)! for k = 2N+1,
    # while every derivative is 0 on the left: C^{2N} and not C^{2N+1}.
    h = 1e-3
    right = _derivatives(f"gem(N={N})", h, 2 * N + 1)
    left = _derivatives(f"gem(N={N})", -h, 2 * N + 1)
    for k, value in enumerate(right, start=1):
        exact = math.factorial(2 * N + 1) / math.factorial(2 * N + 1 - k) * h ** (2 * N + 1 - k)
        assert value == pytest.approx(exact, rel=1e-4), k
    assert left == [0.0] * (2 * N + 1)
    assert right[-1] == pytest.approx(math.factorial(2 * N + 1), rel=1e-4)


def test_se_gem_junction_is_c2n():
    # SE-GEM: the (2N+1)-th derivative jumps from α·(2N+1)!/ε (left) to (2N+1)!/ε (right).
    eps, alpha, h = 1.0, 0.25, 1e-4
    right = _derivatives(f"se_gem(eps={eps}, alpha={alpha})", h, 3)
    left = _derivatives(f"se_gem(eps={eps}, alpha={alpha})", -h, 3)
    assert right[0] == pytest.approx(3 * h**2, rel=1e-6) and left[0] == pytest.approx(
        alpha * 3 * h**2, rel=1e-6
    )
    assert right[2] == pytest.approx(6.0, rel=1e-6) and left[2] == pytest.approx(
        6.0 * alpha, rel=1e-6
    )


def test_se_gem_has_no_dead_neurons():
    x = torch.tensor([-5.0, -1.0, -0.1], dtype=torch.float64, requires_grad=True)
    gatelab.get_fn("se_gem", alpha=0.01)(x).sum().backward()
    assert (x.grad > 0).all()
    x.grad = None
    gatelab.get_fn("e_gem")(x).sum().backward()
    assert (x.grad == 0).all()  # E-GEM's negative half-axis is dead, as the paper says


def test_gem_lipschitz_constant_n1():
    # gem′ = t(3 + t)/(1 + t)², t = x²; maximised where d/dt = 0: (3 + 2t)(1+t) = 2t(3+t) → t = 3,
    # giving 18/16 = 9/8 at x = √3.
    x = torch.linspace(0, 10, 100001, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(gatelab.get_fn("gem")(x).sum(), x)
    assert slope.max().item() == pytest.approx(9 / 8, rel=1e-9)
    assert x[slope.argmax()].item() == pytest.approx(math.sqrt(3), abs=1e-3)
