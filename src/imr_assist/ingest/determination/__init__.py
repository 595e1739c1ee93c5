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

Text extracted from PDFs is normalised first (:func:`.letter_text.read_letter`):
page headers, footers and page numbers are dropped (also mid-sentence), hyphenated words
re-joined and all whitespace collapsed, so line breaks and blank lines never matter.

Modules: ``letter_text`` (the clean stream and its line map), ``patterns`` (the letter's
structural markers), ``headers`` (finding item headers), ``items`` (decisions, blocks and what
was not read), ``citations`` (guideline lines), ``case_summary`` (the summary's facts).
"""

from __future__ import annotations

from imr_assist.errors import DeterminationParseError
from imr_assist.ingest.determination.case_summary import case_summary, specialty
from imr_assist.ingest.determination.citations import parse_guideline_citations
from imr_assist.ingest.determination.headers import Reading, find_labels, item_heads, next_head
from imr_assist.ingest.determination.items import read_item, summary_end, unmatched_listed
from imr_assist.ingest.determination.letter_text import LetterText, read_letter
from imr_assist.ingest.determination.patterns import (
    BARE_TOKEN,
    CONCLUSION,
    ISSUES_HEADING,
    LABELS,
    MARKERS,
    NUMBER,
    SET_FORTH,
    SUMMARY_HEADING,
    TOKEN,
)
from imr_assist.models import Determination

__all__ = ["looks_like_determination", "parse_determination", "parse_guideline_citations"]


def _is_structural(line: str) -> bool:
    """Lines that are letter structure, never a running page header however often they repeat."""
    return bool(
        NUMBER.match(line)
        or BARE_TOKEN.fullmatch(line)
        or TOKEN.search(line)
        or CONCLUSION.search(line)
        or ISSUES_HEADING.search(line)
        or SUMMARY_HEADING.search(line)
        or any(label.search(line) for _, label in LABELS)
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
    return sum(1 for marker in MARKERS if marker.search(stream)) >= 2


def parse_determination(text: str, *, source: str = "<text>") -> Determination:
    """Parse an IMR determination letter (current or older MAXIMUS format, clean or PDF-damaged).

    ``source`` names the text in error messages (usually the file path). What the parser could
    not read is listed in ``warnings`` with its line in ``text``. Raises
    :class:`~imr_assist.errors.DeterminationParseError` when no disputed item with a decision
    can be found. Case-summary facts the letter does not state stay ``None`` or empty.
    """
    reading = Reading(_read(text), source)
    stream = reading.text
    issues = ISSUES_HEADING.search(stream)
    region = issues.end() if issues else 0
    set_forth = SET_FORTH.search(stream, region)
    if set_forth:
        region = set_forth.end()
    labels = find_labels(stream, region)
    heads, listed = item_heads(reading, region, labels)
    items = [
        item
        for index, head in enumerate(heads)
        if (item := read_item(reading, head, next_head(heads, index), labels, listed)) is not None
    ]
    items += unmatched_listed(reading, listed, heads)
    if not items:
        _raise_no_items(reading)
    fmt = "imr_final" if any(head.kind == "token" for head in heads) else "maximus_older"
    summary_ends = issues.start() if issues else summary_end(reading, heads, listed)
    reading.warnings.sort(key=lambda warning: warning.line)
    return Determination(
        case_summary=case_summary(stream, summary_ends),
        reviewer_specialty=specialty(stream),
        items=items,
        format=fmt,
        warnings=reading.warnings,
    )


def _raise_no_items(reading: Reading) -> None:
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
        "'<n>. <item> is (not) medically necessary and appropriate.' in an older letter." + unread,
        "Check that the decision lines survived text extraction (try another PDF-to-text tool "
        "or OCR) or add the missing 'Upheld'/'Overturned' after each item.",
    )
