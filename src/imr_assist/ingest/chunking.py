"""Structure-aware chunking: blocks -> passages that fit the encoder. Pure functions.

Passages never cross a section, recommendation or determination item; they are cut between
sentences; a table stays whole with its title (cut between rows only when it alone exceeds the
size, the title repeated). A single sentence longer than the size is the one case cut inside a
sentence, at a word boundary, so that no text is lost and no passage exceeds the size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from imr_assist.citations import make_citation_id
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
                    section=first.section,
                    recommendation=first.recommendation,
                    recommendation_grade=rec.grade if rec else None,
                    ordinal=len(passages),
                    heading=_heading(doc, first, rec.text if rec else None),
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
