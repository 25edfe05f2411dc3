"""MNIST-1D generator: agreement with the reference implementation, determinism, learnability.

Reference values below were produced by the upstream package (pip ``mnist1d`` 0.0.2.post1,
``mnist1d.data.make_dataset(get_dataset_args())``, seed 42) and copied here; the package itself
is not a dependency.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gatelab.data import load_vision
from gatelab.data.mnist1d import (
    MNIST1DConfig,
    _gaussian_filter,
    _interpolate,
    generate_mnist1d,
    load_mnist1d,
    mnist1d_templates,
)

REFERENCE_TRAIN_Y_HEAD = [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9, 4, 3, 4, 5, 1, 9, 0, 3]
REFERENCE_TRAIN_X0_HEAD = [
    -0.33200566736939013,
    -0.4719103656557236,
    -0.778697076293495,
    -1.0097408265367045,
    -0.8823525654053073,
    0.10393481264623418,
]
REFERENCE_TEST_XLAST_TAIL = [
    0.4472328851428726,
    0.6598756470890784,
    0.8777343497528006,
    1.1931518368352758,
]
REFERENCE_TRAIN_X_SUM = -51.78746787509559
REFERENCE_TRAIN_ABS_SUM = 118338.29510719894


@pytest.fixture(scope="module")
def default_splits():
    return load_mnist1d()


def test_float64_generator_matches_reference_values():
    x, y = generate_mnist1d()
    train_x = x[:4000]
    assert y[:20].tolist() == REFERENCE_TRAIN_Y_HEAD
    np.testing.assert_allclose(train_x[0, :6], REFERENCE_TRAIN_X0_HEAD, rtol=0, atol=1e-12)
    np.testing.assert_allclose(x[-1, -4:], REFERENCE_TEST_XLAST_TAIL, rtol=0, atol=1e-12)
    assert train_x.sum() == pytest.approx(REFERENCE_TRAIN_X_SUM, abs=1e-9)
    assert np.abs(train_x).sum() == pytest.approx(REFERENCE_TRAIN_ABS_SUM, rel=1e-12)


def test_splits_shapes_dtypes_and_reference_split(default_splits):
    s = default_splits
    assert s.name == "mnist1d" and s.num_classes == 10
    assert s.train_x.shape == (4000, 40) and s.test_x.shape == (1000, 40)
    assert s.train_x.dtype == torch.float32 and s.train_y.dtype == torch.int64
    assert s.source == "generated: mnist1d(seed=42)"
    assert s.train_y[:20].tolist() == REFERENCE_TRAIN_Y_HEAD
    np.testing.assert_allclose(s.test_x[-1, -4:].numpy(), REFERENCE_TEST_XLAST_TAIL, rtol=1e-6)


def test_whole_dataset_is_standardised_and_balanced(default_splits):
    x = torch.cat([default_splits.train_x, default_splits.test_x]).double()
    y = torch.cat([default_splits.train_y, default_splits.test_y])
    assert abs(x.mean().item()) < 1e-6 and abs(x.std(unbiased=False).item() - 1) < 1e-6
    assert torch.bincount(y).tolist() == [500] * 10
    assert set(default_splits.test_y.tolist()) == set(range(10))


def test_load_vision_name_gives_the_default_dataset(default_splits):
    via_registry = load_vision("mnist1d", root="/nonexistent", download=False)
    assert torch.equal(via_registry.train_x, default_splits.train_x)


def test_same_seed_same_data_other_seed_other_data(default_splits):
    again = load_mnist1d(seed=42)
    assert torch.equal(again.train_x, default_splits.train_x)
    other = load_mnist1d(seed=0)
    assert other.source == "generated: mnist1d(seed=0)"
    assert not torch.equal(other.train_y, default_splits.train_y)
    assert (other.train_x - default_splits.train_x).abs().mean() > 0.5


@pytest.fixture
def one_torch_thread():
    """Tiny matrix products run fastest on one thread (and do not stall on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _logistic_regression_accuracy(s) -> float:
    weights = torch.zeros(40, 10, requires_grad=True)
    bias = torch.zeros(10, requires_grad=True)
    optimiser = torch.optim.LBFGS([weights, bias], max_iter=50)

    def closure():
        optimiser.zero_grad()
        logits = s.train_x @ weights + bias
        loss = torch.nn.functional.cross_entropy(logits, s.train_y) + 1e-3 * weights.square().sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    predictions = (s.test_x @ weights + bias).argmax(1)
    return (predictions == s.test_y).float().mean().item()


def test_labels_are_learnable_far_above_chance(default_splits, one_torch_thread):
    s = default_splits
    centroids = torch.stack([s.train_x[s.train_y == k].mean(0) for k in range(10)])
    centroid_accuracy = (torch.cdist(s.test_x, centroids).argmin(1) == s.test_y).float().mean()
    # chance is 0.10 with a standard error of about 0.01 on 1000 test examples; the MNIST-1D
    # paper reports about 32% for logistic regression
    assert centroid_accuracy > 0.2
    assert _logistic_regression_accuracy(s) > 0.25


def test_templates_are_whitened_and_start_at_zero():
    templates = mnist1d_templates()
    assert templates.shape == (10, 12)
    np.testing.assert_array_equal(templates[:, 0], 0)
    whitened = 6 * templates - (6 * templates).mean(1, keepdims=True)
    np.testing.assert_allclose(whitened.std(1), 1, atol=1e-12)
    # digit 0 of the reference: [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5], ends where it starts
    assert templates[0, -1] == pytest.approx(0, abs=1e-15)
    assert templates[0, 4] == templates[0, 5] == templates[0, 6] == templates[0, 7]


def test_shuffle_seq_permutes_positions_only():
    plain_x, plain_y = generate_mnist1d(MNIST1DConfig(num_samples=200))
    shuffled_x, shuffled_y = generate_mnist1d(MNIST1DConfig(num_samples=200, shuffle_seq=True))
    np.testing.assert_array_equal(plain_y, shuffled_y)
    assert not np.allclose(plain_x, shuffled_x)
    np.testing.assert_allclose(np.sort(plain_x, axis=1), np.sort(shuffled_x, axis=1), atol=1e-12)


def test_helpers_match_scipy():
    scipy_ndimage = pytest.importorskip("scipy.ndimage")
    scipy_interpolate = pytest.importorskip("scipy.interpolate")
    signal = np.random.default_rng(1).standard_normal(72)
    np.testing.assert_allclose(
        _gaussian_filter(signal, 2.0), scipy_ndimage.gaussian_filter(signal, 2), atol=1e-14
    )
    expected = scipy_interpolate.interp1d(np.linspace(0, 1, 72), signal)(np.linspace(0, 1, 40))
    np.testing.assert_allclose(_interpolate(signal, 40), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"num_samples": 5}, "num_samples"),
        ({"train_split": 1.0}, "train_split"),
        ({"padding": (10, 5)}, "padding"),
        ({"max_translation": 0}, "max_translation"),
        ({"final_seq_length": 1}, "final_seq_length"),
    ],
)
def test_bad_config_is_rejected(override, message):
    with pytest.raises(ValueError, match=message):
        MNIST1DConfig(**override)


def test_unknown_override_is_rejected():
    with pytest.raises(TypeError, match="sead"):
        load_mnist1d(sead=1)
