"""A review folded from its events (pure): the events are the single source of truth.

drafted -> edited* -> accepted | rejected, exported* at any time; `_haystack` is the text that
`Ledger.reviews(text=...)` searches. The decision is the drafted one until an edit or the accept
records the reviewer's: each carries the decision its text was verified against (in its
verification summary), so the accepted decision is the one the accepted text was checked with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imr_assist.errors import LedgerError
from imr_assist.review.ledger.gate import text_diff
from imr_assist.review.ledger.models import EventKind, LedgerEvent, Review, ReviewStatus


def _fold(events: Sequence[LedgerEvent]) -> Review:
    """A review from its events, oldest first (the first is `drafted`)."""
    first = events[0]
    if first.kind is not EventKind.DRAFTED:
        raise LedgerError(
            f"Review {first.review_id} does not start with a drafted event (seq {first.seq}); "
            "run `imr-assist ledger verify`."
        )
    p = first.payload
    state: dict[str, Any] = {
        "review_id": first.review_id,
        "kind": p["kind"],
        "item": p["item"],
        "case_summary": p.get("case_summary", ""),
        "decision": p.get("decision"),
        "drafted_decision": p.get("decision"),
        "stance": p["stance"],
        "status": ReviewStatus.DRAFTED,
        "reviewer": first.reviewer,
        "created_at": first.at,
        "generated_text": p["generated_text"],
        "final_text": p["generated_text"],
        "evidence": p["evidence"],
        "guideline_relied_on": p["guideline_relied_on"],
        "citations": p["citations"],
        "missing_documentation": p.get("missing_documentation", []),
        "settings_hash": p["settings_hash"],
        "drafter": p["drafter"],
        "verification": p.get("verification"),
        "exports": [],
    }
    for event in events[1:]:
        q = event.payload
        if event.kind is EventKind.EXPORTED:
            state["exports"].append(q["format"])
            continue
        state["reviewer"] = event.reviewer
        decided = (q.get("verification") or {}).get("decision")
        if decided is not None and state["kind"] == "draft":  # the reviewer's decision
            state["decision"] = decided
        if event.kind is EventKind.EDITED:
            state.update(final_text=q["text"], verification=q["verification"])
            if "determination" in q:  # item N of a letter of several items
                state.update(
                    determination_id=q["determination"]["id"],
                    item_number=q["determination"]["item"],
                )
        elif event.kind is EventKind.ACCEPTED:
            state.update(
                status=ReviewStatus.ACCEPTED,
                final_text=q["final_text"],
                override_reason=q.get("override_reason"),
                verification=q["verification"],
                decided_at=event.at,
            )
        elif event.kind is EventKind.REJECTED:
            state.update(
                status=ReviewStatus.REJECTED, reject_reason=q["reason"], decided_at=event.at
            )
    state["updated_at"] = events[-1].at
    state["diff"] = text_diff(state["generated_text"], state["final_text"])
    return Review.model_validate(state)


def _haystack(review: Review) -> str:
    parts = [
        review.review_id,
        review.determination_id or "",
        review.item,
        review.case_summary,
        review.generated_text,
        review.final_text,
        review.override_reason or "",
        review.reject_reason or "",
        *review.guideline_relied_on,
    ]
    return "\n".join(parts).casefold()
