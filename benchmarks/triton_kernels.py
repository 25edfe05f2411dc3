"""GPU throughput of the Triton activation kernels against a plain device copy (issue 7).

For each activation, dtype and size it times, with CUDA events, the Triton forward, backward,
fused bias + activation and GLU kernels, torch's own op where one exists (F.gelu, F.silu) and a
device-to-device copy of the same tensor, and prints the median time, the effective bandwidth
(bytes each kernel must move / time) and its ratio to the copy's bandwidth. The target is ≥ 0.85 of
copy bandwidth at ≥ 2^24 elements in float32 and bfloat16 (a good elementwise kernel reaches
85–90 % of an H100's ~3.35 TB/s HBM3 peak; a copy moves about 3.0 TB/s).

Method: every measurement is preceded by warm-up calls (compilation, clocks), and the L2 cache is
flushed before each timed call by overwriting a 256 MiB buffer outside the timed region, so both
float32 and bfloat16 tensors are read from HBM; the reported figure is the median of the repeats.

    python benchmarks/triton_kernels.py                      # 2^20, 2^24, 2^26; float32, bfloat16
    python benchmarks/triton_kernels.py --sizes 24 --block 2048 --warps 8   # another tiling
    python benchmarks/triton_kernels.py --json results.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

import gatelab

ACTIVATIONS = ["gelu", "gelu_tanh", "gelu_sigmoid", "silu", "relu", "gem", "e_gem(N=2)", "se_gem"]
NATIVE: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "relu": F.relu,
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class Row:
    activation: str
    dtype: str
    numel: int
    kernel: str
    median_us: float
    gb_per_s: float
    of_copy: float


def median_time_us(fn: Callable[[], object], repeats: int, warmup: int) -> float:
    """Median over `repeats` of one call's time (CUDA events), L2 flushed before each call."""
    flush = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        flush.zero_()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1e3)
    return statistics.median(times)


def kernels(spec_text: str, numel: int, dtype: torch.dtype) -> dict[str, tuple[Callable, int]]:
    """name → (call, tensors moved per element) for one activation."""
    from gatelab.kernels import triton_fused as fused
    from gatelab.kernels import triton_gated as gated

    spec, params = gatelab.registry.resolve(spec_text)
    config = gated.kernel_config(spec.name, params)
    if config is None:
        raise SystemExit(f"{spec_text} is not covered by the Triton kernels")
    x, grad, b = (torch.randn(numel, device="cuda", dtype=dtype) for _ in range(3))
    rows = x.view(-1, 1024)
    bias = torch.randn(1024, device="cuda", dtype=dtype)
    table = {
        "copy": (lambda: torch.empty_like(x).copy_(x), 2),
        "forward": (lambda: gated.forward(x, config), 2),
        "backward": (lambda: gated.backward(x, grad, config), 3),
        "bias_forward": (lambda: fused.bias_forward(rows, bias, config), 2),
        "glu_forward": (lambda: fused.glu_forward(x, b, config), 3),
        "glu_backward": (lambda: fused.glu_backward(x, b, grad, config), 5),
    }
    if spec.name in NATIVE and params.get("beta", 1.0) == 1.0:
        table["torch_native"] = (lambda: NATIVE[spec.name](x), 2)
    return table


def measure(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for dtype_name in args.dtypes:
        dtype = DTYPES[dtype_name]
        for exponent in args.sizes:
            numel = 2**exponent
            for spec_text in args.activations:
                table = kernels(spec_text, numel, dtype)
                times = {
                    name: median_time_us(call, args.repeats, args.warmup)
                    for name, (call, _) in table.items()
                }
                copy_rate = 2 * numel * dtype.itemsize / times["copy"] / 1e3
                for name, (_, tensors) in table.items():
                    rate = tensors * numel * dtype.itemsize / times[name] / 1e3  # GB/s
                    rows.append(
                        Row(spec_text, dtype_name, numel, name, times[name], rate, rate / copy_rate)
                    )
    return rows


def print_table(rows: list[Row]) -> None:
    print("| activation | dtype | numel | kernel | median µs | GB/s | of copy |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.activation} | {r.dtype} | 2^{r.numel.bit_length() - 1} | {r.kernel} | "
            f"{r.median_us:.1f} | {r.gb_per_s:.0f} | {r.of_copy:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 24, 26], help="log2 numel")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=DTYPES)
    parser.add_argument("--activations", nargs="+", default=ACTIVATIONS)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--block", type=int, help="elements per program (default: the module's)")
    parser.add_argument("--warps", type=int, help="warps per program (default: the module's)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU (and Triton, with TRITON_INTERPRET unset)")
    from gatelab.kernels import triton_fused as fused
    from gatelab.kernels import triton_gated as gated

    if gated.INTERPRETED:
        raise SystemExit("unset TRITON_INTERPRET: the interpreter's timings mean nothing")
    for module in (gated, fused):  # the launchers read these module constants
        if args.block:
            module.BLOCK = args.block
            fused.MAX_TILE_COLS = args.block
        if args.warps:
            module.NUM_WARPS = args.warps
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, BLOCK={gated.BLOCK}, "
          f"num_warps={gated.NUM_WARPS}")  # fmt: skip
    rows = measure(args)
    print_table(rows)
    if args.json:
        with open(args.json, "w") as out:
            json.dump([asdict(r) for r in rows], out, indent=1)


if __name__ == "__main__":
    main()
