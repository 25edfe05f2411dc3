"""Training throughput: gatelab's trainer against a textbook DataLoader loop, same run.

    python benchmarks/train_speed.py                                  # mnist-mlp on mnist-5k, CPU
    python benchmarks/train_speed.py --task cifar10-resnet56 --dataset synthetic --limit 1024
    python benchmarks/train_speed.py --device cuda --epochs 3

Both loops train the same task's model (same activation, optimiser, batch size, data after
preprocessing) for the same epochs; the textbook loop wraps the training tensors in a
``TensorDataset`` and iterates a ``DataLoader(shuffle=True)`` — the fastest form of the usual
recipe (no per-sample image decoding) — moving each batch to the device. Only training steps are
timed (no evaluation). Each loop runs ``--repeats`` times, interleaved; medians are reported,
with their ratio. The issue's target: ratio ≥ 1 on CPU, ≥ 3 on a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from gatelab.tasks import RunConfig
from gatelab.train import Trainer, complete, pick_device


def trainer_samples_per_second(config: RunConfig, limit: int | None) -> float:
    """gatelab.train's own epoch loop (data on the device, on-device shuffling)."""
    trainer = Trainer(config, pick_device(config.device), None, lambda line: None, False)
    trainer.setup(resume=False, train_limit=limit)
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        trainer.train_epoch(epoch)  # ends with .item(): the device is synchronised
        trainer.train_seconds += time.perf_counter() - start
    return trainer.train_samples / trainer.train_seconds


def textbook_samples_per_second(config: RunConfig, limit: int | None) -> float:
    """model.train(); for x, y in DataLoader(...): x, y = x.to(dev), y.to(dev); step."""
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    from gatelab.tasks import get_task

    experiment = get_task(config.task).build(config, device)
    x, y = (t[:limit] for t in experiment.data.train)
    model = experiment.model.to(device)
    optimizer = experiment.make_optimizer(model.parameters(), config.lr)
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=experiment.batch_size,
        shuffle=True,
        pin_memory=device.type == "cuda",
    )
    classify = experiment.objective == "classify"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else None
    seconds, samples = 0.0, 0
    for _ in range(config.epochs):
        model.train()
        _sync(device)
        start = time.perf_counter()
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            if experiment.augment is not None:
                xb = experiment.augment(
                    xb,
                    torch.default_generator
                    if device.type == "cpu"
                    else torch.cuda.default_generators[0],
                )
            with autocast or torch.autocast("cpu", enabled=False):
                out = model(xb).float()
            loss = F.cross_entropy(out, yb) if classify else F.mse_loss(out, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            samples += len(xb)
        _sync(device)
        seconds += time.perf_counter() - start
    return samples / seconds


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="mnist-mlp")
    parser.add_argument("--activation", default="gelu")
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="training examples kept")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = complete(
        RunConfig(
            args.task,
            activation=args.activation,
            dataset=args.dataset,
            device=args.device,
            epochs=args.epochs,
        )
    )
    ours, textbook = [], []
    for _ in range(args.repeats):
        ours.append(trainer_samples_per_second(config, args.limit))
        textbook.append(textbook_samples_per_second(config, args.limit))
    device = pick_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    threads = torch.get_num_threads()
    print(
        f"{config.task} · {config.activation} · {config.dataset} · {name} · {threads} threads"
        f" · {args.epochs} epochs × {args.repeats} repeats"
    )
    med_ours, med_textbook = statistics.median(ours), statistics.median(textbook)
    print("| loop | samples/s (median) | runs |")
    print("|---|---|---|")
    print(f"| gatelab trainer | {med_ours:,.0f} | {', '.join(f'{v:,.0f}' for v in ours)} |")
    print(
        f"| textbook DataLoader | {med_textbook:,.0f} | "
        f"{', '.join(f'{v:,.0f}' for v in textbook)} |"
    )
    print(f"ratio (trainer / textbook): {med_ours / med_textbook:.2f}")


if __name__ == "__main__":
    main()
