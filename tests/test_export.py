"""Export of reviews in the IMR layout: Markdown golden files, DOCX reopened with python-docx,
only accepted reviews by default, and a real composer draft from the demo corpus end to end.

Regenerate the golden files after an intended layout change with UPDATE_GOLDEN=1."""

from __future__ import annotations

import os
import re
from pathlib import Path

import docx
import pytest

from helpers import (
    FAKE,
    GENERATED,
    ITEM,
    MTUS,
    ODG,
    Clock,
    ingest_demo,
    make_answer,
    make_draft,
    passages,
)
from imr_assist.errors import ReviewError
from imr_assist.ingest.determination import parse_determination
from imr_assist.models import DraftDecision
from imr_assist.review.export import (
    _DECISIONS,
    export_letter,
    export_review,
    letter_text,
    letter_to_markdown,
    references,
    relied_on,
    to_docx,
    to_markdown,
)
from imr_assist.review.ledger import EventKind, Ledger, Review
from imr_assist.review.ledger.decision import accept_decided
from imr_assist.verification.verify import verify, verify_draft

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; UPDATE_GOLDEN=1 if intended"


def _ledger(tmp_path: Path) -> Ledger:
    ids = iter(f"rv{n:010d}" for n in range(1, 100))
    return Ledger(tmp_path / "ledger.sqlite3", clock=Clock(), new_id=lambda: next(ids))


def _accepted_draft(ledger: Ledger) -> Review:
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    final = GENERATED.replace("There was a lack", "The records show a lack") + (
        f"\n\nThe kit was requested for home use. [{FAKE}]"
    )
    return ledger.accept(
        review.review_id,
        final,
        "Dr. Kim",
        verify(final, passages()),
        override_reason="The kit request is in the records; the id is a typo.",
    )


def test_markdown_determination_matches_golden(tmp_path: Path) -> None:
    text = to_markdown(_accepted_draft(_ledger(tmp_path)))
    _golden("determination.md", text)
    for heading in ("## Item", "## Decision", "## Guideline relied on", "## Decision rationale"):
        assert heading in text
    assert "Upheld: the request is not medically necessary." in text
    assert "pp. 287-289" in text and "p. 12" in text
    assert "Accepted: 2026-11-28T09:02:00+00:00" in text


def test_markdown_answer_matches_golden(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    review = ledger.start(make_answer(), "Dr. Lee", passages())
    review = ledger.accept(
        review.review_id,
        review.generated_text,
        "Dr. Lee",
        verify(review.generated_text, passages()),
    )
    _golden("answer.md", to_markdown(review))


def test_references_follow_the_final_text(tmp_path: Path) -> None:
    refs = references(_accepted_draft(_ledger(tmp_path)))
    assert [r[:14] for r in refs] == ["MTUS ACOEM, pp", "Official Disab", "Unknown source"]
    assert FAKE in refs[2]  # an unknown id stays visible, never stripped
    ledger = _ledger(tmp_path / "b")
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    only_odg = f"A home exercise program is recommended. [{ODG}]"
    review = ledger.accept(review.review_id, only_odg, "Dr. Lee", verify(only_odg, passages()))
    assert references(review) == [
        "Official Disability Guidelines (ODG), Exercise, p. 12. ODG Low Back Chapter."
    ]


HEX_MARKER = re.compile(r"\[[0-9a-f]{12}\]")


def _accept_as(
    ledger: Ledger, text: str, decision: DraftDecision, item: str = ITEM, who: str = "Dr. Lee"
) -> Review:
    review = ledger.start(make_draft(item=item), who, passages())
    report = verify_draft(text, passages(), decision=decision)
    return accept_decided(ledger, review.review_id, text, who, report)


def test_export_prints_the_accepted_decision_not_the_drafted_one(tmp_path: Path) -> None:
    """Issue 14: the tool denied, the reviewer overturned; the letter said "Upheld" above a
    rationale ending "is medically necessary". The letter follows what was accepted."""
    ledger = _ledger(tmp_path)
    final = (
        f"A home exercise program is recommended. [{ODG}] The records document a monitored "
        "program. Given the above, the request for a Lumbar spine home exercise kit is "
        "medically necessary."
    )
    review = _accept_as(ledger, final, DraftDecision.MEDICALLY_NECESSARY)
    assert review.drafted_decision is DraftDecision.NOT_MEDICALLY_NECESSARY
    assert review.decision is DraftDecision.MEDICALLY_NECESSARY
    accepted_event = ledger.events(review.review_id)[-1]
    assert accepted_event.payload["verification"]["decision"] == "medically_necessary"
    text = to_markdown(review)
    assert "Overturned: the request is medically necessary." in text
    assert "Upheld" not in text and "not medically necessary" not in text
    body = "\n".join(
        p.text for p in docx.Document(str(to_docx(review, tmp_path / "d.docx"))).paragraphs
    )
    assert "Overturned: the request is medically necessary." in body and "Upheld" not in body


def test_letter_cites_in_reference_style_and_relies_only_on_what_is_still_cited(
    tmp_path: Path,
) -> None:
    ledger = _ledger(tmp_path)
    final = (
        f"A home exercise program is recommended. [{ODG}] There was a lack of documentation "
        "of the components of the kit. Given the above, the request for a Lumbar spine home "
        "exercise kit is not medically necessary."
    )
    review = _accept_as(ledger, final, DraftDecision.NOT_MEDICALLY_NECESSARY)
    for text in (to_markdown(review), to_markdown(review, with_references=False)):
        assert not HEX_MARKER.search(text)
        assert "is recommended (Official Disability Guidelines (ODG), Exercise, p. 12)." in text
        assert "Decision based on Non-MTUS Citation Official Disability Guidelines" in text
        assert "MTUS ACOEM" not in text  # its citation was deleted: no "relied on" line either
    assert "## References" in to_markdown(review)
    assert "## References" not in to_markdown(review, with_references=False)
    assert relied_on(review) == [
        "Decision based on Non-MTUS Citation Official Disability Guidelines (ODG) Page(s): 12."
    ]


def test_a_contradicting_text_is_never_accepted_whatever_the_override(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    report = verify_draft(GENERATED, passages(), decision=DraftDecision.MEDICALLY_NECESSARY)
    assert (
        report.decision_conflicts and "is not medically necessary" in report.decision_conflicts[0]
    )
    with pytest.raises(ReviewError, match="the decision and the text disagree"):
        accept_decided(
            ledger, review.review_id, GENERATED, "Dr. Lee", report, override_reason="I insist."
        )
    with pytest.raises(ReviewError, match="without its decision"):
        accept_decided(
            ledger, review.review_id, GENERATED, "Dr. Lee", verify(GENERATED, passages())
        )
    assert ledger.review(review.review_id).status.value == "drafted"


def test_one_letter_holds_every_item_in_the_real_layout(tmp_path: Path) -> None:
    """Three disputed items, one letter: it reads back through the determination parser with
    the three items and their decisions in order."""
    ledger = _ledger(tmp_path)
    items = [
        ("Lumbar spine home exercise kit", DraftDecision.NOT_MEDICALLY_NECESSARY, "is not"),
        ("Home exercise program instruction", DraftDecision.MEDICALLY_NECESSARY, "is"),
        ("Aquatic therapy 2x6", DraftDecision.NOT_MEDICALLY_NECESSARY, "is not"),
    ]
    reviews = [
        _accept_as(
            ledger,
            f"A home exercise program is recommended. [{ODG}] Given the above, the request "
            f"for {item} {verb} medically necessary.",
            decision,
            item=item,
        )
        for item, decision, verb in items
    ]
    text = letter_to_markdown(reviews)
    assert text.count("## Clinical case summary") == 1
    for n, (item, _, _) in enumerate(items, 1):
        assert f"### Item {n}: {item}" in text
    assert not HEX_MARKER.search(text)
    out = export_letter(ledger, [r.review_id for r in reviews], "docx", tmp_path / "l.docx")
    document = docx.Document(str(out))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading 2")]
    assert headings == [
        "Item 1: Lumbar spine home exercise kit: Upheld",
        "Item 2: Home exercise program instruction: Overturned",
        "Item 3: Aquatic therapy 2x6: Upheld",
    ]
    body = "\n".join(p.text for p in document.paragraphs)
    parsed = parse_determination(body, source="letter.docx")
    assert [(re.sub(r"^Item \d+: ", "", i.item), i.decision.value) for i in parsed.items] == [
        ("Lumbar spine home exercise kit", "upheld"),
        ("Home exercise program instruction", "overturned"),
        ("Aquatic therapy 2x6", "upheld"),
    ]
    assert all("Given the above" in i.rationale for i in parsed.items)
    assert all(i.reviewer_guidelines for i in parsed.items)
    assert body.count("Upheld: the request is not medically necessary.") == 2
    assert body.count("Overturned: the request is medically necessary.") == 1
    assert all(ledger.review(r.review_id).exports == ["docx"] for r in reviews)
    with pytest.raises(ReviewError, match="not accepted"):
        letter_to_markdown([*reviews, ledger.start(make_draft(), "Dr. Lee", passages())])


def test_only_accepted_reviews_export_by_default(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    with pytest.raises(ReviewError, match="only accepted reviews are exported"):
        to_markdown(review)
    with pytest.raises(ReviewError, match="only accepted reviews are exported"):
        to_docx(review, tmp_path / "x.docx")
    assert not (tmp_path / "x.docx").exists()
    text = to_markdown(review, allow_unaccepted=True)
    assert text.startswith("# DRAFT - NOT ACCEPTED (drafted)")
    assert "Status: drafted (not accepted)" in text


def test_docx_reopens_with_headings_and_text(tmp_path: Path) -> None:
    review = _accepted_draft(_ledger(tmp_path))
    path = to_docx(review, tmp_path / "out" / "determination.docx")
    document = docx.Document(str(path))
    headings = [
        p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))
    ]
    assert headings == [
        "Independent Medical Review: Final Determination",
        "Clinical case summary",
        "Item",
        "Decision",
        "Guideline relied on",
        "Decision rationale",
        "References",
        "Review",
    ]
    body = "\n".join(p.text for p in document.paragraphs)
    assert "Lumbar spine home exercise kit" in body
    assert "Decision based on MTUS ACOEM, Chapter 12 Low Back Complaints Page(s): 287-289." in body
    assert "The records show a lack of documentation" in body
    assert "Reviewer: Dr. Kim" in body and "Settings hash: abc123def456" in body
    numbered = [p.text for p in document.paragraphs if p.style.name == "List Number"]
    assert len(numbered) == 3 and numbered[0].startswith("MTUS ACOEM, pp. 287-289. ")
    assert "can be useful (MTUS ACOEM, pp. 287-289). ODG" in body
    assert document.core_properties.author == "Dr. Kim"
    assert list((tmp_path / "out").iterdir()) == [path]  # no temporary file left behind


def test_export_review_writes_then_records(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    review = _accepted_draft(ledger)
    out = export_review(ledger, review.review_id, "docx", tmp_path / "d.docx")
    assert out.stat().st_size > 0
    export_review(ledger, review.review_id, "md", tmp_path / "d.md", reviewer="Clerk")
    events = ledger.events(review.review_id)
    assert [(e.kind, e.reviewer, e.payload) for e in events[-2:]] == [
        (EventKind.EXPORTED, "Dr. Kim", {"format": "docx"}),
        (EventKind.EXPORTED, "Clerk", {"format": "md"}),
    ]
    assert ledger.review(review.review_id).exports == ["docx", "md"]
    with pytest.raises(ReviewError, match="Unknown export format 'pdf'"):
        export_review(ledger, review.review_id, "pdf", tmp_path / "d.pdf")
    open_review = ledger.start(make_draft(), "Dr. Lee", passages())
    with pytest.raises(ReviewError, match="not accepted"):
        export_review(ledger, open_review.review_id, "md", tmp_path / "o.md")
    assert not (tmp_path / "o.md").exists()
    assert len(ledger.events(open_review.review_id)) == 1  # a refused export records nothing
    assert ledger.verify().ok


@pytest.mark.slow
def test_real_composer_draft_through_ledger_and_export(settings, tmp_path: Path) -> None:
    """The offline composer's draft on the demo corpus: start, edit, accept, export."""
    from imr_assist.drafting.chain import make_chain
    from imr_assist.drafting.evidence import gather_evidence

    retriever = ingest_demo(settings)
    request = "Lumbar spine home exercise kit"
    summary = "39-year-old, lumbar fusion revision 07/2013, unable to attend PT"
    draft = make_chain(retriever).invoke({"request": request, "summary": summary, "kind": "draft"})
    evidence = [h.passage for h in gather_evidence(retriever, request).hits]

    ledger = Ledger(settings.home / "ledger.sqlite3")
    review = ledger.start(draft, "Dr. Lee", evidence)
    assert review.verification is not None and review.verification.blockers == []
    head, _, tail = review.generated_text.rpartition("Given the above,")  # the conclusion
    final = f"{head}Based on the above,{tail}"
    check = verify(final, evidence, embedder=retriever.index.embedder)
    review = ledger.accept(review.review_id, final, "Dr. Lee", check)
    assert review.diff.count("\n+") == 2  # "+++ final" and the conclusion
    text = to_markdown(review)
    assert _DECISIONS[draft.decision] in text  # the decision the accepted text concludes
    assert all(c.citation in text for c in draft.citations)
    assert not HEX_MARKER.search(text)
    assert "MTUS" in text and "Page(s)" in text


def test_exports_leave_identifiers_behind(tmp_path: Path) -> None:
    """Issue 15: the offline writer copied the case summary into the rationale, so the SSN was
    in the Markdown twice. Every text an export prints is redacted (unless turned off)."""
    ledger = _ledger(tmp_path)
    case = "Pt: Maria G. Lopez, DOB 01/02/1970, SSN 123-45-6789; 39-year-old, fusion 07/2013."
    draft = make_draft().model_copy(update={"case_summary": case})
    review = ledger.start(draft, "Dr. Lee", passages())
    final = f"{GENERATED}\n\nThe record of Maria G. Lopez (SSN 123-45-6789) lists no kit."
    review = ledger.accept(review.review_id, final, "Dr. Lee", verify(final, passages()))
    phi = ("Maria", "Lopez", "01/02/1970", "123-45-6789")
    md = tmp_path / "det.md"
    export_review(ledger, review.review_id, "md", md)
    path = export_review(ledger, review.review_id, "docx", tmp_path / "det.docx")
    body = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    for text in (md.read_text(), body):
        assert not [p for p in phi if p in text]
        assert "39-year-old" in text and "07/2013" in text and "[SSN]" in text
    assert "123-45-6789" in to_markdown(review, redact=False)  # IMR_LEDGER__REDACT_EXPORTS=false


R_MTUS = "MTUS ACOEM, pp. 287-289"
R_ODG = "Official Disability Guidelines (ODG), Exercise, p. 12"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Exercise can be useful. [{MTUS}]", f"Exercise can be useful ({R_MTUS})."),
        (f"Both agree. [{MTUS}] [{ODG}] Next.", f"Both agree ({R_MTUS}; {R_ODG}). Next."),
        (f"ODG [{ODG}] says so.", f"ODG ({R_ODG}) says so."),
        (f'It says "recommended." [{ODG}]', f'It says "recommended" ({R_ODG}).'),
        (f"One. [{ODG}]\n\nTwo. [{FAKE}]", f"One ({R_ODG}).\n\nTwo (unknown source {FAKE})."),
    ],
)
def test_citation_markers_become_the_letter_reference_style(
    tmp_path: Path, text: str, expected: str
) -> None:
    review = _ledger(tmp_path).start(make_draft(), "Dr. Lee", passages())
    assert letter_text(review, text) == expected
