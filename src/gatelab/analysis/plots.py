"""Figures for `gatelab analyze --out`: f, f′, f″ of several activations overlaid, their gates
F (for gated activations f(x) = x·F(x)) and their difference to ReLU.

Values are sampled in float64 with :func:`gatelab.get_fn`; f′ and f″ come from (double)
autograd, exactly as `gatelab show` computes them. Matplotlib is imported inside
:func:`plot_functions` only (with the Agg backend), so importing this module stays cheap.

    from gatelab.analysis.plots import plot_functions, sample
    plot_functions(["gelu", "gem(N=2)", "relu"], Path("out"))
    sample("gelu", numpy.linspace(-3, 3, 7))   # {"x", "f", "df", "d2f"} float64 arrays
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..modules import get_fn
from ..registry import resolve

#: Samples per figure: fine enough that the ε-GEM corner (width ~ √ε = 0.01) shows up.
POINTS = 4001
DPI = 130
PANEL_SIZE = (15.0, 4.5)  # the three-panel figure, before its legend
SINGLE_SIZE = (10.0, 5.2)  # a single panel with its legend on the right
LEGEND_COLUMNS = 6
LINESTYLES = ("-", "--", "-.", ":")
#: A sampled step larger than this many times both neighbouring steps (and than JUMP_FLOOR of
#: the curve's range) is taken for a discontinuity and not drawn as a vertical segment.
JUMP_RATIO = 25.0
JUMP_FLOOR = 1e-3
#: y-limits of the f″ panel and of f − relu: the 1%-tails of a curve that lie more than half
#: the span of the curves' bulks beyond it are clipped (see robust_limits).
CLIP_TAIL = 1.0
CLIP_SLACK = 0.5

GATE_YLIM = (-0.05, 1.05)


def canonical(spec: str) -> str:
    """The canonical spec string of `spec` (raises ValueError for an unknown or bad spec)."""
    entry, params = resolve(spec)
    return entry.format(params)


def sample(spec: str, xs: Any) -> dict[str, np.ndarray]:
    """f, f′ and f″ of `spec` at the points `xs`, in float64.

    Returns ``{"x", "f", "df", "d2f"}`` (numpy arrays), plus ``"gate"`` (F at `xs`) when the
    activation is gated, f(x) = x·F(x). f′ is autograd's gradient of f; f″ the gradient of
    f′ (taken with create_graph); where f′ is piecewise constant (relu, leaky_relu) autograd
    has no graph for it and f″ is 0.
    """
    entry, params = resolve(spec)
    fn = get_fn(entry, **params)
    x = torch.as_tensor(np.asarray(xs, dtype=np.float64)).clone().requires_grad_(True)
    with torch.enable_grad():
        y = fn(x)
        (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        d2 = None
        if d1.requires_grad:
            (d2,) = torch.autograd.grad(d1.sum(), x, allow_unused=True)
    if d2 is None:
        d2 = torch.zeros_like(x)
    out = {
        "x": x.detach().numpy().copy(),
        "f": y.detach().numpy().copy(),
        "df": d1.detach().numpy().copy(),
        "d2f": d2.detach().numpy().copy(),
    }
    if entry.gate is not None:
        with torch.no_grad():
            gate = entry.gate(x.detach(), **params)
        out["gate"] = torch.as_tensor(gate, dtype=torch.float64).numpy().copy()
    return out


def break_jumps(
    x: np.ndarray, y: np.ndarray, ratio: float = JUMP_RATIO, floor: float = JUMP_FLOOR
) -> tuple[np.ndarray, np.ndarray]:
    """`x`, `y` with a NaN point inserted inside each step that looks like a jump (|Δy| above
    `ratio` times the larger neighbouring step and above `floor` times the range of y), so that
    matplotlib does not draw a vertical segment across a discontinuity (relu′ at 0,
    hardswish′ and hardswish″ at ±3)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.size < 4:
        return x, y
    finite = y[np.isfinite(y)]
    span = float(finite.max() - finite.min()) if finite.size else 0.0
    if span == 0.0:
        return x, y
    step = np.nan_to_num(np.abs(np.diff(y)), nan=0.0, posinf=0.0)
    # the larger of the two neighbouring steps (the one neighbour at either end)
    before = np.concatenate((step[1:2], step[:-1]))
    after = np.concatenate((step[1:], step[-2:-1]))
    jump = (step > ratio * np.maximum(before, after)) & (step > floor * span)
    at = np.flatnonzero(jump) + 1
    if at.size == 0:
        return x, y
    middle = 0.5 * (x[at - 1] + x[at])
    return np.insert(x, at, middle), np.insert(y, at, np.nan)


def robust_limits(
    curves: Sequence[np.ndarray], tail: float = CLIP_TAIL, slack: float = CLIP_SLACK
) -> tuple[tuple[float, float] | None, bool]:
    """y-limits for `curves` and whether they clip some of them.

    All values fit, with a 6% margin, unless a few stray far out: the "bulk" of a curve is its
    `tail`-th to (100 − `tail`)-th percentile, and when values lie more than `slack` times the
    span of the bulks beyond them (a spike a few samples wide, like ε-GEM's f″ at 0) the
    limits are the bulks widened by that much. A bump as wide as a few percent of the x range
    (gem(N=3)'s f″) is part of the bulk and never clipped."""
    kept = [np.asarray(c, dtype=np.float64) for c in curves]
    kept = [c[np.isfinite(c)] for c in kept]
    kept = [c for c in kept if c.size]
    if not kept:
        return None, False
    lo = min(float(c.min()) for c in kept)
    hi = max(float(c.max()) for c in kept)
    q_lo = min(float(np.percentile(c, tail)) for c in kept)
    q_hi = max(float(np.percentile(c, 100.0 - tail)) for c in kept)
    room = slack * max(q_hi - q_lo, 1e-9)
    clipped = lo < q_lo - room or hi > q_hi + room
    if clipped:
        lo, hi = max(lo, q_lo - room), min(hi, q_hi + room)
    if hi - lo < 1e-9:  # a constant curve (relu″ = 0): give it some room
        return (lo - 0.5, hi + 0.5), clipped
    pad = 0.06 * (hi - lo)
    return (lo - pad, hi + pad), clipped


def _styles(n: int) -> list[dict[str, Any]]:
    """Distinct colours; line styles cycle as well when there are more than six curves."""
    import matplotlib as mpl

    palette = mpl.colormaps["tab10" if n <= 10 else "tab20"].colors
    styles = []
    for i in range(n):
        # earlier curves a little wider, so that one lying under a later one still shows
        width = 2.0 if n == 1 else 3.0 - 1.6 * i / (n - 1)
        style: dict[str, Any] = {"color": palette[i % len(palette)], "linewidth": width}
        if n > 6:
            style["linestyle"] = LINESTYLES[(i + i // len(palette)) % len(LINESTYLES)]
            # a solid line is drawn wider, so that one hidden under a dashed one still shows
            style["linewidth"] = 2.4 if style["linestyle"] == "-" else 1.7
        styles.append(style)
    return styles


def _decorate(ax: Any, title: str, ylabel: str, x_range: tuple[float, float]) -> None:
    ax.axhline(0.0, color="0.55", linewidth=0.8, zorder=0)
    ax.axvline(0.0, color="0.55", linewidth=0.8, zorder=0)
    ax.grid(True, color="0.88", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlim(*x_range)
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("x", fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)
    ax.tick_params(labelsize=9)


def _legend(fig: Any, ax: Any, *, below: bool) -> None:
    """One legend for the figure: below the panels in rows read left to right (`below`), or
    to the right of a single panel in one or two columns."""
    handles, labels = ax.get_legend_handles_labels()
    n = len(labels)
    if below:
        ncol = -(-n // -(-n // LEGEND_COLUMNS))  # balanced rows of at most LEGEND_COLUMNS
        rows = -(-n // ncol)
        # matplotlib fills a legend column by column; order the entries so rows read across
        order = [r * ncol + c for c in range(ncol) for r in range(rows) if r * ncol + c < n]
        handles, labels = [handles[i] for i in order], [labels[i] for i in order]
        loc = "outside lower center"
    else:
        ncol = 1 if n <= 16 else 2
        loc = "outside right upper"
    fig.legend(handles, labels, loc=loc, ncol=ncol, fontsize=10, frameon=False, handlelength=3.0)


def plot_functions(
    specs: list[str], out_dir: Path, x_range: tuple[float, float] = (-5, 5)
) -> list[Path]:
    """Write `functions.png` (f, f′, f″ side by side), `gates.png` (the gates F of the gated
    specs; skipped when none is gated) and `difference_to_relu.png` (f − relu) into `out_dir`
    and return their paths. Specs are labelled with their canonical spec strings; a spec given
    twice (under two spellings) is drawn once."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels: list[str] = []
    for spec in specs:
        label = canonical(spec)
        if label not in labels:
            labels.append(label)
    if not labels:
        raise ValueError("plot_functions needs at least one spec")
    lo, hi = float(x_range[0]), float(x_range[1])
    if not lo < hi:
        raise ValueError(f"x_range must be increasing, got {x_range!r}")
    xs = np.linspace(lo, hi, POINTS)
    data = {label: sample(label, xs) for label in labels}
    styles = dict(zip(labels, _styles(len(labels))))
    relu = np.maximum(xs, 0.0)
    paths: list[Path] = []

    # f, f′, f″
    fig, axes = plt.subplots(
        1, 3, figsize=_with_legend(PANEL_SIZE, len(labels)), layout="constrained"
    )
    panels = (
        ("f", "f(x)", "f(x)"),
        ("df", "f′(x)", "first derivative f′(x)"),
        ("d2f", "f″(x)", "second derivative f″(x)"),
    )
    for ax, (key, ylabel, title) in zip(axes, panels):
        curves = []
        for label in labels:
            x, y = break_jumps(xs, data[label][key])
            curves.append(y)
            ax.plot(x, y, label=label, **styles[label])
        _decorate(ax, title, ylabel, (lo, hi))
        if key == "d2f":
            limits, clipped = robust_limits(curves)
            if limits is not None:
                ax.set_ylim(*limits)
            if clipped:
                ax.set_title(title + " (clipped)", fontsize=12)
    _legend(fig, axes[0], below=True)
    fig.suptitle("Activations and their derivatives (float64, autograd)", fontsize=13)
    paths.append(_save(fig, out_dir / "functions.png"))

    # gates
    gated = [label for label in labels if "gate" in data[label]]
    if gated:
        fig, ax = plt.subplots(figsize=SINGLE_SIZE, layout="constrained")
        ax.axhline(1.0, color="0.35", linewidth=1.0, linestyle="--", zorder=0)
        low, high = GATE_YLIM
        for label in gated:
            x, y = break_jumps(xs, data[label]["gate"])
            ax.plot(x, y, label=label, **styles[label])
            finite = y[np.isfinite(y)]
            if finite.size:
                low = min(low, float(finite.min()) - 0.05)
                high = max(high, float(finite.max()) + 0.05)
        _decorate(ax, "Gates F(x) of the gated activations f(x) = x·F(x)", "F(x)", (lo, hi))
        ax.set_ylim(low, high)
        _legend(fig, ax, below=False)
        paths.append(_save(fig, out_dir / "gates.png"))

    # f − relu
    fig, ax = plt.subplots(figsize=SINGLE_SIZE, layout="constrained")
    curves = []
    for label in labels:
        y = data[label]["f"] - relu
        curves.append(y)
        ax.plot(xs, y, label=label, **styles[label])
    _decorate(ax, "Difference to ReLU: f(x) − max(x, 0)", "f(x) − relu(x)", (lo, hi))
    limits, clipped = robust_limits(curves)
    if limits is not None:
        ax.set_ylim(*limits)
    if clipped:
        ax.set_title("Difference to ReLU: f(x) − max(x, 0) (clipped)", fontsize=12)
    _legend(fig, ax, below=False)
    paths.append(_save(fig, out_dir / "difference_to_relu.png"))
    return paths


def _with_legend(size: tuple[float, float], n: int) -> tuple[float, float]:
    """`size` with room below for a legend of `n` entries in rows of LEGEND_COLUMNS."""
    rows = -(-n // LEGEND_COLUMNS)
    return size[0], size[1] + 0.3 * rows


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=DPI, facecolor="white")
    plt.close(fig)
    return path
