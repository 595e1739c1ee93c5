"""Parse IMR determination letters into :class:`~imr_assist.models.Determination`.

A letter names each disputed item in an *item header* and gives it a decision; after the header
come the guideline blocks ("Claims Administrator guideline:", "Medical Treatment Guideline(s)
Relied Upon by the Expert Reviewer:", ...) and the rationale block ("Decision rationale:",
"Rationale for the Decision:"). Letters differ in how the header and its decision are written;
the parser reads them by that structure, not by one letter's phrasing:

- a decision token after the item, in any case: "<item>:  Upheld", "<item>: OVERTURNED", or
  "upheld" alone on the line after an item line ("imr_final", the current MAXIMUS letter);
- a decision statement: "1. <item> is not medically necessary and appropriate." or "MAXIMUS
  Federal Services, Inc. has determined the request for <item> is medically necessary ..."
  ("maximus_older", the 2013 letters);
- a numbered header without a decision ("1) Regarding the request for <item>:"), whose decision
  is the one the letter lists for that item elsewhere (2013 notices list every decision before
  the case summary), matched by item number or by name.

Items are numbered "1." or "1)" and may span lines; decision words may run into their
neighbours ("notmedically"). A decision statement without blocks of its own is a list entry: it
decides the item whose blocks carry the same number or name and is checked against that item's
own decision. A rationale's conclusion ("... is not medically necessary") is checked against the
decision but never replaces it.

The parser never guesses silently: an item without a decision, a block without an item,
decisions that disagree, and an item without guideline or rationale text are reported in
``Determination.warnings`` with their line; an item without a decision is left out, not invented.

Text extracted from PDFs is normalised first (:func:`~imr_assist.ingest.letter_text.read_letter`):
page headers, footers and page numbers are dropped (also mid-sentence), hyphenated words
re-joined and all whitespace collapsed, so line breaks and blank lines never matter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from imr_assist.errors import DeterminationParseError
from imr_assist.ingest.letter_text import LetterText, read_letter
from imr_assist.models import (
    CaseSummary,
    Decision,
    Determination,
    DeterminationItem,
    GuidelineCitation,
    ParseWarning,
)

__all__ = ["looks_like_determination", "parse_determination", "parse_guideline_citations"]

logger = logging.getLogger(__name__)

_I = re.IGNORECASE


def _flex(phrase: str) -> str:
    """Regex for a phrase whose words may be run together or split by any whitespace."""
    return r"\s*".join(re.escape(word) for word in phrase.split())


# --------------------------------------------------------------------------- letter structure

_ISSUES_HEADING = re.compile(_flex("IMR ISSUES, DECISIONS AND RATIONALES"), _I)
_SET_FORTH = re.compile(_flex("items/services set forth below:"), _I)
_SUMMARY_HEADING = re.compile(_flex("CLINICAL CASE SUMMARY") + r"\s*:?|(?i:case\s*summary)\s*:")
_SUMMARY_BOILERPLATE = re.compile(
    r"^The\s+(?:expert|physician)\s+reviewer\s+developed\s+the\s+following.{0,120}?records\s*:\s*",
    _I,
)
# a section heading alone on its line: "Documents Reviewed for Determination:"
_SMALL_WORD = r"(?:of|the|for|and|to|in|by|a|an|on)"
_HEADING_LINE = re.compile(
    rf"(?:[A-Z][\w/&'()-]*|{_SMALL_WORD})(?:\s+(?:[A-Z][\w/&'()-]*|{_SMALL_WORD})){{2,7}}\s*:"
)
_TERMINATOR = re.compile(
    r"\bcc\s*:|\bSincerely\b|" + _flex("Effect of the Decision") + r"|(?<=\s)/[a-z]{2,4}(?=\s|$)",
    _I,
)
_LABELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "claims",
        re.compile(
            r"(?:"
            + _flex("Claims Administrator")
            + r"\s*guidelines?|"
            + r"(?:Medical\s*Treatment\s*)?Guidelines?\s*(?:\(s\))?\s*"
            + r"(?:Relied\s*Upon|Used)\s*by\s*the\s*Claims\s*Administrator)\s*:",
            _I,
        ),
    ),
    (
        "reviewer",
        re.compile(
            r"(?:MAXIMUS\s*guidelines?|(?:Medical\s*Treatment\s*)?Guidelines?\s*(?:\(s\))?\s*(?:Relied\s*Upon|Used)\s*by\s*"
            r"the\s*(?:Expert|Physician|IMR)?\s*Reviewer)\s*:",
            _I,
        ),
    ),
    ("rationale", re.compile(r"(?:Decision\s*rationale|Rationale\s*for\s*the\s*Decision)\s*:", _I)),
)
_RANK = {name: rank for rank, (name, _) in enumerate(_LABELS)}
_LABEL_NAMES = {
    "claims": "claims administrator guideline",
    "reviewer": "reviewer guideline",
    "rationale": "rationale",
}

_DECISION_WORD = r"(?P<dec>Up\s*held|Over\s*turned)(?-i:(?![a-z]))"
# "<item>:  Upheld"; "Up held" and "kit:Overturned" survive; "Final Determination: UPHOLD" does not
_TOKEN = re.compile(r":\s*" + _DECISION_WORD, _I)
# "Upheld" alone on its line, right after an item line
_BARE_TOKEN = re.compile(r"\s*" + _DECISION_WORD + r"\s*", _I)
# the end of the sentence before an item name: "...not medically necessary. <item>: Upheld"
_SENTENCE_END = re.compile(r"(?:(?:(?<=[a-z]{3})|(?<=\d)|(?<=[)\]]))\.[\"'\u201d]?|(?<=below):)\s+")
# an item number: "1. " or "1)" (a decimal such as "1.5" is not one)
_NUMBER = re.compile(r"(?P<num>\d{1,2})(?:\.\s+|\)\s*)")
_MAXIMUS_DETERMINED = (
    r"MAXIMUS\s*Federal\s*Services,?\s*Inc\.?,?\s*has\s*determined\s*(?:that\s+)?"
    r"(?:the\s*request(?:ed)?\s*for\s*|the\s*requested\s+)?"
)
# "is not medically necessary" is decided on the whole phrase, never on "medically necessary";
# PDF extraction runs its words together ("is notmedically necessary andappropriate")
_NECESSITY = r"\s+(?:is|are)\s*(?P<neg>not\s*|no\s*longer\s*)?medically\s*necessary"
_STATEMENT = re.compile(
    r"(?:(?P<num>\d{1,2})(?:\.\s+|\)\s*)(?P<maximus>"
    + _MAXIMUS_DETERMINED
    + r")?|(?P<maximus_only>"
    + _MAXIMUS_DETERMINED
    + r"))(?P<item>(?:[^.]|\.(?!\s)){1,300}?)"
    + _NECESSITY
    + r"(?:\s*(?:and|or)\s*appropriate)?\.?",
    _I,
)
_CONCLUSION = re.compile(_NECESSITY, _I)
_REGARDING = re.compile(
    r"^(?:regarding\s*:?\s*)?(?:the\s*)?(?:request(?:s|ed)?\s*for\s+)?(?=\S)", _I
)

_MARKERS = tuple(
    re.compile(pattern, _I)
    for pattern in (
        _flex("IMR ISSUES, DECISIONS"),
        _flex("HOW THE IMR FINAL DETERMINATION"),
        _flex("Independent Medical Review"),
        _flex("MAXIMUS Federal Services"),
        _flex("CLINICAL CASE SUMMARY") + r"|\bCase\s*Summary\s*:",
        _flex("disputed items/services"),
        r"has\s*determined\s*(?:that\s+)?the\s*request.{0,300}?medically\s*necessary\s*and\s*"
        r"appropriate",
        _TOKEN.pattern,
        *(label.pattern for _, label in _LABELS),
    )
)


@dataclass
class _Head:
    """An item header: the item's name, its decision if the header gives one, where it is."""

    item: str
    decision: Decision | None
    start: int  # where the header starts (its number included)
    end: int  # where the item's body starts
    number: int | None = None
    kind: str = "header"  # token | statement | header | orphan


@dataclass
class _Reading:
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


def _is_structural(line: str) -> bool:
    """Lines that are letter structure, never a running page header however often they repeat."""
    return bool(
        _NUMBER.match(line)
        or _BARE_TOKEN.fullmatch(line)
        or _TOKEN.search(line)
        or _CONCLUSION.search(line)
        or _ISSUES_HEADING.search(line)
        or _SUMMARY_HEADING.search(line)
        or any(label.search(line) for _, label in _LABELS)
    )


def _read(text: str) -> LetterText:
    return read_letter(text, keep=_is_structural)


def _normalise(text: str) -> str:
    """One stream of single-spaced text with PDF page furniture removed."""
    return _read(text).text


def looks_like_determination(text: str) -> bool:
    """Return True when ``text`` reads as an IMR determination letter rather than a guideline.

    At least two independent letter markers must be present (section headings, "MAXIMUS",
    "<item>: Upheld", "Decision rationale:", guideline-relied-upon labels, ...), matched after
    PDF clean-up and with words allowed to run together. Guideline text that merely says
    "recommended" or "medically necessary" never qualifies.
    """
    stream = _normalise(text[:200_000])
    return sum(1 for marker in _MARKERS if marker.search(stream)) >= 2


def parse_determination(text: str, *, source: str = "<text>") -> Determination:
    """Parse an IMR determination letter (current or older MAXIMUS format, clean or PDF-damaged).

    ``source`` names the text in error messages (usually the file path). What the parser could
    not read is listed in ``warnings`` with its line in ``text``. Raises
    :class:`~imr_assist.errors.DeterminationParseError` when no disputed item with a decision
    can be found. Case-summary facts the letter does not state stay ``None`` or empty.
    """
    reading = _Reading(_read(text), source)
    stream = reading.text
    issues = _ISSUES_HEADING.search(stream)
    region = issues.end() if issues else 0
    set_forth = _SET_FORTH.search(stream, region)
    if set_forth:
        region = set_forth.end()
    labels = _labels(stream, region)
    heads, listed = _item_heads(reading, region, labels)
    items = [
        item
        for index, head in enumerate(heads)
        if (item := _item(reading, head, _next(heads, index), labels, listed)) is not None
    ]
    items += _unmatched_listed(reading, listed, heads)
    if not items:
        _raise_no_items(reading)
    fmt = "imr_final" if any(head.kind == "token" for head in heads) else "maximus_older"
    summary_end = issues.start() if issues else _summary_end(reading, heads, listed)
    reading.warnings.sort(key=lambda warning: warning.line)
    return Determination(
        case_summary=_case_summary(stream, summary_end),
        reviewer_specialty=_specialty(stream),
        items=items,
        format=fmt,
        warnings=reading.warnings,
    )


def _next(heads: list[_Head], index: int) -> _Head | None:
    return heads[index + 1] if index + 1 < len(heads) else None


def _raise_no_items(reading: _Reading) -> None:
    if not looks_like_determination(reading.text):
        raise DeterminationParseError(
            reading.source,
            "the text does not look like an IMR determination letter: no item line such as "
            "'<item>: Upheld' or '1. <item> is not medically necessary and appropriate.' "
            "and fewer than two letter headings were found.",
            "If this is a guideline, ingest it as a guideline; if it is a letter, check that the "
            "text extraction kept the 'IMR ISSUES, DECISIONS AND RATIONALES' section.",
        )
    unread = "".join(f" Line {w.line}: {w.problem}" for w in reading.warnings[:5])
    raise DeterminationParseError(
        reading.source,
        "no disputed item with a decision was found: expected '<item>: Upheld' or "
        "'<item>: Overturned' under 'IMR ISSUES, DECISIONS AND RATIONALES', or "
        "'<n>. <item> is (not) medically necessary and appropriate.' in an older letter."
        + unread,
        "Check that the decision lines survived text extraction (try another PDF-to-text tool "
        "or OCR) or add the missing 'Upheld'/'Overturned' after each item.",
    )


# --------------------------------------------------------------------------- item headers


def _labels(stream: str, region: int) -> list[tuple[int, int, str]]:
    """Every guideline/rationale label after ``region``: (start, end, name), in order."""
    return sorted(
        (match.start(), match.end(), name)
        for name, label in _LABELS
        for match in label.finditer(stream, region)
    )


def _item_heads(
    reading: _Reading, region: int, labels: list[tuple[int, int, str]]
) -> tuple[list[_Head], list[_Head]]:
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
    items: list[_Head] = []
    listed: list[_Head] = []
    for index, head in enumerate(found):
        stop = _body_end(stream, head.end, found[index + 1].start if index + 1 < len(found) else None)
        owns_blocks = any(head.end <= start < stop for start, _, _ in labels)
        if head.kind == "token" or owns_blocks:
            items.append(head)
        elif head.kind == "statement":
            listed.append(head)
    items = _with_orphans(reading, region, items, listed, labels)
    bodies = [
        (head.end, _body_end(stream, head.end, nxt.start if (nxt := _next(items, i)) else None))
        for i, head in enumerate(items)
    ]
    # a statement inside an item's body is a sentence of its rationale, not a list entry
    listed = [head for head in listed if not any(a <= head.start < b for a, b in bodies)]
    return items, listed


def _overlaps(head: _Head, heads: list[_Head]) -> bool:
    return any(other.start <= head.start < other.end or head.start <= other.start < head.end for other in heads)


def _body_end(stream: str, start: int, stop: int | None) -> int:
    stop = len(stream) if stop is None else stop
    terminator = _TERMINATOR.search(stream, start, stop)
    return terminator.start() if terminator else stop


def _item_name(reading: _Reading, start: int, end: int) -> tuple[str, int | None]:
    """The item name written in ``[start, end)``, without its number, and the number."""
    while start < end and reading.text[start].isspace():
        start += 1
    text = reading.text[start:end]
    number = None
    if (numbered := _NUMBER.match(text)) and _numbered_at(reading, start):
        number, text = int(numbered["num"]), text[numbered.end() :]
    text = _REGARDING.sub("", text.strip()).strip(" .,:;")
    return text, number


def _numbered_at(reading: _Reading, offset: int) -> bool:
    """True when an item number at ``offset`` starts a line or follows a sentence or colon, and
    does not continue a list of numbers ("Page(s): 43,\n78.")."""
    before = reading.text[:offset].rstrip()
    if before.endswith((",", "-", "&")):
        return False
    return reading.letter.starts_line(offset) or before.endswith((".", ":", ";"))


def _header_start(reading: _Reading, floor: int, end: int) -> int:
    """Where an item header ending at ``end`` starts: after the sentence before it, or at the
    numbered line it sits on."""
    window = reading.text[floor:end]
    ends = list(_SENTENCE_END.finditer(window))
    start = floor + (ends[-1].end() if ends else 0)
    for offset in range(end - 1, start, -1):
        if reading.letter.starts_line(offset) and _NUMBER.match(reading.text, offset):
            return offset
    return start


def _token_heads(reading: _Reading, region: int) -> list[_Head]:
    """"<item>: Upheld" headers, and "<item>" lines followed by a line that is only "Upheld"."""
    stream = reading.text
    tokens = [(m.start(), m.end(), m["dec"]) for m in _TOKEN.finditer(stream, region)]
    starts = [s for s in reading.letter.line_starts() if s >= region]
    for index, start in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else len(stream)
        bare = _BARE_TOKEN.fullmatch(stream, start, stop)
        if not bare or stream[:start].rstrip().endswith(":") or index == 0:
            continue
        numbered_before = bool(_NUMBER.match(stream, starts[index - 1]))
        label_after = any(label.match(stream, stop) for _, label in _LABELS)
        if numbered_before or label_after:
            tokens.append((start, bare.end(), bare["dec"]))
    heads: list[_Head] = []
    floor = region
    for start, end, word in sorted(tokens):
        item_start = _header_start(reading, floor, start)
        item, number = _item_name(reading, item_start, start)
        floor = end
        if not item or len(item) > 300 or re.search(r"final\s*determination", item, _I):
            continue
        decision = Decision.UPHELD if re.sub(r"\s", "", word).lower() == "upheld" else Decision.OVERTURNED
        heads.append(_Head(item, decision, item_start, end, number, "token"))
    return heads


def _statement_heads(reading: _Reading, region: int) -> list[_Head]:
    """ "1. <item> is not medically necessary ..." and "MAXIMUS ... has determined ..." sentences.

    A numbered statement must start a line or follow a sentence; one that does not name MAXIMUS
    counts only after the issues heading (before it, it may quote the UR decision).
    """
    stream = reading.text
    heads: list[_Head] = []
    position = 0
    while match := _STATEMENT.search(stream, position):
        position = match.start() + 1
        maximus = match["maximus"] or match["maximus_only"]
        if match["num"] and not (_numbered_at(reading, match.start()) and (maximus or match.start() >= region)):
            continue
        item = match["item"].strip(" .,:")
        if any(label.search(item) for _, label in _LABELS):
            continue  # the sentence runs across a label: not a header
        decision = Decision.UPHELD if match["neg"] else Decision.OVERTURNED
        number = int(match["num"]) if match["num"] else None
        heads.append(_Head(item, decision, match.start(), match.end(), number, "statement"))
        position = match.end()
    return heads


def _numbered_headers(
    reading: _Reading, region: int, labels: list[tuple[int, int, str]]
) -> list[_Head]:
    """Numbered lines without a decision: "1) Regarding the request for <item>:"."""
    stream = reading.text
    heads: list[_Head] = []
    for start in reading.letter.line_starts():
        numbered = _NUMBER.match(stream, start)
        if start < region or not numbered or not _numbered_at(reading, start):
            continue
        end = _header_end(reading, numbered.end(), labels)
        if end is None:
            continue
        item, number = _item_name(reading, start, end[0])
        if item:
            heads.append(_Head(item, None, start, end[1], number, "header"))
    return heads


def _header_end(
    reading: _Reading, start: int, labels: list[tuple[int, int, str]]
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
    if sentence := _SENTENCE_END.search(stream, start, limit):
        ends.append((sentence.start(), sentence.end()))
    return min(ends) if ends else None


def _rank_groups(labels: list[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    """Split labels into one group per item: a label that does not come after the previous one
    in the letter's order (claims, reviewer, rationale) starts a new item."""
    groups: list[list[tuple[int, int, str]]] = []
    for label in labels:
        if not groups or _RANK[label[2]] <= _RANK[groups[-1][-1][2]]:
            groups.append([label])
        else:
            groups[-1].append(label)
    return groups


def _with_orphans(
    reading: _Reading,
    region: int,
    items: list[_Head],
    listed: list[_Head],
    labels: list[tuple[int, int, str]],
) -> list[_Head]:
    """Add an "orphan" header for every label group no item header owns.

    Its name is the text after the last sentence before the group (the item line that lost its
    decision); it may be empty.
    """
    stream = reading.text
    orphans: list[_Head] = []
    bounds = [(region, items[0].start if items else len(stream))]
    bounds += [
        (head.end, _body_end(stream, head.end, nxt.start if (nxt := _next(items, i)) else None))
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
                orphans.append(_Head(item, None, head_start, begin, num, "orphan"))
    return sorted([*items, *orphans], key=lambda head: head.start)


# --------------------------------------------------------------------------- items


def _key(name: str) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", name.lower()).split()
    while words and words[0] in {"a", "an", "the"}:
        words.pop(0)
    return " ".join(words)


def _same_item(entry: _Head, head: _Head) -> bool:
    """A listed decision and an item header name the same item: same number, or one name
    contains the other ("repeat MRI ... and lumbar ESI ..." names two items)."""
    if entry.number is not None and head.number is not None:
        return entry.number == head.number
    a, b = _key(entry.item), _key(head.item)
    return len(a) >= 3 and len(b) >= 3 and (f" {a} " in f" {b} " or f" {b} " in f" {a} ")


def _decision(reading: _Reading, head: _Head, listed: list[_Head]) -> Decision | None:
    """The item's decision: its own header's, else the one the letter lists for it."""
    entries = [entry for entry in listed if _same_item(entry, head)]
    for entry in entries:
        entry.kind = "matched"
    if head.decision is not None:
        for entry in entries:
            if entry.decision is not head.decision:
                reading.warn(
                    entry.start,
                    f"the letter lists '{entry.item}' as {entry.decision.value} but its item "
                    f"line (line {reading.letter.line_at(head.start)}) says "
                    f"{head.decision.value}; the item line's decision was kept.",
                )
        return head.decision
    said = {entry.decision for entry in entries if entry.decision is not None}
    if len(said) == 1:
        return said.pop()
    if said:
        lines = ", ".join(str(reading.letter.line_at(entry.start)) for entry in entries)
        reading.warn(
            head.start,
            f"the letter lists conflicting decisions for '{head.item}' (lines {lines}); "
            "the item was left out.",
        )
    elif head.item:
        reading.warn(
            head.start,
            f"no decision found for '{head.item}' (no Upheld/Overturned after it and no "
            "'is (not) medically necessary' statement naming it); the item was left out.",
        )
    return None


def _item(
    reading: _Reading,
    head: _Head,
    nxt: _Head | None,
    labels: list[tuple[int, int, str]],
    listed: list[_Head],
) -> DeterminationItem | None:
    stream = reading.text
    stop = _body_end(stream, head.end, nxt.start if nxt else None)
    marks = [label for label in labels if head.end <= label[0] < stop]
    if head.kind == "orphan" and not head.item:
        names = " and ".join(dict.fromkeys(_LABEL_NAMES[name] for _, _, name in marks))
        reading.warn(
            marks[0][0] if marks else head.start,
            f"a {names} block with no item line before it; its text was not read.",
        )
        return None
    decision = _decision(reading, head, listed)
    if decision is None:
        return None
    fields: dict[str, tuple[int, str]] = {}
    for index, (_, end, name) in enumerate(marks):
        field_stop = marks[index + 1][0] if index + 1 < len(marks) else stop
        fields.setdefault(name, (end, stream[end:field_stop].strip()))
    rationale_at, rationale = fields.get("rationale", (head.end, ""))
    claims = fields.get("claims", (0, ""))[1]
    reviewer = fields.get("reviewer", (0, ""))[1]
    if not (claims or reviewer or rationale):
        reading.warn(
            head.start,
            f"no guideline or rationale text found for '{head.item}'; only its decision was read.",
        )
    _check_conclusion(reading, head.item, decision, rationale_at, rationale)
    return DeterminationItem(
        item=head.item,
        decision=decision,
        claims_administrator_guidelines=parse_guideline_citations(claims),
        reviewer_guidelines=parse_guideline_citations(reviewer),
        rationale=rationale,
    )


def _unmatched_listed(
    reading: _Reading, listed: list[_Head], heads: list[_Head]
) -> list[DeterminationItem]:
    """Listed decisions no item header claimed: items of their own when the letter has no
    blocks at all or their number has none; otherwise reported and not used."""
    items: list[DeterminationItem] = []
    seen: set[tuple[int | None, str]] = set()
    numbers = {head.number for head in heads if head.number is not None}
    for entry in listed:
        key = (entry.number, _key(entry.item))
        if entry.kind == "matched" or key in seen or entry.decision is None:
            continue
        seen.add(key)
        if heads and (entry.number is None or entry.number in numbers):
            reading.warn(
                entry.start,
                f"the decision listed for '{entry.item}' matches no item with guideline or "
                "rationale blocks; it was not used.",
            )
            continue
        reading.warn(
            entry.start,
            f"no guideline or rationale text found for '{entry.item}'; only its listed "
            "decision was read.",
        )
        items.append(DeterminationItem(item=entry.item, decision=entry.decision))
    return items


def _check_conclusion(
    reading: _Reading, item: str, decision: Decision, at: int, rationale: str
) -> None:
    conclusions = list(_CONCLUSION.finditer(rationale))
    if not conclusions:
        return
    said = Decision.UPHELD if conclusions[-1]["neg"] else Decision.OVERTURNED
    if said is not decision:
        lead = len(reading.text[at:]) - len(reading.text[at:].lstrip())
        sentence = rationale.rfind(". ", 0, conclusions[-1].start())
        reading.warn(
            at + lead + (sentence + 2 if sentence >= 0 else 0),
            f"item '{item}': the decision says {decision.value} but the rationale concludes "
            f"{said.value}; the decision was kept.",
        )


def _summary_end(reading: _Reading, heads: list[_Head], listed: list[_Head]) -> int:
    """Without an issues heading, the case summary ends at the first item, listed decision or
    section heading line after it."""
    stream = reading.text
    heading = _SUMMARY_HEADING.search(stream)
    if heading is None:
        return heads[0].start if heads else len(stream)
    after = [head.start for head in [*heads, *listed] if head.start > heading.end()]
    after += [
        start
        for start in reading.letter.line_starts()
        if start > heading.end() and _HEADING_LINE.fullmatch(_line(reading, start))
    ]
    return min(after, default=len(stream))


def _line(reading: _Reading, start: int) -> str:
    line = reading.letter.line_at(start)
    end = start
    while end < len(reading.text) and reading.letter.line_at(end) == line:
        end += 1
    return reading.text[start:end].strip()


# --------------------------------------------------------------------------- citations

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
    for piece in _SPLIT_CITATIONS.split(_normalise(text)):
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


# --------------------------------------------------------------------------- case summary

_DATE = (
    r"(?:\d{1,2}[/-]\d{1,2}[/-]\d{2,4}|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r"[a-z]*\.?\s+\d{1,2},?\s+\d{4})"
)
_AGE_SEX = re.compile(
    r"\b(?P<age>\d{1,3})\s*(?:-?\s*(?:years?|yrs?)\s*-?\s*old|y/?o)\s+"
    r"(?P<sex>female|male|woman|man|lady|gentleman)\b",
    _I,
)
_SEXES = {"female": "female", "woman": "female", "lady": "female"}
_INJURY_DATE = tuple(
    re.compile(pattern, _I)
    for pattern in (
        rf"\bdate\s+of\s+injury\s*(?:of|on|was|is)?\s*:?\s*(?P<d>{_DATE})",
        rf"\bDOI\s*:?\s*(?P<d>{_DATE})",
        rf"\b(?:reported|sustained|suffered|incurred)\s+(?:an?\s+)?(?:[\w-]+\s+){{0,2}}?"
        rf"injur(?:y|ies)\s+(?:on|of)\s+(?P<d>{_DATE})",
        rf"\binjured\s+(?:at\s+work\s+)?on\s+(?P<d>{_DATE})",
    )
)
_PROCEDURE = (
    r"(?:fusion|laminectomy|hemilaminectomy|laminotomy|discectomy|microdiscectomy|foraminotomy|"
    r"decompression|arthroscopy|arthroplasty|replacement|meniscectomy|reconstruction|repair|"
    r"release|debridement|ORIF)"
)
_SURGERY_COUNT = re.compile(
    r"\b(?:\d+|one|two|three|four|five|multiple|several)\s+(?:prior\s+|previous\s+)?"
    r"(?:[a-z]+\s+)?surger(?:y|ies)\b",
    _I,
)
_SURGERY = re.compile(
    r"\b(?:status\s+post|s/p|underwent|had|having|being|history\s+of|following|after)\s+"
    r"(?:(?:a|an|the|prior|previous|recent)\s+)*"
    rf"(?P<s>(?:[\w/-]+\s+){{0,5}}?{_PROCEDURE}(?:\s+(?:and|with|/)\s+(?:[\w/-]+\s+){{0,2}}?"
    rf"{_PROCEDURE})?(?:\s+revision)?(?:\s+(?:at|of)\s+(?:the\s+)?[A-Z]\d[\w/-]*)?"
    rf"(?:\s+(?:on|in)\s+{_DATE})?)",
    _I,
)
_SENTENCE_TAIL = r"(?P<v>\S.{1,300}?)\.(?=\s+[A-Z0-9]|\s*$)"
_DIAGNOSES = re.compile(
    r"\b(?:(?P<label>diagnos(?:is|es))\s+(?:(?:was|were|is|are|has\s+been|have\s+been)\s+)?"
    r"(?:(?:noted|documented|listed|reported|given)\s+)?(?:to\s+(?:be|include)\s+|as\s+|"
    r"include[sd]?\s+|of\s+)?:?\s*|diagnosed\s+with\s+)" + _SENTENCE_TAIL,
    _I,
)
_REQUESTED = re.compile(
    r"(?:\brequests?\s+(?:was|were|is|has\s+been)\s+(?:made\s+|submitted\s+)?for|"
    r"\bis\s+a\s+request\s+for)\s+" + _SENTENCE_TAIL,
    _I,
)
_SPECIALTY = re.compile(
    r"(?i:board\s*certified)\s+in\s+(?P<s>[A-Z][^.;]{1,120}?)"
    r"(?=,?\s+and\s+(?:is|has)\b|\s*[.;]|,\s+(?:has|is|with|who)\b|\s+who\b)"
)


def _case_summary(stream: str, end: int) -> CaseSummary:
    heading = _SUMMARY_HEADING.search(stream, 0, end)
    text = ""
    if heading:
        text = _SUMMARY_BOILERPLATE.sub("", stream[heading.end() : end].strip()).strip()
    facts = text or stream[:end]
    age_sex = _AGE_SEX.search(facts)
    return CaseSummary(
        age=int(age_sex["age"]) if age_sex else None,
        sex=_SEXES.get(age_sex["sex"].lower(), "male") if age_sex else None,
        date_of_injury=_injury_date(facts) or _injury_date(stream[:end]),
        surgeries=_surgeries(facts),
        diagnoses=_listed(_DIAGNOSES, facts),
        requested=_listed(_REQUESTED, facts),
        text=text,
    )


def _injury_date(text: str) -> str | None:
    for pattern in _INJURY_DATE:
        if found := pattern.search(text):
            return found["d"]
    return None


def _surgeries(text: str) -> list[str]:
    found = [(m.start(), m.group(0)) for m in _SURGERY_COUNT.finditer(text)]
    found += [(m.start("s"), m["s"]) for m in _SURGERY.finditer(text)]
    return _unique(phrase for _, phrase in sorted(found))


def _listed(pattern: re.Pattern[str], text: str) -> list[str]:
    values: list[str] = []
    for match in pattern.finditer(text):
        value = match["v"].strip()
        singular = "label" in pattern.groupindex and (match["label"] or "").lower() == "diagnosis"
        splitter = r";" if singular else r";|,\s*(?:and\s+)?|\s+and\s+"
        values.extend(part.strip(" :") for part in re.split(splitter, value))
    return _unique(values)


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        cleaned = re.sub(r"\s+", " ", value).strip()
        if cleaned and cleaned.lower() not in (key.lower() for key in seen):
            seen[cleaned] = None
    return list(seen)


def _specialty(stream: str) -> str | None:
    found = _SPECIALTY.search(stream)
    return found["s"].strip() if found else None
