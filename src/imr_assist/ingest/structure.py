"""Guideline structure: section headings, numbered recommendations and blocks. Pure functions.

Recommendations are found in the forms guidelines print them:

- ``12. For patients with chronic low back pain, we suggest against opioids.``
  ``(Weak against | Reviewed, New-replaced)``  (VA/DoD style: number, statement, grade)
- ``Recommendation 12: ... We suggest against ... (Weak against)``
- ``Recommendation 12: ... we recommend against ...`` (grade read from the wording)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from imr_assist.ingest.cleanup import is_heading, join_lines
from imr_assist.models import Block, Direction, NumberedRecommendation, Page, Strength
from imr_assist.text.polarity import grade_from_text, grade_from_wording

_GRADE = r"(?:strong|weak)\s+(?:for|against)|neither\s+for\s+nor\s+against"
_NUMBERED_REC_RE = re.compile(
    r"(?m)^(?:recommendation\s+)?(\d{1,3})\s*[.:]\s+"
    r"(?P<stmt>[A-Z](?:(?!\nDiscussion\b)(?!\n\d{1,3}\.\s).){10,1500}?)"
    r"\(\s*(?P<grade>" + _GRADE + r")\s*(?:\|[^()]*)?\)",
    re.IGNORECASE | re.DOTALL,
)
_NAMED_REC_RE = re.compile(
    r"(?m)^recommendation\s+(\d{1,3})\s*[.:\-–]\s*(?P<stmt>[^\n]{10,1500})",
    re.IGNORECASE,
)
_SECTION_RE = re.compile(r"^(?:[IVX]+|[A-Z])\.\s*[A-Z]")
_NEUTRAL_HEADINGS = {"recommendation", "recommendations", "discussion"}
_TABLE_RE = re.compile(r"^(?:table|exhibit)\s+[A-Z]?\d+[.:]?\s", re.IGNORECASE)


@dataclass
class _Para:
    text: str
    page: int
    is_heading: bool
    is_table: bool = False


def _paragraphs(pages: Sequence[Page], markdown: bool) -> list[_Para]:
    paras: list[_Para] = []
    for page in pages:
        chunks = _markdown_paragraphs(page.text) if markdown else join_lines(page.text)
        table_open = False
        for chunk in chunks:
            heading = chunk.startswith("#") if markdown else is_heading(chunk)
            text = chunk.lstrip("#").strip() if markdown else chunk
            if not text:
                continue
            if _TABLE_RE.match(text) or (markdown and text.startswith("|")):
                table_open = True
                if paras and paras[-1].is_table and markdown and text.startswith("|"):
                    paras[-1].text += "\n" + text
                    continue
                paras.append(_Para(text, page.index, False, True))
                continue
            if table_open and not markdown and not heading and len(text) < 60:
                paras[-1].text += "\n" + text  # short rows belong to the table above
                continue
            table_open = False
            paras.append(_Para(text, page.index, heading))
    return paras


def _markdown_paragraphs(text: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("|"):
            if current:
                out.append(" ".join(" ".join(current).split()))
                current = []
            if s:
                out.append(s)
            continue
        if re.match(r"^(?:[-*+]|\d{1,3}[.)])\s", s) and current:
            out.append(" ".join(" ".join(current).split()))
            current = []
        current.append(s.lstrip("> ").strip() if s.startswith(">") else s)
    if current:
        out.append(" ".join(" ".join(current).split()))
    return out


def find_recommendations(
    pages: Sequence[Page], *, markdown: bool = False
) -> list[NumberedRecommendation]:
    """Every numbered recommendation with direction, strength and the page it is printed on.

    A number found twice (a summary table and the full statement) keeps the occurrence that
    prints an explicit grade in parentheses, else the first.
    """
    found: dict[str, tuple[bool, NumberedRecommendation]] = {}
    for page in pages:
        paras = _markdown_paragraphs(page.text) if markdown else join_lines(page.text)
        text = _GRADE_PAREN_RE.sub(_fix_grade, "\n".join(p.lstrip("#").strip() for p in paras))
        for match in _NUMBERED_REC_RE.finditer(text):
            direction, strength = grade_from_text(match.group("grade"))
            rec = _make_rec(match.group(1), match.group("stmt"), direction, strength, page)
            if not found.get(rec.number, (False, None))[0]:
                found[rec.number] = (True, rec)
        for match in _NAMED_REC_RE.finditer(text):
            graded = grade_from_wording(match.group("stmt"))
            if graded is None or match.group(1) in found:
                continue
            rec = _make_rec(match.group(1), match.group("stmt"), *graded, page)
            found[rec.number] = (False, rec)
    return sorted((rec for _, rec in found.values()), key=lambda r: int(r.number))


_GRADE_PAREN_RE = re.compile(r"\(([A-Za-z ]{3,40})\|")


def _fix_grade(match: re.Match[str]) -> str:
    """'(Nei ther for nor against |' -> '(Neither for nor against |' (PDF letter spacing)."""
    squeezed = re.sub(r"\s", "", match.group(1)).lower()
    for grade in (
        "neither for nor against",
        "strong for",
        "strong against",
        "weak for",
        "weak against",
    ):
        if squeezed == grade.replace(" ", ""):
            return f"({grade.capitalize()} |"
    return match.group(0)


def _make_rec(
    number: str, statement: str, direction: Direction, strength: Strength, page: Page
) -> NumberedRecommendation:
    stmt = " ".join(statement.split())
    stmt = re.sub(r"(?<=[.)])\s?[a-z]{1,2}$", "", stmt).strip()  # trailing footnote marker
    return NumberedRecommendation(
        number=str(int(number)),
        text=stmt,
        direction=direction,
        strength=strength,
        page_label=page.label,
        page_index=page.index,
    )


def build_blocks(
    pages: Sequence[Page],
    recommendations: Sequence[NumberedRecommendation],
    *,
    markdown: bool = False,
) -> list[Block]:
    """Cut pages into blocks carrying section and recommendation.

    A recommendation owns its statement and the discussion after it, up to the next
    recommendation or the next lettered/numbered section heading.
    """
    labels = {p.index: p.label for p in pages}
    starts = {(r.page_index, _key(r.text)): r.number for r in recommendations}
    blocks: list[Block] = []
    section: str | None = None
    current_rec: str | None = None
    for para in _paragraphs(pages, markdown):
        if para.is_heading:
            low = para.text.lower().strip()
            if low in _NEUTRAL_HEADINGS:
                continue
            if markdown or _SECTION_RE.match(para.text) or current_rec is None:
                section = para.text
                current_rec = None
            continue
        rec = _rec_starting_here(para, starts)
        if rec is not None:
            current_rec = rec
        blocks.append(
            Block(
                text=para.text,
                page_index=para.page,
                page_label=labels[para.page],
                page_end_label=labels[para.page],
                section=section,
                recommendation=current_rec,
                is_table=para.is_table,
            )
        )
    return blocks


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())[:60]


def _rec_starting_here(para: _Para, starts: dict[tuple[int, str], str]) -> str | None:
    match = re.match(r"^(?:recommendation\s+)?(\d{1,3})\s*[.:\-–]\s+(.*)", para.text, re.I | re.S)
    if not match:
        return None
    key = _key(match.group(2))
    for (page, rec_key), number in starts.items():
        if page == para.page and number == str(int(match.group(1))) and key[:40] == rec_key[:40]:
            return number
    return None
