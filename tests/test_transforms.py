"""Every catalog entry under every PyTorch transform, against the float64 exact formulas.

The reference is the Spec's precise formula f and closed-form derivative f′ evaluated on
float64 inputs (tested against 60-digit mpmath in tests/test_numerics.py), and, for learnable
parameters, the hand-derived partials below. Each transform runs in float32 (the C kernels serve
gelu, gelu_tanh, gelu_sigmoid, silu and the GEM family there) and in float64 (the exact path).
A result that is wrong without an error is the failure this file exists to catch. ONNX export
of every entry is tested in tests/test_export.py.
"""

import io
import math

import pytest
import torch
from torch import nn
from torch.func import functional_call, grad, jacfwd, jacrev, jvp, stack_module_state, vmap

import gatelab
from gatelab.kernels import select


def cauchy_cdf(x):
    """A module-level CDF, so the gated() entry below is importable (and picklable)."""
    return 0.5 + torch.atan(x) / math.pi


@pytest.fixture(autouse=True, scope="module")
def _user_entry():
    """A gated() entry for this module only (the registry is shared by the whole session)."""
    gatelab.gated(cauchy_cdf, name="transforms_cauchy", overwrite=True)
    yield
    gatelab.unregister("transforms_cauchy")


SPECS = [*gatelab.names(), "transforms_cauchy", "e_gem(N=2, eps=1e-3)", "silu(beta=1.5)"]
DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(rtol=2e-6, atol=2e-7), torch.float64: dict(rtol=1e-12, atol=1e-14)}
# Grid points avoid 0, where relu-like entries have a kink.
GRID = torch.linspace(-4.0, 4.0, 48, dtype=torch.float64) + 1 / 97


def reference(spec_string, x):
    """(f(x), f′(x)) in float64 by the Spec's formulas on float64 input."""
    spec, params = gatelab.registry.resolve(spec_string)
    x64 = x.detach().double()
    return spec.forward(x64, **params), spec.derivative(x64, **params)


def close(actual, expected, dtype):
    assert actual is not None, "no result (a silent None)"
    assert actual.dtype == dtype, f"dtype {actual.dtype}, expected {dtype}"
    torch.testing.assert_close(actual.double(), expected.double(), **TOL[dtype])


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture(params=SPECS)
def spec(request):
    return request.param


def _inputs(dtype):
    x = GRID.to(dtype)
    return x, torch.linspace(0.5, 1.5, x.numel(), dtype=dtype)


def test_eager_forward_backward(spec, dtype):
    f = gatelab.get_fn(spec)
    x, t = _inputs(dtype)
    y0, d0 = reference(spec, x)
    xg = x.clone().requires_grad_()
    y = f(xg)
    (gx,) = torch.autograd.grad(y, xg, t)
    close(y, y0, dtype)
    close(gx, d0 * t.double(), dtype)


def test_vmap_and_grad(spec, dtype):
    f = gatelab.get_fn(spec)
    x, t = _inputs(dtype)
    y0, d0 = reference(spec, x)
    rows = x.reshape(4, -1)
    close(vmap(f)(rows), y0.reshape(4, -1), dtype)
    close(vmap(f, in_dims=1, out_dims=1)(rows.T.contiguous()), y0.reshape(4, -1).T, dtype)
    close(grad(lambda v: (f(v) * t).sum())(x), d0 * t.double(), dtype)
    per_sample = vmap(grad(lambda v, w: (f(v) * w).sum()))(rows, t.reshape(4, -1))
    close(per_sample, (d0 * t.double()).reshape(4, -1), dtype)


def test_jacobians_and_jvp(spec, dtype):
    f = gatelab.get_fn(spec)
    x, t = _inputs(dtype)
    x = x[:12]
    t = t[:12]
    y0, d0 = reference(spec, x)
    close(jacrev(f)(x), torch.diag(d0), dtype)
    close(jacfwd(f)(x), torch.diag(d0), dtype)
    y, y_t = jvp(f, (x,), (t,))
    close(y, y0, dtype)
    close(y_t, d0 * t.double(), dtype)
    close(vmap(jacrev(f))(x.reshape(3, 4)), torch.diag_embed(d0.reshape(3, 4)), dtype)


def test_forward_ad_dual_numbers(spec, dtype):
    import torch.autograd.forward_ad as fwAD

    f = gatelab.get_fn(spec)
    x, t = _inputs(dtype)
    y0, d0 = reference(spec, x)
    for requires_grad in (False, True):
        with fwAD.dual_level():
            dual = fwAD.make_dual(x.clone().requires_grad_(requires_grad), t)
            y = fwAD.unpack_dual(f(dual))
        close(y.primal, y0, dtype)
        close(y.tangent, d0 * t.double(), dtype)


def test_second_derivatives_follow_the_closed_form(spec, dtype):
    """grad of grad and jacfwd of jacrev against autograd of the float64 closed form f′."""
    spec_obj, params = gatelab.registry.resolve(spec)
    f = gatelab.get_fn(spec)
    x, _ = _inputs(dtype)
    x64 = x.double().requires_grad_()
    slope = spec_obj.derivative(x64, **params)
    d2 = torch.zeros_like(x64)  # piecewise-linear entries: f′ is piecewise constant
    if slope.requires_grad:
        (d2,) = torch.autograd.grad(slope.sum(), x64)
    second = grad(lambda v: grad(lambda u: f(u).sum())(v).sum())(x)
    close(second, d2, dtype)
    close(torch.diagonal(jacfwd(jacrev(f))(x[:8])[range(8), range(8)]), d2[:8], dtype)


def _mlp(act):
    return nn.Sequential(nn.Linear(3, 8), act, nn.Linear(8, 2))


def test_functional_call_ensemble(spec, dtype):
    torch.manual_seed(0)
    models = [_mlp(gatelab.create(spec)).to(dtype) for _ in range(3)]
    params, buffers = stack_module_state(models)
    base = _mlp(gatelab.create(spec)).to("meta")
    x = torch.randn(5, 3, dtype=dtype)

    def one(p, b):
        return functional_call(base, (p, b), (x,))

    stacked = vmap(one)(params, buffers)
    for k, model in enumerate(models):
        close(stacked[k], model(x).detach(), dtype)
    loss = stacked.square().sum()
    grads = torch.autograd.grad(loss, list(params.values()))
    for k, model in enumerate(models):
        expected = torch.autograd.grad(model(x).square().sum(), list(model.parameters()))
        for got, want in zip(grads, expected):
            close(got[k], want, dtype)


def _break_count(fn, *args):
    explanation = torch._dynamo.explain(fn)(*args)
    return explanation.graph_break_count


def test_torch_compile_fullgraph(spec, dtype):
    """fullgraph=True raises on any graph break; aot_eager also traces backward (the inductor
    code generation is covered by tests/test_export.py)."""
    torch._dynamo.reset()
    act = gatelab.create(spec)
    x, t = _inputs(dtype)
    y0, d0 = reference(spec, x)
    compiled = torch.compile(act, fullgraph=True, backend="aot_eager", dynamic=False)
    xg = x.clone().requires_grad_()
    y = compiled(xg)
    (gx,) = torch.autograd.grad(y, xg, t)
    close(y, y0, dtype)
    close(gx, d0 * t.double(), dtype)
    assert _break_count(act, x) == 0


def test_torch_export(spec, dtype):
    act = gatelab.create(spec)
    x, _ = _inputs(dtype)
    y0, _ = reference(spec, x)
    program = torch.export.export(act, (x,))
    close(program.module()(x), y0, dtype)


@pytest.mark.parametrize("with_grad", [False, True], ids=["no_grad", "grad"])
def test_jit_trace_save_load(spec, dtype, with_grad):
    act = gatelab.create(spec)
    x, t = _inputs(dtype)
    y0, d0 = reference(spec, x)
    with torch.set_grad_enabled(with_grad):
        traced = torch.jit.trace(act, x[:7].clone().requires_grad_(with_grad), check_trace=False)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    for module in (traced, loaded):
        with torch.no_grad():
            close(module(x), y0, dtype)  # other values, other length than the trace
        xg = x.clone().requires_grad_()
        (gx,) = torch.autograd.grad(module(xg), xg, t)
        close(gx, d0 * t.double(), dtype)


# --- learnable parameters --------------------------------------------------------------------

LEARNABLE = [
    "prelu(init=0.2)",
    "prelu(num_parameters=4)",
    "gelu_general(mu=0.3, sigma=1.4, learnable=True)",
]


def _learnable_reference(module, x):
    """f and ∂f/∂(its parameters) by hand, in float64: prelu ∂f/∂a = min(x, 0); Gaussian GELU
    x·Φ(z), z = (x − μ)/σ, σ = e^s: ∂f/∂μ = −xφ(z)/σ, ∂f/∂s = −xφ(z)z."""
    x = x.double()
    if hasattr(module, "weight"):
        a = module.weight.detach().double()
        a = a.reshape(1, -1) if a.numel() > 1 else a
        return torch.where(x > 0, x, a * x), {"weight": torch.clamp(x, max=0)}
    mu = module.mu.detach().double()
    sigma = module.log_sigma.detach().double().exp()
    z = (x - mu) / sigma
    pdf = torch.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return x * torch.special.ndtr(z), {"mu": -x * pdf / sigma, "log_sigma": -x * pdf * z}


@pytest.mark.parametrize("spec", LEARNABLE)
def test_learnable_parameters_under_transforms(spec, dtype):
    module = gatelab.create(spec).to(dtype)
    x = GRID.to(dtype).reshape(12, 4)
    y0, partials = _learnable_reference(module, x)
    params = {k: v.detach() for k, v in module.named_parameters()}
    close(functional_call(module, params, (x,)), y0, dtype)
    grads = grad(lambda p: functional_call(module, p, (x,)).sum())(params)
    for name, value in grads.items():
        close(value, partials[name].sum_to_size(value.shape), dtype)
    per_sample = vmap(lambda rows: functional_call(module, params, (rows,)))(x.reshape(6, 2, 4))
    close(per_sample, y0.reshape(6, 2, 4), dtype)
    tangents = {k: torch.ones_like(v) for k, v in params.items()}
    _, y_t = jvp(lambda p: functional_call(module, p, (x,)), (params,), (tangents,))
    close(y_t, sum(partials.values()), dtype)
    stacked, _ = stack_module_state([module, module])
    out = vmap(lambda p: functional_call(module, p, (x,)))(stacked)
    close(out[1], y0, dtype)
    traced = torch.jit.trace(module, x)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    buffer.seek(0)
    close(torch.jit.load(buffer)(x), y0, dtype)
    close(torch.export.export(module, (x,)).module()(x), y0, dtype)
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager")
    close(compiled(x), y0, dtype)


# --- which path serves which call -----------------------------------------------------------


def test_fast_path_only_for_plain_tensors(monkeypatch):
    """The direct kernel call (no op, no Function) is taken only for plain tensors outside every
    transform, tracer and dual level; everywhere else the registered op or the Function runs."""
    calls = []
    kernel = select.C
    original = kernel.forward

    def spy(spec, x, params):
        calls.append(type(x).__name__)
        assert type(x) is torch.Tensor and not torch._C._functorch.is_functorch_wrapped_tensor(x)
        return original(spec, x, params)

    monkeypatch.setattr(select, "C", kernel._replace(forward=spy))
    monkeypatch.setattr(gatelab.autograd, "_KERNELS", {"c": select.C})
    f = gatelab.get_fn("gelu")
    x = torch.randn(16)
    f(x)
    assert calls == ["Tensor"]
    vmap(f)(x.reshape(4, 4))
    grad(lambda v: f(v).sum())(x)
    jvp(f, (x,), (torch.ones_like(x),))
    torch.jit.trace(f, x, check_trace=False)
    assert all(c == "Tensor" for c in calls)


def test_registered_ops_are_visible_to_tracers():
    x = torch.randn(8)
    with torch.no_grad():
        traced = torch.jit.trace(gatelab.create("gelu"), x, check_trace=False)
    assert "gatelab::activation" in str(traced.graph)
    gm = torch.fx.experimental.proxy_tensor.make_fx(gatelab.get_fn("se_gem"))(x)
    assert "gatelab.activation" in str(gm.code)


def test_forced_exact_path_gives_the_same_numbers():
    x = GRID.float()
    with_kernel = gatelab.get_fn("gelu")(x)
    select.force("exact")
    try:
        exact = gatelab.get_fn("gelu")(x)
    finally:
        select.force(None)
    torch.testing.assert_close(with_kernel, exact, rtol=3e-7, atol=1e-30)
    with pytest.raises(ValueError, match="unknown kernel path"):
        select.force("fast")


def test_spec_kernels_is_the_one_coverage_table():
    """Spec.kernels names only kernels that implement the entry; what each kernel file
    implements but no Spec lists would be dead code."""
    from gatelab.kernels import cpu_native

    triton_gated = pytest.importorskip("gatelab.kernels.triton_gated")

    c = {n for n in gatelab.names() if "c" in gatelab.lookup(n).kernels}
    triton = {n for n in gatelab.names() if "triton" in gatelab.lookup(n).kernels}
    assert c == set(cpu_native.NAMES)
    assert triton == set(triton_gated.ACTIVATIONS)
    user = gatelab.gated(cauchy_cdf, name="coverage_probe")
    try:
        assert user.kernels == frozenset()
    finally:
        gatelab.unregister("coverage_probe")
