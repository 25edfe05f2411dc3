"""TIMIT frame classification: the GELU paper's §3.4 data, features computed from the corpus.

Source: Hendrycks & Gimpel, "Gaussian Error Linear Units", arXiv:1606.08415 §3.4: each example is
a frame with 11 frames of context (±5) of 26 features — 12 MFCCs, log energy and their 13 first
derivatives — labelled with one of 39 phones; 3696 training, 1152 validation and 192 test
sentences. TIMIT (LDC93S1) cannot be redistributed: point ``root`` at a copy in its public
layout (names in upper or lower case)::

    root/TRAIN/DR1/FCJF0/SI1027.WAV   NIST SPHERE (or RIFF) 16 kHz 16-bit mono
    root/TRAIN/DR1/FCJF0/SI1027.PHN   "start_sample end_sample phone" per line
    root/TEST/DR1/FAKS0/...

``root`` may also be a directory holding such a copy under one of :data:`SEARCH_SUBDIRS`.

Splits (the paper's sizes): the SA sentences (the two dialect sentences every speaker reads) are
removed, as is standard. Train = every TRAIN speaker (462 speakers, 3696 sentences). Test = the
24-speaker core test set (Garofolo et al. 1993, TIMIT documentation; 192 sentences). Validation
(``validation="rest_of_test"``, the default) = the other 144 TEST speakers, 1152 sentences — the
only reading of the paper's 3696/1152/192; ``validation="dev50"`` uses instead Halberstadt's
(1998) 50-speaker development set (400 sentences), the list of Kaldi's ``egs/timit/s5/conf/
dev_spk.list``. Speakers are matched by directory name; the source string of the result counts
the sentences found, so a partial copy of the corpus is visible there.

Features per frame: :mod:`gatelab.data.audio` (HTK-style MFCC, 26 = 13 static + 13 Δ).


Each of the 26 features is standardised with the mean and (population) standard deviation over
all frames of the training utterances (a constant feature keeps scale 1), as the official code
does (github.com/hendrycks/GELUs, ``timit_fcn.py``), the same statistics applied to every split.
Then every frame gets its ±5 neighbours, the utterance's first and last frames repeated at the
edges (as the official code's ``add_context``): 286 = 11 × 26 features ordered by frame offset
-5..+5. A frame's label is the phone of the segment holding its centre sample ``160 t + 200``,
folded from the 61 TIMIT phones to 39 classes (Lee & Hon 1989, "Speaker-independent phone
recognition using hidden Markov models", IEEE TASSP 37(11); the table of Kaldi's
``egs/timit/s5/conf/phones.60-48-39.map``). Frames centred on the glottal stop ``q`` (which that
mapping deletes) or outside every segment give no example; they still serve as context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from gatelab.data.audio import (
    FEATURE_DIM,
    FRAME_LENGTH,
    FRAME_SHIFT,
    SAMPLE_RATE,
    add_context,
    deltas,
    frame_features,
    mel_filterbank,
    parse_sphere_header,
    read_audio,
)
from gatelab.data.splits import ArraySplits, DatasetNotFound

__all__ = [
    "CORE_TEST_SPEAKERS",
    "DEV_SPEAKERS",
    "FEATURE_DIM",
    "PHONE_CLASSES",
    "PHONE_MAP",
    "PhoneSegment",
    "Utterance",
    "add_context",
    "deltas",
    "find_utterances",
    "frame_features",
    "frame_labels",
    "load_timit",
    "mel_filterbank",
    "parse_sphere_header",
    "read_audio",
    "read_phones",
]


#: 61 TIMIT phones → 39 classes (Lee & Hon 1989; Kaldi phones.60-48-39.map); ``q`` → None.
PHONE_MAP: dict[str, str | None] = {
    **{p: p for p in "aa ae ah aw ay b ch d dh dx eh er ey f g hh ih iy jh k l m n ng".split()},
    **{p: p for p in "ow oy p r s sh t th uh uw v w y z".split()},
    **{"ao": "aa", "ax": "ah", "ax-h": "ah", "axr": "er", "el": "l", "em": "m", "en": "n"},
    **{"eng": "ng", "hv": "hh", "ix": "ih", "nx": "n", "ux": "uw", "zh": "sh"},
    **{p: "sil" for p in "bcl dcl gcl kcl pcl tcl epi h# pau".split()},
    "q": None,
}
#: The 39 classes; a class's label id is its index here.
PHONE_CLASSES: tuple[str, ...] = tuple(sorted({c for c in PHONE_MAP.values() if c is not None}))
CLASS_IDS: dict[str, int] = {phone: i for i, phone in enumerate(PHONE_CLASSES)}

#: The core test set: 2 male + 1 female speaker from each of the 8 dialect regions.
CORE_TEST_SPEAKERS: frozenset[str] = frozenset(
    "mdab0 mwbt0 felc0 mtas1 mwew0 fpas0 mjmp0 mlnt0 fpkt0 mlll0 mtls0 fjlm0 "
    "mbpm0 mklt0 fnlp0 mcmj0 mjdh0 fmgd0 mgrt0 mnjm0 fdhc0 mjln0 mpam0 fmld0".split()
)
#: Halberstadt's 50-speaker development set (Kaldi egs/timit/s5/conf/dev_spk.list).
DEV_SPEAKERS: frozenset[str] = frozenset(
    "faks0 fdac1 fjem0 mgwt0 mjar0 mmdb1 mmdm2 mpdf0 fcmh0 fkms0 mbdg0 mbwm0 mcsh0 fadg0 "
    "fdms0 fedw0 mgjf0 mglb0 mrtk0 mtaa0 mtdt0 mthc0 mwjg0 fnmr0 frew0 fsem0 mbns0 mmjr0 "
    "mdls0 mdlf0 mdvc0 mers0 fmah0 fdrw0 mrcs0 mrjm4 fcal1 mmwh0 fjsj0 majc0 mjsw0 mreb0 "
    "fgjd0 fjmg0 mroa0 mteb0 mjfc0 mrjr0 fmml0 mrws1".split()
)
#: Sub-directories of ``root`` searched, in order, for the TRAIN and TEST directories.
SEARCH_SUBDIRS: tuple[str, ...] = (".", "TIMIT", "timit", "data", "timit/TIMIT", "data/TIMIT")

_GET_DATA = (
    "TIMIT is licensed by the LDC (catalog LDC93S1, catalog.ldc.upenn.edu/LDC93S1); "
    "pass the directory holding its TRAIN and TEST directories as root"
)
_SENTENCE_FILE = re.compile(r"[a-z]{2}\d+\.wav")


# --- labels --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneSegment:
    """One line of a .PHN file: samples [start, end) carry ``phone`` (one of the 61)."""

    start: int
    end: int
    phone: str


def read_phones(path: str | Path) -> list[PhoneSegment]:
    """Read a TIMIT .PHN file; ValueError names the file and line of a malformed entry."""
    path = Path(path)
    segments = []
    for number, line in enumerate(path.read_text(encoding="ascii").splitlines(), start=1):
        if line.strip():
            segments.append(_parse_phone_line(line, path, number))
    return segments


def _parse_phone_line(line: str, path: Path, number: int) -> PhoneSegment:
    fields = line.split()
    if len(fields) != 3 or not fields[0].isdigit() or not fields[1].isdigit():
        raise ValueError(f"{path}:{number}: expected 'start_sample end_sample phone', got {line!r}")
    phone = fields[2].lower()
    if phone not in PHONE_MAP:
        raise ValueError(
            f"{path}:{number}: unknown phone {fields[2]!r}; TIMIT's 61 phones are "
            f"{' '.join(sorted(PHONE_MAP))}"
        )
    return PhoneSegment(int(fields[0]), int(fields[1]), phone)


def frame_labels(num_frames: int, segments: Sequence[PhoneSegment]) -> np.ndarray:
    """[T] int64 class ids of the phone at each frame's centre sample; -1 for ``q`` or no phone."""
    centres = np.arange(num_frames) * FRAME_SHIFT + FRAME_LENGTH // 2
    if not segments:
        return np.full(num_frames, -1, dtype=np.int64)
    ordered = sorted(segments, key=lambda segment: segment.start)
    starts = np.array([s.start for s in ordered], dtype=np.int64)
    ends = np.array([s.end for s in ordered], dtype=np.int64)
    ids = np.array([_class_id(s.phone) for s in ordered], dtype=np.int64)
    index = np.maximum(np.searchsorted(starts, centres, side="right") - 1, 0)
    inside = (starts[index] <= centres) & (centres < ends[index])
    return np.where(inside, ids[index], -1)


def _class_id(phone: str) -> int:
    folded = PHONE_MAP[phone]
    return -1 if folded is None else CLASS_IDS[folded]


# --- corpus --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Utterance:
    """One TIMIT sentence: speaker (lower case), sentence id (e.g. ``si1027``) and its files."""

    speaker: str
    sentence: str
    audio: Path
    phones: Path


def find_utterances(split_dir: Path) -> list[Utterance]:
    """Every non-SA sentence under ``split_dir``/DR*/SPEAKER/, sorted by dialect, speaker, name."""
    utterances = []
    for dialect in _subdirectories(split_dir):
        for speaker in _subdirectories(dialect):
            utterances.extend(_speaker_utterances(speaker))
    return utterances


def _subdirectories(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if path.is_dir())


def _speaker_utterances(speaker: Path) -> list[Utterance]:
    files = {path.name.lower(): path for path in speaker.iterdir() if path.is_file()}
    utterances = []
    for name in sorted(files):
        sentence = name.removesuffix(".wav")
        if not _SENTENCE_FILE.fullmatch(name) or sentence.startswith("sa"):
            continue
        phones = files.get(sentence + ".phn")
        if phones is None:
            raise DatasetNotFound(
                f"TIMIT: {files[name]} has no phone file {sentence.upper()}.PHN beside it; "
                f"every sentence needs its .WAV and .PHN. {_GET_DATA}"
            )
        utterances.append(Utterance(speaker.name.lower(), sentence, files[name], phones))
    return utterances


def _locate_corpus(root: Path) -> tuple[Path, Path]:
    """The TRAIN and TEST directories (any case) under the first searched directory holding both."""
    searched = [root if sub == "." else root / sub for sub in SEARCH_SUBDIRS]
    for directory in searched:
        if directory.is_dir():
            children = {p.name.lower(): p for p in directory.iterdir() if p.is_dir()}
            if "train" in children and "test" in children:
                return children["train"], children["test"]
    raise DatasetNotFound(
        "TIMIT (GELU paper §3.4): expected TRAIN/DR*/<SPEAKER>/*.WAV with .PHN beside each, and "
        "TEST/DR*/<SPEAKER>/*.WAV + .PHN (upper or lower case); directories searched: "
        f"{', '.join(str(d) for d in searched)}; {_GET_DATA}"
    )


def _split_corpus(
    root: Path, validation: Literal["rest_of_test", "dev50"]
) -> dict[str, list[Utterance]]:
    train_dir, test_dir = _locate_corpus(root)
    test_pool = find_utterances(test_dir)
    if validation == "rest_of_test":
        val = [u for u in test_pool if u.speaker not in CORE_TEST_SPEAKERS]
    else:
        val = [u for u in test_pool if u.speaker in DEV_SPEAKERS]
    splits = {
        "train": find_utterances(train_dir),
        "val": val,
        "test": [u for u in test_pool if u.speaker in CORE_TEST_SPEAKERS],
    }
    for split, utterances in splits.items():
        if not utterances:
            raise DatasetNotFound(
                f"TIMIT: no {split} sentences found (train: {train_dir}; val and test: speakers "
                f"of {test_dir}, test = the 24 core test speakers such as MDAB0, FELC0); "
                f"{_GET_DATA}"
            )
    return splits


def _utterance_arrays(utterance: Utterance) -> tuple[np.ndarray, np.ndarray]:
    samples, rate = read_audio(utterance.audio)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{utterance.audio}: sample rate {rate} Hz, TIMIT is {SAMPLE_RATE} Hz")
    features = frame_features(samples)
    return features, frame_labels(len(features), read_phones(utterance.phones))


def _standardiser(train: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    frames = np.concatenate([features for features, _ in train])
    std = frames.std(axis=0)
    return frames.mean(axis=0), np.where(std > 0, std, 1.0)


def _examples(
    utterances: Sequence[tuple[np.ndarray, np.ndarray]], mean: np.ndarray, std: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    rows, labels = [], []
    for features, frame_ids in utterances:
        keep = frame_ids >= 0
        rows.append(add_context((features - mean) / std)[keep].astype(np.float32))
        labels.append(frame_ids[keep])
    return torch.from_numpy(np.concatenate(rows)), torch.from_numpy(np.concatenate(labels))


def load_timit(
    root: str | Path, *, validation: Literal["rest_of_test", "dev50"] = "rest_of_test"
) -> ArraySplits:
    """Load TIMIT frames as in the GELU paper (arXiv:1606.08415 §3.4): 286-d, 39 classes.

    See the module docstring for the layout, the splits, the features and the labels.
    Raises :class:`DatasetNotFound` (layout, directories searched, where to get TIMIT) when the
    corpus is missing and ValueError naming the file for unreadable audio or phone files.
    """
    if validation not in ("rest_of_test", "dev50"):
        raise ValueError(f"validation must be 'rest_of_test' or 'dev50', got {validation!r}")
    splits = _split_corpus(Path(root), validation)
    arrays = {split: [_utterance_arrays(u) for u in utts] for split, utts in splits.items()}
    mean, std = _standardiser(arrays["train"])
    tensors = {
        split: _examples(per_utterance, mean, std) for split, per_utterance in arrays.items()
    }
    counts = "/".join(str(len(splits[split])) for split in ("train", "val", "test"))
    return ArraySplits(
        name="timit",
        train_x=tensors["train"][0],
        train_y=tensors["train"][1],
        val_x=tensors["val"][0],
        val_y=tensors["val"][1],
        test_x=tensors["test"][0],
        test_y=tensors["test"][1],
        num_classes=len(PHONE_CLASSES),
        source=f"TIMIT {counts} sentences (train/val={validation}/core test) from {root}",
    )
