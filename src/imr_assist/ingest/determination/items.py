"""Read each item: its decision, its guideline and rationale blocks, and what was not read."""

from __future__ import annotations

import re

from imr_assist.ingest.determination.citations import parse_guideline_citations
from imr_assist.ingest.determination.headers import Head, Reading, body_end
from imr_assist.ingest.determination.patterns import (
    CONCLUSION,
    HEADING_LINE,
    LABEL_NAMES,
    SUMMARY_HEADING,
)
from imr_assist.models import Decision, DeterminationItem


def _key(name: str) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", name.lower()).split()
    while words and words[0] in {"a", "an", "the"}:
        words.pop(0)
    return " ".join(words)


def _same_item(entry: Head, head: Head) -> bool:
    """A listed decision and an item header name the same item: same number, or one name
    contains the other ("repeat MRI ... and lumbar ESI ..." names two items)."""
    if entry.number is not None and head.number is not None:
        return entry.number == head.number
    a, b = _key(entry.item), _key(head.item)
    return len(a) >= 3 and len(b) >= 3 and (f" {a} " in f" {b} " or f" {b} " in f" {a} ")


def _decision(reading: Reading, head: Head, listed: list[Head]) -> Decision | None:
    """The item's decision: its own header's, else the one the letter lists for it."""
    entries = [entry for entry in listed if _same_item(entry, head)]
    for entry in entries:
        entry.matched = True
    if head.decision is not None:
        for entry in entries:
            if entry.decision is not None and entry.decision is not head.decision:
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


def read_item(
    reading: Reading,
    head: Head,
    nxt: Head | None,
    labels: list[tuple[int, int, str]],
    listed: list[Head],
) -> DeterminationItem | None:
    stream = reading.text
    stop = body_end(stream, head.end, nxt.start if nxt else None)
    marks = [label for label in labels if head.end <= label[0] < stop]
    if head.kind == "orphan" and not head.item:
        names = " and ".join(dict.fromkeys(LABEL_NAMES[name] for _, _, name in marks))
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


def unmatched_listed(
    reading: Reading, listed: list[Head], heads: list[Head]
) -> list[DeterminationItem]:
    """Listed decisions no item header claimed: items of their own when the letter has no
    blocks at all or their number has none; otherwise reported and not used."""
    items: list[DeterminationItem] = []
    seen: set[tuple[int | None, str]] = set()
    numbers = {head.number for head in heads if head.number is not None}
    for entry in listed:
        key = (entry.number, _key(entry.item))
        if entry.matched or key in seen or entry.decision is None:
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
    reading: Reading, item: str, decision: Decision, at: int, rationale: str
) -> None:
    conclusions = list(CONCLUSION.finditer(rationale))
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


def summary_end(reading: Reading, heads: list[Head], listed: list[Head]) -> int:
    """Without an issues heading, the case summary ends at the first item, listed decision or
    section heading line after it."""
    stream = reading.text
    heading = SUMMARY_HEADING.search(stream)
    if heading is None:
        return heads[0].start if heads else len(stream)
    after = [head.start for head in [*heads, *listed] if head.start > heading.end()]
    after += [
        start
        for start in reading.letter.line_starts()
        if start > heading.end() and HEADING_LINE.fullmatch(reading.letter.line_text(start))
    ]
    return min(after, default=len(stream))
