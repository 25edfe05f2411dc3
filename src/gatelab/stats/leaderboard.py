"""The leaderboard: per task (best mean first) each activation's summary and, against a
baseline, the paired difference with its CI, the Holm-adjusted paired t-test and the verdict.

Every column beside the summary is paired by seed: the Δ is the mean of the per-seed
differences, not a difference of means or medians, so the verdict never contradicts it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import formats as fmt
from .frame import canonical
from .summary import paired_comparison, summarize


def _median_cell(row) -> str:
    text = fmt.format_metric(row.median, row.metric)
    if np.isfinite(row.median_ci_low):
        text += " " + fmt.format_interval(row.median_ci_low, row.median_ci_high, row.metric)
    return text


def leaderboard(
    df: pd.DataFrame,
    baseline: str | None = None,
    *,
    alpha: float = 0.05,
    paired: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The display table (formatted strings): task, activation, lr, n, mean ± std, the 95 %
    t-interval of the mean, the median (with its order-statistic 95 % interval from 6 runs),
    diverged, failed; with a baseline also the mean paired difference (pts for accuracy), its
    95 % CI, the Holm-adjusted paired t-test p and the verdict at `alpha`.

    `paired` is the task-wide :func:`paired_comparison` when `df` is one setting of a sweep
    with extra axes: Holm's family is the whole task, so the verdicts shown per setting must
    come from it (computing them from the setting's runs alone would use a smaller family)."""
    summary = summarize(df)
    table = pd.DataFrame(
        {
            "task": summary["task"],
            "activation": summary["activation"],
            "lr": summary["lr"].map(lambda lr: f"{lr:g}"),
            "n": summary["n"],
            "mean ± std": [
                fmt.format_mean_std(r.mean, r.std, r.n, r.metric) for r in summary.itertuples()
            ],
            "95% CI of mean": [
                fmt.format_interval(r.ci_low, r.ci_high, r.metric) for r in summary.itertuples()
            ],
            "median": [_median_cell(r) for r in summary.itertuples()],
            "diverged": summary["n_diverged"],
            "failed": summary["n_failed"],
        }
    )
    if baseline is None or summary.empty:
        return table
    if paired is None:
        paired = paired_comparison(df, baseline, alpha=alpha)
    cells = {
        (r.task, r.activation): (
            fmt.format_difference(r.mean_diff, r.metric, r.baseline_mean),
            fmt.format_interval(r.diff_ci_low, r.diff_ci_high, r.metric, difference=True),
            fmt.format_p(r.p_holm),
            r.verdict,
        )
        for r in paired.itertuples()
    }
    columns = (f"Δ vs {baseline} (paired mean)", "95% CI of Δ", "p (paired t, Holm)", "verdict")
    is_base = {a: canonical(a) == canonical(baseline) for a in table["activation"].unique()}
    rows = [
        cells.get((t, a), (fmt.MISSING,) * 3 + ("baseline" if is_base[a] else fmt.MISSING,))
        for t, a in zip(table["task"], table["activation"])
    ]
    for i, column in enumerate(columns):
        table[column] = [row[i] for row in rows]
    return table
