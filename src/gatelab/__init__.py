"""gatelab: GELU, its gated relatives x·F(x), the GEM family and their baselines — exact,
robust, memory-lean PyTorch implementations behind a small registry.

    import gatelab
    act = gatelab.create("e_gem(N=2, eps=1e-4)")      # nn.Module
    f = gatelab.get_fn("gelu")                         # callable
    gatelab.swap_activations(model, "gelu_tanh")      # replace nn.ReLU/GELU/SiLU/... in place

Importing gatelab loads torch and numpy only; analysis, training and reports live in extras.
"""

from . import catalog, functional, integrations
from .catalog.custom import gated
from .gain import init_gain, normal_moment
from .modules import Activation, create, get_fn
from .registry import Param, Spec, lookup, names, parse, register, unregister
from .swap import DEFAULT_REPLACE, swap_activations

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "DEFAULT_REPLACE",
    "Param",
    "Spec",
    "catalog",
    "create",
    "functional",
    "gated",
    "get_fn",
    "integrations",
    "init_gain",
    "lookup",
    "names",
    "normal_moment",
    "parse",
    "register",
    "swap_activations",
    "unregister",
]
