"""gatelab.stats.intervals against scipy, hand computations and simulated coverage."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from gatelab import stats


def test_t_interval_matches_scipy():
    values = np.array([0.922, 0.931, 0.917])
    ours = stats.t_interval(values, 0.95)
    sem = scipy_stats.sem(values)
    theirs = scipy_stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=sem)
    assert ours == pytest.approx(theirs, rel=1e-12)
    # by hand: t(0.975, 2) = 4.302653, s = 0.007094, half width 4.302653 · s / √3
    assert ours[1] - ours[0] == pytest.approx(2 * 4.302653 * values.std(ddof=1) / math.sqrt(3))


def test_t_interval_needs_two_values_and_a_valid_confidence():
    assert all(math.isnan(v) for v in stats.t_interval([0.9]))
    assert stats.t_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)
    with pytest.raises(ValueError, match="confidence"):
        stats.t_interval([1.0, 2.0], 95)


def test_the_t_interval_covers_at_three_seeds_where_a_percentile_bootstrap_does_not():
    # The case: 3 seeds. 4,000 simulated experiments with a known mean.
    rng = np.random.default_rng(0)
    samples = rng.normal(0.0, 1.0, size=(4000, 3))
    t_hits = [low <= 0 <= high for low, high in map(stats.t_interval, samples)]
    boots = samples[:, rng.integers(0, 3, size=(500, 3))].mean(axis=2)
    low, high = np.percentile(boots, [2.5, 97.5], axis=1)
    boot_hits = (low <= 0) & (0 <= high)
    assert np.mean(t_hits) == pytest.approx(0.95, abs=0.012)
    assert np.mean(boot_hits) < 0.80  # the percentile bootstrap at n = 3: far below 95 %


def test_median_interval_by_hand():
    # n = 6: only [min, max] reaches 95 %: 1 − 2/2⁶ = 0.96875.
    low, high, coverage = stats.median_interval([5, 1, 4, 2, 6, 3])
    assert (low, high) == (1, 6) and coverage == pytest.approx(1 - 2 / 64)
    # n = 10: k = 2 gives 1 − 2·(1 + 10)/1024 = 0.9785; k = 3 only 1 − 2·56/1024 = 0.8906.
    low, high, coverage = stats.median_interval(np.arange(10.0))
    assert (low, high) == (1.0, 8.0) and coverage == pytest.approx(1 - 22 / 1024)
    assert coverage == pytest.approx(1 - 2 * scipy_stats.binom.cdf(1, 10, 0.5))


def test_median_interval_is_absent_below_its_minimum_n():
    assert stats.median_interval_min_n(0.95) == 6 and stats.median_interval_min_n(0.99) == 8
    assert all(math.isnan(v) for v in stats.median_interval([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert all(math.isnan(v) for v in stats.median_interval([]))


def test_median_interval_covers_the_median_as_often_as_it_says():
    rng = np.random.default_rng(1)
    samples = rng.exponential(1.0, size=(4000, 12))  # skewed: the median is ln 2
    results = [stats.median_interval(s) for s in samples]
    coverage = results[0][2]
    hits = np.mean([low <= math.log(2) <= high for low, high, _ in results])
    assert coverage >= 0.95 and hits == pytest.approx(coverage, abs=0.012)
