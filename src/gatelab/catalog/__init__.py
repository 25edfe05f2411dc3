"""The built-in catalog; its entries register on the registry's first use.

gelu.py — the GELU family and SiLU; gem.py — the GEM family (a reconstruction); classic.py —
the baselines; custom.py — `gated`, for user-defined gated activations.

:func:`gatelab.registry._load_catalog` imports classic, gelu and gem when a name is first
looked up, listed or registered. This package does not import them itself: modules.py imports
custom.py, and classic.py imports modules.py, so an eager import here made ``import
gatelab.modules`` circular whenever it came first.
"""

from .custom import gated

__all__ = ["gated"]
