"""IDX reader: hand-written bytes, round trips through an independent writer, corrupt files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from data.formats import IDX_TYPE_CODES, idx_bytes, write_idx
from gatelab.data.idx import IdxFormatError, parse_idx, read_idx


def test_hand_written_uint8_matrix():
    # magic 00 00 08 02, dims 2 and 3 (big-endian uint32), then 0..5 row-major
    data = b"\x00\x00\x08\x02" + b"\x00\x00\x00\x02" + b"\x00\x00\x00\x03" + bytes(range(6))
    np.testing.assert_array_equal(parse_idx(data), [[0, 1, 2], [3, 4, 5]])


def test_hand_written_big_endian_int16_and_float32():
    int16 = b"\x00\x00\x0b\x01\x00\x00\x00\x02" + b"\x01\x02" + b"\xff\xfe"
    np.testing.assert_array_equal(parse_idx(int16), [258, -2])
    float32 = b"\x00\x00\x0d\x01\x00\x00\x00\x01" + b"\x3f\xc0\x00\x00"  # 1.5
    assert parse_idx(float32).tolist() == [1.5]


@pytest.mark.parametrize("dtype", list(IDX_TYPE_CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_every_dtype(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    result = read_idx(write_idx(tmp_path / "a.idx", array, compress))
    assert result.dtype == dtype and result.dtype.isnative
    assert result.shape == (3, 4, 5)
    np.testing.assert_array_equal(result, array)
    result[0, 0, 0] = 1  # writable


@pytest.mark.parametrize("shape", [(7,), (2, 3), (1, 2, 3, 4)])
def test_round_trip_shapes(tmp_path, shape):
    array = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a", array)), array)


def test_gzip_is_detected_from_content_not_name(tmp_path):
    path = tmp_path / "no-gz-suffix"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(4, dtype=np.uint8))))
    np.testing.assert_array_equal(read_idx(path), [0, 1, 2, 3])


def _valid() -> bytes:
    return idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (b"\x01\x00" + _valid()[2:], "not an IDX file"),
        (b"\x00\x00\x07" + _valid()[3:], "unknown IDX dtype code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (_valid()[:9], "header truncated"),
        (_valid()[:-1], "truncated"),
        (_valid() + b"\x00", "trailing bytes"),
    ],
)
def test_corrupt_content_is_rejected(tmp_path, data, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(data)
    with pytest.raises(IdxFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_is_rejected(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(_valid())[:-6])
    with pytest.raises(IdxFormatError, match="corrupt gzip"):
        read_idx(path)


def test_error_is_a_value_error():
    assert issubclass(IdxFormatError, ValueError)
