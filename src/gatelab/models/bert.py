"""A BERT encoder trained with masked-language modelling (Devlin et al. 2019, arXiv:1810.04805).

Architecture as in BERT §3 and Google's reference ``modeling.py``: token + learned position
embeddings, LayerNorm and dropout; post-LN transformer layers (LN(x + sublayer(x)), Vaswani et al.
2017) with bidirectional attention; the masked-LM head "dense → activation → LayerNorm →
decoder tied to the token embeddings + output bias". All weights N(0, 0.02), biases 0. There are
no token-type (segment) embeddings: the next-sentence task is not trained (RoBERTa, Liu et al.
2019, drops it). ``pre_norm=True`` gives the pre-LN variant (with a final LayerNorm).

The "small" preset is BERT-Small of Turc et al. 2019, "Well-Read Students Learn Better"
(arXiv:1908.08962): 4 layers, width 512, 8 heads, feed-forward 4·512, context 512; the masking
rule (15%, 80/10/10) is :meth:`gatelab.data.text.TokenStream.mlm_batch`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..modules import create
from .glu import resolve_mlp
from .gpt import (
    INIT_STD,
    Block,
    check_transformer_shape,
    language_model_loss,
    transformer_flops_per_token,
)


@dataclass(frozen=True)
class BertConfig:
    """Sizes and choices of :class:`Bert`. `activation` is a catalog spec for the MLP and the
    masked-LM head; None takes the `mlp` kind's default (gelu for "plain")."""

    vocab_size: int
    context: int = 512
    n_layer: int = 4
    n_head: int = 8
    dim: int = 512
    activation: str | None = None
    mlp: str = "plain"
    dropout: float = 0.1
    bias: bool = True
    pre_norm: bool = False
    decode_masked_only: bool = True
    """With labels, run the output layer on the masked positions only (fast); False decodes
    every position, keeping shapes static for ``torch.compile``."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "small": {"context": 512, "n_layer": 4, "n_head": 8, "dim": 512, "dropout": 0.1},
        "smoke": {"context": 64, "n_layer": 2, "n_head": 4, "dim": 128, "dropout": 0.0},
    }
    """Named sizes: BERT-Small (Turc et al. 2019) and one that trains on 2 CPU cores in seconds."""

    def __post_init__(self) -> None:
        check_transformer_shape(**{f.name: getattr(self, f.name) for f in fields(self)})

    @property
    def gate(self) -> str:
        """The activation spec the MLP actually uses (`activation` or the `mlp` kind's default)."""
        return resolve_mlp(self.mlp, self.activation)[1]

    @classmethod
    def preset(cls, name: str, vocab_size: int, **overrides: Any) -> BertConfig:
        """The named configuration ("small" or "smoke") for `vocab_size`; `overrides` win."""
        if name not in cls.PRESETS:
            raise ValueError(
                f"unknown BERT preset {name!r}; choose one of {', '.join(cls.PRESETS)}"
            )
        return replace(cls(vocab_size=vocab_size, **cls.PRESETS[name]), **overrides)


class MaskedLMHead(nn.Module):
    """BERT's ``cls/predictions``: dense → activation → LayerNorm → tied decoder + bias."""

    def __init__(self, dim: int, activation: str, embedding: nn.Embedding, bias: bool) -> None:
        super().__init__()
        self.dense = nn.Linear(dim, dim, bias=bias)
        self.act = create(activation)
        self.ln = nn.LayerNorm(dim, bias=bias)
        self.embedding = embedding  # shared with the encoder: its weight is the decoder
        self.out_bias = nn.Parameter(torch.zeros(embedding.num_embeddings))

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.ln(self.act(self.dense(x)))
        return hidden @ self.embedding.weight.t() + self.out_bias

    def reset_parameters(self, std: float) -> None:
        nn.init.normal_(self.dense.weight, std=std)
        if self.dense.bias is not None:
            nn.init.zeros_(self.dense.bias)
        self.ln.reset_parameters()
        nn.init.zeros_(self.out_bias)


class Bert(nn.Module):
    """BERT encoder with its masked-LM head. ``forward(ids, labels=None) -> (logits, loss)``."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.dim)
        self.wpe = nn.Embedding(config.context, config.dim)
        self.ln_emb = nn.LayerNorm(config.dim, bias=config.bias)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            Block(
                config.dim,
                config.n_head,
                activation=config.activation,
                mlp=config.mlp,
                bias=config.bias,
                dropout=config.dropout,
                causal=False,
                pre_norm=config.pre_norm,
            )
            for _ in range(config.n_layer)
        )
        self.ln_f = nn.LayerNorm(config.dim, bias=config.bias) if config.pre_norm else nn.Identity()
        self.head = MaskedLMHead(config.dim, config.gate, self.wte, config.bias)
        self.register_buffer("positions", torch.arange(config.context), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight N(0, 0.02), biases 0, LayerNorms identity (BERT ``initializer_range``)."""
        nn.init.normal_(self.wte.weight, std=INIT_STD)
        nn.init.normal_(self.wpe.weight, std=INIT_STD)
        self.ln_emb.reset_parameters()
        for block in self.blocks:
            block.reset_parameters(INIT_STD, INIT_STD)
        if isinstance(self.ln_f, nn.LayerNorm):
            self.ln_f.reset_parameters()
        self.head.reset_parameters(INIT_STD)

    def encode(self, ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Final hidden states (batch, length, dim); `attention_mask` (batch, length) marks the
        real tokens (True/1) that may be attended to, padding False/0."""
        length = ids.shape[1]
        if length > self.config.context:
            raise ValueError(
                f"sequence length {length} exceeds the model's context {self.config.context}; "
                "crop the input or build the model with a larger context"
            )
        mask = None if attention_mask is None else attention_mask.bool()[:, None, None, :]
        x = self.drop(self.ln_emb(self.wte(ids) + self.wpe(self.positions[:length])))
        for block in self.blocks:
            x = block(x, mask)
        return self.ln_f(x)

    def forward(
        self, ids: Tensor, labels: Tensor | None = None, attention_mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Logits (batch, length, vocab) for `ids`; with `labels` (same shape, -100 at unmasked
        positions) also the mean cross-entropy over the masked positions. With labels and
        ``config.decode_masked_only`` the logits are those of the masked positions only,
        (n_masked, vocab) in row-major order: the output layer then runs on ~15% of the tokens
        (as NVIDIA's BERT pre-training gathers the masked positions)."""
        hidden = self.encode(ids, attention_mask)
        if labels is None:
            return self.head(hidden), None
        if labels.shape != ids.shape:
            raise ValueError(
                f"labels must have the shape of ids {tuple(ids.shape)}, got {tuple(labels.shape)}"
            )
        if not self.config.decode_masked_only:
            logits = self.head(hidden)
            return logits, language_model_loss(logits, labels)
        masked = labels != -100
        logits = self.head(hidden[masked])
        return logits, language_model_loss(logits, labels[masked])

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameter count (tied weights once); ``non_embedding=True`` leaves out the position
        embedding (the token embedding is also the decoder)."""
        total = sum(p.numel() for p in self.parameters())
        return total - self.wpe.weight.numel() if non_embedding else total

    def flops_per_token(self) -> int:
        """Training FLOPs per token at full context, 6N + 12·L·d·T (PaLM appendix B), counting
        the output layer for every token (an upper bound when only masked tokens are decoded)."""
        c = self.config
        return transformer_flops_per_token(self.num_params(True), c.n_layer, c.dim, c.context)


__all__ = ["Bert", "BertConfig", "MaskedLMHead"]
