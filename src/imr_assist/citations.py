"""Citation ids and readable citations: ONE id template, ONE regex to extract ids.

A citation id is a short, stable, content-derived hash of a passage (12 hex digits); in text it
is written as ``[3f2a9c1b0d4e]``. Unknown ids found in a draft are reported, never stripped.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imr_assist.models import Passage

CITATION_ID_LENGTH = 12
CITATION_TEMPLATE = "[{id}]"
CITATION_RE = re.compile(r"\[([0-9a-f]{12})\]")


def make_citation_id(doc_id: str, page_start: str, text: str, salt: str = "") -> str:
    """Content-derived id of a passage: same document, page, text and salt (the chunker
    passes the document version) give the same id."""
    blob = f"{doc_id}\x1f{page_start}\x1f{' '.join(text.split())}\x1f{salt}".encode()
    return hashlib.sha256(blob).hexdigest()[:CITATION_ID_LENGTH]


def cite(passage_id: str) -> str:
    """The in-text marker for a passage id."""
    return CITATION_TEMPLATE.format(id=passage_id)


def extract_citation_ids(text: str) -> list[str]:
    """Citation ids in order of first appearance, without duplicates."""
    seen: dict[str, None] = {}
    for match in CITATION_RE.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def format_pages(start: str, end: str) -> str:
    """'p. 45' or 'pp. 45-46'; '' for an unpaged source."""
    if not start:
        return ""
    return f"p. {start}" if start == end else f"pp. {start}-{end}"


def format_citation(passage: Passage) -> str:
    """Readable citation, e.g. 'VA/DoD LBP CPG 2022, Rec 12, p. 45'."""
    from imr_assist.models import Kind

    if passage.kind is Kind.DETERMINATION:
        label = f"Prior determination {passage.source_title}"
        if passage.decision is not None:
            label += f" ({passage.decision.value})"
        return label
    name = passage.guideline or passage.source_title
    parts = [f"{name} {passage.edition}".strip() if passage.edition else name]
    if passage.recommendation:
        parts.append(f"Rec {passage.recommendation}")
    elif passage.section:
        parts.append(_short(passage.section))
    parts.append(format_pages(passage.page_start, passage.page_end))
    return ", ".join(p for p in parts if p)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
