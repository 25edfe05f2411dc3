"""Per-task statistics at the chosen lr: summaries, the paired comparison against a baseline,
the GEM paper's deficit, ranks, and the leaderboard that shows them.

One order everywhere: per task, best mean first (in the task's direction) — the summary, the
paired table, the leaderboard, the ranks and the final-metric figure all follow it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .frame import DIVERGED, FAILED, OK, canonical, groups, key, objectives_of, select_lr
from .intervals import median_interval, t_interval
from .paired import holm, paired_tests, seeds_needed, verdict

SUMMARY_COLUMNS = [
    "lr", "metric", "higher_is_better", "n", "n_diverged", "n_failed",
    "mean", "std", "ci_low", "ci_high", "median", "median_ci_low", "median_ci_high",
]  # fmt: skip
PAIRED_COLUMNS = [
    "baseline", "metric", "higher_is_better", "n_pairs", "mean_diff", "diff_ci_low",
    "diff_ci_high", "median_diff", "baseline_mean", "ttest_p", "p_holm", "wilcoxon_p",
    "wilcoxon_min_p", "effect_size", "seeds_needed", "verdict", "note",
]  # fmt: skip
DEFICIT_COLUMNS = ["baseline", "metric", "unit", "baseline_median", "median", "deficit"]
#: The verdict's test, named in every report.
TEST = "two-sided paired t-test, Holm-adjusted across the activations compared in a task"


# --- summaries -----------------------------------------------------------------------------------


def ok_values(rows: pd.DataFrame, metric: str) -> np.ndarray:
    """The test metric of the ok runs that have a finite value."""
    if metric not in rows.columns:
        return np.empty(0)
    ok = rows[rows["status"] == OK]
    values = pd.to_numeric(ok[metric], errors="coerce").to_numpy(dtype=float)
    return values[np.isfinite(values)]


def describe(values: np.ndarray, confidence: float = 0.95) -> dict[str, Any]:
    """n, mean, sample std, the t-interval of the mean and the median with its order-statistic
    interval (NaN where n is too small for one)."""
    n = len(values)
    low, high = t_interval(values, confidence)
    median_low, median_high, _ = median_interval(values, confidence)
    return {
        "n": n,
        "mean": float(np.mean(values)) if n else math.nan,
        "std": float(np.std(values, ddof=1)) if n > 1 else math.nan,
        "ci_low": low,
        "ci_high": high,
        "median": float(np.median(values)) if n else math.nan,
        "median_ci_low": median_low,
        "median_ci_high": median_high,
    }


def sort_best_first(table: pd.DataFrame, by: str = "mean") -> pd.DataFrame:
    """Sort by task, then `by` best first in the task's direction, NaN last."""
    if table.empty:
        return table
    direction = np.where(table["higher_is_better"].astype(bool), -1.0, 1.0)
    order = table.assign(_key=table[by].astype(float) * direction)
    return order.sort_values(["task", "_key"], na_position="last", kind="stable").drop(
        columns="_key"
    )


def summarize(
    df: pd.DataFrame, *, confidence: float = 0.95, extra_axes: Sequence[str] = ()
) -> pd.DataFrame:
    """Per (task, activation, *extra_axes), the test metric at the lr chosen by
    :func:`~gatelab.stats.select_lr`.

    Columns: task, activation, *extra_axes, lr, metric, higher_is_better, n (ok runs with a
    finite metric), n_diverged, n_failed, mean, std (ddof 1), ci_low/ci_high (Student's t
    interval of the mean; NaN when n < 2), median, median_ci_low/high (order-statistic interval;
    NaN when n < 6 at 95 %). A group whose runs all diverged is listed with n = 0. Sorted by
    task, best mean first. ``attrs["extra_axes"]`` records the axes for :func:`ranks`.
    """
    chosen = select_lr(df, extra_axes=extra_axes)
    objectives = objectives_of(chosen, df.attrs.get("protocol"))
    keys = ["task", "activation", *extra_axes]
    rows_out = []
    for group, rows in groups(chosen, keys):
        metric, _, higher = objectives[rows["task"].iloc[0]]
        rows_out.append(
            {
                **dict(zip(keys, group)),
                "lr": rows["chosen_lr"].iloc[0],
                "metric": metric,
                "higher_is_better": higher,
                "n_diverged": int((rows["status"] == DIVERGED).sum()),
                "n_failed": int((rows["status"] == FAILED).sum()),
                **describe(ok_values(rows, metric), confidence),
            }
        )
    table = pd.DataFrame(rows_out, columns=[*keys, *SUMMARY_COLUMNS])
    table = sort_best_first(table).reset_index(drop=True)
    table.attrs["extra_axes"] = tuple(extra_axes)
    return table


# --- the paired comparison against a baseline ----------------------------------------------------


def baseline_mask(chosen: pd.DataFrame, baseline: str) -> pd.Series:
    """A mask of the baseline's rows; ValueError naming the activations present if none."""
    if not isinstance(baseline, str) or not baseline.strip():
        raise ValueError(f"baseline must be an activation spec string, got {baseline!r}")
    mask = chosen["activation"].map(canonical) == canonical(baseline)
    if not mask.any():
        present = ", ".join(sorted(chosen["activation"].unique())) or "none"
        raise ValueError(
            f"baseline {baseline!r} has no runs in the results; activations present: {present}"
        )
    return mask


def by_seed(rows: pd.DataFrame, metric: str) -> pd.Series:
    """The ok runs' test metric indexed by seed; duplicate seeds are an error."""
    ok = rows[rows["status"] == OK]
    values = pd.Series(pd.to_numeric(ok[metric], errors="coerce").to_numpy(), index=ok["seed"])
    values = values[np.isfinite(values)]
    if values.index.has_duplicates:
        seeds = sorted(values.index[values.index.duplicated()].unique())
        raise ValueError(
            f"{rows['task'].iloc[0]} / {rows['activation'].iloc[0]} has several runs for seed(s) "
            f"{seeds}; remove duplicate runs or separate them with extra_axes"
        )
    return values


def _pair(rows: pd.DataFrame, base: pd.DataFrame | None, metric: str, confidence: float):
    """The paired statistics of one activation's rows against the baseline's (same setting)."""
    if base is None:
        return {**paired_tests([], confidence), "note": "no baseline runs for this setting"}
    mine, theirs = by_seed(rows, metric), by_seed(base, metric)
    seeds = mine.index.intersection(theirs.index)
    stats = paired_tests((mine[seeds] - theirs[seeds]).to_numpy(dtype=float), confidence)
    return {**stats, "baseline_mean": float(theirs[seeds].mean()) if len(seeds) else math.nan}


def paired_comparison(
    df: pd.DataFrame,
    baseline: str,
    *,
    extra_axes: Sequence[str] = (),
    alpha: float = 0.05,
    confidence: float = 0.95,
    power: float = 0.8,
) -> pd.DataFrame:
    """Each activation against `baseline`, runs paired by seed, each at its own chosen lr.

    Per (task, activation ≠ baseline, *extra_axes): n_pairs (seeds ok in both), mean_diff (the
    mean of activation − baseline over the pairs, in the metric's units) with its t-interval
    diff_ci_low/high, median_diff, baseline_mean (over the same seeds), ttest_p (paired, two
    sided), p_holm (Holm-adjusted over every comparison of the task), wilcoxon_p with
    wilcoxon_min_p (the smallest p its exact test can give with these pairs), effect_size
    (Cohen's d_z), seeds_needed (pairs for `power` at the strictest Holm level α/m; inf when
    there is no effect), verdict (better / worse / no evidence at `alpha`, from p_holm and the
    sign of mean_diff) and note. Rows follow the summary's order: per task, best mean first.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), e.g. 0.05; got {alpha!r}")
    chosen = select_lr(df, extra_axes=extra_axes)
    columns = ["task", "activation", *extra_axes, *PAIRED_COLUMNS]
    if chosen.empty:
        return pd.DataFrame(columns=columns)
    objectives = objectives_of(chosen, df.attrs.get("protocol"))
    is_base = baseline_mask(chosen, baseline)
    axes = ["task", *extra_axes]
    base_by_setting = {key(k): rows for k, rows in groups(chosen[is_base], axes)}
    rows_out = []
    for group, rows in groups(chosen[~is_base], [*axes, "activation"]):
        metric, _, higher = objectives[rows["task"].iloc[0]]
        values = ok_values(rows, metric)
        rows_out.append(
            {
                **dict(zip(axes, group[:-1])),
                "activation": group[-1],
                "baseline": baseline,
                "metric": metric,
                "higher_is_better": higher,
                "_mean": float(np.mean(values)) if len(values) else math.nan,
                **_pair(rows, base_by_setting.get(key(group[:-1])), metric, confidence),
            }
        )
    if not rows_out:  # only the baseline was run
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows_out)
    table = pd.concat(
        [_judge(part, alpha, power) for _, part in table.groupby("task", sort=True)],
        ignore_index=True,
    )
    table = sort_best_first(table, by="_mean").drop(columns="_mean")
    table.attrs.update(alpha=alpha, test=TEST, power=power)
    return table.reindex(columns=columns).reset_index(drop=True)


def _judge(task_rows: pd.DataFrame, alpha: float, power: float) -> pd.DataFrame:
    """Holm across the task's comparisons, the verdicts, the seeds needed and the notes."""
    rows = task_rows.copy()
    rows["p_holm"] = holm(rows["ttest_p"].to_numpy(dtype=float))
    m = max(1, int(np.isfinite(rows["ttest_p"].to_numpy(dtype=float)).sum()))
    rows["verdict"] = [
        verdict(p, d, h, alpha)
        for p, d, h in zip(rows["p_holm"], rows["mean_diff"], rows["higher_is_better"])
    ]
    rows["seeds_needed"] = [seeds_needed(d, alpha / m, power) for d in rows["effect_size"]]
    rows["note"] = [_note(row, alpha, m) for _, row in rows.iterrows()]
    return rows


def _note(row: pd.Series, alpha: float, m: int) -> str:
    """Why a test is missing, or the level the Wilcoxon test cannot reach with these pairs."""
    notes = [str(row["note"])] if row["note"] else []
    floor = float(row["wilcoxon_min_p"])
    n = int(row["n_pairs"])
    if n >= 1 and floor >= alpha / m:
        level = f"α/m = {alpha / m:.2g}" if m > 1 else f"α = {alpha:g}"
        notes.append(f"{n} pairs: Wilcoxon's smallest p is {floor:.3g} (cannot reach {level})")
    return "; ".join(notes)


# --- the GEM paper's deficit ---------------------------------------------------------------------


def deficit(df: pd.DataFrame, baseline: str = "gelu", *, extra_axes: Sequence[str] = ()):
    """The GEM paper's "deficit vs GELU" (Krause, arXiv:2604.21677, abstract): unpaired, from
    the medians of :func:`summarize`.

    Per task and activation ≠ baseline: for accuracy, baseline − activation in percentage
    points (accuracy is stored as a fraction, so ×100); for other metrics, activation − baseline
    in the metric's units. Positive = worse than the baseline. Columns: task, activation,
    *extra_axes, baseline, metric, unit, baseline_median, median, deficit.
    """
    summary = summarize(df, extra_axes=extra_axes)
    if summary.empty:
        return pd.DataFrame(columns=["task", "activation", *extra_axes, *DEFICIT_COLUMNS])
    is_base = baseline_mask(summary, baseline)
    axes = ["task", *extra_axes]
    base = summary[is_base].set_index(axes)["median"].rename("baseline_median")
    table = summary[~is_base].join(base, on=axes)
    accuracy = table["metric"].str.endswith("accuracy")
    table["unit"] = np.where(accuracy, "pts", table["metric"])
    table["deficit"] = np.where(
        table["higher_is_better"].astype(bool),
        (table["baseline_median"] - table["median"]) * np.where(accuracy, 100.0, 1.0),
        table["median"] - table["baseline_median"],
    )
    table["baseline"] = baseline
    return table[["task", "activation", *extra_axes, *DEFICIT_COLUMNS]].reset_index(drop=True)


# --- ranks ---------------------------------------------------------------------------------------


def setting_label(summary: pd.DataFrame) -> pd.Series:
    """The task name, with the extra axes' values appended: ``resnet-norm[norm=layer]``."""
    axes = list(summary.attrs.get("extra_axes", ()))
    if not axes:
        return summary["task"].astype(str)

    def label(row: pd.Series) -> str:
        values = [f"{a}={row[a]}" for a in axes if not pd.isna(row[a])]  # axes of other tasks
        return f"{row['task']}[{','.join(values)}]" if values else str(row["task"])

    return summary.apply(label, axis=1, result_type="reduce")


def ranks(summary: pd.DataFrame) -> pd.DataFrame:
    """Rank of each activation per task (1 = best mean; ties share the average rank) and the
    mean rank across tasks (Demšar 2006, JMLR 7, §3.2.2). An activation without a mean (every
    run diverged) ranks last in that task. Columns: activation, mean_rank, n_tasks, then one
    column per task (per task and extra-axis values when the summary has extra axes)."""
    missing = [c for c in ("task", "activation", "mean", "higher_is_better") if c not in summary]
    if missing:
        raise ValueError(f"ranks() needs the output of summarize(); missing {', '.join(missing)}")
    if summary.empty:
        return pd.DataFrame(columns=["activation", "mean_rank", "n_tasks"])
    table = summary.assign(setting=setting_label(summary))
    direction = np.where(table["higher_is_better"].astype(bool), -1.0, 1.0)
    table["rank"] = (
        table.assign(_key=table["mean"].astype(float) * direction)
        .groupby("setting")["_key"]
        .rank(method="average", na_option="bottom")
    )
    wide = table.pivot_table(index="activation", columns="setting", values="rank", sort=False)
    wide.columns.name = None
    result = pd.DataFrame(
        {"mean_rank": wide.mean(axis=1), "n_tasks": wide.notna().sum(axis=1).astype(int)}
    ).join(wide)
    result = result.rename_axis("activation").reset_index()
    return result.sort_values(["mean_rank", "activation"], kind="stable").reset_index(drop=True)


# --- one score per run, for the comparisons across tasks ----------------------------------------


def run_scores(df: pd.DataFrame, extra_axes: Sequence[str] = ()) -> pd.DataFrame:
    """Every run at its chosen lr as one score, the input of :mod:`gatelab.stats.across`:
    columns setting (the task, with the extra axes' values: ``mnist-mlp[dropout=0.5]``),
    task, activation, seed, value (the test metric; NaN for a diverged or failed run) and
    higher_is_better."""
    chosen = select_lr(df, extra_axes=extra_axes)
    columns = ["setting", "task", "activation", "seed", "value", "higher_is_better"]
    if chosen.empty:
        return pd.DataFrame(columns=columns)
    objectives = objectives_of(chosen, df.attrs.get("protocol"))
    frame = chosen.copy()
    frame.attrs["extra_axes"] = tuple(extra_axes)
    metric = frame["task"].map(lambda t: objectives[t][0])
    value = [
        pd.to_numeric(pd.Series([row.get(m)]), errors="coerce").iloc[0] if s == OK else math.nan
        for (_, row), m, s in zip(frame.iterrows(), metric, frame["status"])
    ]
    return pd.DataFrame(
        {
            "setting": setting_label(frame).to_numpy(),
            "task": frame["task"].to_numpy(),
            "activation": frame["activation"].to_numpy(),
            "seed": frame["seed"].to_numpy(),
            "value": np.asarray(value, dtype=float),
            "higher_is_better": frame["task"].map(lambda t: objectives[t][2]).to_numpy(),
        },
        columns=columns,
    )
