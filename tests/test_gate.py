"""The accept gate of issue 14: uncited claims block like unsupported ones (an override reason
lifts them), a text that contradicts its decision blocks whatever the override, and the decision
the reviewer chose is what the ledger folds into the review."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import GENERATED, ODG, Clock, make_draft, passages
from imr_assist.errors import ReviewError
from imr_assist.models import DraftDecision
from imr_assist.review.ledger import Ledger, accept_blockers, summarize
from imr_assist.review.ledger.decision import accept_decided
from imr_assist.review.ledger.gate import decision_blockers
from imr_assist.verification.verify import verify_draft

NMN, MN = DraftDecision.NOT_MEDICALLY_NECESSARY, DraftDecision.MEDICALLY_NECESSARY
INVENTED = "A home exercise kit will reduce re-injury by 40%."
SUMMARY = "39-year-old, lumbar fusion revision 07/2013, unable to attend PT."


def _ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite3", clock=Clock())


def test_an_uncited_claim_blocks_accept_until_overridden(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    text = f"{GENERATED} {INVENTED}"
    report = verify_draft(text, passages(), decision=NMN, record=SUMMARY)
    [line] = accept_blockers(report)
    assert line.startswith("Sentence 5 is a factual claim without a citation") and "40%" in line
    assert decision_blockers(report) == []
    with pytest.raises(ReviewError, match="1 sentence\\(s\\) block acceptance"):
        accept_decided(ledger, review.review_id, text, "Dr. Lee", report)
    assert ledger.review(review.review_id).status.value == "drafted"
    accepted = accept_decided(
        ledger, review.review_id, text, "Dr. Lee", report, override_reason="Cited in the note."
    )
    assert accepted.override_reason == "Cited in the note."
    assert accepted.verification is not None and accepted.verification.blockers == [line]


def test_restating_the_summary_blocks_nothing(tmp_path: Path) -> None:
    body, _, conclusion = GENERATED.partition(" Given")
    restated = "A lumbar fusion revision was done in 07/2013 and at 39 she was unable to attend PT."
    text = f"{body} {restated} Given{conclusion}"
    without = verify_draft(text, passages(), decision=NMN)
    assert len(accept_blockers(without)) == 1  # without the summary it reads as a claim
    report = verify_draft(text, passages(), decision=NMN, record=SUMMARY)
    assert [c.restates_record for c in report.sentences].count(True) == 1
    assert accept_blockers(report) == [] and decision_blockers(report) == []


def test_the_decision_travels_with_each_edit_and_the_accept(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    assert review.decision is NMN and review.drafted_decision is NMN
    overturned = (
        f"A home exercise program is recommended. [{ODG}] Given the above, the request for a "
        "Lumbar spine home exercise kit is medically necessary."
    )
    # the decision changed, the text not yet: the conflict is recorded, not accepted
    stale = verify_draft(GENERATED + " ", passages(), decision=MN)
    assert summarize(stale).decision_conflicts and summarize(stale).decision is MN
    report = verify_draft(overturned, passages(), decision=MN)
    edited = ledger.edit(review.review_id, overturned, "Dr. Lee", report)
    assert edited.decision is MN and edited.drafted_decision is NMN
    assert (
        ledger.events(review.review_id)[-1].payload["verification"]["decision"]
        == "medically_necessary"
    )
    accepted = accept_decided(ledger, review.review_id, overturned, "Dr. Kim", report)
    assert accepted.status.value == "accepted" and accepted.decision is MN
    assert ledger.verify().ok


@pytest.mark.parametrize("override", [None, "The reviewer insists."])
def test_no_override_accepts_a_text_that_contradicts_its_decision(
    tmp_path: Path, override: str | None
) -> None:
    ledger = _ledger(tmp_path)
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    report = verify_draft(GENERATED, passages(), decision=MN)
    [line] = decision_blockers(report)
    assert "is not medically necessary, but the decision says it is medically necessary" in line
    assert accept_blockers(report) == []  # not an override matter: no override field is offered
    with pytest.raises(ReviewError, match="no override reason can accept"):
        accept_decided(ledger, review.review_id, GENERATED, "Dr. Lee", report, override)
    assert [e.kind.value for e in ledger.events(review.review_id)] == ["drafted"]


@pytest.mark.parametrize("override", [None, "The reviewer insists."])
def test_the_ledger_itself_refuses_a_contradicting_accept(
    tmp_path: Path, override: str | None
) -> None:
    """Not only the workspace's wrapper: `Ledger.accept` (the CLI, any caller) refuses a text
    whose conclusion contradicts its decision, override or not, and writes nothing."""
    ledger = _ledger(tmp_path)
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    report = verify_draft(GENERATED, passages(), decision=MN)
    with pytest.raises(ReviewError, match="the text and the decision disagree"):
        ledger.accept(review.review_id, GENERATED, "Dr. Lee", report, override)
    assert [e.kind.value for e in ledger.events(review.review_id)] == ["drafted"]
