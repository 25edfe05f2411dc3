"""`gatelab reproduce NAME [--quick] [--out DIR]`: a paper's protocol kept in the repo, run and
judged; `--list` names the protocols."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import UsageError, add_alpha, add_command, executor_options


def run_reproduce(args: argparse.Namespace) -> int:
    from ..reproduce import PROTOCOLS, get_protocol, reproduce

    if args.name is None and not args.list:
        raise UsageError(
            "name a protocol, e.g. gatelab reproduce gelu-mnist --quick; protocols: "
            + ", ".join(PROTOCOLS)
            + " (gatelab reproduce --list gives their times)"
        )
    if args.list:
        for protocol in PROTOCOLS.values():
            print(
                f"{protocol.name:<14} {protocol.title}\n{'':<14} full ≈ {protocol.minutes:g} min, "
                f"--quick ≈ {protocol.quick_minutes:g} min on 2 CPU cores "
                f"({protocol.executor} executor)"
            )
        return 0
    try:
        get_protocol(args.name)
    except ValueError as error:
        raise UsageError(str(error)) from None
    variant = "quick" if args.quick else "full"
    out = args.out or Path("gatelab-reproduce") / (args.name + ("-quick" if args.quick else ""))
    path = reproduce(
        args.name, out, variant=variant, executor=args.executor, workers=args.workers,
        ensemble_size=args.ensemble_size, alpha=args.alpha,
    )  # fmt: skip
    print(path.read_text(encoding="utf-8"))
    print(f"reproduction: {path}")
    return 0


def add(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "reproduce",
        run_reproduce,
        help="run a paper's protocol kept in the repo and judge its claims (--list names them)",
        description="Run a named reproduction (a sweep kept in gatelab/reproduce/protocols), "
        "resumable, with the executor the protocol names; write the sweep report, the claims' "
        "verdicts, the deviations from the paper, the command, wall time, machine and "
        "versions, and a CSV of the runs to OUT/report.",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="gelu-mnist, gelu-ae, …")
    parser.add_argument("--list", action="store_true", help="name the protocols and their times")
    parser.add_argument(
        "--quick", action="store_true", help="the quick variant: mnist-5k, few epochs (< 5 min)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="results directory (default: gatelab-reproduce/NAME)",
    )
    add_alpha(parser)
    executor_options(parser, default=None)
