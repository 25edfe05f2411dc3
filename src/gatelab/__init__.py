"""gatelab: GELU, its gated relatives x·F(x), the GEM family and their baselines — exact,
robust, memory-lean PyTorch implementations behind a small registry.

    import gatelab
    act = gatelab.create("e_gem(N=2, eps=1e-4)")      # nn.Module
    f = gatelab.get_fn("gelu")                         # callable
    gatelab.swap_activations(model, "gelu_tanh")      # replace nn.ReLU/GELU/SiLU/... in place

The names below load on first use (PEP 562), so ``import gatelab`` itself imports nothing
heavy and the ``gatelab`` command prints its first line before torch has loaded (``import
torch`` alone takes 1–3 s on 2 cores). The first use of any of them loads torch and numpy only;
analysis, training and reports live in extras.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name → the submodule that defines it (a submodule itself where the two are equal).
_EXPORTS: dict[str, str] = {
    "Activation": "modules",
    "DEFAULT_REPLACE": "swap",
    "Param": "registry",
    "Spec": "registry",
    "catalog": "catalog",
    "create": "modules",
    "functional": "functional",
    "gated": "catalog.custom",
    "get_fn": "modules",
    "integrations": "integrations",
    "init_gain": "gain",
    "lookup": "registry",
    "names": "registry",
    "normal_moment": "gain",
    "parse": "registry",
    "register": "registry",
    "swap_activations": "swap",
    "unregister": "registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        import difflib

        close = difflib.get_close_matches(name, _EXPORTS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise AttributeError(f"module 'gatelab' has no attribute {name!r}{hint}")
    loaded = importlib.import_module(f".{module}", __name__)
    value = loaded if module == name else getattr(loaded, name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # the eager form, for type checkers and IDEs (F401: __all__ is computed)
    from . import catalog, functional, integrations  # noqa: F401
    from .catalog.custom import gated  # noqa: F401
    from .gain import init_gain, normal_moment  # noqa: F401
    from .modules import Activation, create, get_fn  # noqa: F401
    from .registry import Param, Spec, lookup, names, parse, register, unregister  # noqa: F401
    from .swap import DEFAULT_REPLACE, swap_activations  # noqa: F401
