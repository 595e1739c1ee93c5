"""Find the item headers of a letter and the decisions it lists (see the package docstring)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from imr_assist.ingest.determination.letter_text import LetterText
from imr_assist.ingest.determination.patterns import (
    BARE_TOKEN,
    LABELS,
    NUMBER,
    RANK,
    REGARDING,
    SENTENCE_END,
    STATEMENT,
    TERMINATOR,
    TOKEN,
)
from imr_assist.models import Decision, ParseWarning

logger = logging.getLogger(__name__)

_I = re.IGNORECASE


@dataclass
class Head:
    """An item header: the item's name, its decision if the header gives one, where it is."""

    item: str
    decision: Decision | None
    start: int  # where the header starts (its number included)
    end: int  # where the item's body starts
    number: int | None = None
    kind: str = "header"  # token | statement | header | orphan
    matched: bool = False  # a listed decision an item header has claimed


@dataclass
class Reading:
    """The letter being read and what could not be read in it."""

    letter: LetterText
    source: str
    warnings: list[ParseWarning] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.letter.text

    def warn(self, offset: int, problem: str) -> None:
        while offset < len(self.text) - 1 and self.text[offset].isspace():
            offset += 1
        excerpt = self.text[offset : offset + 90]
        if len(excerpt) == 90:
            excerpt = excerpt[: excerpt.rfind(" ")].rstrip(" ,;:") + " ..."
        warning = ParseWarning(line=self.letter.line_at(offset), text=excerpt, problem=problem)
        self.warnings.append(warning)
        logger.warning("%s line %d: %s", self.source, warning.line, problem)


def next_head(heads: list[Head], index: int) -> Head | None:
    return heads[index + 1] if index + 1 < len(heads) else None


def find_labels(stream: str, region: int) -> list[tuple[int, int, str]]:
    """Every guideline/rationale label after ``region``: (start, end, name), in order."""
    return sorted(
        (match.start(), match.end(), name)
        for name, label in LABELS
        for match in label.finditer(stream, region)
    )


def item_heads(
    reading: Reading, region: int, labels: list[tuple[int, int, str]]
) -> tuple[list[Head], list[Head]]:
    """The item headers that own guideline/rationale blocks, and the listed decisions.

    Token headers are always items. A decision statement or numbered header is an item when
    label blocks follow it before the next header; otherwise a statement is a list entry (a
    numbered header without blocks, e.g. a list of documents reviewed, is not an item). Label
    groups no header owns become "orphan" items named by the text just before them.
    """
    stream = reading.text
    found = _token_heads(reading, region)
    for head in _statement_heads(reading, region):
        if not _overlaps(head, found):
            found.append(head)
    for head in _numbered_headers(reading, region, labels):
        if not _overlaps(head, found):
            found.append(head)
    found.sort(key=lambda head: head.start)
    items: list[Head] = []
    listed: list[Head] = []
    for index, head in enumerate(found):
        stop = body_end(
            stream, head.end, found[index + 1].start if index + 1 < len(found) else None
        )
        owns_blocks = any(head.end <= start < stop for start, _, _ in labels)
        if head.kind == "token" or owns_blocks:
            items.append(head)
        elif head.kind == "statement":
            listed.append(head)
    items = _with_orphans(reading, region, items, listed, labels)
    bodies = [
        (head.end, body_end(stream, head.end, nxt.start if (nxt := next_head(items, i)) else None))
        for i, head in enumerate(items)
    ]
    # a statement inside an item's body is a sentence of its rationale, not a list entry
    listed = [head for head in listed if not any(a <= head.start < b for a, b in bodies)]
    return items, listed


def _overlaps(head: Head, heads: list[Head]) -> bool:
    return any(
        other.start <= head.start < other.end or head.start <= other.start < head.end
        for other in heads
    )


def body_end(stream: str, start: int, stop: int | None) -> int:
    stop = len(stream) if stop is None else stop
    terminator = TERMINATOR.search(stream, start, stop)
    return terminator.start() if terminator else stop


def _item_name(reading: Reading, start: int, end: int) -> tuple[str, int | None]:
    """The item name written in ``[start, end)``, without its number, and the number."""
    while start < end and reading.text[start].isspace():
        start += 1
    text = reading.text[start:end]
    number = None
    if (numbered := NUMBER.match(text)) and _numbered_at(reading, start):
        number, text = int(numbered["num"]), text[numbered.end() :]
    text = REGARDING.sub("", text.strip()).strip(" .,:;")
    return text, number


def _numbered_at(reading: Reading, offset: int) -> bool:
    """True when an item number at ``offset`` starts a line or follows a sentence or colon, and
    does not continue a list of numbers ("Page(s): 43,\n78.")."""
    before = reading.text[:offset].rstrip()
    if before.endswith((",", "-", "&")):
        return False
    return reading.letter.starts_line(offset) or before.endswith((".", ":", ";"))


def _header_start(reading: Reading, floor: int, end: int) -> int:
    """Where an item header ending at ``end`` starts: after the sentence before it, or at the
    numbered line it sits on."""
    window = reading.text[floor:end]
    ends = list(SENTENCE_END.finditer(window))
    start = floor + (ends[-1].end() if ends else 0)
    for offset in range(end - 1, start, -1):
        if reading.letter.starts_line(offset) and NUMBER.match(reading.text, offset):
            return offset
    return start


def _token_heads(reading: Reading, region: int) -> list[Head]:
    """ "<item>: Upheld" headers, and "<item>" lines followed by a line that is only "Upheld"."""
    stream = reading.text
    tokens = [(m.start(), m.end(), m["dec"]) for m in TOKEN.finditer(stream, region)]
    starts = [s for s in reading.letter.line_starts() if s >= region]
    for index, start in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else len(stream)
        bare = BARE_TOKEN.fullmatch(stream, start, stop)
        if not bare or stream[:start].rstrip().endswith(":") or index == 0:
            continue
        numbered_before = bool(NUMBER.match(stream, starts[index - 1]))
        label_after = any(label.match(stream, stop) for _, label in LABELS)
        if numbered_before or label_after:
            tokens.append((start, bare.end(), bare["dec"]))
    heads: list[Head] = []
    floor = region
    for start, end, word in sorted(tokens):
        item_start = _header_start(reading, floor, start)
        item, number = _item_name(reading, item_start, start)
        floor = end
        if not item or len(item) > 300 or re.search(r"final\s*determination", item, _I):
            continue
        decision = (
            Decision.UPHELD if re.sub(r"\s", "", word).lower() == "upheld" else Decision.OVERTURNED
        )
        heads.append(Head(item, decision, item_start, end, number, "token"))
    return heads


def _statement_heads(reading: Reading, region: int) -> list[Head]:
    """ "1. <item> is not medically necessary ..." and "MAXIMUS ... has determined ..." sentences.

    A numbered statement must start a line or follow a sentence; one that does not name MAXIMUS
    counts only after the issues heading (before it, it may quote the UR decision).
    """
    stream = reading.text
    heads: list[Head] = []
    position = 0
    while match := STATEMENT.search(stream, position):
        position = match.start() + 1
        maximus = match["maximus"] or match["maximus_only"]
        if match["num"] and not (
            _numbered_at(reading, match.start()) and (maximus or match.start() >= region)
        ):
            continue
        item = match["item"].strip(" .,:")
        if any(label.search(item) for _, label in LABELS):
            continue  # the sentence runs across a label: not a header
        decision = Decision.UPHELD if match["neg"] else Decision.OVERTURNED
        number = int(match["num"]) if match["num"] else None
        heads.append(Head(item, decision, match.start(), match.end(), number, "statement"))
        position = match.end()
    return heads


def _numbered_headers(
    reading: Reading, region: int, labels: list[tuple[int, int, str]]
) -> list[Head]:
    """Numbered lines without a decision: "1) Regarding the request for <item>:"."""
    stream = reading.text
    heads: list[Head] = []
    for start in reading.letter.line_starts():
        numbered = NUMBER.match(stream, start)
        if start < region or not numbered or not _numbered_at(reading, start):
            continue
        end = _header_end(reading, numbered.end(), labels)
        if end is None:
            continue
        item, number = _item_name(reading, start, end[0])
        if item:
            heads.append(Head(item, None, start, end[1], number, "header"))
    return heads


def _header_end(
    reading: Reading, start: int, labels: list[tuple[int, int, str]]
) -> tuple[int, int] | None:
    """Where a header starting at ``start`` ends: (end of its name, start of its body).

    The name ends at a colon that ends its line, at the end of its sentence, or at the next
    label, whichever comes first within 300 characters.
    """
    stream = reading.text
    limit = min(start + 300, len(stream))
    ends: list[tuple[int, int]] = [(s, s) for s, _, _ in labels if start <= s < limit][:1]
    for colon in re.finditer(r":", stream[start:limit]):
        at = start + colon.start()
        if at + 1 >= len(stream) or reading.letter.starts_line(at + 2):
            ends.append((at, at + 1))
            break
    if sentence := SENTENCE_END.search(stream, start, limit):
        ends.append((sentence.start(), sentence.end()))
    return min(ends) if ends else None


def _rank_groups(labels: list[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    """Split labels into one group per item: a label that does not come after the previous one
    in the letter's order (claims, reviewer, rationale) starts a new item."""
    groups: list[list[tuple[int, int, str]]] = []
    for label in labels:
        if not groups or RANK[label[2]] <= RANK[groups[-1][-1][2]]:
            groups.append([label])
        else:
            groups[-1].append(label)
    return groups


def _with_orphans(
    reading: Reading,
    region: int,
    items: list[Head],
    listed: list[Head],
    labels: list[tuple[int, int, str]],
) -> list[Head]:
    """Add an "orphan" header for every label group no item header owns.

    Its name is the text after the last sentence before the group (the item line that lost its
    decision); it may be empty.
    """
    stream = reading.text
    orphans: list[Head] = []
    bounds = [(region, items[0].start if items else len(stream))]
    bounds += [
        (head.end, body_end(stream, head.end, nxt.start if (nxt := next_head(items, i)) else None))
        for i, head in enumerate(items)
    ]
    for index, (start, stop) in enumerate(bounds):
        groups = _rank_groups([label for label in labels if start <= label[0] < stop])
        owned = 1 if index else 0  # the first group after a header is that header's
        floor = start
        if not index:
            floor = max([start, *(head.end for head in listed if head.end <= stop)])
        for number, group in enumerate(groups):
            if number >= owned:
                begin = group[0][0]
                previous = groups[number - 1][-1][1] if number else floor
                head_start = _header_start(reading, max(previous, floor), begin)
                item, num = _item_name(reading, head_start, begin)
                orphans.append(Head(item, None, head_start, begin, num, "orphan"))
    return sorted([*items, *orphans], key=lambda head: head.start)
