"""Query validation shared by every search path (retrieval, drafting, the app)."""

from __future__ import annotations

import re

from imr_assist.errors import QueryError

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
