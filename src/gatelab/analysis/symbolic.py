"""Symbolic facts from a Spec's sympy expression: f′, f″, limits, asymptotes, smoothness class.

Smoothness of a piecewise definition: at each junction c the one-sided derivatives of the two
adjacent pieces are compared order by order; f is C^k at c for the largest k with equal
derivatives of orders 0..k. Identical pieces, or an expression without Piecewise/Abs/Max/
Heaviside (all catalog expressions are then compositions of functions analytic on ℝ), give
"inf". ReLU → 0, ELU(α=1) → 1, GEM(N) → 2N.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.codegen.cfunctions import log1p

from ..registry import Spec

X = sp.Symbol("x", real=True)
MAX_ORDER = 24  # derivatives compared at a junction before declaring the pieces identical


def exact(value: Any) -> Any:
    """A parameter as an exact sympy number: 1e-4 becomes 1/10000, not a binary float."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        return sp.Rational(repr(value))
    return value


class TailErfc(sp.Function):
    """erfc kept unevaluated: sympy rewrites erfc(−z) as 2 − erfc(z), which cancels to 0 at
    finite precision once erfc(z) < 10^-digits (GELU below x ≈ −11 at 30 digits)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return -2 / sp.sqrt(sp.pi) * sp.exp(-(self.args[0] ** 2))

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{erfc}}\left({printer._print(self.args[0])}\right)"


# The namespace handed to Spec.symbolic builders: sympy, with erfc unevaluated (TailErfc).
_NAMESPACE = types.SimpleNamespace(
    **{name: getattr(sp, name) for name in dir(sp) if not name.startswith("_")}
)
_NAMESPACE.erfc = TailErfc


def _stable(expr: sp.Expr) -> sp.Expr:
    """An equal expression without finite-precision cancellation in the tails."""
    w = sp.Wild("w")
    expr = expr.replace(2 - sp.erfc(w), lambda w: TailErfc(-w))
    expr = expr.replace(1 + sp.erf(w), lambda w: TailErfc(-w))
    expr = expr.replace(
        lambda e: isinstance(e, sp.log) and e.args[0].is_Add and sp.S.One in e.args[0].args,
        lambda e: log1p(e.args[0] - 1),
    )
    if expr.has(sp.tanh):
        expr = expr.rewrite(sp.tanh, sp.exp)
        a = sp.Wild("a")
        expr = expr.replace(sp.exp(log1p(a)), 1 + a).replace(sp.exp(-log1p(a)), 1 / (1 + a))
    return _per_piece(expr, _cancel)


def _cancel(expr: sp.Expr) -> sp.Expr:
    """sympy.cancel (which removes cancelling terms such as e^x/(1+e^x) − e^{2x}/(1+e^x)²),
    unless it more than doubles the expression (then evaluation cost would dominate)."""
    cancelled = sp.cancel(expr)
    return cancelled if sp.count_ops(cancelled) <= 2 * sp.count_ops(expr) + 4 else expr


def _per_piece(expr: sp.Expr, transform: Any) -> sp.Expr:
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(transform(e), c) for e, c in expr.args])
    return transform(expr)


def for_limits(expr: sp.Expr) -> sp.Expr:
    """The same expression in functions sympy's limit() knows."""
    return expr.replace(TailErfc, sp.erfc).replace(log1p, lambda a: sp.log(1 + a))


def expression(spec: Spec, params: dict[str, Any]) -> sp.Expr | None:
    """The sympy expression of f, or None when the entry has no symbolic form."""
    if spec.symbolic is None:
        return None
    expr = spec.symbolic(_NAMESPACE, X, **{k: exact(v) for k, v in params.items()})
    return _stable(sp.piecewise_fold(expr.rewrite(sp.Piecewise)))


def _pieces(expr: sp.Expr) -> list[tuple[sp.Expr, Any]]:
    return list(expr.args) if isinstance(expr, sp.Piecewise) else [(expr, sp.true)]


def branch_at(expr: sp.Expr, point: Any) -> sp.Expr:
    """The piece of a (folded) Piecewise that is active at `point` (a number or ±oo)."""
    for piece, condition in _pieces(expr):
        if condition == sp.true or bool(condition.subs(X, point)):
            return piece
    raise ValueError(f"no piece of {expr} is active at {point}")


def junctions(expr: sp.Expr) -> list[sp.Expr]:
    """Points where a piecewise definition switches pieces, sorted."""
    points: set[sp.Expr] = set()
    for _, condition in _pieces(expr):
        for relation in condition.atoms(sp.core.relational.Relational):
            for root in sp.solve(sp.Eq(relation.lhs, relation.rhs), X):
                if root.is_real:
                    points.add(sp.nsimplify(root))
    return sorted(points, key=float)


def _value(piece: sp.Expr, order: int, point: sp.Expr) -> sp.Expr:
    derivative = for_limits(sp.diff(piece, X, order) if order else piece)
    value = sp.simplify(derivative.subs(X, point))
    if value.has(sp.nan, sp.zoo):
        value = sp.limit(derivative, X, point)
    return value


def smoothness_at(expr: sp.Expr, point: sp.Expr) -> int | str:
    """The largest k such that f is C^k at `point` (-1: discontinuous; "inf": analytic there)."""
    left, right = (
        branch_at(expr, point - sp.Rational(1, 10**9)),
        branch_at(expr, point + sp.Rational(1, 10**9)),
    )
    if sp.simplify(for_limits(left - right)) == 0:
        return "inf"
    for order in range(MAX_ORDER + 1):
        if sp.simplify(_value(left, order, point) - _value(right, order, point)) != 0:
            return order - 1
    return MAX_ORDER  # equal up to MAX_ORDER: reported as a lower bound


def smoothness(expr: sp.Expr) -> int | str:
    """The smoothness class of f on ℝ: the minimum over its junctions, "inf" without any."""
    classes = [smoothness_at(expr, point) for point in junctions(expr)]
    finite = [c for c in classes if c != "inf"]
    return min(finite) if finite else "inf"


def limit_at(expr: sp.Expr, direction: int) -> sp.Expr:
    """lim f(x) for x → direction·∞, on the piece active there."""
    infinity = sp.oo if direction > 0 else -sp.oo
    return sp.limit(for_limits(branch_at(expr, infinity)), X, infinity)


def asymptote(expr: sp.Expr, direction: int) -> tuple[sp.Expr, sp.Expr] | None:
    """(slope, intercept) of the line f approaches at direction·∞, or None if it has none."""
    infinity = sp.oo if direction > 0 else -sp.oo
    piece = for_limits(branch_at(expr, infinity))
    slope = sp.limit(piece / X, X, infinity)
    if not slope.is_finite:
        return None
    intercept = sp.limit(piece - slope * X, X, infinity)
    return (slope, intercept) if intercept.is_finite else None


@dataclass
class SymbolicFacts:
    expr: sp.Expr
    first: sp.Expr
    second: sp.Expr
    third: sp.Expr
    junctions: list[sp.Expr]
    smoothness: int | str
    limits: tuple[sp.Expr, sp.Expr]
    asymptotes: tuple[Any, Any]
    gate_limits: tuple[sp.Expr, sp.Expr] | None = None
    notes: list[str] = field(default_factory=list)


def analyse(expr: sp.Expr, gated: bool) -> SymbolicFacts:
    """Everything symbolic about f = `expr`."""
    first = _per_piece(sp.diff(expr, X), _cancel)
    second = _per_piece(sp.diff(first, X), _cancel)
    gate_limits = None
    if gated:
        gate = sp.piecewise_fold(expr / X)
        gate_limits = (limit_at(gate, -1), limit_at(gate, 1))
    return SymbolicFacts(
        expr=expr,
        first=first,
        second=second,
        third=_per_piece(sp.diff(second, X), _cancel),
        junctions=junctions(expr),
        smoothness=smoothness(expr),
        limits=(limit_at(expr, -1), limit_at(expr, 1)),
        asymptotes=(asymptote(expr, -1), asymptote(expr, 1)),
        gate_limits=gate_limits,
    )


def latex(expr: sp.Expr) -> str:
    """LaTeX of an expression, lightly simplified where that is cheap."""
    return sp.latex(sp.piecewise_fold(expr))


def minus_relu(expr: sp.Expr) -> sp.Expr:
    """f − relu as a Piecewise with each piece cancelled (gem − relu = −x/(1 + x²) for x > 0)."""
    relu = sp.Piecewise((X, X > 0), (0, True))
    return _per_piece(sp.piecewise_fold(expr - relu), _cancel)
