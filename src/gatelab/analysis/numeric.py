"""High-precision numeric facts (mpmath, 30 digits): zeros, stationary points, extrema,
monotonicity and convexity, the Lipschitz constant sup|f′| and sup|f″|.

Method: sample f, f′, f″ on a sinh-spaced grid of [−1e4, 1e4] (dense near 0, 4,001 points),
bracket every sign change and refine it with mpmath's findroot; candidates for a supremum are
the grid values, the refined critical points, one-sided values at junctions and the limits at
±∞. Values beyond ±1e4 are covered by the limits (symbolic where available). Without a sympy
form the same is done on gatelab's float64 implementation and autograd derivatives, and the
card says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath as mp
import torch

DIGITS = 30
GRID_HALF_POINTS = 2000
GRID_SCALE = 0.02  # spacing near 0 is about GRID_SCALE·asinh(1e4/GRID_SCALE)/GRID_HALF_POINTS
GRID_LIMIT = 1e4
INF = mp.inf

Fn = Callable[[Any], Any]


@dataclass
class Functions:
    """f and its derivatives as callables on mpmath numbers."""

    f: Fn
    d1: Fn
    d2: Fn
    d3: Fn | None
    junctions: list[Any]
    exact: bool  # True: evaluated from the sympy expression at DIGITS digits


def compile_mp(expr: Any) -> Fn:
    """A sympy expression in x as a function of an mpmath number (at the current precision)."""
    import sympy as sp

    from .symbolic import X

    modules = [{"TailErfc": mp.erfc, "log1p": mp.log1p}, "mpmath"]
    return sp.lambdify(X, expr, modules=modules, cse=True)


def from_sympy(expr: Any, first: Any, second: Any, third: Any, junctions: Sequence) -> Functions:
    import sympy as sp

    compile_ = compile_mp
    return Functions(
        compile_(expr), compile_(first), compile_(second), compile_(third),
        [mp.mpf(sp.N(j, DIGITS + 5)) for j in junctions], True,
    )  # fmt: skip


def from_torch(fn: Callable[[torch.Tensor], torch.Tensor]) -> Functions:
    """f, f′, f″ of a torch callable in float64 (autograd), for entries without a sympy form."""

    def derivative(order: int) -> Fn:
        def evaluate(x: Any) -> Any:
            t = torch.tensor([float(x)], dtype=torch.float64, requires_grad=order > 0)
            y = fn(t)
            for _ in range(order):
                (y,) = torch.autograd.grad(y.sum(), t, create_graph=True)
            return mp.mpf(float(y.detach()[0]))

        return evaluate

    return Functions(derivative(0), derivative(1), derivative(2), None, [], False)


def grid(junctions: Sequence = ()) -> list[Any]:
    """4,001 sinh-spaced points of [−1e4, 1e4] plus each junction and its close neighbours."""
    top = mp.asinh(GRID_LIMIT / GRID_SCALE)
    points = {mp.mpf(0)}
    for i in range(1, GRID_HALF_POINTS + 1):
        x = GRID_SCALE * mp.sinh(top * i / GRID_HALF_POINTS)
        points.update((x, -x))
    for j in junctions:
        points.update((j, j - mp.mpf("1e-9"), j + mp.mpf("1e-9")))
    return sorted(points)


def _safe(g: Fn, x: Any) -> Any:
    try:
        value = g(x)
    except (ZeroDivisionError, OverflowError, ValueError):
        return mp.nan
    return mp.mpf(value) if not isinstance(value, mp.mpf) else value


def sample(g: Fn, xs: Sequence) -> list[Any]:
    return [_safe(g, x) for x in xs]


def roots(g: Fn, xs: Sequence, values: Sequence) -> list[Any]:
    """Isolated roots of g: exact grid zeros between non-zero neighbours, and sign changes."""
    found = []
    for i in range(len(xs) - 1):
        a, b, ga, gb = xs[i], xs[i + 1], values[i], values[i + 1]
        if mp.isnan(ga) or mp.isnan(gb):
            continue
        if ga == 0:
            left = values[i - 1] if i > 0 else mp.mpf(1)
            if left != 0 and gb != 0:
                found.append(a)
        elif ga * gb < 0:
            try:
                root = mp.findroot(g, (a, b), solver="anderson")
            except (ValueError, ZeroDivisionError):
                root = (a + b) / 2
            found.append(root if a <= root <= b else (a + b) / 2)
    return found


def zero_intervals(xs: Sequence, values: Sequence) -> list[list[Any]]:
    """Runs of three or more grid points where g is exactly 0 (extended to ±inf at the ends)."""
    runs, start = [], None
    for i, value in enumerate([*values, mp.mpf(1)]):
        if value == 0 and start is None:
            start = i
        elif value != 0 and start is not None:
            if i - start >= 3:
                lo = -INF if start == 0 else xs[start]
                hi = INF if i == len(xs) else xs[i - 1]
                runs.append([lo, hi])
            start = None
    return runs


@dataclass
class Extremum:
    value: Any  # mpf or ±inf
    where: Any  # mpf, ±inf, or [lo, hi] for a flat extremum


def supremum(
    xs: Sequence,
    values: Sequence,
    g: Fn,
    slopes: Sequence,
    critical: Sequence = (),
    limits: tuple[Any, Any] = (mp.nan, mp.nan),
    junctions: Sequence = (),
) -> Extremum:
    """sup g over ℝ from grid values, critical points, junction sides and the limits at ±∞.

    `slopes` are g′ on the grid: a run of grid points is a flat extremum only where g′ is
    exactly 0 (σ(x) rounds to 1 at 30 digits from x ≈ 70 without being constant). A supremum
    equal to a limit is reported as approached at ±∞ when, at 4× the digits, g at the best
    point is still below the limit (or the best point lies beyond |x| = 100).
    """
    finite = [(v, x) for x, v in zip(xs, values) if not mp.isnan(v)]
    finite += [(_safe(g, c), c) for c in critical]
    for j in junctions:
        finite += [(_safe(g, j - mp.mpf("1e-25")), j), (_safe(g, j + mp.mpf("1e-25")), j)]
    finite = [(v, x) for v, x in finite if not mp.isnan(v)]
    best_value, best_x = max(finite, key=lambda p: p[0])
    tol = mp.mpf("1e-20") * max(1, abs(best_value))
    lo_limit, hi_limit = limits
    for limit, end in ((hi_limit, INF), (lo_limit, -INF)):
        if not mp.isnan(limit) and limit > best_value + tol:
            return Extremum(limit, end)
    flat = [
        i
        for i, (v, slope) in enumerate(zip(values, slopes))
        if not mp.isnan(v) and abs(v - best_value) <= tol and slope == 0
    ]
    if len(flat) >= 3 and flat[-1] - flat[0] == len(flat) - 1:
        lo = -INF if flat[0] == 0 else _snap(xs[flat[0]], junctions)
        hi = INF if flat[-1] == len(xs) - 1 else _snap(xs[flat[-1]], junctions)
        return Extremum(best_value, [lo, hi])
    for limit, end in ((hi_limit, INF), (lo_limit, -INF)):
        if mp.isnan(limit) or abs(limit - best_value) > tol:
            continue
        with mp.workdps(4 * DIGITS):
            below = _safe(g, best_x) < limit
        if below or abs(best_x) > 100:
            return Extremum(limit, end)
    return Extremum(best_value, best_x)


def _snap(x: Any, junctions: Sequence) -> Any:
    """A grid point 1e-9 from a junction stands for the junction itself."""
    return next((j for j in junctions if abs(x - j) <= mp.mpf("1e-8")), x)


def negate(extremum: Extremum) -> Extremum:
    return Extremum(-extremum.value, extremum.where)


def sign_intervals(g: Fn, breakpoints: Sequence, negative: bool = True) -> list[list[Any]]:
    """Maximal intervals between `breakpoints` on which g < 0 (or > 0), merged."""
    points = [-INF, *sorted(set(breakpoints)), INF]
    out: list[list[Any]] = []
    for a, b in zip(points, points[1:]):
        if mp.isinf(a) and mp.isinf(b):
            mid = mp.mpf(0)
        elif mp.isinf(a):
            mid = b - 1 - abs(b)
        elif mp.isinf(b):
            mid = a + 1 + abs(a)
        else:
            mid = (a + b) / 2
        value = _safe(g, mid)
        if not mp.isnan(value) and ((value < 0) if negative else (value > 0)):
            if out and out[-1][1] == a:
                out[-1][1] = b
            else:
                out.append([a, b])
    return out


def numeric_limit(g: Fn, direction: int, exact: bool = True) -> Any:
    """lim g at direction·∞, estimated from g at 1e8 and 1e16 (30 digits) or at 1e3 and 1e6
    (float64, where e.g. 1/2 + atan(x)/π has cancelled to 0 long before 1e16)."""
    near_x, far_x = ("1e8", "1e16") if exact else ("1e3", "1e6")
    near, far = _safe(g, direction * mp.mpf(near_x)), _safe(g, direction * mp.mpf(far_x))
    if mp.isnan(far):
        return mp.nan
    if abs(far) > 1e3 and abs(far) > 100 * abs(near):
        return INF if far > 0 else -INF
    return far
