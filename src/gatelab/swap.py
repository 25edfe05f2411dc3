"""Replace activation modules inside an existing model, in place."""

from __future__ import annotations

import copy
import functools
import warnings
from collections.abc import Callable

from torch import nn

from .modules import Activation, create
from .registry import Spec

#: timm's hidden-layer activation classes (timm/layers/activations.py, activations_me.py), by
#: qualified name so that timm is never imported. Its Sigmoid, Tanh and HardSigmoid(Me) are
#: left alone, as torch's are: timm uses them as gates (squeeze-excite).
TIMM_ACTIVATIONS: tuple[str, ...] = tuple(
    f"timm.layers.{name}"
    for name in (
        "activations.GELU",  # F.gelu, exact: gatelab gelu
        "activations.GELUTanh",  # F.gelu(approximate="tanh"): gelu_tanh
        "activations.QuickGELU",  # x·σ(1.702x): gelu_sigmoid
        "activations.Swish",  # x·σ(x): silu
        "activations.Mish",  # x·tanh(softplus(x)): mish
        "activations.HardSwish",  # x·relu6(x + 3)/6: hardswish
        "activations.HardMish",  # ½x·clamp(x + 2, 0, 2): no twin
        "activations.PReLU",  # an nn.PReLU taking a dummy inplace: prelu
        "activations_me.SwishMe",  # the memory-efficient variants of the same functions
        "activations_me.MishMe",
        "activations_me.HardSwishMe",
        "activations_me.HardMishMe",
    )
)

#: Hugging Face transformers' hidden-layer activation classes (transformers/activations.py,
#: the values of ACT2FN), by qualified name so that transformers is never imported. Left alone:
#: LinearActivation (identity), LaplaceActivation (MEGA's attention function) and
#: SqrtSoftplusActivation (a router score), like nn.Tanh and nn.Sigmoid.
TRANSFORMERS_ACTIVATIONS: tuple[str, ...] = tuple(
    f"transformers.activations.{name}"
    for name in (
        "GELUActivation",  # F.gelu, or x·½(1 + erf(x/√2)), exact: gatelab gelu
        "GELUTanh",  # F.gelu(approximate="tanh"), alias PytorchGELUTanh: gelu_tanh
        "PytorchGELUTanh",  # the same class, by its name in older transformers
        "NewGELUActivation",  # ½x(1 + tanh(√(2/π)(x + 0.044715x³))): gelu_tanh
        "FastGELUActivation",  # the same, √(2/π) rounded to 0.7978845608: gelu_tanh
        "AccurateGELUActivation",  # the same as NewGELUActivation: gelu_tanh
        "QuickGELUActivation",  # x·σ(1.702x): gelu_sigmoid
        "ClippedGELUActivation",  # clip(gelu(x), min, max) ("gelu_10"): no twin
        "SiLUActivation",  # F.silu, x·σ(x): silu
        "MishActivation",  # F.mish: mish
        "ReLUSquaredActivation",  # relu(x)²: relu_squared
        "XIELUActivation",  # xIELU, learnable (arXiv:2411.13010): no twin
    )
)

#: What swap_activations replaces by default: hidden-layer activations — torch's module types,
#: gatelab's own, and timm's and transformers' classes named by qualified name (module.QualName,
#: matched against the class and its bases, so neither library is imported). Tanh and Sigmoid
#: are left alone: inside models they are usually gates or output squashers, not the hidden
#: nonlinearity. Extend it as ``replace=(*gatelab.DEFAULT_REPLACE, MyAct)``; test a module
#: against it with `matches` (isinstance() rejects the strings).
DEFAULT_REPLACE: tuple[type[nn.Module] | str, ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Softplus,
    Activation,
    *TIMM_ACTIVATIONS,
    *TRANSFORMERS_ACTIVATIONS,
)

Target = str | Spec | nn.Module | Callable[[str, nn.Module], nn.Module]
Selector = tuple | type | str | Callable[[str, nn.Module], bool]


@functools.lru_cache(maxsize=1024)
def _class_names(cls: type) -> frozenset[str]:
    """Qualified names (module.QualName) of `cls` and its bases."""
    return frozenset(f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__)


def _check_selector_entry(entry: object) -> None:
    if isinstance(entry, type) and issubclass(entry, nn.Module):
        return
    if isinstance(entry, str) and "." in entry.strip("."):
        return
    raise TypeError(
        "replace must hold nn.Module types or qualified class names such as "
        f"'timm.layers.activations.GELU', or be a predicate(name, module); got {entry!r}"
    )


def _matcher(replace: Selector) -> Callable[[str, nn.Module], bool]:
    if isinstance(replace, (type, str)):
        replace = (replace,)
    if isinstance(replace, tuple):
        for entry in replace:
            _check_selector_entry(entry)
        types = tuple(t for t in replace if isinstance(t, type))
        names = frozenset(t for t in replace if isinstance(t, str))
        return lambda _name, module: (
            isinstance(module, types) or not names.isdisjoint(_class_names(type(module)))
        )
    if callable(replace):
        return replace
    raise TypeError("replace must be a tuple of nn.Module types or a predicate(name, module)")


def matches(module: nn.Module, replace: tuple | type | str = DEFAULT_REPLACE) -> bool:
    """Whether `module` is of a type in `replace` (types, or qualified class names matched
    against its class and bases): the isinstance() test for DEFAULT_REPLACE."""
    return _matcher(replace)("", module)


def _describe(replace: Selector) -> str:
    if replace is DEFAULT_REPLACE:
        return (
            "gatelab.DEFAULT_REPLACE (torch's ReLU, GELU, SiLU, …, gatelab's modules, and timm's "
            "and transformers' activation classes)"
        )
    if isinstance(replace, (type, str)):
        replace = (replace,)
    if isinstance(replace, tuple):
        return ", ".join(t if isinstance(t, str) else t.__qualname__ for t in replace)
    return f"modules for which {getattr(replace, '__qualname__', replace)!r} is true"


def _warn_nothing_replaced(model: nn.Module, replace: Selector) -> None:
    warnings.warn(
        f"swap_activations replaced nothing: no submodule of {type(model).__name__} matched "
        f"{_describe(replace)}. Activations called as functions (F.relu in forward) are not "
        "modules and cannot be swapped; for other activation modules pass "
        "replace=(*gatelab.DEFAULT_REPLACE, TheirClass) or a predicate "
        "replace=lambda name, module: ...",
        UserWarning,
        stacklevel=3,
    )


def _builder(to: Target) -> Callable[[str, nn.Module], nn.Module]:
    if isinstance(to, (str, Spec)):
        create(to)  # validate once, before touching the model
        return lambda _name, _old: create(to)
    if isinstance(to, nn.Module):
        return lambda _name, _old: copy.deepcopy(to)
    if callable(to):
        return to
    raise TypeError(f"`to` must be a spec string, Spec, nn.Module or factory, got {to!r}")


def _placement(old: nn.Module, parent: nn.Module, model: nn.Module) -> tuple:
    for source in (old, parent, model):
        for tensor in (*source.parameters(), *source.buffers()):
            if tensor.is_floating_point():
                return tensor.device, tensor.dtype
    return None, None


def swap_activations(
    model: nn.Module, to: Target, replace: Selector = DEFAULT_REPLACE
) -> list[str]:
    """Replace every submodule matching `replace` with a new activation `to`, in place.

    `to` is a spec string ("gelu", "e_gem(N=2)"), a Spec, a module (deep-copied per site) or a
    factory(name, old_module). `replace` is a tuple of module types and qualified class names
    ("timm.layers.activations.GELU", matched against the class and its bases without importing
    anything), or a predicate (qualified_name, module) -> bool; the default, DEFAULT_REPLACE,
    covers torch's, gatelab's, timm's and transformers' hidden-layer activations. Works through
    Sequential, ModuleList, ModuleDict and plain attributes; a module shared by several parents
    is replaced by one shared new module. New modules take the device and floating dtype of
    what they replace (or of their parent, or the model). Returns the qualified names
    replaced, and warns (UserWarning) when that is none. Activations called functionally
    inside `forward` (F.relu) are not modules and cannot be swapped.
    """
    selected, build = _matcher(replace), _builder(to)
    if selected("", model):
        raise ValueError("the model itself matches `replace`; wrap it or call create() instead")
    replaced: list[str] = []
    done: dict[int, nn.Module] = {}  # id(old) -> new, so shared modules stay shared
    created: set[int] = set()
    replaced_names: set[str] = set()
    for parent_name, parent in list(model.named_modules(remove_duplicate=False)):
        if _within(parent_name, replaced_names):
            continue  # a replaced module's old children are no longer in the model
        for child_name, child in list(parent.named_children()):
            qualified = f"{parent_name}.{child_name}" if parent_name else child_name
            if id(child) in created or (id(child) not in done and not selected(qualified, child)):
                continue
            if id(child) not in done:
                new = build(qualified, child)
                device, dtype = _placement(child, parent, model)
                if device is not None:
                    new.to(device=device, dtype=dtype)
                done[id(child)] = new
                created.add(id(new))
            setattr(parent, child_name, done[id(child)])
            _disable_native_fast_path(parent, child_name)
            replaced.append(qualified)
            replaced_names.add(qualified)
    if not replaced:
        _warn_nothing_replaced(model, replace)
    return replaced


def _within(name: str, roots: set[str]) -> bool:
    """Whether the module at qualified `name` is one of `roots` or lies below one of them."""
    parts = name.split(".") if name else []
    return any(".".join(parts[:i]) in roots for i in range(1, len(parts) + 1))


def _disable_native_fast_path(parent: nn.Module, attribute: str) -> None:
    """nn.TransformerEncoderLayer's inference fast path runs its own fused ReLU/GELU when the
    activation it was built with was one of them, ignoring the module; turn it off."""
    if attribute == "activation" and hasattr(parent, "activation_relu_or_gelu"):
        parent.activation_relu_or_gelu = 0
