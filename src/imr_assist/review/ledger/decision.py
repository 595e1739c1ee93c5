"""Accept a determination only while its decision and its text agree: no override lifts that.

    report = verify_draft(text, evidence, decision=DraftDecision.MEDICALLY_NECESSARY, ...)
    accept_decided(ledger, review_id, text, "Dr. Lee", report, override_reason=None)

The decision the reviewer chose travels in the verification report (`report.decision`), so the
edit and accept events record it with the text it was checked against (see `fold.py`);
`record_decision` records a decision changed on an unchanged text. `link_to_determination`
records which determination (one letter of several items, one review per item) a review is
item N of. Both append edit events through the ledger's own transaction, chain and MAC. An
override reason lifts only citation-support findings (`accept_blockers`); a conclusion that
contradicts the decision (`decision_blockers`) always refuses, so an accepted letter can never
say "Upheld" above a rationale that ends "is medically necessary".
"""

from __future__ import annotations

from typing import Any

from imr_assist.errors import ReviewError
from imr_assist.models import VerificationReport
from imr_assist.review.ledger.gate import _check_report, _name, decision_blockers, summarize
from imr_assist.review.ledger.models import EventKind, Review
from imr_assist.review.ledger.store import Ledger


def accept_decided(
    ledger: Ledger,
    review_id: str,
    final_text: str,
    reviewer: str,
    report: VerificationReport,
    override_reason: str | None = None,
) -> Review:
    """`ledger.accept`, refused while the decision and the text disagree (whatever the
    override) and, for a determination, when the report was not verified with a decision."""
    review = ledger.review(review_id)
    if review.kind == "draft" and report.decision is None:
        raise ReviewError(
            f"Cannot accept review {review_id} without its decision: verify the text with the "
            "decision chosen (verify_draft(text, evidence, decision=...)) and pass that report."
        )
    conflicts = decision_blockers(report)
    if conflicts:
        listed = "\n".join(f"- {line}" for line in conflicts)
        raise ReviewError(
            f"Cannot accept review {review_id}: the decision and the text disagree:\n{listed}\n"
            "Change the decision or the conclusion so that they agree; no override reason can "
            "accept a letter that contradicts itself."
        )
    return ledger.accept(review_id, final_text, reviewer, report, override_reason=override_reason)


def record_decision(
    ledger: Ledger, review_id: str, text: str, reviewer: str, report: VerificationReport
) -> Review:
    """Record the reviewer's decision with the text it was verified against: an edit event.

    A changed text goes through `ledger.edit` (its verification carries the decision); a
    decision changed on the same text is recorded as an edit of that text too (`ledger.edit`
    records nothing for an unchanged text). Nothing is recorded when neither changed."""
    review = ledger.review(review_id)
    if text != review.final_text:
        return ledger.edit(review_id, text, reviewer, report)
    if report.decision is None or report.decision is review.decision:
        return review
    _check_report(text, report)
    return _append_edit(
        ledger, review_id, reviewer, {"verification": summarize(report).model_dump(mode="json")}
    )


def link_to_determination(
    ledger: Ledger, review_id: str, determination_id: str, number: int, reviewer: str
) -> Review:
    """Record that the review is item `number` (1-based) of the determination
    `determination_id` (one letter of several items): an edit event of the same text carrying
    {"determination": {"id", "item"}}. `ledger.reviews(text=determination_id)` finds them all."""
    if not determination_id.strip() or number < 1:
        raise ReviewError("A determination id and an item number from 1 are required.")
    review = ledger.review(review_id)
    if review.determination_id == determination_id and review.item_number == number:
        return review
    link = {"determination": {"id": determination_id, "item": number}}
    return _append_edit(ledger, review_id, reviewer, link)


def _append_edit(ledger: Ledger, review_id: str, reviewer: str, extra: dict[str, Any]) -> Review:
    """An edit event of the review's current text, with `extra` in its payload (through the
    ledger's own write transaction, chain and MAC, on every storage backend)."""
    name = _name(reviewer)
    with ledger._write() as tx:
        review = ledger._open_review(tx, review_id, "edit")
        verification = review.verification.model_dump(mode="json") if review.verification else None
        payload = {"text": review.final_text, "verification": verification, **extra}
        ledger._append(tx, review_id, EventKind.EDITED, name, payload)
        return ledger._load(tx, review_id)
