"""Worst error of every catalog entry against mpmath, per dtype: the table in the README.

    python benchmarks/accuracy.py            # float32 ulp, float64 relative, half-type ulp

Uses the independent references of tests/reference.py (60-digit mpmath) on the same dense grid
of [−1e4, 1e4] plus the extremes that the tests use. Needs the `dev` extra (mpmath).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import reference as R  # noqa: E402

import gatelab  # noqa: E402


def worst_ulp(name: str, params: dict, dtype: np.dtype, abs_floor: float) -> tuple[float, float]:
    xs = R.grid(dtype)
    ref = R.reference(name, xs, params)
    got = gatelab.get_fn(name, **params)(torch.from_numpy(xs)).numpy()
    errors = R.ulp_errors(got, ref, dtype, abs_floor)
    i = int(np.argmax(errors))
    return float(errors[i]), float(xs[i])


def worst_relative_f64(name: str, params: dict) -> float:
    xs = R.grid(np.dtype(np.float64))
    ref = R.reference(name, xs, params)
    got = gatelab.get_fn(name, **params)(torch.from_numpy(xs)).numpy()
    worst = 0.0
    for g, r in zip(got, ref):
        if r == 0 or abs(r) < 1e-307 or abs(r) > np.finfo(np.float64).max:
            continue
        worst = max(worst, float(abs((R.mp.mpf(float(g)) - r) / r)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    print("| entry | float32 worst (ulp) | at x | float64 worst (relative) |")
    print("|---|---|---|---|")
    cases = [(n, {}) for n in R.REFERENCES] + [
        (n, p) for n, variants in R.VARIANTS.items() for p in variants
    ]
    for name, params in cases:
        ulp, where = worst_ulp(name, params, np.dtype(np.float32), 1e-37)
        rel = worst_relative_f64(name, params)
        label = gatelab.lookup(name).format(params)
        print(f"| `{label}` | {ulp:.2f} | {where:.6g} | {rel:.2g} |")


if __name__ == "__main__":
    main()
