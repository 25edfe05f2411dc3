"""Activation memory of forward + backward: gatelab's modules vs the naive composition of torch ops.

    python benchmarks/peak_memory.py                       # CPU: bytes saved for backward
    python benchmarks/peak_memory.py --device cuda         # CUDA: peak allocated memory

The model is an MLP, (Linear → activation) × depth. The "naive" implementation evaluates the
Spec's textbook formula (`gatelab.lookup(name).naive`) inside an nn.Module, so autograd keeps
every intermediate it needs; gatelab's module saves only the activation's input.

On CPU the number is the total size of the tensors autograd saves for backward, counted with
`torch.autograd.graph.saved_tensors_hooks` (each storage once; parameters excluded, they are
held anyway): deterministic, and it is what activation memory consists of. On CUDA it is
`torch.cuda.max_memory_allocated()` over forward + backward minus what was allocated before
(parameters and input), so it also includes transient temporaries such as gatelab's float64
compute copies.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import Tensor, nn

import gatelab
from gatelab.registry import resolve

DEFAULT_ACTIVATIONS = "gelu,gelu_tanh,silu,gem,e_gem,se_gem,mish"
IMPLS = ("gatelab", "naive")


class NaiveActivation(nn.Module):
    """The Spec's `naive` formula as a module: plain torch ops, intermediates saved by autograd."""

    def __init__(self, spec: str) -> None:
        super().__init__()
        self.entry, self.bound = resolve(spec)
        if self.entry.naive is None:
            raise ValueError(f"{self.entry.name} has no naive composition")

    def forward(self, x: Tensor) -> Tensor:
        return self.entry.naive(x, **self.bound)

    def extra_repr(self) -> str:
        return self.entry.format(self.bound)


def activation(spec: str, impl: str) -> nn.Module:
    if impl == "gatelab":
        return gatelab.create(spec)
    if impl == "naive":
        return NaiveActivation(spec)
    raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")


def mlp(spec: str, impl: str, width: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), activation(spec, impl)]
    return nn.Sequential(*layers)


def saved_bytes(model: nn.Module, x: Tensor) -> int:
    """Bytes of the tensors autograd saves for backward in `model(x)`, then runs backward.

    Each storage is counted once (a tensor saved by two ops, or views of one buffer), with its
    full size; storages of the model's parameters are left out.
    """
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(tensor: Tensor) -> Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor  # kept alive by the graph, so no address is reused while counting

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = model(x)
    out.sum().backward()
    return sum(storages.values())


def peak_cuda_bytes(model: nn.Module, x: Tensor) -> int:
    """Peak CUDA memory allocated during forward + backward, above what was allocated before."""
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    baseline = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    model(x).sum().backward()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - baseline


def measure(
    spec: str,
    impl: str,
    *,
    width: int,
    depth: int,
    batch: int,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> int:
    """Bytes for one forward + backward of the MLP: saved tensors on CPU, peak on CUDA."""
    torch.manual_seed(seed)
    model = mlp(spec, impl, width, depth).to(device=device, dtype=dtype)
    x = torch.randn(batch, width, device=device, dtype=dtype)
    counter: Callable[[nn.Module, Tensor], int]
    counter = peak_cuda_bytes if torch.device(device).type == "cuda" else saved_bytes
    return counter(model, x)


def _format_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activations", default=DEFAULT_ACTIVATIONS, help="comma-separated specs")
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--batch", type=int, default=256)
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", choices=("cpu", "cuda"), default=default_device)
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")

    metric = "peak bytes" if args.device == "cuda" else "saved bytes"
    print(
        f"MLP (Linear {args.width}→{args.width} → act) × {args.depth}, batch {args.batch}, "
        f"float32, {args.device}: {metric} of forward + backward"
    )
    header = f"{'activation':<14} {'impl':<8} {metric:>14} {'':>11} {'naive/gatelab':>13}"
    print(header)
    print("-" * len(header))
    for spec in [s.strip() for s in args.activations.split(",") if s.strip()]:
        results = {
            impl: measure(
                spec,
                impl,
                width=args.width,
                depth=args.depth,
                batch=args.batch,
                device=args.device,
            )
            for impl in IMPLS
        }
        for impl in IMPLS:
            ratio = f"{results['naive'] / results['gatelab']:.2f}" if impl == "naive" else ""
            print(
                f"{spec:<14} {impl:<8} {results[impl]:>14,d} {_format_bytes(results[impl]):>11} "
                f"{ratio:>13}"
            )


if __name__ == "__main__":
    main()
