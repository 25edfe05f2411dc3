"""A GPT-2 decoder in the style of nanoGPT (Karpathy, github.com/karpathy/nanoGPT, model.py).

Radford et al. 2019, "Language Models are Unsupervised Multitask Learners" §2.3: pre-LN blocks
(LayerNorm before attention and before the MLP, a final LayerNorm), learned position embeddings,
input and output embeddings tied. As in nanoGPT: one fused qkv Linear, causal attention through
``F.scaled_dot_product_attention(is_causal=True)`` (flash kernels on GPU, no loop over heads),
weights N(0, 0.02), zero biases, and the residual output projections N(0, 0.02/√(2·n_layer))
(GPT-2 §2.3, "scale the weights of residual layers at initialization by 1/√N").

The MLP's activation is any catalog spec; ``mlp=`` selects a plain or gated feed-forward block
(:mod:`gatelab.models.glu`). The 124m preset is GPT-2 small: 12 layers, 12 heads, width 768,
context 1024, vocabulary 50257, 124,439,808 parameters with biases and tied embeddings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .glu import build_mlp, resolve_mlp

INIT_STD = 0.02
"""Standard deviation of every weight at initialisation (GPT-2, BERT, nanoGPT)."""


def check_transformer_shape(**sizes: Any) -> None:
    """Raise a ValueError naming the fix for non-positive sizes or width % heads ≠ 0."""
    for name in ("vocab_size", "context", "n_layer", "n_head", "dim"):
        value = sizes[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if sizes["dim"] % sizes["n_head"]:
        raise ValueError(
            f"dim={sizes['dim']} must be divisible by n_head={sizes['n_head']} "
            "(each head gets dim / n_head channels)"
        )
    if not 0.0 <= sizes["dropout"] < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {sizes['dropout']!r}")
    resolve_mlp(sizes["mlp"], sizes["activation"])


@dataclass(frozen=True)
class GPTConfig:
    """Sizes and choices of :class:`GPT`. `activation` is a catalog spec for the MLP; None takes
    the `mlp` kind's default (gelu for "plain", the named gate for "swiglu" etc.)."""

    vocab_size: int = 50257
    context: int = 1024
    n_layer: int = 12
    n_head: int = 12
    dim: int = 768
    activation: str | None = None
    mlp: str = "plain"
    dropout: float = 0.0
    bias: bool = True

    PRESETS: ClassVar[dict[str, dict[str, int]]] = {
        "124m": {"context": 1024, "n_layer": 12, "n_head": 12, "dim": 768},
        "smoke": {"context": 64, "n_layer": 2, "n_head": 4, "dim": 128},
    }
    """Named sizes: GPT-2 small (nanoGPT's gpt2), and one that trains on 2 CPU cores in seconds."""

    def __post_init__(self) -> None:
        check_transformer_shape(**{f.name: getattr(self, f.name) for f in fields(self)})

    @property
    def gate(self) -> str:
        """The activation spec the MLP actually uses (`activation` or the `mlp` kind's default)."""
        return resolve_mlp(self.mlp, self.activation)[1]

    @classmethod
    def preset(cls, name: str, vocab_size: int = 50257, **overrides: Any) -> GPTConfig:
        """The named configuration ("124m" or "smoke") for `vocab_size`; `overrides` win."""
        if name not in cls.PRESETS:
            raise ValueError(f"unknown GPT preset {name!r}; choose one of {', '.join(cls.PRESETS)}")
        return replace(cls(vocab_size=vocab_size, **cls.PRESETS[name]), **overrides)


class SelfAttention(nn.Module):
    """Multi-head self-attention: one fused qkv Linear, ``scaled_dot_product_attention`` over all
    heads at once, an output projection (Vaswani et al. 2017 §3.2.2)."""

    def __init__(self, dim: int, n_head: int, bias: bool, dropout: float, causal: bool) -> None:
        super().__init__()
        self.n_head, self.dropout, self.causal = n_head, dropout, causal
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        batch, length, dim = x.shape
        heads = self.qkv(x).view(batch, length, 3, self.n_head, dim // self.n_head)
        q, k, v = heads.permute(2, 0, 3, 1, 4).unbind(0)  # each (batch, head, length, head_dim)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=self.causal,
        )
        return self.proj(y.transpose(1, 2).reshape(batch, length, dim))


class Block(nn.Module):
    """A transformer block: pre-LN x + attn(LN(x)), x + mlp(LN(x)) (GPT-2 §2.3), or post-LN
    LN(x + attn(x)), LN(x + mlp(x)) (Vaswani et al. 2017; BERT) when ``pre_norm=False``."""

    def __init__(
        self,
        dim: int,
        n_head: int,
        *,
        activation: str | None,
        mlp: str,
        bias: bool,
        dropout: float,
        causal: bool,
        pre_norm: bool = True,
    ) -> None:
        super().__init__()
        self.pre_norm = pre_norm
        self.ln_1 = nn.LayerNorm(dim, bias=bias)
        self.attn = SelfAttention(dim, n_head, bias, dropout, causal)
        self.ln_2 = nn.LayerNorm(dim, bias=bias)
        self.mlp = build_mlp(dim, mlp, activation, bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        if self.pre_norm:
            x = x + self.drop(self.attn(self.ln_1(x), attn_mask))
            return x + self.drop(self.mlp(self.ln_2(x)))
        x = self.ln_1(x + self.drop(self.attn(x, attn_mask)))
        return self.ln_2(x + self.drop(self.mlp(x)))

    def reset_parameters(self, std: float, out_std: float) -> None:
        """Weights N(0, std), the two residual output projections N(0, out_std), biases 0,
        LayerNorms identity."""
        nn.init.normal_(self.attn.qkv.weight, std=std)
        nn.init.normal_(self.attn.proj.weight, std=out_std)
        for layer in (self.attn.qkv, self.attn.proj):
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        self.mlp.reset_parameters(std, out_std)
        self.ln_1.reset_parameters()
        self.ln_2.reset_parameters()


def language_model_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy over positions whose target is not -100 (PyTorch's ignore_index),
    computed in float32 whatever the logits' dtype."""
    return F.cross_entropy(logits.float().flatten(0, -2), targets.flatten(), ignore_index=-100)


def transformer_flops_per_token(non_embedding_params: int, n_layer: int, dim: int, context: int):
    """Training FLOPs per token, 6N + 12·L·d·T: 6 per weight (forward 2, backward 4) plus the
    attention scores and weighted sum (Chowdhery et al. 2022, PaLM, appendix B; nanoGPT's
    ``estimate_mfu``). N excludes the embeddings, whose forward is a lookup."""
    return 6 * non_embedding_params + 12 * n_layer * dim * context


class GPT(nn.Module):
    """GPT-2 decoder: token + position embeddings → n_layer pre-LN causal blocks → LayerNorm →
    logits by the tied token embedding. ``forward(idx, targets=None) -> (logits, loss)``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.dim)
        self.wpe = nn.Embedding(config.context, config.dim)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            Block(
                config.dim,
                config.n_head,
                activation=config.activation,
                mlp=config.mlp,
                bias=config.bias,
                dropout=config.dropout,
                causal=True,
            )
            for _ in range(config.n_layer)
        )
        self.ln_f = nn.LayerNorm(config.dim, bias=config.bias)
        self.lm_head = nn.Linear(config.dim, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied (GPT-2; Press & Wolf 2017)
        self.register_buffer("positions", torch.arange(config.context), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nanoGPT's initialisation (module docstring)."""
        nn.init.normal_(self.wte.weight, std=INIT_STD)
        nn.init.normal_(self.wpe.weight, std=INIT_STD)
        out_std = INIT_STD / math.sqrt(2 * self.config.n_layer)
        for block in self.blocks:
            block.reset_parameters(INIT_STD, out_std)
        self.ln_f.reset_parameters()

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Logits (batch, length, vocab) for token ids `idx` (batch, length); with `targets`
        (same shape, -100 = ignore) also the mean next-token cross-entropy."""
        length = idx.shape[1]
        if length > self.config.context:
            raise ValueError(
                f"sequence length {length} exceeds the model's context {self.config.context}; "
                "crop the input or build the model with a larger context"
            )
        x = self.drop(self.wte(idx) + self.wpe(self.positions[:length]))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = None if targets is None else language_model_loss(logits, targets)
        return logits, loss

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameter count (tied weights once); ``non_embedding=True`` leaves out the position
        embedding (the token embedding is also the output layer, so it stays, as in nanoGPT)."""
        total = sum(p.numel() for p in self.parameters())
        return total - self.wpe.weight.numel() if non_embedding else total

    def flops_per_token(self) -> int:
        """Training FLOPs per token at full context (:func:`transformer_flops_per_token`)."""
        c = self.config
        return transformer_flops_per_token(self.num_params(True), c.n_layer, c.dim, c.context)

    def estimate_mfu(self, tokens_per_second: float, peak_flops: float = 989e12) -> float:
        """Model FLOPs utilisation: achieved training FLOP/s over `peak_flops` (default: H100
        SXM dense bf16, 989 TFLOP/s)."""
        return self.flops_per_token() * tokens_per_second / peak_flops


__all__ = [
    "GPT",
    "INIT_STD",
    "Block",
    "GPTConfig",
    "SelfAttention",
    "language_model_loss",
    "transformer_flops_per_token",
]
