"""`gatelab show SPEC`: one activation described, with f, f′ and f″ tabulated."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any

from ..registry import Spec
from .common import UsageError, add_command, dump_json, json_number, resolve_spec
from .format import LABEL, field, format_value, render_table
from .listing import param_record, spec_record

DEFAULT_POINTS = (-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0)


def parse_points(text: str) -> list[float]:
    """Comma-separated finite numbers, e.g. "-2,0,1e-3" (float() only: nothing is evaluated)."""
    values = []
    for item in text.split(","):
        item = item.strip()
        try:
            value = float(item)
        except ValueError:
            raise UsageError(
                f"--points: {item!r} is not a number (expected comma-separated numbers, "
                "e.g. --points=-2,0,1.5)"
            ) from None
        if not math.isfinite(value):
            raise UsageError(f"--points: {item!r} is not a finite number")
        values.append(value)
    return values


def derivative_table(spec: Spec, params: dict[str, Any], points: Sequence[float]) -> list[dict]:
    """f, f′ and f″ at `points` in float64: f via get_fn, f′ and f″ by (double) autograd."""
    import torch

    from ..modules import get_fn

    fn = get_fn(spec, **params)
    x = torch.tensor(list(points), dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        y = fn(x)
        (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        d2 = None
        if d1.requires_grad:  # False where f′ is piecewise constant (relu, leaky_relu, …)
            (d2,) = torch.autograd.grad(d1.sum(), x, allow_unused=True)
    if d2 is None:
        d2 = torch.zeros_like(x)
    return [
        {"x": float(a), "f": float(b), "df": float(c), "d2f": float(d)}
        for a, b, c, d in zip(x.detach(), y.detach(), d1.detach(), d2.detach())
    ]


def run_show(args: argparse.Namespace) -> int:
    spec, params = resolve_spec(args.spec)
    points = parse_points(args.points) if args.points is not None else list(DEFAULT_POINTS)
    canonical = spec.format(params)
    try:
        table = derivative_table(spec, params, points)
    except OverflowError as error:  # a user-registered integer too large for tensor arithmetic
        raise UsageError(f"cannot evaluate {canonical}: {error}") from None
    if args.json:
        dump_json(
            {
                "spec": canonical,
                **spec_record(spec),
                "gated": spec.gate is not None,
                "params": [{**param_record(p), "value": params[p.name]} for p in spec.params],
                "points": [{k: json_number(v) for k, v in row.items()} for row in table],
            }
        )
        return 0
    gated = "yes: f(x) = x·F(x)" if spec.gate is not None else "no"
    lines = [
        canonical,
        field("summary", spec.summary),
        field("aliases", ", ".join(spec.aliases) or "-"),
        field("family", spec.family),
        field("gated", gated),
        f"{'formula:':<{LABEL}}{spec.formula}",  # one line, to copy as is
        field("citation", spec.citation),
    ]
    if spec.params:
        lines += ["", "parameters:"]
        rows = [
            (
                [p.name],
                [format_value(params[p.name])],
                [format_value(p.default)],
                [p.rule],
                [p.doc],
            )
            for p in spec.params
        ]
        table_text = render_table(("NAME", "VALUE", "DEFAULT", "RULE", "MEANING"), rows)
        lines += ["  " + line for line in table_text.splitlines()]
    else:
        lines += ["", "parameters: none"]
    lines += ["", "values (float64; f' and f'' by autograd):"]
    rows = [[[repr(r[key])] for key in ("x", "f", "df", "d2f")] for r in table]
    headers = ("x", "f(x)", "f'(x)", "f''(x)")
    number_table = render_table(headers, rows, gap="   ", right=range(4))
    lines += ["  " + line for line in number_table.splitlines()]
    print("\n".join(lines))
    return 0


def add(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "show",
        run_show,
        help="describe one activation and tabulate f, f', f''",
        description="Describe one activation: canonical spec, summary, LaTeX formula, "
        "parameters, citation, whether it is gated, and f(x), f'(x), f''(x) in float64.",
    )
    parser.add_argument(
        "spec", metavar="SPEC", help='an activation spec, e.g. gelu or "e_gem(N=2, eps=1e-4)"'
    )
    parser.add_argument(
        "--points",
        metavar="X,X,...",
        help="comma-separated x values (default: -3,-1,-0.5,0,0.5,1,3)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON: spec, summary, formula_latex, citation, gated, params (with value), "
        "points: [{x, f, df, d2f}]",
    )
