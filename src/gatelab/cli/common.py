"""What every `gatelab` subcommand shares: the usage error, the registrar helper, JSON output and
the options several commands take (--alpha, the executors)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from typing import Any

from ..registry import Spec, resolve

PROG = "gatelab"

Handler = Callable[[argparse.Namespace], int]
Registrar = Callable[[Any], None]  # takes the object argparse's add_subparsers() returns


class UsageError(Exception):
    """Bad input from the user: each problem is reported as one `gatelab: error:` line, exit
    status 2."""

    def __init__(self, *problems: str) -> None:
        self.problems = [one_line(p) for p in problems]
        super().__init__("; ".join(self.problems))


class DefaultsShown(argparse.HelpFormatter):
    """Help that ends in "(default: …)" where an option has a default its text doesn't state
    (argparse.ArgumentDefaultsHelpFormatter also prints "default: None" and "default: False")."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or default in (None, False, argparse.SUPPRESS) or not text:
            return text
        if isinstance(default, (list, tuple)):
            default = ",".join(map(str, default))
        return f"{text} (default: {str(default).replace('%', '%%')})"


def add_command(
    subparsers: Any, name: str, handler: Handler, *, help: str, description: str = ""
) -> argparse.ArgumentParser:
    """Add the subcommand `name`, run by `handler(args) -> exit status`; each option's help
    shows its default (:class:`DefaultsShown`)."""
    parser = subparsers.add_parser(
        name, help=help, description=description or help, formatter_class=DefaultsShown
    )
    parser.set_defaults(handler=handler)
    return parser


def resolve_spec(text: str) -> tuple[Spec, dict[str, Any]]:
    """`registry.resolve` with its ValueErrors turned into UsageErrors."""
    try:
        return resolve(text)
    except ValueError as error:
        raise UsageError(str(error)) from None


def canonical_spec(text: str) -> str:
    """The canonical form of an activation spec ("gem(N=2)"); a bad one is a UsageError."""
    spec, params = resolve_spec(text)
    return spec.format(params)


def dump_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))


def json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def one_line(message: str) -> str:
    return " ".join(message.split("\n")).strip()


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


def int_in(low: int, high: int) -> Callable[[str], int]:
    """argparse type: an integer from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high:,}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


#: Bounds that keep a typo from starting a million processes or stacking a million models.
MAX_WORKERS = 1024
MAX_ENSEMBLE = 1024


def executor_options(parser: argparse.ArgumentParser, default: str | None = "local") -> None:
    parser.add_argument(
        "--executor",
        default=default,
        choices=("local", "ray", "ensemble", "ray-ensemble"),
        help="local: one run per worker process; ray: one run per Ray task; ensemble: runs "
        "that differ only in seed, lr and dropout train as one stacked model per worker "
        "(ray-ensemble: per Ray task); other runs train one by one (default: "
        + (default or "the protocol's own, as --list shows")
        + ")",
    )
    parser.add_argument(
        "--ensemble-size",
        type=int_in(1, MAX_ENSEMBLE),
        metavar="K",
        help="at most K runs per ensemble (caps memory; default: all that can train together)",
    )
    parser.add_argument(
        "--workers", type=int_in(1, MAX_WORKERS), help="parallel runs (default: one per core)"
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="join this Ray cluster (default: start a local Ray runtime)",
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help="run again the runs whose record says failed"
    )
