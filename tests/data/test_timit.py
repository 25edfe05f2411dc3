"""TIMIT loader on a tiny synthetic corpus: SPHERE parsing, MFCCs against a direct DFT, labels."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from gatelab.data.splits import DatasetNotFound
from gatelab.data.timit import (
    PHONE_CLASSES,
    PHONE_MAP,
    add_context,
    frame_features,
    load_timit,
    parse_sphere_header,
    read_audio,
    read_phones,
)

# Kaldi egs/timit/s5/conf/phones.60-48-39.map (61 phone, 48-set, 39-set), q has no mapping.
KALDI_MAP = """aa aa aa|ae ae ae|ah ah ah|ao ao aa|aw aw aw|ax ax ah|ax-h ax ah|axr er er|ay ay ay
|b b b|bcl vcl sil|ch ch ch|d d d|dcl vcl sil|dh dh dh|dx dx dx|eh eh eh|el el l|em m m|en en n
|eng ng ng|epi epi sil|er er er|ey ey ey|f f f|g g g|gcl vcl sil|h# sil sil|hh hh hh|hv hh hh
|ih ih ih|ix ix ih|iy iy iy|jh jh jh|k k k|kcl cl sil|l l l|m m m|n n n|ng ng ng|nx n n|ow ow ow
|oy oy oy|p p p|pau sil sil|pcl cl sil|q|r r r|s s s|sh sh sh|t t t|tcl cl sil|th th th|uh uh uh
|uw uw uw|ux uw uw|v v v|w w w|y y y|z z z|zh zh sh"""

FRAMES = 80
SAMPLES = 400 + 160 * (FRAMES - 1)  # 13040
PHN = f"0 3000 h#\n3000 6000 aa\n6000 9000 ao\n9000 {SAMPLES} zh\n"
PHN_WITH_Q = f"0 3000 h#\n3000 6000 aa\n6000 9000 q\n9000 {SAMPLES} zh\n"
# Frame t is centred on sample 160 t + 200: t <= 17 lies in h#, 18..54 in aa/ao, 55.. in zh.
LABELS = ["sil"] * 18 + ["aa"] * 37 + ["sh"] * 25
LABELS_WITH_Q = ["sil"] * 18 + ["aa"] * 19 + ["sh"] * 25  # frames 37..54 (the q) dropped


def synthetic_audio(seed: int, n: int = SAMPLES) -> np.ndarray:
    """Tones that change every 3000 samples, plus noise, as int16."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    tone = np.sin(2 * np.pi * (300 + 700 * (np.arange(n) // 3000)) * t)
    return np.round(8000 * tone + 300 * rng.standard_normal(n)).astype(np.int16)


def sphere_bytes(samples: np.ndarray, byte_format: str = "01", coding: str = "pcm") -> bytes:
    fields = [
        "database_id -s5 TIMIT",
        f"sample_count -i {len(samples)}",
        "sample_rate -i 16000",
        "channel_count -i 1",
        f"sample_byte_format -s2 {byte_format}",
        "sample_n_bytes -i 2",
        "sample_sig_bits -i 16",
        f"sample_coding -s{len(coding)} {coding}",
        "end_head",
    ]
    header = ("NIST_1A\n   1024\n" + "\n".join(fields) + "\n").encode("ascii")
    dtype = "<i2" if byte_format == "01" else ">i2"
    return header.ljust(1024, b" ") + samples.astype(dtype).tobytes()


def write_sentence(directory: Path, name: str, seed: int, phn: str = PHN, byte_format="01"):
    """NAME.WAV + NAME.PHN, or name.wav + name.phn for a lower-case name."""
    directory.mkdir(parents=True, exist_ok=True)
    samples = synthetic_audio(seed)
    wav, phones = (".WAV", ".PHN") if name.isupper() else (".wav", ".phn")
    (directory / (name + wav)).write_bytes(sphere_bytes(samples, byte_format))
    (directory / (name + phones)).write_text(phn, encoding="ascii")
    return samples


def write_corpus(root: Path) -> list[np.ndarray]:
    """3 train sentences (+ an SA one to skip), 1 core test, 1 dev50 and 1 other test sentence."""
    train = [
        write_sentence(root / "TRAIN/DR1/FAKE0", "SI1", 1),
        write_sentence(root / "TRAIN/DR1/FAKE0", "SX2", 2, byte_format="10"),
        write_sentence(root / "TRAIN/DR2/MFOO0", "si3", 3),
    ]
    (root / "TRAIN/DR1/FAKE0/SA1.WAV").write_bytes(sphere_bytes(synthetic_audio(9, 2000)))
    (root / "TRAIN/DR1/FAKE0/SA1.PHN").write_text("0 2000 h#\n", encoding="ascii")
    write_sentence(root / "TEST/DR1/MDAB0", "SI4", 4, phn=PHN_WITH_Q)
    write_sentence(root / "TEST/DR1/FAKS0", "SX5", 5)
    write_sentence(root / "TEST/DR2/MXYZ0", "SI6", 6)
    return train


# --- independent reference MFCC: direct DFT, explicit filters and DCT, one frame at a time ---


def mel(hz: float) -> float:
    return 2595 * math.log10(1 + hz / 700)


def reference_static(signal: np.ndarray, t: int) -> np.ndarray:
    """c1..c12 and log energy of frame t, following the HTK recipe line by line."""
    x = signal.astype(np.float64)
    start = 160 * t
    raw = x[start : start + 400]
    previous = np.concatenate([[x[start]] if start == 0 else [x[start - 1]], raw[:-1]])
    emphasised = raw - 0.97 * previous
    if start == 0:
        emphasised[0] = raw[0]
    n = np.arange(400)
    windowed = emphasised * (0.54 - 0.46 * np.cos(2 * np.pi * n / 399))
    power = []
    for k in range(257):
        re = np.sum(windowed * np.cos(2 * np.pi * k * n / 512))
        im = -np.sum(windowed * np.sin(2 * np.pi * k * n / 512))
        power.append(re * re + im * im)
    top = mel(8000)
    edges = [700 * (10 ** (top * i / 27 / 2595) - 1) for i in range(28)]
    log_energies = []
    for m in range(1, 27):
        left, centre, right = edges[m - 1], edges[m], edges[m + 1]
        total = 0.0
        for k in range(257):
            f = k * 16000 / 512
            if left <= f <= centre:
                total += power[k] * (f - left) / (centre - left)
            elif centre < f <= right:
                total += power[k] * (right - f) / (right - centre)
        log_energies.append(math.log(max(total, 1.0)))
    cepstra = [
        math.sqrt(2 / 26)
        * sum(log_energies[j] * math.cos(math.pi * i * (j + 0.5) / 26) for j in range(26))
        for i in range(1, 13)
    ]
    return np.array([*cepstra, math.log(max(float(np.sum(raw * raw)), 1.0))])


def test_static_features_and_deltas_match_the_reference():
    signal = synthetic_audio(7, 400 + 160 * 9)  # 10 frames
    features = frame_features(signal)
    assert features.shape == (10, 26)
    static = {t: reference_static(signal, t) for t in range(10)}
    for t, expected in static.items():
        np.testing.assert_allclose(features[t, :13], expected, rtol=1e-9, atol=1e-9)
    delta_5 = (static[6] - static[4] + 2 * (static[7] - static[3])) / 10
    np.testing.assert_allclose(features[5, 13:], delta_5, rtol=1e-9, atol=1e-9)
    delta_0 = (static[1] - static[0] + 2 * (static[2] - static[0])) / 10  # edges replicated
    np.testing.assert_allclose(features[0, 13:], delta_0, rtol=1e-9, atol=1e-9)
    delta_9 = (static[9] - static[8] + 2 * (static[9] - static[7])) / 10
    np.testing.assert_allclose(features[9, 13:], delta_9, rtol=1e-9, atol=1e-9)


def test_silent_frames_hit_the_energy_floor():
    """Digital silence: every energy is floored at 1, so log energy and c1..c12 are exactly 0."""
    signal = np.concatenate([np.zeros(400 + 160 * 4, np.int16), synthetic_audio(3, 800)])
    features = frame_features(signal)
    np.testing.assert_array_equal(features[:5, :13], np.zeros((5, 13)))
    assert np.all(np.isfinite(features)) and np.abs(features[-1, :13]).max() > 1


@pytest.mark.parametrize("n", [400, 559, 560, 1234, 16000])
def test_frame_count(n):
    signal = synthetic_audio(n, n)
    assert frame_features(signal).shape == (1 + (n - 400) // 160, 26)


def test_too_short_signal_is_rejected():
    with pytest.raises(ValueError, match="at least 400 samples"):
        frame_features(np.zeros(399, dtype=np.int16))


# --- file formats ---


def test_sphere_header_fields():
    header = sphere_bytes(np.zeros(3, dtype=np.int16), "10")[:1024]
    fields = parse_sphere_header(header)
    assert fields["sample_rate"] == 16000 and fields["sample_count"] == 3
    assert fields["sample_byte_format"] == "10" and fields["database_id"] == "TIMIT"
    assert fields["sample_coding"] == "pcm"


@pytest.mark.parametrize("byte_format", ["01", "10"])
def test_sphere_samples_in_both_byte_orders(tmp_path, byte_format):
    samples = np.array([1, -2, 300, -32768, 32767, 258], dtype=np.int16)
    path = tmp_path / "x.wav"
    path.write_bytes(sphere_bytes(samples, byte_format))
    read, rate = read_audio(path)
    assert rate == 16000 and read.dtype == np.int16
    np.testing.assert_array_equal(read, samples)


def test_riff_wav_through_the_wave_module(tmp_path):
    samples = np.array([5, -7, 1000], dtype=np.int16)
    path = tmp_path / "x.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(samples.astype("<i2").tobytes())
    read, rate = read_audio(path)
    assert rate == 16000
    np.testing.assert_array_equal(read, samples)


def test_compressed_sphere_and_unknown_formats_are_rejected(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(sphere_bytes(np.zeros(4, np.int16), coding="pcm,embedded-shorten-v2.00"))
    with pytest.raises(ValueError, match="sph2pipe"):
        read_audio(path)
    path.write_bytes(b"OggS" + bytes(100))
    with pytest.raises(ValueError, match="neither NIST SPHERE"):
        read_audio(path)


def test_phone_map_is_kaldis_61_to_39_table():
    table = [entry.split() for entry in KALDI_MAP.replace("\n", "").split("|")]
    assert len(table) == 61 and len(PHONE_MAP) == 61
    assert PHONE_MAP == {row[0]: (row[2] if len(row) == 3 else None) for row in table}
    assert len(PHONE_CLASSES) == 39


def test_unknown_phone_names_file_and_line(tmp_path):
    path = tmp_path / "X.PHN"
    path.write_text("0 10 h#\n10 20 xx\n", encoding="ascii")
    with pytest.raises(ValueError, match=r"X\.PHN:2: unknown phone 'xx'"):
        read_phones(path)


def test_add_context_repeats_edge_frames():
    frames = np.arange(12, dtype=np.float64).reshape(6, 2)  # frame t = [2t, 2t + 1]
    rows = add_context(frames, context=2)
    assert rows.shape == (6, 10)
    np.testing.assert_array_equal(rows[0], [0, 1, 0, 1, 0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(rows[5], [6, 7, 8, 9, 10, 11, 10, 11, 10, 11])


# --- the whole loader ---


def names(labels: torch.Tensor) -> list[str]:
    return [PHONE_CLASSES[i] for i in labels.tolist()]


def test_load_timit_splits_labels_and_standardisation(tmp_path):
    train_signals = write_corpus(tmp_path)
    data = load_timit(tmp_path)
    assert data.num_classes == 39 and data.name == "timit"
    assert data.train_x.shape == (3 * FRAMES, 286) and data.train_x.dtype == torch.float32
    assert data.val_x.shape == (2 * FRAMES, 286)  # FAKS0 and MXYZ0: every non-core speaker
    assert data.test_x.shape == (len(LABELS_WITH_Q), 286)  # MDAB0 only, q frames dropped
    assert data.train_y.dtype == torch.int64
    assert names(data.train_y) == LABELS * 3 and names(data.val_y) == LABELS * 2
    assert names(data.test_y) == LABELS_WITH_Q
    assert "3/2/1 sentences" in data.source

    frames = np.concatenate([frame_features(signal) for signal in train_signals])
    standardised = (frames - frames.mean(axis=0)) / frames.std(axis=0)
    centre = data.train_x[:, 5 * 26 : 6 * 26].double().numpy()
    np.testing.assert_allclose(centre, standardised, rtol=1e-5, atol=1e-5)
    first = data.train_x[0].view(11, 26)
    assert torch.equal(first[:6], first[5].expand(6, 26))  # frames -5..0 are all frame 0
    assert torch.equal(data.train_x[10].view(11, 26)[7], data.train_x[12].view(11, 26)[5])


def test_dev50_validation_uses_halberstadts_speakers(tmp_path):
    write_corpus(tmp_path)
    data = load_timit(tmp_path, validation="dev50")
    assert data.val_x.shape == (FRAMES, 286)  # FAKS0 only
    with pytest.raises(ValueError, match="rest_of_test"):
        load_timit(tmp_path, validation="dev")


def test_corpus_found_in_a_lower_case_subdirectory(tmp_path):
    write_corpus(tmp_path / "timit" / "TIMIT")
    (tmp_path / "timit/TIMIT/TRAIN").rename(tmp_path / "timit/TIMIT/train")
    assert load_timit(tmp_path).train_x.shape == (3 * FRAMES, 286)


def test_missing_corpus_names_layout_and_directories(tmp_path):
    with pytest.raises(DatasetNotFound) as error:
        load_timit(tmp_path)
    message = str(error.value)
    assert "TRAIN/DR*/<SPEAKER>/*.WAV" in message and ".PHN" in message
    assert str(tmp_path / "TIMIT") in message and "LDC93S1" in message


def test_missing_phone_file_and_missing_core_speakers(tmp_path):
    write_corpus(tmp_path)
    (tmp_path / "TEST/DR1/MDAB0/SI4.PHN").unlink()
    with pytest.raises(DatasetNotFound, match=r"SI4\.WAV has no phone file SI4\.PHN"):
        load_timit(tmp_path)
    (tmp_path / "TEST/DR1/MDAB0/SI4.WAV").unlink()
    with pytest.raises(DatasetNotFound, match="no test sentences"):
        load_timit(tmp_path)
