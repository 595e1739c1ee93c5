"""Export of reviews in the IMR layout: Markdown golden files, DOCX reopened with python-docx,
only accepted reviews by default, and a real composer draft from the demo corpus end to end.

Regenerate the golden files after an intended layout change with UPDATE_GOLDEN=1."""

from __future__ import annotations

import os
from pathlib import Path

import docx
import pytest

from helpers import (
    FAKE,
    GENERATED,
    MTUS,
    ODG,
    Clock,
    ingest_demo,
    make_answer,
    make_draft,
    passages,
)
from imr_assist.errors import ReviewError
from imr_assist.review.export import export_review, references, to_docx, to_markdown
from imr_assist.review.ledger import EventKind, Ledger, Review
from imr_assist.verification.verify import verify

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
    assert [r[:14] for r in refs] == [f"[{MTUS}]", f"[{ODG}]", f"[{FAKE}]"]
    assert "Unknown id" in refs[2]
    ledger = _ledger(tmp_path / "b")
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    only_odg = f"A home exercise program is recommended. [{ODG}]"
    review = ledger.accept(review.review_id, only_odg, "Dr. Lee", verify(only_odg, passages()))
    assert references(review) == [
        f"[{ODG}] Official Disability Guidelines (ODG), Exercise, p. 12. ODG Low Back Chapter."
    ]


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
    assert len(numbered) == 3 and numbered[0].startswith(f"[{MTUS}] ")
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
    assert "Upheld: the request is not medically necessary." in text
    assert all(f"[{c.id}]" in text for c in draft.citations)
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
