"""`nn.Module` and functional forms of every registered activation."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .autograd import apply
from .catalog.custom import GatedRecipe, recipe_of
from .registry import Spec, lookup, resolve

#: What torch.jit.script reports for a model holding a gatelab activation.
SCRIPT_ERROR = (
    "gatelab activations cannot be compiled by torch.jit.script (their forward dispatches "
    "through Python: Specs, kernels, autograd Functions); use torch.jit.trace (its graph calls "
    "gatelab's registered ops; `import gatelab` before torch.jit.load), torch.compile or "
    "torch.export instead"
)


def check_inplace(inplace: Any) -> None:
    """Raise TypeError unless `inplace` is a bool; the value itself is ignored (see Activation)."""
    if not isinstance(inplace, bool):
        raise TypeError(f"inplace must be True or False, got {inplace!r}")


class Activation(nn.Module):
    """A catalog activation as a module; its repr is a spec string that `gatelab.create` accepts.

    >>> Activation("e_gem(N=2)")
    e_gem(N=2)
    >>> Activation("gelu", inplace=True)  # accepted for timm/torch compatibility, ignored
    gelu

    Pickling (torch.save of a whole model, copy.deepcopy) stores a catalog entry by its name and
    a `gatelab.gated` entry by its recipe (see gatelab.catalog.custom.GatedRecipe).
    """

    def __init__(self, spec: str | Spec, *, inplace: bool = False, **params: Any) -> None:
        """`spec` names the activation, `params` its parameters (they override the string's).

        `inplace` is accepted for drop-in compatibility with torch and timm, which build layers
        as ``nn.ReLU(inplace=True)`` / ``act_layer(inplace=True)`` (timm/models/resnet.py,
        timm/layers/create_act.py), and is ignored: gatelab activations never compute in place.
        Their memory-lean autograd Function saves only the input x and recomputes f′(x) from
        it in backward (gatelab.autograd), so writing f(x) over x would save no memory and would
        break backward. It is not a parameter of the activation: repr and spec string are
        unchanged.
        """
        check_inplace(inplace)
        super().__init__()
        entry, bound = resolve(spec, **params)
        self.spec = entry
        self.params = bound

    def tensor_params(self, x: Tensor) -> dict[str, Tensor]:
        """Parameters passed to the formula as tensors (learnable ones), shaped to broadcast
        against `x`; none by default."""
        return {}

    def current_params(self) -> dict[str, Any]:
        """The parameter values a spec string must carry to rebuild this module."""
        return dict(self.params)

    def forward(self, x: Tensor) -> Tensor:
        return apply(self.spec, x, {**self.params, **self.tensor_params(x)})

    def __repr__(self) -> str:
        return self.spec.format(self.current_params())

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # Specs hold functions (lambdas among them): a catalog entry pickles as its registered
        # name, a gated() entry as its recipe, whose functions pickle by reference.
        recipe = recipe_of(self.spec)
        state["spec"] = self.spec.name if recipe is None else recipe
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        spec = state["spec"]
        state["spec"] = spec.restore() if isinstance(spec, GatedRecipe) else lookup(spec)
        self.__dict__.update(state)

    def __prepare_scriptable__(self) -> nn.Module:
        """torch.jit.script calls this on every submodule before compiling (torch/jit/_script.py);
        gatelab's forward is not TorchScript, so fail with the alternatives."""
        raise RuntimeError(SCRIPT_ERROR)


def create(spec: str | Spec, *, inplace: bool = False, **overrides: Any) -> nn.Module:
    """Build the module for `spec` ("gelu", "e_gem(N=2, eps=1e-4)", …); `overrides` win.

    `inplace` is accepted and ignored, as in `Activation`: gatelab activations never compute in
    place (backward needs the saved input). So ``functools.partial(gatelab.create, "gelu")`` is
    a timm ``act_layer``, which timm calls as ``act_layer(inplace=True)`` or ``act_layer()``.
    """
    check_inplace(inplace)
    entry, bound = resolve(spec, **overrides)
    cls = entry.module_class or Activation
    return cls(entry, **bound)


class BoundFunction:
    """A functional activation with its parameters bound; repr is its spec string."""

    def __init__(self, spec: Spec, params: dict[str, Any]) -> None:
        self.spec, self.params = spec, params
        self.__name__ = spec.name
        self.__doc__ = spec.summary

    def __call__(self, x: Tensor) -> Tensor:
        return apply(self.spec, x, self.params)

    def __repr__(self) -> str:
        return self.spec.format(self.params)


def get_fn(spec: str | Spec, **overrides: Any) -> BoundFunction:
    """The functional form of `spec`: a callable x ↦ f(x) with closed-form, memory-lean backward."""
    entry, bound = resolve(spec, **overrides)
    return BoundFunction(entry, bound)


def check_fits(value: float, name: str, dtype: torch.dtype | None = None) -> float:
    """value, if the dtype holds it as a finite number; else a ValueError naming the limit."""
    dtype = dtype or torch.get_default_dtype()
    if not bool(torch.tensor(float(value), dtype=dtype).isfinite()):  # rounds to ±inf, or NaN
        limit = torch.finfo(dtype).max
        raise ValueError(
            f"{name} = {value!r} overflows {dtype} (largest {limit:.4g}) as a learnable "
            f"parameter; use a value of magnitude ≤ {limit:.4g}"
        )
    return value


def scalar_parameter(
    value: float, dtype: torch.dtype | None = None, name: str = "parameter"
) -> nn.Parameter:
    """A learnable scalar; a value the dtype cannot hold (it would become ±inf) is a ValueError."""
    dtype = dtype or torch.get_default_dtype()
    return nn.Parameter(torch.tensor(check_fits(float(value), name, dtype), dtype=dtype))
