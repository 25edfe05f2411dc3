"""Saving and loading models that hold gatelab activations: whole-model pickling (torch.save,
pickle) of catalog, learnable and gated() entries — a gated one in a fresh process that never
calls gated() — the clear failure for a lambda CDF, deepcopy, weights-only state dicts, and the
clear refusal of torch.jit.script. Outputs are compared with plain-torch references."""

import copy
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gatelab
from gatelab.registry import Param, positive

CDFS = """
import torch


def laplace_cdf(x):
    e = torch.exp(-x.abs())
    return torch.where(x < 0, 0.5 * e, 1 - 0.5 * e)


def laplace_pdf(x):
    return 0.5 * torch.exp(-x.abs())


def scaled_normal_cdf(x, k=1.0):
    return torch.special.ndtr(k * x)
"""

SELF_REGISTERING = """
import torch
import gatelab


def logistic_cdf(x):
    return torch.sigmoid(x)


gatelab.gated(logistic_cdf, name="pk_logistic_gelu", aliases=("pk_logistic",))
"""


@pytest.fixture
def cdfs(tmp_path, monkeypatch):
    """Importable modules defining CDFs (in tmp_path, on sys.path); their entries unregistered
    afterwards."""
    (tmp_path / "pk_cdfs.py").write_text(CDFS)
    (tmp_path / "pk_selfreg.py").write_text(SELF_REGISTERING)
    monkeypatch.syspath_prepend(str(tmp_path))
    import pk_cdfs

    yield pk_cdfs
    for name in ("pk_laplace_gelu", "pk_scaled_gelu", "pk_logistic_gelu", "pk_lambda_gelu"):
        if name in gatelab.names():
            gatelab.unregister(name)
    for module in ("pk_cdfs", "pk_selfreg"):
        sys.modules.pop(module, None)


def _register(cdfs):
    gatelab.gated(cdfs.laplace_cdf, name="pk_laplace_gelu", pdf=cdfs.laplace_pdf)
    gatelab.gated(cdfs.scaled_normal_cdf, name="pk_scaled_gelu", params=(positive("k", 1.0),))


def _model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(3, 4),
        gatelab.create("pk_laplace_gelu"),
        nn.Linear(4, 4),
        gatelab.create("pk_scaled_gelu(k=2.0)"),
        nn.Linear(4, 2),
        gatelab.create("se_gem(alpha=0.2)"),
    )


def _reference(model, x):
    """The model's function in plain torch: x·F(x) for each gate, se_gem by its formula."""
    h = model[0](x)
    e = torch.exp(-h.abs())
    h = model[2](h * torch.where(h < 0, 0.5 * e, 1 - 0.5 * e))
    h = model[4](h * torch.special.ndtr(2.0 * h))
    h64 = h.double()
    gate = h64**2 / (1e-4 + h64**2)
    return (h64 * gate * torch.where(h64 >= 0, 1.0, 0.2)).float()


FRESH = textwrap.dedent(
    """
    import pickle, sys, warnings
    import torch, gatelab
    warnings.simplefilter("error", UserWarning)  # e.g. an entry rebuilt unregistered
    assert not {"pk_cdfs", "pk_selfreg"} & set(sys.modules)
    assert "pk_laplace_gelu" not in gatelab.names()
    directory = sys.argv[1]
    x, expected, grad = torch.load(directory + "/io.pt", weights_only=True)
    with open(directory + "/model.pkl", "rb") as f:
        pickled = pickle.load(f)
    saved = torch.load(directory + "/model.pt", weights_only=False)
    for model in (pickled, saved):
        xg = x.clone().requires_grad_(True)
        out = model(xg)
        torch.testing.assert_close(out, expected)
        out.sum().backward()
        torch.testing.assert_close(xg.grad, grad)
    other = torch.load(directory + "/other.pt", weights_only=False)
    print(repr(saved[1]), repr(saved[3]), repr(other))
    print(gatelab.create("pk_scaled_gelu(k=3.0)"))
    print(gatelab.lookup("pk_logistic").name, saved[1].spec is pickled[1].spec)
    """
)


def test_gated_model_unpickles_in_a_fresh_process_without_gated(cdfs, tmp_path):
    _register(cdfs)
    import pk_selfreg  # registers pk_logistic_gelu at import, as user modules often do

    model = _model()
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
    expected = _reference(model, x)
    (grad,) = torch.autograd.grad(expected.sum(), x)
    torch.testing.assert_close(model(x), expected)  # precondition: the reference is right
    torch.save((x.detach(), expected.detach(), grad), tmp_path / "io.pt")
    torch.save(model, tmp_path / "model.pt")
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    torch.save(gatelab.create("pk_logistic_gelu"), tmp_path / "other.pt")
    assert pk_selfreg.logistic_cdf is not None

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", FRESH, str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:3] == [
        "pk_laplace_gelu pk_scaled_gelu(k=2.0) pk_logistic_gelu",
        "pk_scaled_gelu(k=3.0)",
        "pk_logistic_gelu True",
    ]


def test_unpickling_in_the_same_process_reuses_the_registered_entry(cdfs):
    _register(cdfs)
    model = _model()
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded[1].spec is model[1].spec and loaded[3].spec is model[3].spec
    # a parameter built by registry.positive (its check a lambda) is rebuilt, rule included
    with pytest.raises(ValueError, match="> 0"):
        gatelab.create("pk_scaled_gelu(k=-1.0)")


def test_unpickling_against_a_different_registration_keeps_the_pickled_function(cdfs):
    _register(cdfs)
    module = gatelab.create("pk_laplace_gelu")
    blob = pickle.dumps(module)
    gatelab.gated(torch.sigmoid, name="pk_laplace_gelu", overwrite=True)
    with pytest.warns(UserWarning, match="not registered"):
        loaded = pickle.loads(blob)
    x = torch.linspace(-3, 3, 7)
    torch.testing.assert_close(loaded(x), x * cdfs.laplace_cdf(x))
    assert gatelab.lookup("pk_laplace_gelu").gate is torch.sigmoid


def test_catalog_entries_pickle_by_name():
    blob = pickle.dumps(gatelab.create("e_gem(N=2)"))
    assert b"e_gem" in blob and b"_unpickle_recipe" not in blob
    assert repr(pickle.loads(blob)) == "e_gem(N=2)"


def _local_cdf():
    def cdf(x):
        return torch.sigmoid(x)

    return cdf


@pytest.mark.parametrize("kind", ["lambda", "local function", "parameter check"])
def test_unpicklable_gated_fails_at_pickle_time_and_deepcopies(cdfs, tmp_path, kind):
    if kind == "lambda":
        gatelab.gated(lambda x: 0.5 + torch.atan(x) / torch.pi, name="pk_lambda_gelu")
        what = "its cdf"
    elif kind == "local function":
        gatelab.gated(_local_cdf(), name="pk_lambda_gelu")
        what = "its cdf"
    else:
        k = Param("k", 1.0, float, "a number > 0", check=lambda v: v > 0)
        gatelab.gated(cdfs.scaled_normal_cdf, name="pk_lambda_gelu", params=(k,))
        what = "the check of its parameter 'k'"
    model = nn.Sequential(nn.Linear(2, 2), gatelab.create("pk_lambda_gelu"))
    for save in (pickle.dumps, lambda m: torch.save(m, tmp_path / "m.pt")):
        with pytest.raises(pickle.PicklingError, match="module-level function") as error:
            save(model)
        assert "'pk_lambda_gelu'" in str(error.value) and what in str(error.value)
    # deepcopy (swap_activations uses it) never pickles
    copied = copy.deepcopy(model)
    assert copied[1].spec is model[1].spec and copied[0].weight is not model[0].weight
    x = torch.randn(3, 2)
    torch.testing.assert_close(copied(x), model(x))
    replaced = gatelab.swap_activations(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), model[1])
    assert replaced == ["1"]


# --- learnable modules, state dicts ---------------------------------------------------------


def _learnable():
    prelu = gatelab.create("prelu(num_parameters=3)")
    general = gatelab.create("gelu_general(learnable=True)")
    with torch.no_grad():
        prelu.weight.copy_(torch.tensor([0.1, 0.2, 0.3]))
        general.mu.fill_(0.5)
        general.log_sigma.fill_(0.25)
    return prelu, general


def _learnable_reference(prelu, general, x):
    mu, sigma = 0.5, torch.tensor(0.25).exp()
    return F.prelu(x, prelu.weight.detach()), x * torch.special.ndtr((x - mu) / sigma)


@pytest.mark.parametrize("via", ["pickle", "torch.save"])
def test_learnable_modules_round_trip(tmp_path, via):
    prelu, general = _learnable()
    if via == "pickle":
        loaded = pickle.loads(pickle.dumps((prelu, general)))
    else:
        torch.save((prelu, general), tmp_path / "m.pt")
        loaded = torch.load(tmp_path / "m.pt", weights_only=False)
    assert [repr(m) for m in loaded] == [repr(prelu), repr(general)]
    assert [type(m) for m in loaded] == [type(prelu), type(general)]
    x = torch.randn(4, 3, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for got, expected in zip((m(x) for m in loaded), _learnable_reference(prelu, general, x)):
            torch.testing.assert_close(got, expected)
    assert all(isinstance(p, nn.Parameter) for m in loaded for p in m.parameters())


def test_state_dicts_load_with_weights_only(cdfs, tmp_path):
    _register(cdfs)
    model = nn.Sequential(nn.Linear(3, 3), gatelab.create("pk_laplace_gelu"), *_learnable())
    torch.save(model.state_dict(), tmp_path / "w.pt")
    fresh = nn.Sequential(
        nn.Linear(3, 3),
        gatelab.create("pk_laplace_gelu"),
        gatelab.create("prelu(num_parameters=3)"),
        gatelab.create("gelu_general(learnable=True)"),
    )
    fresh.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        h = model[0](x)
        e = torch.exp(-h.abs())
        h = F.prelu(h * torch.where(h < 0, 0.5 * e, 1 - 0.5 * e), torch.tensor([0.1, 0.2, 0.3]))
        expected = h * torch.special.ndtr((h - 0.5) / torch.tensor(0.25).exp())
        torch.testing.assert_close(fresh(x), expected)


# --- torch.jit.script -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [gatelab.create("gelu"), nn.Sequential(nn.Linear(2, 2), gatelab.create("gelu"))],
    ids=["module", "inside Sequential"],
)
def test_jit_script_refuses_with_the_alternatives(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated
        with pytest.raises(RuntimeError, match="cannot be compiled by torch.jit.script") as error:
            torch.jit.script(model)
    for alternative in ("torch.jit.trace", "torch.compile", "torch.export"):
        assert alternative in str(error.value)
