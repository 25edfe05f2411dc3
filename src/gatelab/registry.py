"""The activation registry: `Spec` records, the spec-string parser, and name lookup.

A spec string is a name, optionally with literal parameters: ``"gelu"``, ``"e_gem(N=2, eps=1e-4)"``,
``"leaky_relu(0.2)"``. It is parsed with :mod:`ast` and only literal numbers, booleans and strings
are accepted — nothing is ever evaluated.
"""

from __future__ import annotations

import ast
import difflib
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Validator = Callable[[Any], bool]


@dataclass(frozen=True)
class Param:
    """One parameter of an activation: its type, default and the rule its values must satisfy."""

    name: str
    default: Any
    kind: type  # int, float or bool
    rule: str = ""  # e.g. "a positive integer"; shown in errors and in `gatelab list`
    check: Validator | None = None
    doc: str = ""

    def validate(self, value: Any, owner: str) -> Any:
        """Return `value` coerced to this parameter's type, or raise ValueError naming it."""
        what = f"parameter '{self.name}' of {owner}"
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{what} must be True or False, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{what} must be {self.rule or self.kind.__name__}, got {value!r}")
        if self.kind is int:
            if not isinstance(value, int):
                raise ValueError(f"{what} must be {self.rule or 'an integer'}, got {value!r}")
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{what} must be finite, got {value!r}")
        if self.check is not None and not self.check(value):
            raise ValueError(f"{what} must be {self.rule}, got {value!r}")
        return value


def positive_int(name: str, default: int, doc: str = "", maximum: int = 2**31 - 1) -> Param:
    return Param(
        name, default, int, f"a positive integer ≤ {maximum}", lambda v: 1 <= v <= maximum, doc
    )


def positive(name: str, default: float, doc: str = "") -> Param:
    return Param(name, default, float, "a finite number > 0", lambda v: v > 0, doc)


def non_negative(name: str, default: float, doc: str = "") -> Param:
    return Param(name, default, float, "a finite number >= 0", lambda v: v >= 0, doc)


def real(name: str, default: float, doc: str = "") -> Param:
    return Param(name, default, float, "a finite number", None, doc)


@dataclass(frozen=True, eq=False)
class Spec:
    """A catalog entry: everything gatelab knows about one activation family.

    `forward(x, **params)` and `derivative(x, **params)` are the precise formulas; they receive
    `x` already in the compute dtype (see :mod:`gatelab.autograd`). `naive` is the textbook
    composition of torch ops and `native` torch's own op where one exists: baselines for
    benchmarks, and what ONNX export emits. `gate` is F for gated entries f(x) = x·F(x).
    `param_derivatives(x, **params)` gives ∂f/∂p for the parameters a module can learn.
    `kernels` names the fused kernels that cover the entry — the one table of coverage.
    `symbolic(sympy, x, **params)` builds the formula as a sympy expression (Piecewise where
    needed) for gatelab.analysis; the sympy module is passed in, so the catalog never imports it.
    """

    name: str
    forward: Callable[..., Any]
    derivative: Callable[..., Any]
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    formula: str = ""
    citation: str = ""
    family: str = "baseline"
    summary: str = ""
    gate: Callable[..., Any] | None = None
    naive: Callable[..., Any] | None = None
    native: Callable[..., Any] | None = None
    param_derivatives: Callable[..., Any] | None = None
    module_class: type | None = None
    symbolic: Callable[..., Any] | None = None  # (sympy, x, **params) -> sympy expression
    upcast_float32: bool = True  # compute float32 inputs in float64 (see gatelab._compute)
    #: The fused kernels that implement this entry (see gatelab.kernels.select): "c" (float32
    #: CPU, kernels/cpu_native.c), "compiled" (CPU, torch.compile of float64 formulas),
    #: "triton" (CUDA). Empty: the exact torch path only — user entries by default.
    kernels: frozenset[str] = frozenset()

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def bind(self, **given: Any) -> dict[str, Any]:
        """Validate keyword parameters and fill in the defaults of the others."""
        known = {p.name: p for p in self.params}
        unknown = [k for k in given if k not in known]
        if unknown:
            accepted = ", ".join(known) or "no parameters"
            raise ValueError(
                f"unknown parameter(s) {', '.join(map(repr, unknown))} for {self.name}; "
                f"it accepts: {accepted}"
            )
        bound = self.defaults
        for key, value in given.items():
            bound[key] = known[key].validate(value, self.name)
        return bound

    def format(self, params: Mapping[str, Any]) -> str:
        """The canonical spec string: the name and every parameter that differs from its default."""
        changed = [
            f"{p.name}={params[p.name]!r}"
            for p in self.params
            if p.name in params and params[p.name] != p.default
        ]
        return f"{self.name}({', '.join(changed)})" if changed else self.name


#: Kernel coverage of the gated catalog entries, and of the others that only torch.compile fuses.
GATED_KERNELS = frozenset({"c", "compiled", "triton"})
COMPILED_ONLY = frozenset({"compiled"})

_SPECS: dict[str, Spec] = {}
_ALIASES: dict[str, str] = {}
#: "unloaded" until the first call that reads or changes the registry imports the built-in
#: catalog (gatelab.catalog's entry modules, which import torch); "loading" while they register.
_catalog = "unloaded"


def _load_catalog() -> None:
    """Register the built-in entries on first use, so that ``import gatelab`` and the command
    line's parser stay free of torch (``import torch`` alone is 1–3 s; the demo's first line is
    due within 2 s) and a user's ``register`` still meets the built-in names."""
    global _catalog
    if _catalog != "unloaded":
        return
    _catalog = "loading"
    try:
        from .catalog import classic, gelu, gem  # noqa: F401  (each registers its entries)
    except BaseException:
        _catalog = "unloaded"
        raise
    _catalog = "loaded"


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register(spec: Spec, *, overwrite: bool = False) -> Spec:
    """Add `spec` to the registry under its name and aliases; returns it."""
    _load_catalog()
    keys = [_normalise(spec.name), *map(_normalise, spec.aliases)]
    if not overwrite:
        taken = [k for k in keys if k in _SPECS or k in _ALIASES]
        if taken:
            raise ValueError(
                f"activation name(s) {', '.join(taken)} already registered; "
                "choose another name or pass overwrite=True"
            )
    if not keys[0].isidentifier():
        raise ValueError(f"activation name {spec.name!r} must be a Python identifier")
    _SPECS[keys[0]] = spec
    for alias in keys[1:]:
        _ALIASES[alias] = keys[0]
    return spec


def unregister(name: str) -> None:
    """Remove a registered activation and its aliases (for user-defined entries and tests)."""
    _load_catalog()
    key = _ALIASES.get(_normalise(name), _normalise(name))
    if key not in _SPECS:
        raise ValueError(f"no activation named {name!r} is registered")
    del _SPECS[key]
    for alias in [a for a, target in _ALIASES.items() if target == key]:
        del _ALIASES[alias]


def is_registered(spec: Spec) -> bool:
    """Whether `spec` itself is the entry registered under its name (one dict lookup on the
    kernels' dispatch path; the catalog is loaded only when that lookup misses)."""
    if _SPECS.get(spec.name) is spec:
        return True
    _load_catalog()
    return _SPECS.get(spec.name) is spec or _SPECS.get(_normalise(spec.name)) is spec


def names(*, aliases: bool = False) -> list[str]:
    """Registered activation names, sorted (with `aliases=True`, the aliases too)."""
    _load_catalog()
    found = list(_SPECS) + (list(_ALIASES) if aliases else [])
    return sorted(found)


def lookup(name: str) -> Spec:
    """The Spec registered under `name` or one of its aliases; ValueError with close matches."""
    _load_catalog()
    key = _normalise(name)
    key = _ALIASES.get(key, key)
    if key in _SPECS:
        return _SPECS[key]
    candidates = list(_SPECS) + list(_ALIASES)
    close = difflib.get_close_matches(key, candidates, n=5, cutoff=0.5)
    close += [c for c in candidates if key and key in c and c not in close][: 5 - len(close)]
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown activation {name!r}{hint} (`gatelab list` shows all {len(_SPECS)} names)"
    )


def shortened(text: str, limit: int = 60) -> str:
    """`text`, cut to `limit` characters with an ellipsis (long values in error messages)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _literal(node: ast.expr, source: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
        and not isinstance(node.operand.value, bool)
    ):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    raise ValueError(
        f"in spec {source!r}: parameter values must be literal numbers or booleans, "
        f"got {shortened(ast.unparse(node))!r}"
    )


#: The longest spec string parse() accepts. The longest in the catalog's docs is 48 characters
#: ("gelu_general(mu=0.1, sigma=2.5, learnable=True)"); without a bound, a 20,000-term
#: expression or 10^5 nested minus signs made ast.parse raise RecursionError or MemoryError.
MAX_SPEC_LENGTH = 256


def parse(spec: str) -> tuple[str, tuple, dict[str, Any]]:
    """Split a spec string into (name, positional values, keyword values) without evaluating it."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"an activation spec must be a non-empty string, got {spec!r}")
    if len(spec) > MAX_SPEC_LENGTH:
        raise ValueError(
            f"activation spec is {len(spec)} characters long; at most {MAX_SPEC_LENGTH} are "
            f"allowed (it starts {spec[:40]!r})"
        )
    head, paren, tail = spec.strip().partition("(")
    text = head.strip().replace("-", "_") + paren + tail  # "quick-gelu" names "quick_gelu"
    try:
        with warnings.catch_warnings():  # "1if 1 else 2" warns before it fails: say it once
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError) as error:
        raise ValueError(
            f"cannot parse activation spec {spec!r}: expected NAME or NAME(param=value, ...)"
        ) from error
    if isinstance(tree, ast.Name):
        return tree.id, (), {}
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name):
        raise ValueError(
            f"cannot parse activation spec {spec!r}: expected NAME or NAME(param=value, ...)"
        )
    positional = tuple(_literal(arg, spec) for arg in tree.args)
    keywords: dict[str, Any] = {}
    for keyword in tree.keywords:
        if keyword.arg is None:
            raise ValueError(f"in spec {spec!r}: '**' is not allowed")
        if keyword.arg in keywords:
            raise ValueError(f"in spec {spec!r}: parameter '{keyword.arg}' given twice")
        keywords[keyword.arg] = _literal(keyword.value, spec)
    return tree.func.id, positional, keywords


def resolve(spec: str | Spec, **overrides: Any) -> tuple[Spec, dict[str, Any]]:
    """Parse and validate a spec; `overrides` replace parameters given in the string."""
    if isinstance(spec, Spec):
        return spec, spec.bind(**overrides)
    name, positional, keywords = parse(spec)
    entry = lookup(name)
    if len(positional) > len(entry.params):
        raise ValueError(
            f"in spec {spec!r}: {entry.name} takes at most {len(entry.params)} parameters, "
            f"got {len(positional)}"
        )
    from_position = dict(zip((p.name for p in entry.params), positional))
    twice = sorted(set(from_position) & set(keywords))
    if twice:
        raise ValueError(f"in spec {spec!r}: parameter(s) {', '.join(twice)} given twice")
    return entry, entry.bind(**{**from_position, **keywords, **overrides})
