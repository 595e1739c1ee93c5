"""The ledger's types: errors, event kinds, review status, and the models it records and returns.

`LedgerEvent` is a stored row; `Review` is folded from a review's events (see `fold.py`);
`LedgerCheck` is what `Ledger.verify()` reports.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from imr_assist.models import DraftDecision, ResolvedCitation, Stance, StrictModel


class EventKind(StrEnum):
    """What happened to a review."""

    DRAFTED = "drafted"
    EDITED = "edited"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPORTED = "exported"


class ReviewStatus(StrEnum):
    """Where a review stands; accepted and rejected are final."""

    DRAFTED = "drafted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class LedgerEvent(StrictModel):
    """One row of the append-only, hash-chained event log."""

    seq: int = Field(description="Position in the ledger (1, 2, ...), one chain for all reviews")
    review_id: str = Field(description="Review the event belongs to")
    kind: EventKind = Field(description="drafted, edited, accepted, rejected or exported")
    reviewer: str = Field(description="Who did it")
    at: str = Field(description="When, UTC ISO 8601")
    payload: dict[str, Any] = Field(description="What was recorded (texts, reasons, summaries)")
    prev_hash: str = Field(description="Hash of the previous event (64 zeros for the first)")
    hash: str = Field(description="sha256 of prev_hash + canonical JSON of this event")
    mac: str | None = Field(
        default=None,
        description="HMAC-SHA256 of the hash under the ledger key (None: written before the key)",
    )


class EvidenceRef(StrictModel):
    """A passage the draft was made from, frozen: its id, citation and a hash of its text."""

    id: str = Field(description="Citation id")
    citation: str = Field(description="Readable citation with pages, e.g. 'ODG 2023, p. 12'")
    text_sha256: str = Field(description="sha256 of the passage text (UTF-8) at drafting time")


class VerificationSummary(StrictModel):
    """The verification of the text as last recorded, with what blocked Accept."""

    supported: int = Field(description="Sentences supported")
    weak: int = Field(description="Sentences weakly supported")
    unsupported: int = Field(description="Sentences unsupported")
    uncited: int = Field(description="Factual sentences without a citation")
    fabricated_ids: list[str] = Field(description="Cited ids that resolve to no evidence")
    blockers: list[str] = Field(
        description="Lines from accept_blockers(); empty = may accept, else an override reason "
        "is needed"
    )
    decision: DraftDecision | None = Field(
        default=None, description="The decision the text was verified against (the reviewer's)"
    )
    decision_conflicts: list[str] = Field(
        default_factory=list,
        description="Where that decision and the text's conclusion disagree: Accept is refused "
        "while any is left, whatever the override",
    )


class Review(StrictModel):
    """A draft under review, folded from its events."""

    review_id: str = Field(description="Ledger id of the review")
    kind: Literal["ask", "draft"] = Field(description="An answer (ask) or a determination draft")
    item: str = Field(description="The item as requested (draft) or the question (ask)")
    case_summary: str = Field(default="", description="Case facts given with the request")
    decision: DraftDecision | None = Field(
        default=None,
        description="The decision: as accepted (or as last recorded with an edit while open); "
        "None for an answer",
    )
    drafted_decision: DraftDecision | None = Field(
        default=None, description="The decision as drafted (None for an answer)"
    )
    stance: Stance = Field(description="What the governing evidence says")
    status: ReviewStatus = Field(description="drafted (open), accepted or rejected")
    reviewer: str = Field(description="Who accepted or rejected it; while open, who acted last")
    created_at: str = Field(description="When it was drafted into the ledger, UTC ISO 8601")
    updated_at: str = Field(description="Time of its last event, UTC ISO 8601")
    decided_at: str | None = Field(default=None, description="When accepted or rejected")
    generated_text: str = Field(description="The text as drafted")
    final_text: str = Field(description="The accepted text; while open, the latest edit")
    diff: str = Field(description="Unified diff generated -> final, one sentence a line")
    evidence: list[EvidenceRef] = Field(description="Snapshot of the evidence drafted from")
    guideline_relied_on: list[str] = Field(description="'Decision based on ...' lines")
    citations: list[ResolvedCitation] = Field(description="Passages the generated text cites")
    missing_documentation: list[str] = Field(
        default_factory=list, description="Documentation whose absence decided the outcome"
    )
    settings_hash: str = Field(description="Index hash of the evidence")
    drafter: str = Field(description="Which drafter wrote the generated text")
    override_reason: str | None = Field(
        default=None, description="Why the reviewer accepted despite blockers"
    )
    reject_reason: str | None = Field(default=None, description="Why the draft was rejected")
    verification: VerificationSummary | None = Field(
        default=None, description="Verification of the text last recorded"
    )
    exports: list[str] = Field(default_factory=list, description="Formats exported, in order")
    determination_id: str | None = Field(
        default=None,
        description="The determination (one letter of several items) this review is an item of",
    )
    item_number: int | None = Field(
        default=None, description="Its 1-based item number in that determination's letter"
    )


class HeadRecord(StrictModel):
    """The chain head as recorded outside the ledger file (IMR_HOME/keys/ledger.head), MACed
    with the ledger key: the ledger must still hold this event, with this hash."""

    seq: int = Field(description="Seq of the last event recorded (0: an empty ledger)")
    hash: str = Field(description="Hash of that event (64 zeros for an empty ledger)")
    keyed_from: int = Field(
        description="First seq that must carry a MAC (1 unless the ledger predates the key)"
    )
    mac: str = Field(description="HMAC-SHA256 of seq, hash and keyed_from under the ledger key")


class LedgerCheck(StrictModel):
    """Outcome of `Ledger.verify()`."""

    ok: bool = Field(description="True when every event and link checks out")
    events_checked: int = Field(description="Events read")
    first_bad_seq: int | None = Field(description="First event that fails (or is missing)")
    message: str = Field(description="What was found, and what to do")
    head_hash: str = Field(description="Hash of the last event; keep it elsewhere to anchor")
    anchored: bool = Field(
        default=False,
        description="True when MACs and the head record were checked with the ledger key",
    )
