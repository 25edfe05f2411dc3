"""The transformer feed-forward block: a plain MLP act(xW₁)W₂ or a gated one (act(xW) ⊙ xV)W₂.

Gated linear units follow Shazeer, "GLU Variants Improve Transformer", arXiv:2002.05202:
GEGLU (gelu gate), SwiGLU (silu), ReGLU (relu); the GEM-gated GLU puts a GEM-family activation
(Krause 2026) in the same place, ``gem(N=2)`` by default.

Width rule (Shazeer §2, "we reduce the number of hidden units … by a factor of 2/3"): a plain MLP
of width ``dim`` has two matrices of d × 4d, 8d² weights; a gated one has three of d × h, 3dh
weights, so h = (2/3)·4d keeps the count equal. :func:`mlp_hidden` rounds h to the nearest
multiple of ``multiple_of`` (64: tensor-core friendly), which changes the weight count by at most
``multiple_of / (2h)`` relative (exactly zero for d = 768: h = 2048). Biases (4d + d against
2h + d) are not matched; they are < 0.1% of the block at GPT-2 sizes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..modules import Activation, create
from ..registry import resolve

GLU_ACTIVATIONS: dict[str, str] = {
    "geglu": "gelu",
    "swiglu": "silu",
    "reglu": "relu",
    "gemglu": "gem(N=2)",
}
"""The named gated MLPs and their default gate activations."""

GEM_FAMILY = frozenset({"gem", "e_gem", "se_gem"})
MLP_KINDS = ("plain", "glu", *GLU_ACTIVATIONS)
"""``mlp=`` values: a plain MLP, a GLU gated by ``activation``, or a named GLU variant."""


def mlp_hidden(dim: int, gated: bool, multiple_of: int = 64) -> int:
    """Hidden width of the feed-forward block: 4·dim plain; round((2/3)·4·dim) to the nearest
    positive multiple of `multiple_of` gated (equal weight count within rounding; module
    docstring)."""
    for name, value in (("dim", dim), ("multiple_of", multiple_of)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not gated:
        return 4 * dim
    multiples = max(1, round(8 * dim / (3 * multiple_of)))
    return multiples * multiple_of


def resolve_mlp(mlp: str, activation: str | None) -> tuple[bool, str]:
    """(gated, activation spec) for an ``mlp=`` kind and an optional ``activation`` spec.

    ``activation=None`` takes the kind's default (gelu for "plain", the named gate for a GLU
    variant). "geglu"/"swiglu"/"reglu" fix their gate, "gemglu" accepts any GEM-family spec, and
    "glu" gates with any catalog spec.
    """
    if mlp not in MLP_KINDS:
        raise ValueError(f"unknown mlp {mlp!r}; choose one of {', '.join(MLP_KINDS)}")
    if mlp in ("plain", "glu"):
        return mlp == "glu", activation or "gelu"
    default = GLU_ACTIVATIONS[mlp]
    if activation is None:
        return True, default
    name = resolve(activation)[0].name
    allowed = GEM_FAMILY if mlp == "gemglu" else {resolve(default)[0].name}
    if name not in allowed:
        raise ValueError(
            f"mlp={mlp!r} gates with {' / '.join(sorted(allowed))}, not {activation!r}; "
            f"use mlp='glu' to gate with {activation!r}"
        )
    return True, activation


def _init_linear(layer: nn.Linear, std: float) -> None:
    nn.init.normal_(layer.weight, mean=0.0, std=std)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


class PlainMLP(nn.Module):
    """act(x W₁ + b₁) W₂ + b₂ with hidden width `hidden` (GPT-2 / BERT feed-forward block)."""

    def __init__(self, dim: int, hidden: int, activation: str = "gelu", bias: bool = True) -> None:
        super().__init__()
        self.up = nn.Linear(dim, hidden, bias=bias)
        self.act = create(activation)
        self.down = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.down(self.act(self.up(x)))

    def reset_parameters(self, std: float, out_std: float) -> None:
        """Normal(0, std) weights, zero biases; the output projection gets `out_std`."""
        _init_linear(self.up, std)
        _init_linear(self.down, out_std)


class GatedMLP(nn.Module):
    """(act(x W) ⊙ (x V)) W₂ (Shazeer 2020, eq. 5–6); W and V are one fused Linear of width 2h.

    `activation` is a catalog spec or a named variant ("geglu", "swiglu", "reglu", "gemglu").
    On CUDA the gate runs in gatelab's fused Triton GLU kernel where it covers the call
    (:func:`gatelab.kernels.dispatch.triton_glu`), else through the activation module.
    """

    def __init__(self, dim: int, hidden: int, activation: str = "gelu", bias: bool = True) -> None:
        super().__init__()
        activation = GLU_ACTIVATIONS.get(activation, activation)
        self.hidden = hidden
        self.up = nn.Linear(dim, 2 * hidden, bias=bias)  # [gate | value]
        self.act = create(activation)
        self.down = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        gate, value = self.up(x).split(self.hidden, dim=-1)
        return self.down(self._glu(gate, value))

    def _glu(self, gate: Tensor, value: Tensor) -> Tensor:
        fused = self._triton_glu(gate, value)
        return fused if fused is not None else self.act(gate) * value

    def _triton_glu(self, gate: Tensor, value: Tensor) -> Tensor | None:
        act = self.act
        if not (gate.is_cuda and isinstance(act, Activation)) or torch.compiler.is_compiling():
            return None
        if act.tensor_params(gate):  # learnable parameters: the torch path owns their gradients
            return None
        from ..kernels.dispatch import triton_glu

        return triton_glu(act.spec, gate, value, act.params)

    def reset_parameters(self, std: float, out_std: float) -> None:
        """Normal(0, std) weights, zero biases; the output projection gets `out_std`."""
        _init_linear(self.up, std)
        _init_linear(self.down, out_std)


def build_mlp(
    dim: int, mlp: str = "plain", activation: str | None = None, bias: bool = True
) -> PlainMLP | GatedMLP:
    """The feed-forward block for ``mlp=`` kind and activation spec, at the width of
    :func:`mlp_hidden`."""
    gated, spec = resolve_mlp(mlp, activation)
    block = GatedMLP if gated else PlainMLP
    return block(dim, mlp_hidden(dim, gated), spec, bias)


__all__ = [
    "GLU_ACTIVATIONS",
    "MLP_KINDS",
    "GatedMLP",
    "PlainMLP",
    "build_mlp",
    "mlp_hidden",
    "resolve_mlp",
]
