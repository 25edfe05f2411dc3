"""Approximation quality: f against a reference g (max absolute and relative error of f and f′
over ℝ), and the L^p distance to ReLU for p = 1, 2, ∞.

Divergence of ∫|f − relu|^p is decided from the tails: with d = f − relu, the decay exponent
q = log(|d(10^12·t)| / |d(10^8·t)|) / log(10^4) at t = ±1 is exact for power-law tails and very
negative for exponential ones; the integral converges iff p·q < −1 on both sides (d = 0 on a
tail converges). A tail where |d| does not tend to 0 makes every finite p diverge, and one where
|d| → ∞ makes p = ∞ diverge too. For GEM of order N, d ~ −x^{1−2N}: L¹ diverges for N = 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mpmath as mp

from .numeric import Fn, grid, roots, sample

QUAD_DIGITS = 20
TAIL_START = mp.mpf(10) ** 4


def tail_exponent(d: Fn, direction: int) -> Any:
    """q with |d(x)| ~ |x|^q as x → direction·∞ (−inf for a tail that is exactly 0)."""
    near = abs(d(direction * mp.mpf("1e8")))
    far = abs(d(direction * mp.mpf("1e12")))
    if far == 0:
        return -mp.inf
    if near == 0:
        return mp.inf
    return mp.log(far / near) / mp.log(mp.mpf("1e4"))


def sup_abs(d: Fn, dd: Fn | None, junctions: Sequence) -> Any:
    """sup |d| over ℝ: grid, refined critical points of d, junction sides, both tails."""
    xs = grid(junctions)
    values = sample(d, xs)
    candidates = [abs(v) for v in values if not mp.isnan(v)]
    if dd is not None:
        candidates += [abs(d(c)) for c in roots(dd, xs, sample(dd, xs))]
    for direction in (-1, 1):
        tail = abs(d(direction * mp.mpf("1e12")))
        candidates.append(mp.inf if tail > 1e9 else tail)
    return max(candidates)


def lp_distance(d: Fn, dd: Fn | None, junctions: Sequence) -> dict[str, Any]:
    """{"1", "2", "inf"}: ‖d‖_p over ℝ for d = f − relu, mp.inf where the integral diverges.

    The integral runs over [−R, R], R = 1e4, split at 0 and the junctions (beyond R, rounding
    of f − relu at large |x| would swamp the integrand); a power-law tail |d| ~ |x|^q adds its
    closed form |d(±R)|^p·R/(−(pq + 1)), an exponential one nothing. `d` should be free of
    cancellation (card.py builds it symbolically and cancels it, e.g. gem − relu = −x/(1+x²)).
    """
    exponents = {-1: tail_exponent(d, -1), 1: tail_exponent(d, 1)}
    out: dict[str, Any] = {"inf": sup_abs(d, dd, [*junctions, 0])}
    cuts = sorted({mp.mpf(0), *(mp.mpf(j) for j in junctions if abs(j) < TAIL_START)})
    for p in (1, 2):
        if any(q * p > -1 - mp.mpf("0.01") for q in exponents.values()):
            out[str(p)] = mp.inf
            continue
        with mp.workdps(QUAD_DIGITS):
            total = mp.quad(lambda x, p=p: abs(d(x)) ** p, [-TAIL_START, *cuts, TAIL_START])
            for side, q in exponents.items():
                if mp.isfinite(q) and q > -50:  # power law: add the tail in closed form
                    edge = abs(d(side * TAIL_START)) ** p
                    total += edge * TAIL_START / (-(p * q + 1))
        out[str(p)] = total ** (mp.mpf(1) / p)
    return out


def relative_sup(d: Fn, g: Fn, junctions: Sequence) -> Any:
    """sup |d/g| over ℝ (x with g = 0 skipped); mp.inf when it grows without bound in a tail."""
    xs = [x for x in grid(junctions) if x != 0]
    ratios = []
    for x in xs:
        gx = g(x)
        if gx != 0:
            ratios.append(abs(d(x) / gx))
    for direction in (-1, 1):
        far = [direction * mp.mpf(10) ** k for k in (5, 8, 12)]
        tail = [abs(d(x) / g(x)) if g(x) != 0 else mp.nan for x in far]
        if all(not mp.isnan(t) for t in tail) and tail[0] < tail[1] < tail[2] and tail[2] > 1e6:
            return mp.inf
        ratios += [t for t in tail if not mp.isnan(t)]
    return max(ratios)


def errors_against(
    f: Fn, df: Fn, d2f: Fn, g: Fn, dg: Fn, d2g: Fn, junctions: Sequence
) -> dict[str, Any]:
    """Max absolute and relative error of f against g, and of f′ against g′, over ℝ."""

    def diff(x: Any) -> Any:
        return f(x) - g(x)

    def diff1(x: Any) -> Any:
        return df(x) - dg(x)

    def diff2(x: Any) -> Any:
        return d2f(x) - d2g(x)

    return {
        "max_abs_error": sup_abs(diff, diff1, junctions),
        "max_rel_error": relative_sup(diff, g, junctions),
        "max_abs_error_derivative": sup_abs(diff1, diff2, junctions),
        "max_rel_error_derivative": relative_sup(diff1, dg, junctions),
    }
