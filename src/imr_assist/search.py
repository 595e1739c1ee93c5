"""Query and filter validation shared by every search path (retrieval, drafting, the app, the CLI).

A query is cleaned (control and invisible formatting characters removed, whitespace collapsed)
and refused, with a message saying what to type instead, when it is empty, too long, has no
words at all ('???') or only common words BM25 ignores ('the of and'): such queries used to
return ten "relevant" hits, because the relevance gate had no item terms to check.
Filters are refused when a key is unknown or a value cannot match anything (tier=gold), rather
than silently returning nothing.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from imr_assist.errors import QueryError
from imr_assist.models import Decision, Kind, Tier

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WORD_RE = re.compile(r"\w+")
FILTER_CHOICES: dict[str, tuple[str, ...]] = {
    "tier": tuple(t.value for t in Tier),
    "kind": tuple(k.value for k in Kind),
    "decision": tuple(d.value for d in Decision),
}
"""Filter keys whose values are a closed set; any other value can never match."""


def _strip_invisible(text: str) -> str:
    """Control characters become spaces; invisible format characters (zero-width, bidi
    overrides, soft hyphens) are dropped: they hide words from both retrievers."""
    text = _CONTROL_RE.sub(" ", text)
    return "".join(
        " "
        if unicodedata.category(ch) in {"Cc", "Zl", "Zp"}
        else ""
        if unicodedata.category(ch) in {"Cf", "Cs", "Co", "Cn"}
        else ch
        for ch in text
    )


def _preview(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def clean_query(query: str, max_chars: int) -> str:
    """Strip control characters and spaces; refuse empty, oversized or word-less queries."""
    text = " ".join(_strip_invisible(query or "").split())
    if not text:
        raise QueryError("The query is empty. Type a question or a requested treatment.")
    if len(text) > max_chars:
        raise QueryError(
            f"The query is {len(text)} characters, over the {max_chars} limit. Shorten it to "
            "the request and key facts (or raise IMR_SEARCH__MAX_QUERY_CHARS)."
        )
    words = [w.lower() for w in _WORD_RE.findall(text) if w.strip("_")]
    if not words:
        raise QueryError(
            f"The query {_preview(text)} has no words, only punctuation or symbols. "
            "Type a question or a requested treatment."
        )
    if all(w in _stopwords() for w in words) and not _names_a_term(text):
        raise QueryError(
            f"The query {_preview(text)} has only common words that search ignores. Name the "
            "treatment, test or condition (e.g. 'TENS unit for chronic low back pain')."
        )
    return text


@functools.cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN  # the list the BM25 side drops

    return frozenset(STOPWORDS_EN)


def _names_a_term(text: str) -> bool:
    from imr_assist.query import expand_query

    return bool(expand_query(text).matched)


def check_filters(filters: dict[str, str] | None, keys: tuple[str, ...] | None = None) -> None:
    """Refuse unknown keys, empty values and values that can never match (tier=gold).

    `keys` defaults to the index's filter keys. Values may be 'A|B' (either)."""
    if not filters:
        return
    if keys is None:
        from imr_assist.index import FILTER_KEYS

        keys = FILTER_KEYS
    unknown = sorted(set(filters) - set(keys))
    if unknown:
        raise QueryError(
            f"Unknown filter key(s): {', '.join(map(repr, unknown))}. "
            f"Use one of: {', '.join(keys)}."
        )
    for key, value in filters.items():
        values = [v.strip() for v in str(value).split("|") if v.strip()]
        if not values:
            raise QueryError(f"Filter {key}= has no value. Write {key}=VALUE (or A|B for either).")
        if any(_strip_invisible(v) != v for v in values):
            raise QueryError(
                f"Filter {key}={_preview(str(value))} contains control or invisible characters. "
                "Retype the value."
            )
        choices = FILTER_CHOICES.get(key)
        bad = [v for v in values if choices is not None and v not in choices]
        if bad and choices is not None:
            raise QueryError(
                f"Filter {key}={'|'.join(bad)} can never match: {key} is one of "
                f"{', '.join(choices)}."
            )


__all__ = ["FILTER_CHOICES", "check_filters", "clean_query"]
