"""The feed-forward blocks of gatelab.models.glu: the 2/3 width rule (parameter counts derived by
hand), the gated formula against torch's own activations, the mlp-kind / activation rules."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import gatelab
from gatelab.models.glu import GatedMLP, PlainMLP, build_mlp, mlp_hidden, resolve_mlp
from gatelab.modules import Activation


def weight_count(dim: int, hidden: int, gated: bool) -> int:
    """Weights (no biases) of a feed-forward block, by hand: 2·d·h plain, 3·d·h gated."""
    return (3 if gated else 2) * dim * hidden


@pytest.mark.parametrize(
    ("dim", "gated", "hidden"),
    [
        (768, False, 3072),
        (768, True, 2048),
        (512, True, 1344),
        (1024, True, 2752),
        (64, True, 192),
        (8, True, 64),
    ],
)
def test_hidden_width_by_hand(dim, gated, hidden):
    # 2/3·4·512 = 1365.3 → 21·64; 2/3·4·1024 = 2730.7 → 43·64; 2/3·4·64 = 170.7 → 3·64
    assert mlp_hidden(dim, gated) == hidden


@pytest.mark.parametrize("dim", [256, 384, 512, 768, 1024, 1280, 1600, 2048, 4096])
def test_gated_width_keeps_weight_count_within_the_rounding_bound(dim):
    plain = weight_count(dim, mlp_hidden(dim, False), False)
    gated = weight_count(dim, mlp_hidden(dim, True), True)
    exact_hidden = 8 * dim / 3
    assert abs(gated - plain) / plain <= 32 / exact_hidden + 1e-12  # half a multiple of 64
    if dim >= 768:  # GPT-2 widths
        assert abs(gated - plain) / plain < 0.01


def test_gated_block_parameters_match_plain_at_gpt2_width():
    plain, gated = build_mlp(768, "plain"), build_mlp(768, "swiglu")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(plain) == 2 * 768 * 3072 + 3072 + 768
    assert count(gated) == 3 * 768 * 2048 + 2 * 2048 + 768
    assert abs(count(gated) - count(plain)) / count(plain) < 1e-3


@pytest.mark.parametrize("bad", [0, -4, 2.5, True])
def test_hidden_width_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="positive integer"):
        mlp_hidden(bad, True)
    with pytest.raises(ValueError, match="multiple_of"):
        mlp_hidden(64, True, multiple_of=bad)


REFERENCE_GATES = {"geglu": F.gelu, "swiglu": F.silu, "reglu": F.relu}


@pytest.mark.parametrize("kind", sorted(REFERENCE_GATES))
def test_gated_mlp_computes_act_xW_times_xV(kind):
    torch.manual_seed(0)
    block = GatedMLP(16, 24, kind, bias=True).double()
    x = torch.randn(3, 5, 16, dtype=torch.float64)
    w, v = block.up.weight.split(24)
    bw, bv = block.up.bias.split(24)
    hidden = REFERENCE_GATES[kind](x @ w.T + bw) * (x @ v.T + bv)
    expected = hidden @ block.down.weight.T + block.down.bias
    torch.testing.assert_close(block(x), expected, rtol=1e-12, atol=1e-12)


def test_gemglu_gates_with_gem_n2_by_default_and_accepts_any_gem_spec():
    block = build_mlp(32, "gemglu")
    assert isinstance(block, GatedMLP) and repr(block.act) == repr(gatelab.create("gem(N=2)"))
    custom = build_mlp(32, "gemglu", "e_gem(N=2, eps=10)")
    assert repr(custom.act) == repr(gatelab.create("e_gem(N=2, eps=10)"))
    x = torch.randn(4, 32, dtype=torch.float64)
    custom = custom.double()
    gate, value = custom.up(x).split(custom.hidden, dim=-1)
    expected = custom.down(gatelab.get_fn("e_gem(N=2, eps=10)")(gate) * value)
    torch.testing.assert_close(custom(x), expected)


def test_plain_mlp_is_act_of_first_layer_then_second():
    torch.manual_seed(1)
    block = build_mlp(8, "plain", "relu").double()
    assert isinstance(block, PlainMLP) and block.up.out_features == 32
    x = torch.randn(6, 8, dtype=torch.float64)
    expected = F.relu(x @ block.up.weight.T + block.up.bias) @ block.down.weight.T
    torch.testing.assert_close(block(x), expected + block.down.bias)


def test_every_activation_module_is_a_gatelab_activation():
    for kind in ("plain", "glu", "geglu", "swiglu", "reglu", "gemglu"):
        block = build_mlp(16, kind)
        assert isinstance(block.act, Activation)


def test_mlp_kind_and_activation_rules():
    assert resolve_mlp("plain", None) == (False, "gelu")
    assert resolve_mlp("glu", "mish") == (True, "mish")
    assert resolve_mlp("swiglu", None) == (True, "silu")
    assert resolve_mlp("swiglu", "silu") == (True, "silu")
    with pytest.raises(ValueError, match="mlp='glu'"):
        resolve_mlp("swiglu", "gelu")
    with pytest.raises(ValueError, match="e_gem"):
        resolve_mlp("gemglu", "relu")
    with pytest.raises(ValueError, match="choose one of plain, glu, geglu"):
        resolve_mlp("moe", None)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the fused GLU kernel needs CUDA")
def test_cuda_fused_gate_matches_the_torch_path():
    torch.manual_seed(0)
    block = GatedMLP(64, 128, "gemglu").cuda()
    x = torch.randn(4, 64, device="cuda", requires_grad=True)
    fused = block(x)
    gate, value = block.up(x).split(128, dim=-1)
    reference = block.down(block.act(gate) * value)
    torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-5)
    (g_fused,) = torch.autograd.grad(fused.sum(), x)
    (g_ref,) = torch.autograd.grad(reference.sum(), x)
    torch.testing.assert_close(g_fused, g_ref, rtol=1e-4, atol=1e-5)
