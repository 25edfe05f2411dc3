"""The compiled CPU kernels (gatelab.kernels.cpu, torch.compile of float64 formulas) and the
dispatch between them and the C kernels: accuracy against mpmath, autograd, coverage, fallback.

The references are the independent mpmath formulas of tests/reference.py, with the bounds of
tests/test_numerics.py (float32 ≤ 2 ulp, half types ≤ 1 ulp). Each compiled kernel costs about
a second with inductor's disk cache warm, 2–4 s cold, so the tests compile about 12 kernels: the
GEM family, whose kernels use their own float64 forms (kernels/cpu_formulas.py), and GELU for
the Spec path.
"""

import logging
import math

import numpy as np
import pytest
import reference as R
import torch

from gatelab.autograd import apply
from gatelab.kernels import cpu, select
from gatelab.registry import resolve

ACCURACY_SPECS = ["e_gem", "se_gem(N=2, alpha=0.1)", "gem(N=3)", "gelu"]


def fused(text, x):
    """`text` on `x` through the compiled kernels (the dispatch forced to them), or None where
    they do not cover the call."""
    spec, params = resolve(text)
    select.force("compiled")
    try:
        if select.select(spec, x, params) is None:
            return None
        return apply(spec, x, params)
    finally:
        select.force(None)


def exact_apply(spec, x, params):
    select.force("exact")
    try:
        return apply(spec, x, params)
    finally:
        select.force(None)


@pytest.fixture(autouse=True)
def _path_on():
    cpu.set_enabled(True)
    yield
    cpu.set_enabled(None)


@pytest.mark.parametrize("text", ACCURACY_SPECS)
def test_float32_forward_within_two_ulp_of_mpmath(text):
    spec, params = resolve(text)
    xs = R.grid(np.dtype(np.float32))
    got = fused(text, torch.from_numpy(xs))
    assert got is not None and got.dtype == torch.float32
    errors = R.ulp_errors(got.numpy(), R.reference(spec.name, xs, params), np.dtype(np.float32),
                          abs_floor=1e-37)  # fmt: skip
    worst = int(np.argmax(errors))
    assert errors[worst] <= 2.0, f"{errors[worst]:.2f} ulp at x={xs[worst]!r}"


@pytest.mark.parametrize("text", ["e_gem", "se_gem(N=2, alpha=0.1)", "gelu"])
def test_float32_derivative_matches_mpmath(text):
    spec, params = resolve(text)
    xs = np.concatenate([np.linspace(-9, 9, 91), [1e-3, 0.0095, 0.0105, 37.0, 1e4, -1e4]])
    x = torch.tensor(xs, dtype=torch.float32, requires_grad=True)
    (grad,) = torch.autograd.grad(fused(text, x).sum(), x)
    f = R.REFERENCES[spec.name]
    for xi, gi in zip(x.detach().double().tolist(), grad.double().tolist()):
        exact = R.mp.diff(lambda t: f(t, **params), R.mp.mpf(xi))
        ulp = np.spacing(np.float32(abs(float(exact)))) if exact != 0 else 1e-45
        assert abs(gi - float(exact)) <= 2 * ulp, f"x={xi}: {gi} vs {float(exact)}"


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_types_within_one_ulp(dtype):
    x = torch.tensor([-3.0, -0.01, 0.0, 0.004, 0.01, 0.3, 1.7, 250.0, 6e4], dtype=dtype)
    got = fused("e_gem", x)
    assert got.dtype == dtype
    bits = 7 if dtype == torch.bfloat16 else 10
    for xi, gi in zip(x.double().tolist(), got.double().tolist()):
        exact = R.e_gem(R.mp.mpf(xi))
        ulp = 2.0 ** (max(math.floor(math.log2(abs(exact))) if exact else -14, -14) - bits)
        assert abs(gi - float(exact)) <= ulp, f"x={xi}: {gi} vs {float(exact)}"


def test_extremes_infinities_and_nan():
    big = torch.finfo(torch.float32).max
    tiny = torch.finfo(torch.float32).smallest_normal / 8
    x = torch.tensor([big, -big, tiny, -tiny, 0.0, -0.0, math.inf, -math.inf, math.nan],
                     requires_grad=True)  # fmt: skip
    cases = [("e_gem", 0.0), ("se_gem(N=2, alpha=0.1)", -math.inf), ("se_gem(alpha=0.0)", 0.0)]
    for text, lower in cases:
        y = fused(text, x)
        (grad,) = torch.autograd.grad(y[:8].sum(), x)
        assert not grad[:8].isnan().any(), (text, grad)
        y = y.detach()
        assert torch.isfinite(y[:6]).all(), (text, y)
        assert y[6] == math.inf and y[7] == lower and math.isnan(y[8]), (text, y)
        assert y[0] == big  # f(x) = x·s/(1+s) with s ≥ 2^64 there


def test_matches_exact_path_on_random_inputs_and_shapes():
    torch.manual_seed(0)
    x = (torch.randn(33, 17) * 3).t()  # non-contiguous
    y = fused("se_gem(N=2, alpha=0.1)", x)
    spec, params = resolve("se_gem(N=2, alpha=0.1)")
    expected = exact_apply(spec, x, params)
    assert y.shape == x.shape
    torch.testing.assert_close(y, expected, rtol=2 * 2.0**-23, atol=1e-37)


def test_one_compile_serves_every_size_and_shape():
    spec, params = resolve("e_gem")
    fused("e_gem", torch.randn(100, requires_grad=True)).sum().backward()
    before = len(cpu.compile_log())
    frames = torch._dynamo.utils.counters["frames"]["ok"]
    for shape in [(7,), (5, 9), (2, 3, 64), (1000,)]:
        x = torch.randn(shape, requires_grad=True)
        fused("e_gem", x).sum().backward()
    assert len(cpu.compile_log()) == before
    assert torch._dynamo.utils.counters["frames"]["ok"] == frames  # no recompilation
    assert cpu.kernel(spec, params, torch.float32, "forward") is not None


def test_saves_only_the_input_and_double_backward_works():
    x = torch.linspace(-3, 3, 101, dtype=torch.float32, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        y = fused("e_gem", x)
    assert len(saved) == 1 and saved[0] is x
    (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), x)
    spec, params = resolve("e_gem")
    xe = x.detach().requires_grad_(True)
    (g1,) = torch.autograd.grad(exact_apply(spec, xe, params).sum(), xe, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), xe)
    torch.testing.assert_close(second, g2)


@pytest.mark.parametrize(
    "text, x",
    [
        ("e_gem", torch.randn(8, dtype=torch.float64)),  # float64 keeps double-double tails
        ("relu", torch.randn(8)),  # single native op: not covered
        ("e_gem", torch.randn(1)),  # size 1 would cost a specialised compile
        ("e_gem", torch.randn(8, dtype=torch.float32).to(torch.int32)),
    ],
    ids=["float64", "relu", "size1", "int32"],
)
def test_not_covered_returns_none(text, x):
    assert fused(text, x) is None


def test_tensor_parameters_are_not_covered():
    spec, params = resolve("gelu_general(learnable=True)")
    params = {**params, "mu": torch.tensor(0.0, requires_grad=True)}
    assert select.select(spec, torch.randn(8), params) is None


def test_switches_off_by_environment_and_function(monkeypatch):
    x = torch.randn(8)
    cpu.set_enabled(None)
    monkeypatch.setenv(cpu.ENV_VAR, "0")
    assert not cpu.enabled() and fused("e_gem", x) is None
    monkeypatch.setenv(cpu.ENV_VAR, "1")
    assert cpu.enabled() and fused("e_gem", x) is not None
    cpu.set_enabled(False)
    assert fused("e_gem", x) is None
    with pytest.raises(TypeError, match="True, False or None"):
        cpu.set_enabled("no")


def test_compile_failure_falls_back_and_logs_once(monkeypatch, caplog):
    def broken(*args, **kwargs):
        def fail(*a):
            raise RuntimeError("no C++ compiler")

        return fail

    monkeypatch.setattr(cpu.torch, "compile", broken)
    x = torch.randn(8)
    with caplog.at_level(logging.WARNING, logger=cpu.__name__):
        assert fused("e_gem(eps=0.123)", x) is None
        assert fused("e_gem(eps=0.123)", x) is None
    assert len(caplog.records) == 1 and "no C++ compiler" in caplog.text
    assert any(not e["ok"] for e in cpu.compile_log() if e["spec"] == "e_gem(eps=0.123)")


def test_rejects_non_tensors():
    spec, params = resolve("e_gem")
    with pytest.raises(TypeError, match="torch.Tensor"):
        apply(spec, [1.0, 2.0], params)


def test_dispatch_prefers_the_c_kernels_for_float32_and_compiles_the_rest():
    spec, params = resolve("e_gem")
    small32, small16 = torch.randn(8), torch.randn(8).half()
    large16 = torch.randn(cpu.COMPILED_MIN_NUMEL).half()
    assert select.select(spec, small32, params) is select.C
    assert select.select(spec, small16, params) is None
    assert select.select(spec, large16, params) is select.COMPILED
    y = apply(spec, small32.requires_grad_(), params)
    assert y.grad_fn.name() == "EagerKernelFunctionBackward"
    mish, mish_params = resolve("mish")
    assert select.select(mish, small32, mish_params) is None  # not in C: compiled from 2^16 on
    assert select.select(mish, large16.float(), mish_params) is select.COMPILED


def test_the_cuda_probe_warning_of_inductor_is_quiet_on_a_cpu_only_machine(caplog):
    import logging

    import torch

    from gatelab.kernels import cpu

    if torch.cuda.is_available():
        pytest.skip("the warning is only silenced where CUDA is absent")
    logger = logging.getLogger("torch.utils.cpp_extension")
    cpu.quiet_cuda_probe()  # installed by `import gatelab`; a second call adds nothing
    assert logger.filters.count(cpu._no_cuda_runtime) == 1
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("No CUDA runtime is found, using CUDA_HOME='/usr/local'")
        logger.warning("outside")
    assert [r.getMessage() for r in caplog.records] == ["outside"]
