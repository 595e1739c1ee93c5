"""The cited page on screen: a PDF page rendered as an image with the cited passage highlighted,
or, for a text source, the passage among its neighbours.

Pure of Streamlit: `render_page(path, page_number, passage_text)` returns a `PageView` (an image
and the highlight boxes in image pixels). The passage's words are found on the page by aligning
word sequences (`difflib`), not by exact search, because ingest repairs the text (hyphenation,
ligatures, whitespace) and a passage may run onto the next page: only runs of at least
`MIN_RUN` words in order count, so a common word elsewhere on the page is never lit.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from imr_assist.errors import CorruptSourceError, UnreadableSourceError
from imr_assist.models import Passage

MIN_RUN = 3
"""Fewest consecutive passage words that count as a match on the page."""
MAX_GAP = 3
"""Unmatched page words between two matched runs that are lit too (a hyphenated word)."""
HIGHLIGHT = (255, 214, 0, 90)
OUTLINE = (230, 160, 0, 255)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Box:
    """A rectangle in image pixels (origin top left)."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass
class PageView:
    """One rendered page and where the passage is on it."""

    image: Image.Image
    page_number: int
    page_count: int
    boxes: list[Box] = field(default_factory=list)
    matched_words: int = 0
    passage_words: int = 0

    @property
    def found(self) -> bool:
        return bool(self.boxes)


def words(text: str) -> list[str]:
    """Lower-cased words, the unit of alignment."""
    return [w.lower() for w in _WORD.findall(text)]


def _page_words(textpage: Any) -> list[tuple[str, list[int]]]:
    """The page's words, each with the indices of its characters."""
    import pypdfium2.raw as pdfium_c

    out: list[tuple[str, list[int]]] = []
    chars: list[str] = []
    indices: list[int] = []
    for i in range(textpage.count_chars()):
        ch = chr(pdfium_c.FPDFText_GetUnicode(textpage, i) or 32)
        if ch.isalnum():
            chars.append(ch.lower())
            indices.append(i)
        elif chars:
            out.append(("".join(chars), indices))
            chars, indices = [], []
    if chars:
        out.append(("".join(chars), indices))
    return out


def matched_words(page: Sequence[str], passage: Sequence[str]) -> list[int]:
    """Indices of the page words that belong to the passage, in page order."""
    matcher = difflib.SequenceMatcher(None, list(page), list(passage), autojunk=False)
    runs = [b for b in matcher.get_matching_blocks() if b.size >= MIN_RUN]
    lit: list[int] = []
    for n, run in enumerate(runs):
        lit.extend(range(run.a, run.a + run.size))
        nxt = runs[n + 1] if n + 1 < len(runs) else None
        if nxt is not None and 0 < nxt.a - (run.a + run.size) <= MAX_GAP:
            lit.extend(range(run.a + run.size, nxt.a))
    return lit


def _line_boxes(textpage: Any, char_indices: list[int]) -> list[tuple[float, float, float, float]]:
    """Character boxes (PDF units) merged into one box per line run."""
    merged: list[list[float]] = []
    for i in char_indices:
        left, bottom, right, top = textpage.get_charbox(i)
        if right <= left or top <= bottom:
            continue
        if merged:
            last = merged[-1]
            height = max(last[3] - last[1], top - bottom)
            same_line = abs((last[1] + last[3]) / 2 - (bottom + top) / 2) < height * 0.6
            if same_line and left >= last[0] - height and left - last[2] < height * 4:
                last[0], last[1] = min(last[0], left), min(last[1], bottom)
                last[2], last[3] = max(last[2], right), max(last[3], top)
                continue
        merged.append([left, bottom, right, top])
    return [(b[0], b[1], b[2], b[3]) for b in merged]


def open_pdf(path: Path) -> Any:
    """The PDF as pypdfium2 opens it; a missing or unreadable file says so, naming it."""
    import pypdfium2 as pdfium

    if not path.is_file():
        raise UnreadableSourceError(
            path,
            "the PDF this passage was ingested from is no longer there (moved or deleted).",
            "Put it back, or ingest it again from its new place.",
        )
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise CorruptSourceError(path, f"cannot be opened as a PDF ({exc}).") from exc


def render_page(path: Path, page_number: int, passage_text: str, *, scale: float = 1.5) -> PageView:
    """Page `page_number` (1-based) of the PDF at `path` as an image, the passage highlighted."""
    pdf = open_pdf(path)
    try:
        count = len(pdf)
        if not 1 <= page_number <= count:
            raise CorruptSourceError(
                path,
                f"has {count} page(s), not page {page_number}: the file changed since it was "
                "ingested.",
                "Ingest it again.",
            )
        page = pdf[page_number - 1]
        textpage = page.get_textpage()
        page_words = _page_words(textpage)
        wanted = words(passage_text)
        lit = matched_words([w for w, _ in page_words], wanted)
        chars = [i for n in lit for i in page_words[n][1]]
        boxes_pdf = _line_boxes(textpage, chars)
        height = page.get_height()
        image = page.render(scale=scale).to_pil().convert("RGBA")
        boxes = [
            Box(
                left=(left - 1) * scale,
                top=(height - top - 1) * scale,
                right=(right + 1) * scale,
                bottom=(height - bottom + 1) * scale,
            )
            for left, bottom, right, top in boxes_pdf
        ]
        textpage.close()
        page.close()
    finally:
        pdf.close()
    return PageView(
        image=highlight(image, boxes),
        page_number=page_number,
        page_count=count,
        boxes=boxes,
        matched_words=len(lit),
        passage_words=len(wanted),
    )


def highlight(image: Image.Image, boxes: Sequence[Box]) -> Image.Image:
    """The image with translucent boxes drawn over it (RGB)."""
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for b in boxes:
        draw.rectangle((b.left, b.top, b.right, b.bottom), fill=HIGHLIGHT, outline=OUTLINE)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def pages_of(passage: Passage) -> list[int]:
    """The 1-based PDF pages a passage spans (its first page, and as many after as its printed
    labels show when they are numbers); [] for a source without pages."""
    if passage.page_number is None:
        return []
    span = 1
    if passage.page_start.isdigit() and passage.page_end.isdigit():
        span = max(1, min(int(passage.page_end) - int(passage.page_start) + 1, 10))
    return list(range(passage.page_number, passage.page_number + span))


def without_overlap(before: str, after: str) -> str:
    """`after` without the words it repeats from the end of `before` (chunk overlap)."""
    a, b = before.split(), after.split()
    for size in range(min(len(a), len(b)), 0, -1):
        if a[-size:] == b[:size]:
            return " ".join(b[size:])
    return after


def in_context(passage: Passage, neighbours: Sequence[Passage]) -> list[tuple[Passage, str]]:
    """The passage among its neighbours of the same document version, in document order, each
    with its text less what it repeats of the one before (the cited one is kept whole)."""
    same = {
        p.ordinal: p
        for p in neighbours
        if p.doc_id == passage.doc_id and p.content_hash == passage.content_hash
    }
    same[passage.ordinal] = passage
    ordered = [same[k] for k in sorted(same)]
    out: list[tuple[Passage, str]] = []
    for n, p in enumerate(ordered):
        text = p.text
        if n and p.id != passage.id:
            text = without_overlap(ordered[n - 1].text, p.text)
        out.append((p, text))
    return out


def neighbour_ids(index: Any, passage: Passage, before: int = 1, after: int = 1) -> list[str]:
    """Ids of the passages just before and after `passage` in its document version."""
    ordinals = [o for o in range(passage.ordinal - before, passage.ordinal + after + 1) if o >= 0]
    got = index.collection.get(
        where={
            "$and": [
                {"doc_id": passage.doc_id},
                {"content_hash": passage.content_hash},
                {"ordinal": {"$in": ordinals}},
            ]
        },
        include=[],
    )
    return [str(i) for i in got["ids"]]
