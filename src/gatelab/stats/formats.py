"""How statistics are written for people: one format per kind of number, shared by the
leaderboard (:mod:`gatelab.stats.leaderboard`) and the report's tables.

Accuracies (stored as fractions) in percent with two decimals ("98.12%"), differences of
accuracies in percentage points ("+0.12 pts"), other metrics with four significant digits and
their differences also relative to the baseline ("+0.0012 (+3.1% rel.)"), p-values with three
decimals or "<0.001", missing values as "—".
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "—"


def is_missing(value: Any) -> bool:
    """None, NaN or ±inf (a number that cannot be shown); other types are not missing."""
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def is_accuracy(metric: str) -> bool:
    return str(metric).endswith("accuracy")


def format_p(p: Any) -> str:
    """0.031, <0.001, or — when there is no test."""
    if is_missing(p):
        return MISSING
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def format_metric(value: Any, metric: str) -> str:
    """An accuracy (a fraction) as "98.12%"; any other metric with four significant digits."""
    if is_missing(value):
        return MISSING
    value = float(value)
    return f"{100 * value:.2f}%" if is_accuracy(metric) else f"{value:.4g}"


def format_difference(value: Any, metric: str, reference: Any = None) -> str:
    """A signed difference: percentage points for accuracies ("+0.12 pts"); other metrics in
    their units, with the difference relative to `reference` (the baseline's mean) when given:
    "+0.0012 (+3.1% rel.)"."""
    if is_missing(value):
        return MISSING
    value = float(value)
    if is_accuracy(metric):
        return f"{100 * value:+.2f} pts"
    text = f"{value:+.3g}"
    if not is_missing(reference) and float(reference) != 0:
        text += f" ({100 * value / abs(float(reference)):+.1f}% rel.)"
    return text


def format_interval(low: Any, high: Any, metric: str, *, difference: bool = False) -> str:
    """ "[92.10%, 93.40%]" or, for a difference, "[−0.40, +1.20] pts"; — without bounds."""
    if is_missing(low) or is_missing(high):
        return MISSING
    if difference and is_accuracy(metric):
        return f"[{100 * float(low):+.2f}, {100 * float(high):+.2f}] pts"
    if difference:
        return f"[{float(low):+.3g}, {float(high):+.3g}]"
    return f"[{format_metric(low, metric)}, {format_metric(high, metric)}]"


def format_mean_std(mean: Any, std: Any, n: int, metric: str) -> str:
    """ "92.80 ± 0.40%" (sample std), the mean alone for one run, — for none."""
    if n == 0 or is_missing(mean):
        return MISSING
    if is_accuracy(metric):
        text = f"{100 * float(mean):.2f}"
        return f"{text}%" if n < 2 or is_missing(std) else f"{text} ± {100 * float(std):.2f}%"
    if n < 2 or is_missing(std):
        return f"{float(mean):.4g}"
    return f"{float(mean):.4g} ± {float(std):.2g}"


def format_seeds(n: Any) -> str:
    """Seeds needed: "12", "> 10000" when no finite number suffices, — when unknown."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return MISSING
    return "> 10000" if math.isinf(float(n)) else str(int(n))
