"""The offline text pipeline: corpus sources, tokeniser fallback when tiktoken is missing or
offline, the memory-mapped token cache (round trip, reuse, rebuild), the deterministic split,
causal-LM windows and BERT's 80/10/10 masking statistics."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from gatelab.data import text
from gatelab.data.text import (
    BYTE_SPECIALS,
    TokenStream,
    byte_tokenizer,
    cached_tokens,
    get_tokenizer,
    load_corpus,
    load_text,
    mask_tokens,
    split_tokens,
    stdlib_files,
    token_dtype,
)

# ------------------------------------------------------------------ tokenisers


def test_byte_tokens_are_utf8_bytes_with_bert_specials_after_them():
    tokenizer = byte_tokenizer()
    assert tokenizer.encode("hé!").tolist() == [104, 0xC3, 0xA9, 33]
    assert tokenizer.decode([104, 0xC3, 0xA9, 33, 257]) == "hé!"  # specials are not text
    specials = tokenizer.specials
    assert (specials.pad, specials.mask, specials.cls, specials.sep) == (256, 257, 258, 259)
    assert tokenizer.vocab_size == 260


def test_auto_falls_back_to_bytes_when_tiktoken_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # `import tiktoken` raises ImportError
    with pytest.warns(UserWarning, match="falling back to byte tokens"):
        assert get_tokenizer("auto").name == "bytes"
    with pytest.raises(RuntimeError, match="pip install tiktoken"):
        get_tokenizer("gpt2")


def fake_tiktoken(get_encoding) -> types.ModuleType:
    module = types.ModuleType("tiktoken")
    module.get_encoding = get_encoding
    return module


def test_auto_falls_back_when_the_bpe_files_cannot_be_downloaded(monkeypatch):
    def offline(name):
        raise ConnectionError("no route to openaipublic.blob.core.windows.net")

    monkeypatch.setitem(sys.modules, "tiktoken", fake_tiktoken(offline))
    with pytest.warns(UserWarning, match="ConnectionError"):
        assert get_tokenizer("auto").name == "bytes"


def test_gpt2_through_tiktoken_when_it_loads(monkeypatch):
    class Encoding:  # stands in for tiktoken's gpt2 Encoding
        def encode_ordinary(self, text):
            return [ord(c) + 1000 for c in text]

        def decode(self, ids):
            return "".join(chr(i - 1000) for i in ids)

    monkeypatch.setitem(sys.modules, "tiktoken", fake_tiktoken(lambda name: Encoding()))
    tokenizer = get_tokenizer("auto")
    assert tokenizer.name == "gpt2"
    assert tokenizer.encode("ab").tolist() == [1097, 1098]
    assert tokenizer.specials.eot == 50256 and tokenizer.vocab_size == 50261
    assert token_dtype(tokenizer.vocab_size) == np.uint16


def test_unknown_tokenizer_names_the_choices():
    with pytest.raises(ValueError, match="auto, gpt2, bytes"):
        get_tokenizer("wordpiece")


@pytest.mark.parametrize(
    ("vocab", "dtype"),
    [(260, np.uint16), (65536, np.uint16), (65537, np.uint32), (100277, np.uint32)],
)
def test_token_dtype(vocab, dtype):
    assert token_dtype(vocab) == dtype


# ------------------------------------------------------------------ sources


def test_stdlib_corpus_describes_itself_and_is_deterministic():
    root, files = stdlib_files()
    assert files == sorted(files) and all(f.suffix == ".py" for f in files)
    assert not any("site-packages" in f.parts for f in files)
    assert root / "os.py" in files
    first, second = load_corpus("stdlib"), load_corpus("stdlib")
    assert first.identity == second.identity
    version = ".".join(map(str, sys.version_info[:3]))
    assert first.source.startswith(f"stdlib(python={version}, files={len(files)}, bytes=")


def test_folder_corpus_reads_text_files_in_sorted_order(tmp_path):
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "a.md").write_text("first")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.py").write_bytes(b"third \xff")  # invalid UTF-8 is replaced
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    corpus = load_corpus(tmp_path)
    assert list(corpus.documents()) == ["first", "second", "third \ufffd"]
    assert "files=3" in corpus.source


def test_missing_and_empty_sources_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="'stdlib'"):
        load_corpus(tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="no text files"):
        load_corpus(tmp_path)


def test_hugging_face_source_without_datasets_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ImportError, match="pip install datasets"):
        load_corpus("hf:wikitext:wikitext-103-raw-v1")


def test_hugging_face_source_reads_the_text_column_of_train(monkeypatch):
    calls = []

    class Dataset:
        column_names = ["text"]
        _fingerprint = "abc123"

        def __len__(self):
            return 2

        def __getitem__(self, column):
            return ["row one", "row two"]

    def load_dataset(name, config, split):
        calls.append((name, config, split))
        return Dataset()

    module = types.ModuleType("datasets")
    module.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", module)
    corpus = load_corpus("hf:wikitext:wikitext-2-raw-v1")
    assert calls == [("wikitext", "wikitext-2-raw-v1", "train")]
    assert list(corpus.documents()) == ["row one", "row two"]
    assert "abc123" in corpus.identity


# ------------------------------------------------------------------ cache and split


def expected_stream(*documents: str) -> list[int]:
    """Bytes of every document, each preceded by [SEP] = 259, built by hand."""
    tokens: list[int] = []
    for document in documents:
        tokens += [259, *document.encode("utf-8")]
    return tokens


def test_cache_round_trip_reuse_and_rebuild(tmp_path, monkeypatch):
    source, cache = tmp_path / "corpus", tmp_path / "cache"
    source.mkdir()
    (source / "a.txt").write_text("héllo")
    (source / "b.txt").write_text("world")
    corpus, tokenizer = load_corpus(source), byte_tokenizer()
    tokens = cached_tokens(corpus, tokenizer, cache)
    assert isinstance(tokens, np.memmap) and tokens.dtype == np.uint16
    assert tokens.tolist() == expected_stream("héllo", "world")
    assert len(list(cache.glob("*.bin"))) == 1 and len(list(cache.glob("*.json"))) == 1

    def no_encoding(*args):
        raise AssertionError("the cache should have been reused")

    with monkeypatch.context() as patch:
        patch.setattr(text, "encode_corpus", no_encoding)
        assert cached_tokens(load_corpus(source), tokenizer, cache).tolist() == tokens.tolist()

    (source / "b.txt").write_text("world, changed")  # new size → new identity → new cache
    assert cached_tokens(load_corpus(source), tokenizer, cache).tolist() == expected_stream(
        "héllo", "world, changed"
    )
    assert len(list(cache.glob("*.bin"))) == 2


def test_torn_cache_file_is_rebuilt(tmp_path):
    (tmp_path / "doc.txt").write_text("abcdef")
    corpus, tokenizer = load_corpus(tmp_path / "doc.txt"), byte_tokenizer()
    cached_tokens(corpus, tokenizer, tmp_path / "cache")
    (bin_path,) = (tmp_path / "cache").glob("*.bin")
    bin_path.write_bytes(bin_path.read_bytes()[:4])
    assert cached_tokens(corpus, tokenizer, tmp_path / "cache").tolist() == expected_stream(
        "abcdef"
    )


def test_split_is_the_last_tenth_of_the_tokens():
    train, val = split_tokens(np.arange(105))
    assert train.tolist() == list(range(94)) and val.tolist() == list(range(94, 105))
    with pytest.raises(ValueError, match="val_fraction"):
        split_tokens(np.arange(10), 1.0)


def test_load_text_is_deterministic_and_records_its_choices(tmp_path):
    source = tmp_path / "doc.txt"
    source.write_text("abcdefghij" * 20)
    first = load_text(source, "bytes", cache_dir=tmp_path / "c1")
    second = load_text(source, "bytes", cache_dir=tmp_path / "c2")  # rebuilt from scratch
    assert np.array_equal(first.train.tokens, second.train.tokens)
    assert np.array_equal(first.val.tokens, second.val.tokens)
    stream = expected_stream("abcdefghij" * 20)
    assert first.val.tokens.tolist() == stream[-21:]  # ⌈0.1 · 201⌉
    assert first.record() == {
        "source": f"file({source})",
        "tokenizer": "bytes",
        "vocab_size": 260,
        "train_tokens": 180,
        "val_tokens": 21,
    }


# ------------------------------------------------------------------ batches


def test_causal_batches_are_consecutive_windows_with_targets_shifted_by_one():
    stream = TokenStream(np.arange(1000, dtype=np.uint16), BYTE_SPECIALS)
    x, y = stream.sample(8, 32, torch.Generator().manual_seed(0))
    assert x.dtype == torch.int64 and x.shape == y.shape == (8, 32)
    assert torch.equal(x[:, 1:] - x[:, :-1], torch.ones(8, 31, dtype=torch.int64))
    assert torch.equal(y, x + 1)
    again, _ = stream.sample(8, 32, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)


def test_every_start_position_can_be_drawn():
    stream = TokenStream(np.arange(12, dtype=np.uint16), BYTE_SPECIALS)
    x, _ = stream.sample(400, 8, torch.Generator().manual_seed(0))
    assert sorted(set(x[:, 0].tolist())) == [0, 1, 2, 3]  # last window ends at the last token


def test_sequential_batches_cover_the_stream_in_order():
    stream = TokenStream(np.arange(50, dtype=np.uint16), BYTE_SPECIALS)
    batches = list(stream.sequential(2, 10))
    xs = torch.cat([x for x, _ in batches]).flatten().tolist()
    assert xs == list(range(40)) and [x.shape[0] for x, _ in batches] == [2, 2]
    assert len(list(stream.sequential(1, 10, max_batches=3))) == 3


def test_short_streams_and_bad_sizes_are_rejected():
    stream = TokenStream(np.arange(10, dtype=np.uint16), BYTE_SPECIALS)
    with pytest.raises(ValueError, match="fewer than the 11 that one window of context 10"):
        stream.sample(2, 10)
    assert stream.mlm_batch(2, 10)[0].shape == (2, 10)  # no shifted targets: 10 tokens suffice
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        stream.sample(0, 4)


def test_mlm_masking_statistics_follow_bert():
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 256, (256, 128), generator=generator)
    ids[:, ::16] = BYTE_SPECIALS.sep  # separators are never chosen
    masked, labels = mask_tokens(ids, BYTE_SPECIALS, generator)
    chosen = labels != -100
    ordinary = ids < 256
    assert not (chosen & ~ordinary).any()
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(masked[~chosen], ids[~chosen])
    rate = chosen.sum().item() / ordinary.sum().item()
    assert rate == pytest.approx(0.15, abs=0.01)  # n ≈ 30,700: σ ≈ 0.002
    to_mask = (masked[chosen] == BYTE_SPECIALS.mask).float().mean().item()
    kept = (masked[chosen] == ids[chosen]).float().mean().item()
    randomised = 1 - to_mask - kept
    assert to_mask == pytest.approx(0.8, abs=0.03)  # n ≈ 4,600: σ ≈ 0.006
    assert randomised == pytest.approx(0.1 * 255 / 256, abs=0.02)  # a draw may hit the original
    assert kept == pytest.approx(0.1 + 0.1 / 256, abs=0.02)
    replaced = chosen & (masked != ids) & (masked != BYTE_SPECIALS.mask)
    assert masked[replaced].max() < 256  # random replacements are ordinary tokens


def test_mlm_batch_always_chooses_a_position():
    stream = TokenStream(np.arange(100, dtype=np.uint16), BYTE_SPECIALS)
    for seed in range(20):
        _, labels = stream.mlm_batch(1, 2, torch.Generator().manual_seed(seed))
        assert (labels != -100).sum() >= 1
    with pytest.raises(ValueError, match="mask_prob"):
        stream.mlm_batch(1, 2, mask_prob=0.0)
