"""`gatelab list`: the registered activations, a row each."""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..registry import Param, Spec, lookup, names
from .common import add_command, dump_json
from .format import TABLE_WIDTH, compact_latex, format_params, render_table, shorten, wrap_items

FAMILIES = ("gelu", "gem", "baseline", "user")
#: "Authors, 'Title', where (year)…" → authors and where: the catalog's citation style.
_CITATION = re.compile(r"^(?P<authors>[^',;]+(?:, [^',;]+)*?), '[^']*'(?:, (?P<where>[^;(]*))?")


def short_source(citation: str) -> str:
    """ "Hendrycks & Gimpel, arXiv:1606.08415": the first work a citation names, without its
    title, "et al." beyond two authors; "; …" when it names more works. A citation in another
    style is returned as it is."""
    first, *more = re.split(r"; (?=[A-Z])", citation)
    match = _CITATION.match(first)
    if match is None:
        return citation
    names = re.split(r", | & ", match["authors"])
    authors = match["authors"] if len(names) <= 2 else f"{names[0].removesuffix(' et al.')} et al."
    where = (match["where"] or "").strip()
    return authors + (f", {where}" if where else "") + ("; …" if more else "")


def _family_order(spec: Spec) -> tuple[int, str]:
    rank = FAMILIES.index(spec.family) if spec.family in FAMILIES else len(FAMILIES)
    return rank, spec.name


def list_specs(family: str | None = None) -> list[Spec]:
    """Registered Specs grouped by family (gelu, gem, baseline, user), by name within one."""
    specs = [lookup(name) for name in names()]
    if family is not None:
        specs = [s for s in specs if s.family == family]
    return sorted(specs, key=_family_order)


def param_record(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "default": param.default,
        "type": param.kind.__name__,
        "rule": param.rule,
        "doc": param.doc,
    }


def spec_record(spec: Spec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "aliases": list(spec.aliases),
        "family": spec.family,
        "summary": spec.summary,
        "formula_latex": spec.formula,
        "citation": spec.citation,
        "params": [param_record(p) for p in spec.params],
    }


def run_list(args: argparse.Namespace) -> int:
    specs = list_specs(args.family)
    if args.json:
        dump_json([spec_record(s) for s in specs])
        return 0
    if not specs:
        print(f"no activations in family {args.family!r}")
        return 0
    headers = ("NAME", "ALIASES", "PARAMETERS", "FAMILY", "SOURCE", "FORMULA (LaTeX, shortened)")
    rows = [
        [
            [spec.name],
            wrap_items(spec.aliases, 24) if spec.aliases else ["-"],
            wrap_items([format_params([p]) for p in spec.params], 26) if spec.params else ["-"],
            [spec.family],
            wrap_items(short_source(spec.citation).split(", "), 22),
        ]
        for spec in specs
    ]
    used = sum(
        max(len(h), *(len(x) for row in rows for x in row[i])) for i, h in enumerate(headers[:5])
    )
    formula_w = max(TABLE_WIDTH - used - 2 * 5, 24)
    for row, spec in zip(rows, specs):
        row.append([shorten(compact_latex(spec.formula), formula_w)])
    print(render_table(headers, rows))
    print(f"\n{len(specs)} activations. `gatelab show NAME` gives the full formula and values.")
    return 0


def add(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "list",
        run_list,
        help="list the registered activations",
        description="List the registered activations: name, aliases, parameters with their "
        "defaults, family, source (the paper; `gatelab show` gives the full citation) and "
        "formula.",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {name, aliases, family, summary, formula_latex, citation, "
        "params: [{name, default, type, rule, doc}]}",
    )
    parser.add_argument("--family", choices=FAMILIES, help="only this family")
