"""The `gatelab` command line: one module per subcommand, each with ``add(subparsers)`` (adds its
parser with :func:`~gatelab.cli.common.add_command` and binds a handler ``handler(args) -> int``).

    gatelab demo                                   demo.py
    gatelab list [--json] [--family F]             listing.py
    gatelab show "e_gem(N=2, eps=1e-4)" [--json]   show.py
    gatelab analyze gelu "gem(N=2)" [--out DIR]    analyze.py
    gatelab tasks | run TASK                       tasks.py, run.py
    gatelab sweep SPEC.toml --out DIR              sweep.py
    gatelab reproduce NAME [--quick]               reproduce.py
    gatelab report DIR                             report.py
    gatelab bench [SPEC…]                          bench.py

Shared pieces live in common.py (the usage error, option helpers) and format.py (plain-text
tables). :data:`COMMANDS` lists the registrars in `gatelab --help` order; a new subcommand is a
module appended there. Registrars use argparse only and import neither torch nor an extra:
every call builds every command's parser, and `gatelab demo` prints its first line before
torch loads (tests/test_import.py, tests/sweep/test_progress.py). A handler imports what it
needs inside itself, so ``gatelab list`` stays on torch and numpy.

Bad input is reported as one line ``gatelab: error: …`` on stderr with exit status 2 (handlers
raise :class:`UsageError`); argparse's own usage errors also exit 2.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from .. import __version__
from . import analyze, bench, demo, listing, report, reproduce, run, show, sweep, tasks
from .common import PROG, Registrar, UsageError, add_alpha, add_command, one_line

__all__ = ["COMMANDS", "UsageError", "add_alpha", "add_command", "build_parser", "main"]

#: Registrars of the subcommands, in `gatelab --help` order; append new ones here.
COMMANDS: list[Registrar] = [
    demo.add, listing.add, show.add, analyze.add, tasks.add, run.add, sweep.add, reproduce.add,
    report.add, bench.add,
]  # fmt: skip


class _Version(argparse.Action):
    """``--version``: gatelab's, torch's and Python's; torch is imported only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        import torch

        python = sys.version.split()[0]
        print(f"{PROG} {__version__} (torch {torch.__version__}, python {python})")  # as argparse's
        parser.exit()


def build_parser(commands: Sequence[Registrar] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="GELU, its gated relatives x·F(x), the GEM family and their baselines.",
        epilog="`gatelab COMMAND --help` describes a command.",
    )
    parser.add_argument("--version", action=_Version, help="show the versions and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS if commands is None else commands:
        add(subparsers)
    return parser


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


def _show_store_warnings() -> None:
    """A results-store warning (a skipped line, a dropped torn record) as one plain line."""
    import warnings

    from ..results import StoreWarning

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
    from ..faults import Interrupted, StoreError, interruptible
    from ..results import StoreLocked

    _show_store_warnings()
    try:
        with interruptible():
            return args.handler(args)
    except UsageError as error:
        for problem in error.problems or [str(error)]:
            print(f"{PROG}: error: {problem}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        detail = getattr(stop, "detail", None) or "nothing was recorded"
        print(f"{PROG}: interrupted ({stop}): {detail}", file=sys.stderr)
        return stop.exit_code
    except (StoreError, StoreLocked) as error:
        print(f"{PROG}: error: {one_line(str(error))}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `gatelab list --json | head -3`: the reader has gone
        devnull = os.open(os.devnull, os.O_WRONLY)  # the recipe in Python's `signal` docs
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
