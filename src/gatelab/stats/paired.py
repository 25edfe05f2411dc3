"""Seed-paired tests against a baseline, the multiplicity correction, verdicts and power.

- :func:`paired_tests` — on the differences d = activation − baseline of runs that share a seed:
  mean and median of d, the t-interval of the mean of d, the paired t-test (the verdict's test:
  its statistic t = mean(d)/(s/√n) has the sign of the mean difference, so a verdict can never
  point against the column beside it), the Wilcoxon signed-rank test as a distribution-free
  check (exact null distribution for n ≤ 50 without ties, as scipy.stats.wilcoxon), and
  Cohen's d_z = mean(d)/s (Lakens 2013, *Front. Psychol.* 4:863, eq. 6).
- :func:`wilcoxon_floor` — the smallest two-sided p the exact Wilcoxon test can give with n
  non-zero pairs, 2/2ⁿ: with 3 pairs it cannot go below 0.25, with 5 below 0.0625.
- :func:`holm` — Holm's step-down adjustment (Holm 1979, *Scand. J. Statist.* 6:65–70), which
  controls the family-wise error of comparing m activations with one baseline.
- :func:`verdict` — better / worse / no evidence from the adjusted p and the sign of mean(d).
- :func:`seeds_needed` — the seeds (pairs) a two-sided paired t-test needs to detect an effect
  d_z with a given power, from the noncentral t distribution (Cohen 1988, §2.3; as G*Power and
  statsmodels' TTestPower compute it).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from .intervals import t_interval

BETTER, WORSE, NO_EVIDENCE = "better", "worse", "no evidence"
#: The seeds_needed search stops here: an effect that needs more is reported as "> MAX_SEEDS".
MAX_SEEDS = 10_000


def wilcoxon_floor(n: int) -> float:
    """The smallest two-sided p-value of the exact Wilcoxon signed-rank test with `n` non-zero
    differences: every difference of one sign, probability 2·2⁻ⁿ under the null."""
    return min(1.0, 2.0 / 2.0**n) if n >= 1 else 1.0


def paired_tests(differences: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """Statistics of paired differences (see the module docstring); ``note`` says why a value
    is NaN or what a test cannot reach."""
    d = np.asarray(differences, dtype=float)
    n = len(d)
    low, high = t_interval(d, confidence)
    out = {
        "n_pairs": n,
        "mean_diff": float(np.mean(d)) if n else math.nan,
        "median_diff": float(np.median(d)) if n else math.nan,
        "diff_ci_low": low,
        "diff_ci_high": high,
        "ttest_p": math.nan,
        "wilcoxon_p": math.nan,
        "wilcoxon_min_p": wilcoxon_floor(int(np.count_nonzero(d))),
        "effect_size": math.nan,
        "note": "",
    }
    if n < 2:
        return {**out, "note": f"{n} pair(s): no test"}
    if not np.any(d):
        return {**out, "note": "all differences are 0: no test"}
    sd = float(np.std(d, ddof=1))
    if sd <= 1e-12 * float(np.max(np.abs(d))):  # spread at rounding level: constant
        return {**out, **_wilcoxon(d), "note": "constant differences: no t-test or effect size"}
    out["ttest_p"] = float(scipy_stats.ttest_1samp(d, 0.0).pvalue)
    out["effect_size"] = float(np.mean(d)) / sd
    return {**out, **_wilcoxon(d)}


def _wilcoxon(d: np.ndarray) -> dict[str, float]:
    """scipy's two-sided Wilcoxon signed-rank p (zero differences dropped, Wilcoxon 1945)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        return {"wilcoxon_p": float(scipy_stats.wilcoxon(d, alternative="two-sided").pvalue)}


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values, in the input's order: the i-th smallest of m is multiplied by
    (m − i + 1), made monotone and capped at 1 (Holm 1979). NaN p-values (no test) stay NaN and
    are not counted in m."""
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(len(p), math.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = len(tested)
    if m == 0:
        return adjusted
    order = tested[np.argsort(p[tested], kind="stable")]
    steps = p[order] * (m - np.arange(m))
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted


def verdict(p_adjusted: float, mean_diff: float, higher_is_better: bool, alpha: float) -> str:
    """ "better" or "worse" when the Holm-adjusted paired t-test rejects at `alpha` — the side
    given by the sign of the mean paired difference and the metric's direction — else
    "no evidence"."""
    if not (np.isfinite(p_adjusted) and p_adjusted < alpha and np.isfinite(mean_diff)):
        return NO_EVIDENCE
    if mean_diff == 0:
        return NO_EVIDENCE
    return BETTER if (mean_diff > 0) == bool(higher_is_better) else WORSE


def paired_t_power(n: int, effect_size: float, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test with `n` pairs at standardised effect d_z:
    P(|T| > t(1−α/2, n−1)) for T ~ noncentral t(n−1, d_z·√n) (Cohen 1988, §2.3)."""
    if n < 2:
        return math.nan
    df, shift = n - 1, abs(effect_size) * math.sqrt(n)
    critical = scipy_stats.t.ppf(1 - alpha / 2, df)
    return float(
        scipy_stats.nct.sf(critical, df, shift) + scipy_stats.nct.cdf(-critical, df, shift)
    )


def seeds_needed(effect_size: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The fewest pairs (≥ 2) for which the two-sided paired t-test at `alpha` detects an
    effect of `effect_size` (Cohen's d_z) with at least `power`; inf for no effect (d_z = 0 or
    NaN) or past MAX_SEEDS."""
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be in (0, 1); got {alpha!r}, {power!r}")
    if not np.isfinite(effect_size) or effect_size == 0:
        return math.inf
    z = scipy_stats.norm.ppf(1 - alpha / 2) + scipy_stats.norm.ppf(power)
    n = max(2, math.ceil((z / abs(effect_size)) ** 2))  # the normal approximation: a start
    if n > MAX_SEEDS:
        return math.inf
    while paired_t_power(n, effect_size, alpha) < power:
        n += 1
        if n > MAX_SEEDS:
            return math.inf
    while n > 2 and paired_t_power(n - 1, effect_size, alpha) >= power:
        n -= 1
    return float(n)
