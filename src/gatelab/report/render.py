"""The sweep report: one Markdown or HTML page with the tables and figures of a results table.

    from gatelab.report.render import write_report
    write_report("sweeps/demo", "sweeps/demo/report")               # → …/report/report.md
    write_report(df, "out", baseline="relu", format="html")          # → out/report.html

Sections: the run summary (counts by status, tasks, activations, seeds, wall time, devices,
versions), the leaderboard (:func:`gatelab.stats.leaderboard`), the figures
(:mod:`gatelab.report.figures`, PNGs in ``out_dir/figures`` embedded by relative path), the
seed-paired tests and the deficit against the baseline, the ranks across tasks, the divergences
and failures, the published numbers beside ours (:mod:`gatelab.report.published`) and how the
numbers were computed. The page is assembled as a list of blocks (heading, paragraph, bullet
list, table, image) that :func:`to_markdown` or :func:`to_html` renders; HTML escapes every
string that comes from the results. Files are written atomically.

Sweep axes besides task and activation (a task option that takes several values in the
results, e.g. ``dropout``) are found by :func:`sweep_axes` and kept apart in every statistic.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__, stats
from .. import results as store
from .._io import atomic_write_text
from . import across, figures, tables

FORMATS = ("md", "html")
FIGURES_DIR = "figures"
#: Columns of the results store that are not sweep axes (see gatelab.results).
RUN_COLUMNS = frozenset(
    {
        *store.COLUMNS, *store.OBJECTIVE, *store.METRICS, "versions", "history",
        "curves", "chosen_lr", "ensemble_group", "ensemble_size",
    }
)  # fmt: skip
#: The report's confidence level and default significance level.
CONFIDENCE = 0.95
ALPHA = 0.05


# --- the document model -------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Image:
    path: str  # relative to the report
    alt: str


Block = Heading | Paragraph | Bullets | tables.Table | Image


def to_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as one Markdown document."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, tables.Table):
            parts.append(tables.to_markdown(block))
        elif isinstance(block, Image):
            parts.append(f"![{block.alt}]({block.path})")
    return "\n\n".join(parts) + "\n"


HTML_STYLE = """body { font-family: sans-serif; max-width: 75em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f2f2f2; }
img { max-width: 100%; }
p.note { font-size: 0.85em; color: #555; margin: 0.2em 0; }"""


def to_html(blocks: Sequence[Block], title: str) -> str:
    """The blocks as one standalone HTML page; every text is escaped."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Bullets):
            items = "".join(f"<li>{html.escape(item)}</li>" for item in block.items)
            parts.append(f"<ul>{items}</ul>")
        elif isinstance(block, tables.Table):
            parts.append(tables.to_html(block))
        elif isinstance(block, Image):
            src, alt = html.escape(block.path, quote=True), html.escape(block.alt, quote=True)
            parts.append(f'<p><img src="{src}" alt="{alt}"></p>')
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{HTML_STYLE}\n</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


# --- inputs -------------------------------------------------------------------------------------


def load_results(results: Any) -> tuple[Any, str]:
    """(DataFrame, description of the source) from a DataFrame or a results directory."""
    import pandas as pd

    if isinstance(results, pd.DataFrame):
        return results, "a results table"
    if isinstance(results, (str, Path)):
        directory = Path(results)
        if not directory.is_dir():
            raise ValueError(f"results directory {directory} does not exist")
        return store.load(directory), str(directory)
    raise TypeError(
        f"write_report takes a pandas DataFrame or a results directory, got "
        f"{type(results).__name__}"
    )


def sweep_axes(df: Any) -> tuple[str, ...]:
    """Columns besides the run's own (task options, extra sweep axes) whose value differs
    between runs of one task — e.g. ``dropout`` in a sweep over dropout 0 and 0.5."""
    axes = []
    for column in df.columns:
        if column in RUN_COLUMNS:
            continue
        try:
            varies = (df.groupby("task")[column].nunique(dropna=True) > 1).any()
        except TypeError:  # unhashable values (a dict option): not a sweep axis
            continue
        if varies:
            axes.append(str(column))
    return tuple(axes)


def choose_baseline(df: Any, baseline: str | None) -> str | None:
    """The baseline's spelling in the results: `baseline` matched after canonicalisation, or
    "gelu" when it was run and none is given; ValueError if a given baseline was not run."""
    present = {stats.canonical(str(a)): str(a) for a in df["activation"].unique()}
    if baseline is None:
        return present.get("gelu")
    try:
        key = stats.canonical(baseline)
    except ValueError as error:
        raise ValueError(f"baseline {baseline!r}: {error}") from None
    if key not in present:
        raise ValueError(
            f"baseline {baseline!r} has no runs in the results; pass one of: "
            + ", ".join(sorted(present.values()))
        )
    return present[key]


# --- sections -----------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """ "2 h 03 min", "4 min 05 s" or "12.3 s"."""
    if not math.isfinite(seconds):
        return "unknown"
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{seconds:.1f} s"


def distinct(df: Any, column: str) -> list[str]:
    """The distinct non-missing values of `column` as strings (sorted), [] if absent."""
    if column not in df.columns:
        return []
    values = [v for v in df[column] if v is not None and not tables.is_missing(v)]
    return sorted({str(v) for v in values})


def compute_seconds(df: Any) -> float:
    """The runs' summed wall time, an ensemble group counted once (its members share it)."""
    if "wall_seconds" not in df:
        return math.nan
    wall = df["wall_seconds"].fillna(0)
    if "ensemble_group" not in df:
        return float(wall.sum())
    grouped = df["ensemble_group"].notna()
    per_group = wall[grouped].groupby(df["ensemble_group"][grouped]).max()
    return float(wall[~grouped].sum() + per_group.sum())


def elapsed_seconds(df: Any) -> float:
    """Wall-clock span of the sweep: from the first run's start (its finish time minus its wall
    time) to the last run's finish; pauses between sittings of a resumed sweep count."""
    if "finished_at" not in df or "wall_seconds" not in df:
        return math.nan
    import pandas as pd

    finished = pd.to_datetime(df["finished_at"], errors="coerce", utc=True)
    started = finished - pd.to_timedelta(df["wall_seconds"].astype(float), unit="s")
    if finished.isna().all():
        return math.nan
    return float((finished.max() - started.min()).total_seconds())


def run_summary(df: Any, source: str, extra_axes: Sequence[str]) -> list[Block]:
    """Counts by status and the sweep's coordinates, wall time, devices and versions."""
    counts = df["status"].value_counts()
    status = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "diverged", "failed"))
    tasks = df["task"].value_counts().sort_index()
    elapsed, compute = elapsed_seconds(df), compute_seconds(df)
    items = [
        f"source: {source}",
        f"runs: {len(df)} ({status})",
        "tasks: " + ", ".join(f"{t} ({n} runs)" for t, n in tasks.items()),
        "activations: " + ", ".join(distinct(df, "activation")),
        "seeds: " + ", ".join(str(s) for s in sorted({int(s) for s in df["seed"]})),
        "learning rates: " + learning_rates(df),
        "scale: " + (", ".join(distinct(df, "scale")) or "not recorded"),
        f"elapsed: {duration(elapsed)} (first run's start to last run's finish)",
        f"compute: {duration(compute)} (run wall times summed, an ensemble group once; "
        "more than elapsed when runs train in parallel)",
        "devices: " + (", ".join(distinct(df, "device")) or "not recorded"),
        "versions: " + (versions(df) or "not recorded in the results"),
    ]
    if extra_axes:
        items.append("sweep axes besides task and activation: " + ", ".join(extra_axes))
    return [Heading("Runs"), Bullets(tuple(items))]


def learning_rates(df: Any) -> str:
    """ "0.0001, 0.001", plus "task default" where a run stored no lr."""
    given = sorted({float(lr) for lr in df["lr"] if not tables.is_missing(lr)})
    parts = [f"{lr:g}" for lr in given]
    if df["lr"].map(tables.is_missing).any():
        parts.append("task default")
    return ", ".join(parts)


def versions(df: Any) -> str:
    """The distinct software versions of the runs ("gatelab 0.1.0, torch 2.4.1"), if stored."""
    if "versions" not in df.columns:
        return ""
    seen: dict[str, set[str]] = {}
    for entry in df["versions"]:
        if isinstance(entry, dict):
            for name, version in entry.items():
                seen.setdefault(str(name), set()).add(str(version))
    return ", ".join(f"{name} {'/'.join(sorted(v))}" for name, v in sorted(seen.items()))


def per_task(compute: Callable[[Any, tuple[str, ...]], Any], df: Any, extra_axes: Sequence[str]):
    """``compute(frame, axes)`` for each task's runs, concatenated, where `axes` are the extra
    axes that vary within that task. A task without an axis (dropout in mnist-ae) has NaN in its
    column, and NaN keys never equal one another, so such axes are not passed to the statistics.
    """
    import pandas as pd

    parts = [
        compute(frame, tuple(tables.varying_axes(frame, extra_axes)))
        for _, frame in df.groupby("task", sort=True)
    ]
    parts = [part for part in parts if len(part)]
    return pd.concat(parts, ignore_index=True) if parts else compute(df.iloc[:0], ())


def tasks_with(df: Any, activation: str) -> list[str]:
    """The tasks in which `activation` (matched canonically) has runs."""
    key = stats.canonical(activation)
    runs = df[df["activation"].map(lambda a: stats.canonical(str(a)) == key)]
    return sorted(runs["task"].unique())


def by_setting(df: Any, extra_axes: Sequence[str]) -> list[tuple[str, Any]]:
    """The results split by the values of the extra sweep axes: [(label, frame)], or
    [("", df)] without extra axes. Tasks without an axis fall in its "not set" group."""
    if not extra_axes:
        return [("", df)]
    out = []
    for key, frame in df.groupby(list(extra_axes), dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(
            f"{axis}={value}"
            for axis, value in zip(extra_axes, key)
            if not tables.is_missing(value)
        )
        out.append((label or "other tasks", frame))
    return out


def paired_by_task(df: Any, baseline: str, extra_axes: Sequence[str], alpha: float) -> Any:
    """The paired comparison against `baseline` of every task that ran it, each task one Holm
    family (its sweep settings together)."""
    return per_task(
        lambda frame, axes: stats.paired_comparison(
            frame, baseline, extra_axes=axes, alpha=alpha, confidence=CONFIDENCE
        ),
        df[df["task"].isin(tasks_with(df, baseline))],
        extra_axes,
    )


def of_setting(paired: Any, frame: Any, extra_axes: Sequence[str]) -> Any:
    """The rows of `paired` for the tasks and extra-axis values of `frame` (NaN matches NaN:
    a task without the axis)."""
    keys = ["task", *extra_axes]
    for axis in extra_axes:
        if axis not in paired.columns:
            paired = paired.assign(**{axis: float("nan")})
    return paired.merge(frame[keys].drop_duplicates(), on=keys, how="inner")


def leaderboard_section(
    df: Any, baseline: str | None, extra_axes: Sequence[str], alpha: float
) -> list[Block]:
    text = (
        "Per task, best mean first: the test metric at the learning rate chosen on validation, "
        "over the seeds that finished; mean ± sample std with Student's 95% t-interval, the "
        "median with its distribution-free 95% interval where there are ≥ "
        f"{stats.median_interval_min_n(CONFIDENCE)} runs"
    )
    if baseline:
        text += (
            f"; against {baseline}, paired by seed: the mean of the per-seed differences with "
            f"its 95% t-interval, the {stats.TEST} and the verdict at α = {alpha:g}."
        )
    blocks: list[Block] = [Heading("Leaderboard"), Paragraph(text + ("" if baseline else "."))]
    for label, board in leaderboards(df, baseline, extra_axes, alpha):
        if label:
            blocks.append(Heading(label, level=3))
        blocks.append(tables.leaderboard_table(board))
    return blocks


def leaderboards(
    df: Any, baseline: str | None, extra_axes: Sequence[str], alpha: float
) -> list[tuple[str, Any]]:
    """[(setting label, stats.leaderboard)] per setting of the extra sweep axes ("" without
    any), the verdicts from the task-wide paired comparison."""
    paired = paired_by_task(df, baseline, extra_axes, alpha) if baseline else None
    boards = []
    for label, frame in by_setting(df, extra_axes):
        compared = baseline if baseline and tasks_with(frame, baseline) else None
        mine = of_setting(paired, frame, extra_axes) if compared else None
        board = stats.leaderboard(
            frame.drop(columns=list(extra_axes)), baseline=compared, alpha=alpha, paired=mine
        )
        boards.append((label, board))
    return boards


def figure_section(
    df: Any, summary: Any, out_dir: Path, extra_axes: Sequence[str], styles: Any
) -> list[Block]:
    """Write the figures into out_dir/figures and return their blocks with captions."""
    where = out_dir / FIGURES_DIR
    common = {"styles": styles, "extra_axes": extra_axes}
    written = [
        (
            figures.final_metric_bars(summary, where, confidence=CONFIDENCE, **common),
            f"Mean test metric per task with its {CONFIDENCE:.0%} t-interval, best mean on top "
            "(the leaderboard's order); an activation far below the others is drawn at the "
            "axis edge with its value, so that the others' intervals stay readable.",
        ),
        (
            figures.learning_curves(df, where, **common),
            "Learning curves: median over seeds (line) and min–max (band) at the chosen lr.",
        ),
        (
            figures.noise_curves(df, where, **common),
            "mnist-noise: test accuracy and log loss under Unif[−a, a] input noise "
            "(Hendrycks & Gimpel 2016, Fig. 3).",
        ),
    ]
    blocks: list[Block] = [Heading("Figures")]
    for paths, caption in written:
        if paths:
            blocks.append(Paragraph(caption))
        blocks += [Image(f"{FIGURES_DIR}/{p.name}", p.stem.replace("_", " ")) for p in paths]
    return blocks if len(blocks) > 1 else []


def baseline_sections(
    df: Any, baseline: str | None, extra_axes: Sequence[str], alpha: float
) -> list[Block]:
    if baseline is None:
        return [
            Heading("Paired comparison"),
            Paragraph("No baseline: gelu was not run; pass --baseline SPEC to compare."),
        ]
    with_baseline = df[df["task"].isin(tasks_with(df, baseline))]
    paired = paired_by_task(df, baseline, extra_axes, alpha)
    gaps = per_task(
        lambda frame, axes: stats.deficit(frame, baseline, extra_axes=axes),
        with_baseline,
        extra_axes,
    )
    return [
        Heading(f"Paired comparison against {baseline}"),
        Paragraph(
            "Runs paired by seed, each activation at its own chosen lr; every number is a "
            f"statistic of the per-seed differences activation − {baseline} (pts = percentage "
            "points of accuracy; other metrics also relative to the baseline's mean). "
            f"Verdict: {stats.TEST}, at α = {alpha:g}: better or worse only where the adjusted "
            "p is below α, on the side of the mean difference; otherwise no evidence. "
            "Wilcoxon's signed-rank test is a distribution-free check; 'seeds for 80% power' "
            "is how many pairs the paired t-test would need to detect the observed d_z at the "
            "strictest Holm level α/m (an estimate from this sample, not a promise)."
        ),
        tables.comparison_table(paired, extra_axes),
        Heading(f"Deficit against {baseline}"),
        Paragraph(
            f"The GEM paper's measure, unpaired: {baseline}'s median minus the activation's, "
            "in percentage points for accuracy (for MSE: the activation's minus the "
            "baseline's); positive = worse than the baseline."
        ),
        tables.deficit_table(gaps, extra_axes),
    ]


def failure_section(df: Any) -> list[Block]:
    blocks: list[Block] = [Heading("Divergences and failures")]
    table = tables.divergence_table(df)
    if not table.rows:
        return [*blocks, Paragraph("No run diverged or failed.")]
    blocks.append(table)
    failed = df[df["status"] == "failed"]
    if len(failed):
        blocks.append(Paragraph("Failed runs (first line of the error):"))
        blocks.append(Bullets(tuple(failure_line(row) for _, row in failed.iterrows())))
    return blocks


def failure_line(row: Any) -> str:
    error = str(row.get("error") or "no error recorded").strip().splitlines()
    first = error[0] if error else "no error recorded"
    return (
        f"{row.get('run_id', '?')} ({row['task']}, {row['activation']}, seed {row['seed']}, "
        f"lr {tables.format_lr(row['lr'])}): {first}"
    )


def published_section(df: Any, extra_axes: Sequence[str]) -> list[Block]:
    table = tables.paper_vs_ours_table(df, extra_axes)
    if not table.rows:
        text = "None of these tasks has published numbers (gatelab.report.published)."
        return [Heading("Published numbers beside ours"), Paragraph(text)]
    return [
        Heading("Published numbers beside ours"),
        Paragraph(
            "Each published number in its paper's metric, with its source; ours is the median "
            "over our finished seeds at the lr chosen on validation, in the same metric; "
            f"{tables.MISSING} where that activation was not run (or none of its runs finished)."
        ),
        table,
    ]


def methods_section(baseline: str | None, alpha: float) -> list[Block]:
    return [
        Heading("How these numbers were computed"),
        Bullets(
            (
                "Learning rate: per task and activation (and sweep axis), the lr with the best "
                "median validation metric over seeds (Hendrycks & Gimpel 2016, §3); diverged and "
                "failed runs count as the worst value; ties go to the smaller lr.",
                "Test metric: the metric each run's record names (accuracy for classifiers, MSE "
                "for the autoencoder), over the runs that finished (status ok) at the chosen lr.",
                f"Intervals: Student's {CONFIDENCE:.0%} t-interval of the mean (none for n < 2); "
                "for the median the order-statistic interval [x(k), x(n+1−k)] with coverage "
                "1 − 2·P(Bin(n, ½) < k) ≥ "
                f"{CONFIDENCE:.0%} (Conover 1999, §3.2), which needs n ≥ "
                f"{stats.median_interval_min_n(CONFIDENCE)}.",
                "Paired comparison"
                + (f" against {baseline}" if baseline else "")
                + ": runs paired by seed; mean of the differences with its t-interval; "
                f"{stats.TEST} (Holm 1979) — verdict better / worse at α = {alpha:g}, else no "
                "evidence; Wilcoxon signed-rank test (exact for n ≤ 50, zero differences "
                "dropped; with n pairs its p cannot go below 2/2ⁿ); Cohen's d_z = mean / sd of "
                "the differences (Lakens 2013, eq. 6); seeds for 80% power from the noncentral "
                "t distribution (Cohen 1988, §2.3).",
                "Deficit: the GEM paper's 'deficit vs GELU' (Krause 2026), from the medians.",
                "Ranks: 1 = best mean per task or setting, ties share the average rank, an "
                "activation whose runs all diverged ranks last (Demšar 2006, §3.2.2).",
                "Across tasks: normalised scores (min–max per setting over the runs compared, "
                "diverged runs = 0), IQM and probability of improvement with stratified-"
                "bootstrap CIs (Agarwal et al. 2021); the Friedman test with Nemenyi's critical "
                "difference (Demšar 2006) from 3 tasks or settings.",
                "Paper vs ours: our median at the chosen lr in the published metric, e.g. test "
                "error % = 100·(1 − median test accuracy), with n the number of finished seeds.",
                "Time: elapsed is the wall-clock span of the sweep; compute sums the runs' wall "
                "times (an ensemble group once).",
            )
        ),
    ]


def build_blocks(
    df: Any,
    out_dir: Path,
    *,
    title: str,
    source: str,
    baseline: str | None,
    alpha: float = ALPHA,
) -> list[Block]:
    """The whole report as blocks (writes the figures on the way)."""
    extra_axes = sweep_axes(df)
    summary = per_task(
        lambda frame, axes: stats.summarize(frame, confidence=CONFIDENCE, extra_axes=axes),
        df,
        extra_axes,
    )
    summary.attrs["extra_axes"] = tuple(extra_axes)  # ranks() keeps the settings apart
    names = {*df["activation"].map(str), *summary["activation"].map(str)}
    styles = figures.activation_styles(names)  # one colour per activation in every figure
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        Heading(title, level=1),
        Paragraph(f"Generated {stamp} by gatelab {__version__}."),
        *run_summary(df, source, extra_axes),
        *leaderboard_section(df, baseline, extra_axes, alpha),
        *figure_section(df, summary, out_dir, extra_axes, styles),
        *baseline_sections(df, baseline, extra_axes, alpha),
        *across.across_section(
            df, summary, baseline, extra_axes, out_dir / FIGURES_DIR, styles, alpha=alpha
        ),
        *failure_section(df),
        *published_section(df, extra_axes),
        *methods_section(baseline, alpha),
    ]


def write_report(
    results: Any,
    out_dir: str | Path,
    *,
    baseline: str | None = None,
    format: str = "md",
    title: str | None = None,
    alpha: float = ALPHA,
) -> Path:
    """Write ``out_dir/report.md`` (or ``report.html``) and its figures for `results` — a
    DataFrame of runs or a results directory (read with ``gatelab.results.load``).

    `baseline` is the activation the paired tests and deficits compare against (default:
    gelu if it was run, else none); `alpha` the significance level of the verdicts. Returns
    the path of the report.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown report format {format!r}; use 'md' or 'html'")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), e.g. 0.05; got {alpha!r}")
    df, source = load_results(results)
    if len(df) == 0:
        raise ValueError(
            f"no runs in {source}: run a sweep into it first (a sweep writes its runs to "
            "DIR/records.jsonl)"
        )
    baseline = choose_baseline(df, baseline)
    out_dir = Path(out_dir)
    title = title or "gatelab sweep report"
    blocks = build_blocks(df, out_dir, title=title, source=source, baseline=baseline, alpha=alpha)
    if format == "md":
        return atomic_write_text(out_dir / "report.md", to_markdown(blocks))
    return atomic_write_text(out_dir / "report.html", to_html(blocks, title))
