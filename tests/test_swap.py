"""swap_activations: which sites are replaced and reported, sharing, placement, torch's
TransformerEncoderLayer fast path, the forms of `to`/`replace`, and errors. Outputs are checked
against independent references: copies of the model whose original activation modules are made
to run torch's own functions, never gatelab's."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gatelab
from gatelab import Activation, swap_activations


def _patch_forward(model, kind, fn):
    """Make every `kind` module of `model` compute `fn` (an independent reference)."""
    for module in model.modules():
        if isinstance(module, kind):
            module.forward = fn


# --- torchvision ResNet-18 ------------------------------------------------------------------


@pytest.fixture(scope="module")
def resnet():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).double().eval()


def test_resnet18_all_relus_become_gelu(resnet):
    model = copy.deepcopy(resnet)
    reference = copy.deepcopy(resnet)
    _patch_forward(reference, nn.ReLU, F.gelu)
    before = {name for name, m in model.named_modules() if isinstance(m, nn.ReLU)}
    assert "relu" in before and "layer1.0.relu" in before and len(before) == 9
    blocks = {name: m for name, m in model.named_modules() if hasattr(m, "conv2")}

    replaced = swap_activations(model, "gelu")

    assert len(replaced) == len(set(replaced))
    assert set(replaced) == before
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    for name in before:
        new = model.get_submodule(name)
        assert isinstance(new, Activation) and new.spec.name == "gelu"
    # BasicBlock calls self.relu twice: one module at one attribute, still one (new) module, and
    # each block has its own.
    news = [block.relu for block in blocks.values()]
    assert all(isinstance(m, Activation) for m in news)
    assert len({id(m) for m in news}) == len(news) == 8

    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        got, expected = model(x), reference(x)
        original = resnet(x)
    assert not torch.allclose(expected, original)  # the swap must make a difference
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_shared_module_stays_shared_and_every_site_is_reported():
    act = nn.ReLU()
    model = nn.Sequential(
        nn.Sequential(nn.Linear(3, 3), act), nn.Sequential(nn.Linear(3, 3), act), nn.Tanh()
    )
    replaced = swap_activations(model, "silu")
    assert sorted(replaced) == ["0.1", "1.1"]
    assert model[0][1] is model[1][1]
    assert isinstance(model[0][1], Activation) and model[0][1].spec.name == "silu"
    assert isinstance(model[2], nn.Tanh)  # not in DEFAULT_REPLACE


# --- device and dtype -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
@pytest.mark.parametrize("to", ["prelu", "gelu_general(learnable=True)"])
def test_new_modules_take_the_models_dtype(dtype, to):
    model = nn.Sequential(
        nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6), nn.PReLU(), nn.Sequential(nn.GELU())
    ).to(dtype)
    replaced = swap_activations(model, to)
    assert sorted(replaced) == ["1", "3", "4.0"]
    for name in replaced:
        parameters = list(model.get_submodule(name).parameters())
        assert parameters and all(p.dtype == dtype for p in parameters)
    out = model(torch.randn(5, 4, dtype=dtype))
    assert out.dtype == dtype
    out.float().sum().backward()
    assert all(p.grad.dtype == dtype for p in model.parameters())


def test_dtype_falls_back_to_parent_then_model():
    # The old ReLU has no parameters and neither has its parent: the model's dtype is used.
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU())).double()
    swap_activations(model, "prelu")
    assert model[1][0].weight.dtype == torch.float64
    # An old PReLU's own parameter wins over the model's.
    model = nn.Sequential(nn.Linear(2, 2).double(), nn.PReLU())
    swap_activations(model, "prelu")
    assert model[1].weight.dtype == torch.float32


def test_new_modules_take_the_models_device():
    # "meta" is a real second device on every machine: parameters live there without storage.
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.GELU()).to("meta")
    swap_activations(model, "gelu_general(learnable=True)")
    for name in ("1", "3"):
        assert {p.device.type for p in model.get_submodule(name).parameters()} == {"meta"}


# --- a pre-LN transformer the test builds ---------------------------------------------------


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class TinyTransformer(nn.Module):
    def __init__(self, d=8, depth=2):
        super().__init__()
        self.blocks = nn.ModuleList([Block(d) for _ in range(depth)])
        self.heads = nn.ModuleDict({"proj": nn.Linear(d, d), "act": nn.SiLU()})
        self.final_act = nn.ReLU()  # a plain attribute

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.final_act(self.heads["act"](self.heads["proj"](x)))


ALL_SITES = {"blocks.0.mlp.1", "blocks.1.mlp.1", "heads.act", "final_act"}


def _transformer():
    torch.manual_seed(0)
    return TinyTransformer().double().eval()


def test_transformer_every_site_replaced():
    model = _transformer()
    reference = copy.deepcopy(model)
    for kind in (nn.GELU, nn.SiLU, nn.ReLU):
        _patch_forward(reference, kind, lambda x: F.gelu(x, approximate="tanh"))

    replaced = swap_activations(model, "gelu_tanh")

    assert set(replaced) == ALL_SITES and len(replaced) == 4
    assert isinstance(model.heads["act"], Activation)
    assert isinstance(model.final_act, Activation)
    assert all(isinstance(b.mlp[1], Activation) for b in model.blocks)
    kinds = (nn.GELU, nn.SiLU, nn.ReLU)
    assert not any(isinstance(m, kinds) for m in model.modules())
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=1e-10, atol=1e-12)


def test_transformer_predicate_selects_mlp_only():
    model = _transformer()
    reference = copy.deepcopy(model)
    for block in reference.blocks:
        block.mlp[1].forward = lambda x: torch.relu(x) ** 2
    seen = []

    def only_mlp(name, module):
        seen.append(name)
        return isinstance(module, nn.GELU) and "mlp" in name

    replaced = swap_activations(model, "relu_squared", replace=only_mlp)

    assert sorted(replaced) == ["blocks.0.mlp.1", "blocks.1.mlp.1"]
    assert "" in seen and "heads.act" in seen and "blocks.0.attn.out_proj" in seen
    assert isinstance(model.heads["act"], nn.SiLU) and isinstance(model.final_act, nn.ReLU)
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=1e-10, atol=1e-12)


def test_predicate_matching_a_container_reports_only_sites_in_the_model():
    # A name-only predicate also matches the container "blocks.0.mlp" (and its children): the
    # container is replaced whole, and its old children are neither modified nor reported.
    model = _transformer()
    old_mlp = model.blocks[0].mlp
    old_children = list(old_mlp)

    replaced = swap_activations(model, "gelu", replace=lambda name, _: "blocks.0.mlp" in name)

    assert replaced == ["blocks.0.mlp"]
    for name in replaced:
        assert isinstance(model.get_submodule(name), Activation)
    assert list(old_mlp) == old_children and isinstance(old_mlp[1], nn.GELU)


# --- torch's TransformerEncoderLayer fast path -----------------------------------------------


def test_transformer_encoder_layer_fast_path_uses_the_new_activation():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, activation=nn.GELU(), batch_first=True
    ).eval()
    x = torch.randn(3, 5, 16)
    # Precondition: in eval mode under no_grad torch runs its fused kernel with its own GELU,
    # ignoring the activation module entirely.
    with torch.no_grad():
        before = layer(x)
        layer.activation.forward = lambda t: torch.full_like(t, math.nan)
        assert torch.equal(layer(x), before)
    del layer.activation.forward

    assert swap_activations(layer, "relu_squared") == ["activation"]

    reference = nn.TransformerEncoderLayer(
        d_model=16,
        nhead=2,
        dim_feedforward=32,
        dropout=0.0,
        activation=lambda t: torch.relu(t) ** 2,
        batch_first=True,
    ).eval()
    reference.load_state_dict(layer.state_dict())
    with torch.no_grad():
        got, expected = layer(x), reference(x)
    assert not torch.allclose(got, before, atol=1e-3)
    torch.testing.assert_close(got, expected)
    # and in training mode with autograd (never the fast path)
    layer.train(), reference.train()
    torch.testing.assert_close(layer(x), reference(x))


def test_transformer_encoder_stack_fast_path_uses_the_new_activation():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, activation=nn.ReLU(), batch_first=True)
    encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False).eval()
    replaced = swap_activations(encoder, "silu")
    assert sorted(replaced) == ["layers.0.activation", "layers.1.activation"]
    reference = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(16, 2, 32, activation=F.silu, batch_first=True),
        num_layers=2,
        enable_nested_tensor=False,
    ).eval()
    reference.load_state_dict(encoder.state_dict())
    x = torch.randn(2, 4, 16)
    with torch.no_grad():
        torch.testing.assert_close(encoder(x), reference(x))


def test_functional_transformer_activation_is_not_a_module_and_not_swapped():
    layer = nn.TransformerEncoderLayer(16, 2, 32, activation="gelu", batch_first=True)
    with pytest.warns(UserWarning, match="replaced nothing.*DEFAULT_REPLACE.*replace="):
        assert swap_activations(layer, "relu") == []
    assert layer.activation is F.gelu


# --- nothing replaced -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "replace, searched",
    [
        (gatelab.DEFAULT_REPLACE, "gatelab.DEFAULT_REPLACE"),
        ((nn.GELU, "timm.layers.activations.GELU"), "GELU, timm.layers.activations.GELU"),
        (lambda name, module: False, "<lambda>"),
    ],
    ids=["default", "tuple", "predicate"],
)
def test_replacing_nothing_warns_with_what_was_searched(replace, searched):
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    with pytest.warns(UserWarning) as record:
        assert swap_activations(model, "gelu", replace=replace) == []
    (warning,) = record
    message = str(warning.message)
    assert "replaced nothing" in message and "Sequential" in message and searched in message
    assert "replace=(*gatelab.DEFAULT_REPLACE, TheirClass)" in message
    assert warning.filename == __file__  # points at the caller
    assert isinstance(model[1], nn.Tanh)


def test_replacing_something_does_not_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert swap_activations(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), "gelu") == ["1"]


# --- selecting by qualified class name ----------------------------------------------------


class ThirdPartyGELU(nn.Module):
    def forward(self, x):
        return F.gelu(x)


class ItsSubclass(ThirdPartyGELU):
    pass


QUALIFIED = f"{ThirdPartyGELU.__module__}.{ThirdPartyGELU.__qualname__}"


def test_qualified_class_names_select_the_class_and_its_subclasses():
    model = nn.Sequential(nn.Linear(2, 2), ThirdPartyGELU(), ItsSubclass(), nn.ReLU())
    reference = copy.deepcopy(model)
    for i in (1, 2, 3):
        reference[i].forward = lambda x: F.gelu(x, approximate="tanh")
    assert swap_activations(model, "gelu_tanh", replace=(nn.ReLU, QUALIFIED)) == ["1", "2", "3"]
    assert all(isinstance(model[i], Activation) for i in (1, 2, 3))
    x = torch.randn(4, 2)
    torch.testing.assert_close(model(x), reference(x))
    with pytest.warns(UserWarning, match="replaced nothing"):
        assert swap_activations(model, "relu", replace=QUALIFIED + "X") == []


def test_matches_is_the_isinstance_test_for_selectors():
    from gatelab.swap import matches

    assert matches(nn.ReLU()) and matches(gatelab.create("gem")) and not matches(nn.Tanh())
    assert matches(ItsSubclass(), (QUALIFIED,)) and not matches(ItsSubclass())
    assert matches(ThirdPartyGELU(), ThirdPartyGELU) and not matches(nn.GELU(), QUALIFIED)
    # DEFAULT_REPLACE keeps torch's types and gatelab's, and now names timm's and transformers'
    assert {nn.ReLU, nn.GELU, nn.SiLU, Activation} <= set(gatelab.DEFAULT_REPLACE)
    assert "transformers.activations.GELUActivation" in gatelab.DEFAULT_REPLACE
    assert "timm.layers.activations.GELU" in gatelab.DEFAULT_REPLACE


# --- inplace= (timm's and torch's constructor argument) is accepted and ignored --------------


@pytest.mark.parametrize(
    "spec, reference",
    [
        ("gelu", F.gelu),
        ("prelu", lambda x: F.prelu(x, torch.tensor([0.25]))),
        ("gelu_general(learnable=True)", F.gelu),
    ],
)
def test_inplace_is_accepted_ignored_and_not_a_parameter(spec, reference):
    x = torch.linspace(-4, 4, 17, requires_grad=True)
    for module in (
        gatelab.create(spec, inplace=True),
        gatelab.create(spec, inplace=False),
        type(gatelab.create(spec))(spec, inplace=True),
    ):
        assert repr(module) == repr(gatelab.create(spec))
        assert "inplace" not in module.params and "inplace" not in repr(module)
        before = x.detach().clone()
        y = module(x)
        assert torch.equal(x.detach(), before)  # x is never overwritten
        torch.testing.assert_close(y, reference(x))
        (grad,) = torch.autograd.grad(y.sum(), x)
        (expected,) = torch.autograd.grad(reference(x).sum(), x)
        torch.testing.assert_close(grad, expected)


def test_inplace_must_be_a_bool():
    with pytest.raises(TypeError, match="inplace"):
        gatelab.create("gelu", inplace="yes")
    with pytest.raises(TypeError, match="inplace"):
        Activation("gelu", inplace=1)


# --- forms of `to` and `replace` --------------------------------------------------------------


def test_to_module_instance_is_deep_copied_per_site():
    template = gatelab.create("prelu(init=0.1)")
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3), nn.ReLU())
    replaced = swap_activations(model, template)
    assert replaced == ["1", "3"]
    assert model[1] is not template and model[3] is not template and model[1] is not model[3]
    assert model[1].weight is not model[3].weight
    with torch.no_grad():
        model[1].weight.fill_(0.5)
    assert model[3].weight.item() == pytest.approx(0.1)
    assert template.weight.item() == pytest.approx(0.1)
    x = torch.tensor([[-2.0, 1.0, -4.0]])
    assert torch.equal(model[3](x), torch.tensor([[-0.2, 1.0, -0.4]]))


def test_to_factory_gets_name_and_old_module():
    calls = []

    def factory(name, old):
        calls.append((name, type(old)))
        return nn.Tanh() if isinstance(old, nn.SiLU) else gatelab.create("gem(N=2)")

    shared = nn.ReLU()
    model = nn.Sequential(nn.Linear(2, 2), shared, nn.SiLU(), nn.Sequential(shared))
    replaced = swap_activations(model, factory)
    assert calls == [("1", nn.ReLU), ("2", nn.SiLU)]  # once per distinct old module
    assert replaced == ["1", "2", "3.0"]
    assert isinstance(model[2], nn.Tanh)
    assert model[1] is model[3][0] and repr(model[1]) == "gem(N=2)"


def test_replace_single_type_and_tuple():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.GELU(), nn.Sigmoid())
    assert swap_activations(model, "mish", replace=nn.GELU) == ["2"]
    assert isinstance(model[1], nn.ReLU) and isinstance(model[3], nn.Sigmoid)
    assert swap_activations(model, "mish", replace=(nn.ReLU, nn.Sigmoid)) == ["1", "3"]
    # gatelab's own modules are in DEFAULT_REPLACE: swapping again replaces them
    assert swap_activations(model, "relu") == ["1", "2", "3"]
    assert [repr(model[i]) for i in (1, 2, 3)] == ["relu"] * 3


def test_spec_object_as_to():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    swap_activations(model, gatelab.lookup("se_gem"))
    assert repr(model[1]) == "se_gem"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["gelux", "gem(N=0)", "gem(M=2)", "gem(N="])
def test_invalid_to_raises_before_the_model_is_modified(bad):
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Sequential(nn.GELU()))
    children = [model[1], model[2][0]]
    with pytest.raises(ValueError):
        swap_activations(model, bad)
    assert [model[1], model[2][0]] == children


def test_model_itself_matching_raises():
    with pytest.raises(ValueError, match="model itself"):
        swap_activations(nn.ReLU(), "gelu")
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    relu = model[1]
    with pytest.raises(ValueError, match="model itself"):
        swap_activations(model, "gelu", replace=lambda name, module: True)
    assert model[1] is relu


def test_bad_arguments_raise_type_error():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with pytest.raises(TypeError):
        swap_activations(model, 3.0)
    with pytest.raises(TypeError):
        swap_activations(model, "gelu", replace=(nn.ReLU, "GELU"))
    with pytest.raises(TypeError):
        swap_activations(model, "gelu", replace=42)
    assert isinstance(model[1], nn.ReLU)
