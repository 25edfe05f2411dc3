"""Kernel throughput against copy bandwidth: the measurements behind ``gatelab bench``.

For every activation and implementation — gatelab's exact path (``gatelab``), the fused CPU
kernels (``gatelab_cpu``, :mod:`gatelab.kernels.cpu`), torch's native op (``native``), the
naive composition of torch ops (``naive``) and ``torch.compile`` of that composition
(``compiled``) — the median seconds of forward, backward and forward+backward and the effective
bandwidth (forward reads x and writes y; backward reads x and dy and writes dx), set against two
copies of the same tensor, both measured again just before each activation:

- ``x.clone()`` (``copy_seconds``, ``ratio_to_copy``: this row's bandwidth over the clone's). It
  allocates its output as the activations do, so it pays the page faults of fresh memory — on
  this project's 2-core virtual machines ~12.5 of the ~16.5 ms of a clone of 2^24 float32
  (an AVX-512 machine, 2026-11), 36 ms against 7.8 ms for ``copy_`` (AMD EPYC, 2026-12) — and
  it is a lenient bar: the fused C kernels, whose outputs are pre-faulted huge pages, measured up to
  2.8× a clone, so "≥ 0.9× copy" says little about how close a kernel comes to the memory
  system's limit.
- ``dst.copy_(x)`` into one reused buffer of the same size and dtype, allocated and written once
  per tensor before any timing (``copy_into_seconds``, ``fraction_of_bandwidth``: this row's
  bandwidth over the copy_'s). No page faults: this is the limit a streaming kernel can approach
  (1.0; above it only where the tensors fit in a cache, at small sizes).

``ratio_to_native`` is torch's native op's seconds over this row's for the same activation,
dtype, size and pass (above 1: faster than torch), None where torch has no such op or it was not
measured in the run; native is measured first in each activation so every row streams out with
it. Forward+backward rows also carry the memory of one forward+backward through a small MLP:
peak allocated bytes on CUDA, bytes autograd saves for backward on the CPU (what activation
memory consists of; see benchmarks/peak_memory.py).

Implementations that do not exist for an entry (no native op, no naive form, no fused CPU kernel
for the call, a fused kernel that did not compile) are skipped: no row, not an error. An
implementation that raises while it is built, timed or measured becomes a row with ``error``
("TypeError: message", one line) and no numbers of its own, and the bench goes on; ``gatelab
bench`` then exits 1. Rows are printed as they are measured (``--json``: one JSON object per
line, JSON Lines), so a failure or an interrupt loses none that were measured.

Timing follows the usual recipe (torch.utils.benchmark's): warm-up calls first (they include
any compile; its time is reported separately), then the median of repeated calls, with
``time.perf_counter`` on the CPU and CUDA events on the GPU. Medians are robust to the other
processes of a shared machine, not immune: repeat runs and compare.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .modules import get_fn
from .registry import Spec, resolve

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
    seconds: float | None  # None (and so every ratio) on an error row
    gbps: float | None
    ratio_to_copy: float | None
    peak_bytes: int | None = None
    compile_seconds: float | None = None
    copy_seconds: float | None = None  # the x.clone() this row's ratio_to_copy divides by
    copy_into_seconds: float | None = None  # the dst.copy_(x) of fraction_of_bandwidth
    fraction_of_bandwidth: float | None = None  # gbps / the copy_'s GB/s
    ratio_to_native: float | None = None  # native's seconds / seconds, same pass and tensor
    error: str | None = None  # "TypeError: message" when this measurement raised

    def record(self) -> dict[str, Any]:
        return {("pass" if key == "pass_" else key): value for key, value in asdict(self).items()}


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

        # The fused CPU kernels through the one dispatch. Whether one covers the call is
        # checked before the first call and after it (measure_activation), not in every timed
        # call: a second kernel selection per call cost ~6 µs at 2^10 elements (2026-12-03,
        # AMD EPYC), as much as the kernel itself.
        return lambda x: apply(spec, x, params)
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


def _pass_timers(fn: Callable, x: Tensor, settings: Settings) -> dict[str, Callable[[], float]]:
    """For forward, backward alone, and forward+backward of `fn` on `x`: a call that returns
    the pass's median seconds (one per pass, so that a pass that raises spoils only its row)."""
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
        "forward": lambda: median_seconds(forward, x.device, settings),
        "backward": lambda: median_seconds(backward, x.device, settings, setup=graph),
        "forward+backward": lambda: median_seconds(forward_backward, x.device, settings),
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


def _first_calls_seconds(fn: Callable, x: Tensor) -> float:
    """Time of the first forward and forward+backward: includes compiling both kernels."""
    start = time.perf_counter()
    with torch.no_grad():
        fn(x)
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


def _copy_gbps(x: Tensor, seconds: float | None) -> float | None:
    return (
        None if seconds is None else TRAFFIC["copy"] * x.numel() * x.element_size() / seconds / 1e9
    )


def _row(
    activation: str, impl: str, x: Tensor, pass_: str, seconds: float, copy: Row | None
) -> Row:
    """The row of `seconds` for `pass_` on `x`, with its ratios to the baselines of `copy`."""
    gbps = TRAFFIC[pass_] * x.numel() * x.element_size() / seconds / 1e9
    row = _error_row(activation, impl, x, pass_, None, copy)
    row.seconds, row.gbps = seconds, gbps
    if copy is not None:
        clone_gbps = _copy_gbps(x, copy.copy_seconds)
        into_gbps = _copy_gbps(x, copy.copy_into_seconds)
        row.ratio_to_copy = None if clone_gbps is None else gbps / clone_gbps
        row.fraction_of_bandwidth = None if into_gbps is None else gbps / into_gbps
    return row


def _error_row(
    activation: str, impl: str, x: Tensor, pass_: str, error: str | None, copy: Row | None
) -> Row:
    """A row without numbers of its own (they are filled in by `_row`), with the baselines."""
    return Row(activation, impl, x.device.type, str(x.dtype).removeprefix("torch."), x.numel(),
               pass_, None, None, None, error=error,
               copy_seconds=None if copy is None else copy.copy_seconds,
               copy_into_seconds=None if copy is None else copy.copy_into_seconds)  # fmt: skip


def describe(error: BaseException, limit: int = 300) -> str:
    """`error` as one line, "TypeError: message", at most about `limit` characters."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def copy_target(x: Tensor) -> Tensor:
    """The reused destination of the ``copy_`` baseline: like `x`, allocated and written once,
    so that timing ``dst.copy_(x)`` takes no page faults."""
    dst = torch.empty_like(x, memory_format=torch.contiguous_format)
    dst.copy_(x)
    _synchronize(x.device)
    return dst


def measure_copy(x: Tensor, settings: Settings, dst: Tensor | None = None) -> Row:
    """The reference row: ``x.clone()``, which reads x and writes a freshly allocated tensor,
    and ``dst.copy_(x)`` into the pre-faulted `dst` (made by :func:`copy_target` if not given).

    Its `seconds` are the clone's; `fraction_of_bandwidth` is the clone's share of the copy_'s
    bandwidth (what page faults cost). Each baseline that raises is left None, with `error`.
    """
    copy = _error_row("copy", "copy", x, "copy", None, None)
    try:
        copy.copy_seconds = median_seconds(x.clone, x.device, settings)
    except Exception as error:
        copy.error = describe(error)
    try:
        target = copy_target(x) if dst is None else dst
        copy.copy_into_seconds = median_seconds(lambda: target.copy_(x), x.device, settings)
    except Exception as error:
        copy.error = copy.error or describe(error)
    if copy.error is not None:
        return copy
    return _row("copy", "copy", x, "copy", copy.copy_seconds, copy)


def _ordered(impls: Sequence[str]) -> list[str]:
    """`impls` with native first: every other row's ratio_to_native is known when it is made."""
    return sorted(dict.fromkeys(impls), key=lambda impl: impl != "native")


def measure_activation(
    spec_text: str,
    impls: Sequence[str],
    x: Tensor,
    copy: Row | None,
    settings: Settings,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Rows for every pass of every available implementation of one activation on `x`.

    Native first (see :func:`_ordered`); `on_row` sees each row as soon as it is measured. An
    implementation that raises while built gives an error row for each pass; one that raises
    in one pass (or in that pass's memory MLP) gives an error row for that pass.
    """
    spec, params = resolve(spec_text)
    label = spec.format(params)
    rows: list[Row] = []
    native: dict[str, float] = {}

    def emit(row: Row) -> None:
        rows.append(row)
        if on_row is not None:
            on_row(row)

    for impl in _ordered(impls):
        try:
            fn = implementation(spec, params, impl)
            if fn is None or not _covered(impl, spec, params, x):
                continue
            compile_seconds = _first_calls_seconds(fn, x) if impl in COMPILED else None
            if not _covered(impl, spec, params, x):  # a fused kernel failed to compile:
                continue  # never timed on another path under its name
        except Exception as error:
            for pass_ in PASSES:
                emit(_error_row(label, impl, x, pass_, describe(error), copy))
            continue
        for pass_, time_pass in _pass_timers(fn, x, settings).items():
            try:
                row = _row(label, impl, x, pass_, time_pass(), copy)
            except Exception as error:
                emit(_error_row(label, impl, x, pass_, describe(error), copy))
                continue
            row.compile_seconds = compile_seconds
            if pass_ == "forward+backward" and settings.memory:
                try:
                    if _mlp_covered(impl, spec, params, x, settings):
                        row.peak_bytes = mlp_memory_bytes(fn, x.device, x.dtype, settings)
                except Exception as error:
                    emit(_error_row(label, impl, x, pass_, f"memory MLP: {describe(error)}", copy))
                    continue
            if impl == "native":
                native[pass_] = row.seconds
            if pass_ in native:
                row.ratio_to_native = native[pass_] / row.seconds
            emit(row)
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

    `on_row` sees each row as soon as it is measured (for progressive output). A measurement
    that raises is a row with `error` (see :func:`measure_activation`), never an exception;
    a size or dtype whose tensors cannot be made is one error row named copy.
    """
    rows: list[Row] = []

    def emit(row: Row) -> None:
        rows.append(row)
        if on_row is not None:
            on_row(row)

    for dtype_name in dtypes:
        for numel in numels:
            torch.manual_seed(0)
            try:
                x = torch.randn(numel, device=device, dtype=DTYPES[dtype_name])
                if x.device.type == "cpu":
                    settle_memory(x)
                dst = copy_target(x)  # one per tensor: pre-faulted, reused by every copy_
            except Exception as error:
                row = Row("copy", "copy", torch.device(device).type, dtype_name, numel, "copy",
                          None, None, None, error=describe(error))  # fmt: skip
                emit(row)
                continue
            emit(measure_copy(x, settings, dst))
            for spec_text in activations:
                # The copies again, just before each activation: on a shared or virtual machine
                # the cost of fresh memory drifts (x.clone() of 2^24 float32 took 100 ms in the
                # first second of a process and 16 ms after), and ratios must compare like times.
                copy = measure_copy(x, settings, dst)
                measure_activation(spec_text, impls, x, copy, settings, on_row=emit)
            del x, dst
    return rows


def _ratio(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.2f}"


def format_row(row: Row) -> str:
    """One line of the table; an error row has its error in place of the numbers."""
    start = f"{row.activation:<22} {row.impl:<12} {row.dtype:<9} {row.numel:>10} {row.pass_:<17} "
    if row.error is not None or row.seconds is None or row.gbps is None:
        return start + f"error: {row.error}"
    memory = "" if row.peak_bytes is None else f"{row.peak_bytes:>12,d}"
    return start + (
        f"{row.seconds * 1e3:>10.3f} {row.gbps:>8.2f} {_ratio(row.ratio_to_copy, 6)} "
        f"{_ratio(row.fraction_of_bandwidth, 6)} {_ratio(row.ratio_to_native, 7)} {memory}"
    )


# ×copy: over x.clone()'s bandwidth; of BW: fraction of dst.copy_(x)'s; ×native: speed-up on
# torch's own op (native's ms / this row's).
HEADER = (
    f"{'activation':<22} {'impl':<12} {'dtype':<9} {'numel':>10} {'pass':<17} "
    f"{'ms':>10} {'GB/s':>8} {'×copy':>6} {'of BW':>6} {'×native':>7} {'mem bytes':>12}"
)
