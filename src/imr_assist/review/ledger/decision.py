"""Accept a determination only while its decision and its text agree: no override lifts that.

    report = verify_draft(text, evidence, decision=DraftDecision.MEDICALLY_NECESSARY, ...)
    accept_decided(ledger, review_id, text, "Dr. Lee", report, override_reason=None)

The decision the reviewer chose travels in the verification report (`report.decision`), so the
edit and accept events record it with the text it was checked against (see `fold.py`). An
override reason lifts only citation-support findings (`accept_blockers`); a conclusion that
contradicts the decision (`decision_blockers`) always refuses, so an accepted letter can never
say "Upheld" above a rationale that ends "is medically necessary".
"""

from __future__ import annotations

from imr_assist.errors import ReviewError
from imr_assist.models import VerificationReport
from imr_assist.review.ledger.gate import decision_blockers
from imr_assist.review.ledger.models import Review
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
