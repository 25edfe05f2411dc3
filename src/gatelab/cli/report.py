"""`gatelab report DIR [--baseline SPEC] [--format md|html] [--out OUT] [--title TEXT]`.

Reads the results store of a sweep directory (``gatelab.results.load``) and writes the report of
:func:`gatelab.report.render.write_report` — tables, figures, published numbers beside ours —
into OUT (default ``DIR/report``); prints the report's path. :func:`add` is the registrar
that ``gatelab.cli.COMMANDS`` lists; the report extra (pandas, scipy, matplotlib) is imported
only when the command runs, and its absence is reported as a one-line usage error naming
``pip install 'gatelab[report]'``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import UsageError, add_alpha, add_command, canonical_spec

REPORT_INSTALL = "pip install 'gatelab[report]'"
#: The modules of the report extra: an ImportError naming one of them means "not installed".
REPORT_MODULES = frozenset({"pandas", "scipy", "matplotlib"})
DEFAULT_OUT = "report"


def missing_report_extra(error: ImportError) -> UsageError | None:
    """The UsageError for an ImportError of a module of the report extra (else None)."""
    module = (error.name or "").split(".")[0]
    if module not in REPORT_MODULES:
        return None
    return UsageError(f"gatelab report needs {module}, part of the report extra: {REPORT_INSTALL}")


def directory_problem(directory: Path) -> str | None:
    """Why `directory` is not a sweep's directory (None if it is an existing directory)."""
    if not directory.exists():
        return f"{directory}: no such directory (give the directory of a sweep)"
    if not directory.is_dir():
        return f"{directory}: not a directory (give the directory of a sweep)"
    return None


def run_report(args: argparse.Namespace) -> int:
    out = args.out if args.out is not None else args.dir / DEFAULT_OUT
    problems = [directory_problem(args.dir)]
    if out.exists() and not out.is_dir():
        problems.append(f"--out {out}: exists and is not a directory")
    if args.baseline is not None:
        try:
            canonical_spec(args.baseline)
        except UsageError as error:
            problems.append(f"--baseline: {error}")
    if any(problems):  # every problem at once, before the results are read
        raise UsageError(*filter(None, problems))
    try:
        from ..report.render import write_report

        try:
            path = write_report(
                args.dir,
                out,
                baseline=args.baseline,
                format=args.format,
                title=args.title,
                alpha=args.alpha,
            )
        except ValueError as error:  # no runs, a baseline that was not run, a bad spec
            raise UsageError(str(error)) from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise UsageError(f"cannot write the report to {out}: {reason}") from None
    except ImportError as error:
        usage = missing_report_extra(error)
        if usage is None:
            raise
        raise usage from None
    print(path)
    return 0


def add(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "report",
        run_report,
        help="tables and figures of a sweep's results (needs the report extra)",
        description="Write a Markdown or HTML report of the sweep in DIR: the run summary, the "
        "leaderboard (lr chosen on validation, mean ± std with t-intervals, median), learning "
        "curves, noise-robustness curves, final metrics with CIs, seed-paired verdicts "
        "(Holm-adjusted paired t-tests) and deficits against the baseline, comparisons across "
        "tasks (IQM, Friedman test, critical difference), divergences and failures, and the "
        "published numbers beside ours. Prints the report's path. Needs the report extra: "
        f"{REPORT_INSTALL}.",
    )
    parser.add_argument("dir", metavar="DIR", type=Path, help="the sweep's results directory")
    parser.add_argument(
        "--baseline",
        metavar="SPEC",
        help="the activation to compare against (default: gelu if it was run, else none)",
    )
    parser.add_argument(
        "--format", choices=("md", "html"), default="md", help="report.md or report.html"
    )
    parser.add_argument(
        "--out", metavar="OUT", type=Path, help=f"output directory (default: DIR/{DEFAULT_OUT})"
    )
    parser.add_argument("--title", metavar="TEXT", help="the report's title")
    add_alpha(parser)
