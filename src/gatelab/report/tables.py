"""Tables of a sweep report, as Markdown or HTML: leaderboard, paired tests, deficits, ranks,
divergences and the paper-vs-ours comparison.

A builder turns a statistics frame (:mod:`gatelab.stats`) into a :class:`Table` of display
strings; :func:`to_markdown` and :func:`to_html` render any Table (HTML by escaping every cell
with :func:`html.escape`, no template engine needed).

    from gatelab import stats
    from gatelab.report import tables
    table = tables.comparison_table(stats.paired_comparison(df, "gelu"))
    print(tables.to_markdown(table))

Number formats: accuracies in percent with two decimals ("98.12%"), differences of accuracies in
percentage points ("+0.12 pts"), MSE and losses with four significant digits, p-values with three
decimals or "<0.001", missing values as "—".

The paper-vs-ours table (:func:`paper_vs_ours_table`) lists, for every task of the results with
published numbers (:mod:`gatelab.report.published`), each published entry beside our median over
the finished seeds at the lr chosen on validation, converted to the published metric (e.g.
test error % = 100·(1 − test accuracy)); activations we did not run are listed with "—".
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import stats
from ..stats.formats import (  # noqa: F401  (re-exported: the report's number formats)
    MISSING,
    format_difference,
    format_interval,
    format_mean_std,
    format_metric,
    format_p,
    format_seeds,
    is_missing,
)


@dataclass(frozen=True)
class Table:
    """Display strings: `headers`, `rows` (one string per column) and per-column alignment
    ("l" or "r"); `notes` are printed under the table (sources, footnotes)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        width = len(self.headers)
        bad = [i for i, row in enumerate(self.rows) if len(row) != width]
        if bad:
            raise ValueError(f"table rows {bad} do not have {width} cells like the headers")
        if self.align and len(self.align) != width:
            raise ValueError(f"align has {len(self.align)} entries for {width} columns")

    def alignment(self, column: int) -> str:
        return self.align[column] if self.align else "l"


# --- rendering ----------------------------------------------------------------------------------


def markdown_cell(text: str) -> str:
    """A cell of a Markdown pipe table: pipes escaped, line breaks as spaces."""
    return " ".join(str(text).split()).replace("|", r"\|")


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown pipe table, then its notes as paragraphs."""
    rule = {"l": "---", "r": "---:", "c": ":---:"}
    lines = [
        "| " + " | ".join(markdown_cell(h) for h in table.headers) + " |",
        "|" + "|".join(rule[table.alignment(i)] for i in range(len(table.headers))) + "|",
    ]
    lines += ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in table.rows]
    text = "\n".join(lines)
    if table.notes:
        text += "\n\n" + "\n\n".join(table.notes)
    return text


def to_html(table: Table) -> str:
    """An HTML <table> with every header, cell and note escaped."""
    style = {"l": "left", "r": "right", "c": "center"}

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f'<{tag} style="text-align:{style[table.alignment(i)]}">{html.escape(str(v))}</{tag}>'
            for i, v in enumerate(values)
        )

    body = "\n".join(f"<tr>{cells('td', row)}</tr>" for row in table.rows)
    text = f"<table>\n<thead><tr>{cells('th', table.headers)}</tr></thead>\n<tbody>\n{body}\n"
    text += "</tbody>\n</table>"
    for note in table.notes:
        text += f'\n<p class="note">{html.escape(note)}</p>'
    return text


def render(table: Table, format: str) -> str:
    """`table` as Markdown (format "md") or HTML ("html")."""
    if format == "md":
        return to_markdown(table)
    if format == "html":
        return to_html(table)
    raise ValueError(f"unknown table format {format!r}; use 'md' or 'html'")


# --- number formats (shared with the leaderboard: gatelab.stats.formats) ------------------------


def format_lr(lr: Any) -> str:
    """ "0.001", or "task default" for a run that stored no learning rate."""
    return "task default" if is_missing(lr) else f"{float(lr):g}"


def format_number(value: Any, digits: int = 4) -> str:
    """A generic cell: integers as is, floats with `digits` significant digits, — for NaN."""
    if is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}g}"
    return str(value)


def axes_suffix(row: Mapping[str, Any], extra_axes: Sequence[str]) -> str:
    """ " (dropout=0.5)" for a row of a sweep with extra axes, else "" (an axis the row's task
    does not have, a missing value, is left out)."""
    parts = [f"{axis}={row[axis]}" for axis in extra_axes if not is_missing(row[axis])]
    return " (" + ", ".join(parts) + ")" if parts else ""


def varying_axes(frame: Any, extra_axes: Sequence[str]) -> list[str]:
    """The extra axes that take more than one value in `frame` (e.g. within one task); an axis
    a task does not have is NaN there and drops out."""
    return [axis for axis in extra_axes if frame[axis].nunique(dropna=True) > 1]


# --- tables from stats frames -------------------------------------------------------------------


def frame_table(frame: Any, *, right: Callable[[str], bool] | None = None) -> Table:
    """Any DataFrame as a Table, each cell through :func:`format_number`; columns whose values
    are all numbers (or `right(column)`) are right-aligned."""
    headers = tuple(str(c) for c in frame.columns)
    rows = tuple(tuple(format_number(v) for v in row) for row in frame.itertuples(index=False))
    align = []
    for column in frame.columns:
        numeric = frame[column].map(lambda v: isinstance(v, (int, float, np.number))).all()
        align.append("r" if (right and right(str(column))) or numeric else "l")
    return Table(headers, rows, tuple(align))


def leaderboard_table(leaderboard: Any) -> Table:
    """:func:`gatelab.stats.leaderboard` (already formatted strings) as a Table."""
    text_columns = {"task", "activation"}
    return frame_table(leaderboard, right=lambda column: column not in text_columns)


def comparison_table(paired: Any, extra_axes: Sequence[str] = ()) -> Table:
    """The seed-paired comparison of :func:`gatelab.stats.paired_comparison`: every number is a
    statistic of the per-seed differences activation − baseline (percentage points for
    accuracy); the verdict comes from the Holm-adjusted paired t-test and the mean's sign."""
    headers = (
        "task", "activation", "baseline", "pairs", "mean Δ", "95% CI of mean Δ", "median Δ",
        "p (paired t)", "p (Holm)", "verdict", "p (Wilcoxon)", "d_z", "seeds for 80% power",
        "note",
    )  # fmt: skip
    rows = []
    for _, row in paired.iterrows():
        metric = str(row["metric"])
        rows.append(
            (
                str(row["task"]) + axes_suffix(row, extra_axes),
                str(row["activation"]),
                str(row["baseline"]),
                format_number(row["n_pairs"]),
                format_difference(row["mean_diff"], metric, row["baseline_mean"]),
                format_interval(row["diff_ci_low"], row["diff_ci_high"], metric, difference=True),
                format_difference(row["median_diff"], metric),
                format_p(row["ttest_p"]),
                format_p(row["p_holm"]),
                str(row["verdict"]),
                format_p(row["wilcoxon_p"]),
                MISSING if is_missing(row["effect_size"]) else f"{row['effect_size']:+.2f}",
                format_seeds(row["seeds_needed"]),
                str(row.get("note") or ""),
            )
        )
    return Table(headers, tuple(rows), ("l", "l", "l", *"rrrrrrl", *"rrr", "l"))


def deficit_table(deficits: Any, extra_axes: Sequence[str] = ()) -> Table:
    """:func:`gatelab.stats.deficit`: baseline median, our median and the deficit (positive =
    worse than the baseline; percentage points for accuracy)."""
    headers = ("task", "activation", "baseline", "baseline median", "median", "deficit")
    rows = []
    for _, row in deficits.iterrows():
        metric, unit = str(row["metric"]), str(row["unit"])
        amount = MISSING
        if not is_missing(row["deficit"]):
            amount = f"{row['deficit']:+.2f} pts" if unit == "pts" else f"{row['deficit']:+.3g}"
        rows.append(
            (
                str(row["task"]) + axes_suffix(row, extra_axes),
                str(row["activation"]),
                str(row["baseline"]),
                format_metric(row["baseline_median"], metric),
                format_metric(row["median"], metric),
                amount,
            )
        )
    return Table(headers, tuple(rows), ("l", "l", "l", "r", "r", "r"))


def setting_header(column: str) -> str:
    """A ranks column "task[axis=value,…]" without the axes the task does not have (NaN):
    "mnist-ae[dropout=nan]" → "mnist-ae"."""
    match = re.fullmatch(r"(.*)\[(.*)\]", column)
    if match is None:
        return column
    kept = [p for p in match.group(2).split(",") if not p.endswith(("=nan", "=None"))]
    return match.group(1) + (f"[{','.join(kept)}]" if kept else "")


def ranks_table(ranks: Any) -> Table:
    """:func:`gatelab.stats.ranks`: mean rank across tasks (1 = best mean), then the rank per
    task."""
    frame = ranks.rename(columns=lambda column: setting_header(str(column)))
    for column in frame.columns:
        if column not in ("activation", "n_tasks"):
            frame[column] = frame[column].map(lambda r: MISSING if is_missing(r) else f"{r:.3g}")
    frame = frame.rename(columns={"mean_rank": "mean rank", "n_tasks": "tasks"})
    return frame_table(frame, right=lambda column: column != "activation")


def divergence_table(df: Any) -> Table:
    """Runs that diverged or failed, per task, activation and lr (every lr of the sweep, not
    only the chosen one), with the epochs at which runs diverged."""
    bad = df[df["status"].isin(["diverged", "failed"])]
    rows = []
    groups = df.groupby(["task", "activation", "lr"], sort=True, dropna=False)
    for (task, activation, lr), group in groups:
        if not len(bad) or not bad.index.isin(group.index).any():
            continue
        diverged = group[group["status"] == "diverged"]
        epochs = sorted(int(e) for e in diverged["diverged_epoch"].dropna())
        rows.append(
            (
                str(task),
                str(activation),
                format_lr(lr),
                str(len(group)),
                str(len(diverged)),
                str(int((group["status"] == "failed").sum())),
                ", ".join(map(str, epochs)) or MISSING,
            )
        )
    headers = ("task", "activation", "lr", "runs", "diverged", "failed", "diverged at epoch")
    return Table(headers, tuple(rows), ("l", "l", "r", "r", "r", "r", "l"))


# --- paper vs ours ------------------------------------------------------------------------------


#: Published metrics derived from our test accuracy (published.from_accuracy converts).
FROM_ACCURACY = ("test_error_pct", "test_accuracy_pct")


def published_value(entry: Any) -> str:
    """ "7.89%" for an error or accuracy in percent, "6.10 pts" for a deficit, else 4 digits."""
    metric, value = str(entry.metric), float(entry.value)
    if metric.endswith("_pct"):
        return f"{value:.2f}%"
    if "deficit" in metric:
        return f"{value:.2f} pts"
    return f"{value:.4g}"


def ours_by_activation(
    df: Any, task: str, metric: str, extra_axes: Sequence[str] = ()
) -> dict[str, str]:
    """{canonical activation: "our value (n=…)"} for `task` in the published `metric`, from the
    finished runs at the lr chosen on validation; several extra-axis settings are joined."""
    if metric.startswith("deficit"):
        return _ours_deficit(df, task, extra_axes)
    if metric not in FROM_ACCURACY:
        return {}
    from .published import from_accuracy

    task_runs = df[df["task"] == task]
    extra_axes = varying_axes(task_runs, extra_axes)
    chosen = stats.select_lr(task_runs, extra_axes=tuple(extra_axes))
    finished = chosen[chosen["status"] == "ok"]
    out: dict[str, list[str]] = {}
    for key, group in finished.groupby(["activation", *extra_axes], sort=True):
        values = group["test_accuracy"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        row = dict(zip(["activation", *extra_axes], key if isinstance(key, tuple) else (key,)))
        value = from_accuracy(float(np.median(values)), metric)
        text = f"{value:.2f}% (n={len(values)})" + axes_suffix(row, extra_axes)
        out.setdefault(stats.canonical(str(row["activation"])), []).append(text)
    return {name: "; ".join(texts) for name, texts in out.items()}


def _ours_deficit(df: Any, task: str, extra_axes: Sequence[str]) -> dict[str, str]:
    """Our deficit vs GELU (the GEM paper's measure) for `task`, by canonical activation."""
    task_runs = df[df["task"] == task]
    names = set(task_runs["activation"].map(stats.canonical))
    if "gelu" not in names:
        return {}
    extra_axes = varying_axes(task_runs, extra_axes)
    table = stats.deficit(task_runs, "gelu", extra_axes=tuple(extra_axes))
    out: dict[str, list[str]] = {}
    for _, row in table.iterrows():
        if is_missing(row["deficit"]):
            continue
        text = f"{row['deficit']:.2f} pts" + axes_suffix(row, extra_axes)
        out.setdefault(stats.canonical(str(row["activation"])), []).append(text)
    return {name: "; ".join(texts) for name, texts in out.items()}


def paper_vs_ours_table(df: Any, extra_axes: Sequence[str] = ()) -> Table:
    """Published numbers beside ours for every task of `df` that has published entries.

    Rows: task, setting, activation, the published value (with a numbered source), ours in the
    same metric with n, "—" where we have no finished run of that activation. The sources are
    the table's notes.
    """
    from .published import METRICS, published_for

    citations: list[str] = []
    rows = []
    for task in sorted(df["task"].unique()):
        entries = published_for(task)
        ours_cache: dict[str, dict[str, str]] = {}
        for entry in entries:
            metric = str(entry.metric)
            if metric not in ours_cache:
                ours_cache[metric] = ours_by_activation(df, task, metric, extra_axes)
            if entry.citation not in citations:
                citations.append(entry.citation)
            source = citations.index(entry.citation) + 1
            ours = ours_cache[metric].get(stats.canonical(str(entry.activation)), MISSING)
            rows.append(
                (
                    task,
                    str(entry.setting),
                    str(entry.activation),
                    METRICS.get(metric, (metric,))[0],
                    f"{published_value(entry)} [{source}]",
                    ours,
                    str(entry.note or ""),
                )
            )
    headers = ("task", "setting", "published activation", "metric", "published", "ours", "note")
    notes = tuple(f"[{i}] {citation}" for i, citation in enumerate(citations, start=1))
    return Table(headers, tuple(rows), ("l", "l", "l", "l", "r", "r", "l"), notes)
