"""The `gatelab` command line.

    gatelab list [--json] [--family gelu|gem|baseline|user]
    gatelab show "e_gem(N=2, eps=1e-4)" [--points=-2,0,2] [--json]
    gatelab analyze gelu "gem(N=2)" [--reference relu] [--json] [--out DIR]
    gatelab --version

Each subcommand is one registrar function ``add_NAME(subparsers)`` that adds its parser with
:func:`add_command` and binds a handler ``handler(args) -> int``; :data:`COMMANDS` lists the
registrars :func:`build_parser` calls. A new subcommand (analyze, bench, …) is a registrar
appended to that list. Registrars use argparse only; a handler that needs an optional extra
(sympy, matplotlib, pandas, …) imports it inside the handler, so ``gatelab list`` and
``import gatelab.cli`` stay on torch and numpy.

Bad input — an unknown activation, a bad parameter, an unparsable spec or ``--points`` — is
reported as one line ``gatelab: error: …`` on stderr with exit status 2 (handlers raise
:class:`UsageError`); argparse's own usage errors also exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .modules import get_fn
from .registry import Param, Spec, lookup, names, resolve

PROG = "gatelab"
FAMILIES = ("gelu", "gem", "baseline", "user")
DEFAULT_POINTS = (-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0)
TABLE_WIDTH = 120

Handler = Callable[[argparse.Namespace], int]
Registrar = Callable[[Any], None]  # takes the object argparse's add_subparsers() returns


class UsageError(Exception):
    """Bad input from the user: reported as one `gatelab: error:` line, exit status 2."""


# --- helpers shared by subcommands ----------------------------------------------------------


def add_command(
    subparsers: Any, name: str, handler: Handler, *, help: str, description: str = ""
) -> argparse.ArgumentParser:
    """Add the subcommand `name`, run by `handler(args) -> exit status`."""
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description or help,
    )
    parser.set_defaults(handler=handler)
    return parser


def resolve_spec(text: str) -> tuple[Spec, dict[str, Any]]:
    """`registry.resolve` with its ValueErrors turned into UsageErrors."""
    try:
        return resolve(text)
    except ValueError as error:
        raise UsageError(str(error)) from None


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


def _family_order(spec: Spec) -> tuple[int, str]:
    rank = FAMILIES.index(spec.family) if spec.family in FAMILIES else len(FAMILIES)
    return rank, spec.name


def list_specs(family: str | None = None) -> list[Spec]:
    """Registered Specs grouped by family (gelu, gem, baseline, user), by name within one."""
    specs = [lookup(name) for name in names()]
    if family is not None:
        specs = [s for s in specs if s.family == family]
    return sorted(specs, key=_family_order)


def dump_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


# --- gatelab list -----------------------------------------------------------------------------


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
    headers = ("NAME", "ALIASES", "PARAMETERS", "FAMILY", "FORMULA (LaTeX, shortened)")
    rows = [
        [
            [spec.name],
            wrap_items(spec.aliases, 24) if spec.aliases else ["-"],
            wrap_items([format_params([p]) for p in spec.params], 26) if spec.params else ["-"],
            [spec.family],
        ]
        for spec in specs
    ]
    used = sum(
        max(len(h), *(len(x) for row in rows for x in row[i])) for i, h in enumerate(headers[:4])
    )
    formula_w = max(TABLE_WIDTH - used - 2 * 4, 24)
    for row, spec in zip(rows, specs):
        row.append([shorten(compact_latex(spec.formula), formula_w)])
    print(render_table(headers, rows))
    print(f"\n{len(specs)} activations. `gatelab show NAME` gives the full formula and values.")
    return 0


def add_list(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "list",
        run_list,
        help="list the registered activations",
        description="List the registered activations: name, aliases, parameters with their "
        "defaults, family and formula.",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {name, aliases, family, summary, formula_latex, citation, "
        "params: [{name, default, type, rule, doc}]}",
    )
    parser.add_argument("--family", choices=FAMILIES, help="only this family")


# --- gatelab show -----------------------------------------------------------------------------


def derivative_table(spec: Spec, params: dict[str, Any], points: Sequence[float]) -> list[dict]:
    """f, f′ and f″ at `points` in float64: f via get_fn, f′ and f″ by (double) autograd."""
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
                "points": [{k: _json_number(v) for k, v in row.items()} for row in table],
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


def add_show(subparsers: Any) -> None:
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


# --- gatelab analyze --------------------------------------------------------------------------

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
    for text in args.specs:
        spec, params = resolve_spec(text)
        canonical = spec.format(params)
        if canonical not in specs:
            specs.append(canonical)
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a directory")
    reference = None
    if args.reference is not None:
        ref_spec, ref_params = resolve_spec(args.reference)
        reference = ref_spec.format(ref_params)
    try:
        from .analysis import analyze, render

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


def add_analyze(subparsers: Any) -> None:
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


# --- entry point ------------------------------------------------------------------------------


def _registrar(module: str, name: str) -> Registrar:
    """A registrar defined in another module, imported when the parser is built (those modules
    import this one, so they cannot be imported at its top)."""

    def add(subparsers: Any) -> None:
        getattr(importlib.import_module(module, __package__), name)(subparsers)

    add.__name__ = name
    return add


add_demo = _registrar(".cli_sweep", "add_demo")
add_tasks = _registrar(".cli_train", "add_tasks")
add_run = _registrar(".cli_train", "add_run")
add_sweep = _registrar(".cli_sweep", "add_sweep")
add_reproduce = _registrar(".cli_sweep", "add_reproduce")
add_report = _registrar(".report.cli", "add_report")
add_bench = _registrar(".bench", "add_bench")

#: Registrars of the subcommands, in `gatelab --help` order; append new ones here.
COMMANDS: list[Registrar] = [
    add_demo, add_list, add_show, add_analyze, add_tasks, add_run, add_sweep, add_reproduce,
    add_report, add_bench,
]  # fmt: skip


def build_parser(commands: Sequence[Registrar] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="GELU, its gated relatives x·F(x), the GEM family and their baselines.",
        epilog="`gatelab COMMAND --help` describes a command.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {__version__} (torch {torch.__version__}, "
        f"python {sys.version.split()[0]})",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS if commands is None else commands:
        add(subparsers)
    return parser


def _one_line(message: str) -> str:
    return " ".join(message.split("\n")).strip()


#: Options whose value may start with "-" (`--points -3,0,3`); argparse would take "-3,0,3" for
#: an option, so main() rewrites "--points -3,0,3" to "--points=-3,0,3" first.
NUMBER_LIST_OPTIONS = {"--points"}
_NUMBER_LIST = re.compile(r"-[\d.]")


def _attach_negative_values(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in NUMBER_LIST_OPTIONS and _NUMBER_LIST.match(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def significance(text: str) -> float:
    """argparse type: a significance level in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), e.g. 0.05; got {text}")
    return value


def add_alpha(parser: argparse.ArgumentParser) -> None:
    """The --alpha option of every command that writes verdicts."""
    parser.add_argument(
        "--alpha",
        type=significance,
        default=0.05,
        metavar="A",
        help="significance level of the verdicts (Holm-adjusted paired t-tests; default 0.05)",
    )


def _show_store_warnings() -> None:
    """A results-store warning (a skipped line, a dropped torn record) as one plain line."""
    import warnings

    from .results import StoreWarning

    default = warnings.showwarning
    if getattr(default, "gatelab_store", False):  # installed by an earlier main() call
        return

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        if issubclass(category, StoreWarning):
            print(f"{PROG}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    show.gatelab_store = True
    warnings.showwarning = show


def _unknown_command(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """ "gatelab: error: unknown command 'lsit' (did you mean list?); …" for a first word that
    is no command, else None (argparse's own message names no close match)."""
    import difflib

    if not argv or argv[0].startswith("-"):
        return None
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = list(action.choices)
    if argv[0] in commands:
        return None
    close = difflib.get_close_matches(argv[0], commands, n=2, cutoff=0.5)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return f"{PROG}: error: unknown command {argv[0]!r}{hint}; commands: {', '.join(commands)}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); returns the exit status."""
    parser = build_parser()
    argv = _attach_negative_values(sys.argv[1:] if argv is None else argv)
    unknown = _unknown_command(parser, argv)
    if unknown:
        print(parser.format_usage() + unknown, file=sys.stderr)  # as argparse's own errors
        return 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and argparse's usage errors (status 2)
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    from .faults import Interrupted, StoreError, interruptible
    from .results import StoreLocked

    _show_store_warnings()
    try:
        with interruptible():
            return args.handler(args)
    except UsageError as error:
        print(f"{PROG}: error: {_one_line(str(error))}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        detail = getattr(stop, "detail", None) or "nothing was recorded"
        print(f"{PROG}: interrupted ({stop}): {detail}", file=sys.stderr)
        return stop.exit_code
    except (StoreError, StoreLocked) as error:
        print(f"{PROG}: error: {_one_line(str(error))}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `gatelab list --json | head -3`: the reader has gone
        devnull = os.open(os.devnull, os.O_WRONLY)  # the recipe in Python's `signal` docs
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
