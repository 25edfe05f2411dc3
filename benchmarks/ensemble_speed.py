"""Per-run training throughput of the ensemble trainer against sequential runs, same process.

    python benchmarks/ensemble_speed.py                       # Fashion-MNIST, K = 1 5 15 30
    python benchmarks/ensemble_speed.py --dataset mnist-5k --ks 1 5 --steps 10 --trials 1

The workload is the GELU paper's §3.1 network (mnist-mlp: 8×128 MLP, Adam, batch 128) on the
real data; members are points of its grid (seeds × lrs {1e-3, 1e-4, 1e-5} × dropout {0, 0.5}).
Both sides run the real training loops — gatelab.train.Trainer.train_epoch and
gatelab.ensemble.EnsembleTrainer.train_epoch — over the first `steps` batches of the training
set, after one warm-up epoch; the figure is the median over `trials` of seconds per model-step
(one optimiser step of one run), sequential and ensemble measured alternately in this process
so that machine noise hits both. Evaluation is not timed (both sides evaluate the same way).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from gatelab.ensemble import EnsembleTrainer
from gatelab.tasks import RunConfig
from gatelab.train import Trainer, complete, pick_device

GRID = [(lr, dropout) for dropout in (0.0, 0.5) for lr in (1e-3, 1e-4, 1e-5)]


def configs(k: int, dataset: str, activation: str) -> list[RunConfig]:
    """The first `k` points of the §3.1 grid: lr × dropout cycling fastest, then seeds."""
    points = []
    for index in range(k):
        lr, dropout = GRID[index % len(GRID)]
        points.append(
            RunConfig("mnist-mlp", activation=activation, seed=index // len(GRID), lr=lr,
                      dataset=dataset, device="cpu", options={"dropout": dropout})
        )  # fmt: skip
    return points


def sequential_seconds(config: RunConfig, steps: int) -> float:
    trainer = Trainer(complete(config), pick_device("cpu"), None, lambda line: None, False)
    trainer.setup(resume=False, train_limit=steps * 128)
    trainer.train_epoch(1)  # warm-up
    started = time.perf_counter()
    trainer.train_epoch(2)
    return (time.perf_counter() - started) / steps


def ensemble_seconds(members: list[RunConfig], steps: int) -> float:
    trainer = EnsembleTrainer(members)
    trainer.setup(resume=False)
    trainer.data.train = tuple(t[: steps * 128] for t in trainer.data.train)
    trainer.train_epoch(1)  # warm-up
    started = time.perf_counter()
    trainer.train_epoch(2)
    return (time.perf_counter() - started) / steps / len(members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--activation", default="gelu")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 5, 15, 30])
    parser.add_argument("--steps", type=int, default=40, help="timed batches per measurement")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"# mnist-mlp on {args.dataset}, {args.activation}, batch 128, {args.steps} steps × "
        f"{args.trials} trials; torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}"
    )
    print("|   K | sequential ms / model-step | ensemble ms / model-step | per-run speed-up |")
    print("|----:|---------------------------:|-------------------------:|-----------------:|")
    for k in args.ks:
        members = configs(k, args.dataset, args.activation)
        seq, ens = [], []
        for _ in range(args.trials):
            # a sequential run of each kind in the group (dropout 0 and 0.5), then the ensemble
            kinds = members[: min(len(members), len(GRID))]
            seq.append(statistics.mean(sequential_seconds(c, args.steps) for c in kinds[::3]))
            ens.append(ensemble_seconds(members, args.steps))
        s, e = statistics.median(seq), statistics.median(ens)
        print(f"| {k:3d} | {s * 1e3:26.2f} | {e * 1e3:24.2f} | {s / e:15.2f}× |", flush=True)


if __name__ == "__main__":
    main()
