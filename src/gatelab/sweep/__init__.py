"""Sweeps: a validated grid (:mod:`.spec`), executed locally or on Ray, one record per run in
a crash-safe store (:mod:`gatelab.results`).

    from gatelab.sweep import load_spec, run_sweep
    run_sweep(load_spec("sweep.toml"), "sweeps/a", workers=2)
"""

from .runner import EXECUTORS, pending, run_sweep
from .spec import GridPoint, SpecError, SweepSpec, load_spec, parse_spec, run_id

__all__ = [
    "EXECUTORS",
    "GridPoint",
    "SpecError",
    "SweepSpec",
    "load_spec",
    "parse_spec",
    "pending",
    "run_id",
    "run_sweep",
]
