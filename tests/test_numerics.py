"""Accuracy and edge cases of every catalog entry against independent mpmath references.

float32: within 2 ulp (or 1e-37 absolute, the underflow zone) over a dense grid of [−1e4, 1e4]
plus the extremes; float64: within 1e-14 relative (or 1e-307 absolute, float64's underflow
zone); float16/bfloat16: within 1 ulp, as they are computed in float32 and rounded once.
"""

import functools
import math

import numpy as np
import pytest
import reference as R
import torch

import gatelab

CASES = [(name, {}) for name in R.REFERENCES] + [
    (name, params) for name, variants in R.VARIANTS.items() for params in variants
]
IDS = [gatelab.lookup(name).format(params) for name, params in CASES]
TOLERANCE = {np.float32: (2.0, 1e-37), np.float16: (1.0, 0.0)}


@functools.cache
def _grid_and_reference(name, params_items, dtype_name):
    dtype = np.dtype(dtype_name)
    xs = R.grid(dtype)
    return xs, R.reference(name, xs, dict(params_items))


def _evaluate(name, params, xs, torch_dtype=None):
    x = torch.from_numpy(xs.astype(np.float32) if torch_dtype == torch.bfloat16 else xs)
    if torch_dtype is not None:
        x = x.to(torch_dtype)
    return gatelab.get_fn(name, **params)(x)


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_float32_within_two_ulp(name, params):
    xs, ref = _grid_and_reference(name, tuple(params.items()), "float32")
    got = _evaluate(name, params, xs).numpy()
    errors = R.ulp_errors(got, ref, np.dtype(np.float32), abs_floor=1e-37)
    worst = int(np.argmax(errors))
    assert errors[worst] <= 2.0, f"{errors[worst]:.2f} ulp at x={xs[worst]!r}"


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_float64_within_1e_14_relative(name, params):
    xs, ref = _grid_and_reference(name, tuple(params.items()), "float64")
    got = _evaluate(name, params, xs).numpy()
    limit = np.finfo(np.float64).max
    for x, g, r in zip(xs, got, ref):
        if abs(r) > limit:  # the exact value overflows: correct rounding is ±inf
            assert math.isinf(g) and (g > 0) == (r > 0), x
            continue
        error = abs(R.mp.mpf(float(g)) - r)
        assert error <= 1e-14 * abs(r) or error <= 1e-307, f"x={x!r}: {g!r} vs {r}"


@pytest.mark.parametrize("torch_dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name, params", CASES[: len(R.REFERENCES)], ids=IDS[: len(R.REFERENCES)])
def test_half_types_within_one_ulp(name, params, torch_dtype):
    xs, ref = _grid_and_reference(name, tuple(params.items()), "float16")
    if torch_dtype == torch.bfloat16:  # bfloat16 keeps float32's range: its own grid
        xs32 = torch.from_numpy(R.grid(np.dtype(np.float32))).bfloat16().float().numpy()
        xs32 = np.unique(xs32[np.isfinite(xs32)])
        xs, ref = xs32, R.reference(name, xs32, params)
    got = _evaluate(name, params, xs, torch_dtype).float().numpy()
    assert _evaluate(name, params, xs[:3], torch_dtype).dtype == torch_dtype
    spacing_bits = 7 if torch_dtype == torch.bfloat16 else 10
    info = torch.finfo(torch_dtype)
    for x, g, r in zip(xs, got, ref):
        if abs(r) > info.max * (1 + 2.0 ** -(spacing_bits + 1)):
            assert math.isinf(g) and (g > 0) == (r > 0), x
            continue
        min_exponent = -14 if torch_dtype == torch.float16 else -126
        exponent = int(R.mp.floor(R.mp.log(abs(r), 2))) if r != 0 else min_exponent
        ulp = 2.0 ** (max(exponent, min_exponent) - spacing_bits)
        assert abs(float(g) - float(r)) <= ulp, f"x={x!r}: {g!r} vs {float(r)!r}"


@pytest.mark.parametrize("torch_dtype", [torch.float64, torch.float32, torch.float16,
                                         torch.bfloat16], ids=str)  # fmt: skip
@pytest.mark.parametrize("name", sorted(R.REFERENCES))
def test_infinities_map_to_limits_and_nan_propagates(name, torch_dtype):
    x = torch.tensor([-math.inf, math.inf, math.nan], dtype=torch_dtype)
    y = gatelab.get_fn(name)(x).double()
    lower, upper = R.LIMITS[name]
    expected = torch.tensor([lower, upper], dtype=torch_dtype).double()
    torch.testing.assert_close(y[:2], expected, rtol=2 * torch.finfo(torch_dtype).eps, atol=0)
    assert math.isnan(y[2])


@pytest.mark.parametrize("torch_dtype", [torch.float64, torch.float32, torch.float16,
                                         torch.bfloat16], ids=str)  # fmt: skip
@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_no_nan_or_inf_for_finite_inputs(name, params, torch_dtype):
    info = torch.finfo(torch_dtype)
    values = [info.max, info.max / 3, info.tiny, info.smallest_normal / 8, 1e-30, 0.5, 700.0, 3e4]
    x = torch.tensor(values + [-v for v in values] + [0.0, -0.0], dtype=torch.float64)
    x = x.clamp(-info.max, info.max).to(torch_dtype)
    y = gatelab.get_fn(name, **params)(x)
    for xi, yi in zip(x.double().tolist(), y.double().tolist()):
        if not math.isfinite(yi):  # allowed only where the exact value exceeds the range
            exact = R.REFERENCES[name](R.mp.mpf(xi), **params)
            assert abs(exact) > info.max, f"{name}({xi!r}) = {yi!r}, exact {exact}"
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(gatelab.get_fn(name, **params)(xg).sum(), xg)
    assert not grad.isnan().any(), grad


def test_gem_float16_beyond_the_naive_overflow():
    # The textbook x³/(1+x²) overflows float16 from x ≈ 256 (N=1), x⁵/(1+x⁴) from x ≈ 16 (N=2).
    x = torch.tensor([300.0, 1000.0, 60000.0], dtype=torch.float16)
    naive = gatelab.lookup("gem").naive(x.float().half(), N=1)
    assert not torch.isfinite(naive).all()  # the problem is real...
    for N in (1, 2, 4):
        y = gatelab.get_fn("gem", N=N)(x)
        exact = [float(R.gem(R.mp.mpf(v), N)) for v in x.tolist()]
        torch.testing.assert_close(y.double(), torch.tensor(exact).half().double())  # ...solved


def test_inputs_are_never_modified():
    for name in gatelab.names():
        x = torch.randn(64, requires_grad=True)
        before, version = x.detach().clone(), x._version
        gatelab.create(name)(x).sum().backward()
        assert x._version == version and torch.equal(x.detach(), before), name


@pytest.mark.parametrize("torch_dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("sigma", [1e30, 1e300, 1e305, 1e306, 1.7e308])
def test_gelu_general_stays_finite_for_huge_sigma(sigma, torch_dtype):
    """x·Φ(x/σ) with σ ≫ |x|: 50-digit mpmath (at x = 0.5 it is 0.25; Dekker's split of σ
    used to overflow into NaN from σ ≈ 1e300)."""
    import mpmath

    mpmath.mp.dps = 50
    values = [0.5, -3.0, 1e30, -1e38]
    x = torch.tensor(values, dtype=torch_dtype)
    y = gatelab.get_fn(f"gelu_general(sigma={sigma!r})")(x)
    for got, v in zip(y.tolist(), x.tolist()):
        exact = float(mpmath.mpf(v) * mpmath.ncdf(mpmath.mpf(v) / mpmath.mpf(sigma)))
        assert got == pytest.approx(exact, rel=4e-7 if torch_dtype == torch.float32 else 1e-15)


@pytest.mark.parametrize("torch_dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "spec",
    [
        "gelu_general(sigma=1e300)",
        "gelu_general(sigma=4.5e306)",
        "gelu_general(sigma=1.7e308)",
        "gelu_general(sigma=3e38, learnable=True)",
    ],
)
def test_gelu_general_limits_at_infinity_for_huge_sigma(spec, torch_dtype):
    """The limits by hand: x·Φ(x/σ) → 0 as x → −inf (x·Φ ~ −σφ(x/σ)·σ/x → 0), f′ = Φ + (x/σ)φ
    → 1 at +inf and 0 at −inf, for every σ; μ − 40σ and μ + 40σ overflowed to ±inf for
    σ > 4.5e306, giving inf·0 = NaN."""
    module = gatelab.create(spec).to(torch_dtype)
    x = torch.tensor([-math.inf, math.inf], dtype=torch_dtype, requires_grad=True)
    y = module(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert y[0].item() == 0.0 and y[1].item() == math.inf
    assert grad.tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    "spec", ["gelu_general(sigma=1e306, learnable=True)", "gelu_general(mu=1e300, learnable=True)"]
)
def test_a_learnable_parameter_that_overflows_its_dtype_is_refused(spec):
    with pytest.raises(ValueError, match="overflows torch.float32"):
        gatelab.create(spec)


def test_prelu_refuses_an_unbounded_channel_count_and_an_overflowing_slope():
    with pytest.raises(ValueError, match="num_parameters' of prelu must be a positive integer ≤"):
        gatelab.create("prelu(num_parameters=2147483647)")
    with pytest.raises(ValueError, match="init = 1e\\+308 overflows torch.float32"):
        gatelab.create("prelu(init=1e308)")
    module = gatelab.create("prelu(num_parameters=3, init=0.1)")
    assert module.weight.tolist() == pytest.approx([0.1] * 3)
