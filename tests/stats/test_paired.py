"""gatelab.stats.paired against scipy and statsmodels: tests, Holm, power, the Wilcoxon floor."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from gatelab import stats


def test_paired_tests_match_scipy():
    a = np.array([0.91, 0.93, 0.92, 0.95, 0.90, 0.94, 0.92])
    b = np.array([0.90, 0.90, 0.91, 0.92, 0.91, 0.92, 0.90])
    out = stats.paired_tests(a - b)
    reference = scipy_stats.ttest_rel(a, b)
    assert out["ttest_p"] == pytest.approx(reference.pvalue, rel=1e-12)
    interval = reference.confidence_interval(0.95)
    assert (out["diff_ci_low"], out["diff_ci_high"]) == pytest.approx(
        (interval.low, interval.high), rel=1e-9
    )
    assert out["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(a, b).pvalue, rel=1e-12)
    d = a - b
    assert out["effect_size"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert out["mean_diff"] == pytest.approx(d.mean()) and out["median_diff"] == np.median(d)


def test_too_few_pairs_or_zero_differences_give_nan_with_a_note():
    one = stats.paired_tests([0.05])
    assert one["n_pairs"] == 1 and math.isnan(one["ttest_p"]) and "pair" in one["note"]
    zero = stats.paired_tests([0.0, 0.0, 0.0])
    assert math.isnan(zero["wilcoxon_p"]) and "all differences are 0" in zero["note"]
    shifted = stats.paired_tests(np.array([0.91, 0.81, 0.71]) - np.array([0.9, 0.8, 0.7]))
    assert shifted["wilcoxon_p"] == pytest.approx(0.25)  # exact: 2 of 8 sign patterns
    assert math.isnan(shifted["ttest_p"]) and "constant" in shifted["note"]


@pytest.mark.parametrize("n", range(1, 9))
def test_the_wilcoxon_floor_is_scipys_exact_p_when_every_difference_has_one_sign(n):
    d = np.arange(1.0, n + 1)
    exact = scipy_stats.wilcoxon(d, method="exact").pvalue if n > 1 else 1.0
    assert stats.wilcoxon_floor(n) == pytest.approx(min(1.0, exact))
    if n >= 3:  # and no pattern of signs gives less
        ps = [
            scipy_stats.wilcoxon(d * np.array(signs), method="exact").pvalue
            for signs in itertools.product((-1, 1), repeat=n)
        ]
        assert min(ps) == pytest.approx(stats.wilcoxon_floor(n))
    assert stats.wilcoxon_floor(3) == 0.25


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04])
    expected = multitest.multipletests(p, method="holm")[1]
    assert stats.holm(p) == pytest.approx(expected, rel=1e-12)
    with_nan = stats.holm([0.01, math.nan, 0.04])
    assert math.isnan(with_nan[1]) and with_nan[[0, 2]] == pytest.approx([0.02, 0.04])


@pytest.mark.parametrize("d", [0.2, 0.5, 0.8, 1.2, 2.5, -0.8])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_seeds_needed_matches_statsmodels(d, alpha):
    power = pytest.importorskip("statsmodels.stats.power")
    solved = power.TTestPower().solve_power(effect_size=abs(d), alpha=alpha, power=0.8)
    assert stats.seeds_needed(d, alpha) == math.ceil(solved)


def test_seeds_needed_known_values_and_edges():
    assert stats.seeds_needed(0.5) == 34  # G*Power, paired t, two-sided, α 0.05, power 0.8
    assert stats.paired_t_power(34, 0.5) >= 0.8 > stats.paired_t_power(33, 0.5)
    assert stats.seeds_needed(0.0) == math.inf and stats.seeds_needed(math.nan) == math.inf
    assert stats.seeds_needed(1e-4) == math.inf  # past MAX_SEEDS
    assert stats.seeds_needed(50.0) == 2
    with pytest.raises(ValueError, match="alpha"):
        stats.seeds_needed(0.5, alpha=5)


def test_verdict_follows_the_adjusted_p_and_the_sign():
    assert stats.verdict(0.01, +0.02, True, 0.05) == "better"
    assert stats.verdict(0.01, -0.02, True, 0.05) == "worse"
    assert stats.verdict(0.01, -0.02, False, 0.05) == "better"  # lower MSE
    assert stats.verdict(0.06, +0.02, True, 0.05) == "no evidence"
    assert stats.verdict(math.nan, +0.02, True, 0.05) == "no evidence"
