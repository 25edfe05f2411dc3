"""Text corpora for the language-model tasks: sources, tokenisers, a memory-mapped token cache,
a deterministic train/val split and batch samplers (issue 5, part 2).

Sources (:func:`load_corpus`):

- ``"stdlib"`` — every ``*.py`` file of the running Python's standard library
  (``sysconfig.get_paths()["stdlib"]``, site-/dist-packages left out), in sorted path order: an
  offline corpus present on every installation, identical across runs of the same Python;
- a path — a text file, or a folder's ``*.txt``/``*.md``/``*.rst``/``*.py``/… files in sorted
  order, read as UTF-8 with undecodable bytes replaced;
- ``"hf:NAME[:CONFIG]"`` — the ``text`` column of the ``train`` split of a Hugging Face dataset
  through ``datasets.load_dataset`` (optional dependency).

Each file (or dataset row) is one document; documents are joined by the tokenizer's
end-of-text token. Tokenisers (:func:`get_tokenizer`): GPT-2's BPE through ``tiktoken`` when it
is installed and its encoding files load (tiktoken downloads them on first use), otherwise UTF-8
bytes; both get the BERT specials [PAD] [MASK] [CLS] [SEP] after their ordinary tokens.

The token stream is cached under ``~/.cache/gatelab/tokens`` (or `cache_dir`) as a raw uint16
array (uint32 for vocabularies over 65,536) named by a hash of the source's identity (for files:
paths, sizes and modification times) and the tokenizer, written atomically and read back with
``np.memmap``. The corpus must fit in memory once, while it is first tokenised.

Split: the **last** `val_fraction` (default 10%) **of the tokens** is validation, the rest
training — deterministic, and usable for a single-file corpus; the document straddling the cut
contributes to both sides.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sysconfig
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._io import atomic_write_bytes, atomic_write_json

TEXT_SUFFIXES = frozenset({".txt", ".md", ".rst", ".py", ".text", ".tex", ".html", ".json"})
"""File types read from a folder source."""

DEFAULT_CACHE_DIR = Path("~/.cache/gatelab/tokens")
CACHE_FORMAT = 1
"""Bumped whenever the cached token layout changes, so old caches are not reused."""

IGNORE_INDEX = -100
"""Target value that the losses skip (PyTorch's cross_entropy default)."""


# ------------------------------------------------------------------ sources


@dataclass(frozen=True)
class Corpus:
    """A deterministic sequence of documents.

    `source` is the human-readable description for result records; `identity` changes whenever
    the documents may have changed (it keys the token cache); `documents()` yields the texts.
    """

    source: str
    identity: str
    documents: Callable[[], Iterator[str]]


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _file_fingerprint(paths: Sequence[Path], root: Path) -> str:
    """Hash of every file's path relative to `root`, size and modification time."""
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _files_corpus(source: str, paths: list[Path], root: Path) -> Corpus:
    identity = f"{source}|{_file_fingerprint(paths, root)}"
    return Corpus(source, identity, lambda: (_read_text(p) for p in paths))


def stdlib_files() -> tuple[Path, list[Path]]:
    """(stdlib root, its ``*.py`` files in sorted order, site-/dist-packages excluded)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"site-packages", "dist-packages"}
    files = sorted(p for p in root.rglob("*.py") if skip.isdisjoint(p.relative_to(root).parts))
    return root, files


def _stdlib_corpus() -> Corpus:
    root, files = stdlib_files()
    size = sum(p.stat().st_size for p in files)
    source = f"stdlib(python={platform.python_version()}, files={len(files)}, bytes={size})"
    return _files_corpus(source, files, root)


def _path_corpus(path: Path) -> Corpus:
    if not path.exists():
        raise FileNotFoundError(
            f"text source {str(path)!r} does not exist; give a text file, a folder of text "
            "files, 'stdlib' or 'hf:NAME[:CONFIG]'"
        )
    if path.is_file():
        return _files_corpus(f"file({path})", [path], path.parent)
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES)
    if not files:
        raise ValueError(
            f"folder {str(path)!r} holds no text files ({', '.join(sorted(TEXT_SUFFIXES))})"
        )
    return _files_corpus(f"folder({path}, files={len(files)})", files, path)


def _hf_corpus(spec: str) -> Corpus:
    name, _, config = spec.partition(":")
    if not name:
        raise ValueError(f"expected 'hf:NAME[:CONFIG]', got 'hf:{spec}'")
    try:
        import datasets
    except ImportError as error:
        raise ImportError(
            f"text source 'hf:{spec}' needs Hugging Face datasets: `pip install datasets`, "
            "or use 'stdlib' or a local text file or folder"
        ) from error
    try:
        dataset = datasets.load_dataset(name, config or None, split="train")
    except Exception as error:  # offline, unknown name, …: say what to do instead
        raise RuntimeError(
            f"could not load Hugging Face dataset {name!r} (config {config or None!r}): {error}; "
            "check the name and network access (or HF_DATASETS_OFFLINE with a filled cache), "
            "or use 'stdlib' or a local text file or folder"
        ) from error
    if "text" not in dataset.column_names:
        raise ValueError(f"dataset {name!r} has no 'text' column (columns: {dataset.column_names})")
    fingerprint = getattr(dataset, "_fingerprint", None) or f"rows={len(dataset)}"
    source = f"hf({name}{':' + config if config else ''}, split=train, rows={len(dataset)})"
    return Corpus(source, f"{source}|{fingerprint}", lambda: iter(dataset["text"]))


def load_corpus(source: str | os.PathLike) -> Corpus:
    """The corpus named by `source`: "stdlib", "hf:NAME[:CONFIG]" or a file/folder path
    (module docstring)."""
    text = os.fspath(source)
    if text == "stdlib":
        return _stdlib_corpus()
    if text.startswith("hf:"):
        return _hf_corpus(text[3:])
    return _path_corpus(Path(text).expanduser())


# ------------------------------------------------------------------ tokenisers


@dataclass(frozen=True)
class SpecialTokens:
    """Ids below `regular` are ordinary text tokens; `eot` separates documents; pad/mask/cls/sep
    are BERT's specials (Devlin et al. 2019 §3)."""

    regular: int
    eot: int
    pad: int
    mask: int
    cls: int
    sep: int

    @property
    def vocab_size(self) -> int:
        return max(self.eot, self.pad, self.mask, self.cls, self.sep) + 1

    def special_ids(self) -> list[int]:
        return sorted({self.eot, self.pad, self.mask, self.cls, self.sep})


@dataclass(frozen=True)
class Tokenizer:
    """A named text → token-id map; `encode` returns an int64 array of ids."""

    name: str
    specials: SpecialTokens
    encode: Callable[[str], np.ndarray]
    decode: Callable[[Sequence[int]], str]

    @property
    def vocab_size(self) -> int:
        return self.specials.vocab_size


BYTE_SPECIALS = SpecialTokens(regular=256, eot=259, pad=256, mask=257, cls=258, sep=259)
"""UTF-8 bytes 0–255, then [PAD] [MASK] [CLS] [SEP] = 256–259; [SEP] separates documents."""

GPT2_SPECIALS = SpecialTokens(regular=50256, eot=50256, pad=50257, mask=50258, cls=50259, sep=50260)
"""GPT-2's 50,256 BPE tokens and <|endoftext|> = 50256, then [PAD] [MASK] [CLS] [SEP]."""


def byte_tokenizer() -> Tokenizer:
    """UTF-8 bytes as tokens (vocabulary 256 + 4 specials)."""

    def encode(text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)

    def decode(ids: Sequence[int]) -> str:
        return bytes(int(i) for i in ids if 0 <= int(i) < 256).decode("utf-8", errors="replace")

    return Tokenizer("bytes", BYTE_SPECIALS, encode, decode)


def gpt2_tokenizer() -> Tokenizer:
    """GPT-2's BPE through tiktoken; raises RuntimeError saying what to do when tiktoken is
    missing or cannot load its encoding files (it downloads them on first use)."""
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("gpt2")
    except Exception as error:  # ImportError, or no network for the first download
        raise RuntimeError(
            f"GPT-2 BPE is unavailable ({type(error).__name__}: {error}); `pip install tiktoken` "
            "and let it download its files once (or set TIKTOKEN_CACHE_DIR to a filled cache), "
            "or use tokenizer='bytes' / 'auto'"
        ) from error

    def encode(text: str) -> np.ndarray:
        return np.asarray(encoding.encode_ordinary(text), dtype=np.int64)

    def decode(ids: Sequence[int]) -> str:
        return encoding.decode([int(i) for i in ids if 0 <= int(i) <= GPT2_SPECIALS.eot])

    return Tokenizer("gpt2", GPT2_SPECIALS, encode, decode)


TOKENIZERS = ("auto", "gpt2", "bytes")


def get_tokenizer(name: str = "auto") -> Tokenizer:
    """ "gpt2" (tiktoken, error when unavailable), "bytes", or "auto": gpt2 when it loads, else
    bytes with a warning. The returned `name` says which one is used."""
    if name == "bytes":
        return byte_tokenizer()
    if name == "gpt2":
        return gpt2_tokenizer()
    if name != "auto":
        raise ValueError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}")
    try:
        return gpt2_tokenizer()
    except RuntimeError as error:
        warnings.warn(f"{error}; falling back to byte tokens", stacklevel=2)
        return byte_tokenizer()


# ------------------------------------------------------------------ token cache


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (vocab_size ≤ 65,536), else uint32."""
    return np.dtype(np.uint16 if vocab_size <= 1 << 16 else np.uint32)


def cache_key(corpus: Corpus, tokenizer: Tokenizer) -> str:
    """File stem of the cached tokens: a hash of (corpus identity, tokenizer, cache format)."""
    text = f"{corpus.identity}\0{tokenizer.name}\0{CACHE_FORMAT}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def encode_corpus(corpus: Corpus, tokenizer: Tokenizer) -> np.ndarray:
    """All documents' tokens, each preceded by the end-of-text token, as one array."""
    eot = np.array([tokenizer.specials.eot], dtype=np.int64)
    parts: list[np.ndarray] = []
    for document in corpus.documents():
        parts += [eot, tokenizer.encode(document)]
    if not parts:
        raise ValueError(f"corpus {corpus.source} holds no documents")
    return np.concatenate(parts).astype(token_dtype(tokenizer.vocab_size))


def _read_cache(bin_path: Path, meta_path: Path) -> np.memmap | None:
    try:
        meta = json.loads(meta_path.read_text())
        dtype = np.dtype(meta["dtype"])
        if bin_path.stat().st_size != meta["tokens"] * dtype.itemsize or meta["tokens"] == 0:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return np.memmap(bin_path, dtype=dtype, mode="r")


def cached_tokens(
    corpus: Corpus, tokenizer: Tokenizer, cache_dir: str | os.PathLike | None = None
) -> np.memmap:
    """The corpus's token stream as a read-only memmap, tokenised once and cached (module
    docstring); a missing, torn or stale cache file is rebuilt."""
    directory = Path(cache_dir or DEFAULT_CACHE_DIR).expanduser()
    stem = cache_key(corpus, tokenizer)
    bin_path, meta_path = directory / f"{stem}.bin", directory / f"{stem}.json"
    tokens = _read_cache(bin_path, meta_path)
    if tokens is not None:
        return tokens
    array = encode_corpus(corpus, tokenizer)
    atomic_write_bytes(bin_path, array.tobytes())
    meta = {
        "source": corpus.source,
        "tokenizer": tokenizer.name,
        "dtype": array.dtype.name,
        "tokens": int(array.size),
        "format": CACHE_FORMAT,
    }
    atomic_write_json(meta_path, meta)  # written last: its presence marks a complete cache
    return np.memmap(bin_path, dtype=array.dtype, mode="r")


# ------------------------------------------------------------------ split and batches


def split_tokens(tokens: np.ndarray, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) views: val is the last ⌈val_fraction·n⌉ tokens (module docstring)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction!r}")
    cut = len(tokens) - int(np.ceil(val_fraction * len(tokens)))
    return tokens[:cut], tokens[cut:]


def _check_window(batch_size: int, context: int, length: int, available: int) -> None:
    """Positive sizes, and windows of `length` tokens (context, +1 for shifted targets) fit."""
    for name, value in (("batch_size", batch_size), ("context", context)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if available < length:
        raise ValueError(
            f"the token stream holds {available} tokens, fewer than the {length} that one window "
            f"of context {context} needs; use a larger corpus, a smaller val_fraction or a "
            "shorter context"
        )


@dataclass(frozen=True, eq=False)
class TokenStream:
    """A 1-D token array (usually a memmap) and the vocabulary it was tokenised with."""

    tokens: np.ndarray
    specials: SpecialTokens

    @property
    def vocab_size(self) -> int:
        return self.specials.vocab_size

    def __len__(self) -> int:
        return len(self.tokens)

    def _windows(
        self, batch_size: int, length: int, generator: torch.Generator | None = None
    ) -> Tensor:
        """`batch_size` windows of `length` consecutive tokens at uniformly random starts,
        int64 (batch_size, length)."""
        starts = torch.randint(0, len(self.tokens) - length + 1, (batch_size,), generator=generator)
        index = starts.numpy()[:, None] + np.arange(length)
        return torch.from_numpy(self.tokens[index].astype(np.int64))

    def sample(
        self, batch_size: int, context: int, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """A causal-LM batch (x, y), each int64 (batch_size, context), y = x shifted by one
        token (nanoGPT's ``get_batch``)."""
        _check_window(batch_size, context, context + 1, len(self.tokens))
        window = self._windows(batch_size, context + 1, generator)
        return window[:, :-1], window[:, 1:]

    def sequential(
        self, batch_size: int, context: int, max_batches: int | None = None
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Deterministic (x, y) batches of consecutive non-overlapping windows from the start,
        for evaluation; the ragged tail is dropped."""
        _check_window(batch_size, context, context + 1, len(self.tokens))
        count = (len(self.tokens) - 1) // context
        starts = np.arange(count) * context
        for number, first in enumerate(range(0, count, batch_size)):
            if max_batches is not None and number >= max_batches:
                return
            index = starts[first : first + batch_size, None] + np.arange(context + 1)
            window = torch.from_numpy(self.tokens[index].astype(np.int64))
            yield window[:, :-1], window[:, 1:]

    def mlm_batch(
        self,
        batch_size: int,
        context: int,
        generator: torch.Generator | None = None,
        mask_prob: float = 0.15,
    ) -> tuple[Tensor, Tensor]:
        """A masked-LM batch (ids, labels) of random windows (BERT §3.1, "Task #1"): each
        ordinary token is chosen with probability `mask_prob`; a chosen token becomes [MASK]
        80% of the time, a uniformly random ordinary token 10%, stays unchanged 10%. `labels`
        hold the original token at chosen positions and -100 elsewhere; at least one position
        per batch is chosen."""
        if not 0.0 < mask_prob < 1.0:
            raise ValueError(f"mask_prob must lie in (0, 1), got {mask_prob!r}")
        _check_window(batch_size, context, context, len(self.tokens))
        ids = self._windows(batch_size, context, generator)
        return mask_tokens(ids, self.specials, generator, mask_prob)


def mask_tokens(
    ids: Tensor,
    specials: SpecialTokens,
    generator: torch.Generator | None = None,
    mask_prob: float = 0.15,
) -> tuple[Tensor, Tensor]:
    """BERT's 80/10/10 masking of `ids` (see :meth:`TokenStream.mlm_batch`); specials are never
    chosen. Returns new (ids, labels) tensors."""
    ordinary = ids < specials.regular
    choose_draw = torch.rand(ids.shape, generator=generator)
    chosen = ordinary & (choose_draw < mask_prob)
    if not chosen.any() and ordinary.any():  # keep the loss defined on tiny batches
        chosen.view(-1)[torch.argmax(torch.where(ordinary, choose_draw, -1.0))] = True
    action = torch.rand(ids.shape, generator=generator)
    random_ids = torch.randint(0, specials.regular, ids.shape, generator=generator)
    masked = ids.clone()
    masked[chosen & (action < 0.8)] = specials.mask
    replace = chosen & (action >= 0.8) & (action < 0.9)
    masked[replace] = random_ids[replace]
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))
    return masked, labels


# ------------------------------------------------------------------ all together


@dataclass(frozen=True, eq=False)
class TextData:
    """Train and validation token streams of one corpus and tokenizer."""

    train: TokenStream
    val: TokenStream
    source: str
    tokenizer: str

    @property
    def vocab_size(self) -> int:
        return self.train.vocab_size

    def record(self) -> dict[str, Any]:
        """What a result record states about the data."""
        return {
            "source": self.source,
            "tokenizer": self.tokenizer,
            "vocab_size": self.vocab_size,
            "train_tokens": len(self.train),
            "val_tokens": len(self.val),
        }


def load_text(
    source: str | os.PathLike = "stdlib",
    tokenizer: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    val_fraction: float = 0.1,
) -> TextData:
    """Corpus `source` tokenised by `tokenizer` (cached), split into train and validation
    streams (module docstring)."""
    corpus = load_corpus(source)
    chosen = get_tokenizer(tokenizer)
    train, val = split_tokens(cached_tokens(corpus, chosen, cache_dir), val_fraction)
    return TextData(
        TokenStream(train, chosen.specials),
        TokenStream(val, chosen.specials),
        corpus.source,
        chosen.name,
    )


__all__ = [
    "BYTE_SPECIALS",
    "GPT2_SPECIALS",
    "IGNORE_INDEX",
    "Corpus",
    "SpecialTokens",
    "TextData",
    "TokenStream",
    "Tokenizer",
    "byte_tokenizer",
    "cache_key",
    "cached_tokens",
    "encode_corpus",
    "get_tokenizer",
    "gpt2_tokenizer",
    "load_corpus",
    "load_text",
    "mask_tokens",
    "split_tokens",
    "stdlib_files",
    "token_dtype",
]
