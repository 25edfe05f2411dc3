"""`gatelab bench [SPEC…]`: forward/backward throughput against copy bandwidth, a row at a time
(the measurements are :mod:`gatelab.bench`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import UsageError, add_command

#: The largest --numel: 2^31 elements (8 GiB of float32 per tensor; a pass holds several).
MAX_NUMEL = 2**31
#: gatelab.bench's IMPLS and DTYPES by name, for the help text: the parser is built on every
#: `gatelab` call and must not import torch (tests/test_bench.py checks they agree).
IMPL_NAMES = ("gatelab", "gatelab_cpu", "native", "naive", "compiled")
DTYPE_NAMES = ("float32", "bfloat16", "float16", "float64")


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _check(args: argparse.Namespace) -> None:
    """Every problem of the arguments at once, before anything is measured."""
    from ..bench import DTYPES, IMPLS
    from ..tasks.rules import DEVICE, activation_problem, device_problem, integer

    problems = [
        f"--dtype {name!r}: choose from {', '.join(DTYPES)}"
        for name in args.dtype
        if name not in DTYPES
    ]
    problems += [
        f"--impls {impl!r}: choose from {', '.join(IMPLS)}"
        for impl in args.impls
        if impl not in IMPLS
    ]
    problems += [
        f"--numel {n}: sizes from 2 to {MAX_NUMEL:,}" for n in args.numel if not 2 <= n <= MAX_NUMEL
    ]
    for flag, low in (("warmup", 0), ("repeats", 1), ("threads", 0)):
        problems.append(integer(low, 10_000).problem(f"--{flag}", getattr(args, flag)))
    if args.device == "auto" or DEVICE.problem("device", args.device):
        problems.append(f"--device {args.device!r}: cpu, cuda or cuda:N")
    else:
        missing = device_problem(args.device, fallback="--device cpu")
        problems.append(missing and missing.replace("device = ", "--device ", 1))
    problems += [activation_problem(spec) for spec in args.activations]  # the MLP builds it
    problems = [p for p in problems if p]
    if problems:
        raise UsageError(*problems)


def handle(args: argparse.Namespace) -> int:
    """Run ``gatelab bench``: a table or JSON Lines, a row at a time; 1 if any row failed."""
    import torch

    from ..bench import HEADER, Row, Settings, format_row, run
    from ..registry import names

    args.activations = args.activations or names()
    _check(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = Settings(
        warmup=1 if args.quick else args.warmup,
        repeats=3 if args.quick else args.repeats,
        mlp_width=64 if args.quick else 512,
        mlp_batch=8 if args.quick else 64,
        memory=not args.no_memory,
    )
    if not args.json:
        print(HEADER, flush=True)

    def emit(row: Row) -> None:  # as each row is measured: a later failure loses none
        text = json.dumps(row.record(), allow_nan=False) if args.json else format_row(row)
        print(text, flush=True)

    rows = run(args.activations, args.impls, device=args.device, dtypes=args.dtype,
               numels=args.numel, settings=settings, on_row=emit)  # fmt: skip
    failed = sum(row.error is not None for row in rows)
    if failed:
        print(f"gatelab bench: {failed} of {len(rows)} rows failed", file=sys.stderr, flush=True)
    return 1 if failed else 0


def add(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "bench",
        handle,
        help="time forward/backward of activations against copy bandwidth",
        description="Time forward, backward and both for each activation and implementation "
        "(gatelab's, the fused CPU kernels, torch's native op, the naive composition of torch "
        "ops, torch.compile of it) against x.clone() and copy_ into a pre-faulted buffer of "
        "the same tensor, with the saved memory of a small MLP; rows are printed as they are "
        "measured.",
    )
    parser.add_argument("activations", nargs="*", default=[], metavar="SPEC",
                        help="activation specs (default: the whole catalog)")  # fmt: skip
    impls, dtypes = ",".join(IMPL_NAMES), ",".join(DTYPE_NAMES)
    parser.add_argument("--impls", type=_csv, default=list(IMPL_NAMES),
                        help=f"comma-separated, of {impls} (default: all)")  # fmt: skip
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--dtype", type=_csv, default=["float32"],
                        help=f"comma-separated, of {dtypes} (default: float32)")  # fmt: skip
    parser.add_argument("--numel", type=int, nargs="+", default=[2**20],
                        help="tensor sizes, 2 to 2^31 (default 2^20)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls before timing")
    parser.add_argument("--repeats", type=int, default=15, help="timed calls; the median is kept")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    parser.add_argument("--quick", action="store_true",
                        help="1 warm-up, 3 repeats, a tiny MLP: for smoke tests")  # fmt: skip
    parser.add_argument("--no-memory", action="store_true", help="skip the MLP memory column")
    parser.add_argument("--json", action="store_true",
                        help="JSON Lines: one object per row, printed as it is measured; a "
                             "failed row has 'error' and null numbers")  # fmt: skip
