"""Reader for the IDX file format of MNIST and Fashion-MNIST, plain or gzip-compressed.

Format (LeCun et al., http://yann.lecun.com/exdb/mnist/, section "The IDX file format"):
a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian uint32
dimension sizes, then the values in C (row-major) order, big-endian. The dtype codes are
0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDX_DTYPES", "IdxFormatError", "parse_idx", "read_idx"]

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX dtype code → big-endian numpy dtype."""

_GZIP_MAGIC = b"\x1f\x8b"


class IdxFormatError(ValueError):
    """An IDX file is corrupt, truncated or not an IDX file at all."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or plain; detected from its content) into an array.

    Returns a writable array in native byte order with the shape stored in the header.
    Raises :class:`IdxFormatError` naming the file and the problem when the content is invalid.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise IdxFormatError(
                f"{path}: corrupt gzip stream ({err}); delete the file and download it again"
            ) from err
    return parse_idx(raw, source=str(path))


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an uncompressed IDX file; ``source`` names it in error messages."""
    dtype, shape, offset = _parse_header(data, source)
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - offset
    if actual != expected:
        problem = "truncated" if actual < expected else "has trailing bytes"
        raise IdxFormatError(
            f"{source}: IDX data {problem}: header shape {shape} of {dtype.name} needs "
            f"{expected} bytes after the {offset}-byte header, found {actual}"
        )
    values = np.frombuffer(data, dtype=dtype, offset=offset, count=math.prod(shape))
    return values.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _parse_header(data: bytes, source: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """Return (dtype, shape, header length) after validating the magic number and dimensions."""
    if len(data) < 4:
        raise IdxFormatError(f"{source}: {len(data)} bytes is too short for an IDX magic number")
    zero_a, zero_b, code, ndim = data[:4]
    if zero_a != 0 or zero_b != 0:
        raise IdxFormatError(
            f"{source}: not an IDX file: magic number starts {data[:2].hex()}, expected 0000"
        )
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IdxFormatError(f"{source}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise IdxFormatError(f"{source}: IDX header declares 0 dimensions")
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise IdxFormatError(
            f"{source}: IDX header truncated: {ndim} dimensions need {offset} header bytes, "
            f"file has {len(data)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    return IDX_DTYPES[code], shape, offset
