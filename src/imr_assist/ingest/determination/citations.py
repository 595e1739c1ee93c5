"""Parse a letter's guideline lines into :class:`~imr_assist.models.GuidelineCitation`."""

from __future__ import annotations

import re

from imr_assist.ingest.determination.letter_text import read_letter
from imr_assist.models import GuidelineCitation

__all__ = ["parse_guideline_citations"]

_I = re.IGNORECASE


_SPLIT_CITATIONS = re.compile(
    r"(?:\bDecision\s*based\s*on\s*:?|;|\.\s+(?=(?:Non-?\s*MTUS|MTUS|CA\s+MTUS|ACOEM|ODG|"
    r"Official\s+Disability|Chronic\s+Pain|Post-?\s*surgical|American\s+College)\b))",
    _I,
)
_NON_MTUS = re.compile(r"^Non-?\s*MTUS\s*(?:Citations?|Guidelines?)?\s*[:,-]?\s*", _I)
_MTUS = re.compile(
    r"^(?:CA\s+|California\s+)?(?:MTUS|Medical\s+Treatment\s+Utilization\s+Schedule\s*\(MTUS\))"
    r"\s*(?:\(\s*Effective[^)]*\))?\s*[:,-]?\s*",
    _I,
)
_PAGES = re.compile(
    r"(?:,\s*|\s+|^)(?:Pages?\s*(?:\(s\))?|pp?\.)\s*:?\s*(?P<p>\d+(?:\s*[-\u2013]\s*\d+)?"
    r"(?:\s*(?:,|and|&)\s*\d+(?:\s*[-\u2013]\s*\d+)?)*)",
    _I,
)
_GUIDELINES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"^(?:American\s+College\s+of\s+Occupational\s+and\s+Environmental\s+Medicine\s*)?"
            r"\(?ACOEM\)?(?:\s+Occupational\s+Medicine)?(?:\s+Practice\s+Guidelines?)?"
            r"(?:,?\s*\d+(?:st|nd|rd|th)\s+Edition(?:\s*\(\d{4}\))?)?",
            _I,
        ),
        "ACOEM",
    ),
    (
        re.compile(r"^(?:\d{4}\s+)?Chronic\s*Pain\s*Medical\s*Treatment\s*Guidelines?", _I),
        "Chronic Pain Medical Treatment Guidelines",
    ),
    (
        re.compile(r"^Post-?\s*surgical\s*Treatment\s*Guidelines?", _I),
        "Postsurgical Treatment Guidelines",
    ),
    (
        re.compile(r"^(?:Official\s*Disability\s*Guidelines?(?:\s*\(ODG\))?|ODG\b)", _I),
        "Official Disability Guidelines (ODG)",
    ),
)
_MTUS_ONLY = {"Chronic Pain Medical Treatment Guidelines", "Postsurgical Treatment Guidelines"}
_UNCHAPTERED = {"Chronic Pain Medical Treatment Guidelines"}
_NO_CITATION = re.compile(
    r"^(?:none|n/?a|not\s+(?:cited|provided|applicable))\b|did\s+not\s+cite", _I
)


def parse_guideline_citations(text: str) -> list[GuidelineCitation]:
    """Parse a letter's guideline line into citations, one per guideline named.

    Accepts the wordings real letters use, e.g. "Decision based on MTUS ACOEM Chapter 12 Low Back
    Complaints Page(s): 301. Decision based on Non-MTUS Citation Official Disability Guidelines
    (ODG)." or "MTUS Chronic Pain Medical Treatment Guidelines, pages 98-99, Physical Medicine;
    Official Disability Guidelines (ODG), Low Back Chapter". A citation without an explicit
    "MTUS"/"Non-MTUS" prefix counts as MTUS only for guidelines that exist only in the MTUS
    (Chronic Pain Medical Treatment Guidelines, Postsurgical Treatment Guidelines).
    """
    citations: list[GuidelineCitation] = []
    for piece in _SPLIT_CITATIONS.split(read_letter(text).text):
        piece = piece.strip().rstrip(".").strip()
        if not piece or _NO_CITATION.search(piece):
            continue
        citations.append(_citation(piece))
    return citations


def _citation(text: str) -> GuidelineCitation:
    body = text
    if non_mtus := _NON_MTUS.match(body):
        mtus: bool | None = False
        body = body[non_mtus.end() :]
    elif explicit := _MTUS.match(body):
        mtus = True
        body = body[explicit.end() :]
    else:
        mtus = None
    pages: str | None = None
    if found := _PAGES.search(body):
        pages = re.sub(r"\s*,\s*", ", ", re.sub(r"\s*[-\u2013]\s*", "-", found["p"]))
        body = body[: found.start()] + "," + body[found.end() :]
    guideline: str | None = None
    for pattern, name in _GUIDELINES:
        if known := pattern.match(body):
            guideline, body = name, body[known.end() :]
            break
    parts = [part.strip() for part in body.split(",") if part.strip()]
    if guideline is None:
        guideline = parts.pop(0) if parts else "MTUS"
    if guideline in _UNCHAPTERED and not any("chapter" in part.lower() for part in parts[:1]):
        chapter, section = None, ", ".join(parts) or None
    else:
        chapter = parts[0] if parts else None
        section = ", ".join(parts[1:]) or None
    return GuidelineCitation(
        mtus=mtus if mtus is not None else guideline in _MTUS_ONLY,
        guideline=guideline,
        chapter=chapter,
        section=section,
        pages=pages,
        text=text,
    )
