"""The built-in catalog; importing this package registers every entry.

gelu.py — the GELU family and SiLU; gem.py — the GEM family (a reconstruction); classic.py —
the baselines; custom.py — `gated`, for user-defined gated activations.
"""

from . import classic, gelu, gem  # noqa: F401  (registration side effects)
from .custom import gated

__all__ = ["gated"]
