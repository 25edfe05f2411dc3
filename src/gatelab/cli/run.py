"""`gatelab run TASK`: one training run of a named task.

    gatelab run mnist-mlp --activation gelu --dataset mnist-5k --epochs 3
    gatelab run resnet-norm --activation "e_gem(N=1, eps=1e-4)" --set norm=group --json

The exit status is 0 for runs that end ``ok`` or ``diverged`` (a diverged run is a result),
1 for ``failed`` runs (the error is printed) and 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path
from typing import Any

from .common import UsageError, add_command, dump_json

_RUN_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]+")


def parse_assignment(text: str) -> tuple[str, Any]:
    """`key=value` with value a Python literal (number, string, tuple, bool); a bare word is a
    string. Parsed with ast.literal_eval — nothing is evaluated."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip().isidentifier():
        raise UsageError(f"--set {text!r}: expected KEY=VALUE, e.g. --set dropout=0.5")
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        parsed = value.strip()
    return key.strip(), parsed


def default_out(config: Any) -> Path:
    """gatelab-runs/<task>/<activation>-s<seed>-lr<lr>[-<option>=<value>…]"""
    parts = [config.activation, f"s{config.seed}", f"lr{config.lr:g}"]
    parts += [f"{k}={v}" for k, v in sorted(config.options.items())]
    name = _RUN_ID_UNSAFE.sub("_", "-".join(str(p) for p in parts)).strip("_")
    return Path("gatelab-runs") / config.task / name


def run_run(args: argparse.Namespace) -> int:
    from .._io import check_writable
    from ..faults import Interrupted
    from ..tasks import RunConfig
    from ..tasks.rules import ConfigError
    from ..train import complete, run

    options = dict(parse_assignment(item) for item in args.set or [])
    config = RunConfig(
        task=args.task,
        activation=args.activation,
        seed=args.seed,
        lr=args.lr,
        epochs=args.epochs,
        scale=args.scale,
        dataset=args.dataset,
        data_root=str(args.data_root) if args.data_root else None,
        download=not args.no_download,
        device=args.device,
        compile=args.compile,
        precision=args.precision,
        options=options,
    )
    try:
        config = complete(config)
    except ConfigError as error:  # every problem, one line each, before any data is read
        raise UsageError(*error.problems) from None
    out = args.out or default_out(config)
    check_writable(out)  # before training: where result.json goes must take writes
    quiet = (lambda line: None) if args.quiet else None
    try:
        record = run(config, out, resume=args.resume, log=quiet)
    except Interrupted as stop:
        stop.detail = f"{stop.detail}; rerun the same command with --resume to continue"
        raise
    if args.json:
        record = {k: v for k, v in record.items() if k != "traceback"}
        dump_json(record)
    else:
        print(summary(record, out))
    if record["status"] == "failed":
        print(f"gatelab: run failed: {record['error']}", file=sys.stderr)
        return 1
    return 0


def summary(record: dict[str, Any], out: Path) -> str:
    """A few human lines: status, final metrics, speed, where the record is."""
    lines = [
        f"{record['task']} · {record['activation']} · seed {record['seed']} · "
        f"lr {record['lr']:g} · {record['dataset']}: {record['status']}"
    ]
    if record["status"] == "diverged":
        lines.append(f"  diverged in epoch {record['diverged_epoch']}")
    for key, value in record["metrics"].items():
        lines.append(f"  {key:<15} {value:.4f}" if value is not None else f"  {key:<15} -")
    if record["samples_per_second"]:
        lines.append(
            f"  {record['samples_per_second']:,.0f} training samples/s on {record['device']}"
        )
    lines.append(f"  wall time {record['wall_seconds']:.1f} s; record: {out / 'result.json'}")
    return "\n".join(lines)


def add(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "run",
        run_run,
        help="train one task with one activation (needs the train extra)",
        description="Run one (task, activation, seed, lr) and write its result record and "
        "per-epoch checkpoints to --out. `gatelab tasks` lists the tasks.",
    )
    parser.add_argument("task", help="a task name, e.g. mnist-mlp (see `gatelab tasks`)")
    parser.add_argument(
        "--activation",
        default="gelu",
        metavar="SPEC",
        help='an activation spec, e.g. gelu or "e_gem(N=2, eps=1e-4)"',
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the initial weights, data order and dropout masks (default 0)",
    )
    parser.add_argument("--lr", type=float, help="learning rate (default: the task's)")
    parser.add_argument("--epochs", type=int, help="epochs (default: the scale's)")
    parser.add_argument(
        "--scale",
        default="paper",
        choices=("smoke", "paper"),
        help="paper: the full protocol; smoke: seconds on a CPU",
    )
    parser.add_argument("--dataset", help="a dataset the task accepts, or synthetic")
    parser.add_argument(
        "--data-root",
        type=Path,
        metavar="DIR",
        help="where datasets live (default: $GATELAB_DATA or ~/.cache/gatelab/data)",
    )
    parser.add_argument(
        "--no-download",
        action="store_true",
        help="never download; fail with the list of expected files instead",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16"),
        help="auto: bf16 autocast on CUDA, fp32 on CPU",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a task option, e.g. --set dropout=0.5 or --set norm=group",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="run directory (default: gatelab-runs/TASK/ACTIVATION-sSEED-lrLR)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --out (or return its finished record)",
    )
    parser.add_argument("--json", action="store_true", help="print the result record as JSON")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch log lines")
