"""Synthetic stand-ins with the exact shapes of the real datasets, for tests and speed runs.

Every class has a fixed random prototype; an example is its prototype plus noise, so a model
can learn the labels (a test can check that loss falls) while the tensors have the shape, dtype
and value range of the dataset they imitate. Nothing is downloaded and nothing is cached.
"""

from __future__ import annotations

import torch

from .splits import ArraySplits

#: name → (example shape, number of classes, dtype kind); images are uint8 like the real files.
SHAPES: dict[str, tuple[tuple[int, ...], int, str]] = {
    "mnist": ((1, 28, 28), 10, "image"),
    "fashion-mnist": ((1, 28, 28), 10, "image"),
    "mnist-5k": ((1, 28, 28), 10, "image"),
    "mnist1d": ((40,), 10, "vector"),
    "cifar10": ((3, 32, 32), 10, "image"),
    "cifar100": ((3, 32, 32), 100, "image"),
    "stl10": ((3, 96, 96), 10, "image"),
    "twitter-pos": ((150,), 25, "vector"),
    "timit": ((286,), 39, "vector"),
}


def synthetic_like(name: str, n_train: int, n_test: int, seed: int = 0) -> ArraySplits:
    """Class-prototype data shaped like dataset `name` (one of :data:`SHAPES`)."""
    if name not in SHAPES:
        raise ValueError(f"no synthetic stand-in for {name!r}; known: {', '.join(SHAPES)}")
    shape, num_classes, kind = SHAPES[name]
    generator = torch.Generator().manual_seed(seed)
    prototypes = torch.rand((num_classes, *shape), generator=generator)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(n) % num_classes
        labels = labels[torch.randperm(n, generator=generator)]
        noise = torch.rand((n, *shape), generator=generator)
        x = 0.6 * prototypes[labels] + 0.4 * noise
        if kind == "image":
            return (x * 255).round().to(torch.uint8), labels
        return (x - 0.5).float(), labels

    train_x, train_y = draw(n_train)
    test_x, test_y = draw(n_test)
    return ArraySplits(
        name=f"synthetic-{name}",
        train_x=train_x,
        train_y=train_y,
        test_x=test_x,
        test_y=test_y,
        num_classes=num_classes,
        source=f"generated: synthetic_like({name!r}, seed={seed})",
    )
