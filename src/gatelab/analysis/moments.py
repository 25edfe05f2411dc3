"""Activations under normalised inputs (Lee 2023, RQ2): for z ~ N(0, s²), as batch or layer
normalisation produce, E[f(z)], E[f(z)²] and E[f′(z)²] as functions of s, and the
variance-preserving initialisation gain 1/√E[f(z)²] at s = 1 (He et al. 2015's argument: a
layer keeps the second moment of its pre-activations when its weights are scaled by it).

Integrals are mpmath Gauss–Legendre/tanh-sinh quadratures at 20 digits, split at the
junctions of piecewise definitions so that every panel is smooth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mpmath as mp

from .numeric import Fn, Functions

SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
QUAD_DIGITS = 20


def gaussian_expectation(g: Fn, s: float, junctions: Sequence = ()) -> Any:
    """E[g(z)] for z ~ N(0, s²): ∫ g(s·u) φ(u) du, split at the junctions."""
    with mp.workdps(QUAD_DIGITS):
        cuts = sorted({mp.mpf(j) / s for j in junctions if abs(mp.mpf(j) / s) < 40})
        points = [-mp.inf, *cuts, mp.inf] if cuts else [-mp.inf, 0, mp.inf]
        return mp.quad(lambda u: g(s * u) * mp.npdf(u), points)


def moments(fns: Functions, scales: Sequence[float] = SCALES) -> list[dict[str, Any]]:
    """E[f], E[f²], E[f′²] for z ~ N(0, s²) at each s."""
    rows = []
    for s in scales:
        rows.append(
            {
                "s": s,
                "mean": gaussian_expectation(fns.f, s, fns.junctions),
                "second_moment": gaussian_expectation(lambda x: fns.f(x) ** 2, s, fns.junctions),
                "derivative_second_moment": gaussian_expectation(
                    lambda x: fns.d1(x) ** 2, s, fns.junctions
                ),
            }
        )
    return rows


def init_gain_from(second_moment: Any) -> Any:
    """The gain that makes Var of the next pre-activation equal to 1: 1/√E[f(z)²]."""
    return 1 / mp.sqrt(second_moment)
