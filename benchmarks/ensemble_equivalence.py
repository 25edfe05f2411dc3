"""How far an ensemble member is from its sequential run: the same 8 configs both ways.

    python benchmarks/ensemble_equivalence.py                    # mnist-5k, 20 epochs
    python benchmarks/ensemble_equivalence.py --dataset fashion-mnist --epochs 3

Members: seeds {0, 1} × lr {1e-3, 1e-4} × dropout {0, 0.5} of the GELU paper's §3.1 network
(mnist-mlp). Initial weights, batch order and dropout masks are identical by construction
(tests/ensemble/test_trainer.py checks them bit for bit); what differs is the summation order
of batched matmuls, so the printed differences are the reordering's effect on training.
"""

from __future__ import annotations

import argparse

import torch

from gatelab.ensemble import train_group
from gatelab.tasks import RunConfig
from gatelab.train import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist-5k")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--activation", default="gelu")
    args = parser.parse_args()
    configs = [
        RunConfig("mnist-mlp", activation=args.activation, seed=seed, lr=lr,
                  epochs=args.epochs, dataset=args.dataset, device="cpu",
                  options={"dropout": dropout})
        for seed in (0, 1) for lr in (1e-3, 1e-4) for dropout in (0.0, 0.5)
    ]  # fmt: skip
    ensemble = train_group(configs)
    print(
        f"# mnist-mlp {args.activation} on {args.dataset}, {args.epochs} epochs, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(
        "| seed | lr | dropout | max rel. Δ train loss (epoch: ensemble / sequential) | "
        "rel. Δ final test loss | Δ test accuracy (examples) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for config, member in zip(configs, ensemble):
        single = run(config, log=lambda line: None, progress=False)
        deltas = [
            abs(a["train_loss"] - b["train_loss"]) / abs(b["train_loss"])
            for a, b in zip(member["history"], single["history"])
        ]
        worst = max(range(len(deltas)), key=deltas.__getitem__)
        loss = member["metrics"]["test_loss"], single["metrics"]["test_loss"]
        n_test = 10_000 if args.dataset != "mnist-5k" else 1_000
        accuracy = member["metrics"]["test_accuracy"] - single["metrics"]["test_accuracy"]
        print(
            f"| {config.seed} | {config.lr:g} | {config.options['dropout']:g} | "
            f"{deltas[worst]:.1e} ({worst + 1}: {member['history'][worst]['train_loss']:.3g} / "
            f"{single['history'][worst]['train_loss']:.3g}) | "
            f"{abs(loss[0] - loss[1]) / loss[1]:.1e} | "
            f"{round(accuracy * n_test):+d} |"
        )


if __name__ == "__main__":
    main()
