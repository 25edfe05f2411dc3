"""Preprocessing and schedules against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from gatelab.tasks.base import constant, cosine, linear_decay_from_half, step_decay
from gatelab.tasks.preprocess import (
    apply_zca,
    gaussian_noise,
    random_crop_flip,
    split_validation,
    zca_matrix,
)


@pytest.mark.parametrize("n", [400, 40])  # the covariance route and the Gram route (n < d)
def test_zca_whitens_the_training_data(n):
    g = torch.Generator().manual_seed(0)
    mixing = torch.randn(48, 48, generator=g)
    x = (torch.randn(n, 48, generator=g) @ mixing).view(n, 3, 4, 4) + 5
    eps = 1e-6
    mean, matrix = zca_matrix(x, eps)
    assert torch.allclose(matrix, matrix.T, atol=1e-4)  # ZCA is the symmetric whitening
    white = apply_zca(x, mean, matrix).reshape(n, -1).double()
    cov = white.T @ white / n
    # identity on the span of the data: cov is a projection with rank min(n - 1, d)
    assert torch.allclose(cov @ cov, cov, atol=1e-3)
    assert round(cov.trace().item()) == min(n - 1, 48)
    if n > 48:
        assert torch.allclose(cov, torch.eye(48, dtype=cov.dtype), atol=1e-3)


def test_zca_routes_agree():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(30, 3, 2, 2, generator=g)
    full_mean, full = zca_matrix(x, 0.1)  # n = 30 ≥ d = 12: covariance route
    # the Gram route on the same data padded with zero pixels gives the same block
    padded = torch.cat([x.reshape(30, -1), torch.zeros(30, 40)], 1).view(30, 1, 4, 13)
    _, gram = zca_matrix(padded, 0.1)
    assert torch.allclose(gram[:12, :12], full, atol=1e-4)


def test_validation_split_is_fixed_and_disjoint():
    x, y = torch.arange(100).float(), torch.arange(100)
    (tx, ty), (vx, vy) = split_validation(x, y, 10)
    assert len(vx) == 10 and len(tx) == 90
    assert set(ty.tolist()).isdisjoint(vy.tolist())
    assert torch.equal(split_validation(x, y, 10)[1][1], vy)  # same split every time
    with pytest.raises(ValueError, match="needs more than"):
        split_validation(x, y, 100)


def test_crop_flip_matches_a_hand_crop():
    x = torch.arange(2 * 1 * 4 * 4).float().view(2, 1, 4, 4)
    augment = random_crop_flip(pad=1)
    g = torch.Generator().manual_seed(5)
    out = augment(x, g)
    g = torch.Generator().manual_seed(5)  # replay the draws
    dy = torch.randint(0, 3, (2,), generator=g)
    dx = torch.randint(0, 3, (2,), generator=g)
    flip = torch.rand(2, generator=g) < 0.5
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(2):
        crop = padded[i, :, dy[i] : dy[i] + 4, dx[i] : dx[i] + 4]
        expected = crop.flip(-1) if flip[i] else crop
        # flipping is applied to the crop window's columns, then cropped: equal to flip∘crop
        window = padded[i, :, dy[i] : dy[i] + 4]
        cols = torch.arange(4).flip(0) if flip[i] else torch.arange(4)
        assert torch.equal(out[i], window[:, :, cols + dx[i]])
        if not flip[i]:
            assert torch.equal(out[i], expected)


def test_gaussian_noise_has_the_asked_scale():
    x = torch.zeros(200_000)
    noisy = gaussian_noise(0.15)(x, torch.Generator().manual_seed(0))
    assert noisy.std().item() == pytest.approx(0.15, rel=0.01)


class Recorder:
    def __init__(self):
        self.param_groups = [{"lr": 0.0, "betas": (0.9, 0.999)}]


@pytest.mark.parametrize(
    "schedule, step, expected",
    [
        (constant, 70, 1.0),
        (cosine, 0, 1.0),
        (cosine, 50, 0.5),
        (cosine, 100, 0.0),
        (step_decay(), 49, 1.0),
        (step_decay(), 50, 0.1),
        (step_decay(), 75, 0.01),
        (linear_decay_from_half(), 50, 1.0),
        (linear_decay_from_half(), 75, 0.5),
        (linear_decay_from_half(), 100, 0.0),
    ],
)
def test_schedules(schedule, step, expected):
    optimizer = Recorder()
    schedule(optimizer, step, 100, 1.0)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, abs=1e-12)


def test_adam_beta1_drops_at_the_half():
    optimizer = Recorder()
    schedule = linear_decay_from_half(beta1_after=0.5)
    schedule(optimizer, 49, 100, 1.0)
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.999)
    schedule(optimizer, 50, 100, 1.0)
    assert optimizer.param_groups[0]["betas"] == (0.5, 0.999)
    assert math.isclose(optimizer.param_groups[0]["lr"], 1.0)
