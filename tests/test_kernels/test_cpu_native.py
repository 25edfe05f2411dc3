"""The C kernels (gatelab.kernels.cpu_native) against the float64 path, itself checked against
60-digit mpmath in tests/test_numerics.py. That file also checks the C kernels against mpmath
directly: float32 calls of these entries go through them, default and variant parameters alike.

Bounds (float32): forward ≤ 2 ulp (worst measured on 3.6 million points: 1.46); derivatives
≤ 2.5 ulp plus 4·2^-24·(|F| + |x·F′|) absolute, F the gate, as for the Triton kernels — f′ = F +
x·F′ cancels near its zeros, so the bound is relative to the terms there. Where the exact value
is below 1e-37 the bound is absolute (the underflow zone, as in tests/test_numerics.py).
"""

import logging
import math

import numpy as np
import pytest
import reference as R
import torch

import gatelab
from gatelab.kernels import cpu, cpu_native, select

CASES = [
    ("gelu", {}),
    ("gelu_tanh", {}),
    ("gelu_sigmoid", {}),
    ("silu", {}),
    ("silu", {"beta": 1.5}),
    ("silu", {"beta": 0.01}),
    ("gem", {}),
    ("gem", {"N": 2}),
    ("gem", {"N": 3}),
    ("gem", {"N": 6}),  # the generic (scalar) power loop
    ("e_gem", {}),
    ("e_gem", {"N": 2, "eps": 1e-6}),
    ("e_gem", {"N": 1, "eps": 10.0}),
    ("se_gem", {}),
    ("se_gem", {"N": 4, "eps": 1e-4, "alpha": 0.1}),
    ("se_gem", {"alpha": 0.0}),
]
IDS = [gatelab.lookup(name).format(params) for name, params in CASES]
FLOOR = 1e-37


@pytest.fixture(autouse=True)
def _path_on():
    cpu.set_enabled(True)
    yield
    cpu.set_enabled(None)


def _bound(name: str, params: dict) -> dict:
    return gatelab.lookup(name).bind(**params)


def _spacing(exact: torch.Tensor) -> torch.Tensor:
    magnitude = exact.abs().clamp(min=torch.finfo(torch.float32).smallest_normal)
    return torch.exp2(torch.floor(torch.log2(magnitude))) * 2.0**-23


def _grid() -> torch.Tensor:
    dense = torch.linspace(-20, 20, 40_001)
    return torch.cat([torch.from_numpy(R.grid(np.dtype(np.float32))), dense])


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_forward_within_two_ulp(name, params):
    x = _grid()
    got = cpu_native.forward(name, x, _bound(name, params)).double()
    exact = gatelab.get_fn(name, **params)(x.double())
    error = (got - exact).abs()
    error[torch.isinf(exact) & (got == exact)] = 0
    ulps = torch.where(error <= FLOOR, torch.zeros_like(error), error / _spacing(exact))
    worst = int(ulps.argmax())
    assert ulps[worst] <= 2.0, f"{ulps[worst]:.2f} ulp at x={x[worst].item()!r}"


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_derivative_within_bound(name, params):
    x = _grid()
    spec, bound = gatelab.lookup(name), _bound(name, params)
    grad = torch.linspace(-2.0, 2.0, x.numel())
    got = cpu_native.backward(name, x, grad, bound).double()
    x64 = x.double()
    slope, gate = spec.derivative(x64, **bound), spec.gate(x64, **bound)
    exact = grad.double() * slope
    allowed = 2.5 * _spacing(exact) + FLOOR
    allowed += 4 * 2.0**-24 * grad.double().abs() * (gate.abs() + (slope - gate).abs())
    excess = (got - exact).abs() - allowed
    worst = int(excess.argmax())
    assert excess[worst] <= 0, f"x={x64[worst].item()!r}: {got[worst].item()!r} vs {exact[worst]}"


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_extremes_infinities_nan_and_signed_zeros(name, params):
    info = torch.finfo(torch.float32)
    x = torch.tensor([info.max, -info.max, info.tiny, -info.tiny, 1e-45, -1e-45, 0.0, -0.0,
                      math.inf, -math.inf, math.nan])  # fmt: skip
    bound = _bound(name, params)
    got = cpu_native.forward(name, x, bound)
    exact = gatelab.get_fn(name, **params)(x.double()).float()
    assert torch.isnan(got[-1]) and torch.isnan(exact[-1])
    torch.testing.assert_close(got[:-1], exact[:-1], rtol=2 * 2.0**-23, atol=1e-37)
    dx = cpu_native.backward(name, x, torch.ones_like(x), bound)
    assert torch.isnan(dx[-1]) and torch.isfinite(dx[:-1]).all(), dx


def test_shapes_strides_and_sizes():
    torch.manual_seed(0)
    x = (torch.randn(33, 17) * 3).t()  # not contiguous
    bound = _bound("gelu", {})
    y = cpu_native.forward("gelu", x, bound)
    assert y.shape == x.shape
    torch.testing.assert_close(y, cpu_native.forward("gelu", x.contiguous(), bound))
    for n in (0, 1, 15, 16, 17, 1000):
        z = torch.randn(n)
        torch.testing.assert_close(cpu_native.forward("gelu", z, bound),
                                   gatelab.get_fn("gelu")(z.double()).float())  # fmt: skip


def test_channels_last_stays_channels_last_forward_and_backward():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 7).to(memory_format=torch.channels_last).requires_grad_()
    spec, params = gatelab.registry.resolve("se_gem(N=2, alpha=0.1)")
    assert select.select(spec, x, params) is select.C
    y = gatelab.autograd.apply(spec, x, params)
    assert y.is_contiguous(memory_format=torch.channels_last)
    grad = torch.randn(2, 3, 5, 7)  # contiguous: laid out unlike x
    (dx,) = torch.autograd.grad(y, x, grad)
    x64 = x.detach().double()
    torch.testing.assert_close(y.double(), spec.forward(x64, **params), rtol=3e-7, atol=1e-37)
    expected = grad.double() * spec.derivative(x64, **params)
    torch.testing.assert_close(dx.double(), expected, rtol=1e-6, atol=1e-37)


def test_threads_give_identical_results():
    x = torch.randn(3 * 2**15 + 5) * 4  # above the one-thread limit of the loops
    bound = _bound("se_gem", {})
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = cpu_native.forward("se_gem", x, bound)
        torch.set_num_threads(max(2, threads))
        many = cpu_native.forward("se_gem", x, bound)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, many)


def test_autograd_saves_only_the_input_and_double_backward_works():
    x = torch.linspace(-3, 3, 101, requires_grad=True)
    spec, params = gatelab.registry.resolve("gelu")
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        y = gatelab.autograd.apply(spec, x, params)
    assert y.grad_fn.name() == "EagerKernelFunctionBackward" and y.grad_fn.kernel == "c"
    assert len(saved) == 1 and saved[0] is x
    (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), x)
    x64 = x.detach().double()
    curvature = torch.exp(-x64 * x64 / 2) / math.sqrt(2 * math.pi) * (2 - x64 * x64)
    torch.testing.assert_close(second.double(), curvature, rtol=1e-5, atol=1e-6)


def test_learnable_and_other_dtypes_are_not_covered():
    assert not cpu_native.covers("gelu", torch.randn(4, dtype=torch.float64), {})
    assert not cpu_native.covers("gelu", torch.randn(4).half(), {})
    assert not cpu_native.covers("mish", torch.randn(4), {})
    assert not cpu_native.covers("silu", torch.randn(4), {"beta": torch.tensor(1.0)})
    assert not cpu_native.covers("e_gem", torch.randn(4), {"N": 1, "eps": 1e300})  # k underflows


def test_builds_into_the_cache_dir_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(tmp_path))
    cc = cpu_native._compiler()
    if cc is None:
        pytest.skip("no C compiler")
    first = cpu_native._build(cc)
    assert first.parent == tmp_path / "cpu_native" and first.exists()
    assert cpu_native.build_info()["cached"] is False and "-O3" in cpu_native.build_info()["flags"]
    stamp = first.stat().st_mtime_ns
    assert cpu_native._build(cc) == first and first.stat().st_mtime_ns == stamp
    assert cpu_native.build_info()["cached"] is True
    assert not list(first.parent.glob("tmp*"))  # the temporary build folder is gone


def test_without_a_compiler_the_path_falls_back_and_logs_once(monkeypatch, caplog):
    monkeypatch.setattr(cpu_native, "_library", None)
    monkeypatch.setattr(cpu_native, "_failed", False)
    monkeypatch.setattr(cpu_native, "_compiler", lambda: None)
    spec, params = gatelab.registry.resolve("gelu")
    x = torch.randn(16)
    with caplog.at_level(logging.WARNING, logger=cpu_native.__name__):
        assert select.select(spec, x, params) is None
        assert select.select(spec, x, params) is None
    assert len(caplog.records) == 1 and "no C compiler" in caplog.text
    y = gatelab.get_fn("gelu")(x)  # the exact path serves the call
    torch.testing.assert_close(y, gatelab.get_fn("gelu")(x.double()).float())
    with pytest.raises(RuntimeError, match="could not be built"):
        cpu_native.forward("gelu", x, params)
