"""Backward: closed-form derivatives checked against mpmath, gradcheck and gradgradcheck for
every entry, learnable parameters, and the memory contract (only the input is saved)."""

import math

import mpmath as mp
import pytest
import reference as R
import torch
from torch.autograd import gradcheck, gradgradcheck

import gatelab

SPECS = sorted(gatelab.names()) + [
    "gem(N=2)", "gem(N=3)", "e_gem(N=2, eps=0.01)", "e_gem(eps=10.0)",
    "se_gem(N=2, eps=0.01, alpha=0.3)", "silu(beta=1.7)", "softplus(beta=0.5)",
    "gelu_general(mu=0.2, sigma=0.5)", "elu(alpha=0.4)", "celu(alpha=2.5)",
    "leaky_relu(negative_slope=0.3)",
]  # fmt: skip
KINKS = {"hardswish": (-3.0, 3.0)}  # where f′ jumps (besides 0)


def _points(spec, n=24, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=generator, dtype=torch.float64) * 3
    x = torch.cat([x, torch.tensor([-12.0, -5.5, 4.5, 15.0], dtype=torch.float64)])
    kinks = torch.tensor([0.0, *KINKS.get(gatelab.lookup(spec.split("(")[0]).name, ())])
    far = (x[:, None] - kinks.double()[None, :]).abs().min(dim=1).values > 1e-3
    return x[far]


@pytest.mark.parametrize("spec", SPECS)
def test_gradcheck_and_gradgradcheck(spec):
    f = gatelab.get_fn(spec)
    x = _points(spec).requires_grad_(True)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


@pytest.mark.parametrize("spec", SPECS)
def test_derivative_matches_mpmath(spec):
    name, _, params = gatelab.parse(spec)
    entry, bound = gatelab.registry.resolve(spec)
    reference = R.REFERENCES[entry.name]
    x = _points(spec, n=12, seed=1)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(gatelab.get_fn(spec)(xg).sum(), xg)
    mp.mp.dps = 40
    for xi, gi in zip(x.tolist(), grad.tolist()):
        exact = mp.diff(lambda t: reference(t, **params), mp.mpf(xi))
        assert gi == pytest.approx(float(exact), rel=1e-12, abs=1e-300), (spec, xi)


def test_second_derivative_of_gelu_by_hand():
    # GELU″(x) = (2 − x²)·φ(x): differentiate f′ = Φ + xφ once more.
    x = torch.linspace(-6, 6, 49, dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(gatelab.get_fn("gelu")(x).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    phi = torch.exp(-(x.detach() ** 2) / 2) / math.sqrt(2 * math.pi)
    torch.testing.assert_close(d2, (2 - x.detach() ** 2) * phi, rtol=1e-12, atol=1e-15)


def test_gem_second_derivative_by_hand():
    # gem(N=1) = x³/(1+x²): f″ = 2x(3 − x²)/(1 + x²)³ for x > 0 (quotient rule twice), 0 below.
    x = torch.linspace(-3, 3, 61, dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(gatelab.get_fn("gem")(x).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    xd = x.detach()
    expected = torch.where(xd > 0, 2 * xd * (3 - xd**2) / (1 + xd**2) ** 3, 0.0)
    torch.testing.assert_close(d2, expected, rtol=1e-12, atol=1e-15)


def test_prelu_gradients_by_hand():
    module = gatelab.create("prelu(num_parameters=2, init=0.25)").double()
    x = torch.tensor([[[-2.0, 3.0], [-1.0, -4.0]]], dtype=torch.float64, requires_grad=True)
    module(x).sum().backward()
    # ∂/∂a of a·min(0, x), summed per channel: channel 0 → −2, channel 1 → −1 − 4.
    assert module.weight.grad.tolist() == [-2.0, -5.0]
    assert x.grad.tolist() == [[[0.25, 1.0], [0.25, 0.25]]]


def test_learnable_gaussian_gelu_gradients_by_hand():
    module = gatelab.create("gelu_general(mu=0.5, sigma=2.0, learnable=True)").double()
    x = torch.tensor([-1.0, 0.3, 2.0], dtype=torch.float64)
    module(x).sum().backward()
    z = (x - 0.5) / 2.0
    pdf = torch.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    d_mu = (-x * pdf / 2.0).sum()  # ∂/∂μ x·Φ((x−μ)/σ) = −x·φ(z)/σ
    d_sigma = (-x * pdf * z / 2.0).sum()  # ∂/∂σ = −x·φ(z)·z/σ; log σ chain: ×σ
    torch.testing.assert_close(module.mu.grad, d_mu, rtol=1e-6, atol=0)
    torch.testing.assert_close(module.log_sigma.grad, d_sigma * 2.0, rtol=1e-6, atol=0)
    assert float(module.log_sigma.detach().exp()) > 0


@pytest.mark.parametrize("spec", ["gelu", "gem(N=2)", "se_gem", "mish", "prelu"])
def test_only_the_input_is_saved(spec):
    module = gatelab.create(spec)
    x = torch.randn(4096, requires_grad=True)
    saved = []

    def pack(tensor):
        saved.append(tensor)
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(x)
    params = list(module.parameters())
    assert len(saved) == 1 + len(params)
    assert saved[0] is x or saved[0].data_ptr() == x.data_ptr()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_backward_keeps_dtype(dtype):
    for name in gatelab.names():
        x = torch.randn(8, dtype=dtype, requires_grad=True)
        gatelab.create(name).to(dtype)(x).sum().backward()
        assert x.grad.dtype == dtype, name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_cuda_matches_cpu(dtype):
    for name in gatelab.names():
        x = (torch.randn(1000) * 5).to(dtype)
        cpu = gatelab.get_fn(name)(x)
        gpu = gatelab.get_fn(name)(x.cuda()).cpu()
        torch.testing.assert_close(gpu, cpu, rtol=2 * torch.finfo(dtype).eps, atol=1e-37)


SMOOTH_AT_ZERO = [
    "gelu", "gelu_tanh", "gelu_sigmoid", "silu", "silu(beta=1.7)", "softplus",
    "softplus(beta=0.5)", "mish", "tanh", "sigmoid", "gelu_general(mu=0.2)",
]  # fmt: skip


@pytest.mark.parametrize("spec", SMOOTH_AT_ZERO)
def test_second_derivative_at_exactly_zero(spec):
    # exp(−|t|) inside a formula must not inherit abs()'s zero slope at 0 (a past bug).
    name, _, params = gatelab.parse(spec)
    reference = R.REFERENCES[gatelab.lookup(name).name]
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(gatelab.get_fn(spec)(x).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    mp.mp.dps = 40
    exact = mp.diff(lambda t: reference(t, **params), mp.mpf(0), 2)
    assert d2.item() == pytest.approx(float(exact), rel=1e-12, abs=1e-15)
