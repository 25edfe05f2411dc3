"""Property cards as text: a Markdown card per activation, a comparison table, the compact
summary `gatelab analyze` prints, and the report folder `gatelab analyze --out DIR` writes.

    from gatelab.analysis import analyze
    from gatelab.analysis.render import card_markdown, write_report
    cards = [analyze("gelu"), analyze("gem(N=2)", reference="relu")]
    write_report(cards, Path("report"))   # gelu.md, gem_N=2.md, comparison.md, cards.json, PNGs

Cards follow the conventions of :func:`gatelab.analysis.analyze`: infinities are the strings
"inf"/"-inf", a value that could not be computed is None (shown as "unavailable"), an argmin
or argmax is a number, "-inf"/"inf" (only approached at infinity) or an interval [a, b] (attained
on all of it). Numbers are shown with 6 significant digits. Rendering reads fields with
``card.get``, so a card without some field still renders (the field as "unavailable").
Only the standard library is imported here; the figures come from :mod:`.plots` (matplotlib),
imported by :func:`write_report` when it runs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

UNAVAILABLE = "unavailable"
DIGITS = 6
#: How many intervals or points a summary line lists before "… (k more)".
SHOWN_ITEMS = 4

# --- values -----------------------------------------------------------------------------------


def json_ready(value: Any) -> Any:
    """`value` as strict JSON data: NaN → None, ±inf → "inf"/"-inf", tuples → lists, numpy
    scalars and arrays → Python numbers and lists, Paths → str, mapping keys → str."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy
        return json_ready(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    try:
        return json_ready(float(value))  # mpmath / sympy / numpy numbers
    except (TypeError, ValueError):
        return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: Any) -> str:
    """6 significant digits; "∞"/"-∞" for the infinities; "unavailable" for None or NaN."""
    if value is None:
        return UNAVAILABLE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if value in ("inf", "+inf", "Infinity"):
            return "∞"
        if value in ("-inf", "-Infinity"):
            return "-∞"
        return value
    if isinstance(value, int):
        return str(value)
    if is_number(value):
        if math.isnan(value):
            return UNAVAILABLE
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value == 0:
            return "0"
        return f"{value:.{DIGITS}g}"
    return str(value)


def yes_no(value: Any) -> str:
    return UNAVAILABLE if value is None else ("yes" if value else "no")


def is_infinite(value: Any) -> bool:
    return (isinstance(value, str) and value.lstrip("+-") in ("inf", "Infinity")) or (
        is_number(value) and math.isinf(value)
    )


def interval(pair: Any) -> str:
    """[a, b] with an open bracket at an infinite end: "(-∞, 0]", "[1.41421, ∞)"."""
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return number(pair)
    a, b = pair
    left = "(" if is_infinite(a) else "["
    right = ")" if is_infinite(b) else "]"
    return f"{left}{number(a)}, {number(b)}{right}"


def items(values: Any, render: Any = number, limit: int | None = None) -> str:
    """A comma-separated list, "none" when empty, shortened to `limit` items with a count."""
    if values is None:
        return UNAVAILABLE
    values = list(values)
    if not values:
        return "none"
    shown = values if limit is None else values[:limit]
    text = ", ".join(render(v) for v in shown)
    if len(shown) < len(values):
        text += f", … ({len(values) - len(shown)} more)"
    return text


def location(where: Any) -> str:
    """Where an extremum is: "x = a", "on [a, b]", "as x → -∞" (approached, not attained)."""
    if where is None:
        return UNAVAILABLE
    if isinstance(where, (list, tuple)):
        return f"on {interval(where)}"
    if is_infinite(where):
        return f"as x → {'-∞' if number(where).startswith('-') else '+∞'}"
    return f"x = {number(where)}"


def extremum(value: Any, where: Any) -> str:
    """ "-0.169971 at x = -0.751792", "0 on (-∞, 0]", "-1 as x → -∞ (not attained)"."""
    if value is None:
        return UNAVAILABLE
    if is_infinite(value):
        return f"{number(value)} (unbounded)"
    if where is None:
        return number(value)
    place = location(where)
    if place.startswith("as "):
        return f"{number(value)}, approached {place} (not attained)"
    return f"{number(value)} {'at ' if place.startswith('x') else ''}{place}"


def smoothness(value: Any) -> str:
    """C^k: "C^∞ (smooth)", "C^2", "C^0 (continuous, not C^1)"; "unavailable" for None."""
    if value is None:
        return UNAVAILABLE
    if is_infinite(value):
        return "C^∞ (smooth)"
    if is_number(value) and value < 0:
        return "discontinuous"
    if value == 0:
        return "C^0 (continuous, not C^1)"
    return f"C^{value}"


def asymptote(line: Any, symbolic: Any = True) -> str:
    """{"slope", "intercept"} as "y = 1.2·x - 0.3"; "none" (or "unavailable" without a
    symbolic form) for None."""
    if line is None:
        return "none" if symbolic else UNAVAILABLE
    slope, intercept = line.get("slope"), line.get("intercept")
    if slope is None or intercept is None:
        return UNAVAILABLE
    parts = []
    if slope != 0:
        parts.append("x" if slope == 1 else "-x" if slope == -1 else f"{number(slope)}·x")
    if intercept != 0 or not parts:
        if parts and is_number(intercept) and intercept < 0:
            parts.append(f"- {number(-intercept)}")
        elif parts:
            parts.append(f"+ {number(intercept)}")
        else:
            parts.append(number(intercept))
    return "y = " + " ".join(parts)


def monotonic(card: Mapping[str, Any]) -> str:
    value = card.get("monotonic")
    if value is None or value:
        return yes_no(value)
    return f"no: decreasing on {items(card.get('decreasing_intervals'), interval)}"


def convex(card: Mapping[str, Any]) -> str:
    value = card.get("convex")
    if value is None or value:
        return yes_no(value)
    return f"no: not convex on {items(card.get('non_convex_intervals'), interval)}"


def distance(value: Any) -> str:
    return "∞ (diverges)" if is_infinite(value) else number(value)


def parameters(card: Mapping[str, Any]) -> str:
    params = card.get("params") or {}
    return ", ".join(f"{k} = {number(v)}" for k, v in params.items()) or "none"


# --- Markdown ---------------------------------------------------------------------------------


def cell(text: Any) -> str:
    """Table-cell text: pipes escaped, newlines folded."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A Markdown table; columns in `right` are right-aligned."""
    rule = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(map(cell, headers)) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def code(text: Any) -> str:
    return f"`{text}`"


def display_math(latex: str) -> str:
    return f"$$\n{latex.strip()}\n$$"


def _spec(card: Mapping[str, Any]) -> str:
    return str(card.get("spec") or card.get("name") or "?")


def properties_rows(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    symbolic = card.get("symbolic")
    rows = [
        ("Smoothness", smoothness(card.get("smoothness"))),
        ("Junctions (where the pieces meet)", items(card.get("junctions"))),
        ("Limit as x → -∞", number(card.get("limit_neg_inf"))),
        ("Limit as x → +∞", number(card.get("limit_pos_inf"))),
        ("Asymptote as x → -∞", asymptote(card.get("asymptote_neg_inf"), symbolic)),
        ("Asymptote as x → +∞", asymptote(card.get("asymptote_pos_inf"), symbolic)),
        ("Zeros", items(card.get("zeros"))),
        ("Identically zero on", items(card.get("zero_intervals"), interval)),
        ("Stationary points (f′ = 0)", items(card.get("stationary_points"))),
        ("Minimum", extremum(card.get("min_value"), card.get("argmin"))),
        ("Bounded below", yes_no(card.get("bounded_below"))),
        ("Maximum", extremum(card.get("max_value"), None)),
        ("Bounded above", yes_no(card.get("bounded_above"))),
        ("Monotonic", monotonic(card)),
        ("Convex", convex(card)),
        (
            "Lipschitz constant sup |f′|",
            extremum(card.get("lipschitz"), card.get("lipschitz_argmax")),
        ),
        ("sup |f″|", number(card.get("sup_second_derivative"))),
        ("Gated, f(x) = x·F(x)", yes_no(card.get("gated"))),
    ]
    if card.get("gated"):
        rows.append(("Gate F is a CDF (rises from 0 to 1)", yes_no(card.get("gate_is_cdf"))))
    return rows


def moments_rows(card: Mapping[str, Any]) -> list[list[str]]:
    rows = card.get("normal_moments_by_scale") or []
    if not rows and card.get("normal_second_moment") is not None:
        rows = [
            {
                "s": 1.0,
                "mean": card.get("normal_mean"),
                "second_moment": card.get("normal_second_moment"),
                "derivative_second_moment": card.get("normal_derivative_second_moment"),
            }
        ]
    return [
        [
            number(r.get("s")),
            number(r.get("mean")),
            number(r.get("second_moment")),
            number(r.get("derivative_second_moment")),
        ]
        for r in rows
    ]


def card_markdown(card: Mapping[str, Any]) -> str:
    """A readable Markdown page for one property card."""
    spec = _spec(card)
    out = [
        f"# {code(spec)}",
        "",
        " · ".join(
            [
                f"**Activation:** {code(card.get('name', spec))}",
                f"**family:** {card.get('family') or UNAVAILABLE}",
                f"**parameters:** {parameters(card)}",
                f"**precision:** {card.get('precision') or UNAVAILABLE}",
            ]
        ),
        "",
    ]
    formula = card.get("formula_latex")
    out += [display_math(f"f(x) = {formula}") if formula else "Formula: unavailable", ""]
    out += [f"**Citation:** {card.get('citation') or UNAVAILABLE}", ""]

    out += ["## Derivatives", ""]
    first, second = card.get("derivative_latex"), card.get("second_derivative_latex")
    if first is None and second is None:
        why = "" if card.get("symbolic") else " (no symbolic form: the analysis is numeric)"
        out += [f"Symbolic derivatives: unavailable{why}.", ""]
    else:
        for label, latex in (("f'(x)", first), ("f''(x)", second)):
            out += [display_math(f"{label} = {latex}") if latex else f"{label}: unavailable", ""]

    out += ["## Properties", "", table(["Property", "Value"], properties_rows(card)), ""]

    out += [
        "## Under normalised inputs",
        "",
        "For z ~ N(0, s²), the pre-activations that batch or layer normalisation produce:",
        "",
    ]
    rows = moments_rows(card)
    if rows:
        out += [table(["s", "E[f(z)]", "E[f(z)²]", "E[f′(z)²]"], rows, right=range(4)), ""]
    else:
        out += ["Moments: unavailable.", ""]
    gain = number(card.get("init_gain"))
    out += [f"- Initialisation gain 1/√E[f(z)²] at s = 1: **{gain}**"]
    out += [f"- Range of f on [-3, 3] (±3s at s = 1): {interval(card.get('range_3s'))}", ""]

    lp = card.get("lp_distance_to_relu") or {}
    out += ["## Distance to ReLU", "", "‖f − relu‖ₚ over the whole real line:", ""]
    out += [
        table(
            ["L1", "L2", "L∞"],
            [[distance(lp.get("1")), distance(lp.get("2")), distance(lp.get("inf"))]],
            right=range(3),
        ),
        "",
    ]

    if card.get("reference"):
        out += [f"## Against the reference {code(card['reference'])}", ""]
        out += ["Largest error over the real line (relative: divided by the reference).", ""]
        out += [
            table(
                ["", "f", "f′"],
                [
                    [
                        "max abs error",
                        number(card.get("max_abs_error")),
                        number(card.get("max_abs_error_derivative")),
                    ],
                    [
                        "max rel error",
                        number(card.get("max_rel_error")),
                        number(card.get("max_rel_error_derivative")),
                    ],
                ],
                right=(1, 2),
            ),
            "",
        ]

    eps_rows = card.get("lp_table_over_eps")
    if eps_rows:
        out += ["## ε-GEM: distance to ReLU as ε shrinks", ""]
        out += [
            table(
                ["ε", "N", "L1", "L2", "L∞"],
                [
                    [
                        number(r.get("eps")),
                        number(r.get("N")),
                        distance(r.get("1")),
                        distance(r.get("2")),
                        distance(r.get("inf")),
                    ]
                    for r in eps_rows
                ],
                right=range(5),
            ),
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


def _compact_extremum(value: Any, where: Any) -> str:
    if value is None:
        return UNAVAILABLE
    if is_infinite(value) or where is None:
        return number(value)
    place = location(where)
    place = place[len("x = ") :] if place.startswith("x = ") else place
    return f"{number(value)} ({place})"


def comparison_markdown(
    cards: Sequence[Mapping[str, Any]], links: Mapping[str, str] | None = None
) -> str:
    """One table, a row per card. `links` maps a spec string to the file its card is in."""
    references = {card.get("reference") for card in cards}
    shared = next(iter(references)) if len(references) == 1 else None  # one for all, or None
    headers = [
        "spec",
        "smoothness",
        "min (argmin)",
        "Lipschitz (at)",
        "monotonic",
        "convex",
        "E[f(z)]",
        "E[f(z)²]",
        "init gain",
        "L2 to ReLU",
    ]
    if shared:
        headers.append(f"max abs error vs {code(shared)}")
    elif any(references):
        headers += ["reference", "max abs error"]
    rows = []
    for card in cards:
        spec = _spec(card)
        name = code(spec)
        if links and spec in links:
            name = f"[{name}]({links[spec]})"
        row = [
            name,
            smoothness(card.get("smoothness")).split(" (")[0],
            _compact_extremum(card.get("min_value"), card.get("argmin")),
            _compact_extremum(card.get("lipschitz"), card.get("lipschitz_argmax")),
            yes_no(card.get("monotonic")),
            yes_no(card.get("convex")),
            number(card.get("normal_mean")),
            number(card.get("normal_second_moment")),
            number(card.get("init_gain")),
            distance((card.get("lp_distance_to_relu") or {}).get("2")),
        ]
        ref = card.get("reference")
        if shared:
            row.append(number(card.get("max_abs_error")))
        elif any(references):
            row += [code(ref) if ref else "-", number(card.get("max_abs_error")) if ref else "-"]
        rows.append(row)
    return table(headers, rows, right=[*range(6, 10), *([10] if shared else [])]) + "\n"


def safe_name(spec: str) -> str:
    """A file name from a spec string: letters, digits, "_", "-" and "=" only (others become
    "_", runs collapsed): "e_gem(N=2)" → "e_gem_N=2", "silu(beta=2.0)" → "silu_beta=2_0"."""
    name = re.sub(r"[^A-Za-z0-9_=-]+", "_", spec).strip("_")
    return name or "activation"


def card_files(cards: Sequence[Mapping[str, Any]]) -> list[str]:
    """`<safe name>.md` for each card, made unique ("-2", "-3", … for repeats)."""
    files: list[str] = []
    for card in cards:
        base = safe_name(_spec(card))
        name, k = f"{base}.md", 2
        reserved = {"comparison.md"}
        while name in files or name in reserved:
            name, k = f"{base}-{k}.md", k + 1
        files.append(name)
    return files


FIGURES = (
    ("functions.png", "f, f′ and f″"),
    ("gates.png", "The gates F of the gated activations"),
    ("difference_to_relu.png", "Difference to ReLU"),
)


def write_report(cards: Sequence[Mapping[str, Any]], out_dir: Path) -> list[Path]:
    """Write into `out_dir` (created if needed): a Markdown card per card (`<safe name>.md`),
    `comparison.md` (the table, links to the cards, the figures), `cards.json` (strict JSON)
    and the figures of :func:`gatelab.analysis.plots.plot_functions`. Returns the paths
    written, comparison.md first."""
    from .plots import plot_functions

    cards = list(cards)
    if not cards:
        raise ValueError("write_report needs at least one card")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = card_files(cards)
    card_paths = []
    for card, file in zip(cards, files):
        path = out_dir / file
        path.write_text(card_markdown(card), encoding="utf-8")
        card_paths.append(path)
    data_path = out_dir / "cards.json"
    data_path.write_text(
        json.dumps(json_ready(cards), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    figures = plot_functions([_spec(card) for card in cards], out_dir)
    drawn = {p.name for p in figures}

    links = {}
    for card, file in zip(cards, files):
        links.setdefault(_spec(card), file)
    lines = ["# Activation comparison", ""]
    references = sorted({str(c["reference"]) for c in cards if c.get("reference")})
    if references:
        lines += [f"Reference: {', '.join(map(code, references))}.", ""]
    lines += [comparison_markdown(cards, links)]
    lines += [
        "E[·] for z ~ N(0, 1); init gain = 1/√E[f(z)²]; L2 = ‖f − relu‖₂ over the real line.",
        "",
        "## Cards",
        "",
    ]
    lines += [f"- [{code(_spec(card))}]({file})" for card, file in zip(cards, files)]
    lines += ["- [cards.json](cards.json): every field, as JSON", ""]
    lines += ["## Figures", ""]
    for file, title in FIGURES:
        if file in drawn:
            lines += [f"### {title}", "", f"![{title}]({file})", ""]
    comparison = out_dir / "comparison.md"
    comparison.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return [comparison, *card_paths, data_path, *figures]


# --- plain text (the `gatelab analyze` summary) ------------------------------------------------


def _verdict(card: Mapping[str, Any], key: str, failures: str, failing: str) -> str:
    """ "yes", or "no: <failing> on <intervals>" for a property that fails on intervals."""
    value = card.get(key)
    if value is None or value:
        return yes_no(value)
    return f"no: {failing} on " + items(card.get(failures), interval, SHOWN_ITEMS)


def summary_text(card: Mapping[str, Any]) -> str:
    """A few lines on one card, for the terminal."""
    spec = _spec(card)
    lp = card.get("lp_distance_to_relu") or {}
    lines = [
        f"{spec}  ({card.get('family') or '?'} family; {card.get('precision') or '?'})",
        ("smoothness", smoothness(card.get("smoothness"))),
        (
            "limits",
            f"{number(card.get('limit_neg_inf'))} as x → -∞, "
            f"{number(card.get('limit_pos_inf'))} as x → +∞",
        ),
        ("minimum", extremum(card.get("min_value"), card.get("argmin"))),
        ("maximum", extremum(card.get("max_value"), None)),
    ]
    lines.append(("monotonic", _verdict(card, "monotonic", "decreasing_intervals", "decreasing")))
    lines.append(("convex", _verdict(card, "convex", "non_convex_intervals", "not convex")))
    lines.append(
        (
            "Lipschitz",
            f"{extremum(card.get('lipschitz'), card.get('lipschitz_argmax'))}; "
            f"sup |f''| = {number(card.get('sup_second_derivative'))}",
        )
    )
    if card.get("gated"):
        lines.append(("gate", f"f = x·F(x); F is a CDF: {yes_no(card.get('gate_is_cdf'))}"))
    lines.append(
        (
            "z ~ N(0, 1)",
            f"E[f] = {number(card.get('normal_mean'))}, "
            f"E[f²] = {number(card.get('normal_second_moment'))}, "
            f"E[f'²] = {number(card.get('normal_derivative_second_moment'))}, "
            f"init gain = {number(card.get('init_gain'))}",
        )
    )
    lines.append(
        (
            "to relu",
            f"L1 = {distance(lp.get('1'))}, L2 = {distance(lp.get('2'))}, "
            f"L∞ = {distance(lp.get('inf'))}",
        )
    )
    if card.get("reference"):
        lines.append(
            (
                f"vs {card['reference']}",
                f"max abs error {number(card.get('max_abs_error'))}, "
                f"max rel error {number(card.get('max_rel_error'))}; "
                f"f': {number(card.get('max_abs_error_derivative'))} abs, "
                f"{number(card.get('max_rel_error_derivative'))} rel",
            )
        )
    width = max(len(label) for label, _ in lines[1:]) + 2
    return "\n".join([lines[0], *(f"  {label + ':':<{width}}{text}" for label, text in lines[1:])])
