"""One run of one task → one result record.

    from gatelab.tasks import RunConfig
    from gatelab.train import run
    record = run(RunConfig("mnist-mlp", activation="gelu", seed=0, scale="smoke"), out="runs/a")

The loop is the textbook one — shuffle, augment, forward, loss, backward, step — written for
small data: a dataset that fits (:data:`DEVICE_DATA_LIMIT`) is held on the device as tensors
and shuffled and augmented there, so there is no DataLoader and no per-batch host transfer;
larger ones (STL-10) stream through a DataLoader. Guarantees:

- **Deterministic**: the same config gives identical metrics on CPU. Every epoch reseeds the
  shuffling/augmentation generator and torch's global RNG (dropout) from (seed, rank, epoch), so
  a resumed run draws exactly what an uninterrupted one would, with no RNG state to save.
- **Distributed**: under torchrun (``WORLD_SIZE`` > 1) the model is wrapped in DDP (nccl on
  GPU, gloo on CPU), each rank draws its own batches, losses are averaged over ranks, and rank 0
  alone writes checkpoints and the record.
- **Robust**: a non-finite training or evaluation loss ends the run with status ``diverged`` and
  the epoch; any other exception gives status ``failed`` with the error — :func:`run` never
  raises for a problem inside the run (bad configs raise ValueError before it starts).
- **Resumable**: after every epoch ``checkpoint.pt`` is written atomically to ``out``;
  ``resume=True`` continues a killed run to the same result. Checkpoints load with
  ``weights_only=True``; the record goes to ``out/result.json`` (atomic).
"""

from __future__ import annotations

import contextlib
import json
import math
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import __version__
from ._io import atomic_torch_save, atomic_write_json
from .faults import Interrupted, is_environment_error, store_error
from .tasks import Experiment, RunConfig, get_task, resolve_options
from .tasks.datasets import dataset_choice
from .tasks.rules import check_config

#: Datasets up to this size (bytes, after preprocessing) live on the device as tensors.
DEVICE_DATA_LIMIT = 1 << 30
CHECKPOINT = "checkpoint.pt"
RESULT = "result.json"
STATUSES = ("ok", "diverged", "failed")

Log = Callable[[str], None]
#: ``on_epoch(epoch, epochs)`` after each finished epoch (a sweep's progress display).
EpochHook = Callable[[int, int], None]


def complete(config: RunConfig) -> RunConfig:
    """`config` with the task's defaults filled in (lr, epochs, dataset, options) and validated:
    every bad value (task, activation, seed, lr, setting, dataset, option, a device this machine
    lacks) is listed at once in a :class:`~gatelab.tasks.rules.ConfigError` (a ValueError)."""
    check_config(config)
    task = get_task(config.task)
    epochs = task.epochs[config.scale] if config.epochs is None else int(config.epochs)
    lr = task.lr if config.lr is None else float(config.lr)
    return replace(
        config,
        lr=lr,
        epochs=epochs,
        dataset=dataset_choice(config, task.datasets),
        options=resolve_options(task, config.options),
    )


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch sees no CUDA device")
    return device


@dataclass
class Progress:
    """What one run has done so far: its history, status and final curves (a checkpoint's
    per-run part; the ensemble trainer keeps one per member)."""

    history: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ok"
    diverged_epoch: int | None = None
    curves: dict[str, Any] = field(default_factory=dict)

    def add_epoch(self, row: dict[str, Any]) -> None:
        """Append an epoch's row; a non-finite value in it ends the run as ``diverged``."""
        self.history.append(row)
        if not all(math.isfinite(v) for v in row.values()):
            self.status, self.diverged_epoch = "diverged", row["epoch"]

    def state(self) -> dict[str, Any]:
        return {
            "history": self.history,
            "status": self.status,
            "diverged_epoch": self.diverged_epoch,
            "curves": self.curves,
        }


def autocast_for(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast for precision "bf16", or "auto" on CUDA; nothing otherwise."""
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def shuffled(n: int, generator: torch.Generator, seed: int, rank: int, epoch: int) -> Tensor:
    """The epoch's order of the `n` training examples: a permutation drawn with `generator`
    reseeded from (seed, rank, epoch), so it depends on nothing else."""
    generator.manual_seed(epoch_seed(seed, rank, epoch))
    return torch.randperm(n, generator=generator, device=generator.device)


def loss_of(objective: str, output: Tensor, target: Tensor) -> Tensor:
    """The training loss: mean cross-entropy for classifiers, mean squared error otherwise."""
    if objective == "classify":
        return F.cross_entropy(output.float(), target)
    return F.mse_loss(output.float(), target)


def batch_sums(objective: str, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """(summed loss, number correct) of one evaluation batch; a reconstruction's loss is its
    per-example mean squared error and its count 0."""
    output = output.float()
    if objective == "classify":
        loss = F.cross_entropy(output, target, reduction="sum").double()
        return loss, (output.argmax(-1) == target).sum()
    loss = F.mse_loss(output, target, reduction="sum").double() / target[0].numel()
    return loss, torch.zeros((), dtype=torch.int64, device=output.device)


@torch.no_grad()
def evaluate_split(
    forward: Callable[[Tensor], Tensor],
    pair: tuple[Tensor, Tensor],
    objective: str,
    batch_size: int,
    device: torch.device,
    precision: str,
    members: int | None = None,
) -> list[dict[str, float]]:
    """Mean loss (cross-entropy or MSE) and accuracy on the split `pair`, in batches of
    `batch_size`: one dict for a model, or one per member when `forward` returns [members, B, …]
    (an ensemble, gatelab.ensemble)."""
    x, y = pair
    count = 1 if members is None else members
    loss = torch.zeros(count, dtype=torch.float64, device=device)
    correct = torch.zeros(count, dtype=torch.int64, device=device)
    for a in range(0, len(x), batch_size):
        xb, yb = x[a : a + batch_size].to(device), y[a : a + batch_size].to(device)
        with autocast_for(precision, device):
            output = forward(xb)
        outputs = [output] if members is None else output.unbind(0)
        for k, member_output in enumerate(outputs):
            batch_loss, batch_correct = batch_sums(objective, member_output, yb)
            loss[k] += batch_loss
            correct[k] += batch_correct
    return [
        split_metrics(objective, lo, co, len(x)) for lo, co in zip(loss.tolist(), correct.tolist())
    ]


def split_metrics(objective: str, loss: float, correct: int, n: int) -> dict[str, float]:
    """A split's metrics from its summed loss and number correct over `n` examples."""
    if objective == "classify":
        return {"loss": loss / n, "accuracy": correct / n}
    return {"mse": loss / n}


def run(
    config: RunConfig,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    log: Log | None = None,
    progress: bool | None = None,
    on_epoch: EpochHook | None = None,
) -> dict[str, Any]:
    """Run `config` and return its result record (also written to ``out/result.json``).

    `log` receives one line per epoch (default: stderr; pass ``lambda line: None`` for
    silence); `progress` shows a tqdm bar per epoch (default: when stdout is a terminal);
    ``on_epoch(epoch, epochs)`` is called after each epoch (a sweep's status line)."""
    config = complete(config)
    device = pick_device(config.device)
    out = Path(out) if out is not None else None
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    progress = sys.stdout.isatty() if progress is None else progress
    if resume and out is not None and (out / RESULT).exists():
        record = finished_record(out / RESULT, config)
        if record is not None:
            log(f"{config.task}: already finished in {out / RESULT}")
            return record
    trainer = Trainer(config, device, out, log, progress, on_epoch)
    try:
        trainer.setup(resume)
        trainer.fit()
        record = trainer.record()
    except Interrupted as stop:
        where = f"its last checkpoint is in {out}" if out is not None else "no checkpoint"
        stop.detail = (
            f"{config.task} {config.activation} stopped in epoch {trainer.epoch + 1}; {where}"
        )
        raise
    except Exception as error:  # a failed run is a record, never a crash of the sweep
        if is_environment_error(error):  # the disk's fault, not the run's: nothing recorded
            raise store_error(error) from None
        record = trainer.record(error=error)
    if out is not None and trainer.rank == 0:
        try:
            atomic_write_json(out / RESULT, record)
        except OSError as error:
            raise store_error(error, out / RESULT) from None
    if trainer.world > 1:
        _finish_distributed(trainer, out)
    return record


def _finish_distributed(trainer: Trainer, out: Path | None) -> None:
    """Each rank leaves its view of the run (losses, a weight checksum) in out/ranks/, so
    agreement between ranks can be checked, then the process group is closed."""
    import torch.distributed as dist

    if out is not None and trainer.experiment is not None:
        checksum = sum(p.detach().double().sum().item() for p in trainer.model.parameters())
        view = {
            "rank": trainer.rank,
            "world_size": trainer.world,
            "train_loss": [row["train_loss"] for row in trainer.progress.history],
            "weight_checksum": checksum,
        }
        atomic_write_json(out / "ranks" / f"rank{trainer.rank}.json", view)
    if dist.is_initialized():
        dist.destroy_process_group()


def finished_record(path: Path, config: RunConfig) -> dict[str, Any] | None:
    """The record in `path` if it is a final (ok or diverged) record of `config`, else None."""
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("config") == jsonable(config.identity()) and record["status"] != "failed":
        return record
    return None


class Trainer:
    """The state of one run between epochs (everything a checkpoint holds)."""

    def __init__(
        self,
        config: RunConfig,
        device: torch.device,
        out: Path | None,
        log: Log,
        progress: bool,
        on_epoch: EpochHook | None = None,
    ) -> None:
        self.config, self.device, self.out, self.log = config, device, out, log
        self.show_bar = progress  # a tqdm bar per epoch
        self.on_epoch = on_epoch
        self.progress = Progress()
        self.epoch = 0  # epochs completed
        self.train_seconds = 0.0
        self.train_samples = 0
        self.elapsed_before = 0.0  # wall time of earlier segments of a resumed run
        self.started = time.perf_counter()
        self.experiment: Experiment | None = None
        self.rank, self.world = _distributed_rank()

    # --- setup ---------------------------------------------------------------------------------

    def setup(self, resume: bool, train_limit: int | None = None) -> None:
        """Build the experiment, move it to the device and, with `resume`, load the checkpoint.
        `train_limit` keeps only that many training examples (speed measurements)."""
        config = self.config
        if self.world > 1:
            self.device = _init_distributed(self.device)
        torch.manual_seed(config.seed)  # the same initial weights on every rank
        task = get_task(config.task)
        experiment = task.build(config, self.device)
        self.experiment = experiment
        data = experiment.data
        if experiment.train_batches is not None:  # a stream: the task draws its own batches
            self.on_device, self.data = False, data
        else:
            if train_limit is not None:
                data.train = tuple(t[:train_limit] for t in data.train)
            self.on_device = data.nbytes() <= DEVICE_DATA_LIMIT or self.device.type == "cpu"
            self.data = data.to(self.device) if self.on_device else data
        self.model = experiment.model.to(self.device)
        self.forward = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward = DistributedDataParallel(self.model, device_ids=ids)
        if config.compile:
            self.forward = torch.compile(self.forward)
        self.optimizer = experiment.make_optimizer(self.model.parameters(), config.lr)
        generator_device = self.device if self.on_device else torch.device("cpu")
        self.generator = torch.Generator(device=generator_device)
        if experiment.train_batches is not None:
            self.steps_per_epoch = int(experiment.steps_per_epoch)
        else:
            n = len(self.data.train[0])
            self.steps_per_epoch = len(batch_bounds(n, experiment.batch_size))
        self.total_steps = self.steps_per_epoch * config.epochs
        if resume and self.out is not None and (self.out / CHECKPOINT).exists():
            self._load_checkpoint(self.out / CHECKPOINT)

    def _autocast(self) -> contextlib.AbstractContextManager:
        return autocast_for(self.config.precision, self.device)

    # --- the loop ------------------------------------------------------------------------------

    def fit(self) -> None:
        progress = self.progress
        while self.epoch < self.config.epochs and progress.status == "ok":
            epoch = self.epoch + 1
            started = time.perf_counter()
            train_loss = self.train_epoch(epoch)
            seconds = time.perf_counter() - started
            self.train_seconds += seconds
            row = {"epoch": epoch, "train_loss": train_loss}
            row.update(self._evaluate_splits())
            row["seconds"] = seconds
            progress.add_epoch(row)
            self.epoch = epoch
            if self.out is not None and self.rank == 0:
                self._save_checkpoint(self.out / CHECKPOINT)
            if self.rank == 0:
                self.log(_epoch_line(self.config, row))
                if self.on_epoch is not None:
                    self.on_epoch(epoch, self.config.epochs)
        if progress.status == "ok" and self.experiment.final_eval is not None:
            extra = self.experiment.final_eval(self.model, self.data, self._evaluate)
            progress.curves = extra.get("curves", {})

    def train_epoch(self, epoch: int) -> float:
        experiment, model = self.experiment, self.model
        model.train()
        seed = epoch_seed(self.config.seed, self.rank, epoch)
        self.generator.manual_seed(seed)  # batch order and augmentation (see shuffled)
        torch.manual_seed(seed)  # dropout and other global draws
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        count = torch.zeros((), dtype=torch.float64, device=self.device)
        batches = self._batches(epoch)
        if self.show_bar:
            batches = _progress_bar(batches, self.steps_per_epoch, f"epoch {epoch}")
        for step, (x, y) in enumerate(batches):
            experiment.schedule(
                self.optimizer,
                (epoch - 1) * self.steps_per_epoch + step,
                self.total_steps,
                self.config.lr,
            )
            with self._autocast():
                if experiment.step_loss is not None:
                    loss = experiment.step_loss(self.forward, x, y)
                else:
                    loss = self._loss(self.forward(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.detach().double() * len(x)
            count += len(x)
        if self.world > 1:
            for tensor in (total, count):
                torch.distributed.all_reduce(tensor)
        self.train_samples += int(count.item())
        return total.item() / count.item()  # one device sync per epoch; NaN/inf surface here

    def _batches(self, epoch: int) -> Iterator[tuple[Tensor, Tensor]]:
        if self.experiment.train_batches is not None:
            for xb, yb in self.experiment.train_batches(self.generator, epoch):
                yield xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
            return
        x, y = self.data.train
        augment = self.experiment.augment
        if self.on_device:
            order = shuffled(len(x), self.generator, self.config.seed, self.rank, epoch)
            batches = (
                (x[order[a:b]], y[order[a:b]])
                for a, b in batch_bounds(len(x), self.experiment.batch_size)
            )
        else:
            batches = _loader_batches(x, y, self.experiment.batch_size, self.generator)
        for xb, yb in batches:
            if augment is not None:
                xb = augment(xb, self.generator)
            yield xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)

    def _loss(self, output: Tensor, target: Tensor) -> Tensor:
        return loss_of(self.experiment.objective, output, target)

    def _evaluate(self, model: nn.Module, pair: tuple[Tensor, Tensor]) -> dict[str, float]:
        """Mean loss (cross-entropy or MSE) and accuracy of `model` on the split `pair`."""
        model.eval()
        experiment = self.experiment
        return evaluate_split(
            model, pair, experiment.objective, experiment.eval_batch_size, self.device,
            self.config.precision,
        )[0]  # fmt: skip

    def _evaluate_splits(self) -> dict[str, float]:
        row = {}
        custom = self.experiment.evaluate
        for split in self.experiment.eval_splits:
            if custom is not None:
                self.model.eval()
                with torch.no_grad(), self._autocast():
                    metrics = custom(self.model, split)
            else:
                metrics = self._evaluate(self.model, getattr(self.data, split))
            row.update({f"{split}_{name}": value for name, value in metrics.items()})
        return row

    # --- checkpoints ---------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        state = {
            "identity": jsonable(self.config.identity()),
            "epoch": self.epoch,
            **self.progress.state(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "train_seconds": self.train_seconds,
            "train_samples": self.train_samples,
            "elapsed": self.elapsed_before + time.perf_counter() - self.started,
        }
        return state

    def _save_checkpoint(self, path: Path) -> None:
        atomic_torch_save(path, self._state())

    def _load_checkpoint(self, path: Path) -> None:
        state = torch.load(path, map_location=self.device, weights_only=True)
        if state["identity"] != jsonable(self.config.identity()):
            raise ValueError(
                f"{path} belongs to another run ({state['identity']}); use another --out or "
                "start afresh without --resume"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = state["epoch"]
        self.progress = Progress(
            state["history"], state["status"], state["diverged_epoch"], state.get("curves", {})
        )
        self.train_seconds, self.train_samples = state["train_seconds"], state["train_samples"]
        self.elapsed_before = state["elapsed"]
        self.log(f"{self.config.task}: resumed from {path} after epoch {self.epoch}")

    # --- the record ----------------------------------------------------------------------------

    def record(self, error: BaseException | None = None) -> dict[str, Any]:
        return make_record(
            self.config,
            self.progress,
            error=error,
            experiment=self.experiment,
            model=self.model if self.experiment else None,
            device=self.device,
            wall_seconds=self.elapsed_before + time.perf_counter() - self.started,
            train_seconds=self.train_seconds,
            train_samples=self.train_samples,
        )


def make_record(
    config: RunConfig,
    progress: Progress,
    *,
    error: BaseException | None,
    experiment: Experiment | None,
    model: nn.Module | None,
    device: torch.device,
    wall_seconds: float,
    train_seconds: float,
    train_samples: int,
    ensemble: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The result record of one run (the schema of records.jsonl; see gatelab.results).
    `ensemble` says which group of runs trained together, its size and this run's place in it
    (None for a run of its own)."""
    status = "failed" if error is not None else progress.status
    last = progress.history[-1] if progress.history else {}
    metrics = {k: _finite_or_none(v) for k, v in last.items() if k.startswith(("val_", "test_"))}
    if status == "diverged":
        metrics = {k: None for k in metrics}
    per_sample = getattr(experiment, "tokens_per_sample", None)
    return {
        "task": config.task,
        "activation": config.activation,
        "seed": config.seed,
        "lr": config.lr,
        "epochs": config.epochs,
        "scale": config.scale,
        "dataset": config.dataset,
        "options": jsonable(dict(config.options)),
        "status": status,
        "diverged_epoch": progress.diverged_epoch,
        "error": None if error is None else f"{type(error).__name__}: {error}",
        "traceback": None if error is None else traceback.format_exc(),
        "metrics": metrics,
        "objective": get_task(config.task).objective_fields,
        "history": [{k: _finite_or_none(v) for k, v in row.items()} for row in progress.history],
        "curves": progress.curves,
        "wall_seconds": wall_seconds,
        "train_seconds": train_seconds,
        "samples_per_second": train_samples / train_seconds if train_seconds else None,
        "num_params": sum(p.numel() for p in model.parameters()) if model is not None else None,
        "data_source": experiment.data.source if experiment else None,
        "data": _data_record(experiment),
        "tokens_per_second": train_samples * per_sample / train_seconds
        if per_sample and train_seconds
        else None,
        "device": _device_name(device),
        "threads": torch.get_num_threads(),
        "precision": "bf16"
        if isinstance(autocast_for(config.precision, device), torch.autocast)
        else "fp32",
        "compiled": config.compile,
        "ensemble": ensemble,
        "versions": versions(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": jsonable(config.identity()),
    }


def _data_record(experiment: Experiment | None) -> dict[str, Any] | None:
    """What the data say about themselves (the language tasks: corpus, tokenizer, sizes)."""
    describe = getattr(experiment.data, "record", None) if experiment else None
    return describe() if callable(describe) else None


def epoch_seed(seed: int, rank: int, epoch: int) -> int:
    """The seed of one epoch's random draws on one rank (a fixed mix, stable across versions)."""
    return (seed * 1_000_003 + rank * 10_007 + epoch) % (2**63 - 1)


def _distributed_rank() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) for a single process."""
    import os

    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def _init_distributed(device: torch.device) -> torch.device:
    """Join torchrun's process group: nccl with one GPU per rank, gloo on CPU."""
    import os

    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Batch boundaries; a last batch of one example is dropped (BatchNorm cannot train on it)."""
    bounds = [(a, min(a + batch_size, n)) for a in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < 2:
        bounds.pop()
    return bounds


def _loader_batches(x: Tensor, y: Tensor, batch_size: int, generator: torch.Generator):
    """Host-resident data too large for the device: a DataLoader over the tensors."""
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=batch_size,
        shuffle=True,
        generator=generator,
        pin_memory=torch.cuda.is_available(),
    )
    for xb, yb in loader:
        if len(xb) >= 2:
            yield xb, yb


def _progress_bar(batches: Iterator, total: int, description: str) -> Iterator:
    """A tqdm bar on stderr over one epoch's batches (plain iteration without tqdm)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return batches
    return tqdm(batches, total=total, desc=description, leave=False, file=sys.stderr)


def _epoch_line(config: RunConfig, row: dict[str, Any]) -> str:
    shown = "  ".join(f"{k} {v:.4g}" for k, v in row.items() if k not in ("epoch", "seconds"))
    return (
        f"{config.task} {config.activation} seed {config.seed} | epoch {row['epoch']}/"
        f"{config.epochs}  {shown}  ({row['seconds']:.1f} s)"
    )


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def versions() -> dict[str, str]:
    """The library versions a record was produced with."""
    found = {
        "gatelab": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    try:
        import torchvision

        found["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    return found
