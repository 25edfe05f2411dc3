"""User-defined gated activations x·F(x) (the README's Cauchy, Laplace and logistic examples)."""

import math

import mpmath as mp
import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

import gatelab


@pytest.fixture
def registered():
    created = []

    def make(*args, **kwargs):
        spec = gatelab.gated(*args, **kwargs)
        created.append(spec.name)
        return spec

    yield make
    for name in created:
        gatelab.unregister(name)


def _laplace(x):
    e = torch.exp(-x.abs())
    return torch.where(x < 0, 0.5 * e, 1 - 0.5 * e)


def test_cauchy_laplace_logistic(registered):
    registered(lambda x: 0.5 + torch.atan(x) / math.pi, name="cauchy_gelu")
    registered(_laplace, name="laplace_gelu")
    registered(
        torch.sigmoid, name="logistic_gelu", pdf=lambda x: torch.sigmoid(x) * torch.sigmoid(-x)
    )
    mp.mp.dps = 30
    refs = {
        "cauchy_gelu": lambda x: x * (mp.mpf(1) / 2 + mp.atan(x) / mp.pi),
        "laplace_gelu": lambda x: x * (mp.exp(x) / 2 if x < 0 else 1 - mp.exp(-x) / 2),
        "logistic_gelu": lambda x: x / (1 + mp.exp(-x)),
    }
    x = torch.tensor([-7.0, -1.5, -0.2, 0.3, 2.0, 9.0], dtype=torch.float64)
    for name, ref in refs.items():
        module = gatelab.create(name)
        assert repr(module) == name and name in gatelab.names()
        y = module(x)
        assert y.tolist() == pytest.approx([float(ref(mp.mpf(v))) for v in x.tolist()], rel=1e-14)
        xg = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(module(xg).sum(), xg)
        exact = [float(mp.diff(ref, mp.mpf(v))) for v in x.tolist()]
        assert grad.tolist() == pytest.approx(exact, rel=1e-10)
        assert gradcheck(module, (xg,)) and gradgradcheck(module, (xg,))


def test_parameters_and_closed_form_derivative(registered):
    from gatelab.registry import positive

    def cdf(x, s=1.0):
        return torch.sigmoid(x / s)

    def derivative(x, s=1.0):
        g = torch.sigmoid(x / s)
        return g + x * g * (1 - g) / s

    registered(cdf, name="soft_gate", derivative=derivative, params=(positive("s", 1.0, "scale"),))
    module = gatelab.create("soft_gate(s=2.0)")
    assert repr(module) == "soft_gate(s=2.0)"
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    module(x).backward()
    sig = 1 / (1 + math.exp(-0.5))
    assert x.grad.item() == pytest.approx(sig + sig * (1 - sig) / 2)
    with pytest.raises(ValueError, match="'s'"):
        gatelab.create("soft_gate(s=-1)")


def test_bad_definitions(registered):
    with pytest.raises(TypeError):
        gatelab.gated("not callable", name="bad")
    with pytest.raises(ValueError, match="already registered"):
        gatelab.gated(torch.sigmoid, name="gelu")
    with pytest.raises(ValueError, match="either"):
        gatelab.gated(torch.sigmoid, name="both", derivative=torch.sigmoid, pdf=torch.sigmoid)
