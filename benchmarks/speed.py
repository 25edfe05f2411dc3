"""Median time of gatelab's exact path against torch's native op and the naive composition.

    python benchmarks/speed.py --numel 65536 4194304 --threads 2

Forward and forward+backward, float32, on the CPU; medians of `--repeats` runs after warm-up,
all implementations measured in the same process and reported as ratios to a plain copy.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import gatelab


def median_seconds(fn, x: torch.Tensor, repeats: int, backward: bool) -> float:
    def run() -> None:
        if backward:
            xg = x.detach().requires_grad_(True)
            fn(xg).sum().backward()
        else:
            with torch.no_grad():
                fn(x)

    for _ in range(3):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default="gelu,gelu_tanh,silu,gem,e_gem,se_gem,mish,relu")
    parser.add_argument("--numel", type=int, nargs="+", default=[2**16, 2**22])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| activation | numel | pass | gatelab ms | native ms | naive ms | gatelab/native |")
    print("|---|---|---|---|---|---|---|")
    for numel in args.numel:
        x = torch.randn(numel)
        copy = median_seconds(lambda t: t.clone(), x, args.repeats, False)
        print(f"| copy | {numel} | fwd | {copy * 1e3:.3f} | | | |")
        for name in args.names.split(","):
            spec = gatelab.lookup(name)
            impls = {"gatelab": gatelab.get_fn(name), "native": spec.native, "naive": spec.naive}
            for backward in (False, True):
                ms = {
                    k: median_seconds(f, x, args.repeats, backward) * 1e3 if f else float("nan")
                    for k, f in impls.items()
                }
                ratio = ms["gatelab"] / ms["native"] if spec.native else float("nan")
                print(
                    f"| {name} | {numel} | {'fwd+bwd' if backward else 'fwd'} | "
                    f"{ms['gatelab']:.3f} | {ms['native']:.3f} | {ms['naive']:.3f} | {ratio:.1f} |"
                )


if __name__ == "__main__":
    main()
