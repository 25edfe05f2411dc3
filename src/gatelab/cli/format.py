"""Plain-text formatting for the `gatelab` commands: aligned tables, wrapped fields, compact
LaTeX, parameter lists."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import Any

TABLE_WIDTH = 120


def format_value(value: Any) -> str:
    return repr(value)


def format_params(params: Sequence[Any], values: dict[str, Any] | None = None) -> str:
    """ "N=1, eps=0.0001": each Param with its value in `values`, or else its default."""
    values = values or {}
    return ", ".join(f"{p.name}={format_value(values.get(p.name, p.default))}" for p in params)


_LATEX_SPACE = re.compile(r"\\[,;:]")  # \, \; \: -> one space
_LATEX_DROP = re.compile(r"\\!|\\(?:left|right)(?![a-zA-Z])")  # \! \left \right -> nothing


def compact_latex(formula: str) -> str:
    r"""LaTeX without spacing and sizing commands (\, \! \left …), whitespace collapsed."""
    text = _LATEX_DROP.sub("", _LATEX_SPACE.sub(" ", formula))
    text = re.sub(r"\\[td]frac(?![a-zA-Z])", r"\\frac", text)
    return " ".join(text.split())


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def wrap_items(items: Sequence[str], width: int) -> list[str]:
    """Join `items` with ", " into lines of at most `width` characters (an item never splits)."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += ", " + item
        elif lines:
            lines[-1] += ","
            lines.append(item)
        else:
            lines.append(item)
    return lines or [""]


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[list[str]]],
    *,
    gap: str = "  ",
    right: Sequence[int] = (),
) -> str:
    """Aligned plain-text columns; each cell is a list of lines (a row spans the longest).
    Columns whose index is in `right` are right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max([widths[i], *map(len, cell)])

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ]
        return gap.join(parts).rstrip()

    out = [line(headers), gap.join("-" * w for w in widths)]
    for row in rows:
        for k in range(max(len(cell) for cell in row)):
            out.append(line([cell[k] if k < len(cell) else "" for cell in row]))
    return "\n".join(out)


LABEL = len("citation:  ")


def field(label: str, text: str) -> str:
    """`label: text`, wrapped to TABLE_WIDTH with continuation lines under the text."""
    return textwrap.fill(
        text,
        TABLE_WIDTH,
        initial_indent=f"{label + ':':<{LABEL}}",
        subsequent_indent=" " * LABEL,
        break_on_hyphens=False,
    )
