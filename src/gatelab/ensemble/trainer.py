"""Train a group of runs as one stacked model: K members, one forward, backward and optimiser
step per batch for all of them.

    from gatelab.ensemble import train_group
    records = train_group(configs, group_id="g", checkpoint_dir="sweeps/a/groups/g")

The members of a group share task, activation, dataset and architecture and differ in seed,
learning rate and dropout. Each member keeps what its run of its own would have (gatelab.train
for the loop this one mirrors, step for step):

- **initial weights**: member k's model is built by its task after ``torch.manual_seed(seed)``,
  exactly as the sequential run builds it, then stacked (gatelab.ensemble.stack);
- **batch order**: drawn with its own generator reseeded per epoch from (seed, epoch) by the
  same function (``gatelab.train.shuffled``); on CPU, its dropout masks too;
- **learning rate and schedule**: its own param group of the task's torch optimiser, over its
  views of the stacked weights, edited by the task's schedule each step
  (gatelab.ensemble.optim);
- **evaluation, history, record**: its own, in the sequential record's schema plus
  ``ensemble = {group, size, member}``.

A member whose epoch ends with a non-finite loss or metric is recorded ``diverged`` at that
epoch (the sequential rule) and dropped from the stack; the others go on. After every epoch the
group's state is checkpointed atomically, so a killed group resumes to the same records.

What differs from sequential runs: batched matmuls (``baddbmm``) sum in another order than
``addmm``, so outputs differ from a run of its own in the last bits (≈1e-6 relative in float32)
and the difference grows over training as any reordering does; the tests bound it
(tests/ensemble/test_equivalence.py). On CUDA, torch's fused dropout draws other masks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._io import atomic_torch_save
from ..faults import is_environment_error, store_error
from ..tasks import RunConfig, get_task
from ..tasks.datasets import cached_datasets
from ..train import (
    Progress,
    autocast_for,
    batch_bounds,
    complete,
    epoch_seed,
    evaluate_split,
    jsonable,
    loss_of,
    make_record,
    pick_device,
    shuffled,
)
from .optim import MemberOptimizer, select_members
from .stack import NotStackable, StackedChain, _normalised

CHECKPOINT = "checkpoint.pt"
Log = Callable[[str], None]
#: Options that may differ between the members of one group (the rest must agree).
MEMBER_OPTIONS = ("dropout",)


def group_key(config: RunConfig) -> str:
    """What the members of one group share: everything but seed, lr and dropout."""
    fields = {k: v for k, v in config.__dict__.items() if k not in ("seed", "lr", "options")}
    options = {k: v for k, v in config.options.items() if k not in MEMBER_OPTIONS}
    return json.dumps({**fields, "options": options}, sort_keys=True, default=list)


class _Proxy:
    """What a task's schedule edits: an object with ``param_groups`` (one member's group)."""

    def __init__(self, group: dict[str, Any]) -> None:
        self.param_groups = [group]


class EnsembleTrainer:
    """The state of a group between epochs (everything its checkpoint holds)."""

    def __init__(
        self,
        configs: Sequence[RunConfig],
        checkpoint: Path | None = None,
        log: Log | None = None,
        group: str = "ensemble",
        on_epoch: Callable[[int, int], None] | None = None,
    ) -> None:
        self.configs = [complete(config) for config in configs]
        keys = {group_key(config) for config in self.configs}
        if len(keys) > 1:
            raise ValueError(
                "the members of an ensemble may differ only in seed, lr and dropout; got "
                + " vs ".join(sorted(keys))
            )
        self.device = pick_device(self.configs[0].device)
        self.checkpoint, self.group = checkpoint, group
        self.log = log or (lambda line: None)
        self.on_epoch = on_epoch  # on_epoch(epoch, epochs) after each epoch (a sweep's status)
        self.progress = [Progress() for _ in self.configs]
        self.alive = list(range(len(self.configs)))  # members still in the stack, in order
        self.epoch = 0
        self.train_seconds = [0.0] * len(self.configs)
        self.train_samples = [0] * len(self.configs)
        self.elapsed_before = 0.0
        self.started = time.perf_counter()
        self.experiments: list = []

    # --- setup ---------------------------------------------------------------------------------

    def setup(self, resume: bool = True) -> None:
        """Build every member as its run would (raises NotStackable when they can't stack)."""
        task = get_task(self.configs[0].task)
        with cached_datasets():
            for config in self.configs:
                torch.manual_seed(config.seed)  # the sequential run's initial weights
                experiment = task.build(config, self.device)
                _check_plain(experiment)
                _normalised(experiment.model)  # fail before building the other members
                if self.experiments:  # one copy of the data serves every member
                    experiment.data = self.experiments[0].data
                self.experiments.append(experiment)
        first = self.experiments[0]
        self.objective, self.batch_size = first.objective, first.batch_size
        self.data = first.data.to(self.device)
        self.model = StackedChain([e.model for e in self.experiments]).to(self.device)
        for experiment in self.experiments:  # the members' own copies are no longer needed
            experiment.model.to("meta")
        self.optimizer = self._optimizer(self.alive)
        self.steps_per_epoch = len(batch_bounds(len(self.data.train[0]), self.batch_size))
        self.total_steps = self.steps_per_epoch * self.configs[0].epochs
        device = self.device
        self.order_generators = [torch.Generator(device=device) for _ in self.configs]
        self.dropout_generators = [torch.Generator(device=device) for _ in self.configs]
        if resume and self.checkpoint is not None and (self.checkpoint / CHECKPOINT).exists():
            self._load(self.checkpoint / CHECKPOINT)

    # --- the loop ------------------------------------------------------------------------------

    def fit(self) -> None:
        epochs = self.configs[0].epochs
        while self.epoch < epochs and self.alive:
            epoch = self.epoch + 1
            started = time.perf_counter()
            losses = self.train_epoch(epoch)
            seconds = time.perf_counter() - started
            rows = [{"epoch": epoch, "train_loss": loss} for loss in losses]
            for split in self.experiments[0].eval_splits:
                for row, metrics in zip(rows, self.evaluate(getattr(self.data, split))):
                    row.update({f"{split}_{name}": value for name, value in metrics.items()})
            for member, row in zip(self.alive, rows):
                row["seconds"] = seconds
                self.progress[member].add_epoch(row)
                self.train_seconds[member] += seconds
            self.epoch = epoch
            self._drop_diverged()
            if self.checkpoint is not None:
                atomic_torch_save(self.checkpoint / CHECKPOINT, self._state())
            self.log(self._epoch_line(rows, seconds))
            if self.on_epoch is not None:
                self.on_epoch(epoch, epochs)
        self._final_evaluations()

    def train_epoch(self, epoch: int) -> list[float]:
        """One epoch of every live member; their mean training losses, in `alive` order."""
        model, optimizer = self.model, self.optimizer
        model.train()
        x, y = self.data.train
        orders, dropout_generators = [], []
        for member in self.alive:
            seed = self.configs[member].seed
            orders.append(shuffled(len(x), self.order_generators[member], seed, 0, epoch))
            generator = self.dropout_generators[member]
            generator.manual_seed(epoch_seed(seed, 0, epoch))  # the run's torch.manual_seed
            dropout_generators.append(generator)
        for dropout in model.dropouts():
            dropout.generators = dropout_generators
        order = torch.stack(orders)
        schedules = [_Proxy(group) for group in optimizer.param_groups]
        total = torch.zeros(len(self.alive), dtype=torch.float64, device=self.device)
        bounds = batch_bounds(len(x), self.batch_size)
        for step, (a, b) in enumerate(bounds):
            global_step = (epoch - 1) * self.steps_per_epoch + step
            for member, proxy in zip(self.alive, schedules):
                lr = self.configs[member].lr
                self.experiments[member].schedule(proxy, global_step, self.total_steps, lr)
            index = order[:, a:b]
            xb, yb = x[index], y[index]
            with autocast_for(self.configs[0].precision, self.device):
                output = model(xb)
            losses = torch.stack([loss_of(self.objective, o, t) for o, t in zip(output, yb)])
            optimizer.zero_grad()
            losses.sum().backward()  # each member's gradient is that of its own loss
            optimizer.step()
            total += losses.detach().double() * (b - a)
        count = sum(b - a for a, b in bounds)
        for member in self.alive:
            self.train_samples[member] += count
        return (total / count).tolist()

    def evaluate(self, pair: tuple[Tensor, Tensor]) -> list[dict[str, float]]:
        self.model.eval()
        first = self.experiments[0]
        return evaluate_split(
            lambda xb: self.model(xb, shared=True), pair, self.objective,
            first.eval_batch_size, self.device, self.configs[0].precision, len(self.alive),
        )  # fmt: skip

    def _drop_diverged(self) -> None:
        keep = [i for i, m in enumerate(self.alive) if self.progress[m].status == "ok"]
        if len(keep) == len(self.alive):
            return
        for member in self.alive:
            if self.progress[member].status != "ok":
                self.log(
                    f"{self.group}: {_label(self.configs[member])} diverged in epoch "
                    f"{self.epoch}; the other members go on"
                )
        self.model.keep(keep)
        self.optimizer.keep(keep, self.model.stacked_parameters())
        self.alive = [self.alive[i] for i in keep]

    def _optimizer(self, members: list[int]) -> MemberOptimizer:
        """The task's optimiser for `members` (the model's members, in that order)."""
        make = self.experiments[0].make_optimizer
        lrs = [self.configs[m].lr for m in members]
        return MemberOptimizer(self.model.stacked_parameters(), make, lrs)

    def _final_evaluations(self) -> None:
        """A task's extra evaluation (mnist-noise's noise curve) on each finished member, as
        its run would do it: on the member's own model, rebuilt from the stack."""
        if not self.alive or self.experiments[0].final_eval is None:
            return
        for position, member in enumerate(self.alive):
            model = self.member_model(position)
            extra = self.experiments[member].final_eval(model, self.data, self._evaluate_one)
            self.progress[member].curves = extra.get("curves", {})

    def _evaluate_one(self, model: nn.Module, pair: tuple[Tensor, Tensor]) -> dict[str, float]:
        """gatelab.train.Trainer._evaluate for a member's own model."""
        model.eval()
        first = self.experiments[0]
        return evaluate_split(
            model, pair, self.objective, first.eval_batch_size, self.device,
            self.configs[0].precision,
        )[0]  # fmt: skip

    def member_model(self, position: int) -> nn.Module:
        """The live member at `position` as a model of its own (its task's architecture)."""
        member = self.alive[position]
        model = self.experiments[member].model.to_empty(device=self.device)
        model.load_state_dict(self.model.member_state(position))
        return model

    # --- checkpoints ---------------------------------------------------------------------------

    def _identities(self) -> list[dict[str, Any]]:
        return [jsonable(c.identity()) for c in self.configs]

    def _state(self) -> dict[str, Any]:
        return {
            "identities": self._identities(),
            "epoch": self.epoch,
            "alive": self.alive,
            "progress": [p.state() for p in self.progress],
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "train_seconds": self.train_seconds,
            "train_samples": self.train_samples,
            "elapsed": self.elapsed_before + time.perf_counter() - self.started,
        }

    def _load(self, path: Path) -> None:
        """Resume from `path`; its members may be a superset of this group's (some of them
        already recorded): those are left out."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        saved = state["identities"]
        mine = self._identities()
        if not all(identity in saved for identity in mine):
            self.log(f"{self.group}: {path} holds other runs; starting afresh")
            return
        where = [saved.index(identity) for identity in mine]  # member → index in checkpoint
        saved_alive = state["alive"]
        self.epoch = state["epoch"]
        self.progress = [Progress(**state["progress"][j]) for j in where]
        self.train_seconds = [state["train_seconds"][j] for j in where]
        self.train_samples = [state["train_samples"][j] for j in where]
        self.elapsed_before = state["elapsed"]
        self.alive = [m for m, j in enumerate(where) if j in saved_alive]
        rows = [saved_alive.index(where[m]) for m in self.alive]
        self.model.keep(self.alive)
        index = torch.as_tensor(rows, dtype=torch.long)
        self.model.load_state_dict({k: v[index] for k, v in state["model"].items()})
        self.optimizer = self._optimizer(self.alive)
        per_member = len(self.model.stacked_parameters())
        self.optimizer.load_state_dict(select_members(state["optimizer"], rows, per_member))
        self.log(f"{self.group}: resumed from {path} after epoch {self.epoch}")

    # --- records -------------------------------------------------------------------------------

    def records(self, error: BaseException | None = None) -> list[dict[str, Any]]:
        wall = self.elapsed_before + time.perf_counter() - self.started
        records = []
        for member, config in enumerate(self.configs):
            experiment = self.experiments[member] if self.experiments else None
            records.append(
                make_record(
                    config, self.progress[member], error=error, experiment=experiment,
                    model=experiment.model if experiment else None, device=self.device,
                    wall_seconds=wall, train_seconds=self.train_seconds[member],
                    train_samples=self.train_samples[member],
                    ensemble={"group": self.group, "size": len(self.configs), "member": member},
                )
            )  # fmt: skip
        return records

    def _epoch_line(self, rows: list[dict[str, Any]], seconds: float) -> str:
        config = self.configs[0]
        losses = [row["train_loss"] for row in rows]
        return (
            f"{self.group} ({config.task} {config.activation}, {len(self.configs)} runs) | "
            f"epoch {self.epoch}/{config.epochs}  {len(self.alive)} training  train_loss "
            f"{min(losses):.4g}…{max(losses):.4g}  ({seconds:.1f} s)"
        )


def _check_plain(experiment) -> None:
    """The ensemble loop covers (x, y) tensor tasks without per-batch hooks."""
    hooks = ("train_batches", "step_loss", "evaluate", "augment")
    used = [name for name in hooks if getattr(experiment, name) is not None]
    if used:
        raise NotStackable(f"the task uses {', '.join(used)}, which the ensemble loop lacks")


def _label(config: RunConfig) -> str:
    dropout = config.options.get("dropout")
    extra = f" dropout {dropout:g}" if isinstance(dropout, float) else ""
    return f"seed {config.seed} lr {config.lr:g}{extra}"


def train_group(
    configs: Sequence[RunConfig],
    group_id: str = "ensemble",
    checkpoint_dir: str | Path | None = None,
    log: Log | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Train `configs` as one ensemble and return their records (in order). Raises
    NotStackable before any training when they cannot share one stacked model; any other
    error becomes a ``failed`` record for every member, as gatelab.train.run does for one.
    ``on_epoch(epoch, epochs)`` is called after each epoch."""
    directory = Path(checkpoint_dir) if checkpoint_dir is not None else None
    trainer = EnsembleTrainer(configs, directory, log, group_id, on_epoch)
    trainer.setup(resume=True)  # NotStackable propagates: the caller runs them one by one
    try:
        trainer.fit()
        return trainer.records()
    except Exception as error:  # a failed group is records, never a crash of the sweep
        if is_environment_error(error):  # the disk's fault, not the runs': nothing recorded
            raise store_error(error) from None
        return trainer.records(error=error)


__all__ = ["EnsembleTrainer", "NotStackable", "train_group"]
