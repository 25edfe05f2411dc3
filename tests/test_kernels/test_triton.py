"""The Triton kernels against the float64 torch path (itself checked against 60-digit mpmath in
tests/test_numerics.py), run by the Triton interpreter on CPU (see conftest.py).

Tolerances (float32, the kernels compute in float32, see gatelab.kernels.triton_gated):
forward within tolerance_ulp() of the float64 value, or 2^-140 absolute where it is subnormal;
derivatives within the same ulp count plus 4·2^-24·(|F| + |x·F′|) absolute, F the gate — f′ =
F + x·F′ cancels near its zeros, so the bound is relative to the terms, not to their sum.
float16/bfloat16: within 1 ulp of the exact value (computed in float32, rounded once).
"""

import math

import numpy as np
import pytest
import reference as R
import torch

import gatelab

triton_gated = pytest.importorskip("gatelab.kernels.triton_gated")
from gatelab.kernels import dispatch, select, triton_fused  # noqa: E402


def triton_apply(spec, x, params, allow_cpu=True):
    """`spec` on `x` through the Triton kernels (the dispatch forced to them), or None where
    they do not cover the call."""
    select.force("triton")
    try:
        if select.select(spec, x, params) is not select.TRITON:
            return None
        return gatelab.autograd.apply(spec, x, params)
    finally:
        select.force(None)


CASES = [
    ("gelu", {}),
    ("gelu_tanh", {}),
    ("gelu_sigmoid", {}),
    ("silu", {}),
    ("silu", {"beta": 1.5}),
    ("silu", {"beta": 0.3}),
    ("relu", {}),
    ("gem", {}),
    ("gem", {"N": 3}),
    ("e_gem", {}),
    ("e_gem", {"N": 2, "eps": 1e-6}),
    ("e_gem", {"N": 1, "eps": 10.0}),
    ("se_gem", {}),
    ("se_gem", {"N": 2, "eps": 1e-4, "alpha": 0.1}),
    ("se_gem", {"alpha": 0.0}),
]
IDS = [gatelab.lookup(name).format(params) for name, params in CASES]
GLU_CASES = [("gelu", {}), ("gelu_tanh", {}), ("silu", {}), ("relu", {}), ("e_gem", {"N": 2})]
HALF_TYPES = [torch.float16, torch.bfloat16]
SUBNORMAL_FLOOR = 2.0**-140


def comparable(x: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """Where to compare. triton 3.8's interpreter emulates bfloat16 <-> float32 conversions and
    gets subnormals and the smallest normals wrong (1.4694e-39 loads as 0; a copy kernel
    changes them), which compiled kernels do not: under the interpreter, bfloat16 inputs and
    results below 2^-124 are left out."""
    keep = torch.ones_like(exact, dtype=torch.bool, device="cpu")
    if triton_gated.INTERPRETED and x.dtype == torch.bfloat16:
        small = 2.0**-124
        keep = ~((x.double().abs().cpu() < small) & (x != 0).cpu())
        keep &= ~((exact.double().abs().cpu() < small) & (exact != 0).cpu())
    return keep


def tolerance_ulp(name: str, params: dict) -> float:
    """The bound for float32 (worst measured in gatelab.kernels.triton_gated's docstring:
    gelu 7.7, gelu_tanh 4.4, gelu_sigmoid 4.6, silu 4.2, GEM family ≤ 2N + 1.3 ulp)."""
    if name.endswith("gem"):
        return 2 * params.get("N", 1) + 4.0
    return {"gelu": 10.0, "relu": 0.0}.get(name, 6.0)


@pytest.fixture(scope="module")
def device() -> str:
    if triton_gated.INTERPRETED:
        return "cpu"
    if not torch.cuda.is_available():
        pytest.skip("the kernels were compiled for a GPU and no GPU is present")
    return "cuda"


def _grid(device: str) -> torch.Tensor:
    return torch.from_numpy(R.grid(np.dtype(np.float32))).to(device)


def _config(name: str, params: dict):
    spec = gatelab.lookup(name)
    return triton_gated.kernel_config(spec.name, spec.bind(**params))


def _torch64(name: str, params: dict, x: torch.Tensor) -> torch.Tensor:
    return gatelab.get_fn(name, **params)(x.double())


def _spacing(exact: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The spacing of `dtype` at |exact| (its subnormal spacing below the normal range)."""
    info = torch.finfo(dtype)
    magnitude = exact.double().cpu().abs().clamp(min=info.smallest_normal)
    return torch.exp2(torch.floor(torch.log2(magnitude))) * info.eps


def _ulp_errors(got: torch.Tensor, exact: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """|got − exact| in units of the spacing of `dtype` at `exact`; equal infinities are 0."""
    got, exact = got.double().cpu(), exact.double().cpu()
    error = (got - exact).abs()
    same_infinity = torch.isinf(exact) & (got == exact)
    return torch.where(same_infinity, torch.zeros_like(error), error / _spacing(exact, dtype))


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_float32_forward_matches_float64(name, params, device):
    x = _grid(device)
    got = triton_gated.forward(x, _config(name, params))
    exact = _torch64(name, params, x)
    errors = _ulp_errors(got, exact, torch.float32)
    errors[(got.double().cpu() - exact.cpu()).abs() <= SUBNORMAL_FLOOR] = 0.0
    worst = int(errors.argmax())
    assert got.dtype == torch.float32
    assert errors[worst] <= tolerance_ulp(name, params), (
        f"{errors[worst]:.2f} ulp at x={x[worst].item()!r}: {got[worst].item()!r} vs "
        f"{exact[worst].item()!r}"
    )


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_float32_derivative_matches_float64(name, params, device):
    x = _grid(device)
    spec = gatelab.lookup(name)
    grad = torch.linspace(-2.0, 2.0, x.numel(), device=device)
    got = triton_gated.backward(x, grad, _config(name, params)).double().cpu()
    bound = spec.bind(**params)
    x64 = x.double().cpu()
    slope = spec.derivative(x64, **bound)
    gate = spec.gate(x64, **bound)
    terms = gate.abs() + (slope - gate).abs()  # |F| + |x·F′|
    exact = grad.double().cpu() * slope
    allowed = tolerance_ulp(name, params) * _spacing(exact, torch.float32)
    allowed += 4 * 2.0**-24 * grad.double().cpu().abs() * terms + SUBNORMAL_FLOOR
    excess = (got - exact).abs() - allowed
    worst = int(excess.argmax())
    assert excess[worst] <= 0, f"x={x64[worst].item()!r}: {got[worst].item()!r} vs {exact[worst]}"


@pytest.mark.parametrize("dtype", HALF_TYPES, ids=str)
@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_half_types_within_one_ulp(name, params, dtype, device):
    x = _grid(device).clamp(-torch.finfo(dtype).max, torch.finfo(dtype).max).to(dtype).unique()
    got = triton_gated.forward(x, _config(name, params))
    assert got.dtype == dtype
    exact = _torch64(name, params, x)
    errors = _ulp_errors(got, exact, dtype) * comparable(x, exact)
    worst = int(errors.argmax())
    assert errors[worst] <= 1.0, f"{errors[worst]:.2f} ulp at x={x[worst].item()!r}"


def _edge_values(dtype: torch.dtype) -> torch.Tensor:
    info = torch.finfo(dtype)
    tiny = [info.smallest_normal, info.smallest_normal / 8, info.smallest_normal * 2**-20]
    values = [info.max, info.max / 3, *tiny, 1e-30, 0.5, 700.0, 3e4]
    x = torch.tensor(values + [-v for v in values] + [0.0, -0.0], dtype=torch.float64)
    x = x.clamp(-info.max, info.max)
    return torch.cat([x, torch.tensor([-math.inf, math.inf, math.nan], dtype=torch.float64)])


@pytest.mark.parametrize("dtype", [torch.float32, *HALF_TYPES], ids=str)
@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_extremes_infinities_and_nan(name, params, dtype, device):
    x = _edge_values(dtype).to(dtype).to(device)
    config = _config(name, params)
    got = triton_gated.forward(x, config).double().cpu()
    exact = _torch64(name, params, x).to(dtype).double().cpu()  # ±inf → the limits
    assert torch.equal(got.isnan(), exact.isnan()), (got, exact)
    finite = ~exact.isnan() & comparable(x, exact)
    errors = _ulp_errors(got[finite], exact[finite], dtype)
    errors[(got[finite] - exact[finite]).abs() <= SUBNORMAL_FLOOR] = 0.0
    assert errors.max() <= tolerance_ulp(name, params) + 1, (x, got, exact)
    slopes = triton_gated.backward(x, torch.ones_like(x), config).double().cpu()
    assert not slopes[:-1].isnan().any(), slopes  # only the NaN input gives a NaN slope
    assert slopes[-1].isnan() or name == "relu"


@pytest.mark.parametrize("numel", [1, 5, 1023, 1025, 2500])
def test_sizes_that_are_not_multiples_of_the_block(numel, device):
    x = torch.randn(numel, device=device) * 3
    config = _config("gelu_tanh", {})
    got = triton_gated.forward(x, config)
    assert got.shape == x.shape
    torch.testing.assert_close(got.double().cpu(), _torch64("gelu_tanh", {}, x).cpu())


def test_non_contiguous_and_shaped_inputs(device):
    x = torch.randn(40, 30, device=device).t()[::2]  # (15, 40), strides (2, 30)
    assert not x.is_contiguous()
    config = _config("silu", {})
    got = triton_gated.forward(x, config)
    assert got.shape == x.shape
    torch.testing.assert_close(got, triton_gated.forward(x.contiguous(), config), rtol=0, atol=0)
    grad = triton_gated.backward(x, torch.ones_like(x), config)
    assert grad.shape == x.shape


def test_empty_tensors(device):
    x = torch.empty(0, 3, device=device)
    config = _config("gelu", {})
    assert triton_gated.forward(x, config).shape == (0, 3)
    assert triton_gated.backward(x, x, config).shape == (0, 3)
    y = triton_apply(gatelab.lookup("gelu"), x.requires_grad_(), {}, allow_cpu=True)
    y.sum().backward()
    assert x.grad.shape == (0, 3)


def test_bad_tensors_are_rejected_with_the_fix():
    config = _config("gelu", {})
    with pytest.raises(TypeError, match="float32/float16/bfloat16"):
        triton_gated.forward(torch.zeros(3, dtype=torch.float64), config)
    with pytest.raises(ValueError, match="tensors must match"):
        triton_gated.backward(torch.zeros(3), torch.zeros(4), config)


# --- dispatch and autograd ----------------------------------------------------------------------


@pytest.mark.parametrize("name, params", [CASES[0], CASES[4], CASES[13]], ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_dispatch_forward_and_backward_match_the_float64_path(name, params, dtype, device):
    spec = gatelab.lookup(name)
    x = (torch.randn(3000, device=device) * 4).to(dtype).requires_grad_(True)
    grad = torch.randn(3000, device=device).to(dtype)
    y = triton_apply(spec, x, spec.bind(**params), allow_cpu=True)
    assert y.grad_fn.name() == "EagerKernelFunctionBackward" and y.grad_fn.kernel == "triton"
    (got,) = torch.autograd.grad(y, x, grad)
    x64 = x.detach().double().requires_grad_(True)
    y64 = gatelab.get_fn(name, **params)(x64)
    (exact,) = torch.autograd.grad(y64, x64, grad.double())
    rtol, atol = (2e-6, 1e-6) if dtype == torch.float32 else (1e-2, 1e-2)
    torch.testing.assert_close(y.double(), y64, rtol=rtol, atol=atol)
    torch.testing.assert_close(got.double(), exact, rtol=rtol, atol=atol)
    assert y.dtype == got.dtype == dtype


def test_backward_saves_only_the_input(device):
    saved = []

    def pack(tensor):
        saved.append(tensor)
        return tensor

    x = torch.randn(64, device=device, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = triton_apply(gatelab.lookup("gelu"), x, {}, allow_cpu=True)
    assert len(saved) == 1 and saved[0] is x
    y.sum().backward()


def _plain(spec, x, other, triton):
    return triton_apply(spec, x, {}, allow_cpu=True) if triton else gatelab.get_fn(spec)(x)


def _bias(spec, x, other, triton):
    x, bias = x.view(8, 8), other[:8]
    if triton:
        return dispatch.triton_bias_apply(spec, x, bias, {}, allow_cpu=True)
    return gatelab.get_fn(spec)(x + bias)


def _glu(spec, x, other, triton):
    if triton:
        return dispatch.triton_glu(spec, x, other, {}, allow_cpu=True)
    return gatelab.get_fn(spec)(x) * other


@pytest.mark.parametrize("form", [_plain, _bias, _glu], ids=lambda f: f.__name__[1:])
def test_double_backward_matches_the_torch_path(form, device):
    # create_graph=True records the backward with the Spec's torch derivative (not silently 0).
    spec = gatelab.lookup("gelu_tanh")
    x = torch.randn(64, device=device, requires_grad=True)
    other = torch.randn(64, device=device, requires_grad=True)

    def gradient_penalty_grads(triton: bool):
        (g,) = torch.autograd.grad(form(spec, x, other, triton).sum(), x, create_graph=True)
        return torch.autograd.grad((g * g).sum(), (x, other), materialize_grads=True)

    for got, exact in zip(gradient_penalty_grads(True), gradient_penalty_grads(False)):
        torch.testing.assert_close(got, exact, rtol=1e-5, atol=1e-6)


def test_uncovered_calls_return_none(device):
    gelu = gatelab.lookup("gelu")
    x = torch.randn(8, device=device)
    assert triton_apply(gelu, x.double(), {}, allow_cpu=True) is None  # float64: torch
    assert triton_apply(gatelab.lookup("elu"), x, {"alpha": 1.0}, allow_cpu=True) is None
    learnable = {"mu": torch.tensor(0.0), "sigma": torch.tensor(1.0), "learnable": True}
    general = gatelab.lookup("gelu_general")
    assert triton_apply(general, x, learnable, allow_cpu=True) is None
    impostor = gatelab.registry.Spec(name="gelu", forward=gelu.forward, derivative=gelu.derivative)
    assert triton_apply(impostor, x, {}, allow_cpu=True) is None
    assert dispatch.triton_glu(gelu, x, x.half(), {}, allow_cpu=True) is None  # mixed dtypes
    if device == "cpu":
        assert select.select(gelu, x, {}) is not select.TRITON  # CPU only when forced
    for name, params in [("silu", {"beta": 1e-30}), ("e_gem", {"eps": 1e-300}),
                         ("se_gem", {"alpha": 1e39})]:  # fmt: skip
        spec = gatelab.lookup(name)  # constants beyond float32's comfortable range: torch path
        assert triton_apply(spec, x, spec.bind(**params), allow_cpu=True) is None


# --- fused bias + activation and GLU --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("shape", [(7, 33), (2, 3, 1500)], ids=str)
@pytest.mark.parametrize("name, params", [("gelu", {}), ("se_gem", {"N": 2})], ids=str)
def test_bias_activation_forward_and_grads(name, params, shape, dtype, device):
    # (2, 3, 1500): rows of more than one tile; (7, 33): several short rows per tile.
    spec = gatelab.lookup(name)
    x = (torch.randn(shape, device=device) * 3).to(dtype).requires_grad_(True)
    bias = torch.randn(shape[-1], device=device).to(dtype).requires_grad_(True)
    grad = torch.randn(shape, device=device).to(dtype)
    y = dispatch.triton_bias_apply(spec, x, bias, spec.bind(**params), allow_cpu=True)
    got = torch.autograd.grad(y, (x, bias), grad)
    x64, b64 = (t.detach().double().requires_grad_(True) for t in (x, bias))
    y64 = gatelab.get_fn(name, **params)(x64 + b64)
    exact = torch.autograd.grad(y64, (x64, b64), grad.double())
    rtol, atol = (2e-6, 1e-5) if dtype == torch.float32 else (2e-2, 5e-2)  # bias: sums of rows
    for value, reference in [(y, y64), *zip(got, exact)]:
        assert value.dtype == dtype
        torch.testing.assert_close(value.double(), reference, rtol=rtol, atol=atol)


def test_bias_shape_and_dtype_errors_name_the_fix(device):
    gelu = gatelab.lookup("gelu")
    x = torch.randn(4, 6, device=device)
    with pytest.raises(ValueError, match=r"shape \(x.shape\[-1\],\) = \(6,\)"):
        dispatch.triton_bias_apply(gelu, x, torch.zeros(4, device=device), {}, allow_cpu=True)
    with pytest.raises(ValueError, match="bias.to"):
        triton_fused.bias_forward(x, torch.zeros(6, dtype=torch.float16), _config("gelu", {}))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name, params", GLU_CASES, ids=str)
def test_glu_forward_and_both_grads(name, params, dtype, device):
    spec = gatelab.lookup(name)
    a, b, grad = (torch.randn(3, 700, device=device).mul(3).to(dtype) for _ in range(3))
    a.requires_grad_(True), b.requires_grad_(True)
    y = dispatch.triton_glu(spec, a, b, spec.bind(**params), allow_cpu=True)
    got = torch.autograd.grad(y, (a, b), grad)
    a64, b64 = (t.detach().double().requires_grad_(True) for t in (a, b))
    y64 = gatelab.get_fn(name, **params)(a64) * b64
    exact = torch.autograd.grad(y64, (a64, b64), grad.double())
    rtol, atol = (2e-6, 1e-5) if dtype == torch.float32 else (1e-2, 2e-2)
    for value, reference in [(y, y64), *zip(got, exact)]:
        assert value.dtype == dtype
        torch.testing.assert_close(value.double(), reference, rtol=rtol, atol=atol)


def test_glu_shapes_must_match(device):
    a, b = torch.zeros(4, 6, device=device), torch.zeros(4, 3, device=device)
    with pytest.raises(ValueError, match="equal shapes"):
        dispatch.triton_glu(gatelab.lookup("silu"), a, b, {}, allow_cpu=True)


# --- the transforms on the Triton path (tests/test_transforms.py has the full matrix) ---------


@pytest.mark.parametrize("name, params", [CASES[0], CASES[4], CASES[10], CASES[13]], ids=str)
def test_transforms_on_the_triton_path(name, params, device):
    """vmap, grad, per-sample grads, jacrev, jacfwd, jvp, forward AD, jit.trace and
    torch.compile through the Triton kernels, against the float64 formulas."""
    import io

    import torch.autograd.forward_ad as fwAD
    from torch.func import grad, jacfwd, jacrev, jvp, vmap

    spec = gatelab.lookup(name)
    bound = spec.bind(**params)
    f = gatelab.get_fn(name, **params)
    x = torch.linspace(-4, 4, 24, device=device) + 1 / 97
    t = torch.linspace(0.5, 1.5, 24, device=device)
    x64 = x.double()
    y0, d0 = spec.forward(x64, **bound), spec.derivative(x64, **bound)
    tol = dict(rtol=2e-6, atol=1e-6)

    def check(actual, expected):
        torch.testing.assert_close(actual.double(), expected.double(), **tol)

    select.force("triton")
    try:
        assert select.select(spec, x, bound) is select.TRITON
        check(vmap(f)(x.view(4, 6)), y0.view(4, 6))
        check(grad(lambda v: (f(v) * t).sum())(x), d0 * t.double())
        check(vmap(grad(lambda v: f(v).sum()))(x.view(4, 6)), d0.view(4, 6))
        check(jacrev(f)(x[:6]), torch.diag(d0[:6]))
        check(jacfwd(f)(x[:6]), torch.diag(d0[:6]))
        check(jvp(f, (x,), (t,))[1], d0 * t.double())
        with fwAD.dual_level():
            check(fwAD.unpack_dual(f(fwAD.make_dual(x, t))).tangent, d0 * t.double())
        with torch.no_grad():
            traced = torch.jit.trace(gatelab.create(name, **params), x, check_trace=False)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
        buffer.seek(0)
        check(torch.jit.load(buffer)(x), y0)
        compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
        check(compiled(x), y0)
    finally:
        select.force(None)
