"""Guidelines published as JSON sections: {guideline, pdf_filename, sections: [{id, title, page,
body_text}]} (the layout of the NYS WCB Medical Treatment Guideline extracts). Pure functions.

Each section becomes one `Page` whose label is the printed page the section starts on; its text
is Markdown: the section heading (``# D.5 Electrical Therapies``), then the body with its
sub-headings (``## D.5.b Transcutaneous Electrical Neurostimulation (TENS)``: a short line that
opens with the section's own id plus one more level). The Markdown structure reader then keeps
id and title as the section of every passage, and `section_page_ends` lets the reader give each
block the page the section ends on (the next section's first page), so a citation of a section
that runs over several pages names them all.

The tier is never read from the text: a state guideline is an "other evidence-based guideline"
in the order of authority (8 CCR 9792.21.1 (a)(3)), below MTUS and the nationally recognised
ACOEM/ODG, whatever sources it mentions. `--tier` still overrides it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from imr_assist.ingest.cleanup import dehyphenate, hyphenated_words, join_split_words, vocabulary
from imr_assist.models import Page, Tier

SECTION_TIER = Tier.OTHER_GUIDELINE


@dataclass
class SectionDocument:
    """What the reader needs from a section-JSON file."""

    pages: list[Page]
    front: dict[str, Any]
    page_ends: dict[int, str]
    """Page index -> printed label of the page its section ends on."""


def looks_like_section_json(data: object) -> bool:
    """True for {guideline: str, sections: [{id, title, body_text, ...}, ...]}."""
    if not isinstance(data, dict) or not isinstance(data.get("guideline"), str):
        return False
    sections = data.get("sections")
    return (
        isinstance(sections, list)
        and bool(sections)
        and all(isinstance(s, dict) and {"id", "title", "body_text"} <= s.keys() for s in sections)
    )


def parse_json(text: str) -> object:
    """The JSON value of a file's text (ValueError when it is not JSON)."""
    return json.loads(text)


def read_section_json(data: dict[str, Any]) -> SectionDocument:
    """Pages (one per section, Markdown, printed start page as label) and front matter."""
    sections = [s for s in data["sections"] if str(s.get("body_text", "")).strip()]
    bodies = [str(s["body_text"]).replace("\r\n", "\n").replace("\u00a0", " ") for s in sections]
    vocab = vocabulary(bodies)
    hyphenated = hyphenated_words(bodies)
    pages: list[Page] = []
    starts: list[int | None] = []
    for index, (section, raw) in enumerate(zip(sections, bodies, strict=True)):
        sid = " ".join(str(section["id"]).split())
        title = " ".join(str(section["title"]).split())
        text = join_split_words(dehyphenate(raw, vocab, hyphenated), vocab)
        body = _markdown_body(sid, _BROKEN_COMPOUND_RE.sub(r"\1-\2", text))
        start = _page_number(section.get("page"))
        starts.append(start)
        label = str(start) if start is not None else str(index + 1)
        pages.append(Page(index=index, label=label, text=f"# {sid} {title}\n\n{body}"))
    page_ends: dict[int, str] = {}
    last_page = _page_number(data.get("page_count"))
    for i, start in enumerate(starts):
        following = next((s for s in starts[i + 1 :] if s is not None), last_page)
        if start is not None and following is not None and following > start:
            page_ends[i] = str(following)
    guideline = " ".join(data["guideline"].split())
    edition = _year(str(data.get("pdf_filename", ""))) or _year(str(data.get("effective_date", "")))
    front: dict[str, Any] = {
        "title": f"{guideline} Medical Treatment Guidelines",
        "guideline": f"{guideline} MTG",
        "tier": SECTION_TIER.value,
        "kind": "guideline",
    }
    if edition:
        front["edition"] = edition
    return SectionDocument(pages=pages, front=front, page_ends=page_ends)


def _page_number(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _year(text: str) -> str | None:
    match = re.search(r"(?<!\d)(19|20)\d\d(?!\d)", text)
    return match.group(0) if match else None


_BROKEN_COMPOUND_RE = re.compile(r"\b([A-Za-z]{2,})- (?!(?:and|or|to|nor)\b)([a-z]{2,})")
"""'non- acute' -> 'non-acute': a hyphen then a space inside a line is a compound split at a line
end by the extraction ('pre- and post-operative' is left alone)."""


_DOUBLED_DOT_RE = re.compile(r"^([A-Z])\.\.(?=\d)")
"""'D..7.h.ii Carbamazepine' (a typo in the source) is read as 'D.7.h.ii'."""


def _markdown_body(section_id: str, body: str) -> str:
    """The body as Markdown paragraphs, its sub-section lines as '##' headings.

    A sub-heading is a paragraph that opens with a deeper id of this section ('D.5.b', or the
    id alone on a line with the title on the next) and reads as a title: short, no full stop,
    not a recommendation label ('D.4.a Recommended - ...' stays text)."""
    sub_id = re.compile(rf"^({re.escape(section_id)}(?:\.[0-9a-z]{{1,4}})+)\b\s*(.*)$", re.S)
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        joined = _DOUBLED_DOT_RE.sub(r"\1.", " ".join(paragraph.split()))
        if not joined:
            continue
        match = sub_id.match(joined)
        title = match.group(2).strip() if match else ""
        if match and (not title or _is_title(title)):
            out.append(f"## {match.group(1)} {title}".rstrip())
            continue
        first, _, rest = paragraph.strip().partition("\n")
        line = sub_id.match(_DOUBLED_DOT_RE.sub(r"\1.", " ".join(first.split())))
        if line and _is_title(line.group(2).strip()) and rest.strip()[:1].isupper():
            out.append(f"## {line.group(1)} {line.group(2).strip()}")
            out.append(rest.strip())
        else:
            out.append(paragraph.strip())
    return _merge_bare_ids("\n\n".join(out))


_OPEN_END_RE = re.compile(
    r"[.:;,]$|\b(?:and|or|of|the|a|an|to|as|with|for|in|by|that|which|than|is|are|be|not)$", re.I
)


def _is_title(text: str) -> bool:
    """Short, no sentence or list punctuation, not cut off, not a recommendation label."""
    if not text or len(text.split()) > 16 or ";" in text or _OPEN_END_RE.search(text):
        return False
    return not re.match(r"(?i)(?:not\s+)?recommended\b", text)


def _merge_bare_ids(text: str) -> str:
    """'## D.5.i' followed by the paragraph 'High-Voltage Galvanic' -> one heading."""

    def merge(match: re.Match[str]) -> str:
        title = match.group(2)
        return f"## {match.group(1)} {title}" if _is_title(title) else match.group(0)

    return re.sub(r"## (\S+)\n\n([^\n#][^\n]*)(?=\n\n|$)", merge, text)


__all__ = ["SECTION_TIER", "SectionDocument", "looks_like_section_json", "read_section_json"]
