"""gatelab activations inside timm and Hugging Face transformers models, by their own switches.

timm builds every activation from one ``act_layer`` argument (timm/layers/create_act.py)::

    timm.create_model("resnet18", act_layer=gatelab.integrations.timm_act_layer("gelu"))

transformers builds them from a config string through ``transformers.activations.ACT2FN``
(``config.hidden_act``; GPT-2's ``activation_function``)::

    gatelab.integrations.register_transformers()
    config = LlamaConfig(hidden_act="gatelab:e_gem(N=2)", ...)

Neither library is imported until one of these is called. docs/integrations.md has the details.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import nn

from . import registry
from .modules import create
from .registry import Spec, resolve

__all__ = ["PREFIX", "TimmActLayer", "register_transformers", "timm_act_layer"]

# --- timm -----------------------------------------------------------------------------------


class TimmActLayer:
    """A timm ``act_layer`` that builds a gatelab activation: ``layer(inplace=True)`` and
    ``layer()`` both return ``gatelab.create(spec)``.

    timm calls ``act_layer(inplace=True)`` (timm/models/resnet.py), ``act_layer()``
    (timm/layers/mlp.py) or, through ``create_act_layer``, ``act_layer(inplace=..., **kwargs)``;
    ``get_act_layer`` passes any non-string through unchanged (timm/layers/create_act.py).
    `inplace` is accepted and ignored, as gatelab.Activation documents; keyword arguments are
    activation parameters. A plain class (not a lambda or partial) so that it pickles and has a
    readable repr.
    """

    def __init__(self, spec: str | Spec, **params: Any) -> None:
        entry, bound = resolve(spec, **params)  # validate now, not inside timm's constructors
        self.spec = entry.format(bound)

    def __call__(self, *args: bool, inplace: bool = False, **params: Any) -> nn.Module:
        if args:  # nn.ReLU(True): the only positional argument torch's and timm's layers share
            if len(args) > 1 or not isinstance(args[0], bool):
                raise TypeError(
                    f"{self!r} takes at most one positional argument, inplace (a bool); pass "
                    f"activation parameters by keyword, got {args!r}"
                )
            inplace = args[0]
        return create(self.spec, inplace=inplace, **params)

    def __repr__(self) -> str:
        return f"timm_act_layer({self.spec!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimmActLayer) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash((TimmActLayer, self.spec))

    def __reduce__(self) -> tuple:
        return (TimmActLayer, (self.spec,))


def timm_act_layer(spec: str | Spec, **params: Any) -> TimmActLayer:
    """The timm ``act_layer`` for `spec`: ``timm.create_model(name, act_layer=timm_act_layer(
    "gelu"))``. (``functools.partial(gatelab.create, "gelu")`` works too.)"""
    return TimmActLayer(spec, **params)


# --- Hugging Face transformers --------------------------------------------------------------

#: The namespace of gatelab activations in a transformers config: ``"gatelab:" + spec string``,
#: e.g. ``hidden_act="gatelab:e_gem(N=2)"``. A plain string, so config.json keeps it as is.
PREFIX = "gatelab:"


def register_transformers(names: Iterable[str] | None = None) -> list[str]:
    """Make ``"gatelab:SPEC"`` a valid transformers activation string; returns the keys added.

    Adds ``"gatelab:NAME"`` to ``transformers.activations.ACT2FN`` for every registered name
    and alias (or for the spec strings in `names`), as ``(gatelab.create, {"spec": ...})`` —
    ACT2FN is a ClassInstantier, an OrderedDict whose ``__getitem__`` calls ``cls(**kwargs)``
    (transformers/activations.py). Since a key cannot be added for every parametrised spec, it
    also gives ACT2FN dict's ``__missing__`` hook (and ``in``, which config validators use) for
    any ``"gatelab:SPEC"``, parsed literally by gatelab.registry.parse, so that
    ``from_pretrained`` of a saved ``hidden_act="gatelab:e_gem(N=2)"`` needs only this call.
    Call it before building or loading the model; repeated calls are harmless.
    """
    from transformers import activations  # lazy: only here is transformers imported

    table = activations.ACT2FN
    _install_lookup(table)
    added = []
    for spec in _spec_strings(names):
        key = spec if spec.startswith(PREFIX) else PREFIX + spec
        table[key] = _entry(key)
        added.append(key)
    return added


def _spec_strings(given: Iterable[str] | None) -> list[str]:
    if given is None:
        return registry.names(aliases=True)
    if isinstance(given, str):
        return [given]
    return list(given)


def _entry(key: str) -> tuple:
    """The ACT2FN value for `key` ("gatelab:SPEC"): (factory, kwargs); ValueError if invalid."""
    spec = key[len(PREFIX) :]
    resolve(spec)  # parse literally and validate, never eval
    return (create, {"spec": spec})


class _PrefixLookup:
    """ACT2FN's "gatelab:SPEC" keys on demand, through dict's __missing__ protocol."""

    __slots__ = ()

    def __missing__(self, key: Any) -> tuple:
        if not (isinstance(key, str) and key.startswith(PREFIX)):
            raise KeyError(key)
        try:
            entry = _entry(key)
        except ValueError as error:
            raise KeyError(f"{key}: {error}") from None
        self[key] = entry  # type: ignore[index]  # cached: listed by keys() from now on
        return entry

    def __contains__(self, key: object) -> bool:
        if super().__contains__(key):  # type: ignore[misc]
            return True
        try:
            self.__missing__(key)
        except KeyError:
            return False
        return True


def _install_lookup(table: Any) -> None:
    """Give `table` (ACT2FN) the prefix lookup, keeping its class as a base (isinstance holds)."""
    if isinstance(table, _PrefixLookup):
        return
    if not isinstance(table, dict):
        raise TypeError(f"transformers.activations.ACT2FN is not a dict: {type(table)!r}")
    base = type(table)
    table.__class__ = type(base.__name__, (_PrefixLookup, base), {"__module__": __name__})
