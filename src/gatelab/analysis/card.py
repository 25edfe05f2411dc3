"""The property card: every symbolic and numeric fact about one activation, as JSON-ready data.

    from gatelab.analysis import analyze
    card = analyze("gem(N=2)", reference="relu")

Infinities are the strings "inf"/"-inf"; a field that cannot be computed for the entry (the
symbolic ones of a user activation without a sympy form) is None, never a guess.
"""

from __future__ import annotations

from typing import Any

import mpmath as mp
import sympy as sp

from ..modules import get_fn
from ..registry import Spec, resolve
from . import symbolic
from .approximation import errors_against, lp_distance
from .moments import init_gain_from, moments
from .numeric import (
    DIGITS,
    Functions,
    compile_mp,
    from_sympy,
    from_torch,
    grid,
    negate,
    numeric_limit,
    roots,
    sample,
    sign_intervals,
    supremum,
    zero_intervals,
)
from .render import json_ready

EPS_TABLE = (1e-1, 1e-2, 1e-4, 1e-6)


def _mp(value: Any) -> Any:
    if value in (sp.oo, -sp.oo):
        return mp.inf if value == sp.oo else -mp.inf
    try:
        return mp.mpf(sp.N(value, DIGITS + 5))
    except (TypeError, ValueError):
        return mp.nan


def _checked_limit(expr: Any, g: Any, direction: int) -> Any:
    """The symbolic limit, unless a 30-digit evaluation far out contradicts it (sympy has
    mis-evaluated limits of erf compositions); then the numeric estimate."""
    try:
        value = _mp(symbolic.limit_at(expr, direction))
    except (NotImplementedError, ValueError, TypeError):
        value = mp.nan
    estimate = numeric_limit(g, direction)
    if mp.isnan(value):
        return estimate
    if mp.isinf(value) or mp.isinf(estimate):
        return value if value == estimate else estimate
    return value if abs(value - estimate) <= 1e-6 * (1 + abs(value)) else estimate


def build(entry: Spec, params: dict[str, Any]) -> tuple[Any, Functions]:
    """(symbolic facts or None, the functions f, f′, f″, f‴ at 30 digits or in float64)."""
    expr = symbolic.expression(entry, params)
    if expr is None:
        return None, from_torch(get_fn(entry, **params))
    facts = symbolic.analyse(expr, gated=entry.gate is not None)
    fns = from_sympy(facts.expr, facts.first, facts.second, facts.third, facts.junctions)
    return facts, fns


def _distance_to_relu(facts: Any, fns: Functions) -> dict[str, Any]:
    """‖f − relu‖_p for p = 1, 2, ∞, from a cancellation-free symbolic difference if any."""
    if facts is None:
        return lp_distance(
            lambda x: fns.f(x) - max(x, 0), lambda x: fns.d1(x) - (x > 0), fns.junctions
        )
    diff = symbolic.minus_relu(facts.expr)
    d = compile_mp(diff)
    dd = compile_mp(_per_piece_diff(diff))
    return lp_distance(d, dd, fns.junctions)


def _per_piece_diff(expr: Any) -> Any:
    return sp.piecewise_fold(sp.diff(expr, symbolic.X))


def _interval_list(intervals: list) -> list:
    return [[json_ready(a), json_ready(b)] for a, b in intervals]


def _extremum(e: Any) -> tuple[Any, Any]:
    return json_ready(e.value), json_ready(e.where)


def _limits(facts: Any, expr: Any, g: Any) -> tuple[Any, Any]:
    if facts is None:
        return numeric_limit(g, -1, exact=False), numeric_limit(g, 1, exact=False)
    return _checked_limit(expr, g, -1), _checked_limit(expr, g, 1)


def _shape(facts: Any, fns: Functions) -> dict[str, Any]:
    """Zeros, extrema, monotonicity, convexity, Lipschitz constants."""
    js = fns.junctions
    xs = grid(js)
    f, d1, d2 = (sample(g, xs) for g in (fns.f, fns.d1, fns.d2))
    d3 = sample(fns.d3, xs) if fns.d3 is not None else [mp.nan] * len(xs)
    lim_f = _limits(facts, facts and facts.expr, fns.f)
    # derivatives' limits numerically (30 digits at ±1e8, ±1e16): sympy takes seconds each
    lim_d1 = numeric_limit(fns.d1, -1, fns.exact), numeric_limit(fns.d1, 1, fns.exact)
    lim_d2 = numeric_limit(fns.d2, -1, fns.exact), numeric_limit(fns.d2, 1, fns.exact)
    stationary = roots(fns.d1, xs, d1)
    inflections = roots(fns.d2, xs, d2)
    third_roots = roots(fns.d3, xs, d3) if fns.d3 is not None else []
    minimum = negate(
        supremum(xs, [-v for v in f], lambda x: -fns.f(x), d1, stationary,
                 (-lim_f[0], -lim_f[1]), js)
    )  # fmt: skip
    maximum = supremum(xs, f, fns.f, d1, stationary, lim_f, js)
    lipschitz = supremum(
        xs, [abs(v) for v in d1], lambda x: abs(fns.d1(x)), d2, inflections,
        (abs(lim_d1[0]), abs(lim_d1[1])), js,
    )  # fmt: skip
    curvature = supremum(
        xs, [abs(v) for v in d2], lambda x: abs(fns.d2(x)), d3, third_roots,
        (abs(lim_d2[0]), abs(lim_d2[1])), js,
    )  # fmt: skip
    flat1 = [p for interval in zero_intervals(xs, d1) for p in interval if mp.isfinite(p)]
    flat2 = [p for interval in zero_intervals(xs, d2) for p in interval if mp.isfinite(p)]
    decreasing = sign_intervals(fns.d1, [*stationary, *js, *flat1], negative=True)
    increasing = sign_intervals(fns.d1, [*stationary, *js, *flat1], negative=False)
    concave = sign_intervals(fns.d2, [*inflections, *js, *flat2], negative=True)
    min_value, argmin = _extremum(minimum)
    max_value, _ = _extremum(maximum)
    lip, lip_at = _extremum(lipschitz)
    window = [x for x in xs if -3 <= x <= 3] + [c for c in stationary if -3 <= c <= 3]
    window_values = [fns.f(x) for x in [*window, mp.mpf(-3), mp.mpf(3)]]
    return {
        "limit_neg_inf": json_ready(lim_f[0]),
        "limit_pos_inf": json_ready(lim_f[1]),
        "zeros": json_ready(roots(fns.f, xs, f)),
        "zero_intervals": _interval_list(zero_intervals(xs, f)),
        "stationary_points": json_ready(stationary),
        "min_value": min_value,
        "argmin": argmin,
        "bounded_below": mp.isfinite(minimum.value),
        "max_value": max_value,
        "bounded_above": mp.isfinite(maximum.value),
        "monotonic": not decreasing or not increasing,
        "decreasing_intervals": _interval_list(decreasing),
        "convex": not concave,
        "non_convex_intervals": _interval_list(concave),
        "lipschitz": lip,
        "lipschitz_argmax": lip_at,
        "sup_second_derivative": json_ready(curvature.value),
        "range_3s": [json_ready(min(window_values)), json_ready(max(window_values))],
    }


def _gate_is_cdf(entry: Spec, facts: Any, fns: Functions) -> bool | None:
    """Whether F = f/x rises monotonically from 0 to 1 (None for non-gated entries)."""
    if entry.gate is None:
        return None
    xs = [x for x in grid(fns.junctions) if x != 0]
    gate = [fns.f(x) / x for x in xs]
    tol = mp.mpf("1e-25") if fns.exact else mp.mpf("1e-12")  # float64 rounding noise
    rising = all(b >= a - tol * max(1, abs(a)) for a, b in zip(gate, gate[1:]))
    if facts is not None and facts.gate_limits is not None:
        lo, hi = (_mp(v) for v in facts.gate_limits)
        return bool(rising and abs(lo) < 1e-12 and abs(hi - 1) < 1e-12)

    def gate_at(x: Any) -> Any:
        return fns.f(x) / x

    # numerically: 1 − F(+x) and F(−x) must keep falling by 100× from x = 1e3 to 1e6 (the
    # Cauchy CDF decays like 1/(π|x|); a gate with another limit does not fall at all)
    lower = abs(gate_at(mp.mpf(-1e6))) <= 0.01 * abs(gate_at(mp.mpf(-1e3))) + 1e-15
    upper = abs(1 - gate_at(mp.mpf(1e6))) <= 0.01 * abs(1 - gate_at(mp.mpf(1e3))) + 1e-15
    return bool(rising and lower and upper)


def _symbolic_fields(facts: Any) -> dict[str, Any]:
    if facts is None:
        keys = ("derivative_latex", "second_derivative_latex", "smoothness")
        return {k: None for k in keys} | {"asymptote_neg_inf": None, "asymptote_pos_inf": None}

    def line(a: Any) -> Any:
        return None if a is None else {"slope": json_ready(a[0]), "intercept": json_ready(a[1])}

    return {
        "derivative_latex": symbolic.latex(facts.first),
        "second_derivative_latex": symbolic.latex(facts.second),
        "smoothness": facts.smoothness,
        "asymptote_neg_inf": line(facts.asymptotes[0]),
        "asymptote_pos_inf": line(facts.asymptotes[1]),
    }


def _normal(fns: Functions) -> dict[str, Any]:
    rows = moments(fns)
    unit = next(r for r in rows if r["s"] == 1.0)
    return {
        "normal_mean": json_ready(unit["mean"]),
        "normal_second_moment": json_ready(unit["second_moment"]),
        "normal_derivative_second_moment": json_ready(unit["derivative_second_moment"]),
        "init_gain": json_ready(init_gain_from(unit["second_moment"])),
        "normal_moments_by_scale": [json_ready(r) for r in rows],
    }


def _reference_errors(fns: Functions, reference: str) -> dict[str, Any]:
    ref_entry, ref_params = resolve(reference)
    _, ref = build(ref_entry, ref_params)
    errors = errors_against(
        fns.f, fns.d1, fns.d2, ref.f, ref.d1, ref.d2, [*fns.junctions, *ref.junctions]
    )
    return {"reference": ref_entry.format(ref_params), **json_ready(errors)}


def _eps_table(entry: Spec, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for eps in EPS_TABLE:
        facts, fns = build(entry, {**params, "eps": eps})
        rows.append({"eps": eps, "N": params["N"], **json_ready(_distance_to_relu(facts, fns))})
    return rows


def analyze(spec: str | Spec, reference: str | None = None) -> dict[str, Any]:
    """The property card of `spec` (see the module docstring for conventions)."""
    entry, params = resolve(spec)
    with mp.workdps(DIGITS):
        facts, fns = build(entry, params)
        card: dict[str, Any] = {
            "name": entry.name,
            "spec": entry.format(params),
            "params": params,
            "family": entry.family,
            "formula_latex": entry.formula,
            "citation": entry.citation,
            "symbolic": facts is not None,
            "precision": f"mpmath, {DIGITS} digits" if fns.exact else "float64 (numeric only)",
            "junctions": json_ready(fns.junctions),
            **_symbolic_fields(facts),
            **_shape(facts, fns),
            "gated": entry.gate is not None,
            "gate_is_cdf": _gate_is_cdf(entry, facts, fns),
            **_normal(fns),
            "lp_distance_to_relu": json_ready(_distance_to_relu(facts, fns)),
            "reference": None,
            "max_abs_error": None,
            "max_rel_error": None,
            "max_abs_error_derivative": None,
            "max_rel_error_derivative": None,
        }
        if reference is not None:
            card.update(_reference_errors(fns, reference))
        if entry.name == "e_gem":
            card["lp_table_over_eps"] = _eps_table(entry, params)
    return card
