"""gatelab inside timm and Hugging Face transformers, checked against the libraries' own modules.

swap_activations' defaults find timm's and transformers' activation classes in real models (built
from configs, no downloads) and the swapped models reproduce the originals to 1e-5 when the
gatelab activation is the same function; timm's `act_layer` and transformers' `hidden_act`
build gatelab modules; every class in the libraries' activation tables is either matched by
DEFAULT_REPLACE or deliberately left alone.
"""

import copy
import functools
import importlib
import pickle
import subprocess
import sys

import pytest
import torch
from torch import nn

import gatelab
from gatelab import Activation, swap_activations
from gatelab.integrations import PREFIX, register_transformers, timm_act_layer
from gatelab.swap import TIMM_ACTIVATIONS, TRANSFORMERS_ACTIVATIONS, matches

timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")
from timm.layers import activations as timm_acts  # noqa: E402
from timm.layers import activations_me as timm_acts_me  # noqa: E402
from transformers import activations as hf_acts  # noqa: E402

TOLERANCE = 1e-5  # relative to the output's largest magnitude; float32 throughout


def _relative_error(got, expected):
    return ((got - expected).abs().max() / expected.abs().max()).item()


def _sites(model, kind):
    """(qualified name) of every attribute slot holding a `kind` module — what swap reports."""
    return {
        f"{parent_name}.{child_name}" if parent_name else child_name
        for parent_name, parent in model.named_modules(remove_duplicate=False)
        for child_name, child in parent.named_children()
        if type(child) is kind
    }


# --- the equivalence table of docs/integrations.md, activation by activation ------------------

X = torch.linspace(-8, 8, 4001, dtype=torch.float64)

TWINS = [
    (timm_acts.GELU(), "gelu"),
    (timm_acts.GELUTanh(), "gelu_tanh"),
    (timm_acts.QuickGELU(), "gelu_sigmoid"),
    (timm_acts.Swish(), "silu"),
    (timm_acts.Mish(), "mish"),
    (timm_acts.HardSwish(), "hardswish"),
    (timm_acts_me.SwishMe(), "silu"),
    (timm_acts_me.MishMe(), "mish"),
    (timm_acts_me.HardSwishMe(), "hardswish"),
    (hf_acts.GELUActivation(), "gelu"),
    (hf_acts.GELUActivation(use_gelu_python=True), "gelu"),
    (hf_acts.GELUTanh(), "gelu_tanh"),
    (hf_acts.NewGELUActivation(), "gelu_tanh"),
    (hf_acts.FastGELUActivation(), "gelu_tanh"),
    (hf_acts.AccurateGELUActivation(), "gelu_tanh"),
    (hf_acts.QuickGELUActivation(), "gelu_sigmoid"),
    (hf_acts.SiLUActivation(), "silu"),
    (hf_acts.MishActivation(), "mish"),
    (hf_acts.ReLUSquaredActivation(), "relu_squared"),
]


@pytest.mark.parametrize(
    "original, name", TWINS, ids=[f"{type(m).__module__}.{type(m).__name__}" for m, _ in TWINS]
)
def test_each_library_activation_equals_its_gatelab_twin_and_is_matched(original, name):
    assert matches(original)
    # FastGELU rounds √(2/π) to 10 digits (3e-12 relative): that is the only gap tolerated.
    torch.testing.assert_close(gatelab.create(name)(X), original(X), rtol=1e-10, atol=1e-11)


def test_every_hidden_activation_class_of_both_libraries_is_matched():
    from timm.layers import create_act

    left_alone = {  # gates, squashers, identities and scores, as for torch's Tanh and Sigmoid
        nn.Identity,
        nn.Sigmoid,
        nn.Tanh,
        nn.Hardsigmoid,
        timm_acts.Sigmoid,
        timm_acts.Tanh,
        timm_acts.HardSigmoid,
        timm_acts_me.HardSigmoidMe,
        hf_acts.LinearActivation,
        hf_acts.LaplaceActivation,
        hf_acts.SqrtSoftplusActivation,
    }
    tables = [create_act._ACT_LAYER_DEFAULT, create_act._ACT_LAYER_ME, hf_acts.ACT2CLS]
    classes = {v[0] if isinstance(v, tuple) else v for t in tables for v in t.values()}
    classes |= {
        c
        for m in (timm_acts, timm_acts_me)
        for c in vars(m).values()
        if isinstance(c, type) and issubclass(c, nn.Module) and c.__module__ == m.__name__
    }
    assert len(classes) > 30
    for cls in classes:
        instance = object.__new__(cls)  # matching looks at the class only
        assert matches(instance) is (cls not in left_alone), cls


def test_default_names_are_real_classes():
    for qualified in TIMM_ACTIVATIONS + TRANSFORMERS_ACTIVATIONS:
        module, _, name = qualified.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        assert isinstance(cls, type) and issubclass(cls, nn.Module), qualified
    assert "transformers.activations.PytorchGELUTanh" in TRANSFORMERS_ACTIVATIONS  # legacy name
    assert all(isinstance(t, (type, str)) for t in gatelab.DEFAULT_REPLACE)


# --- swapping real timm models --------------------------------------------------------------

TIMM_MODELS = [
    # name, create_model kwargs, original class, the same function in gatelab, a near twin
    ("resnet18", {}, nn.ReLU, "relu", "leaky_relu"),
    ("resnet50", {}, nn.ReLU, "relu", "leaky_relu"),
    # layer scale 1 (not 1e-6) so that the blocks, and so their GELUs, matter
    ("convnext_atto", {"ls_init_value": 1.0}, timm_acts.GELU, "gelu", "gelu_sigmoid"),
    ("vit_tiny_patch16_224", {"img_size": 32}, nn.GELU, "gelu", "gelu_sigmoid"),
    ("efficientnet_b0", {}, nn.SiLU, "silu", "gelu_sigmoid"),
]


def _timm_model(name, kwargs):
    torch.manual_seed(0)
    return timm.create_model(name, pretrained=False, **kwargs).eval()


def _check_swap(model, inputs, kind, same, twin):
    """Swap `kind` to `same` (then to `twin`) in copies of `model`; compare with the original."""
    sites = _sites(model, kind)
    assert sites
    with torch.no_grad():
        expected = model(**inputs)
    swapped = copy.deepcopy(model)
    replaced = swap_activations(swapped, same)
    assert set(replaced) == sites and len(replaced) == len(sites)
    assert not any(isinstance(m, kind) for m in swapped.modules())
    assert all(repr(swapped.get_submodule(name)) == same for name in replaced)
    near = copy.deepcopy(model)
    swap_activations(near, twin)
    with torch.no_grad():
        got, other = swapped(**inputs), near(**inputs)
    got, other, expected = (_output(t) for t in (got, other, expected))
    assert _relative_error(got, expected) <= TOLERANCE
    assert _relative_error(other, expected) > 10 * TOLERANCE  # the comparison can tell


def _output(out):
    return out if isinstance(out, torch.Tensor) else (out.logits if "logits" in out else out[0])


@pytest.mark.parametrize(
    "name, kwargs, kind, same, twin", TIMM_MODELS, ids=[m[0] for m in TIMM_MODELS]
)
def test_swap_timm_model_reproduces_the_original(one_thread, name, kwargs, kind, same, twin):
    model = _timm_model(name, kwargs)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    _check_swap(model, {"x": x}, kind, same, twin)


@pytest.mark.parametrize(
    "act_layer",
    [timm_act_layer("gelu"), functools.partial(gatelab.create, "gelu")],
    ids=["timm_act_layer", "partial"],
)
@pytest.mark.parametrize(
    "name, kwargs, kind",
    [
        ("resnet18", {}, nn.ReLU),
        ("convnext_atto", {"ls_init_value": 1.0}, timm_acts.GELU),
    ],
)
def test_timm_act_layer_builds_gatelab_models(one_thread, act_layer, name, kwargs, kind):
    reference = _timm_model(name, {**kwargs, "act_layer": "gelu"})  # timm's own GELU
    model = _timm_model(name, {**kwargs, "act_layer": act_layer})
    acts = [m for m in model.modules() if isinstance(m, Activation)]
    assert acts and all(repr(m) == "gelu" for m in acts)
    assert len(acts) == len(_sites(reference, timm_acts.GELU))
    assert not any(isinstance(m, kind) for m in model.modules())
    model.load_state_dict(reference.state_dict())
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert _relative_error(model(x), reference(x)) <= TOLERANCE


def test_timm_act_layer_calls_and_pickles():
    layer = timm_act_layer("e_gem(N=2, eps=1e-4)")
    assert repr(layer) == "timm_act_layer('e_gem(N=2)')"
    for module in (layer(), layer(inplace=True), layer(True), layer(N=3)):
        assert isinstance(module, Activation)
    assert repr(layer(N=3)) == "e_gem(N=3)" and repr(layer(inplace=False)) == "e_gem(N=2)"
    assert pickle.loads(pickle.dumps(layer)) == layer
    assert timm.layers.get_act_layer(layer) is layer
    assert repr(timm.layers.create_act_layer(layer, inplace=True)) == "e_gem(N=2)"
    with pytest.raises(TypeError, match="positional"):
        layer(2)
    with pytest.raises(ValueError, match="unknown activation"):
        timm_act_layer("gelux")


# --- swapping real transformers models ------------------------------------------------------


def _bert(**overrides):
    config = transformers.BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        **overrides,
    )
    return transformers.BertModel(config)


def _gpt2(**overrides):
    config = transformers.GPT2Config(
        vocab_size=100,
        n_embd=32,
        n_layer=2,
        n_head=4,
        n_positions=64,
        bos_token_id=0,
        eos_token_id=0,
        **overrides,
    )
    return transformers.GPT2Model(config)


def _llama(**overrides):
    config = transformers.LlamaConfig(
        vocab_size=100,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        **overrides,
    )
    return transformers.LlamaForCausalLM(config)


HF_MODELS = [
    # builder, activation config key, original class, the same function in gatelab, near twin
    (_bert, "hidden_act", hf_acts.GELUActivation, "gelu", "gelu_sigmoid"),
    (_gpt2, "activation_function", hf_acts.NewGELUActivation, "gelu_tanh", "gelu_sigmoid"),
    (_llama, "hidden_act", hf_acts.SiLUActivation, "silu", "gelu_sigmoid"),
]
HF_IDS = ["bert", "gpt2", "llama"]
IDS = torch.randint(0, 100, (2, 12), generator=torch.Generator().manual_seed(3))


def _seeded(builder, **overrides):
    torch.manual_seed(0)
    return builder(**overrides).eval()


@pytest.mark.parametrize("builder, key, kind, same, twin", HF_MODELS, ids=HF_IDS)
def test_swap_transformers_model_reproduces_the_original(
    one_thread, builder, key, kind, same, twin
):
    model = _seeded(builder)
    assert len(_sites(model, kind)) == 2  # one per layer: the MLP's activation module
    _check_swap(model, {"input_ids": IDS}, kind, same, twin)


def _e_gem_n2(x):
    """x⁵/(1e-4 + x⁴) for x > 0, else 0, in float64: an independent E-GEM(N=2)."""
    x64 = x.double()
    return torch.where(x64 > 0, x64**5 / (1e-4 + x64**4), 0.0).to(x.dtype)


@pytest.mark.parametrize("builder, key, kind, same, twin", HF_MODELS, ids=HF_IDS)
def test_hidden_act_string_survives_the_json_round_trip(
    tmp_path, one_thread, builder, key, kind, same, twin
):
    register_transformers()
    spec = f"{PREFIX}e_gem(N=2)"
    model = _seeded(builder, **{key: spec})
    model.config.save_pretrained(tmp_path)
    assert f'"{key}": "{spec}"' in (tmp_path / "config.json").read_text()

    config = transformers.AutoConfig.from_pretrained(tmp_path)
    assert getattr(config, key) == spec
    loaded = type(model)(config).eval()
    loaded.load_state_dict(model.state_dict())
    acts = [m for m in loaded.modules() if isinstance(m, Activation)]
    assert len(acts) == 2 and all(repr(m) == "e_gem(N=2)" for m in acts)
    assert not any(isinstance(m, kind) for m in loaded.modules())

    reference = _seeded(builder)  # the library's own activation, made to compute E-GEM(N=2)
    reference.load_state_dict(model.state_dict())
    for module in reference.modules():
        if isinstance(module, kind):
            module.forward = _e_gem_n2
    with torch.no_grad():
        got, expected = _output(loaded(input_ids=IDS)), _output(reference(input_ids=IDS))
    assert _relative_error(got, expected) <= TOLERANCE


FRESH = """
import sys, torch, transformers, gatelab
gatelab.integrations.register_transformers()  # the one line a loading script needs
model = transformers.AutoModelForCausalLM.from_pretrained(sys.argv[1]).eval()
ids, expected = torch.load(sys.argv[1] + "/io.pt", weights_only=True)
with torch.no_grad():
    torch.testing.assert_close(model(input_ids=ids).logits, expected)
print(sorted({repr(m) for m in model.modules() if isinstance(m, gatelab.Activation)}))
"""


def test_saved_model_loads_in_a_fresh_process_after_one_call(tmp_path, one_thread):
    register_transformers()
    model = _seeded(_llama, hidden_act=f"{PREFIX}se_gem(alpha=0.2)")
    model.save_pretrained(tmp_path)
    with torch.no_grad():
        torch.save((IDS, model(input_ids=IDS).logits), tmp_path / "io.pt")
    run = subprocess.run(
        [sys.executable, "-c", FRESH, str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['se_gem(alpha=0.2)']"


def test_register_transformers_keys_and_lookup():
    keys = register_transformers()
    assert f"{PREFIX}gelu" in keys and f"{PREFIX}swish" in keys  # names and aliases
    table = hf_acts.ACT2FN
    assert isinstance(table, hf_acts.ClassInstantier)
    assert repr(table[f"{PREFIX}gelu"]) == "gelu"
    # parametrised specs on demand, parsed literally; `in` (config validators) agrees
    assert f"{PREFIX}se_gem(alpha=0.2)" in table
    assert repr(hf_acts.get_activation(f"{PREFIX}se_gem(alpha=0.2)")) == "se_gem(alpha=0.2)"
    for bad in (f"{PREFIX}gelux", f"{PREFIX}gem(N=__import__('os'))", f"{PREFIX}gem(N=0)"):
        assert bad not in table
        with pytest.raises(KeyError):
            table[bad]
    assert "gelux" not in table and repr(table["gelu"]) == "GELUActivation()"  # untouched
    assert register_transformers(["gem(N=3)"]) == [f"{PREFIX}gem(N=3)"]
    assert f"{PREFIX}gem(N=3)" in table.keys()
    with pytest.raises(ValueError):
        register_transformers(["gem(N=0)"])


def test_importing_gatelab_imports_neither_library():
    from test_import import loaded_after

    assert loaded_after("import gatelab, gatelab.integrations", {"timm", "transformers"}) == []
