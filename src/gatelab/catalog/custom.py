"""User-defined gated activations f(x) = x·F(x) from any CDF F written with torch ops.

    cauchy = gatelab.gated(lambda x: 0.5 + torch.atan(x) / math.pi, name="cauchy_gelu")
    gatelab.create("cauchy_gelu")            # a module, like any catalog entry

Without `derivative` (f′) or `pdf` (F′), backward differentiates x·F(x) with autograd; with
either, the closed form is used. Either way the layer saves only its input. The catalog's
guarantees for ±inf and extreme inputs hold for the built-in entries; a user CDF is evaluated
as written (e.g. the Cauchy-gated unit tends to −1/π, not 0, at −∞).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.autograd.forward_ad as forward_ad
from torch import Tensor

from ..registry import Param, Spec, register


def _autograd_derivative(cdf: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """f′ of x·F(x) by automatic differentiation of the user's CDF.

    By forward mode, the jvp with tangent 1, which composes with every torch.func transform and
    with itself; inside a plain ``forward_ad.dual_level`` (where torch.func.jvp cannot nest) by
    reverse mode, on x itself when it is part of a graph, so higher derivatives stay connected.
    """

    def derivative(x: Tensor, **params: Any) -> Tensor:
        def f(v: Tensor) -> Tensor:
            return v * cdf(v, **params)

        if forward_ad._current_level < 0 or torch._C._functorch.maybe_current_level() is not None:
            return torch.func.jvp(f, (x,), (torch.ones_like(x),))[1]
        with torch.enable_grad():
            connected = x.requires_grad
            xg = x if connected else x.detach().requires_grad_(True)
            (slope,) = torch.autograd.grad(f(xg).sum(), xg, create_graph=connected)
        return slope

    return derivative


def _symbolic_from_cdf(sympy_cdf: Any) -> Callable[..., Any]:
    """x·F(x) from `sympy_cdf`: an expression in a symbol named x, or a callable (sympy, x, **p)."""

    def build(sp: Any, x: Any, **params: Any) -> Any:
        if callable(sympy_cdf):
            return x * sympy_cdf(sp, x, **params)
        (symbol,) = [s for s in sympy_cdf.free_symbols if s.name == "x"] or [None]
        if symbol is None:
            raise ValueError("sympy_cdf must be an expression in a symbol named x")
        return x * sympy_cdf.subs(symbol, x)

    return build


def gated(
    cdf: Callable[..., Tensor],
    *,
    name: str,
    derivative: Callable[..., Tensor] | None = None,
    pdf: Callable[..., Tensor] | None = None,
    params: Sequence[Param] = (),
    aliases: Sequence[str] = (),
    formula: str = "",
    citation: str = "user-defined",
    summary: str = "",
    sympy_cdf: Any = None,
    overwrite: bool = False,
) -> Spec:
    """Build and register the gated activation x·F(x) for the CDF `cdf(x, **params)`.

    `derivative(x, **params)` is f′ if you have it; `pdf(x, **params)` is F′, from which
    f′ = F + x·F′; with neither, autograd differentiates x·F(x). `sympy_cdf` — a sympy expression
    in a symbol named x, or a callable (sympy, x, **params) — lets gatelab.analysis treat the
    entry symbolically; without it the analysis is numeric only.
    """
    if not callable(cdf):
        raise TypeError(f"cdf must be a callable taking a tensor, got {type(cdf).__name__}")
    if derivative is not None and pdf is not None:
        raise ValueError("give either derivative (f′) or pdf (F′), not both")
    if derivative is None and pdf is not None:
        density = pdf

        def derivative(x: Tensor, **kw: Any) -> Tensor:
            return cdf(x, **kw) + x * density(x, **kw)

    def forward(x: Tensor, **kw: Any) -> Tensor:
        return x * cdf(x, **kw)

    spec = Spec(
        name=name,
        forward=forward,
        derivative=derivative or _autograd_derivative(cdf),
        params=tuple(params),
        aliases=tuple(aliases),
        formula=formula or rf"x\,F(x),\ F = \text{{{name} CDF}}",
        citation=citation,
        family="user",
        summary=summary or f"User-defined gated activation x·F(x) ({name}).",
        gate=cdf,
        naive=forward,
        symbolic=None if sympy_cdf is None else _symbolic_from_cdf(sympy_cdf),
    )
    return register(spec, overwrite=overwrite)
