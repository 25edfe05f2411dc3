"""`gatelab bench [SPEC…]`: forward/backward throughput against copy bandwidth (the
measurements are :mod:`gatelab.bench`)."""

from __future__ import annotations

from typing import Any


def add(subparsers: Any) -> None:
    from ..bench import add_bench

    add_bench(subparsers)
