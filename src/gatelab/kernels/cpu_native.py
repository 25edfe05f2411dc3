"""Single-pass float32 CPU kernels in C (``cpu_native.c``), built on first use, loaded by ctypes.

Why C and not torch.compile: an activation is memory-bound only if its arithmetic fits in the
time of the copy, ~1.8 cycles per element on 2 cores at 2^24 float32 elements. Accuracy in
float32 then needs fused multiply-adds for the error-free transformations of ``cpu_native.c``;
inductor's C++ backend exposes no fma, and its float64 route costs 0.2–0.45× copy bandwidth.
The C source is compiled once per machine with the system's C compiler (the one inductor would
use too: ``$CC``, else ``cc``) at ``-O3 -march=native`` with OpenMP, into
``$GATELAB_CACHE_DIR`` (default ``~/.cache/gatelab``) under a name hashing the source, the
flags, the compiler's version and the CPU's feature flags — so a home directory shared by
different machines never loads code built for another CPU. A compile takes ~1–2 s; a failure
(no compiler) is logged once and the caller falls back to :mod:`gatelab.kernels.cpu`'s
other paths.

Calls go through ctypes, which releases the GIL, with the number of threads torch uses
(``torch.get_num_threads()``); below 32,768 elements one thread runs the loop. A call costs
a few µs, so unlike torch.compile'd kernels these serve every size.

Outputs of ≥ 4 MiB are advised as transparent huge pages (``madvise(MADV_HUGEPAGE)``) and
touched once per 2 MiB before the loop writes them: on the project's 2-core KVM machines, page
faults taken inside these compute-heavy loops cost 23 ms per 64 MiB with 4-KiB pages and 11 ms
with 2-MiB pages, against 12.5 ms in a plain ``x.clone()`` and 2.5–2.9 ms for the pre-touch.
``GATELAB_HUGE_PAGES=0`` switches that off.

Accuracy (float32; tests/test_kernels/test_cpu_native.py bounds it against the float64 path, itself
tested against mpmath): forward ≤ 2 ulp for every kernel (measured worst 1.4: see the C file);
backward ≤ 2.5 ulp plus 4·2^-24·(|F| + |x·F′|), the conditioning of f′ = F + x·F′ at its zeros
(the bound of the Triton kernels).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

SOURCE = Path(__file__).with_name("cpu_native.c")
GELU_SIGMOID_SLOPE = "1.702"  # Hendrycks & Gimpel (2016), §2: x·σ(1.702x)

_BASE_FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math",
               "-shared", "-fPIC"]  # fmt: skip
# Tried in order; the first that compiles is used. The wider ones need x86-64 and OpenMP.
_FLAG_SETS = (
    ["-march=native", "-mprefer-vector-width=512", "-fopenmp"],
    ["-march=native", "-fopenmp"],
    ["-fopenmp"],
    [],
)

_log = logging.getLogger(__name__)
_library: ctypes.CDLL | None = None
_failed = False
_BUILD: dict[str, Any] = {}


def cache_dir() -> Path:
    """Where compiled kernels live: $GATELAB_CACHE_DIR, else ~/.cache/gatelab."""
    root = os.environ.get("GATELAB_CACHE_DIR") or Path.home() / ".cache" / "gatelab"
    return Path(root) / "cpu_native"


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def _cpu_signature() -> str:
    """The CPU's model and feature flags: part of the cache key because of -march=native."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    keep = [line for line in text.splitlines() if line.startswith(("flags", "model name"))]
    return "\n".join(sorted(set(keep))) or platform.machine()


def _compiler_version(cc: str) -> str:
    try:
        run = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return run.stdout


def _build(cc: str) -> Path:
    """Compile cpu_native.c (cached); raises RuntimeError if no flag set compiles.

    Records the library, its flags and whether it came from the cache in :func:`build_info`.
    """
    source = SOURCE.read_bytes()
    signature = [source, cc.encode(), _compiler_version(cc).encode(), _cpu_signature().encode()]
    errors = []
    for extra in _FLAG_SETS:
        flags = _BASE_FLAGS + extra
        digest = hashlib.sha256(b"\0".join([*signature, " ".join(flags).encode()])).hexdigest()
        target = cache_dir() / f"gatelab_cpu_{digest[:20]}.so"
        if target.exists():
            _BUILD.update(path=str(target), flags=" ".join(flags), cached=True)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            partial = Path(tmp) / target.name
            run = subprocess.run([cc, *flags, str(SOURCE), "-o", str(partial), "-lm"],
                                 capture_output=True, text=True)  # fmt: skip
            if run.returncode == 0:
                os.replace(partial, target)  # atomic: a reader sees all of it or nothing
                _BUILD.update(path=str(target), flags=" ".join(flags), cached=False)
                return target
            errors.append(f"{' '.join(extra) or '(no extra flags)'}: {run.stderr.strip()[-300:]}")
    raise RuntimeError("; ".join(errors))


_POINTER = ctypes.c_void_p
_SIGNATURES = {
    "gatelab_gem_forward": [_POINTER, _POINTER, ctypes.c_int64, ctypes.c_int, ctypes.c_float,
                            ctypes.c_float, ctypes.c_float, ctypes.c_int, ctypes.c_float,
                            ctypes.c_int],
    "gatelab_gem_backward": [_POINTER, _POINTER, _POINTER, ctypes.c_int64, ctypes.c_int,
                             ctypes.c_float, ctypes.c_float, ctypes.c_float, ctypes.c_int,
                             ctypes.c_float, ctypes.c_int],
    "gatelab_gelu_forward": [_POINTER, _POINTER, ctypes.c_int64, ctypes.c_int],
    "gatelab_gelu_backward": [_POINTER, _POINTER, _POINTER, ctypes.c_int64, ctypes.c_int],
    "gatelab_gelu_tanh_forward": [_POINTER, _POINTER, ctypes.c_int64, ctypes.c_int],
    "gatelab_gelu_tanh_backward": [_POINTER, _POINTER, _POINTER, ctypes.c_int64, ctypes.c_int],
    "gatelab_logistic_forward": [_POINTER, _POINTER, ctypes.c_int64, ctypes.c_float,
                                 ctypes.c_float, ctypes.c_int],
    "gatelab_logistic_backward": [_POINTER, _POINTER, _POINTER, ctypes.c_int64, ctypes.c_float,
                                  ctypes.c_float, ctypes.c_int],
}  # fmt: skip


def huge_pages_wanted() -> bool:
    """Whether outputs of ≥ 4 MiB ask for transparent huge pages (GATELAB_HUGE_PAGES=0: no)."""
    value = os.environ.get("GATELAB_HUGE_PAGES", "1").strip().lower()
    return value not in ("0", "false", "off", "no")


def build_info() -> dict[str, Any]:
    """How the loaded kernels were built: path, flags, cached (from an earlier process), seconds
    (compiling, or finding and loading the cached library). Empty before the first use."""
    return dict(_BUILD)


def library() -> ctypes.CDLL | None:
    """The loaded kernels, building them on first use; None if that failed (logged once)."""
    global _library, _failed
    if _library is not None or _failed:
        return _library
    cc = _compiler()
    try:
        if cc is None:
            raise RuntimeError("no C compiler found (set $CC or install gcc/clang)")
        start = time.perf_counter()
        lib = ctypes.CDLL(str(_build(cc)))
        _BUILD["seconds"] = time.perf_counter() - start
        for name, argtypes in _SIGNATURES.items():
            getattr(lib, name).argtypes = argtypes
            getattr(lib, name).restype = None
        lib.gatelab_set_huge_pages(ctypes.c_int(huge_pages_wanted()))
    except (RuntimeError, OSError) as error:
        _failed = True
        _log.warning("gatelab: the C CPU kernels are unavailable (%s); using the other paths.",
                     error)  # fmt: skip
        return None
    _library = lib
    return lib


def _float32(value: float) -> float:
    """`value` rounded to float32 (round to nearest even), as a Python float."""
    return struct.unpack("f", struct.pack("f", value))[0]


def _split(value: float | str) -> tuple[float, float]:
    """A constant as float32 hi + lo (hi + lo = value to ~2^-48 relative)."""
    exact = Decimal(value) if isinstance(value, str) else Decimal(str(value))
    hi = _float32(float(exact))
    return hi, _float32(float(exact - Decimal(hi)))


def _gem_scale(name: str, params: Mapping[str, Any]) -> tuple[int, float]:
    """(N, k) with k = ε^{−1/2N}: s = (a·k)^{2N} = a^{2N}/ε."""
    N = int(params.get("N", 1))
    eps = float(params.get("eps", 1.0)) if name != "gem" else 1.0
    return N, eps ** (-1.0 / (2 * N))


def _gem_arguments(name: str, params: Mapping[str, Any]) -> tuple:
    """(N, k_hi, k_lo, a_max, symmetric, alpha) of the GEM loops; a_max: where s = 2^40."""
    N, k = _gem_scale(name, params)
    k_hi, k_lo = _split(k)
    a_max = _float32(2.0 ** (20.0 / N) / k)
    symmetric = name == "se_gem"
    alpha = float(params.get("alpha", 0.0)) if symmetric else 0.0
    return N, k_hi, k_lo, a_max, int(symmetric), alpha


def _gem_in_range(name: str, params: Mapping[str, Any]) -> bool:
    """a·s stays finite up to a_max, and k is a normal float32: ε within ~[1e-30, 1e30]^{2N}."""
    if name not in ("gem", "e_gem", "se_gem"):
        return True
    N, k = _gem_scale(name, params)
    return 1e-30 <= k <= 1e30 and 2.0 ** (20.0 / N) / k * 2.0**40 < 1e38


def covers(name: str, x: Tensor, params: Mapping[str, Any]) -> bool:
    """Whether the C kernels handle `name` on `x`: float32 CPU tensors, constant parameters."""
    return (
        name in NAMES
        and x.dtype is torch.float32
        and x.is_cpu
        and x.layout is torch.strided
        and not any(isinstance(v, Tensor) for v in params.values())
        and _in_range(name, tuple(params.items()))
    )


@functools.lru_cache(maxsize=256)
def _in_range(name: str, params: tuple[tuple[str, Any], ...]) -> bool:
    """Whether ε is within the loops' range (plain float arithmetic: torch.compile traces it)."""
    return _gem_in_range(name, dict(params))


def _loaded() -> ctypes.CDLL:
    lib = library()
    if lib is None:
        raise RuntimeError("gatelab's C CPU kernels could not be built; see the logged warning")
    return lib


@functools.lru_cache(maxsize=256)
def _arguments(name: str, params: tuple[tuple[str, Any], ...]) -> tuple | None:
    """The constant arguments of `name`'s loops, None where ε is out of their range (cached: a
    call at 2^10 elements costs µs)."""
    bound = dict(params)
    if not _gem_in_range(name, bound):
        return None
    if name in ("gem", "e_gem", "se_gem"):
        return _gem_arguments(name, bound)
    if name in ("gelu_sigmoid", "silu"):
        return _split(GELU_SIGMOID_SLOPE if name == "gelu_sigmoid" else bound.get("beta", 1.0))
    return ()


_FORWARD = {"gem": "gatelab_gem_forward", "e_gem": "gatelab_gem_forward",
            "se_gem": "gatelab_gem_forward", "gelu": "gatelab_gelu_forward",
            "gelu_tanh": "gatelab_gelu_tanh_forward", "gelu_sigmoid": "gatelab_logistic_forward",
            "silu": "gatelab_logistic_forward"}  # fmt: skip
NAMES = frozenset(_FORWARD)  # what the C file implements; Spec.kernels says what uses it


def _dense(x: Tensor) -> bool:
    """Whether x's elements fill its memory without gaps in a layout empty_like reproduces:
    contiguous or channels-last (the loops then run over memory, whatever the shape)."""
    return (
        x.is_contiguous()
        or x.is_contiguous(memory_format=torch.channels_last)
        or x.is_contiguous(memory_format=torch.channels_last_3d)
    )


def forward(name: str, x: Tensor, params: Mapping[str, Any]) -> Tensor:
    """f(x) for a float32 CPU tensor, same shape; channels-last stays channels-last, other
    non-contiguous layouts are computed on a contiguous copy."""
    lib = _loaded()
    x = x if _dense(x) else x.contiguous()
    y = torch.empty_like(x)  # the same strides as x: element i of both is at the same offset
    constants = _arguments(name, tuple(params.items()))
    getattr(lib, _FORWARD[name])(x.data_ptr(), y.data_ptr(), x.numel(), *constants,
                                 torch.get_num_threads())  # fmt: skip
    return y


def backward(name: str, x: Tensor, grad: Tensor, params: Mapping[str, Any]) -> Tensor:
    """grad·f′(x) for float32 CPU tensors of the same shape."""
    lib = _loaded()
    x = x if _dense(x) else x.contiguous()
    if grad.dtype is not torch.float32 or grad.stride() != x.stride():
        grad = torch.empty_like(x).copy_(grad)  # laid out like x
    dx = torch.empty_like(x)
    constants = _arguments(name, tuple(params.items()))
    entry = getattr(lib, _FORWARD[name].replace("_forward", "_backward"))
    entry(x.data_ptr(), grad.data_ptr(), dx.data_ptr(), x.numel(), *constants,
          torch.get_num_threads())  # fmt: skip
    return dx
