"""Mathematical properties of activations: symbolic (sympy) and 30-digit numeric (mpmath).

`analyze(spec, reference=None)` returns the property card of one activation — smoothness
class, limits and asymptotes, zeros and extrema, monotonicity and convexity, Lipschitz
constants, moments under N(0, s²) inputs with the init gain, approximation error against a
reference and the L^p distance to ReLU. Needs the `analysis` extra (sympy, mpmath, scipy,
matplotlib). `gatelab analyze` is its command line.
"""

from .card import analyze

__all__ = ["analyze"]
