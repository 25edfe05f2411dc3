"""The deep MNIST autoencoder of Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)",
arXiv:1606.08415, §3.2: 784-1000-500-250-30-250-500-1000-784 trained with MSE.

The paper states only "a linear output"; whether the 30-d code is activated follows the
official code (github.com/hendrycks/GELUs, mnist_ae.py): ``h4 = f(x W4 + b4)``, i.e. the
activation follows every layer, the 30-unit code included, and only the 784-unit
reconstruction is linear — 7 activations. Initialisation as in the paper's other networks
(mnist_ae.py): unit-norm weight rows, zero biases.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ..modules import create
from .mlp import check_init, check_input_rms, check_positive, reset_chain_


class Autoencoder(nn.Module):
    """Encoder in_features → widths[0] → … → widths[-1] (the code), decoder mirroring it back to
    in_features; a fresh ``gatelab.create(activation)`` after every Linear layer except the
    last, whose reconstruction is linear (§3.2). Inputs are flattened from dimension 1 and the
    output has shape (batch, in_features). `init`: ``paper`` | ``kaiming`` | ``gain``
    (`input_rms` = √E[x²] of the inputs sets the first layer's gain under ``gain``)."""

    def __init__(
        self,
        in_features: int = 784,
        widths: Sequence[int] = (1000, 500, 250, 30),
        activation: str = "gelu",
        init: str = "paper",
        input_rms: float = 1.0,
    ) -> None:
        super().__init__()
        self.activation, self.init = activation, check_init(init)
        self.input_rms = check_input_rms(input_rms)
        widths = tuple(widths)
        if not widths:
            raise ValueError("widths must name at least one layer, e.g. (1000, 500, 250, 30)")
        check_positive(in_features=in_features)
        check_positive(**{f"widths[{i}]": w for i, w in enumerate(widths)})
        encoder_sizes = (in_features, *widths)
        decoder_sizes = encoder_sizes[::-1]
        self.encoder = _stack(encoder_sizes, activation, linear_output=False)
        self.decoder = _stack(decoder_sizes, activation, linear_output=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every Linear layer by ``self.init`` (gatelab.models.mlp.init_linear_); ``paper``:
        unit-norm rows and zero biases (mnist_ae.py)."""
        layers = [module for _, module in self.chain()]
        reset_chain_(layers, self.init, self.activation, self.input_rms)

    def chain(self) -> list[tuple[str, nn.Module]]:
        """The layers in forward order after ``flatten(1)`` (gatelab.ensemble stacks them)."""
        return [(f"encoder.{i}", m) for i, m in enumerate(self.encoder)] + [
            (f"decoder.{i}", m) for i, m in enumerate(self.decoder)
        ]

    def encode(self, x: Tensor) -> Tensor:
        """The activated code, shape (batch, widths[-1])."""
        return self.encoder(x.flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encode(x))


def _stack(sizes: Sequence[int], activation: str, linear_output: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if not (linear_output and index == len(sizes) - 2):
            layers.append(create(activation))
    return nn.Sequential(*layers)
