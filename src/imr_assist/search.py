"""Search the index: validate the query, embed it, return cited hits."""

from __future__ import annotations

import re

from imr_assist.errors import QueryError
from imr_assist.index import PassageIndex
from imr_assist.models import SearchResult

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_query(query: str, max_chars: int) -> str:
    """Strip control characters and spaces; refuse empty or oversized queries."""
    text = " ".join(_CONTROL_RE.sub(" ", query or "").split())
    if not text:
        raise QueryError("The query is empty. Type a question or a requested treatment.")
    if len(text) > max_chars:
        raise QueryError(
            f"The query is {len(text)} characters, over the {max_chars} limit. Shorten it to "
            "the request and key facts (or raise IMR_SEARCH__MAX_QUERY_CHARS)."
        )
    return text


def search(
    query: str,
    *,
    index: PassageIndex,
    k: int | None = None,
    filters: dict[str, str] | None = None,
) -> SearchResult:
    """Dense search over published passages."""
    settings = index.settings
    text = clean_query(query, settings.search.max_query_chars)
    k = k or settings.search.k
    if k < 1:
        raise QueryError("k must be at least 1.")
    vector = index.embedder.embed_query(text)
    hits = index.search_vector(vector, k, filters)
    return SearchResult(query=text, hits=hits, mode="dense", index_hash=settings.index_hash)
