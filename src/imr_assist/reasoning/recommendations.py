"""Recommendation records read from a guideline at ingest. Pure: a `SourceDocument` and its
passages in, `Recommendation` records out (`extract_recommendations`), plus the one-line
`RecommendationReport` shown at ingest.

Where a recommendation is found, from the most explicit marking to the least:

1. Numbered recommendations, parsed by `ingest.structure` into `doc.recommendations` (VA/DoD:
   "12. For patients with ..., we suggest against ... (Weak against | ...)"). A guideline that
   numbers its recommendations numbers all of them, so nothing else is searched: VA/DoD repeats
   its statements in summary and evidence tables, and its Appendix D lists the 2017 ones.
2. Label lines (ACOEM, NYS WCB, ODG, MTUS): a paragraph that opens with a strength label,
   after an optional item number or a "Topic:" prefix ("Recommended - in select patients ...",
   "D.4.b Not Recommended - ...", "TENS, chronic pain: Not recommended as a primary ...").
   The intervention is the statement's own subject when it names one ("Not Recommended -
   Abdominal strengthening exercises ... are not recommended"), else the topic, else the title
   of the heading the label sits under (the section title is the intervention).
3. Trailing grades (GRADE as WHO prints it, ACOEM): a parenthesis that opens with a strength
   label ("(conditional recommendation against use, low certainty evidence)", "(Weak for)") or a
   "Strength of evidence - Moderately Recommended, Evidence (B)" line, after its statement. In a
   table of numbered items ("B.7 TENS  TENS should not be used ... (conditional ...)") the item
   title is the intervention.
4. GRADE sentences with no printed grade: "We suggest against ...", "WHO recommends ...",
   "It is recommended that ...", "There is no recommendation regarding ...".
5. Only when nothing above is found anywhere in the guideline: prose statements "X is (not)
   recommended" (digests and summaries that mark nothing); X is the intervention.

What follows a statement under the same heading belongs to it: "Indications:" / "Criteria ...:"
paragraphs and "Criteria for the use of X" lists are its criteria; "Frequency", "Optimum /
Maximum duration", "Dose", visit and session fields are its limits; conditional clauses of the
statement itself ("when red flags are present", "in the absence of ...") are criteria too.
Discontinuation, contraindication and rationale fields stay discussion (passages). Finding the
statements (1-5) lives in `reasoning.statements`; the printed strength vocabulary and the readers
of direction, phase, population and intervention in `reasoning.wording`. Bump
`settings.EXTRACTOR_VERSION` when what this module returns changes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from imr_assist.models import Block, Kind, Passage, SourceDocument
from imr_assist.reasoning.models import Recommendation, RecommendationReport
from imr_assist.reasoning.statements import (
    CRITERIA_LEAD_RE,
    Draft,
    GuidelineText,
    conditions,
    criteria_items,
    field_kind,
    graded,
    heading_title,
    labelled,
    numbered,
    owned_blocks,
    prose,
    section_headings,
    shares_word,
    split_criteria_lead,
)
from imr_assist.reasoning.wording import (
    allowing_sentence,
    direction_of,
    expand_acronyms,
    phases_of,
    population_of,
    split_phrase,
    strength_of,
)
from imr_assist.text.regions import region_of_title
from imr_assist.text.sentences import split_sentences

NO_RECOMMENDATIONS = (
    "no recommendation statements recognised; the guideline is searchable as passages"
)

_FIELD_RE = re.compile(
    r"^(?P<name>[A-Z][A-Za-z]*(?:[ /&-]+[A-Za-z]+){0,7})\s*:\s*(?P<body>.*)$", re.S
)
_LIST_ITEM_RE = re.compile(r"^(?:[-•▪●*]|\(?\d{1,2}[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)])\s+")
_BULLET_RE = re.compile(r"\s*[•▪●]\s+")


def extract_recommendations(
    document: SourceDocument, passages: Sequence[Passage]
) -> list[Recommendation]:
    """Every recommendation statement of a guideline as a typed record (see the module doc).

    Determinations and studies have none. `passages` are the document's chunks, used to link
    each record to the passages of its statement and discussion."""
    if document.meta.kind is not Kind.GUIDELINE or not document.blocks:
        return []
    doc = GuidelineText.of(document)
    if document.recommendations:
        drafts = numbered(doc)
    else:
        drafts = labelled(doc)
        owned = owned_blocks(doc, drafts)
        drafts += graded(doc, owned)
        drafts = sorted(drafts, key=lambda d: (d.start, d.offset))
        if not drafts:
            drafts = prose(doc)
        _attach(doc, drafts)
    return _records(doc, drafts, passages)


def recommendation_report(doc_id: str, records: Sequence[Recommendation]) -> RecommendationReport:
    """One line for the reviewer about what extraction found in a guideline."""
    n = len(records)
    message = f"{n} recommendation{'s' if n != 1 else ''} recognised" if n else NO_RECOMMENDATIONS
    return RecommendationReport(doc_id=doc_id, count=n, message=message)


def _attach(doc: GuidelineText, drafts: list[Draft]) -> None:
    """Give each draft the fields, lists and criteria that follow it under its heading."""
    for n, draft in enumerate(drafts):
        if not draft.criteria:
            _, lead_items = split_criteria_lead(doc.blocks[draft.start].text)
            draft.criteria = conditions(draft.statement) + lead_items
        stop = next((d.start for d in drafts[n + 1 :] if d.start > draft.start), len(doc.blocks))
        open_kind: str | None = None
        for i in range(draft.start + 1, stop):
            block = doc.blocks[i]
            if block.section != draft.section:
                break
            for piece in _BULLET_RE.split(block.text):  # '• Frequency: ... • Maximum ...'
                if piece.strip():
                    open_kind = _attach_block(draft, piece.strip(), open_kind)
            if open_kind is not None:
                draft.end = i
    _attach_criteria_sections(doc, drafts)


def _attach_block(draft: Draft, text: str, open_kind: str | None) -> str | None:
    """Add one paragraph to a draft's fields; the kind of field still open after it."""
    kept = draft.limits if open_kind == "limit" else draft.criteria
    if open_kind and kept and text[:1].islower():  # a paragraph broken mid-sentence
        kept[-1] = f"{kept[-1]} {' '.join(text.split())}"
        return open_kind
    if open_kind and _LIST_ITEM_RE.match(text):
        (draft.limits if open_kind == "limit" else draft.criteria).append(" ".join(text.split()))
        return open_kind
    lead = CRITERIA_LEAD_RE.search(text[:120])
    if lead:
        draft.criteria += criteria_items(text[lead.end() :])
        return "criteria"
    match = _FIELD_RE.match(text)
    kind = field_kind(match.group("name")) if match else None
    if match is None or kind is None or kind == "other":
        return None
    body = " ".join(match.group("body").split())
    if kind == "limit":
        if body:
            draft.limits.append(f"{match.group('name')}: {body}")
    else:
        draft.criteria += split_sentences(body)
    return kind


def _attach_criteria_sections(doc: GuidelineText, drafts: list[Draft]) -> None:
    """A heading 'Criteria for the use of X' (or 'Criteria for use of a TENS unit'): its list
    items are criteria of the latest recommendation about X before it (else the latest one)."""
    heading_re = re.compile(r"^criteria\s+for\s+(?:the\s+)?use\s+of\s+(?P<what>.+)$", re.I)
    for i, block in enumerate(doc.blocks):
        match = heading_re.match(heading_title(block.section))
        if not match or not drafts:
            continue
        before = [d for d in drafts if d.start < i] or drafts
        about = [d for d in before if any(shares_word(match.group("what"), x) for x in
                                          [*d.interventions, d.label])]  # fmt: skip
        target = (about or before)[-1]
        text = _LIST_ITEM_RE.sub("", block.text)
        target.criteria.append(" ".join(text.split()))
        target.criteria_blocks.append(i)


# --------------------------------------------------------------------------- records


def _passage_spans(blocks: Sequence[Block], passages: Sequence[Passage]) -> list[tuple[int, int]]:
    """(first, last) block index each passage covers; passages come in block order."""
    keys = [re.sub(r"[^a-z0-9]", "", b.text.lower()) for b in blocks]
    starts: list[int] = []
    pointer = 0
    for passage in passages:
        head = re.sub(r"[^a-z0-9]", "", passage.text.lower())[:30]
        for i in range(pointer, len(keys)):
            if head and head in keys[i]:
                pointer = i
                break
        starts.append(pointer)
    spans = []
    for n, start in enumerate(starts):
        nxt = starts[n + 1] if n + 1 < len(starts) else len(blocks) - 1
        spans.append((start, max(start, nxt)))
    return spans


def _records(
    doc: GuidelineText, drafts: list[Draft], passages: Sequence[Passage]
) -> list[Recommendation]:
    meta = doc.doc.meta
    own = [p for p in passages if p.doc_id == doc.doc.doc_id]
    spans = _passage_spans(doc.blocks, own) if own else []
    labels: dict[str, int] = {}
    out: list[Recommendation] = []
    drafts = sorted(drafts, key=lambda d: (d.start, d.offset))
    for n, draft in enumerate(drafts):
        labels[draft.label] = labels.get(draft.label, 0) + 1
        label = (
            draft.label if labels[draft.label] == 1 else f"{draft.label} ({labels[draft.label]})"
        )
        stop = next((d.start for d in drafts[n + 1 :] if d.start > draft.start), len(doc.blocks))
        last = draft.start
        for i in range(draft.start, stop):
            if doc.blocks[i].section != draft.section:
                break
            last = i
        if draft.number is not None:
            passage_ids = [p.id for p in own if p.recommendation == draft.number]
        else:
            passage_ids = [
                p.id for p, (a, b) in zip(own, spans, strict=True) if a <= last and b >= draft.start
            ]
        if draft.criteria_blocks and spans:  # its criteria listed under their own heading
            passage_ids += [
                p.id
                for p, (a, b) in zip(own, spans, strict=True)
                if any(a <= i <= b for i in draft.criteria_blocks) and p.id not in passage_ids
            ]
        # a qualified negation's record states the use it allows as well
        allowed = allowing_sentence(draft.statement, doc.blocks[draft.start].text)
        statement = f"{draft.statement} {allowed}".strip()
        population = population_of(draft.statement)
        reading = expand_acronyms(f"{draft.statement} {population}", doc.acronyms)
        statement_block = doc.blocks[draft.start]
        end_block = doc.blocks[max(draft.start, draft.end)]
        out.append(
            Recommendation(
                id=_record_id(doc.doc, label, draft.statement),
                doc_id=doc.doc.doc_id,
                content_hash=doc.doc.content_hash,
                guideline=meta.guideline or meta.title,
                tier=meta.tier,
                label=label,
                statement=statement,
                interventions=[x for x in draft.interventions if x] or split_phrase(label),
                population=population,
                phases=phases_of(reading),
                body_region=meta.body_region or region_of_title(reading),
                direction=direction_of(draft.grade, statement),
                strength_text=draft.grade.text,
                strength=strength_of(draft.grade, statement),
                criteria=list(dict.fromkeys(c for c in draft.criteria if c)),
                limits=list(dict.fromkeys(draft.limits)),
                page_start=statement_block.page_label,
                page_end=end_block.page_end_label,
                passage_ids=passage_ids,
                headings=section_headings(doc, draft.section),
            )
        )
    return out


def _record_id(doc: SourceDocument, label: str, statement: str) -> str:
    blob = f"{doc.doc_id}\x1f{doc.content_hash}\x1f{label}\x1f{' '.join(statement.split())}"
    return "rec-" + hashlib.sha256(blob.encode()).hexdigest()[:12]


__all__ = ["NO_RECOMMENDATIONS", "extract_recommendations", "recommendation_report"]
