"""Writers of the real on-disk dataset formats, for tests: small files the loaders must read.

Each writer follows the format's published description, written independently of the readers:
IDX (yann.lecun.com/exdb/mnist), the CIFAR "python version" pickles (cs.toronto.edu/~kriz/cifar),
the STL-10 binaries (cs.stanford.edu/~acoates/stl10: "column-major order, one channel at a time").
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

IDX_TYPE_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: magic 00 00 <type> <ndim>, big-endian uint32 dims, data."""
    code = IDX_TYPE_CODES[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    return header + big_endian.tobytes(order="C")


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """Write ``array`` as IDX to ``path`` (gzip-compressed when ``compress``)."""
    data = idx_bytes(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_mnist_raw(
    directory: Path,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    compress: bool = False,
) -> None:
    """The four MNIST IDX files, named as published (``.gz`` appended when ``compress``)."""
    suffix = ".gz" if compress else ""
    for prefix, (images, labels) in (("train", train), ("t10k", test)):
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)


def write_cifar_batch(path: Path, rows: np.ndarray, labels: dict[bytes, list[int]]) -> None:
    """One CIFAR batch: a pickled dict of bytes keys, ``b"data"`` uint8 [n, 3072] (R, G, B
    planes, each row-major 32×32), label lists under the given keys, plus ``b"filenames"``."""
    batch = {b"batch_label": b"test batch", b"data": rows, **labels}
    batch[b"filenames"] = [f"img_{i}.png".encode() for i in range(len(rows))]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(batch, handle, protocol=2)


def stl10_image_bytes(images: np.ndarray) -> bytes:
    """STL-10 ``*_X.bin`` content for uint8 images [n, 3, 96, 96] ([image, channel, row, col]):
    per image, channel by channel, each channel column by column (byte col·96 + row)."""
    n = len(images)
    out = np.empty((n, 3, 96 * 96), dtype=np.uint8)
    rows, cols = np.indices((96, 96))
    out[:, :, cols * 96 + rows] = images
    return out.tobytes()


def write_stl10(directory: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """``<split>_X.bin`` and ``<split>_y.bin``; labels are given 0..9 and stored 1..10."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{split}_X.bin").write_bytes(stl10_image_bytes(images))
    (directory / f"{split}_y.bin").write_bytes((labels + 1).astype(np.uint8).tobytes())
