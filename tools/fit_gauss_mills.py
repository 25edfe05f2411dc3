"""Refit the rational G(a) = Φ(−a)·e^{a²/2} of gatelab's C GELU kernel (kernels/cpu_native.c).

    python tools/fit_gauss_mills.py            # needs numpy and scipy

G is P₅(a)/Q₆(a) with Q(0) = 1 on [0, 14.6] (beyond, a·Φ(−a) is below float32's smallest
subnormal). The fit minimises the maximum relative error: linearised least squares
P − G·Q ≈ 0 weighted by 1/(G·Q_previous) (Sanathanan–Koerner iteration), then Lawson's
reweighting towards the minimax solution, on 6,000 Chebyshev points; the reference is scipy's
erfcx (double precision, ~1e-16 relative). Prints the worst relative error (8.4e-11) and the
coefficients as C hexadecimal literals, lowest degree first.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfcx

UPPER = 14.6
DEGREES = (5, 6)


def gauss_mills(a: np.ndarray) -> np.ndarray:
    """Φ(−a)·e^{a²/2} = erfcx(a/√2)/2."""
    return 0.5 * erfcx(a / np.sqrt(2.0))


def fit(m: int, k: int, points: int = 6000, iterations: int = 80):
    a = (1.0 - np.cos(np.linspace(0.0, np.pi, points))) / 2.0 * UPPER
    g = gauss_mills(a)
    powers = np.vander(a, max(m, k) + 1, increasing=True)
    q_values, weights = np.ones_like(a), np.ones_like(a)
    for step in range(iterations):
        rows = np.hstack([powers[:, : m + 1], -g[:, None] * powers[:, 1 : k + 1]])
        rows /= (g * q_values)[:, None]
        rhs = 1.0 / q_values
        root = np.sqrt(weights)
        coefficients, *_ = np.linalg.lstsq(rows * root[:, None], rhs * root, rcond=None)
        p, q = coefficients[: m + 1], np.concatenate([[1.0], coefficients[m + 1 :]])
        q_values = np.polyval(q[::-1], a)
        error = (np.polyval(p[::-1], a) / q_values - g) / g
        if step > 10:  # Lawson: weight the points where the error is largest
            weights = weights * np.abs(error)
            weights /= weights.sum()
    return p, q, float(np.abs(error).max())


def main() -> None:
    p, q, worst = fit(*DEGREES)
    print(f"worst relative error on [0, {UPPER}]: {worst:.3g}")
    print("P:", ", ".join(float(c).hex() for c in p))
    print("Q:", ", ".join(float(c).hex() for c in q))


if __name__ == "__main__":
    main()
