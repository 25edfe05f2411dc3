"""Papers' claims as verdicts from the statistics (gatelab.stats), never by eye.

A claim names what it compares (a per-run value: the final training loss, the accuracy under
noise, the test metric), which activation it is about and against whom. Its verdict comes from
the seed-paired comparison (paired t-test, Holm-adjusted; gatelab.stats.paired_comparison) of
that value at each activation's lr chosen on validation:

- **holds** — the claimed activation is best and significantly better than every rival (or, for
  "matches or exceeds", no rival is significantly better and it is significantly better than all);
- **not contradicted** — for "matches or exceeds": no rival is significantly better, though one
  has a better median (absence of a significant difference is not proof of a match);
- **consistent, not significant** — the claimed activation has the best median, but not every
  difference is significant;
- **does not hold** — a rival has a better median, though not significantly;
- **contradicted** — a rival is significantly better;
- **undecided (all tied)** — every activation has the same median (e.g. all stuck at chance).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import stats

HOLDS, NOT_CONTRADICTED = "holds", "not contradicted"
CONSISTENT = "consistent, not significant"
UNDECIDED = "undecided (all tied)"
NOT_HOLD, CONTRADICTED = "does not hold", "contradicted"

#: A per-run value: (results row) → float (NaN when the run has none).
Value = Callable[[pd.Series], float]


@dataclass(frozen=True)
class Verdict:
    claim: str
    outcome: str
    evidence: str


# --- per-run values -----------------------------------------------------------------------------


def final_train_loss(row: pd.Series) -> float:
    """The training log loss of the last epoch (GELU paper Fig. 2: "training log loss")."""
    history = row.get("history") or []
    value = history[-1].get("train_loss") if history else None
    return math.nan if value is None else float(value)


def noisy(key: str) -> Value:
    """The mean over a > 0 of a run's test `key` ("accuracy" or "loss") under Unif[−a, a]
    input noise (GELU paper Fig. 3): one number per run for the area under its noise curve."""

    def value(row: pd.Series) -> float:
        points = (row.get("curves") or {}).get("noise") or []
        values = [p[key] for p in points if p.get("a", 0) > 0 and p.get(key) is not None]
        return float(np.mean(values)) if values else math.nan

    return value


def test_metric(row: pd.Series) -> float:
    value = row.get(row["metric"]) if isinstance(row.get("metric"), str) else None
    return math.nan if value is None else float(value)


# --- comparisons ---------------------------------------------------------------------------------


def compared(
    df: pd.DataFrame,
    value: Value,
    higher_is_better: bool,
    baseline: str,
    extra_axes: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, paired comparison against `baseline`) of `value`, each activation at its lr
    chosen on validation by the task's own metric."""
    chosen = stats.select_lr(df, extra_axes=tuple(extra_axes))
    values = [value(row) if row["status"] == stats.OK else math.nan for _, row in chosen.iterrows()]
    frame = chosen.assign(
        lr=chosen["chosen_lr"], value=values, metric="value", val_metric="value",
        higher_is_better=higher_is_better,
    )  # fmt: skip
    frame.attrs = {}
    summary = stats.summarize(frame, extra_axes=tuple(extra_axes))
    paired = stats.paired_comparison(frame, baseline, extra_axes=tuple(extra_axes))
    return summary, paired


def best_outcome(
    summary: pd.DataFrame, paired: pd.DataFrame, claimed: str, higher: bool
) -> tuple[str, str]:
    """(outcome, evidence) of "`claimed` is the best" in one setting."""
    medians = summary.set_index("activation")["median"].astype(float)
    best = medians.max() if higher else medians.min()
    verdicts = dict(zip(paired["activation"], paired["verdict"]))
    evidence = _evidence(summary, paired, claimed)
    if any(v == stats.paired.BETTER for v in verdicts.values()):
        return CONTRADICTED, evidence
    if medians.nunique() == 1:  # all tied (e.g. every one stuck at chance): nothing to judge
        return UNDECIDED, evidence
    if medians.get(claimed, math.nan) != best:
        return NOT_HOLD, evidence
    if verdicts and all(v == stats.paired.WORSE for v in verdicts.values()):
        return HOLDS, evidence
    return CONSISTENT, evidence


def robust_outcome(
    summary: pd.DataFrame, paired: pd.DataFrame, claimed: str, higher: bool
) -> tuple[str, str]:
    """(outcome, evidence) of "`claimed` matches or exceeds the others"."""
    verdicts = list(paired["verdict"])
    evidence = _evidence(summary, paired, claimed)
    if any(v == stats.paired.BETTER for v in verdicts):
        return CONTRADICTED, evidence
    if verdicts and all(v == stats.paired.WORSE for v in verdicts):
        return HOLDS, evidence
    medians = summary.set_index("activation")["median"].astype(float)
    best = medians.max() if higher else medians.min()
    return (CONSISTENT if medians.get(claimed, math.nan) == best else NOT_CONTRADICTED), evidence


def _evidence(summary: pd.DataFrame, paired: pd.DataFrame, claimed: str) -> str:
    """ "gelu 0.0512; relu 0.0601 (worse, p_Holm 0.004); …" — medians and paired verdicts."""
    medians = summary.set_index("activation")["median"]
    verdicts = paired.set_index("activation")
    parts = [f"{claimed} {medians.get(claimed, math.nan):.4g}"]
    for name, median in medians.items():
        if name == claimed or name not in verdicts.index:
            continue
        row = verdicts.loc[name]
        p = stats.formats.format_p(row["p_holm"])
        parts.append(f"{name} {median:.4g} ({row['verdict']} vs {claimed}, p_Holm {p})")
    return "; ".join(parts)


# --- claims ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One claim of a paper about one task (and setting), judged by `kind`:
    "best" (the claimed activation is best) or "robust" (matches or exceeds the others)."""

    text: str
    task: str
    value: Value
    higher_is_better: bool
    claimed: str = "gelu"
    kind: str = "best"
    rivals: tuple[str, ...] = ()
    where: tuple[tuple[str, Any], ...] = ()  # column filters: (("lr", 1e-3),)
    extra_axes: tuple[str, ...] = ()

    def judge(self, df: pd.DataFrame) -> Verdict:
        runs = df[df["task"] == self.task]
        for column, wanted in self.where:
            runs = runs[np.isclose(runs[column].astype(float), wanted)]
        if self.rivals:
            keep = {stats.canonical(a) for a in (self.claimed, *self.rivals)}
            runs = runs[runs["activation"].map(stats.canonical).isin(keep)]
        names = set(runs["activation"].map(stats.canonical)) if len(runs) else set()
        if stats.canonical(self.claimed) not in names or len(names) < 2:
            return Verdict(self.text, "not run", "the runs this claim needs are not in the results")
        summary, paired = compared(runs, self.value, self.higher_is_better, self.claimed,
                                   self.extra_axes)  # fmt: skip
        if self.kind == "robust":
            outcome, evidence = robust_outcome(summary, paired, self.claimed, self.higher_is_better)
        else:
            outcome, evidence = best_outcome(summary, paired, self.claimed, self.higher_is_better)
        return Verdict(self.text, outcome, evidence)
