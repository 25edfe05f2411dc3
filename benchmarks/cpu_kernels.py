"""The fused CPU path against copy bandwidth, the naive composition and mpmath: the README table.

    python benchmarks/cpu_kernels.py --threads 2 --rounds 3            # warm inductor cache
    python benchmarks/cpu_kernels.py --threads 2 --rounds 3 --cold     # compile from scratch

For every activation the fused kernels (gatelab.kernels.cpu) cover: forward and
forward+backward bandwidth at 2^24 float32 elements as a ratio to ``x.clone()`` measured in the
same round (targets of issue 7: ≥ 0.9 and ≥ 0.8; a clone pays the page faults of its fresh
output, as the activations do), as the fraction of ``dst.copy_(x)``'s bandwidth into a
pre-faulted buffer (the real limit) and as the speed-up on torch's native op where one exists;
the times at 2^10 next to the naive composition of torch ops (target: never slower), the
compile time of the two torch.compile kernels (0 for the C kernels, whose one build per machine
is reported in the header), and the worst float32 error in ulp against 60-digit mpmath on the
grid of tests/reference.py (the bound of tests/test_numerics.py is 2 ulp). Every number is the
median over `--rounds` rounds, each itself a median of `--repeats` timed calls after warm-up
(gatelab.bench). The machine may be shared: compare rounds, and read ratios rather than
absolute times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

SMALL, LARGE = 2**10, 2**24


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", default="", help="comma-separated specs (default: covered)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--large", type=int, default=LARGE, help="the bandwidth size (2^24)")
    parser.add_argument("--cold", action="store_true", help="use an empty inductor cache")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the mpmath column")
    return parser.parse_args(argv)


def worst_ulp(spec_text: str) -> float:
    """Worst float32 error of the fused path against mpmath on the reference grid."""
    import numpy as np
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import reference as R

    from gatelab.autograd import apply
    from gatelab.kernels.select import select
    from gatelab.registry import resolve

    spec, params = resolve(spec_text)
    xs = torch.from_numpy(R.grid(np.dtype(np.float32)))
    if select(spec, xs, params) is None:
        return float("nan")
    got = apply(spec, xs, params)
    xs = xs.numpy()
    ref = R.reference(spec.name, xs, params)
    return float(R.ulp_errors(got.numpy(), ref, np.dtype(np.float32), abs_floor=1e-37).max())


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cold:  # before torch is imported: inductor reads it once
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="gatelab-inductor-")
    import torch

    from gatelab import bench
    from gatelab.kernels import cpu

    torch.set_num_threads(args.threads)
    import gatelab

    fused = sorted(n for n in gatelab.names() if gatelab.lookup(n).kernels & {"c", "compiled"})
    names = [n for n in args.names.split(",") if n] or fused
    settings = bench.Settings(warmup=3, repeats=args.repeats, memory=False)
    ratios: dict[tuple, list[float]] = defaultdict(list)
    of_bandwidth: dict[tuple, list[float]] = defaultdict(list)
    to_native: dict[tuple, list[float]] = defaultdict(list)
    seconds: dict[tuple, list[float]] = defaultdict(list)
    for round_ in range(args.rounds):
        print(f"round {round_ + 1}/{args.rounds}…", file=sys.stderr, flush=True)
        rows = bench.run(names, ("gatelab_cpu", "naive", "native"), numels=(SMALL, args.large),
                         settings=settings)  # fmt: skip
        for row in rows:
            if row.error is not None:  # a failed measurement is reported, never averaged in
                print(f"{row.activation} {row.impl} {row.numel} {row.pass_}: {row.error}",
                      file=sys.stderr)  # fmt: skip
                continue
            key = (row.activation, row.impl, row.numel, row.pass_)
            ratios[key].append(row.ratio_to_copy)
            of_bandwidth[key].append(row.fraction_of_bandwidth)
            if row.ratio_to_native is not None:
                to_native[key].append(row.ratio_to_native)
            seconds[key].append(row.seconds)
    compile_seconds = defaultdict(float)
    for entry in cpu.compile_log():
        compile_seconds[entry["spec"]] += entry["compile_seconds"]

    def ratio(name, numel, pass_, table=ratios):
        values = table[(name, "gatelab_cpu", numel, pass_)]
        return f"{statistics.median(values):.2f}" if values else "—"

    def micros(name, impl, pass_):
        return statistics.median(seconds[(name, impl, SMALL, pass_)]) * 1e6

    from gatelab.kernels import cpu_native

    built = cpu_native.build_info()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, {'cold' if args.cold else 'warm'} inductor cache, "
          f"median of {args.rounds} rounds; C kernels: {built.get('flags')}, "
          f"{'cached' if built.get('cached') else 'compiled'} in "
          f"{built.get('seconds', float('nan')):.2f} s")  # fmt: skip
    size = f"2^{args.large.bit_length() - 1}" if args.large & (args.large - 1) == 0 else args.large
    print(
        f"| activation | fwd ×clone / of BW / ×native ({size}) "
        f"| fwd+bwd ×clone / of BW / ×native ({size}) | fwd µs fused / naive (2^10) "
        "| fwd+bwd µs fused / naive (2^10) | compile s | float32 worst ulp |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in names:
        label = bench.resolve(name)[0].format(bench.resolve(name)[1])
        ulp = "" if args.no_accuracy else f"{worst_ulp(name):.2f}"
        print(
            f"| `{label}` | {ratio(label, args.large, 'forward')} / "
            f"{ratio(label, args.large, 'forward', of_bandwidth)} / "
            f"{ratio(label, args.large, 'forward', to_native)} "
            f"| {ratio(label, args.large, 'forward+backward')} / "
            f"{ratio(label, args.large, 'forward+backward', of_bandwidth)} / "
            f"{ratio(label, args.large, 'forward+backward', to_native)} "
            f"| {micros(label, 'gatelab_cpu', 'forward'):.0f} / "
            f"{micros(label, 'naive', 'forward'):.0f} "
            f"| {micros(label, 'gatelab_cpu', 'forward+backward'):.0f} / "
            f"{micros(label, 'naive', 'forward+backward'):.0f} "
            f"| {compile_seconds[label]:.1f} | {ulp} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
