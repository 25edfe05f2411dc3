"""User-defined gated activations f(x) = x·F(x) from any CDF F written with torch ops.

    cauchy = gatelab.gated(lambda x: 0.5 + torch.atan(x) / math.pi, name="cauchy_gelu")
    gatelab.create("cauchy_gelu")            # a module, like any catalog entry

Without `derivative` (f′) or `pdf` (F′), backward differentiates x·F(x) with autograd; with
either, the closed form is used. Either way the layer saves only its input. The catalog's
guarantees for ±inf and extreme inputs hold for the built-in entries; a user CDF is evaluated
as written (e.g. the Cauchy-gated unit tends to −1/π, not 0, at −∞).

Modules of a gated entry pickle with the gated() arguments (`GatedRecipe`), the functions by
reference: define the CDF (and f′ or F′) as module-level functions of an importable module and a
saved model loads in a fresh process with no gated() call.
"""

from __future__ import annotations

import dataclasses
import pickle
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.autograd.forward_ad as forward_ad
from torch import Tensor

from .. import registry
from ..registry import Param, Spec, lookup, register


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

    Modules of the entry pickle (torch.save of a whole model) with this call's arguments, their
    functions by reference, and unpickle in a fresh process without calling gated() again — if
    `cdf`, `derivative`, `pdf` (and a callable `sympy_cdf`) are module-level functions of an
    importable module. Anything else (a lambda, a nested function) fails when pickled, with
    that advice; copy.deepcopy works with any callable.
    """
    if not callable(cdf):
        raise TypeError(f"cdf must be a callable taking a tensor, got {type(cdf).__name__}")
    if derivative is not None and pdf is not None:
        raise ValueError("give either derivative (f′) or pdf (F′), not both")
    recipe = GatedRecipe(
        cdf=cdf,
        name=name,
        derivative=derivative,
        pdf=pdf,
        params=tuple(params),
        aliases=tuple(aliases),
        formula=formula,
        citation=citation,
        summary=summary,
        sympy_cdf=sympy_cdf,
    )
    return recipe.attach(register(recipe.build(), overwrite=overwrite))


def _build_spec(r: GatedRecipe) -> Spec:
    """The Spec of x·F(x) for the arguments of one gated() call."""
    cdf, derivative = r.cdf, r.derivative
    if derivative is None and r.pdf is not None:
        density = r.pdf

        def derivative(x: Tensor, **kw: Any) -> Tensor:
            return cdf(x, **kw) + x * density(x, **kw)

    def forward(x: Tensor, **kw: Any) -> Tensor:
        return x * cdf(x, **kw)

    return Spec(
        name=r.name,
        forward=forward,
        derivative=derivative or _autograd_derivative(cdf),
        params=r.params,
        aliases=r.aliases,
        formula=r.formula or rf"x\,F(x),\ F = \text{{{r.name} CDF}}",
        citation=r.citation,
        family="user",
        summary=r.summary or f"User-defined gated activation x·F(x) ({r.name}).",
        gate=cdf,
        naive=forward,
        symbolic=None if r.sympy_cdf is None else _symbolic_from_cdf(r.sympy_cdf),
    )


# --- pickling -------------------------------------------------------------------------------

#: The recipe of every Spec that gated() built (weakly: unregistered entries may go away).
_RECIPES: weakref.WeakKeyDictionary[Spec, GatedRecipe] = weakref.WeakKeyDictionary()


def recipe_of(spec: Spec) -> GatedRecipe | None:
    """The gated() arguments `spec` was built from, or None for a catalog (or register()) entry."""
    return _RECIPES.get(spec)


@dataclass(frozen=True, eq=False)
class GatedRecipe:
    """The arguments of one `gated` call: what a pickled module of a gated activation stores.

    Pickle stores functions by reference — module and qualified name (Python docs, "What can be
    pickled and unpickled?") — so the recipe pickles when its functions are module-level
    functions of an importable module, and fails with that advice otherwise (`__reduce__`).
    Unpickling imports them; `restore` then reuses an identical registered entry or registers
    the rebuilt one. copy.deepcopy keeps the recipe itself (`__deepcopy__`), so it never pickles.
    """

    cdf: Callable[..., Tensor]
    name: str
    derivative: Callable[..., Tensor] | None = None
    pdf: Callable[..., Tensor] | None = None
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    formula: str = ""
    citation: str = "user-defined"
    summary: str = ""
    sympy_cdf: Any = None

    def build(self) -> Spec:
        return _build_spec(self)

    def attach(self, spec: Spec) -> Spec:
        """Record that `spec` was built from this recipe; returns `spec`."""
        _RECIPES[spec] = self
        object.__setattr__(self, "_live", weakref.ref(spec))
        return spec

    def key(self) -> tuple:
        """What two recipes must share to build the same entry (Param checks aside)."""
        params = tuple((p.name, p.default, p.kind, p.rule, p.doc) for p in self.params)
        functions = (self.cdf, self.derivative, self.pdf)
        text = (self.name, self.aliases, self.formula, self.citation, self.summary)
        return functions + text + (params,)

    def restore(self) -> Spec:
        """The Spec for this recipe in this process: the one it built, an identical registered
        one, or a rebuilt one — registered if its names are free, else unregistered (warned)."""
        live = getattr(self, "_live", None)
        if live is not None and live() is not None:
            return live()
        try:
            current = lookup(self.name)
        except ValueError:
            return self._register()
        other = _RECIPES.get(current)
        if other is not None and other.key() == self.key():
            object.__setattr__(self, "_live", weakref.ref(current))
            return current
        return self._unregistered(f"another activation is registered as {self.name!r}")

    def _register(self) -> Spec:
        try:
            return self.attach(register(self.build()))
        except ValueError as error:  # an alias is taken
            return self._unregistered(str(error))

    def _unregistered(self, why: str) -> Spec:
        warnings.warn(
            f"unpickled gated activation {self.name!r} is not registered ({why}); the module "
            "computes the pickled function, but create() by that name gives the registered one",
            UserWarning,
            stacklevel=4,
        )
        return self.attach(self.build())

    def __reduce__(self) -> tuple:
        for role in ("cdf", "derivative", "pdf", "sympy_cdf"):
            value = getattr(self, role)
            if value is not None:
                _require_picklable(value, f"its {role}", self.name)
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["params"] = tuple(_portable_param(p, self.name) for p in self.params)
        return (_unpickle_recipe, (fields,))

    def __deepcopy__(self, memo: dict) -> GatedRecipe:
        return self  # immutable; deepcopy must not pickle a lambda CDF

    def __copy__(self) -> GatedRecipe:
        return self


def _unpickle_recipe(fields: dict[str, Any]) -> GatedRecipe:
    params = tuple(p.build() if isinstance(p, _HelperParam) else p for p in fields["params"])
    return GatedRecipe(**{**fields, "params": params})


class _HelperParam(NamedTuple):
    """A Param made by a gatelab.registry helper (positive, positive_int, …), whose check is a
    lambda inside the helper: pickled as the helper call that rebuilds it."""

    helper: str
    name: str
    default: Any
    doc: str
    closure: dict[str, Any]

    def build(self) -> Param:
        return getattr(registry, self.helper)(self.name, self.default, self.doc, **self.closure)


def _portable_param(param: Param, owner: str) -> Param | _HelperParam:
    if param.check is None:
        return param
    try:
        pickle.dumps(param.check, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        rebuilt = _helper_param(param)
        if rebuilt is None:
            role = f"the check of its parameter {param.name!r}"
            raise _pickling_error(param.check, role, owner, error) from error
        return rebuilt
    return param


def _helper_param(param: Param) -> _HelperParam | None:
    """The registry helper call that rebuilds `param`, if its check is one of their lambdas."""
    check = param.check
    helper, _, rest = getattr(check, "__qualname__", "").partition(".<locals>.")
    code = getattr(check, "__code__", None)
    if getattr(check, "__module__", None) != registry.__name__ or rest != "<lambda>" or not code:
        return None
    cells = check.__closure__ or ()
    closure = dict(zip(code.co_freevars, (cell.cell_contents for cell in cells)))
    rebuilt = _HelperParam(helper, param.name, param.default, param.doc, closure)
    built = rebuilt.build()
    return rebuilt if (built.kind, built.rule) == (param.kind, param.rule) else None


def _require_picklable(value: Any, role: str, owner: str) -> None:
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        raise _pickling_error(value, role, owner, error) from error


def _pickling_error(value: Any, role: str, owner: str, error: Exception) -> pickle.PicklingError:
    return pickle.PicklingError(
        f"cannot pickle the gated activation {owner!r}: {role} {value!r} cannot be pickled "
        f"({error}). Pickle stores a function by reference (module and name), so define it as "
        "a module-level function (def, not a lambda, not nested in another function) in an "
        "importable module, pass that to gatelab.gated(), and make the module importable where "
        "the model is loaded. (copy.deepcopy works with any function.)"
    )
