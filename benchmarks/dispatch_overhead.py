"""Per-call cost of each way into a C kernel at small sizes: why apply() keeps a direct path.

    python benchmarks/dispatch_overhead.py [--numel 1024] [--calls 20000]

Prints the median µs per call (5 rounds) of: the raw kernel, ``gatelab.get_fn`` (the dispatch's
direct path), the registered op ``torch.ops.gatelab.activation``, and the autograd Function,
each forward only (no graph), plus forward+backward through ``get_fn``.
"""

from __future__ import annotations

import argparse
import statistics
import time


def per_call(fn, calls: int) -> float:
    for _ in range(calls // 10):
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numel", type=int, default=1024)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--names", default="gelu,silu,e_gem")
    args = parser.parse_args()
    import torch

    x = torch.randn(args.numel)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.numel} float32")
    print("| activation | raw kernel | get_fn (direct) | registered op | Function | fwd+bwd |")
    print("|---|---|---|---|---|---|")
    for name in args.names.split(","):
        cells = [
            statistics.median(per_call(way, args.calls) for _ in range(5)) for way in ways(name, x)
        ]
        print(f"| {name} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")


def ways(name: str, x):
    """The five calls measured for `name` on `x`."""
    import gatelab
    from gatelab.autograd import ActivationFunction
    from gatelab.kernels import select

    spec, params = gatelab.registry.resolve(name)
    f = gatelab.get_fn(name)
    text = spec.format(params)
    kernel = select.select(spec, x, params)
    assert kernel is select.C, f"{name}: not on the C path"
    xg = x.clone().requires_grad_()
    return [
        lambda: kernel.forward(spec, x, params),
        lambda: f(x),
        lambda: torch_ops().gatelab.activation(x, text),
        lambda: ActivationFunction.apply(x, spec, params, (), "c"),
        lambda: f(xg).backward(x),
    ]


def torch_ops():
    import torch

    return torch.ops


if __name__ == "__main__":
    main()
