"""Query validation shared by every search path (retrieval, drafting, the app, the CLI).

A query is cleaned (control and invisible formatting characters removed, whitespace collapsed)
and refused, with a message saying what to type instead, when it is empty, too long, has no
words at all ('???') or only common words BM25 ignores ('the of and'): such queries used to
return ten "relevant" hits, because the relevance gate had no item terms to check.
Filters are checked by `imr_assist.index.filters.check_filters`.
"""

from __future__ import annotations

import re

from imr_assist.errors import QueryError
from imr_assist.text.clean import preview, strip_invisible
from imr_assist.text.tokens import stopwords

_WORD_RE = re.compile(r"\w+")


def clean_query(query: str, max_chars: int) -> str:
    """Strip control characters and spaces; refuse empty, oversized or word-less queries."""
    text = " ".join(strip_invisible(query or "").split())
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
            f"The query {preview(text)} has no words, only punctuation or symbols. "
            "Type a question or a requested treatment."
        )
    if all(w in stopwords() for w in words) and not _names_a_term(text):
        raise QueryError(
            f"The query {preview(text)} has only common words that search ignores. Name the "
            "treatment, test or condition (e.g. 'TENS unit for chronic low back pain')."
        )
    return text


def clean_summary(summary: str, max_chars: int) -> str:
    """A case summary with invisible characters removed and whitespace collapsed; refused when
    longer than `max_chars` (IMR_SEARCH__MAX_SUMMARY_CHARS). Empty is allowed."""
    text = " ".join((summary or "").split())  # measured before the slower character pass
    if len(text) > max_chars:
        raise QueryError(
            f"The case summary is {len(text):,} characters, over the {max_chars:,} limit. Give "
            "the facts that bear on the request (diagnosis, treatment so far, findings, what "
            "changed), not the whole record (or raise IMR_SEARCH__MAX_SUMMARY_CHARS)."
        )
    return " ".join(strip_invisible(text).split())


def _names_a_term(text: str) -> bool:
    from imr_assist.text.lexicon import expand_query

    return bool(expand_query(text).matched)


__all__ = ["clean_query", "clean_summary"]
