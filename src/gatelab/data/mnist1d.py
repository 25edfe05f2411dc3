"""MNIST-1D, generated locally: a numpy reimplementation of the reference generator.

Source: S. Greydanus and D. Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024
(first released 2020, arXiv:2011.14439); reference code github.com/greydanus/mnist1d
(``mnist1d/data.py``: ``get_templates``, ``make_dataset``, ``get_dataset_args``;
``mnist1d/transform.py``: ``transform`` and its steps). Each example is one of ten hand-drawn
12-point templates, padded with zeros, stretched, scaled, circularly translated, filled with
correlated noise where the signal is zero, perturbed by iid noise, sheared and resampled to 40
points. The random draws follow the reference order on a legacy ``numpy.random.RandomState`` seeded
like the reference's ``np.random.seed``, the interpolation is scipy's ``interp1d(kind="linear")``
arithmetic and the correlated noise is scipy's ``gaussian_filter(sigma=2)`` (reflect boundary,
truncate 4), so the default configuration reproduces the reference dataset without scipy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from gatelab.data.splits import ArraySplits

__all__ = ["MNIST1DConfig", "generate_mnist1d", "load_mnist1d", "mnist1d_templates"]

_DIGIT_TEMPLATES = np.asarray(
    [
        [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
        [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
        [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
        [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
        [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
        [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
        [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
        [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
    ]
)
"""The ten digit templates of ``get_templates`` in the reference code, row i = digit i."""

_PAD_EPS = 1e-8  # added before padding so that template zeros survive the "signal != 0" mask


@dataclass(frozen=True)
class MNIST1DConfig:
    """Generator settings; the defaults are the reference ``get_dataset_args()``."""

    num_samples: int = 5000
    train_split: float = 0.8
    template_len: int = 12
    padding: tuple[int, int] = (36, 60)
    scale_coeff: float = 0.4
    max_translation: int = 48
    corr_noise_scale: float = 0.25
    iid_noise_scale: float = 2e-2
    shear_scale: float = 0.75
    shuffle_seq: bool = False
    final_seq_length: int = 40
    seed: int = 42

    def __post_init__(self) -> None:
        if self.num_samples < 10:
            raise ValueError(f"num_samples must be >= 10 (one per class), got {self.num_samples}")
        if not 0.0 < self.train_split < 1.0:
            raise ValueError(f"train_split must lie in (0, 1), got {self.train_split}")
        low, high = self.padding
        if not 0 <= low <= high:
            raise ValueError(f"padding must be (low, high) with 0 <= low <= high, got {low, high}")
        if not 1 <= self.max_translation <= self.template_len + high:
            raise ValueError(
                f"max_translation must lie in [1, template_len + padding[1]] = "
                f"[1, {self.template_len + high}], got {self.max_translation}"
            )
        if self.final_seq_length < 2:
            raise ValueError(f"final_seq_length must be >= 2, got {self.final_seq_length}")


def mnist1d_templates() -> np.ndarray:
    """The ten templates [10, 12], whitened per row, shifted to start at 0 and divided by 6."""
    x = _DIGIT_TEMPLATES.copy()
    x -= x.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    x -= x[:, :1]
    return x / 6.0


def generate_mnist1d(config: MNIST1DConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The whole dataset as (x float64 [N, final_seq_length], y int64 [N]) before the split.

    Follows ``make_dataset``: ``num_samples // 10`` transformed copies of each template in class
    order, a shuffle of the examples, an optional shuffle of positions, then standardisation by
    the mean and standard deviation of all values.
    """
    config = config or MNIST1DConfig()
    rng = np.random.RandomState(config.seed)
    templates = mnist1d_templates()
    per_class = config.num_samples // len(templates)
    xs = [_transform(template, config, rng) for template in templates for _ in range(per_class)]
    ys = np.repeat(np.arange(len(templates), dtype=np.int64), per_class)
    order = rng.permutation(len(ys))
    x, y = np.stack(xs)[order], ys[order]
    if config.shuffle_seq:
        x = x[:, rng.permutation(config.final_seq_length)]
    return (x - x.mean()) / x.std(), y


def load_mnist1d(config: MNIST1DConfig | None = None, **overrides: object) -> ArraySplits:
    """MNIST-1D as float32 [N, 40] vectors; by default 4000 train / 1000 test examples.

    ``overrides`` replace fields of ``config`` (e.g. ``seed=0``). The split is the reference one:
    the first ``train_split`` fraction of the shuffled examples is the training set.
    """
    config = replace(config or MNIST1DConfig(), **overrides)
    x, y = generate_mnist1d(config)
    split = int(len(y) * config.train_split)
    x32 = torch.from_numpy(x.astype(np.float32))
    labels = torch.from_numpy(y)
    return ArraySplits(
        name="mnist1d",
        train_x=x32[:split],
        train_y=labels[:split],
        test_x=x32[split:],
        test_y=labels[split:],
        num_classes=10,
        source=f"generated: mnist1d(seed={config.seed})",
    )


def _transform(
    template: np.ndarray, config: MNIST1DConfig, rng: np.random.RandomState
) -> np.ndarray:
    """One example from one template, the steps and random draws of the reference ``transform``."""
    low, high = config.padding
    padded_len = config.template_len + high
    pad = low + int(rng.rand() * (high - low + 1))
    x = np.concatenate([template + _PAD_EPS, np.zeros(pad)])
    x = _interpolate(x, padded_len)
    x *= 1 + config.scale_coeff * (rng.rand() - 0.5)
    shift = rng.choice(config.max_translation)
    x = np.concatenate([x[-shift:], x[:-shift]])
    signal = x != 0
    corr_noise = _gaussian_filter(config.corr_noise_scale * rng.randn(padded_len), sigma=2.0)
    x = signal * x + (1 - signal) * corr_noise
    x = x + config.iid_noise_scale * rng.randn(padded_len)
    x = x - config.shear_scale * (rng.rand() - 0.5) * np.linspace(-0.5, 0.5, padded_len)
    return _interpolate(x, config.final_seq_length)


def _interpolate(x: np.ndarray, length: int) -> np.ndarray:
    """Resample x at ``length`` evenly spaced points on [0, 1], with the arithmetic of scipy's
    ``interp1d(kind="linear")``: slope of the bracketing interval times the offset, plus y_lo."""
    grid = np.linspace(0, 1, len(x))
    new_grid = np.linspace(0, 1, length)
    hi = np.clip(np.searchsorted(grid, new_grid), 1, len(grid) - 1)
    lo = hi - 1
    slope = (x[hi] - x[lo]) / (grid[hi] - grid[lo])
    return slope * (new_grid - grid[lo]) + x[lo]


def _gaussian_filter(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """scipy.ndimage.gaussian_filter1d (order 0): a normalised Gaussian kernel of radius
    ``int(truncate * sigma + 0.5)`` over the input extended by half-sample reflection."""
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 / sigma**2 * offsets**2)
    kernel /= kernel.sum()
    extended = np.pad(x, radius, mode="symmetric")
    return np.correlate(extended, kernel, mode="valid")
