"""Fully connected classifiers of Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)",
arXiv:1606.08415: the MNIST classifier (§3.1), the Twitter POS window tagger (§3.3) and the
TIMIT frame classifier (§3.4).

All three share one shape — `depth` hidden Linear → activation → Dropout layers and a linear
output — and one initialisation, "unit-norm weight rows, zero biases": the official code
(github.com/hendrycks/GELUs, mnist_fcn.py, twitter_pos.py, timit_fcn.py) draws every weight
matrix, the output layer's included, from N(0, 1) and applies ``tf.nn.l2_normalize(W, 0)`` to
its [in, out] layout, i.e. each output unit's weight vector — a row of PyTorch's [out, in]
weight — has unit L2 norm.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..modules import create


def unit_norm_rows_(layer: nn.Linear) -> None:
    """Re-initialise `layer` in place: weight rows ~ N(0, I) scaled to unit L2 norm, bias 0
    (Hendrycks & Gimpel §3.1; ``tf.nn.l2_normalize(tf.random_normal([in, out]), 0)``)."""
    with torch.no_grad():
        layer.weight.normal_()
        layer.weight.div_(layer.weight.norm(dim=1, keepdim=True))
        if layer.bias is not None:
            layer.bias.zero_()


#: Initialisations of the fully connected models (the task option ``init``).
INITS = ("paper", "kaiming", "gain")


def check_init(init: str) -> str:
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    return init


def init_linear_(layer: nn.Linear, init: str, gain: float) -> None:
    """Re-initialise `layer` in place, bias 0, weight by `init`:

    - ``paper``: unit-norm rows (:func:`unit_norm_rows_`, the GELU paper's code);
    - ``kaiming``: N(0, 2/fan_in) (He et al. 2015, arXiv:1502.01852, eq. 10; torch's
      ``kaiming_normal_`` for ReLU), every layer;
    - ``gain``: N(0, gain²/fan_in) — the variance-preserving rule of He et al. §2.2 for any
      activation: Var[y] = fan_in·Var[w]·E[x²] (their eq. 7) is kept at 1 with `gain` =
      ``gatelab.init_gain(activation)`` = 1/√E[f(z)²] for a layer fed by the activation and
      `gain` = 1/√E[x²] = 1/input_rms for the layer fed by the data (:func:`reset_chain_`).
    """
    if init == "paper":
        unit_norm_rows_(layer)
        return
    std = (math.sqrt(2.0) if init == "kaiming" else gain) / math.sqrt(layer.in_features)
    with torch.no_grad():
        layer.weight.normal_(0.0, std)
        if layer.bias is not None:
            layer.bias.zero_()


def reset_chain_(
    layers: list[nn.Module], init: str, activation: str, input_rms: float = 1.0
) -> None:
    """Initialise every Linear of `layers` (in forward order) by `init` (see init_linear_).

    `input_rms` = √E[x²] of the data fed to the first layer (1 for standardised inputs) sets
    that layer's gain under ``gain``. It matters: MNIST pixels in [0, 1] have E[x²] ≈ 0.10,
    and with gain 1 on the first layer the pre-activations of every layer have second moment
    ≈ 0.1 instead of 1 — gem(N=1) then stayed at chance (10 % test accuracy) on mnist-5k
    after 3 epochs at lr 1e-3, and reaches 53.5 % with the first layer compensated
    (`gatelab run mnist-mlp --activation "gem(N=1)" --set init=gain --epochs 3`, 2026-12-02).
    """
    check_init(init)
    check_input_rms(input_rms)
    gain = 1.0
    if init == "gain":
        from ..gain import init_gain

        gain = init_gain(activation)
    first = True
    for module in layers:
        if isinstance(module, nn.Linear):
            init_linear_(module, init, 1.0 / input_rms if first else gain)
            first = False


def check_input_rms(input_rms: float) -> float:
    if not (isinstance(input_rms, (int, float)) and math.isfinite(input_rms) and input_rms > 0):
        raise ValueError(f"input_rms must be a positive finite number (√E[x²]), got {input_rms!r}")
    return float(input_rms)


def input_rms(x: Tensor) -> float:
    """√E[x²] over every element of `x` (He et al. 2015, eq. 7's E[x²] for the first layer)."""
    return math.sqrt(float(x.double().square().mean()))


class Dropout(nn.Dropout):
    """Inverted dropout whose mask is ``torch.rand(shape) < 1 − p`` (scaled by 1/(1 − p)).

    The same distribution as ``nn.Dropout``; drawn this way because torch's CPU dropout
    (``bernoulli_``) costs 164 µs per 128×128 mask against 43 µs for ``torch.rand`` on 2 cores
    (measured) — an MLP with dropout spent a third of its step there — and because
    gatelab.ensemble can then draw every member's mask from that member's own generator with
    the very same call, so that a member's masks are its sequential run's bit for bit.
    """

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)


def dropout(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None):
    """x · [rand < 1 − p] / (1 − p) in training (rand from `generator`, default torch's)."""
    if not training or p == 0:
        return x
    return x * dropout_scale(x, p, generator)


def dropout_scale(
    like: Tensor, p: float, generator: torch.Generator | None = None, out: Tensor | None = None
) -> Tensor:
    """The mask of :func:`dropout` for a tensor shaped like `like` (into `out` if given):
    1/(1 − p) where ``torch.rand(shape, generator) < 1 − p``, else 0, in `like`'s dtype."""
    keep = 1.0 - p
    draws = torch.rand(like.shape, generator=generator, device=like.device)
    if out is None:
        return (draws < keep).to(like.dtype).div_(keep)
    return torch.lt(draws, keep, out=out).div_(keep)


def check_dropout(p: float) -> None:
    """Raise a ValueError naming the fix unless 0 ≤ p < 1 (p is the drop probability)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(
            f"dropout is the probability of dropping a unit and must lie in [0, 1), got {p!r} "
            "(a paper's keep probability k is dropout = 1 - k)"
        )


def check_positive(**sizes: int) -> None:
    """Raise a ValueError for the first size that is not a positive integer."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


class MLP(nn.Module):
    """`depth` × [Linear(hidden) → activation → Dropout(dropout)] → Linear(out_features).

    Hendrycks & Gimpel §3.1: 8 hidden layers of 128 units with a linear output; dropout is
    applied after every hidden layer's activation (the paper's keep probability 0.5 is
    ``dropout=0.5``; keep 1.0 is ``dropout=0.0``, which adds no Dropout modules). Inputs with
    more than two dimensions (images) are flattened from dimension 1. Every activation is a
    fresh ``gatelab.create(activation)``, so learnable activations get per-layer parameters.
    `init` is ``paper`` (unit-norm rows, §3.1), ``kaiming`` or ``gain`` (:func:`init_linear_`;
    `input_rms` = √E[x²] of the inputs sets the first layer's gain under ``gain``).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: int = 128,
        depth: int = 8,
        activation: str = "gelu",
        dropout: float = 0.0,
        init: str = "paper",
        input_rms: float = 1.0,
    ) -> None:
        super().__init__()
        check_positive(in_features=in_features, out_features=out_features, hidden=hidden)
        check_positive(depth=depth)
        check_dropout(dropout)
        self.activation, self.init = activation, check_init(init)
        self.input_rms = check_input_rms(input_rms)
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), create(activation)]
            if dropout > 0:
                layers.append(Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, out_features))
        self.layers = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every Linear layer by ``self.init``; ``paper``: unit-norm rows, zero biases (§3.1)."""
        reset_chain_(list(self.layers), self.init, self.activation, self.input_rms)

    def chain(self) -> list[tuple[str, nn.Module]]:
        """The layers in forward order after ``flatten(1)`` (gatelab.ensemble stacks them)."""
        return [(f"layers.{i}", module) for i, module in enumerate(self.layers)]

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x.flatten(1))


def window_tagger(
    activation: str = "gelu",
    *,
    embedding_dim: int = 50,
    window: int = 3,
    hidden: int = 256,
    depth: int = 2,
    num_tags: int = 25,
    dropout: float = 0.2,
    init: str = "paper",
) -> MLP:
    """The Twitter part-of-speech tagger of Hendrycks & Gimpel §3.3: the concatenated 50-d
    embeddings of a 3-word window (150 inputs) → 2 × 256 → 25 tags, dropout keep 0.8 after both
    hidden layers (twitter_pos.py: ``window_size = 1``, ``hidden_size = 256``, ``p = 0.8``)."""
    check_positive(embedding_dim=embedding_dim, window=window)
    return MLP(embedding_dim * window, num_tags, hidden, depth, activation, dropout, init)


def frame_classifier(
    activation: str = "gelu",
    *,
    frames: int = 11,
    features: int = 26,
    hidden: int = 2048,
    depth: int = 5,
    num_phones: int = 39,
    dropout: float = 0.5,
    init: str = "paper",
) -> MLP:
    """The TIMIT frame classifier of Hendrycks & Gimpel §3.4: 11 frames × 26 features (286
    inputs) → 5 × 2048 → 39 phones, dropout keep 0.5 after every hidden layer (timit_fcn.py:
    ``n_context_frames = 11``, ``n_coeffs = 26``, ``n_hidden = 2048``, ``p = 0.5``).

    The paper's 39-way output is used; the released script multiplies the last hidden layer by
    its 2048 × 2048 ``W['6']`` (a 2048-way softmax over labels 0–38) and leaves the 2048 × 39
    ``W['7']`` unused — a slip in the script, not the protocol.
    """
    check_positive(frames=frames, features=features)
    return MLP(frames * features, num_phones, hidden, depth, activation, dropout, init)
