"""What a task is: a named protocol that turns a :class:`RunConfig` into an :class:`Experiment`.

A :class:`Task` holds the paper's defaults (learning rate and its grid, epochs per scale, the
datasets it accepts, its options) and a ``build`` function; the trainer (:mod:`gatelab.train`)
runs any Experiment the same way. Schedules are pure functions of the step, so a resumed run
needs no scheduler state.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

SCALES = ("smoke", "paper")
Objective = Literal["classify", "reconstruct", "language"]
#: objective → (final metric, validation metric that selects the lr, higher is better)
METRICS: dict[str, tuple[str, str, bool]] = {
    "classify": ("test_accuracy", "val_accuracy", True),
    "reconstruct": ("test_mse", "val_mse", False),
    "language": ("val_loss", "val_loss", False),
}


@dataclass(frozen=True)
class RunConfig:
    """One run: everything that determines its result (and where to read data from)."""

    task: str
    activation: str = "gelu"
    seed: int = 0
    lr: float | None = None  # None: the task's default
    epochs: int | None = None  # None: the scale's epochs
    scale: str = "paper"
    dataset: str | None = None  # None: the task's default dataset
    data_root: str | None = None
    download: bool = True
    device: str = "auto"
    compile: bool = False
    precision: str = "auto"  # auto (bf16 autocast on CUDA, fp32 on CPU) | fp32 | bf16
    options: Mapping[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """The fields that decide the result (not where data lives or how it is computed)."""
        return {
            "task": self.task,
            "activation": self.activation,
            "seed": self.seed,
            "lr": self.lr,
            "epochs": self.epochs,
            "scale": self.scale,
            "dataset": self.dataset,
            "options": dict(sorted(self.options.items())),
        }


@dataclass
class TensorData:
    """Preprocessed splits: float inputs, int64 labels (or float targets for an autoencoder)."""

    train: tuple[Tensor, Tensor]
    val: tuple[Tensor, Tensor]
    test: tuple[Tensor, Tensor]
    num_classes: int | None
    dataset: str
    source: str

    def nbytes(self) -> int:
        return sum(
            t.numel() * t.element_size() for s in (self.train, self.val, self.test) for t in s
        )

    def to(self, device: torch.device) -> TensorData:
        move = lambda pair: tuple(t.to(device) for t in pair)  # noqa: E731
        return TensorData(
            move(self.train),
            move(self.val),
            move(self.test),
            self.num_classes,
            self.dataset,
            self.source,
        )


Schedule = Callable[[torch.optim.Optimizer, int, int, float], None]
"""schedule(optimizer, step, total_steps, base_lr) sets the param groups' lr (and betas)."""
Augment = Callable[[Tensor, torch.Generator], Tensor]


@dataclass
class Experiment:
    """A built task: model, data, optimiser factory, schedule and per-batch augmentation."""

    model: nn.Module
    data: TensorData | Any  # TensorData, or what train_batches draws from (gatelab.data.text)
    objective: Objective
    batch_size: int
    make_optimizer: Callable[[Iterable[nn.Parameter], float], torch.optim.Optimizer]
    schedule: Schedule
    augment: Augment | None = None
    #: extra evaluation after training: (model, data, evaluate) → {"curves": …, "metrics": …}
    final_eval: Callable[..., dict[str, Any]] | None = None
    eval_batch_size: int = 1000
    # Hooks for experiments that are not (x, y) tensors — the language models:
    #: train_batches(generator, epoch) → the epoch's (x, y) batches, drawn with `generator`
    train_batches: Callable[[torch.Generator, int], Iterable[tuple[Tensor, Tensor]]] | None = None
    steps_per_epoch: int | None = None  # required with train_batches
    #: step_loss(model, x, y) → scalar loss, for models computing their own (default: by objective)
    step_loss: Callable[[nn.Module, Tensor, Tensor], Tensor] | None = None
    #: evaluate(model, split) → {metric: value} for each of eval_splits (default: by objective)
    evaluate: Callable[[nn.Module, str], dict[str, float]] | None = None
    eval_splits: tuple[str, ...] = ("val", "test")
    tokens_per_sample: int | None = None  # language models: the record gives tokens/s


@dataclass(frozen=True)
class Task:
    """A named protocol from a paper: its defaults and a builder of Experiments."""

    name: str
    summary: str
    citation: str
    datasets: tuple[str, ...]  # the first is the default
    lr: float
    lr_grid: tuple[float, ...]
    epochs: Mapping[str, int]  # per scale
    objective: Objective
    build: Callable[[RunConfig, torch.device], Experiment]
    options: Mapping[str, Any] = field(default_factory=dict)  # option → default

    @property
    def metric(self) -> str:
        """The final metric the papers compare."""
        return METRICS[self.objective][0]

    @property
    def val_metric(self) -> str:
        """The validation metric whose median selects the learning rate."""
        return METRICS[self.objective][1]

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.objective][2]

    @property
    def objective_fields(self) -> dict[str, Any]:
        """What a record stores about its metric, so that statistics need no task registry:
        ``{"metric": …, "val_metric": …, "higher_is_better": …}``."""
        return {
            "metric": self.metric,
            "val_metric": self.val_metric,
            "higher_is_better": self.higher_is_better,
        }


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The task called `name`; an unknown name raises ValueError naming the closest ones."""
    if name in TASKS:
        return TASKS[name]
    close = difflib.get_close_matches(name, TASKS, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ValueError(f"unknown task {name!r}{hint}; tasks: {', '.join(sorted(TASKS))}")


def objective_fields(name: str) -> dict[str, Any] | None:
    """:attr:`Task.objective_fields` of the task called `name`, None for an unknown name."""
    task = TASKS.get(name)
    return None if task is None else task.objective_fields


def resolve_options(task: Task, options: Mapping[str, Any]) -> dict[str, Any]:
    """The task's option defaults updated by `options`; an unknown option is a ValueError."""
    unknown = sorted(set(options) - set(task.options))
    if unknown:
        known = ", ".join(sorted(task.options)) or "none"
        raise ValueError(f"task {task.name} has no option {', '.join(unknown)}; options: {known}")
    return {**task.options, **options}


def data_root(config: RunConfig) -> Path | None:
    return Path(config.data_root).expanduser() if config.data_root else None


def adam(params, lr: float) -> torch.optim.Optimizer:
    """Adam with its default betas (0.9, 0.999), as the GELU paper's experiments use it.

    torch's fused kernel where it has one (floating-point parameters on CPU or CUDA): the same
    update rule in one pass, 0.22 ms per step of the §3.1 MLP against 0.72 ms for the
    single-tensor loop torch uses on CPU by default (2 cores, measured), which gatelab.ensemble
    shares (gatelab.ensemble.optim)."""
    params = list(params)
    fused = bool(params) and all(
        p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params
    )
    return torch.optim.Adam(params, lr=lr, fused=fused or None)


# --- schedules (pure functions of the step) ---------------------------------------------------


def constant(optimizer: torch.optim.Optimizer, step: int, total: int, base_lr: float) -> None:
    """A constant learning rate (the GELU paper's MNIST experiments)."""
    _set(optimizer, lr=base_lr)


def linear_decay_from_half(beta1_after: float | None = None) -> Schedule:
    """Constant lr for the first half, then linear decay to 0; optionally Adam's β1 changes at
    the half (the GELU paper's CIFAR-10 CNN: decay from epoch 100 of 200, β1 0.9 → 0.5)."""

    def schedule(optimizer: torch.optim.Optimizer, step: int, total: int, base_lr: float) -> None:
        half = total / 2
        late = step >= half
        lr = base_lr if not late else base_lr * max(0.0, (total - step) / (total - half))
        _set(optimizer, lr=lr)
        if beta1_after is not None:
            for group in optimizer.param_groups:
                group["betas"] = (beta1_after if late else 0.9, group["betas"][1])

    return schedule


def cosine(optimizer: torch.optim.Optimizer, step: int, total: int, base_lr: float) -> None:
    """One SGDR cycle (Loshchilov & Hutter 2017) over the whole run: η = η₀(1 + cos πt/T)/2."""
    _set(optimizer, lr=0.5 * base_lr * (1 + math.cos(math.pi * step / max(total, 1))))


def step_decay(fractions: tuple[float, ...] = (0.5, 0.75), factor: float = 0.1) -> Schedule:
    """lr × factor at each fraction of the run (He et al. 2016: ÷10 at 32k and 48k of 64k)."""

    def schedule(optimizer: torch.optim.Optimizer, step: int, total: int, base_lr: float) -> None:
        drops = sum(step >= f * total for f in fractions)
        _set(optimizer, lr=base_lr * factor**drops)

    return schedule


def _set(optimizer: torch.optim.Optimizer, **values: float) -> None:
    for group in optimizer.param_groups:
        group.update(values)
