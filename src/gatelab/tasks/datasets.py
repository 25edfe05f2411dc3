"""From a task's `--dataset` choice to tensors: the real loaders of :mod:`gatelab.data`, the
synthetic stand-ins, and the smoke scale's subsampling."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from gatelab.data.splits import ArraySplits

from .base import RunConfig, data_root

#: Examples kept at the smoke scale (train, test): seconds on a CPU.
SMOKE_SIZES = (512, 256)
#: Size of the synthetic stand-in at the paper scale (train, test): CIFAR's.
SYNTHETIC_SIZES = (50_000, 10_000)


def dataset_choice(config: RunConfig, choices: tuple[str, ...]) -> str:
    """The dataset a run uses: `config.dataset` or the task's default; "synthetic" (the
    default's shape, generated) is always accepted."""
    name = config.dataset or choices[0]
    if name != "synthetic" and name not in choices:
        raise ValueError(
            f"task {config.task} takes --dataset {'|'.join(choices)}|synthetic, not {name!r}"
        )
    return name


_CACHE: dict[tuple, ArraySplits] | None = None


@contextlib.contextmanager
def cached_datasets() -> Iterator[None]:
    """Within the block, :func:`load` reads each dataset once (an ensemble builds its K members'
    experiments from one copy); the splits are shared, so callers must not modify them in
    place (the tasks' preprocessing makes new tensors)."""
    global _CACHE
    outer, _CACHE = _CACHE, {} if _CACHE is None else _CACHE
    try:
        yield
    finally:
        _CACHE = outer


def load(config: RunConfig, choices: tuple[str, ...]) -> ArraySplits:
    """The splits of the run's dataset, subsampled at the smoke scale."""
    key = (dataset_choice(config, choices), config.scale, config.data_root, config.download)
    if _CACHE is not None and key in _CACHE:
        return _CACHE[key]
    splits = _load(config, choices)
    if _CACHE is not None:
        _CACHE[key] = splits
    return splits


def _load(config: RunConfig, choices: tuple[str, ...]) -> ArraySplits:
    name = dataset_choice(config, choices)
    smoke = config.scale == "smoke"
    if name == "synthetic":
        from gatelab.data.synthetic import synthetic_like

        sizes = SMOKE_SIZES if smoke else SYNTHETIC_SIZES
        return synthetic_like(choices[0], *sizes, seed=0)
    splits = _load_real(name, config)
    return _subsample(splits, *SMOKE_SIZES) if smoke else splits


def _load_real(name: str, config: RunConfig) -> ArraySplits:
    root = data_root(config)
    if name == "twitter-pos":
        from gatelab.data.twitter_pos import load_twitter_pos

        return load_twitter_pos(_required(root, name))
    if name == "timit":
        from gatelab.data.timit import load_timit

        return load_timit(_required(root, name))
    from gatelab.data.vision import load_vision

    return load_vision(name, root=root, download=config.download)


def _required(root: Path | None, name: str) -> Path:
    if root is None:
        raise ValueError(
            f"{name} cannot be redistributed or downloaded: pass --data-root DIR with your copy "
            f"(see `gatelab.data.{name.replace('-', '_')}` for the expected layout)"
        )
    return root


def _subsample(splits: ArraySplits, n_train: int, n_test: int) -> ArraySplits:
    from .preprocess import head

    train = head(splits.train_x, splits.train_y, n_train)
    test = head(splits.test_x, splits.test_y, n_test)
    val = (None, None)
    if splits.val_x is not None:
        val = head(splits.val_x, splits.val_y, n_test)
    return ArraySplits(
        name=splits.name,
        train_x=train[0],
        train_y=train[1],
        test_x=test[0],
        test_y=test[1],
        num_classes=splits.num_classes,
        source=f"{splits.source} (smoke subsample {n_train}/{n_test})",
        val_x=val[0],
        val_y=val[1],
    )
