"""The results table as the statistics read it: input checks, each task's objective, activation
spellings, groups, and the learning rate chosen on validation.

The objective (test metric, validation metric, direction) comes from the records themselves —
the columns ``metric``, ``val_metric`` and ``higher_is_better`` that ``gatelab.results.load``
makes of each record's ``objective`` — or from a sweep's ``[protocol]`` table, never from the
task registry: a report reads only the results store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..registry import resolve

OK, DIVERGED, FAILED = "ok", "diverged", "failed"
REQUIRED = ("task", "activation", "seed", "lr", "status")
#: What each record says about its metric (gatelab.results.OBJECTIVE).
OBJECTIVE = ("metric", "val_metric", "higher_is_better")
#: Columns that change what a run measures; a group mixing their values is refused.
DESIGN_COLUMNS = ("dataset", "scale", "epochs")


# --- the objective -------------------------------------------------------------------------------


def objective(
    rows: pd.DataFrame, protocol: Mapping[str, Any] | None = None
) -> tuple[str, str, bool]:
    """(test metric, validation metric, higher_is_better) of one task's `rows`, as their records
    state it; a sweep's `protocol` (``metric``, ``higher_is_better``, ``select_on`` = "val" |
    "test") overrides. ValueError when the records do not say, or disagree."""
    stated = [_stated(rows, column) for column in OBJECTIVE]
    metric, val_metric, higher = stated
    if protocol:
        metric = protocol.get("metric", metric)
        if "higher_is_better" in protocol:
            higher = bool(protocol["higher_is_better"])
        split = protocol.get("select_on", "val")
        val_metric = f"{split}_{str(val_metric).split('_', 1)[1]}" if val_metric else None
    missing = [
        name for name, value in zip(OBJECTIVE, (metric, val_metric, higher)) if value is None
    ]
    if missing:
        task = rows["task"].iloc[0] if len(rows) else "?"
        raise ValueError(
            f"the runs of {task} do not say which metric they are compared on (no "
            f"{', '.join(missing)}): load records with gatelab.results.load, which reads each "
            "record's objective, or add the columns metric, val_metric, higher_is_better"
        )
    return str(metric), str(val_metric), bool(higher)


def _stated(rows: pd.DataFrame, column: str) -> Any:
    """The one value the rows give for an objective column; None if none; ValueError if several."""
    if column not in rows.columns:
        return None
    values = list(dict.fromkeys(v for v in rows[column] if not _missing(v)))
    if len(values) > 1:
        raise ValueError(
            f"the runs of {rows['task'].iloc[0]} disagree on {column}: {values}; "
            "a task's runs must be compared on one metric"
        )
    return values[0] if values else None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# --- activation names -----------------------------------------------------------------------------


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


def prepare(df: pd.DataFrame, extra_axes: Sequence[str]) -> pd.DataFrame:
    """Validate the frame (columns, lr present, one design per group) and unify spellings."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of runs, got {type(df).__name__}")
    missing = [c for c in (*REQUIRED, *extra_axes) if c not in df.columns]
    if missing:
        raise ValueError(
            f"the results table lacks column(s) {', '.join(missing)}; "
            "load it with gatelab.results.load(DIR) or name existing columns in extra_axes"
        )
    df = df.reset_index(drop=True)
    lr = pd.to_numeric(df["lr"].astype(object), errors="coerce")
    if lr.isna().any():
        tasks = sorted(map(str, df.loc[lr.isna(), "task"].unique()))
        raise ValueError(
            f"runs of {', '.join(tasks)} have no lr (records of a task this process does not "
            "know, or a hand-made table): fill the lr column before computing statistics"
        )
    df = df.assign(lr=lr)
    df = _unify_spellings(df) if len(df) else df
    _check_design(df, ["task", "activation", *extra_axes])
    return df


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


def key(values: Any) -> tuple:
    """A group key usable in a dict: NaN (an axis that does not apply to a task) becomes None,
    since NaN != NaN would never find its own setting again."""
    values = values if isinstance(values, tuple) else (values,)
    return tuple(None if isinstance(v, float) and np.isnan(v) else v for v in values)


def groups(df: pd.DataFrame, keys: list[str]):
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
    df = prepare(df, [k for k in keys if k not in ("task", "activation")])
    if df.empty:
        return df.assign(chosen_lr=pd.Series(dtype=float))
    objectives = {t: objective(rows, protocol) for t, rows in df.groupby("task", sort=False)}
    kept = []
    for _, rows in groups(df, keys):
        _, val_metric, higher = objectives[rows["task"].iloc[0]]
        lr = _best_lr(rows, val_metric, higher)
        kept.append(rows[rows["lr"] == lr].assign(chosen_lr=lr))
    chosen = pd.concat(kept).sort_index()
    chosen.attrs["objectives"] = objectives
    return chosen


def objectives_of(chosen: pd.DataFrame, protocol: Mapping[str, Any] | None) -> dict[str, tuple]:
    """{task: objective} of a frame from :func:`select_lr` (computed there once per task)."""
    known = chosen.attrs.get("objectives")
    if known is not None:
        return known
    return {t: objective(rows, protocol) for t, rows in chosen.groupby("task", sort=False)}
