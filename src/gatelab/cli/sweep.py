"""`gatelab sweep SPEC.toml --out DIR`: a grid of runs, its leaderboard and report.

    gatelab sweep sweep.toml --out sweeps/a [--executor local|ray|ensemble|ray-ensemble]
                                            [--ensemble-size K] [--workers N]

Rerunning the same command on the same directory resumes: finished runs are skipped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .common import UsageError, add_alpha, add_command, canonical_spec, executor_options


def sweep_and_report(spec, out: Path, args: argparse.Namespace, baseline: str | None) -> int:
    from ..sweep import run_sweep

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
        from .. import results
        from ..report.render import leaderboards, sweep_axes, write_report
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
    from ..sweep import SpecError, load_spec

    problems: list[str] = []
    spec = None
    try:
        spec = load_spec(args.spec)
    except SpecError as error:  # every problem, one line each
        problems += [f"{args.spec}: {problem}" for problem in error.problems]
    if args.baseline is not None:
        try:
            canonical_spec(args.baseline)
        except UsageError as error:
            problems.append(f"--baseline: {error}")
    if problems:
        raise UsageError(*problems)
    return sweep_and_report(spec, args.out, args, args.baseline)


def add(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "sweep",
        run_sweep_command,
        help="run a grid of tasks × activations × seeds × lrs from a TOML spec",
        description="Validate SPEC (every problem is listed at once), run the grid's pending "
        "runs and store one record per run in --out; print the leaderboard and write a report "
        "(with the report extra). Rerunning resumes.",
    )
    parser.add_argument(
        "spec",
        type=Path,
        metavar="SPEC.toml",
        help="the grid, a TOML sweep spec (README: Sweeps, statistics and reports)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="results directory: records.jsonl, one folder per run, report/ (rerun to resume)",
    )
    parser.add_argument("--baseline", metavar="SPEC", help="compare against this activation")
    add_alpha(parser)
    executor_options(parser)
