"""Twitter part-of-speech tagging as window features: the GELU paper's §3.3 data.

Source: Hendrycks & Gimpel, "Gaussian Error Linear Units", arXiv:1606.08415 §3.3, on the ARK
Twitter POS data of Gimpel et al., "Part-of-Speech Tagging for Twitter" (ACL 2011), release
v0.3 (Owoputi et al. 2012/2013): 1000 training, 327 development and 500 test tweets of the
Oct27 collection, 25 tags. Each token becomes one example whose features are the pretrained
50-d Twitter embeddings of the previous, current and next word, concatenated (150-d), as in the
paper's official code (github.com/hendrycks/GELUs, ``twitter_pos.py``, window size 1).

The data cannot be redistributed; put the files in one directory (``root``) or one of its
sub-directories :data:`SEARCH_SUBDIRS` (the ARK release layout)::

    root/oct27.train            1000 tweets   (ARK twpos-data-v0.3/oct27.splits/)
    root/oct27.dev               327 tweets
    root/oct27.test              500 tweets
    root/embeddings-twitter.txt  "word v1 ... v50" per line

The official GELU code's names (``tweets-train.txt``, ``tweets-dev.txt``, ``tweets-devtest.txt``)
are accepted too. The 500-tweet test set is Oct27's ``test`` split: Daily547 holds 547 tweets and
is not the paper's test set.

Tweet files are CoNLL-like: one ``token<TAB>tag`` per line, a blank line between tweets. The
embedding file is word2vec/GloVe text (``word v1 … vD``, whitespace separated; a word2vec header
line ``count dim`` is skipped). Word lookup, in order: the word itself, its lower-cased form, then
the unknown vector. The unknown vector is the file's own unknown token (the first present of
:data:`UNKNOWN_TOKENS`; the official file's ``UUUNKKK``) or zeros. Tweet boundaries are padded
with the file's ``</s>`` vector (the official code's choice for both ends) or zeros. The official
code did not try the lower-cased form; it changes nothing for words the file holds verbatim.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gatelab.data.splits import ArraySplits, DatasetNotFound

__all__ = [
    "EMBEDDINGS_FILE",
    "Embeddings",
    "PADDING_TOKENS",
    "SEARCH_SUBDIRS",
    "SPLIT_FILES",
    "TAGS",
    "UNKNOWN_TOKENS",
    "Tweet",
    "load_twitter_pos",
    "read_embeddings",
    "read_tweets",
    "window_features",
]

#: The 25 ARK tags (Gimpel et al. 2011, Table 1); a tag's label id is its index here.
TAGS: tuple[str, ...] = tuple("N O ^ S Z V L M A R ! D P & T X Y # @ ~ U E $ , G".split())
TAG_IDS: dict[str, int] = {tag: i for i, tag in enumerate(TAGS)}

#: Accepted file names per split, ARK release name first, then the official GELU code's name.
SPLIT_FILES: dict[str, tuple[str, ...]] = {
    "train": ("oct27.train", "tweets-train.txt"),
    "val": ("oct27.dev", "tweets-dev.txt"),
    "test": ("oct27.test", "tweets-devtest.txt"),
}
EMBEDDINGS_FILE = "embeddings-twitter.txt"
#: Sub-directories of ``root`` searched, in order (ARK release and official-code layouts).
SEARCH_SUBDIRS: tuple[str, ...] = (
    ".",
    "oct27.splits",
    "twpos-data-v0.3/oct27.splits",
    "Tweets",
    "data/Tweets",
)
#: Tokens taken, if the embedding file has one, as the unknown-word and the padding vector.
UNKNOWN_TOKENS: tuple[str, ...] = ("UUUNKKK", "<unk>", "<UNK>")
PADDING_TOKENS: tuple[str, ...] = ("</s>",)

_GET_DATA = (
    "get the tweets from the ARK Twitter NLP release twpos-data-v0.3 "
    "(github.com/brendano/ark-tweet-nlp, data/twpos-data-v0.3/oct27.splits/) and 50-d Twitter "
    "embeddings in word2vec/GloVe text format (the GELU paper used embeddings-twitter.txt), "
    "then pass the directory holding them as root"
)


@dataclass(frozen=True)
class Tweet:
    """One annotated tweet: its tokens and their tags, in order."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]


def read_tweets(path: str | Path) -> list[Tweet]:
    """Read a CoNLL-like file: ``token<TAB>tag`` per line, blank lines between tweets.

    Raises ValueError naming the file and line for a malformed line or a tag outside :data:`TAGS`.
    """
    path = Path(path)
    tweets: list[Tweet] = []
    tokens: list[str] = []
    tags: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if tokens:
                    tweets.append(Tweet(tuple(tokens), tuple(tags)))
                    tokens, tags = [], []
                continue
            token, tag = _parse_token_line(line, path, number)
            tokens.append(token)
            tags.append(tag)
    if tokens:
        tweets.append(Tweet(tuple(tokens), tuple(tags)))
    return tweets


def _parse_token_line(line: str, path: Path, number: int) -> tuple[str, str]:
    fields = line.split("\t")
    if len(fields) != 2 or not fields[0]:
        raise ValueError(
            f"{path}:{number}: expected 'token<TAB>tag', got {line!r}; tweet files hold one "
            "token and its tag per line, separated by one tab, with blank lines between tweets"
        )
    token, tag = fields[0], fields[1].strip()
    if tag not in TAG_IDS:
        raise ValueError(
            f"{path}:{number}: unknown tag {tag!r} for token {token!r}; "
            f"the 25 ARK tags are {' '.join(TAGS)}"
        )
    return token, tag


@dataclass(frozen=True)
class Embeddings:
    """Word vectors read from a text file: ``{word: float32 [dim]}`` and the file's dimension."""

    vectors: dict[str, np.ndarray]
    dim: int

    def first_present(self, tokens: Sequence[str]) -> np.ndarray:
        """The vector of the first of ``tokens`` the file holds, else zeros."""
        for token in tokens:
            if token in self.vectors:
                return self.vectors[token]
        return np.zeros(self.dim, dtype=np.float32)


def read_embeddings(path: str | Path, keep: Iterable[str] | None = None) -> Embeddings:
    """Read word2vec/GloVe text embeddings (``word v1 … vD`` per line).

    Only words in ``keep`` are stored when it is given (the full Twitter files hold about a
    million words). A first line of two integers (word2vec's ``count dim`` header) is skipped;
    for a repeated word the first vector wins. Raises ValueError naming the file and line for a
    row whose length differs from the first row's or that holds a non-number.
    """
    path = Path(path)
    wanted = None if keep is None else set(keep)
    vectors: dict[str, np.ndarray] = {}
    dim = 0
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            fields = line.rstrip("\r\n").split()
            if not fields or (number == 1 and _is_word2vec_header(fields)):
                continue
            dim = dim or len(fields) - 1
            if len(fields) != dim + 1 or dim < 1:
                raise ValueError(
                    f"{path}:{number}: expected a word and {max(dim, 1)} numbers, got "
                    f"{len(fields)} fields; the embedding file must hold 'word v1 ... vD' with "
                    "the same D on every line"
                )
            word = fields[0]
            if (wanted is None or word in wanted) and word not in vectors:
                vectors[word] = _parse_vector(fields[1:], path, number)
    if dim == 0:
        raise ValueError(f"{path}: the embedding file holds no vectors")
    return Embeddings(vectors, dim)


def _is_word2vec_header(fields: list[str]) -> bool:
    return len(fields) == 2 and all(field.isdigit() for field in fields)


def _parse_vector(fields: list[str], path: Path, number: int) -> np.ndarray:
    try:
        return np.array([float(field) for field in fields], dtype=np.float32)
    except ValueError as error:
        raise ValueError(f"{path}:{number}: non-numeric embedding value ({error})") from None


def window_features(
    tweets: Sequence[Tweet],
    vectors: dict[str, np.ndarray],
    unknown: np.ndarray,
    padding: np.ndarray,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features [N, 3·D] (previous ‖ current ‖ next word vectors) and tag ids [N] of every token.

    ``padding`` stands for the word before a tweet's first and after its last token; a word
    missing from ``vectors`` is looked up lower-cased, then replaced by ``unknown``.
    """
    rows: list[np.ndarray] = []
    labels: list[int] = []
    for tweet in tweets:
        column = [_lookup(token, vectors, unknown) for token in tweet.tokens]
        padded = [padding, *column, padding]
        rows.extend(np.concatenate(padded[i : i + 3]) for i in range(len(column)))
        labels.extend(TAG_IDS[tag] for tag in tweet.tags)
    width = 3 * unknown.shape[0]
    features = np.stack(rows) if rows else np.zeros((0, width), dtype=np.float32)
    return torch.from_numpy(features.astype(np.float32)), torch.tensor(labels, dtype=torch.int64)


def _lookup(word: str, vectors: dict[str, np.ndarray], unknown: np.ndarray) -> np.ndarray:
    vector = vectors.get(word)
    if vector is None:
        vector = vectors.get(word.lower(), unknown)
    return vector


def load_twitter_pos(root: str | Path, *, embeddings: str | Path | None = None) -> ArraySplits:
    """Load the GELU paper's Twitter POS task (arXiv:1606.08415 §3.3) as 150-d window features.

    ``root`` holds the tweet files (see the module docstring for names and layout);
    ``embeddings`` overrides the path of the embedding file (default: :data:`EMBEDDINGS_FILE`
    found like the tweet files). Returns train (oct27.train), val (oct27.dev) and test
    (oct27.test) with float32 features [N, 3·D] and int64 labels in the order of :data:`TAGS`.
    Raises :class:`DatasetNotFound` listing every missing file and the directories searched.
    """
    root = Path(root)
    split_paths, embedding_path = _locate_files(root, embeddings)
    tweets = {split: read_tweets(path) for split, path in split_paths.items()}
    vocabulary = _vocabulary(tweet for split in tweets.values() for tweet in split)
    table = read_embeddings(embedding_path, keep=vocabulary)
    unknown = table.first_present(UNKNOWN_TOKENS)
    padding = table.first_present(PADDING_TOKENS)
    arrays = {
        split: window_features(split_tweets, table.vectors, unknown, padding)
        for split, split_tweets in tweets.items()
    }
    sizes = "/".join(str(len(tweets[split])) for split in ("train", "val", "test"))
    return ArraySplits(
        name="twitter_pos",
        train_x=arrays["train"][0],
        train_y=arrays["train"][1],
        val_x=arrays["val"][0],
        val_y=arrays["val"][1],
        test_x=arrays["test"][0],
        test_y=arrays["test"][1],
        num_classes=len(TAGS),
        source=(
            f"ARK Twitter POS {sizes} tweets (train/val/test) from "
            f"{split_paths['train'].parent}, embeddings {embedding_path}"
        ),
    )


def _vocabulary(tweets: Iterable[Tweet]) -> set[str]:
    """Every word a lookup may ask for: tokens, their lower-cased forms and the special tokens."""
    words = set(UNKNOWN_TOKENS) | set(PADDING_TOKENS)
    for tweet in tweets:
        words.update(tweet.tokens)
        words.update(token.lower() for token in tweet.tokens)
    return words


def _locate_files(root: Path, embeddings: str | Path | None) -> tuple[dict[str, Path], Path]:
    """Find every split file and the embedding file, or raise DatasetNotFound naming the missing."""
    directories = [root / sub if sub != "." else root for sub in SEARCH_SUBDIRS]
    found = {split: _find(names, directories) for split, names in SPLIT_FILES.items()}
    if embeddings is None:
        embedding_path = _find((EMBEDDINGS_FILE,), directories)
    else:
        embedding_path = Path(embeddings) if Path(embeddings).is_file() else None
    missing = [" or ".join(SPLIT_FILES[split]) for split, path in found.items() if path is None]
    if embedding_path is None:
        missing.append(str(embeddings) if embeddings is not None else EMBEDDINGS_FILE)
    if missing:
        raise DatasetNotFound(
            f"Twitter POS (GELU paper §3.3): missing {', '.join(missing)}; "
            f"directories searched: {', '.join(str(d) for d in directories)}; {_GET_DATA}"
        )
    return {split: path for split, path in found.items() if path is not None}, embedding_path


def _find(names: Sequence[str], directories: Sequence[Path]) -> Path | None:
    for directory in directories:
        for name in names:
            if (directory / name).is_file():
                return directory / name
    return None
