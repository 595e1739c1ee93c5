"""The one tokenizer: lower-cased, stop-worded, Snowball-stemmed words (what BM25 indexes).

Every stage that compares words (the BM25 side-store, the relevance gate, the composer, the
verifier, query validation) uses these, so a word means the same thing everywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any


@functools.cache
def stemmer() -> Any:
    """The English Snowball stemmer (PyStemmer), loaded once."""
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, Snowball-stemmed tokens (as strings)."""
    import bm25s

    out = bm25s.tokenize(
        list(texts),
        stopwords="en",
        stemmer=stemmer(),
        return_ids=False,
        show_progress=False,
    )
    return [list(tokens) for tokens in out]


def stem_words(words: Sequence[str]) -> list[str]:
    """Each word stemmed, none dropped (stopwords included)."""
    return list(stemmer().stemWords(list(words)))


@functools.cache
def stopwords() -> frozenset[str]:
    """The English stopwords the tokenizer drops."""
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


__all__ = ["stem_words", "stemmer", "stopwords", "tokenize"]
