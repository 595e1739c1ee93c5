"""Rendering helpers shared by the pages: citation chips, verdict badges, highlighted spans.

Pure functions of the library models to Markdown strings, so they are tested without a page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from imr_assist.citations import CITATION_RE, format_pages
from imr_assist.models import Passage, ResolvedCitation, SentenceCheck, Verdict
from imr_assist.ui.labels import label

VERDICT_BADGE = {
    Verdict.SUPPORTED: ":green-badge[supported]",
    Verdict.WEAK: ":orange-badge[weak]",
    Verdict.UNSUPPORTED: ":red-badge[unsupported]",
    Verdict.UNCITED: ":red-badge[uncited]",
    Verdict.NOT_CHECKED: ":gray-badge[not checked]",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$:])")


def escape_md(text: str) -> str:
    """Text shown literally in Streamlit Markdown (no emphasis, links, directives or math)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def chip_numbers(citations: Sequence[ResolvedCitation]) -> dict[str, int]:
    """Citation id -> the number its chip and its source card carry (first citation is 1)."""
    return {c.id: n for n, c in enumerate(citations, 1)}


def with_chips(text: str, numbers: dict[str, int]) -> str:
    """Markdown of a drafted text with each citation marker as a numbered chip.

    An id that resolves to no cited source is shown as a red chip with the id itself, so a
    fabricated citation is visible, never silently dropped."""
    out: list[str] = []
    last = 0
    for m in CITATION_RE.finditer(text):
        out.append(escape_md(text[last : m.start()]))
        pid = m.group(1)
        n = numbers.get(pid)
        out.append(f":blue-badge[{n}]" if n else f":red-badge[unknown {pid}]")
        last = m.end()
    out.append(escape_md(text[last:]))
    return "".join(out).strip()


def locator(c: ResolvedCitation) -> str:
    """'MTUS · Rec 9 · pp. 38-39' style line of where a cited passage sits."""
    parts = [label(c.tier)]
    if c.guideline:
        parts.append(c.guideline)
    if c.recommendation:
        parts.append(f"Recommendation {c.recommendation}")
    elif c.section:
        parts.append(c.section)
    parts.append(format_pages(c.page_start, c.page_end or c.page_start) or "unpaged")
    return " · ".join(parts)


def highlighted(passage_text: str, span: str) -> str:
    """The passage as Markdown with the supporting span highlighted (escaped otherwise)."""
    span = " ".join(span.split())
    flat = " ".join(passage_text.split())
    if span and span in flat:
        i = flat.index(span)
        return (
            escape_md(flat[:i])
            + ":orange-background["
            + escape_md(span)
            + "]"
            + escape_md(flat[i + len(span) :])
        )
    return escape_md(flat)


def best_check(checks: Sequence[SentenceCheck], pid: str) -> SentenceCheck | None:
    """The sentence check that rests on this passage with the highest score."""
    mine = [c for c in checks if c.matched_passage_id == pid or pid in c.citation_ids]
    return max(mine, key=lambda c: c.score, default=None)


def source_title(n: int, c: ResolvedCitation, check: SentenceCheck | None) -> str:
    verdict = VERDICT_BADGE[check.verdict] if check else VERDICT_BADGE[Verdict.NOT_CHECKED]
    return f"{n}. {escape_md(c.citation)} {verdict}"


def passage_by_id(passages: Sequence[Passage]) -> dict[str, Passage]:
    return {p.id: p for p in passages}


def conclusion_first(text: str, first_sentence: str) -> tuple[str, str]:
    """(the opening sentence, the rest) of a drafted text whose first checked sentence is
    `first_sentence`; ('', text) when the text does not open with it (it was edited)."""
    head = text.lstrip()
    first = first_sentence.strip()
    if not first or not head.startswith(first):
        return "", text
    rest = head[len(first) :]
    while True:  # citation markers right after the sentence belong to it
        m = CITATION_RE.match(rest.lstrip())
        if m is None:
            break
        first += " " + m.group(0)
        rest = rest.lstrip()[m.end() :]
    return first, rest.strip()


def chip_label(n: int, c: ResolvedCitation) -> str:
    """The text of a source's chip button: its number and where it is (guideline,
    recommendation or a short section name, pages)."""
    parts = [c.guideline or c.source_title]
    if c.recommendation:
        parts.append(f"Rec {c.recommendation}")
    elif c.section:
        section = c.section.split(":")[0].strip()
        parts.append(section if len(section) <= 32 else section[:31].rstrip() + "…")
    pages = format_pages(c.page_start, c.page_end or c.page_start)
    if pages:
        parts.append(pages)
    return f"[{n}] " + ", ".join(parts)
