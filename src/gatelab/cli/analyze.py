"""`gatelab analyze SPEC…`: property cards (needs the analysis extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import UsageError, add_command, canonical_spec, dump_json

ANALYSIS_INSTALL = "pip install 'gatelab[analysis]'"
#: The modules of the `analysis` extra: an ImportError naming one of them means "not installed".
ANALYSIS_MODULES = frozenset({"sympy", "mpmath", "scipy", "matplotlib"})


def missing_extra(error: ImportError) -> UsageError | None:
    """The UsageError for an ImportError of a module of the analysis extra (else None)."""
    module = (error.name or "").split(".")[0]
    if module not in ANALYSIS_MODULES:
        return None
    return UsageError(
        f"gatelab analyze needs {module}, part of the analysis extra: {ANALYSIS_INSTALL}"
    )


def run_analyze(args: argparse.Namespace) -> int:
    # Check every spec before the (slow) analysis starts, and analyse each activation once.
    specs: list[str] = []
    problems: list[str] = []
    for text in args.specs:
        try:
            canonical = canonical_spec(text)
        except UsageError as error:
            problems.append(str(error))
            continue
        if canonical not in specs:
            specs.append(canonical)
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        problems.append(f"--out {args.out}: exists and is not a directory")
    reference = None
    if args.reference is not None:
        try:
            reference = canonical_spec(args.reference)
        except UsageError as error:
            problems.append(f"--reference: {error}")
    if problems:  # every problem at once, before the (slow) analysis
        raise UsageError(*problems)
    try:
        from ..analysis import analyze, render

        cards = []
        for spec in specs:
            try:
                cards.append(analyze(spec, reference))
            except (ValueError, OverflowError) as error:
                raise UsageError(f"cannot analyze {spec}: {error}") from None
        written = None
        if args.out is not None:
            try:
                written = render.write_report(cards, args.out)
            except OSError as error:
                reason = error.strerror or str(error)
                raise UsageError(f"cannot write the report to {args.out}: {reason}") from None
    except ImportError as error:
        usage = missing_extra(error)
        if usage is None:
            raise
        raise usage from None
    if args.json:
        dump_json(render.json_ready(cards))  # strict JSON at the boundary, whatever the cards hold
        return 0
    print("\n\n".join(render.summary_text(card) for card in cards))
    if written is not None:
        print(f"\nreport: {written[0]}")
    return 0


def add(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "analyze",
        run_analyze,
        help="mathematical properties of activations (needs the analysis extra)",
        description="Analyse activations symbolically (sympy) and numerically (mpmath): "
        "smoothness, limits and asymptotes, zeros and extrema, monotonicity, convexity, "
        "Lipschitz constants, moments under N(0, s²) inputs and the init gain, the distance "
        f"to ReLU and, with --reference, the error against another activation. Needs the "
        f"analysis extra: {ANALYSIS_INSTALL}.",
    )
    parser.add_argument(
        "specs",
        metavar="SPEC",
        nargs="+",
        help='activation specs, e.g. gelu "gem(N=2)" "e_gem(N=2, eps=1e-4)"',
    )
    parser.add_argument(
        "--reference",
        metavar="SPEC",
        help="also give the max absolute and relative error of f and f' against this activation",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print the property cards as a JSON list (infinities as "inf"/"-inf", '
        "unavailable values as null); with --out, the JSON is all that is printed",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="write a report into DIR: a Markdown card per spec, comparison.md, cards.json "
        "and PNG figures (f, f', f''; the gates; f - relu); prints the path of comparison.md",
    )
