"""The papers' experiments as named tasks: ``gatelab.tasks.get_task("mnist-mlp")``.

Each task is a protocol with the paper's defaults (see its module's docstring for the source);
:func:`gatelab.train.run` runs one configuration of it.
"""

from . import cifar, language, mnist, tagging  # noqa: F401  (each module registers its tasks)
from .base import (
    SCALES,
    TASKS,
    Experiment,
    RunConfig,
    Task,
    TensorData,
    get_task,
    objective_fields,
    register_task,
    resolve_options,
)

__all__ = [
    "SCALES",
    "TASKS",
    "Experiment",
    "RunConfig",
    "Task",
    "TensorData",
    "get_task",
    "objective_fields",
    "register_task",
    "resolve_options",
]
