"""Speech audio to frame features: NIST SPHERE / RIFF reading and HTK-style MFCCs.

Used by :mod:`gatelab.data.timit` (the GELU paper's §3.4 TIMIT frames). NIST SPHERE: a
1024-byte ASCII header (``NIST_1A``, ``key -type value`` lines up to ``end_head``) then 16-bit
PCM in the byte order ``sample_byte_format`` gives (01 little-, 10 big-endian); shorten-compressed
files are refused (convert them with sph2pipe).

Features per frame (HTK-style MFCC, Young et al., *The HTK Book*, ch. 5; 26 = 13 static + 13 Δ):

* samples in int16 units; frames of 400 samples (25 ms) every 160 (10 ms), no padding, so an
  utterance of n samples has ``1 + (n - 400) // 160`` frames;
* log energy = log of the sum of squares of the raw frame (HTK's RAWENERGY: before pre-emphasis
  and windowing);
* pre-emphasis y[n] = x[n] - 0.97 x[n-1] over the whole utterance (y[0] = x[0]), Hamming window,
  power spectrum |X_k|² of a 512-point FFT;
* 26 triangular filters with centres equally spaced on the mel scale 2595·log10(1 + f/700)
  from 0 to 8000 Hz, each rising from its left neighbour's centre to its own and falling to its
  right neighbour's, evaluated at the bin frequencies k·16000/512;
* log of the filter energies, energies floored at 1.0 (HTK's mel floor) as is the frame energy;
  orthonormal DCT-II, cepstra c1..c12 (c0 is replaced by the log energy). No liftering: a
  per-coefficient scale disappears in the per-feature standardisation of :mod:`gatelab.data.timit`;
* deltas by the regression formula d_t = Σ_{n=1..2} n (c_{t+n} - c_{t-n}) / (2 Σ n²), the first
  and last frames replicated at the edges (HTK, DELTAWINDOW=2).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
FRAME_LENGTH = 400  # 25 ms
FRAME_SHIFT = 160  # 10 ms
FFT_SIZE = 512
PRE_EMPHASIS = 0.97
NUM_FILTERS = 26
NUM_CEPSTRA = 12
DELTA_WINDOW = 2
ENERGY_FLOOR = 1.0
CONTEXT = 5
FEATURES_PER_FRAME = 2 * (NUM_CEPSTRA + 1)
FEATURE_DIM = (2 * CONTEXT + 1) * FEATURES_PER_FRAME


# --- audio ---------------------------------------------------------------------------------------


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples (int16, mono) and sample rate of a NIST SPHERE or RIFF/WAV file."""
    path = Path(path)
    with path.open("rb") as stream:
        magic = stream.read(8)
    if magic.startswith(b"NIST_1A"):
        return _read_sphere(path)
    if magic.startswith(b"RIFF"):
        return _read_riff(path)
    raise ValueError(
        f"{path}: neither NIST SPHERE (starts 'NIST_1A') nor RIFF/WAV (starts 'RIFF'); "
        f"got {magic!r}"
    )


def parse_sphere_header(
    header: bytes, path: Path | str = "<bytes>"
) -> dict[str, int | float | str]:
    """The ``key -type value`` fields of a SPHERE header (``-i`` int, ``-r`` real, ``-sN`` text).

    ``header`` starts with ``NIST_1A\\n``, then the header size in bytes, then one field per line
    up to ``end_head``.
    """
    lines = header.decode("ascii", errors="replace").split("\n")
    if lines[0].strip() != "NIST_1A" or len(lines) < 2 or not lines[1].strip().isdigit():
        raise ValueError(f"{path}: not a NIST SPHERE header (expected 'NIST_1A\\n   1024\\n')")
    fields: dict[str, int | float | str] = {}
    for number, line in enumerate(lines[2:], start=3):
        if line.strip() == "end_head":
            return fields
        if line.strip():
            key, value = _parse_sphere_field(line, path, number)
            fields[key] = value
    raise ValueError(f"{path}: SPHERE header has no 'end_head' line")


def _parse_sphere_field(line: str, path: Path | str, number: int) -> tuple[str, int | float | str]:
    parts = line.split(None, 2)
    if len(parts) < 3 or not parts[1].startswith("-"):
        raise ValueError(f"{path}: header line {number} is not 'key -type value': {line!r}")
    key, kind, rest = parts
    if kind == "-i":
        return key, int(rest.strip())
    if kind == "-r":
        return key, float(rest.strip())
    if kind.startswith("-s") and kind[2:].isdigit():
        return key, rest[: int(kind[2:])]
    raise ValueError(f"{path}: header line {number} has unknown type {kind!r}: {line!r}")


def _read_sphere(path: Path) -> tuple[np.ndarray, int]:
    raw = path.read_bytes()
    size_line = raw[:64].split(b"\n")[1:2]
    if not size_line or not size_line[0].strip().isdigit():
        raise ValueError(f"{path}: SPHERE header size missing (expected 'NIST_1A\\n   1024\\n')")
    header_size = int(size_line[0])
    fields = parse_sphere_header(raw[:header_size], path)
    coding = str(fields.get("sample_coding", "pcm"))
    channels = int(fields.get("channel_count", 1))
    width = int(fields.get("sample_n_bytes", 2))
    if coding != "pcm" or channels != 1 or width != 2:
        raise ValueError(
            f"{path}: only uncompressed 16-bit mono PCM SPHERE is supported, got "
            f"sample_coding={coding!r}, channel_count={channels}, sample_n_bytes={width}; "
            "convert compressed (shorten) files with sph2pipe -f wav"
        )
    order = {"01": "<i2", "10": ">i2"}.get(str(fields.get("sample_byte_format", "")))
    if order is None:
        raise ValueError(
            f"{path}: sample_byte_format must be '01' (little-endian) or '10' (big-endian), "
            f"got {fields.get('sample_byte_format')!r}"
        )
    if "sample_rate" not in fields:
        raise ValueError(f"{path}: SPHERE header has no sample_rate field")
    data = raw[header_size:]
    samples = np.frombuffer(data[: len(data) // 2 * 2], dtype=order)
    count = int(fields.get("sample_count", len(samples)))
    if count > len(samples):
        raise ValueError(f"{path}: header says {count} samples, the file holds {len(samples)}")
    return samples[:count].astype(np.int16), int(fields["sample_rate"])


def _read_riff(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as audio:
        if audio.getsampwidth() != 2 or audio.getnchannels() != 1:
            raise ValueError(
                f"{path}: only 16-bit mono WAV is supported, got {8 * audio.getsampwidth()}-bit "
                f"with {audio.getnchannels()} channels"
            )
        frames = audio.readframes(audio.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(np.int16), audio.getframerate()


# --- features ------------------------------------------------------------------------------------


def mel_filterbank(
    num_filters: int = NUM_FILTERS, fft_size: int = FFT_SIZE, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Triangular mel filters as a [fft_size // 2 + 1, num_filters] matrix (see module docs)."""
    top = 2595.0 * np.log10(1.0 + (sample_rate / 2) / 700.0)
    edges_hz = 700.0 * (10.0 ** (np.linspace(0.0, top, num_filters + 2) / 2595.0) - 1.0)
    bins_hz = np.arange(fft_size // 2 + 1) * sample_rate / fft_size
    left, centre, right = edges_hz[:-2], edges_hz[1:-1], edges_hz[2:]
    rising = (bins_hz[:, None] - left) / (centre - left)
    falling = (right - bins_hz[:, None]) / (right - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def frame_features(samples: np.ndarray) -> np.ndarray:
    """[T, 26] float64 per-frame features of 16 kHz samples: c1..c12, log E, then their deltas."""
    signal = np.asarray(samples, dtype=np.float64)
    if signal.ndim != 1 or len(signal) < FRAME_LENGTH:
        raise ValueError(
            f"frame_features needs a 1-D signal of at least {FRAME_LENGTH} samples (one 25 ms "
            f"frame at 16 kHz), got shape {signal.shape}"
        )
    static = np.concatenate([_cepstra(signal), _log_energy(signal)[:, None]], axis=1)
    return np.concatenate([static, deltas(static)], axis=1)


def _frames(signal: np.ndarray) -> np.ndarray:
    count = 1 + (len(signal) - FRAME_LENGTH) // FRAME_SHIFT
    windows = np.lib.stride_tricks.sliding_window_view(signal, FRAME_LENGTH)
    return windows[: (count - 1) * FRAME_SHIFT + 1 : FRAME_SHIFT]


def _log_energy(signal: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.sum(_frames(signal) ** 2, axis=1), ENERGY_FLOOR))


def _cepstra(signal: np.ndarray) -> np.ndarray:
    emphasised = np.concatenate([signal[:1], signal[1:] - PRE_EMPHASIS * signal[:-1]])
    windowed = _frames(emphasised) * np.hamming(FRAME_LENGTH)
    power = np.abs(np.fft.rfft(windowed, n=FFT_SIZE, axis=1)) ** 2
    log_mel = np.log(np.maximum(power @ mel_filterbank(), ENERGY_FLOOR))
    return log_mel @ _dct_matrix(NUM_FILTERS)[:, 1 : NUM_CEPSTRA + 1]


def _dct_matrix(size: int) -> np.ndarray:
    """Orthonormal DCT-II as [size inputs, size outputs]: y_k = Σ_j x_j · D[j, k]."""
    j = np.arange(size)[:, None]
    k = np.arange(size)[None, :]
    scale = np.where(k == 0, np.sqrt(1.0 / size), np.sqrt(2.0 / size))
    return scale * np.cos(np.pi * k * (j + 0.5) / size)


def deltas(features: np.ndarray, window: int = DELTA_WINDOW) -> np.ndarray:
    """Regression deltas Σ_{n=1..N} n (x_{t+n} - x_{t-n}) / (2 Σ n²), edges replicated (HTK)."""
    padded = np.pad(features, ((window, window), (0, 0)), mode="edge")
    count = len(features)
    total = sum(
        n * (padded[window + n : window + n + count] - padded[window - n : window - n + count])
        for n in range(1, window + 1)
    )
    return total / (2 * sum(n * n for n in range(1, window + 1)))


def add_context(features: np.ndarray, context: int = CONTEXT) -> np.ndarray:
    """[T, D] → [T, (2·context + 1)·D]: frames t-context..t+context, edge frames repeated."""
    count = len(features)
    offsets = np.arange(-context, context + 1)
    index = np.clip(np.arange(count)[:, None] + offsets[None, :], 0, count - 1)
    return features[index].reshape(count, -1)
