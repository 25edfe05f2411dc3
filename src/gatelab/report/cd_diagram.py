"""Critical-difference diagram of a Friedman/Nemenyi comparison (Demšar 2006, JMLR 7, Fig. 1).

    from gatelab.stats import across
    from gatelab.report.cd_diagram import critical_difference_diagram
    critical_difference_diagram(across.friedman(scores), Path("out/cd.png"))

The rank axis runs from 1 (best, left) to k; each activation is an elbow line from its mean rank
to a label "name (rank)", the better half on the left; thick bars below the axis join the
cliques (``FriedmanResult.cliques``: activations whose mean ranks differ by less than the
critical difference), and a scale bar above the axis shows the CD itself. Drawn as in
:mod:`gatelab.report.figures`: a ``matplotlib.figure.Figure`` rendered by Agg at 150 dpi and
written atomically, colours from ``figures.activation_styles`` unless `styles` is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .figures import DOT, FONT_SIZE, activation_styles, save, style_of

if TYPE_CHECKING:
    from ..stats.across import FriedmanResult

ROW = 0.25  # inches per vertical unit: one label row
CLIQUE_STEP = 0.45  # rows between clique bars
RANK_WIDTH = 0.7  # inches per rank on the axis (at least MIN_WIDTH in all)
MIN_WIDTH = 4.5
MARGIN = 0.6  # ranks beyond 1 and k where the elbows end
INK = "0.15"


def critical_difference_diagram(
    result: FriedmanResult,
    path: Path,
    *,
    styles: Mapping[str, dict] | None = None,
    title: str | None = None,
) -> Path:
    """Draw `result` as a CD diagram (Demšar 2006, §3.2.2, Fig. 1) to the PNG `path`."""
    return save(cd_figure(result, styles=styles, title=title), Path(path))


def cd_figure(
    result: FriedmanResult, *, styles: Mapping[str, dict] | None = None, title: str | None = None
) -> Any:
    """The diagram as a Figure; each clique bar is a Line2D with gid ``"clique"``."""
    from matplotlib.figure import Figure

    names, ranks = list(result.mean_ranks), list(result.mean_ranks.values())
    styles = activation_styles(names) if styles is None else styles
    per_side = math.ceil(len(names) / 2)
    first_label = -(0.6 + CLIQUE_STEP * len(result.cliques) + 0.5)
    top, bottom = 2.3, first_label - (per_side - 1) - 0.6
    width = max(MIN_WIDTH, RANK_WIDTH * (len(names) - 1 + 2 * MARGIN))
    fig = Figure(figsize=(width, ROW * (top - bottom)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(1 - MARGIN, len(names) + MARGIN)
    ax.set_ylim(bottom, top)
    draw_rank_axis(ax, len(names))
    draw_cd_bar(ax, result.critical_difference, result.alpha)
    for row, clique in enumerate(result.cliques):
        members = [result.mean_ranks[name] for name in clique]
        y = -0.6 - CLIQUE_STEP * row
        ax.plot([min(members) - 0.05, max(members) + 0.05], [y, y], color=INK, lw=4, gid="clique")
    for i, (name, rank) in enumerate(zip(names, ranks)):
        left = i < per_side
        row = i if left else len(names) - 1 - i
        draw_elbow(ax, name, rank, first_label - row, left=left, style=style_of(styles, name))
    if title:
        ax.text((1 + len(names)) / 2, top + 0.2, title, ha="center", va="bottom",
                fontsize=FONT_SIZE + 1)  # fmt: skip
    return fig


def draw_rank_axis(ax: Any, k: int) -> None:
    """The horizontal rank axis at y = 0 with ticks and labels 1..k above it."""
    ax.plot([1, k], [0, 0], color=INK, lw=1.2)
    for rank in range(1, k + 1):
        ax.plot([rank, rank], [0, 0.2], color=INK, lw=1.0)
        ax.text(rank, 0.35, str(rank), ha="center", va="bottom", fontsize=FONT_SIZE - 1)


def draw_cd_bar(ax: Any, cd: float, alpha: float) -> None:
    """The critical difference as a scale bar from rank 1, labelled with its value."""
    ax.plot([1, 1 + cd], [1.4, 1.4], color=INK, lw=1.5)
    for x in (1, 1 + cd):
        ax.plot([x, x], [1.25, 1.55], color=INK, lw=1.5)
    label = f"CD = {cd:.2f} (Nemenyi, α = {alpha:g})"
    ax.text(1 + cd / 2, 1.65, label, ha="center", va="bottom", fontsize=FONT_SIZE - 1)


def draw_elbow(
    ax: Any, name: str, rank: float, y: float, *, left: bool, style: Mapping[str, Any]
) -> None:
    """A line from the axis at `rank` down to row `y`, then out to the `left` or right edge,
    ending in the label "name (rank)"; the activation's marker sits on the axis."""
    end = ax.get_xlim()[0 if left else 1]
    color = style["color"]
    ax.plot([rank, rank, end], [0, y, y], color=color, lw=1.4, solid_joinstyle="miter")
    ax.plot([rank], [0], style.get("marker") or "o", color=color, zorder=3, **DOT)
    ax.annotate(
        f"{name} ({rank:.2f})",
        (end, y),
        xytext=(-4 if left else 4, 0),
        textcoords="offset points",
        ha="right" if left else "left",
        va="center",
        fontsize=FONT_SIZE,
        color=INK,
    )
