"""Hand-built results tables for the statistics tests, in the store's column layout."""

import math

import pandas as pd

CNN = "cifar10-cnn9"  # a classifier: accuracy, higher is better
AE = "mnist-ae"  # the autoencoder: MSE, lower is better
OBJECTIVES = {
    CNN: ("test_accuracy", "val_accuracy", True),
    AE: ("test_mse", "val_mse", False),
    "mnist-mlp": ("test_accuracy", "val_accuracy", True),
}


def run(task=CNN, activation="gelu", seed=0, lr=1e-3, status="ok", val=None, test=None, **extra):
    """One results row as gatelab.results.load gives it; val/test fill the task's metric
    columns (None → NaN, as when diverged)."""
    metric, val_metric, higher = OBJECTIVES[task]
    nan = lambda v: math.nan if v is None else v  # noqa: E731
    return {
        "task": task, "activation": activation, "seed": seed, "lr": lr, "status": status,
        "dataset": None, "scale": "paper", "epochs": 10,
        "metric": metric, "val_metric": val_metric, "higher_is_better": higher,
        val_metric: nan(val), metric: nan(test), **extra,
    }  # fmt: skip


def runs(activation, tests, *, task=CNN, lr=1e-3, seeds=None, **kwargs):
    """Ok runs of one activation with the given test values (validation = test)."""
    seeds = range(len(tests)) if seeds is None else seeds
    return [run(task, activation, s, lr, val=v, test=v, **kwargs) for s, v in zip(seeds, tests)]


def frame(*groups):
    return pd.DataFrame([row for group in groups for row in group])
