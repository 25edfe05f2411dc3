"""The BERT masked-LM encoder: BERT-Small's parameter count derived by hand, bidirectional
attention and padding masks, the masked-positions-only loss, ln(vocab) loss at initialisation,
and a smoke model learning the standard-library corpus."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from gatelab.data.text import BYTE_SPECIALS, mask_tokens
from gatelab.models.bert import Bert, BertConfig
from gatelab.modules import Activation
from models.helpers import validation_loss_drop


def test_small_preset_is_bert_small_with_parameters_counted_by_hand():
    vocab = 1000
    config = BertConfig.preset("small", vocab_size=vocab)
    assert (config.n_layer, config.dim, config.n_head, config.context) == (4, 512, 8, 512)
    d = 512
    layer_norm = 2 * d
    attention = (d * 3 * d + 3 * d) + (d * d + d)
    mlp = (d * 4 * d + 4 * d) + (4 * d * d + d)
    embeddings = vocab * d + 512 * d + layer_norm
    head = (d * d + d) + layer_norm + vocab  # dense, LayerNorm, output bias (decoder is tied)
    expected = embeddings + 4 * (attention + mlp + 2 * layer_norm) + head
    with torch.device("meta"):
        model = Bert(config)
    assert model.num_params() == expected
    assert model.flops_per_token() == 6 * (expected - 512 * d) + 12 * 4 * d * 512


def test_decoder_is_tied_to_the_token_embedding():
    model = Bert(BertConfig.preset("smoke", vocab_size=40))
    assert model.head.embedding.weight is model.wte.weight
    assert sum(p.numel() for p in model.parameters()) == model.num_params()


def test_attention_is_bidirectional():
    torch.manual_seed(0)
    model = Bert(BertConfig.preset("smoke", vocab_size=40)).eval()
    ids = torch.randint(0, 40, (2, 16))
    changed = ids.clone()
    changed[:, 10] = (ids[:, 10] + 1) % 40
    before, after = model(ids)[0], model(changed)[0]
    assert (before[:, :10] - after[:, :10]).abs().amax() > 1e-4  # earlier positions see it


def test_padding_mask_hides_padded_positions():
    torch.manual_seed(0)
    model = Bert(BertConfig.preset("smoke", vocab_size=40)).eval()
    ids = torch.randint(0, 40, (2, 16))
    real = torch.ones(2, 16, dtype=torch.bool)
    real[:, 12:] = False
    other = ids.clone()
    other[:, 12:] = (ids[:, 12:] + 7) % 40
    before, after = model(ids, attention_mask=real)[0], model(other, attention_mask=real)[0]
    torch.testing.assert_close(before[:, :12], after[:, :12], rtol=0, atol=1e-5)


def test_loss_covers_masked_positions_only_and_starts_at_log_vocab():
    torch.manual_seed(0)
    model = Bert(BertConfig.preset("smoke", vocab_size=BYTE_SPECIALS.vocab_size))
    ids = torch.randint(0, 256, (8, 64))
    masked, labels = mask_tokens(ids, BYTE_SPECIALS, torch.Generator().manual_seed(0))
    logits, loss = model(masked, labels)
    chosen = labels != -100
    assert logits.shape == (int(chosen.sum()), BYTE_SPECIALS.vocab_size)
    full, _ = model(masked)
    torch.testing.assert_close(loss, F.cross_entropy(full[chosen], labels[chosen]))
    assert loss.item() == pytest.approx(math.log(BYTE_SPECIALS.vocab_size), abs=0.15)
    dense = Bert(replace(model.config, decode_masked_only=False))
    dense.load_state_dict(model.state_dict())
    dense_logits, dense_loss = dense(masked, labels)
    assert dense_logits.shape == (8, 64, BYTE_SPECIALS.vocab_size)
    torch.testing.assert_close(dense_loss, loss)
    with pytest.raises(ValueError, match="labels must have the shape of ids"):
        model(masked, labels[:, :10])


ACTIVATION_CASES = [("plain", "gelu"), ("gemglu", "e_gem(N=2, eps=10)"), ("swiglu", None)]


@pytest.mark.parametrize(("mlp", "activation"), ACTIVATION_CASES)
def test_every_activation_is_a_gatelab_activation(mlp, activation):
    config = BertConfig.preset("smoke", vocab_size=40, mlp=mlp, activation=activation)
    model = Bert(config)
    activations = [m for m in model.modules() if isinstance(m, Activation)]
    assert len({id(m) for m in activations}) == config.n_layer + 1  # one per block + the head
    assert len({repr(m) for m in activations}) == 1


def test_pre_norm_variant_adds_a_final_layer_norm():
    post = Bert(BertConfig.preset("smoke", vocab_size=40))
    pre = Bert(BertConfig.preset("smoke", vocab_size=40, pre_norm=True))
    assert isinstance(post.ln_f, torch.nn.Identity) and isinstance(pre.ln_f, torch.nn.LayerNorm)
    assert pre.num_params() == post.num_params() + 2 * 128


def test_bad_configurations_name_the_fix():
    with pytest.raises(ValueError, match="unknown BERT preset"):
        BertConfig.preset("large", vocab_size=10)
    with pytest.raises(ValueError, match="dropout"):
        BertConfig.preset("smoke", vocab_size=10, dropout=1.0)
    model = Bert(BertConfig.preset("smoke", vocab_size=10))
    with pytest.raises(ValueError, match="exceeds the model's context 64"):
        model(torch.zeros(1, 65, dtype=torch.long))


def test_smoke_model_learns_masked_bytes_of_the_stdlib_corpus(stdlib_bytes, one_thread):
    torch.manual_seed(0)
    data = stdlib_bytes
    model = Bert(BertConfig.preset("smoke", vocab_size=data.vocab_size))
    before, after = validation_loss_drop(
        model, lambda split, *args: getattr(data, split).mlm_batch(*args)
    )
    assert before > 5.0 and after < before - 1.0  # ln 260 = 5.56 → byte unigram level ≈ 3.5
