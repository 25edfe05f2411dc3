"""Statistics over a results table: lr selection, summaries with bootstrap CIs, paired tests.

The input is the results store's DataFrame (``gatelab.results.load``): one row per run with the
columns task, activation, seed, lr, status and the flattened metrics (val_accuracy, test_accuracy,
val_mse, test_mse, …). Every function here first chooses one learning rate per (task, activation,
*extra_axes) on the validation metric, as the GELU paper does (Hendrycks & Gimpel,
arXiv:1606.08415 §3: "learning rate … chosen on validation", "median of 5 runs"), then reports
the *test* metric at that lr:

- :func:`select_lr` — the lr with the best median validation metric; diverged/failed runs count
  as the worst value, ties go to the smaller lr;
- :func:`summarize` — n, median, mean ± std and a percentile-bootstrap CI of the mean
  (Efron & Tibshirani 1993, ch. 13);
- :func:`paired_comparison` — seed-paired Wilcoxon signed-rank and paired t-test against a
  baseline, with Cohen's d_z (Cohen 1988; Lakens 2013, eq. 6);
- :func:`deficit` — the GEM paper's "deficit vs GELU" (Krause, arXiv:2604.21677, abstract);
- :func:`ranks` — ranks per task and the mean rank across tasks (Demšar 2006, JMLR 7 §3.2.2);
- :func:`leaderboard` — the display table built from the above.

Activation strings are matched after canonicalisation (``"gelu"`` = ``"gelu()"``,
``"e_gem(eps=1e-4)"`` = ``"e_gem"``); the first spelling met is kept for display. Needs the
``report`` extra (pandas, scipy); nothing here is imported by ``import gatelab``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from .registry import resolve

OK, DIVERGED, FAILED = "ok", "diverged", "failed"
REQUIRED = ("task", "activation", "seed", "lr", "status")
#: columns that change what a run measures; a group mixing their values is refused.
DESIGN_COLUMNS = ("dataset", "scale", "epochs")

SUMMARY_COLUMNS = [
    "lr", "metric", "higher_is_better", "n", "n_diverged", "n_failed",
    "median", "mean", "std", "ci_low", "ci_high",
]  # fmt: skip
PAIRED_COLUMNS = [
    "baseline", "metric", "higher_is_better", "n_pairs", "mean_diff", "median_diff",
    "wilcoxon_p", "ttest_p", "effect_size", "better", "note",
]  # fmt: skip
DEFICIT_COLUMNS = ["baseline", "metric", "unit", "baseline_median", "median", "deficit"]


# --- metrics and activation names --------------------------------------------------------------


def metric_for(task: str, protocol: Mapping[str, Any] | None = None) -> tuple[str, str, bool]:
    """(test metric, validation metric, higher_is_better) of a task, or as a sweep's
    `protocol` sets them (``metric``, ``higher_is_better``, ``select_on`` = "val" | "test").

    Classifiers compare accuracy, the autoencoder mean squared error (GELU paper §3.1–3.5), the
    language models validation loss; a task name gatelab does not know is treated as a
    classifier.
    """
    from .tasks import TASKS

    known = TASKS.get(task)
    if known is None:
        metric, val_metric, higher = "test_accuracy", "val_accuracy", True
    else:
        metric, val_metric, higher = known.metric, known.val_metric, known.higher_is_better
    if protocol:  # a sweep's [protocol] table (DataFrame.attrs["protocol"]) overrides
        metric = protocol.get("metric", metric)
        higher = bool(protocol.get("higher_is_better", higher))
        split = protocol.get("select_on", "val")
        val_metric = f"{split}_{val_metric.split('_', 1)[1]}"
    return metric, val_metric, higher


def canonical(activation: str) -> str:
    """The canonical spec string (``"gelu()"`` → ``"gelu"``); an unregistered name (e.g. a user
    activation registered in another process) is kept as written, minus outer whitespace."""
    try:
        spec, params = resolve(activation)
    except ValueError:
        return activation.strip() if isinstance(activation, str) else activation
    return spec.format(params)


def _unify_spellings(df: pd.DataFrame) -> pd.DataFrame:
    """Rewrite each activation to the first spelling met among those with its canonical form."""
    keys = df["activation"].map({a: canonical(a) for a in df["activation"].unique()})
    first = df["activation"].groupby(keys, sort=False).transform("first")
    return df.assign(activation=first)


# --- input checks --------------------------------------------------------------------------------


def _prepare(df: pd.DataFrame, extra_axes: Sequence[str]) -> pd.DataFrame:
    """Validate the frame, fill task defaults for missing lr/dataset/epochs, unify spellings."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of runs, got {type(df).__name__}")
    missing = [c for c in (*REQUIRED, *extra_axes) if c not in df.columns]
    if missing:
        raise ValueError(
            f"the results table lacks column(s) {', '.join(missing)}; "
            "load it with gatelab.results.load(DIR) or name existing columns in extra_axes"
        )
    df = _fill_task_defaults(df.reset_index(drop=True))
    if df["lr"].isna().any():
        tasks = sorted(df.loc[df["lr"].isna(), "task"].unique())
        raise ValueError(
            f"runs of unknown task(s) {', '.join(tasks)} have no lr; "
            "fill the lr column before computing statistics"
        )
    df = _unify_spellings(df) if len(df) else df
    _check_design(df, ["task", "activation", *extra_axes])
    return df


def _fill_task_defaults(df: pd.DataFrame) -> pd.DataFrame:
    """A record stores None for lr/dataset/epochs when the task's default was used."""
    from .tasks import TASKS

    df = df.copy()
    df["lr"] = df["lr"].astype(object)
    for column in ("lr", "dataset", "epochs"):
        if column not in df.columns:
            continue
        for index in df.index[df[column].isna()]:
            task = TASKS.get(df.at[index, "task"])
            if task is not None:
                df.at[index, column] = _task_default(task, column, df.get("scale"), index)
    df["lr"] = pd.to_numeric(df["lr"])
    return df


def _task_default(task: Any, column: str, scales: pd.Series | None, index: Any) -> Any:
    if column == "lr":
        return task.lr
    if column == "dataset":
        return task.datasets[0]
    return task.epochs.get("paper" if scales is None else scales[index])


def _check_design(df: pd.DataFrame, keys: list[str]) -> None:
    """Refuse to pool runs of different datasets, scales or epoch counts into one statistic."""
    for column in DESIGN_COLUMNS:
        if column not in df.columns or column in keys or df.empty:
            continue
        counts = df.groupby(keys, dropna=False)[column].nunique(dropna=False)
        mixed = counts[counts > 1]
        if len(mixed):
            where = mixed.index[0]
            raise ValueError(
                f"group {where} mixes runs with different {column!r} values; pass "
                f"extra_axes=({column!r},) or filter the table to one {column}"
            )


def _key(values: Any) -> tuple:
    """A group key usable in a dict: NaN (an axis that does not apply to a task) becomes None,
    since NaN != NaN would never find its own setting again."""
    values = values if isinstance(values, tuple) else (values,)
    return tuple(None if isinstance(v, float) and np.isnan(v) else v for v in values)


def _groups(df: pd.DataFrame, keys: list[str]):
    """Group rows by `keys` in order of first appearance, keeping NaN keys."""
    return df.groupby(keys, sort=False, dropna=False)


# --- lr selection --------------------------------------------------------------------------------


def _validation_scores(rows: pd.DataFrame, val_metric: str, higher: bool) -> np.ndarray:
    """Each run's validation metric; diverged, failed or metric-less runs get the worst value."""
    worst = -math.inf if higher else math.inf
    if val_metric not in rows.columns:
        return np.full(len(rows), worst)
    values = pd.to_numeric(rows[val_metric], errors="coerce").to_numpy(dtype=float)
    usable = (rows["status"].to_numpy() == OK) & np.isfinite(values)
    return np.where(usable, values, worst)


def _best_lr(rows: pd.DataFrame, val_metric: str, higher: bool) -> float:
    """The lr whose median validation score is best; ties → the smaller lr."""
    scores = rows.assign(_score=_validation_scores(rows, val_metric, higher))
    medians = scores.groupby("lr")["_score"].median().sort_index()  # ascending lr
    best = medians.max() if higher else medians.min()
    return float(medians.index[medians == best][0])


def select_lr(
    df: pd.DataFrame,
    group: Sequence[str] = ("task", "activation"),
    extra_axes: Sequence[str] = (),
) -> pd.DataFrame:
    """Keep, per group (+ extra axes such as dropout), only the runs of the best lr.

    The best lr has the best MEDIAN validation metric over seeds (GELU paper §3.1: lr "chosen
    on 5k validation examples", "median of 5 runs"). Diverged and failed runs count as the worst
    possible value, so an lr that diverges for half the seeds cannot win. Ties go to the smaller
    lr. Returns the kept rows (every status) with a column ``chosen_lr``.
    """
    keys = [*group, *extra_axes]
    protocol = df.attrs.get("protocol")
    df = _prepare(df, [k for k in keys if k not in ("task", "activation")])
    if df.empty:
        return df.assign(chosen_lr=pd.Series(dtype=float))
    kept = []
    for _, rows in _groups(df, keys):
        _, val_metric, higher = metric_for(rows["task"].iloc[0], protocol)
        lr = _best_lr(rows, val_metric, higher)
        kept.append(rows[rows["lr"] == lr].assign(chosen_lr=lr))
    return pd.concat(kept).sort_index()


# --- summaries -----------------------------------------------------------------------------------


def _ok_values(rows: pd.DataFrame, metric: str) -> np.ndarray:
    """The test metric of the ok runs that have a finite value."""
    if metric not in rows.columns:
        return np.empty(0)
    ok = rows[rows["status"] == OK]
    values = pd.to_numeric(ok[metric], errors="coerce").to_numpy(dtype=float)
    return values[np.isfinite(values)]


def bootstrap_ci(
    values: np.ndarray, *, confidence: float = 0.95, n_boot: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean (Efron & Tibshirani 1993, §13.3); NaN when n < 2.

    Resamples with ``numpy.random.Generator(PCG64(seed))``, so a seed gives the same interval.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence!r}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive number of resamples, got {n_boot!r}")
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _describe(values: np.ndarray, confidence: float, n_boot: int, seed: int) -> dict[str, Any]:
    n = len(values)
    low, high = bootstrap_ci(values, confidence=confidence, n_boot=n_boot, seed=seed)
    return {
        "n": n,
        "median": float(np.median(values)) if n else math.nan,
        "mean": float(np.mean(values)) if n else math.nan,
        "std": float(np.std(values, ddof=1)) if n > 1 else math.nan,
        "ci_low": low,
        "ci_high": high,
    }


def _sort_best_first(table: pd.DataFrame) -> pd.DataFrame:
    """Sort by task, then median best first (per the task's direction), NaN medians last."""
    if table.empty:
        return table
    direction = np.where(table["higher_is_better"], -1.0, 1.0)
    order = table.assign(_key=table["median"] * direction)
    return order.sort_values(["task", "_key"], na_position="last", kind="stable").drop(
        columns="_key"
    )


def summarize(
    df: pd.DataFrame,
    *,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
    extra_axes: Sequence[str] = (),
) -> pd.DataFrame:
    """Per (task, activation, *extra_axes), the test metric at the lr chosen by :func:`select_lr`.

    Columns: task, activation, *extra_axes, lr, metric, higher_is_better, n (ok runs with a
    finite metric), n_diverged, n_failed, median, mean, std (ddof 1), ci_low, ci_high (the
    percentile-bootstrap CI of the mean, :func:`bootstrap_ci`; NaN when n < 2). A group whose
    runs all diverged is listed with n = 0 and NaN statistics. Sorted by task, best first.
    ``attrs["extra_axes"]`` records the axes for :func:`ranks`.
    """
    chosen = select_lr(df, extra_axes=extra_axes)
    keys = ["task", "activation", *extra_axes]
    rows_out = []
    for key, rows in _groups(chosen, keys):
        metric, _, higher = metric_for(rows["task"].iloc[0], df.attrs.get("protocol"))
        status = rows["status"]
        rows_out.append(
            {
                **dict(zip(keys, key)),
                "lr": rows["chosen_lr"].iloc[0],
                "metric": metric,
                "higher_is_better": higher,
                "n_diverged": int((status == DIVERGED).sum()),
                "n_failed": int((status == FAILED).sum()),
                **_describe(_ok_values(rows, metric), confidence, n_boot, seed),
            }
        )
    table = pd.DataFrame(rows_out, columns=[*keys, *SUMMARY_COLUMNS])
    table = _sort_best_first(table).reset_index(drop=True)
    table.attrs["extra_axes"] = tuple(extra_axes)
    return table


# --- comparisons against a baseline --------------------------------------------------------------


def _baseline_rows(chosen: pd.DataFrame, baseline: str) -> pd.Series:
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


def _by_seed(rows: pd.DataFrame, metric: str) -> pd.Series:
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


def paired_tests(differences: np.ndarray) -> dict[str, Any]:
    """Wilcoxon signed-rank and paired t-test p-values and Cohen's d_z of paired differences.

    Wilcoxon (scipy.stats.wilcoxon, two-sided, zero differences dropped) is NaN when there are
    fewer than 2 pairs or every difference is 0; the t-test and d_z = mean/sd (Lakens 2013,
    eq. 6) are NaN when the differences have no spread. ``note`` says why a value is NaN.
    """
    d = np.asarray(differences, dtype=float)
    out = {"wilcoxon_p": math.nan, "ttest_p": math.nan, "effect_size": math.nan, "note": ""}
    if len(d) < 2:
        out["note"] = f"{len(d)} pair(s): no test"
        return out
    if not np.any(d):
        out["note"] = "all differences are 0: no test"
        return out
    sd = float(np.std(d, ddof=1))
    if sd <= 1e-12 * float(np.max(np.abs(d))):  # spread at rounding level: constant
        sd = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        out["wilcoxon_p"] = float(scipy_stats.wilcoxon(d, alternative="two-sided").pvalue)
    if sd > 0:
        out["ttest_p"] = float(scipy_stats.ttest_1samp(d, 0.0).pvalue)
        out["effect_size"] = float(np.mean(d)) / sd
    else:
        out["note"] = "constant differences: no t-test or effect size"
    return out


def _beats(median: float, other: float, higher: bool) -> bool:
    """Whether `median` is strictly better than `other`; False when either is NaN."""
    return bool(median > other) if higher else bool(median < other)


def paired_comparison(
    df: pd.DataFrame, baseline: str, *, extra_axes: Sequence[str] = ()
) -> pd.DataFrame:
    """Each activation against `baseline`, runs paired by seed, at each one's chosen lr.

    Per (task, activation ≠ baseline, *extra_axes): n_pairs (seeds ok in both), mean_diff and
    median_diff (activation − baseline, in the metric's units), wilcoxon_p, ttest_p (paired,
    two-sided), effect_size (Cohen's d_z), better (the activation's median over its ok runs beats
    the baseline's, in the task's direction; False when either has none) and note (why a test
    is NaN: fewer than 2 pairs, all differences 0, no baseline runs for this setting).
    """
    chosen = select_lr(df, extra_axes=extra_axes)
    if chosen.empty:
        return pd.DataFrame(columns=["task", "activation", *extra_axes, *PAIRED_COLUMNS])
    is_base = _baseline_rows(chosen, baseline)
    axes = ["task", *extra_axes]
    base_by_setting = {_key(key): rows for key, rows in _groups(chosen[is_base], axes)}
    rows_out = []
    for key, rows in _groups(chosen[~is_base], [*axes, "activation"]):
        setting = key[:-1]
        metric, _, higher = metric_for(rows["task"].iloc[0], df.attrs.get("protocol"))
        base = base_by_setting.get(_key(setting))
        rows_out.append(
            {
                **dict(zip(axes, setting)),
                "activation": key[-1],
                "baseline": baseline,
                "metric": metric,
                "higher_is_better": higher,
                **_compare(rows, base, metric, higher),
            }
        )
    table = pd.DataFrame(rows_out, columns=["task", "activation", *extra_axes, *PAIRED_COLUMNS])
    return table.sort_values(["task", *extra_axes], kind="stable").reset_index(drop=True)


def _compare(
    rows: pd.DataFrame, base: pd.DataFrame | None, metric: str, higher: bool
) -> dict[str, Any]:
    if base is None:
        empty = {"n_pairs": 0, "mean_diff": math.nan, "median_diff": math.nan, "better": False}
        return {**empty, **paired_tests(np.empty(0)), "note": "no baseline runs for this setting"}
    mine, theirs = _by_seed(rows, metric), _by_seed(base, metric)
    seeds = mine.index.intersection(theirs.index)
    d = (mine[seeds] - theirs[seeds]).to_numpy(dtype=float)
    return {
        "n_pairs": len(d),
        "mean_diff": float(np.mean(d)) if len(d) else math.nan,
        "median_diff": float(np.median(d)) if len(d) else math.nan,
        "better": _beats(_median(mine), _median(theirs), higher),
        **paired_tests(d),
    }


def _median(values: pd.Series) -> float:
    return float(np.median(values)) if len(values) else math.nan


def deficit(df: pd.DataFrame, baseline: str = "gelu", *, extra_axes: Sequence[str] = ()):
    """The GEM paper's "deficit vs GELU" (Krause, arXiv:2604.21677, abstract).

    Per task and activation ≠ baseline, from the medians of :func:`summarize`: for accuracy,
    baseline − activation in percentage points (accuracy is stored as a fraction, so ×100);
    for MSE, activation − baseline in the metric's units. Positive = worse than the baseline.
    Columns: task, activation, *extra_axes, baseline, metric, unit, baseline_median, median,
    deficit.
    """
    summary = summarize(df, n_boot=1, extra_axes=extra_axes)
    if summary.empty:
        return pd.DataFrame(columns=["task", "activation", *extra_axes, *DEFICIT_COLUMNS])
    is_base = _baseline_rows(summary, baseline)
    axes = ["task", *extra_axes]
    base = summary[is_base].set_index(axes)["median"].rename("baseline_median")
    table = summary[~is_base].join(base, on=axes)
    accuracy = table["metric"].str.endswith("accuracy")
    table["unit"] = np.where(accuracy, "pts", table["metric"])
    table["deficit"] = np.where(
        table["higher_is_better"],
        (table["baseline_median"] - table["median"]) * np.where(accuracy, 100.0, 1.0),
        table["median"] - table["baseline_median"],
    )
    table["baseline"] = baseline
    return table[["task", "activation", *extra_axes, *DEFICIT_COLUMNS]].reset_index(drop=True)


# --- ranks and the display table -----------------------------------------------------------------


def _setting_label(summary: pd.DataFrame) -> pd.Series:
    """The task name, with the extra axes' values appended: ``resnet-norm[norm=layer]``."""
    axes = list(summary.attrs.get("extra_axes", ()))
    if not axes:
        return summary["task"].astype(str)

    def label(row: pd.Series) -> str:
        values = [f"{a}={row[a]}" for a in axes if not pd.isna(row[a])]  # axes of other tasks
        return f"{row['task']}[{','.join(values)}]" if values else str(row["task"])

    return summary.apply(label, axis=1, result_type="reduce")


def ranks(summary: pd.DataFrame) -> pd.DataFrame:
    """Rank of each activation per task (1 = best median; ties share the average rank) and
    the mean rank across tasks (Demšar 2006, §3.2.2). An activation without a median (every run
    diverged) ranks last in that task. Columns: activation, mean_rank, n_tasks, then one column
    per task (per task and extra-axis values when the summary has extra axes)."""
    missing = [c for c in ("task", "activation", "median", "higher_is_better") if c not in summary]
    if missing:
        raise ValueError(f"ranks() needs the output of summarize(); missing {', '.join(missing)}")
    if summary.empty:
        return pd.DataFrame(columns=["activation", "mean_rank", "n_tasks"])
    table = summary.assign(setting=_setting_label(summary))
    direction = np.where(table["higher_is_better"], -1.0, 1.0)
    table["rank"] = (
        table.assign(_key=table["median"] * direction)
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


def _format_value(value: float, metric: str) -> str:
    """Accuracy as a percentage with 2 decimals, other metrics with 4 significant digits."""
    if value is None or not np.isfinite(value):
        return "—"
    return f"{100 * value:.2f}%" if metric.endswith("accuracy") else f"{value:.4g}"


def _format_p(p: float) -> str:
    return "—" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def leaderboard(df: pd.DataFrame, baseline: str | None = None) -> pd.DataFrame:
    """The display table: per task (best first) and activation the chosen lr, n, median,
    mean ± std, the 95% bootstrap CI, divergences and failures; with a baseline also the
    difference of medians (activation − baseline; percentage points for accuracy), the seed-paired
    Wilcoxon and t-test p-values and Cohen's d_z. Values are formatted strings."""
    summary = summarize(df)
    table = pd.DataFrame(
        {
            "task": summary["task"],
            "activation": summary["activation"],
            "lr": summary["lr"].map(lambda lr: f"{lr:g}"),
            "n": summary["n"],
            "median": [_format_value(v, m) for v, m in zip(summary["median"], summary["metric"])],
            "mean ± std": [_mean_std(row) for row in summary.itertuples()],
            "95% CI": [_interval(row) for row in summary.itertuples()],
            "diverged": summary["n_diverged"],
            "failed": summary["n_failed"],
        }
    )
    if baseline is None or summary.empty:
        return table
    return _with_baseline(table, df, baseline)


def _mean_std(row: Any) -> str:
    if row.n == 0:
        return "—"
    if row.metric.endswith("accuracy"):  # percentage points, fixed decimals
        mean, std = 100 * row.mean, 100 * row.std
        return f"{mean:.2f}%" if row.n < 2 else f"{mean:.2f} ± {std:.2f}%"
    if row.n < 2:
        return f"{row.mean:.4g}"
    return f"{row.mean:.4g} ± {row.std:.2g}"


def _interval(row: Any) -> str:
    if not np.isfinite(row.ci_low):
        return "—"
    return f"[{_format_value(row.ci_low, row.metric)}, {_format_value(row.ci_high, row.metric)}]"


def _with_baseline(table: pd.DataFrame, df: pd.DataFrame, baseline: str) -> pd.DataFrame:
    gap = deficit(df, baseline)
    paired = paired_comparison(df, baseline)
    keys = ["task", "activation"]
    gap["delta"] = (gap["median"] - gap["baseline_median"]) * np.where(
        gap["unit"] == "pts", 100.0, 1.0
    )
    merged = table.merge(gap[[*keys, "delta", "unit"]], on=keys, how="left").merge(
        paired[[*keys, "n_pairs", "wilcoxon_p", "ttest_p", "effect_size"]], on=keys, how="left"
    )
    merged["Δ vs " + baseline] = [
        "—" if not np.isfinite(d) else f"{d:+.2f} pts" if u == "pts" else f"{d:+.3g}"
        for d, u in zip(merged["delta"].astype(float), merged["unit"].fillna(""))
    ]
    merged["pairs"] = merged["n_pairs"].map(lambda n: "—" if pd.isna(n) else str(int(n)))
    merged["p (Wilcoxon)"] = merged["wilcoxon_p"].astype(float).map(_format_p)
    merged["p (t-test)"] = merged["ttest_p"].astype(float).map(_format_p)
    merged["d_z"] = (
        merged["effect_size"]
        .astype(float)
        .map(lambda d: "—" if not np.isfinite(d) else f"{d:+.2f}")
    )
    helpers = ["delta", "unit", "n_pairs", "wilcoxon_p", "ttest_p", "effect_size"]
    return merged.drop(columns=helpers)
