"""Structure-aware chunking: blocks -> passages that fit the encoder. Pure functions.

Passages never cross a section, recommendation or determination item; they are cut between
sentences; a table stays whole with its title (cut between rows only when it alone exceeds the
size, the title repeated). A single sentence longer than the size is the one case cut inside a
sentence, at a word boundary, so that no text is lost and no passage exceeds the size.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from imr_assist.citations import make_citation_id
from imr_assist.ingest.injection import is_directive
from imr_assist.models import Block, Passage, SourceDocument
from imr_assist.text.sentences import split_sentences


def _hard_split(text: str, size: int) -> list[str]:
    """Cut an over-long unit at word boundaries into pieces of at most `size` characters."""
    pieces: list[str] = []
    current = ""
    for word in text.split(" "):
        while len(word) > size:  # a 'word' longer than the size (URLs, junk): cut it
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:size])
            word = word[size:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= size:
            current = candidate
        else:
            pieces.append(current)
            current = word
    if current:
        pieces.append(current)
    return pieces


def chunk(text: str, size: int, overlap: int) -> list[str]:
    """Cut one paragraph-level text into chunks of whole sentences, each <= size characters.

    The last sentences of a chunk, up to `overlap` characters, are repeated at the start of the
    next one. Every sentence of the input appears in at least one chunk, in order.
    """
    units: list[str] = []
    for sentence in split_sentences(text):
        units.extend(_hard_split(sentence, size) if len(sentence) > size else [sentence])
    return [" ".join(units[i] for i in r) for r in _pack([len(u) for u in units], size, overlap)]


def _pack(lengths: Sequence[int], size: int, overlap: int, sep: int = 1) -> Iterator[range]:
    """Pack units (given by length) into index ranges of total length <= size.

    A new range starts with the trailing units of the previous one that fit in `overlap`.
    """
    start = 0
    n = len(lengths)
    while start < n:
        end, total = start, 0
        while end < n and (end == start or total + sep + lengths[end] <= size):
            total += lengths[end] + (sep if end > start else 0)
            end += 1
        yield range(start, end)
        if end >= n:
            return
        carried, next_start = 0, end
        while next_start - 1 > start:
            extra = lengths[next_start - 1] + sep
            if carried + extra > overlap or carried + extra + lengths[end] > size:
                break
            carried += extra
            next_start -= 1
        start = next_start


@dataclass
class _Unit:
    text: str
    block: Block
    is_table_row: bool = False


def _group_key(block: Block) -> tuple[object, ...]:
    return (block.section, block.recommendation, block.decision)


_PAGED_TEXT_SUFFIXES = (".txt", ".text", ".md", ".markdown")


def _page_number(doc: SourceDocument, block: Block) -> int | None:
    """1-based index of the block's page in the file, for a file made of pages: a PDF, or a text
    file split by form feeds. None otherwise (one-page text, JSON sections, tables), whatever the
    printed label says (a digest's labels are the pages it cites, not its own)."""
    path = doc.source_path.lower()
    if path.endswith(".pdf") or (path.endswith(_PAGED_TEXT_SUFFIXES) and len(doc.pages) > 1):
        return block.page_index + 1
    return None


def chunk_document(doc: SourceDocument, size: int, overlap: int) -> list[Passage]:
    """Passages of a document with their locators and content-derived citation ids."""
    passages: list[Passage] = []
    seen_ids: set[str] = set()
    groups: list[list[Block]] = []
    for block in doc.blocks:
        previous = groups[-1][-1] if groups else None
        if (
            previous is not None
            and _group_key(previous) == _group_key(block)
            and not block.is_table
            and not previous.is_table
        ):
            groups[-1].append(block)
        else:
            groups.append([block])
    recs = {r.number: r for r in doc.recommendations}
    for group in groups:
        for units in _group_chunks(group, size, overlap):
            first, last = units[0].block, units[-1].block
            text = _join_units(units)
            # The id names this version of the document: were it shared with the previous
            # version, storing the new one would relabel the published one's passages before
            # the switch (and leave it incomplete after a crash mid-store).
            version = doc.content_hash
            pid = make_citation_id(doc.doc_id, first.page_label, text, salt=version)
            if pid in seen_ids:
                salt = f"{version}:{len(passages)}"
                pid = make_citation_id(doc.doc_id, first.page_label, text, salt=salt)
            seen_ids.add(pid)
            rec = recs.get(first.recommendation or "")
            passages.append(
                Passage(
                    id=pid,
                    doc_id=doc.doc_id,
                    content_hash=doc.content_hash,
                    source_path=doc.source_path,
                    source_title=doc.meta.title,
                    kind=doc.meta.kind,
                    tier=doc.meta.tier,
                    guideline=doc.meta.guideline,
                    edition=doc.meta.edition,
                    chapter=doc.meta.chapter,
                    body_region=doc.meta.body_region,
                    decision=first.decision or doc.meta.decision,
                    page_start=first.page_label,
                    page_end=last.page_end_label,
                    page_number=_page_number(doc, first),
                    section=first.section,
                    recommendation=first.recommendation,
                    recommendation_grade=rec.grade if rec else None,
                    ordinal=len(passages),
                    heading=_heading(doc, first, rec.text if rec else None),
                    directives=sum(is_directive(u.text) for u in units),
                    text=text,
                )
            )
    return passages


def _group_chunks(group: list[Block], size: int, overlap: int) -> Iterator[list[_Unit]]:
    if len(group) == 1 and group[0].is_table:
        yield from _table_chunks(group[0], size)
        return
    units: list[_Unit] = []
    for block in group:
        for sentence in split_sentences(block.text):
            pieces = _hard_split(sentence, size) if len(sentence) > size else [sentence]
            units.extend(_Unit(p, block) for p in pieces)
    for r in _pack([len(u.text) for u in units], size, overlap):
        yield [units[i] for i in r]


def _table_chunks(block: Block, size: int) -> Iterator[list[_Unit]]:
    lines = [ln for ln in block.text.split("\n") if ln.strip()]
    if len(block.text) <= size:
        yield [_Unit(ln, block, True) for ln in lines]
        return
    title = lines[0][: size // 3]
    rest = lines[0][len(title) :].strip()
    rows: list[str] = []
    budget = size - len(title) - 1
    body = ([rest] if rest else []) + (lines[1:] if len(lines) > 1 else ([] if rest else lines))
    for line in body:
        rows.extend(_hard_split(line, budget) if len(line) > budget else [line])
    for r in _pack([len(row) for row in rows], budget, 0):
        yield [_Unit(title, block, True)] + [_Unit(rows[i], block, True) for i in r]


def _join_units(units: list[_Unit]) -> str:
    if units and units[0].is_table_row:
        return "\n".join(u.text for u in units)
    return " ".join(u.text for u in units)


def _heading(doc: SourceDocument, block: Block, rec_text: str | None) -> str:
    name = doc.meta.guideline or doc.meta.title
    parts = [name]
    if block.section:
        parts.append(block.section)
    if block.recommendation:
        statement = f": {rec_text[:200]}" if rec_text else ""
        parts.append(f"Recommendation {block.recommendation}{statement}")
    return " — ".join(parts)


def embedding_text(passage: Passage) -> str:
    """What is embedded for a passage: its context line, then its text."""
    return f"{passage.heading}\n{passage.text}" if passage.heading else passage.text


# --------------------------------------------------------------------------- degenerate passages

_TOKEN_RE = re.compile(r"\w+")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_MAX_PERIOD = 20
MAX_REPEATED_SHARE = 0.5
"""A document with more than this share of repeated or word-less passages is refused."""


def passage_key(text: str) -> str:
    """Near-identical texts share a key: the set of their words, case-folded, each with runs of
    a repeated piece collapsed ('aaaa' -> 'a', 'TENS TENS TENS' -> {'tens'}). Word order and
    repetition do not count: they barely move an embedding either."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = sorted({_collapse(w) for w in _TOKEN_RE.findall(folded)})
    return hashlib.sha1(" ".join(words).encode(), usedforsecurity=False).hexdigest()


def _collapse(word: str) -> str:
    """A word made of one piece (up to 20 characters) repeated -> that piece."""
    n = len(word)
    for period in range(1, min(_MAX_PERIOD, n // 2) + 1):
        piece = word[:period]
        if word == (piece * (n // period + 1))[:n]:
            return piece
    return word


def has_words(text: str) -> bool:
    """A run of letters with at least two different letters ('aaaa' and '1234' are none)."""
    return any(len(set(run)) > 1 for run in _LETTERS_RE.findall(text.casefold()))


@dataclass
class Screened:
    """Passages of one document with the degenerate ones left out (`screen_passages`)."""

    kept: list[Passage]
    repeated: int = 0
    """Passages left out: near-identical to an earlier passage of the document."""
    wordless: int = 0
    """Passages left out: no words (one repeated letter, digits, symbols)."""
    total: int = 0

    @property
    def dropped(self) -> int:
        return self.repeated + self.wordless

    @property
    def refused(self) -> bool:
        """Nothing left, or mostly filler: the document is refused rather than stored."""
        return not self.kept or self.dropped > MAX_REPEATED_SHARE * self.total

    def problem(self) -> str:
        """Why the document is refused or shortened: '2,500 of its 2,500 passages have no
        words', for the ingest report."""
        parts = []
        if self.repeated:
            parts.append(f"{self.repeated:,} repeat an earlier one")
        if self.wordless:
            parts.append(f"{self.wordless:,} have no words")
        return f"{self.dropped:,} of its {self.total:,} passages: {' and '.join(parts)}"


def screen_passages(passages: Sequence[Passage]) -> Screened:
    """Leave out passages that repeat an earlier one of the same document (same `passage_key`
    of their embedded text) or have no words. Thousands of identical vectors (a file of one
    repeated letter) break the dense index's graph for every document, not only their own."""
    kept: list[Passage] = []
    seen: set[str] = set()
    repeated = wordless = 0
    for p in passages:
        if not has_words(p.text):
            wordless += 1
            continue
        key = passage_key(embedding_text(p))
        if key in seen:
            repeated += 1
            continue
        seen.add(key)
        kept.append(p)
    return Screened(kept=kept, repeated=repeated, wordless=wordless, total=len(passages))
