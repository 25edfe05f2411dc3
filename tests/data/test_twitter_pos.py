"""Twitter POS loader: window features, label ids, unknown words and errors on tiny files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gatelab.data.splits import DatasetNotFound
from gatelab.data.twitter_pos import TAGS, load_twitter_pos, read_embeddings, read_tweets

DIM = 50
# Tag ids written out by hand from the ARK order N O ^ S Z V L M A R ! D P & T X Y # @ ~ U E $ , G.
TAG_ID = {"N": 0, "O": 1, "^": 2, "V": 5, "!": 10, "D": 11, "P": 12, ",": 23, "G": 24, "@": 18}

TRAIN = "Hello\t!\nworld\tN\n!\t,\n\nI\tO\nlove\tV\nTWEETS\tN\n\n"
DEV = "@bob\t@\nhi\t!\n"  # no trailing blank line: the last tweet still counts
TEST = "\n\nxyzzy\tG\n\n\nthe\tD\ncat\tN\n"


def vector(k: int) -> np.ndarray:
    """Word k's embedding: k + i/64, exact in float32 and distinct for every word and column."""
    return (k + np.arange(DIM) / 64).astype(np.float32)


WORDS = {
    "hello": 1,
    "world": 2,
    "!": 3,
    "I": 4,
    "love": 5,
    "tweets": 6,
    "hi": 7,
    "the": 8,
    "cat": 9,
}


def write_embeddings(path: Path, words: dict[str, int], header: bool = False) -> None:
    lines = [f"{len(words)} {DIM}"] if header else []
    lines += [" ".join([word, *(repr(float(v)) for v in vector(k))]) for word, k in words.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_corpus(root: Path, words: dict[str, int] = WORDS, header: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "oct27.train").write_text(TRAIN, encoding="utf-8")
    (root / "oct27.dev").write_text(DEV, encoding="utf-8")
    (root / "oct27.test").write_text(TEST, encoding="utf-8")
    write_embeddings(root / "embeddings-twitter.txt", words, header)
    return root


def window(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts)


ZERO = np.zeros(DIM, dtype=np.float32)


def test_tag_order_is_the_ark_tagset():
    assert len(TAGS) == len(set(TAGS)) == 25
    assert all(TAGS[i] == tag for tag, i in TAG_ID.items())


def test_windows_labels_and_sizes_with_zero_padding_and_zero_unknown(tmp_path):
    data = load_twitter_pos(write_corpus(tmp_path))
    assert data.num_classes == 25 and data.name == "twitter_pos"
    assert data.train_x.dtype == torch.float32 and data.train_x.shape == (6, 3 * DIM)
    assert (len(data.val_y), len(data.test_y)) == (2, 3)
    hello, world, bang = vector(1), vector(2), vector(3)
    # "Hello" -> lower-cased lookup; tweet boundaries -> zero padding
    expected_train = np.stack(
        [
            window(ZERO, hello, world),
            window(hello, world, bang),
            window(world, bang, ZERO),
            window(ZERO, vector(4), vector(5)),  # "I" found verbatim
            window(vector(4), vector(5), vector(6)),  # "TWEETS" -> "tweets"
            window(vector(5), vector(6), ZERO),
        ]
    )
    np.testing.assert_array_equal(data.train_x.numpy(), expected_train)
    assert data.train_y.tolist() == [TAG_ID[t] for t in ["!", "N", ",", "O", "V", "N"]]
    assert data.train_y.dtype == torch.int64
    # "@bob" and "xyzzy" are unknown and the file has no unknown token -> zeros
    np.testing.assert_array_equal(data.val_x[0].numpy(), window(ZERO, ZERO, vector(7)))
    np.testing.assert_array_equal(data.test_x[0].numpy(), window(ZERO, ZERO, ZERO))
    assert data.val_y.tolist() == [TAG_ID["@"], TAG_ID["!"]]
    assert data.test_y.tolist() == [TAG_ID["G"], TAG_ID["D"], TAG_ID["N"]]


def test_padding_and_unknown_tokens_of_the_embedding_file_are_used(tmp_path):
    words = {**WORDS, "</s>": 20, "UUUNKKK": 21}
    data = load_twitter_pos(write_corpus(tmp_path, words, header=True))
    pad, unk = vector(20), vector(21)
    np.testing.assert_array_equal(data.val_x[0].numpy(), window(pad, unk, vector(7)))
    np.testing.assert_array_equal(data.val_x[1].numpy(), window(unk, vector(7), pad))
    np.testing.assert_array_equal(data.test_x[0].numpy(), window(pad, unk, pad))


def test_exact_case_wins_over_lower_case(tmp_path):
    data = load_twitter_pos(write_corpus(tmp_path, {**WORDS, "Hello": 30}))
    np.testing.assert_array_equal(data.train_x[0, DIM : 2 * DIM].numpy(), vector(30))


def test_official_code_file_names_in_a_subdirectory(tmp_path):
    tweets = tmp_path / "data" / "Tweets"
    tweets.mkdir(parents=True)
    (tweets / "tweets-train.txt").write_text(TRAIN, encoding="utf-8")
    (tweets / "tweets-dev.txt").write_text(DEV, encoding="utf-8")
    (tweets / "tweets-devtest.txt").write_text(TEST, encoding="utf-8")
    write_embeddings(tmp_path / "vectors.txt", WORDS)
    data = load_twitter_pos(tmp_path, embeddings=tmp_path / "vectors.txt")
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (6, 2, 3)


def test_missing_files_are_listed_with_directories_searched(tmp_path):
    (tmp_path / "oct27.train").write_text(TRAIN, encoding="utf-8")
    with pytest.raises(DatasetNotFound) as error:
        load_twitter_pos(tmp_path)
    message = str(error.value)
    assert "oct27.dev" in message and "oct27.test" in message
    assert "embeddings-twitter.txt" in message and "oct27.train or" not in message
    assert str(tmp_path) in message and "ark-tweet-nlp" in message


def test_unknown_tag_names_file_and_line(tmp_path):
    root = write_corpus(tmp_path)
    (root / "oct27.dev").write_text("a\tN\n\nb\tNN\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"oct27\.dev:3: unknown tag 'NN'"):
        load_twitter_pos(root)


def test_line_without_a_tab_is_rejected(tmp_path):
    path = tmp_path / "bad"
    path.write_text("a N\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad:1: expected 'token<TAB>tag'"):
        read_tweets(path)


def test_read_tweets_splits_on_blank_lines(tmp_path):
    path = tmp_path / "t"
    path.write_text("a\tN\r\nb\tV\r\n\r\n\r\nc\t,\r\n", encoding="utf-8")
    tweets = read_tweets(path)
    assert [t.tokens for t in tweets] == [("a", "b"), ("c",)]
    assert [t.tags for t in tweets] == [("N", "V"), (",",)]


def test_embedding_rows_must_share_one_dimension(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"e\.txt:2: expected a word and 3 numbers"):
        read_embeddings(path)
    path.write_text("a 1 x 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"e\.txt:1: non-numeric"):
        read_embeddings(path)


def test_read_embeddings_header_and_keep(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("2 3\na 1 2 3\nb 4 5 6\na 7 8 9\n", encoding="utf-8")
    table = read_embeddings(path, keep={"a"})
    assert table.dim == 3 and list(table.vectors) == ["a"]
    np.testing.assert_array_equal(table.vectors["a"], [1, 2, 3])
