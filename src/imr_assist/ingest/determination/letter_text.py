"""A letter's text as one clean stream that still knows the line each character came from.

Text extracted from a letter's PDF is damaged in predictable ways: page headers, footers and page
numbers land in the middle of sentences, words are hyphenated across lines or run together,
lines break mid-phrase and spaces double. :func:`read_letter` removes the page furniture,
re-joins hyphenated words and collapses all whitespace, so a parser reads one single-spaced
stream where line breaks and blank lines never matter, and can still say on which line of the
original text something it could not read sits (:meth:`LetterText.line_at`).

Page furniture is recognised by shape, never by a letter's wording:

- whole lines that are a page number ("7", "- 2 -", "Page 2", "Page 2 of 4", "2 | Page",
  "2 of 4") or a case number ("CM13-0012345", "Case Number: CM13-0012345 Page 2 of 4");
- "Page N of M" and case numbers inside a line, also when a line break splits them;
- running headers: a line printed again and again at page breaks (next to a page number, a case
  number or a form feed, at least twice) is dropped wherever it occurs, even mid-sentence.
  Lines the caller marks as structure (``keep``) are never treated as headers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["LetterText", "read_letter"]

_I = re.IGNORECASE
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CHAR_MAP = str.maketrans(
    {"\u00a0": " ", "\u00ad": None, "\ufb01": "fi", "\ufb02": "fl", "\u2010": "-", "\u2011": "-"}
)
_NOISE_LINE = re.compile(
    r"""^(?:
        page\s*\d+(?:\s*of\s*\d+)?                              # Page 2 / Page 2 of 4
      | \d{1,3}(?:\s*of\s*\d{1,3})?                             # a bare page number, "2 of 4"
      | [-\u2013]\s*\d{1,3}\s*[-\u2013]                         # "- 2 -"
      | \d{1,3}\s*\|\s*P\s*a\s*g\s*e | Page\s*\|\s*\d{1,3}      # "2 | Page", "Page | 2"
      | (?:case\s*(?:number|no\.?)\s*:?\s*)?CM\d{2}-?\d{5,8}    # CM13-0012345 case header
        (?:\s*page\s*\d+(?:\s*of\s*\d+)?)?
    )$""",
    _I | re.VERBOSE,
)
_INLINE_NOISE = re.compile(r"\bPage\s+\d+\s+of\s+\d+\b|\bCM\d{2}-\d{5,8}\b", _I)
_SPACES = re.compile(r"\s+")
_MAX_HEADER_CHARS = 120


@dataclass(frozen=True)
class LetterText:
    """Single-spaced letter text with the 1-based source line of every character."""

    text: str
    origin: tuple[int, ...] = field(repr=False)

    def line_at(self, offset: int) -> int:
        """The source line of the character at ``offset`` (clamped to the text)."""
        if not self.origin:
            return 1
        return self.origin[min(max(offset, 0), len(self.origin) - 1)]

    def starts_line(self, offset: int) -> bool:
        """True when ``offset`` is the first character of a source line in the stream."""
        if offset <= 0:
            return True
        if offset >= len(self.text) or self.text[offset - 1] != " ":
            return False
        return self.origin[offset] != self.origin[offset - 1]

    @cached_property
    def _spans(self) -> dict[int, int]:
        starts = [i for i in range(len(self.text)) if self.starts_line(i)]
        ends = [start - 1 for start in starts[1:]] + [len(self.text)] * bool(starts)
        return dict(zip(starts, ends, strict=True))

    def line_starts(self) -> list[int]:
        """Offsets of the first character of every source line kept in the stream."""
        return list(self._spans)

    def line_text(self, start: int) -> str:
        """The text of the source line that starts at ``start`` (see :meth:`line_starts`)."""
        return self.text[start : self._spans.get(start, start)]


def read_letter(text: str, *, keep: Callable[[str], bool] | None = None) -> LetterText:
    """Normalise a letter's text (see the module docstring).

    ``keep`` marks lines that are part of the letter's structure (headings, item lines, labels):
    such a line is never dropped as a running header however often it repeats.
    """
    lines = [(n, raw.translate(_CHAR_MAP)) for n, raw in enumerate(_LINE_BREAK.split(text), 1)]
    kept, breaks = _drop_page_furniture(lines)
    for line_no in _running_headers(kept, breaks, keep or (lambda _line: False)):
        del kept[line_no]
    chars: list[str] = []
    origin: list[int] = []
    for line_no, line in kept.items():
        if chars and chars[-1] == "-" and len(chars) > 1 and not chars[-2].isspace():
            # "physi-" + "cal" -> "physical"; "Non-" + "MTUS" and "287-" + "289" keep the hyphen
            if chars[-2].isalpha() and line[0].islower():
                chars.pop()
                origin.pop()
        elif chars:
            chars.append(" ")
            origin.append(origin[-1])
        chars.extend(line)
        origin.extend([line_no] * len(line))
    stream, where = "".join(chars), origin
    # noise that spans a line break ("Page 2" / "of 4"), then whitespace left behind
    stream, where = _strip_inline_noise(stream, where)
    stream, where = _sub(_SPACES, " ", stream, where)
    start = len(stream) - len(stream.lstrip())
    end = len(stream.rstrip())
    return LetterText(stream[start:end], tuple(where[start:end]))


def _drop_page_furniture(
    lines: list[tuple[int, str]],
) -> tuple[dict[int, str], set[int]]:
    """Kept lines (single-spaced, inline noise removed) by line number, and page-break lines.

    A page-break line is one whose neighbourhood shows a page boundary: a dropped page number or
    case-number line, or a form feed.
    """
    kept: dict[int, str] = {}
    breaks: set[int] = set()
    for line_no, raw in lines:
        if "\f" in raw:
            breaks.add(line_no)
        stripped = raw.replace("\f", " ").strip()
        if not stripped:
            continue
        if _NOISE_LINE.match(stripped):
            breaks.add(line_no)
            continue
        # a footer line with another footer extracted into it ("- Page 2 of 4 2 -") is still
        # a footer once the inline noise is gone; judge the line again after removing it
        line, _ = _strip_inline_noise(stripped, [0] * len(stripped))
        line = _SPACES.sub(" ", line).strip()
        if not line or _NOISE_LINE.match(line):
            breaks.add(line_no)
            continue
        kept[line_no] = line
    return kept, breaks


def _running_headers(
    kept: dict[int, str], breaks: set[int], keep: Callable[[str], bool]
) -> list[int]:
    """Line numbers of running headers: lines repeated at page breaks (see module docstring)."""
    counts = Counter(kept.values())
    candidates = {
        line
        for line, count in counts.items()
        if count >= 2 and len(line) <= _MAX_HEADER_CHARS and not keep(line)
    }
    if not candidates:
        return []
    order = sorted(kept)
    at_break: Counter[str] = Counter()
    for index, line_no in enumerate(order):
        line = kept[line_no]
        if line not in candidates:
            continue
        before = order[index - 1] if index else 0
        after = order[index + 1] if index + 1 < len(order) else line_no + 1
        # a page break between this line and its kept neighbour, or on the line itself
        if line_no in breaks or any(before < b < line_no or line_no < b < after for b in breaks):
            at_break[line] += 1
    headers = {line for line, count in at_break.items() if count >= 2}
    return [line_no for line_no in order if kept[line_no] in headers]


def _strip_inline_noise(text: str, origin: list[int]) -> tuple[str, list[int]]:
    """Remove "Page N of M" and case numbers until none is left.

    One pass is not enough: removing a footer can splice its neighbours into a new one, e.g.
    "Page Page 2 of 4 3 of 4" (a footer extracted into the middle of another) leaves
    "Page 3 of 4" behind.
    """
    while True:
        cleaned, where = _sub(_INLINE_NOISE, " ", text, origin)
        if cleaned == text:
            return text, origin
        text, origin = cleaned, where


def _sub(
    pattern: re.Pattern[str], repl: str, text: str, origin: list[int]
) -> tuple[str, list[int]]:
    """``pattern.sub(repl, text)`` that carries each character's source line along."""
    out: list[str] = []
    where: list[int] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(text[last : match.start()])
        where.extend(origin[last : match.start()])
        out.append(repl)
        where.extend([origin[match.start()]] * len(repl))
        last = match.end()
    if not out:
        return text, origin
    out.append(text[last:])
    where.extend(origin[last:])
    return "".join(out), where
