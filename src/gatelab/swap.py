"""Replace activation modules inside an existing model, in place."""

from __future__ import annotations

import copy
from collections.abc import Callable

from torch import nn

from .modules import Activation, create
from .registry import Spec

#: Hidden-layer activation types replaced by default. Tanh and Sigmoid are left alone: inside
#: models they are usually gates or output squashers, not the hidden nonlinearity.
DEFAULT_REPLACE: tuple[type[nn.Module], ...] = (
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
)

Target = str | Spec | nn.Module | Callable[[str, nn.Module], nn.Module]
Selector = tuple | type | Callable[[str, nn.Module], bool]


def _matcher(replace: Selector) -> Callable[[str, nn.Module], bool]:
    if isinstance(replace, type):
        replace = (replace,)
    if isinstance(replace, tuple):
        if not all(isinstance(t, type) and issubclass(t, nn.Module) for t in replace):
            raise TypeError("replace must be a tuple of nn.Module types or a predicate")
        return lambda _name, module: isinstance(module, replace)
    if callable(replace):
        return replace
    raise TypeError("replace must be a tuple of nn.Module types or a predicate(name, module)")


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
    factory(name, old_module). `replace` is a tuple of module types or a predicate
    (qualified_name, module) -> bool. Works through Sequential, ModuleList, ModuleDict and plain
    attributes; a module shared by several parents is replaced by one shared new module. New
    modules take the device and floating dtype of what they replace (or of their parent, or
    the model). Returns the qualified names replaced. Activations called functionally inside
    `forward` (F.relu) are not modules and cannot be swapped.
    """
    matches, build = _matcher(replace), _builder(to)
    if matches("", model):
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
            if id(child) in created or (id(child) not in done and not matches(qualified, child)):
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
