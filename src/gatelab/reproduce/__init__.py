"""Paper-scale reproductions kept in the repo: ``gatelab reproduce NAME``.

- ``gelu-mnist`` — GELU paper §3.1 (Fig. 2 and 3) on full Fashion-MNIST;
- ``gelu-ae`` — GELU paper §3.2's autoencoder;
- ``gem-ablation`` — GEM N / ε / initialisation.

Each protocol is a sweep file in ``protocols/`` with a quick variant (mnist-5k, few epochs) and
a smoke variant for the tests; claims become verdicts from gatelab.stats
(:mod:`gatelab.reproduce.claims`). Shipped results: docs/results/NAME/.
"""

from .protocols import PROTOCOLS, Protocol, get_protocol
from .run import reproduce

__all__ = ["PROTOCOLS", "Protocol", "get_protocol", "reproduce"]
