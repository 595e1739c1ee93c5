"""Repair the usual PDF text-extraction damage. Pure functions on plain strings.

- running headers and footers (lines repeated on many pages, page numbering lines)
- words split by stray spaces ("Stron g", "i nsufficient"), judged against the document's own
  vocabulary
- hyphenation across lines ("physi-\\ncal"), keeping real compounds the document spells with a
  hyphen elsewhere ("clinician-directed")
- broken lines inside sentences, joined into paragraphs
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

_PAGE_LINE_RE = re.compile(
    r"^\s*(?:page\s+\d+(?:\s+of\s+\d+)?|\d{1,4}|-\s*\d{1,4}\s*-|\d{1,4}\s*/\s*\d{1,4})\s*$",
    re.IGNORECASE,
)
_PRINTED_PAGE_RE = re.compile(r"\bpage\s+(\d{1,4})\s+of\s+\d{1,4}\b", re.IGNORECASE)
_WORD_RE = re.compile(r"[A-Za-z]+")
_TOKEN_SPLIT_RE = re.compile(r"([^A-Za-z]+)")
_HYPHEN_BREAK_RE = re.compile(r"([A-Za-z]{2,})-\n\s*([a-z][A-Za-z]*)")
_LETTERED_HEADING_RE = re.compile(r"^(?:[IVX]+|[A-Z])\.\s*[A-Z]")
_CITED_END_RE = re.compile(r"[.?!]\(\d[\d,\s–-]*\)$")  # 'billion.(10)'
_GRADE_LINE_END_RE = re.compile(r"\|[^|()]*\)$")
_SENTENCE_END = (".", "?", "!", ":", ";", ".)", ".”", '."')


def printed_page_number(text: str) -> str | None:
    """The page number printed on a page ('Page 23 of 141'), if any."""
    match = _PRINTED_PAGE_RE.search(text)
    return match.group(1) if match else None


def _norm_line(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split())).lower()


def strip_running_lines(pages: Sequence[str], edge: int = 3, min_share: float = 0.3) -> list[str]:
    """Remove header/footer lines that repeat (digits ignored) at the edges of many pages."""
    split = [p.splitlines() for p in pages]
    counts: Counter[str] = Counter()
    for lines in split:
        nonblank = [ln for ln in lines if ln.strip()]
        edges = {_norm_line(ln) for ln in nonblank[:edge] + nonblank[-edge:]}
        counts.update(edges)
    threshold = max(2, int(min_share * len(pages) + 0.999))
    running = {line for line, n in counts.items() if n >= threshold and line}
    out = []
    for lines in split:
        nonblank_idx = [i for i, ln in enumerate(lines) if ln.strip()]
        edge_idx = set(nonblank_idx[:edge] + nonblank_idx[-edge:])
        kept = [
            ln
            for i, ln in enumerate(lines)
            if not (i in edge_idx and (_norm_line(ln) in running or _PAGE_LINE_RE.match(ln)))
        ]
        out.append("\n".join(kept))
    return out


def vocabulary(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased word counts of a document."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w.lower() for w in _WORD_RE.findall(text))
    return counts


def join_split_words(text: str, vocab: Counter[str], min_count: int = 2) -> str:
    """Join 'Stron g' -> 'Strong' when the joined word is a known word and a piece is not."""
    parts = _TOKEN_SPLIT_RE.split(text)  # words at even indexes, separators at odd ones
    out: list[str] = [parts[0]]
    i = 1
    while i < len(parts):
        sep, word = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
        prev = out[-1]
        if (
            sep in (" ", "\n", " \n")
            and prev.isalpha()
            and word.isalpha()
            and word[0].islower()
            and _should_join(prev, word, vocab, min_count)
        ):
            out[-1] = prev + word
        else:
            out.extend([sep, word])
        i += 2
    return "".join(out)


def _should_join(a: str, b: str, vocab: Counter[str], min_count: int) -> bool:
    joined = vocab.get((a + b).lower(), 0)
    if joined < min_count:
        return False
    a_count = vocab.get(a.lower(), 0) if len(a) > 1 or a.lower() == "a" else 0
    b_count = vocab.get(b.lower(), 0) if len(b) > 1 else 0
    # a fragment is rare next to the whole word: 'Ne ither' (neither 150, ither 4) joins,
    # 'in to' (into 50, in 3000, to 2000) does not.
    return 4 * min(a_count, b_count) < joined


def dehyphenate(text: str, vocab: Counter[str], hyphenated: set[str]) -> str:
    """Join words hyphenated across a line break, keeping real compounds."""

    def fix(match: re.Match[str]) -> str:
        a, b = match.group(1), match.group(2)
        compound = f"{a}-{b}".lower()
        if compound in hyphenated and vocab.get((a + b).lower(), 0) == 0:
            return f"{a}-{b}"
        return a + b

    return _HYPHEN_BREAK_RE.sub(fix, text)


def hyphenated_words(texts: Iterable[str]) -> set[str]:
    """Compounds the document spells with a hyphen inside a line."""
    found: set[str] = set()
    for text in texts:
        found.update(m.lower() for m in re.findall(r"[A-Za-z]{2,}-[A-Za-z]{2,}", text))
    return found


def is_heading(line: str) -> bool:
    """A short line that reads like a heading (numbered or Title Case, no final punctuation)."""
    s = line.strip()
    if not s or len(s) > 90 or s.endswith((".", ",", ";", ":")):
        return False
    if re.match(r"^(?:[IVX]+|[A-Z])\.\s*[A-Z][A-Za-z]", s):
        return len(s.split()) <= 12
    if not s[0].isupper() or re.search(r"[,;|#()\[\]=<>@/]|\d$|\bet al\b", s):
        return False
    words = _WORD_RE.findall(s)
    if not words or len(words) > 12:
        return False
    small = {"and", "or", "of", "the", "for", "in", "on", "to", "with", "a", "an", "by", "vs"}
    capitalised = sum(1 for w in words if w[0].isupper() or w.lower() in small)
    return capitalised == len(words)


def join_lines(text: str) -> list[str]:
    """Join broken lines into paragraphs; headings and list items stay on their own."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    widths = sorted(len(ln) for ln in lines if ln.strip())
    typical = widths[int(len(widths) * 0.75)] if widths else 80
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            paragraphs.append(" ".join(" ".join(current).split()))
            current.clear()

    for line in lines:
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        starts_item = bool(re.match(r"^(?:[•\-*▪●]|\d{1,3}[.)]|[a-z][.)])\s", stripped))
        lettered = bool(_LETTERED_HEADING_RE.match(stripped))
        if is_heading(stripped) and (not current or lettered or _ends_sentence(current[-1])):
            flush()
            paragraphs.append(stripped)
            continue
        if starts_item and current and _ends_sentence(current[-1]):
            flush()
        current.append(stripped)
        if _ends_sentence(stripped) and len(line) < 0.8 * typical:
            flush()
    flush()
    return [p for p in paragraphs if p]


def _ends_sentence(line: str) -> bool:
    line = line.rstrip()
    return (
        line.endswith(_SENTENCE_END)
        or bool(_GRADE_LINE_END_RE.search(line))
        or bool(_CITED_END_RE.search(line))
    )


def normalize_spaces(text: str) -> str:
    """Collapse runs of spaces and tabs, keep line breaks, drop control characters."""
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", text)
    text = text.replace("\u00ad", "").replace("\ufb01", "fi").replace("\ufb02", "fl")
    return re.sub(r"[ \t\u00a0]+", " ", text)
