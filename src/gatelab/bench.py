"""Kernel throughput against copy bandwidth: the measurements behind ``gatelab bench``.

For every activation and implementation — gatelab's exact path (``gatelab``), the fused CPU
kernels (``gatelab_cpu``, :mod:`gatelab.kernels.cpu`), torch's native op (``native``), the
naive composition of torch ops (``naive``) and ``torch.compile`` of that composition
(``compiled``) — the median seconds of forward, backward and forward+backward, the effective
bandwidth (forward reads x and writes y; backward reads x and dy and writes dx), and the ratio
of that bandwidth to a plain copy (``x.clone()``: it allocates its output like the activations
do) of the same tensor, measured again just before each activation (``copy_seconds``).
Forward+backward rows also carry the memory of one forward+backward through a small MLP: peak
allocated bytes on CUDA, bytes autograd saves for backward on the CPU (what activation memory
consists of; see benchmarks/peak_memory.py).

Timing follows the usual recipe (torch.utils.benchmark's): warm-up calls first (they include
any compile; its time is reported separately), then the median of repeated calls, with
``time.perf_counter`` on the CPU and CUDA events on the GPU. Medians are robust to the other
processes of a shared machine, not immune: repeat runs and compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .modules import get_fn
from .registry import Spec, names, resolve

IMPLS = ("gatelab", "gatelab_cpu", "native", "naive", "compiled")
COMPILED = ("gatelab_cpu", "compiled")  # rows report the time of their first calls
PASSES = ("forward", "backward", "forward+backward")
# Tensors each pass reads and writes, in units of numel·itemsize.
TRAFFIC = {"forward": 2, "backward": 3, "forward+backward": 5, "copy": 2}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
          "float64": torch.float64}  # fmt: skip


@dataclass
class Row:
    """One measurement; the JSON record of ``gatelab bench --json``."""

    activation: str
    impl: str
    device: str
    dtype: str
    numel: int
    pass_: str
    seconds: float
    gbps: float
    ratio_to_copy: float
    peak_bytes: int | None = None
    compile_seconds: float | None = None
    copy_seconds: float | None = None  # the x.clone() this row's ratio_to_copy divides by

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["pass"] = out.pop("pass_")
        return out


@dataclass(frozen=True)
class Settings:
    """How hard to measure: warm-up calls, timed repeats, and the MLP for the memory column."""

    warmup: int = 3
    repeats: int = 15
    mlp_width: int = 512
    mlp_depth: int = 4
    mlp_batch: int = 64
    memory: bool = True


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(
    run: Callable[..., Any],
    device: torch.device,
    settings: Settings,
    setup: Callable[[], Any] | None = None,
) -> float:
    """Median wall time of `run()` after `settings.warmup` untimed calls.

    With `setup`, each call is `run(setup())` and only `run` is timed (backward alone needs a
    fresh graph per call: compiled graphs cannot be retained).
    """
    times = []
    for i in range(settings.warmup + settings.repeats):
        args = () if setup is None else (setup(),)
        _synchronize(device)
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run(*args)
            end.record()
            end.synchronize()
            elapsed = start.elapsed_time(end) / 1e3
        else:
            start_s = time.perf_counter()
            run(*args)
            elapsed = time.perf_counter() - start_s
        if i >= settings.warmup:
            times.append(elapsed)
    return statistics.median(times)


def implementation(spec: Spec, params: dict[str, Any], impl: str) -> Callable | None:
    """The callable for `impl` of the bound activation, or None where it does not exist."""
    if impl == "gatelab":
        return get_fn(spec, **params)
    if impl == "gatelab_cpu":
        from .autograd import apply
        from .kernels.select import select

        # The fused CPU kernels through the one dispatch; None where none covers the call.
        return lambda x: apply(spec, x, params) if select(spec, x, params) is not None else None
    if impl == "native":
        return None if spec.native is None else (lambda x: spec.native(x, **params))
    if impl == "naive":
        return None if spec.naive is None else (lambda x: spec.naive(x, **params))
    if impl == "compiled":
        if spec.naive is None:
            return None
        from .kernels.cpu import own_code  # one dynamo cache per activation, not one shared

        return torch.compile(own_code(lambda x: spec.naive(x, **params)), dynamic=True)
    raise ValueError(f"unknown implementation {impl!r}; choose from {', '.join(IMPLS)}")


def _pass_times(fn: Callable, x: Tensor, settings: Settings) -> dict[str, float]:
    """Median seconds of forward, backward alone, and forward+backward of `fn` on `x`."""
    dy = torch.randn_like(x)

    def forward() -> None:
        with torch.no_grad():
            fn(x)

    def graph() -> tuple[Tensor, Tensor]:
        xg = x.detach().requires_grad_(True)
        return fn(xg), xg

    def backward(state: tuple[Tensor, Tensor]) -> None:
        torch.autograd.grad(state[0], state[1], dy)

    def forward_backward() -> None:
        backward(graph())

    return {
        "forward": median_seconds(forward, x.device, settings),
        "backward": median_seconds(backward, x.device, settings, setup=graph),
        "forward+backward": median_seconds(forward_backward, x.device, settings),
    }


def _covered(impl: str, spec: Spec, params: dict[str, Any], x: Tensor) -> bool:
    """gatelab_cpu only measures where the fused path applies (it returns None elsewhere)."""
    if impl != "gatelab_cpu":
        return True
    from .kernels.select import select

    return x.device.type == "cpu" and select(spec, x, params) is not None


def _mlp_covered(
    impl: str, spec: Spec, params: dict[str, Any], x: Tensor, settings: Settings
) -> bool:
    """Whether `impl` applies at the memory MLP's activation shape (batch, width): the fused CPU
    kernels of COMPILED_ONLY entries (celu, elu, gelu_general, …) start at a size threshold the
    MLP's activations may be under, and their memory is then left out (None), never measured
    on another path under their name."""
    probe = torch.empty(settings.mlp_batch, settings.mlp_width, device=x.device, dtype=x.dtype)
    return _covered(impl, spec, params, probe.requires_grad_())


def _first_calls_seconds(fn: Callable, x: Tensor) -> float | None:
    """Time of the first forward and forward+backward: includes compiling both kernels.

    None when `fn` returns None: the fused CPU kernel failed to compile (logged by its module).
    """
    start = time.perf_counter()
    with torch.no_grad():
        if fn(x) is None:
            return None
    xg = x.detach().requires_grad_(True)
    torch.autograd.grad(fn(xg), xg, torch.ones_like(x))
    return time.perf_counter() - start


class _Module(nn.Module):
    """A callable as a module, so any implementation can sit in the MLP."""

    def __init__(self, fn: Callable) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)


def mlp_memory_bytes(fn: Callable, device: torch.device, dtype: torch.dtype, s: Settings) -> int:
    """Memory of forward+backward through (Linear → fn) × depth: CUDA peak, or CPU saved bytes."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(s.mlp_depth):
        layers += [nn.Linear(s.mlp_width, s.mlp_width), _Module(fn)]
    model = nn.Sequential(*layers).to(device=device, dtype=dtype)
    x = torch.randn(s.mlp_batch, s.mlp_width, device=device, dtype=dtype)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        baseline = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        model(x).sum().backward()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - baseline
    held = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: Tensor) -> Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in held:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = model(x)
    out.sum().backward()
    return sum(saved.values())


def _row(
    activation: str, impl: str, x: Tensor, pass_: str, seconds: float, copy_seconds: float
) -> Row:
    nbytes = x.numel() * x.element_size()
    gbps = TRAFFIC[pass_] * nbytes / seconds / 1e9
    copy_gbps = TRAFFIC["copy"] * nbytes / copy_seconds / 1e9
    return Row(activation, impl, x.device.type, str(x.dtype).removeprefix("torch."), x.numel(),
               pass_, seconds, gbps, gbps / copy_gbps, copy_seconds=copy_seconds)  # fmt: skip


def settle_memory(x: Tensor, limit: int = 40) -> int:
    """Clone `x` until two successive clones take within 15% of each other (at most `limit`).

    On the project's virtual machines the first allocations of a process can take 5–7× longer
    than later ones (x.clone() of 2^24 float32: 86–120 ms, then 16 ms), which would make
    whatever is measured first look slow. Returns the number of clones it took.
    """
    previous = None
    for count in range(1, limit + 1):
        start = time.perf_counter()
        x.clone()
        elapsed = time.perf_counter() - start
        if previous is not None and abs(elapsed - previous) <= 0.15 * min(elapsed, previous):
            return count
        previous = elapsed
    return limit


def measure_copy(x: Tensor, settings: Settings) -> Row:
    """The reference row: x.clone(), which reads x and writes a freshly allocated tensor."""
    seconds = median_seconds(x.clone, x.device, settings)
    return _row("copy", "copy", x, "copy", seconds, seconds)


def measure_activation(
    spec_text: str, impls: Sequence[str], x: Tensor, copy: Row, settings: Settings
) -> list[Row]:
    """Rows for every pass of every available implementation of one activation on `x`."""
    spec, params = resolve(spec_text)
    label = spec.format(params)
    rows: list[Row] = []
    for impl in impls:
        fn = implementation(spec, params, impl)
        if fn is None or not _covered(impl, spec, params, x):
            continue
        compile_seconds = _first_calls_seconds(fn, x) if impl in COMPILED else None
        if impl in COMPILED and compile_seconds is None:
            continue
        for pass_, seconds in _pass_times(fn, x, settings).items():
            row = _row(label, impl, x, pass_, seconds, copy.seconds)
            row.compile_seconds = compile_seconds
            if (
                pass_ == "forward+backward"
                and settings.memory
                and _mlp_covered(impl, spec, params, x, settings)
            ):
                row.peak_bytes = mlp_memory_bytes(fn, x.device, x.dtype, settings)
            rows.append(row)
    return rows


def run(
    activations: Sequence[str],
    impls: Sequence[str] = IMPLS,
    *,
    device: str = "cpu",
    dtypes: Sequence[str] = ("float32",),
    numels: Sequence[int] = (2**20,),
    settings: Settings = Settings(),
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Measure every activation × implementation × dtype × size; copy rows come first per group.

    `on_row` sees each row as soon as its activation is measured (for progressive output).
    """
    rows: list[Row] = []

    def emit(found: list[Row]) -> None:
        rows.extend(found)
        for row in found if on_row is not None else ():
            on_row(row)

    for dtype_name in dtypes:
        for numel in numels:
            torch.manual_seed(0)
            x = torch.randn(numel, device=device, dtype=DTYPES[dtype_name])
            if x.device.type == "cpu":
                settle_memory(x)
            emit([measure_copy(x, settings)])
            for spec_text in activations:
                # The copy again, just before each activation: on a shared or virtual machine
                # the cost of fresh memory drifts (x.clone() of 2^24 float32 took 100 ms in the
                # first second of a process and 16 ms after), and ratios must compare like times.
                copy = measure_copy(x, settings)
                emit(measure_activation(spec_text, impls, x, copy, settings))
    return rows


# --- command line -----------------------------------------------------------------------------


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _check(args: argparse.Namespace, usage_error: type[Exception]) -> None:
    for name in args.dtype:
        if name not in DTYPES:
            raise usage_error(f"--dtype {name!r}: choose from {', '.join(DTYPES)}")
    for impl in args.impls:
        if impl not in IMPLS:
            raise usage_error(f"--impls {impl!r}: choose from {', '.join(IMPLS)}")
    if any(n < 2 for n in args.numel):
        raise usage_error("--numel: sizes must be at least 2")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise usage_error("--device cuda: CUDA is not available here; use --device cpu")
    for spec in args.activations:
        try:
            resolve(spec)
        except ValueError as error:
            raise usage_error(str(error)) from None


def format_row(row: Row) -> str:
    memory = "" if row.peak_bytes is None else f"{row.peak_bytes:>12,d}"
    return (
        f"{row.activation:<22} {row.impl:<12} {row.dtype:<9} {row.numel:>10} {row.pass_:<17} "
        f"{row.seconds * 1e3:>10.3f} {row.gbps:>8.2f} {row.ratio_to_copy:>6.2f} {memory}"
    )


HEADER = (
    f"{'activation':<22} {'impl':<12} {'dtype':<9} {'numel':>10} {'pass':<17} "
    f"{'ms':>10} {'GB/s':>8} {'×copy':>6} {'mem bytes':>12}"
)


def handle(args: argparse.Namespace) -> int:
    """Run ``gatelab bench``: a table of rows, or JSON with --json."""
    from .cli import UsageError  # cli registers this command: import it late

    _check(args, UsageError)
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
        print(HEADER)
    emit = None if args.json else (lambda row: print(format_row(row), flush=True))
    rows = run(args.activations, args.impls, device=args.device, dtypes=args.dtype,
               numels=args.numel, settings=settings, on_row=emit)  # fmt: skip
    if args.json:
        print(json.dumps([row.record() for row in rows], indent=1))
    return 0


def add_bench(subparsers: Any) -> None:
    """Registrar of ``gatelab bench`` (append to gatelab.cli.COMMANDS)."""
    from .cli import add_command

    parser = add_command(
        subparsers,
        "bench",
        handle,
        help="time forward/backward of activations against copy bandwidth",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("activations", nargs="*", default=names(), metavar="SPEC",
                        help="activation specs (default: the whole catalog)")  # fmt: skip
    parser.add_argument("--impls", type=_csv, default=list(IMPLS),
                        help=f"comma-separated subset of {','.join(IMPLS)}")  # fmt: skip
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--dtype", type=_csv, default=["float32"],
                        help="comma-separated dtypes, e.g. float32,bfloat16,float16")  # fmt: skip
    parser.add_argument("--numel", type=int, nargs="+", default=[2**20],
                        help="tensor sizes (default 2^20)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    parser.add_argument("--quick", action="store_true",
                        help="1 warm-up, 3 repeats, a tiny MLP: for smoke tests")  # fmt: skip
    parser.add_argument("--no-memory", action="store_true", help="skip the MLP memory column")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
