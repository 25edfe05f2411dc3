"""Confidence intervals that hold at the handful of seeds a sweep has.

- :func:`t_interval` — Student's t-interval of a mean, mean ± t(1−α/2, n−1)·s/√n (exact for
  normal data at any n ≥ 2; a percentile bootstrap at n = 3 is 2.5× too narrow: it cannot see
  the spread it did not sample).
- :func:`median_interval` — the distribution-free interval of a median between two order
  statistics, [x₍ₖ₎, x₍ₙ₊₁₋ₖ₎] with coverage 1 − 2·P(Bin(n, ½) ≤ k−1) (Conover 1999,
  *Practical Nonparametric Statistics*, §3.2, eq. 3.2.3); none exists when even the sample's
  range covers less than asked — n < 6 at 95 %.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as scipy_stats


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence!r}")


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Student's t confidence interval of the mean of `values`; (NaN, NaN) when n < 2."""
    _check_confidence(confidence)
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    mean = float(np.mean(values))
    half = scipy_stats.t.ppf(0.5 + confidence / 2, n - 1) * float(np.std(values, ddof=1))
    half /= math.sqrt(n)
    return mean - half, mean + half


def median_coverage(n: int, k: int) -> float:
    """Coverage of [x₍ₖ₎, x₍ₙ₊₁₋ₖ₎] for the median of a continuous distribution (Conover §3.2)."""
    return 1.0 - 2.0 * float(scipy_stats.binom.cdf(k - 1, n, 0.5))


def median_interval_min_n(confidence: float = 0.95) -> int:
    """The fewest values for which an order-statistic interval of the median reaches
    `confidence` (6 at 95 %, 8 at 99 %)."""
    _check_confidence(confidence)
    n = 1
    while median_coverage(n, 1) < confidence:
        n += 1
    return n


def median_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """(low, high, coverage): the narrowest order-statistic interval of the median whose
    coverage is at least `confidence`; (NaN, NaN, NaN) when n < :func:`median_interval_min_n`."""
    _check_confidence(confidence)
    values = np.sort(np.asarray(values, dtype=float))
    n = len(values)
    if n == 0 or median_coverage(n, 1) < confidence:
        return math.nan, math.nan, math.nan
    k = 1
    while k + 1 <= (n + 1) // 2 and median_coverage(n, k + 1) >= confidence:
        k += 1
    return float(values[k - 1]), float(values[n - k]), median_coverage(n, k)
