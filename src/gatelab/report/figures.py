"""Figures of a sweep report: learning curves, noise-robustness curves, final-metric intervals.

    from gatelab.report import figures
    figures.learning_curves(df, Path("out"))       # [out/learning_curves_test.png, …]
    figures.noise_curves(df, Path("out"))          # [out/noise_robustness.png] or []
    figures.final_metric_bars(summary, Path("out"))

`df` is the results table (``gatelab.results.load``: one row per run, with ``history`` and
``curves`` object columns); `summary` is ``gatelab.stats.summarize(df)``. Curves use the
learning rate :func:`gatelab.stats.select_lr` chooses on validation and the runs that finished
(status ``ok``); diverged and failed runs are counted in the report's tables instead.

- **Learning curves** (Lee 2023, Fig. 4): one panel per task; per activation the median over
  seeds of the per-epoch test metric (and, in a second figure, of the training loss) as a line
  and the min–max band over seeds. Losses and MSE use a log y-axis.
- **Noise robustness** (Hendrycks & Gimpel 2016, §3.1, Fig. 3): test accuracy and test log loss
  of ``mnist-noise`` against the noise amplitude a of Unif[−a, a], median line and min–max band.
- **Final metric**: per task the mean test metric with its t-interval, best mean first (the
  leaderboard's order), on an axis zoomed to the intervals of the activations that cluster
  together; one far off (an activation stuck at chance) is drawn at the axis edge with its value
  written beside it, so that it cannot squash the others into one band.

Every activation keeps one colour and one marker in all figures (:func:`activation_styles`:
tab10's ten pairwise-distinct hues and eleven markers); line styles tell apart the values of
an extra sweep axis such as dropout.
Matplotlib is imported inside the functions; figures are ``matplotlib.figure.Figure`` objects
rendered by the Agg canvas at 150 dpi, so neither pyplot's state nor the user's backend is
touched. Each function returns the PNGs it wrote, or ``[]`` when the results hold nothing to
draw.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import stats
from .._io import atomic_write_bytes
from .tables import axes_suffix, varying_axes

DPI = 150
PANEL_SIZE = (4.8, 3.5)  # inches per learning-curve panel
MAX_COLUMNS = 3
FONT_SIZE = 10
BAND_ALPHA = 0.18
#: Matplotlib's tab10 hues, ordered so that any first 8 are at least ΔE*76 = 38 apart in CIELAB
#: (pink and grey, 28 from purple, come last). Okabe–Ito's palette, used before, put blue and
#: sky blue (ΔE 26) and orange and vermillion on e_gem/relu and gem/elu in the 8-activation
#: demo; a marker per activation (MARKERS) keeps activations apart under colour-vision
#: deficiencies too.
PALETTE = (
    "#1f77b4",  # blue
    "#ff7f0e",  # orange
    "#2ca02c",  # green
    "#d62728",  # red
    "#9467bd",  # purple
    "#8c564b",  # brown
    "#bcbd22",  # olive
    "#17becf",  # cyan
    "#e377c2",  # pink
    "#7f7f7f",  # grey
)
#: One marker per activation; 11 markers against 10 colours: (colour, marker) never repeats
#: below 110 activations.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h")
MARKS_PER_CURVE = 12
FEW_POINTS = 20  # curves with at most this many points are drawn with a dot per point
#: The dots of the final-metric figure: a dark rim keeps light colours (yellow) visible.
DOT = {"markersize": 6, "markeredgecolor": "0.15", "markeredgewidth": 0.6}
#: Line styles tell apart the values of extra sweep axes (dropout=0 solid, dropout=0.5 dashed…).
LINESTYLES = ("-", "--", "-.", ":")
STATUS_OK = "ok"

Style = dict[str, Any]
#: A setting of the extra sweep axes that vary within a task: (("dropout", 0.5),); () if none.
Setting = tuple[tuple[str, Any], ...]


# --- styles and labels ------------------------------------------------------------------------


def activation_styles(activations: Iterable[str]) -> dict[str, Style]:
    """A fixed colour and marker per activation, in sorted order, so that one set of
    activations gets the same style in every figure of a report."""
    styles: dict[str, Style] = {}
    for i, name in enumerate(sorted(set(activations))):
        styles[name] = {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)]}
    return styles


def style_of(styles: Mapping[str, Style], activation: str) -> Style:
    return styles.get(activation, {"color": "0.45", "marker": None})


def variant_label(row: Mapping[str, Any], extra_axes: Sequence[str]) -> str:
    """ "gelu" or, with sweep axes such as dropout, "gelu (dropout=0.5)"."""
    return str(row["activation"]) + axes_suffix(row, extra_axes)


def setting_label(setting: Setting) -> str:
    return ", ".join(f"{axis}={value}" for axis, value in setting)


def setting_linestyles(runs: Any, extra_axes: Sequence[str]) -> dict[Setting, str]:
    """A line style per setting of the axes that vary within a task, the same in every panel;
    the empty setting (a task without such axes) is solid."""
    settings: set[Setting] = set()
    for _, frame in runs.groupby("task"):
        axes = varying_axes(frame, extra_axes)
        if axes:
            for values in frame[axes].drop_duplicates().itertuples(index=False):
                settings.add(tuple(zip(axes, values)))
    ordered = sorted(settings, key=str)
    return {(): "-", **{s: LINESTYLES[i % len(LINESTYLES)] for i, s in enumerate(ordered)}}


def metric_label(metric: str) -> str:
    """Axis label with units: accuracies are drawn in percent."""
    if metric.endswith("accuracy"):
        return metric.replace("_", " ") + " (%)"
    if metric.endswith("mse"):
        return metric.replace("_mse", " MSE").replace("_", " ")
    return metric.replace("_", " ")


def to_display(metric: str, values: Any) -> np.ndarray:
    """Metric values as drawn: accuracies as percentages, others unchanged."""
    array = np.asarray(values, dtype=float)
    return 100.0 * array if metric.endswith("accuracy") else array


def is_loss_like(metric: str) -> bool:
    """Losses and MSE span decades: they get a log y-axis."""
    return metric.endswith(("loss", "mse"))


# --- data ---------------------------------------------------------------------------------------


def finished_runs(df: Any, extra_axes: Sequence[str] = ()) -> Any:
    """The ``ok`` runs at the learning rate chosen on validation (stats.select_lr)."""
    if len(df) == 0:
        return df
    selected = stats.select_lr(df, extra_axes=tuple(extra_axes))
    return selected[selected["status"] == STATUS_OK]


def stack(series: Sequence[Mapping[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Runs' {x: y} curves as (xs, matrix runs × xs) with NaN where a run has no value."""
    xs = np.array(sorted({x for curve in series for x in curve}), dtype=float)
    matrix = np.full((len(series), len(xs)), np.nan)
    index = {x: j for j, x in enumerate(xs)}
    for i, curve in enumerate(series):
        for x, y in curve.items():
            matrix[i, index[x]] = y
    return xs, matrix


def band(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, min and max over runs (rows) of each column, ignoring NaN (all-NaN → NaN)."""
    present = np.isfinite(matrix).any(axis=0)
    median = np.full(matrix.shape[1], np.nan)
    low, high = median.copy(), median.copy()
    if present.any():
        part = matrix[:, present]
        median[present] = np.nanmedian(part, axis=0)
        low[present] = np.nanmin(part, axis=0)
        high[present] = np.nanmax(part, axis=0)
    return median, low, high


def history_curve(history: Any, key: str) -> dict[float, float]:
    """{epoch: value} of one run's history for `key` (missing or None values left out)."""
    curve = {}
    for entry in history or []:
        value = entry.get(key)
        if value is not None and math.isfinite(float(value)):
            curve[float(entry["epoch"])] = float(value)
    return curve


def noise_curve(curves: Any, key: str) -> dict[float, float]:
    """{a: value} of one mnist-noise run's ``curves["noise"]`` for `key` (accuracy or loss)."""
    points = (curves or {}).get("noise") or []
    return {float(p["a"]): float(p[key]) for p in points if p.get(key) is not None}


# --- drawing ------------------------------------------------------------------------------------


def new_figure(n_panels: int, panel_size: tuple[float, float] = PANEL_SIZE) -> tuple[Any, list]:
    """A Figure (constrained layout, room below for a legend) with `n_panels` axes in a grid of
    at most MAX_COLUMNS columns; returns (figure, axes)."""
    from matplotlib.figure import Figure

    columns = min(MAX_COLUMNS, n_panels)
    rows = math.ceil(n_panels / columns)
    width, height = panel_size
    fig = Figure(figsize=(width * columns, height * rows + 0.6), layout="constrained")
    grid = fig.subplots(rows, columns, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def style_axes(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=FONT_SIZE + 1)
    ax.set_xlabel(xlabel, fontsize=FONT_SIZE)
    ax.set_ylabel(ylabel, fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    ax.grid(True, color="0.9", linewidth=0.6)
    ax.set_axisbelow(True)


def draw_band(
    ax: Any, xs: np.ndarray, matrix: np.ndarray, *, style: Style, linestyle: str, label: str,
    log: bool,
) -> None:  # fmt: skip
    """Median line and min–max band of `matrix` (runs × xs). Points where no run has a finite
    value are left out; on a log axis so are values ≤ 0."""
    median, low, high = band(matrix)
    keep = np.isfinite(median) & ((low > 0) if log else True)
    xs, median, low, high = xs[keep], median[keep], low[keep], high[keep]
    few = len(xs) <= FEW_POINTS  # short curves show their points
    ax.plot(
        xs,
        median,
        label=label,
        color=style["color"],
        linestyle=linestyle,
        linewidth=1.8,
        marker=style.get("marker") or ("o" if few else None),
        markevery=max(1, len(xs) // MARKS_PER_CURVE),
        markersize=4,
    )
    if len(xs) == 1:  # a band of one point has no width: draw it as an error bar
        bar = [median - low, high - median]
        ax.errorbar(xs, median, yerr=bar, color=style["color"], capsize=4, linewidth=1.2)
    ax.fill_between(xs, low, high, color=style["color"], alpha=BAND_ALPHA, linewidth=0)


def finish_axes(ax: Any, *, log: bool) -> None:
    """Integer epochs on x (a single epoch gets room on both sides); on a log y-axis, plain
    numbers ("0.004"), with the minor ticks labelled too when the data span under a decade."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    low_x, high_x = ax.dataLim.intervalx
    if np.isfinite(low_x) and high_x - low_x < 1:
        ax.set_xlim(low_x - 1, high_x + 1)
    if not log:
        return
    ax.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:.3g}")
    ax.yaxis.set_major_formatter(plain)
    low_y, high_y = ax.get_ylim()
    ax.yaxis.set_minor_formatter(plain if 0 < low_y and high_y / low_y < 10 else NullFormatter())


def draw_variants(
    ax: Any,
    runs: Any,
    curve_of: Callable[[Any], dict[float, float]],
    column: str,
    *,
    metric: str,
    styles: Mapping[str, Style],
    linestyles: Mapping[Setting, str],
    extra_axes: Sequence[str],
    log: bool,
) -> list[tuple[str, Setting]]:
    """Per activation (and setting of the extra axes that vary in `runs`) the median and band of
    ``curve_of(value)`` over the runs' `column`; returns the (activation, setting) pairs drawn."""
    axes = varying_axes(runs, extra_axes)
    drawn = []
    for key, group in runs.groupby(["activation", *axes], sort=True, dropna=False):
        activation, *values = key if isinstance(key, tuple) else (key,)
        setting = tuple(zip(axes, values))
        xs, matrix = stack([curve_of(value) for value in group[column]])
        if len(xs) == 0:
            continue
        label = str(activation) + (f" ({setting_label(setting)})" if setting else "")
        draw_band(
            ax,
            xs,
            to_display(metric, matrix),
            style=style_of(styles, str(activation)),
            linestyle=linestyles.get(setting, "-"),
            label=label,
            log=log,
        )
        drawn.append((str(activation), setting))
    return drawn


def add_legend(
    fig: Any,
    drawn: Iterable[tuple[str, Setting]],
    styles: Mapping[str, Style],
    linestyles: Mapping[Setting, str],
) -> None:
    """One legend below the panels: a colour per activation, then (when extra sweep axes vary)
    a grey line per setting in its line style."""
    from matplotlib.lines import Line2D

    drawn = list(drawn)
    handles = []
    for activation in sorted({a for a, _ in drawn}):
        style = style_of(styles, activation)
        handles.append(
            Line2D([], [], color=style["color"], marker=style.get("marker"), label=activation)
        )
    for setting in sorted({s for _, s in drawn if s}, key=str):
        label = setting_label(setting)
        handles.append(Line2D([], [], color="0.35", linestyle=linestyles[setting], label=label))
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=min(4, len(handles)),
            fontsize=FONT_SIZE - 1,
            frameon=False,
        )


def save(fig: Any, path: Path) -> Path:
    """Write `fig` as a PNG at DPI atomically; returns the path."""
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format="png", dpi=DPI, facecolor="white", bbox_inches="tight", pad_inches=0.15
    )
    return atomic_write_bytes(path, buffer.getvalue())


# --- learning curves ----------------------------------------------------------------------------

#: The learning-curve figures: the per-epoch test metric and the training loss.
CURVE_KINDS = ("test", "train_loss")


def test_metric(runs: Any, task: str) -> str:
    """The test metric the records of `task` name (via stats.select_lr's objectives)."""
    known = runs.attrs.get("objectives") or {}
    if task in known:
        return known[task][0]
    return stats.objective(runs[runs["task"] == task])[0]


def curve_key(runs: Any, task: str, kind: str) -> str:
    """The history key drawn for `task`: its test metric, or ``train_loss``."""
    return test_metric(runs, task) if kind == "test" else "train_loss"


def curve_ylabel(runs: Any, task: str, kind: str) -> str:
    if kind == "test":
        return metric_label(test_metric(runs, task))
    mse = test_metric(runs, task).endswith("mse")
    return "train loss (MSE)" if mse else "train loss (cross-entropy)"


def learning_curve_figure(
    runs: Any, kind: str, *, styles: Mapping[str, Style], extra_axes: Sequence[str] = ()
) -> Any | None:
    """The figure of one kind ("test" or "train_loss") for the selected runs, or None."""
    if "history" not in runs.columns:
        return None
    tasks = [t for t in sorted(runs["task"].unique()) if has_history(runs, t)]
    if not tasks:
        return None
    fig, axes = new_figure(len(tasks))
    linestyles = setting_linestyles(runs, extra_axes)
    drawn: list[tuple[str, Setting]] = []
    for ax, task in zip(axes, tasks):
        key = curve_key(runs, task, kind)
        drawn += draw_variants(
            ax,
            runs[runs["task"] == task],
            functools.partial(history_curve, key=key),
            "history",
            metric=key,
            styles=styles,
            linestyles=linestyles,
            extra_axes=extra_axes,
            log=is_loss_like(key),
        )
        finish_axes(ax, log=is_loss_like(key))
        style_axes(ax, task, "epoch", curve_ylabel(runs, task, kind))
    what = "test metric" if kind == "test" else "training loss"
    fig.suptitle(
        f"Learning curves ({what}): median over seeds, band = min–max", fontsize=FONT_SIZE + 2
    )
    add_legend(fig, drawn, styles, linestyles)
    return fig


def has_history(runs: Any, task: str) -> bool:
    return any(len(h or []) > 0 for h in runs.loc[runs["task"] == task, "history"])


def learning_curves(
    df: Any,
    out: str | Path,
    *,
    styles: Mapping[str, Style] | None = None,
    extra_axes: Sequence[str] = (),
) -> list[Path]:
    """Write ``learning_curves_test.png`` (per-epoch test metric) and
    ``learning_curves_train_loss.png`` into `out`: one panel per task, per activation the median
    over seeds and the min–max band (Lee 2023, Fig. 4). Returns the paths written."""
    runs = finished_runs(df, extra_axes)
    if len(runs) == 0:
        return []
    styles = styles or activation_styles(df["activation"])
    paths = []
    for kind in CURVE_KINDS:
        fig = learning_curve_figure(runs, kind, styles=styles, extra_axes=extra_axes)
        if fig is not None:
            paths.append(save(fig, Path(out) / f"learning_curves_{kind}.png"))
    return paths


# --- noise robustness ---------------------------------------------------------------------------

NOISE_TASK = "mnist-noise"
#: (key in curves["noise"], panel title, y label, metric it is drawn as); both axes linear,
#: as in Fig. 3 of the GELU paper.
NOISE_PANELS = (
    ("accuracy", "test accuracy", "test accuracy (%)", "test_accuracy"),
    ("loss", "test log loss", "test log loss (nats)", "test_loss"),
)


def noise_figure(
    runs: Any, *, styles: Mapping[str, Style], extra_axes: Sequence[str] = ()
) -> Any | None:
    """Test accuracy and log loss against the noise amplitude a (two panels), or None."""
    if "curves" not in runs.columns:
        return None
    runs = runs[[bool((c or {}).get("noise")) for c in runs["curves"]]]
    if len(runs) == 0:
        return None
    fig, axes = new_figure(len(NOISE_PANELS), panel_size=(5.4, 3.8))
    linestyles = setting_linestyles(runs, extra_axes)
    drawn: list[tuple[str, Setting]] = []
    for ax, (key, title, ylabel, metric) in zip(axes, NOISE_PANELS):
        drawn += draw_variants(
            ax,
            runs,
            functools.partial(noise_curve, key=key),
            "curves",
            metric=metric,
            styles=styles,
            linestyles=linestyles,
            extra_axes=extra_axes,
            log=False,
        )
        style_axes(ax, f"{NOISE_TASK}: {title}", "noise amplitude a", ylabel)
    fig.suptitle(
        "Robustness to input noise Unif[−a, a]: median over seeds, band = min–max",
        fontsize=FONT_SIZE + 2,
    )
    add_legend(fig, drawn, styles, linestyles)
    return fig


def noise_curves(
    df: Any,
    out: str | Path,
    *,
    styles: Mapping[str, Style] | None = None,
    extra_axes: Sequence[str] = (),
) -> list[Path]:
    """Write ``noise_robustness.png`` for the mnist-noise runs (Hendrycks & Gimpel 2016, Fig. 3):
    test accuracy and test log loss vs the noise amplitude a. Returns [] without such runs."""
    noise_runs = df[df["task"] == NOISE_TASK] if len(df) else df
    runs = finished_runs(noise_runs, extra_axes)
    if len(runs) == 0:
        return []
    styles = styles or activation_styles(df["activation"])
    fig = noise_figure(runs, styles=styles, extra_axes=extra_axes)
    return [] if fig is None else [save(fig, Path(out) / "noise_robustness.png")]


# --- final metric with confidence intervals ----------------------------------------------------


def interval_figure(
    summary: Any,
    *,
    styles: Mapping[str, Style],
    extra_axes: Sequence[str] = (),
    confidence: float = 0.95,
) -> Any | None:
    """Per task (one panel each) the mean test metric and its t-interval per activation,
    best first from the top, x-axis zoomed on the clustered intervals; None when no mean is
    finite."""
    rows = summary[np.isfinite(summary["mean"].astype(float))]
    tasks = sorted(rows["task"].unique())
    if not tasks:
        return None
    longest = max(rows.groupby("task").size())
    fig, axes = new_figure(len(tasks), panel_size=(5.6, 0.42 * longest + 1.4))
    for ax, task in zip(axes, tasks):
        draw_intervals(ax, rows[rows["task"] == task], styles, extra_axes)
        metric = str(rows.loc[rows["task"] == task, "metric"].iloc[0])
        style_axes(ax, task, metric_label(metric), "")
        ax.grid(False, axis="y")
    fig.suptitle(
        f"Final test metric: mean over seeds with {confidence:.0%} t-interval, best on top",
        fontsize=FONT_SIZE + 2,
    )
    return fig


#: A mean farther from the median of the means than this many times the typical spread (the
#: larger of the means' median absolute deviation and the median CI half-width) is off scale.
OFF_SCALE = 10.0


def off_scale(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Which means lie so far from the others that zooming to them would hide the rest."""
    centre = np.median(mean)
    spread = np.median(np.abs(mean - centre))
    half = (high - low) / 2
    if np.isfinite(half).any():
        spread = max(spread, float(np.nanmedian(half)))
    if len(mean) < 3 or not spread > 0:
        return np.zeros(len(mean), dtype=bool)
    return np.abs(mean - centre) > OFF_SCALE * spread


def draw_intervals(
    ax: Any, rows: Any, styles: Mapping[str, Style], extra_axes: Sequence[str]
) -> None:
    """One dot with error bars per activation of one task, sorted best first (top); a mean far
    off the others is marked at the axis edge with its value."""
    from matplotlib.ticker import MaxNLocator

    metric = str(rows["metric"].iloc[0])
    higher = bool(rows["higher_is_better"].iloc[0])
    rows = rows.sort_values("mean", ascending=not higher, kind="stable")
    mean = to_display(metric, rows["mean"])
    low = to_display(metric, rows["ci_low"])
    high = to_display(metric, rows["ci_high"])
    far = off_scale(mean, low, high)
    near = ~far
    limits = zoomed_limits(np.concatenate([mean[near], low[near], high[near]]))
    positions = np.arange(len(rows))[::-1]  # best at the top
    labels = []
    for i, (_, row) in enumerate(rows.iterrows()):
        style = style_of(styles, str(row["activation"]))
        y, m = positions[i], mean[i]
        labels.append(f"{variant_label(row, extra_axes)}  (n={int(row['n'])})")
        if far[i]:
            draw_off_scale(ax, m, y, limits, style, percent=metric.endswith("accuracy"))
            continue
        has_ci = np.isfinite(low[i]) and np.isfinite(high[i])
        xerr = [[m - low[i]], [high[i] - m]] if has_ci else None
        marker = style.get("marker") or "o"
        ax.errorbar(
            m, y, xerr=xerr, fmt=marker, color=style["color"], capsize=4, linewidth=1.6, **DOT
        )
    ax.set_yticks(positions, labels, fontsize=FONT_SIZE - 1)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(*limits)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.xaxis.get_major_formatter().set_useOffset(False)


def draw_off_scale(
    ax: Any, value: float, y: float, limits: tuple[float, float], style: Style, percent: bool
) -> None:
    """A triangle at the axis edge pointing towards `value`, with the value written beside."""
    left = value < limits[0]
    inset = 0.03 * (limits[1] - limits[0])
    x = limits[0] + inset if left else limits[1] - inset
    ax.plot(x, y, marker="<" if left else ">", color=style["color"], **DOT)
    ax.annotate(
        (f"{value:.2f}%" if percent else f"{value:.4g}") + " (off scale)",
        (x, y),
        xytext=(7 if left else -7, 0),
        textcoords="offset points",
        ha="left" if left else "right",
        va="center",
        fontsize=FONT_SIZE - 1,
        color="0.25",
    )


def zoomed_limits(values: np.ndarray, pad: float = 0.12) -> tuple[float, float]:
    """Axis limits spanning the finite `values` plus `pad` of their range on each side (a
    minimal span keeps a single point or equal values from collapsing the axis)."""
    finite = values[np.isfinite(values)]
    low, high = float(finite.min()), float(finite.max())
    span = max(high - low, 1e-3 * max(abs(high), 1e-12))
    return low - pad * span, high + pad * span


def final_metric_bars(
    summary: Any,
    out: str | Path,
    *,
    styles: Mapping[str, Style] | None = None,
    extra_axes: Sequence[str] = (),
    confidence: float = 0.95,
) -> list[Path]:
    """Write ``final_metric.png``: per task the mean test metric with its t-interval as error
    bars (stats.summarize), best first. Returns [] when no task has a finite mean."""
    if len(summary) == 0:
        return []
    styles = styles or activation_styles(summary["activation"])
    fig = interval_figure(summary, styles=styles, extra_axes=extra_axes, confidence=confidence)
    return [] if fig is None else [save(fig, Path(out) / "final_metric.png")]
