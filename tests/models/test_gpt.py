"""The GPT-2 decoder: nanoGPT's 124M parameter count and FLOP estimate derived by hand, causal
masking, tied embeddings, the scaled residual initialisation, ln(vocab) loss at initialisation,
and a smoke model learning the standard-library corpus."""

from __future__ import annotations

import math

import pytest
import torch

import gatelab
from gatelab.models.glu import MLP_KINDS
from gatelab.models.gpt import GPT, GPTConfig
from gatelab.modules import Activation
from models.helpers import validation_loss_drop


def meta_gpt(**overrides) -> GPT:
    """A full-size model on the meta device: shapes without memory or initialisation time."""
    with torch.device("meta"):
        return GPT(GPTConfig.preset("124m", **overrides))


def test_124m_parameter_count_by_hand():
    vocab, context, width, layers = 50257, 1024, 768, 12
    layer_norm = 2 * width
    attention = (width * 3 * width + 3 * width) + (width * width + width)
    mlp = (width * 4 * width + 4 * width) + (4 * width * width + width)
    block = layer_norm + attention + layer_norm + mlp
    expected = vocab * width + context * width + layers * block + layer_norm  # wte wpe h ln_f
    model = meta_gpt()
    assert model.num_params() == expected == 124_439_808  # nanoGPT's number
    assert model.num_params(non_embedding=True) == expected - context * width


def test_124m_flops_per_token_is_6n_plus_attention():
    model = meta_gpt()
    n = 124_439_808 - 1024 * 768
    assert model.flops_per_token() == 6 * n + 12 * 12 * 768 * 1024
    tokens_per_second = 1e6
    assert model.estimate_mfu(tokens_per_second, 1e15) == pytest.approx(
        model.flops_per_token() * 1e6 / 1e15
    )


@pytest.mark.parametrize("mlp", [k for k in MLP_KINDS if k != "plain"])
def test_gated_mlps_keep_the_124m_parameter_count(mlp):
    count = meta_gpt(mlp=mlp, activation=None).num_params()
    assert abs(count - 124_439_808) / 124_439_808 < 1e-3


def test_output_layer_is_tied_to_the_token_embedding():
    model = GPT(GPTConfig.preset("smoke", vocab_size=50))
    assert model.lm_head.weight is model.wte.weight
    names = [name for name, _ in model.named_parameters()]
    assert "lm_head.weight" not in names  # counted once


def test_changing_a_future_token_leaves_earlier_logits_unchanged():
    torch.manual_seed(0)
    model = GPT(GPTConfig.preset("smoke", vocab_size=50)).eval()
    idx = torch.randint(0, 50, (2, 20))
    changed = idx.clone()
    changed[:, 12] = (idx[:, 12] + 1) % 50
    before, _ = model(idx)
    after, _ = model(changed)
    torch.testing.assert_close(before[:, :12], after[:, :12], rtol=0, atol=1e-6)
    assert (before[:, 12:] - after[:, 12:]).abs().amax() > 1e-4


def test_untrained_loss_is_log_vocab():
    torch.manual_seed(0)
    model = GPT(GPTConfig.preset("smoke", vocab_size=260))
    idx, targets = torch.randint(0, 260, (2, 8, 64))
    logits, loss = model(idx, targets)
    assert logits.shape == (8, 64, 260)
    assert loss.item() == pytest.approx(math.log(260), abs=0.1)
    targets[:, ::2] = -100
    _, half = model(idx, targets)  # ignored targets drop out of the mean
    expected = torch.nn.functional.cross_entropy(
        logits[:, 1::2].reshape(-1, 260), targets[:, 1::2].reshape(-1)
    )
    torch.testing.assert_close(half, expected)


def test_nanogpt_initialisation_scales_residual_projections():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=64, context=32, n_layer=8, n_head=4, dim=256))
    residual_std = 0.02 / math.sqrt(2 * 8)
    for block in model.blocks:
        assert block.attn.qkv.weight.std().item() == pytest.approx(0.02, rel=0.03)
        assert block.attn.proj.weight.std().item() == pytest.approx(residual_std, rel=0.03)
        assert block.mlp.down.weight.std().item() == pytest.approx(residual_std, rel=0.03)
        assert block.attn.qkv.bias.abs().max() == 0
    assert model.wte.weight.std().item() == pytest.approx(0.02, rel=0.03)


@pytest.mark.parametrize("mlp", MLP_KINDS)
def test_every_activation_is_a_gatelab_activation_one_per_block(mlp):
    spec = "e_gem(N=2, eps=10)" if mlp in ("plain", "glu", "gemglu") else None
    model = GPT(GPTConfig.preset("smoke", vocab_size=32, mlp=mlp, activation=spec))
    activations = [m for m in model.modules() if isinstance(m, Activation)]
    assert len(activations) == model.config.n_layer
    assert len({id(m) for m in activations}) == model.config.n_layer
    if spec is not None:
        assert all(repr(m) == repr(gatelab.create(spec)) for m in activations)
    assert repr(activations[0]) == repr(gatelab.create(model.config.gate))
    assert model(torch.randint(0, 32, (2, 16)))[0].shape == (2, 16, 32)


def test_bad_configurations_name_the_fix():
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPTConfig(vocab_size=10, dim=100, n_head=3)
    with pytest.raises(ValueError, match="unknown GPT preset"):
        GPTConfig.preset("huge")
    with pytest.raises(ValueError, match="vocab_size must be a positive integer"):
        GPTConfig(vocab_size=0)
    with pytest.raises(ValueError, match="mlp='glu'"):
        GPTConfig.preset("smoke", mlp="swiglu", activation="relu")
    model = GPT(GPTConfig.preset("smoke", vocab_size=10, context=8))
    with pytest.raises(ValueError, match="exceeds the model's context 8"):
        model(torch.zeros(1, 9, dtype=torch.long))


def test_smoke_model_learns_the_stdlib_corpus(stdlib_bytes, one_thread):
    torch.manual_seed(0)
    data = stdlib_bytes
    model = GPT(GPTConfig.preset("smoke", vocab_size=data.vocab_size))
    before, after = validation_loss_drop(
        model, lambda split, *args: getattr(data, split).sample(*args)
    )
    assert before > 5.0 and after < before - 1.0  # ln 260 = 5.56 → byte unigram level ≈ 3.5
