"""The review ledger: an append-only, hash-chained record of what reviewers did with each draft.

API (the `imr-assist ledger` commands and the workspace pages are thin shells over it)::

    ledger = open_ledger(settings)          # <IMR_HOME>/ledger.sqlite3, created on first use
    review = ledger.start(draft, "Dr. Lee", evidence)   # Answer | DeterminationDraft + the
                                                        # passages it was drafted from -> drafted
    report = verify(text, evidence, embedder=...)       # verification.verify, on every edit
    review = ledger.edit(review.review_id, text, "Dr. Lee", report)               # -> edited
    accept_blockers(report)                 # [] or one line per sentence that blocks Accept
    review = ledger.accept(review_id, text, "Dr. Lee", report, override_reason=None)
    review = ledger.reject(review_id, "Wrong body region", "Dr. Lee")
    ledger.exported(review_id, "docx", "Dr. Lee")       # review.export.export_review does it
    ledger.reviews(status="accepted", reviewer="dr. lee", text="kit", limit=200) -> [Review]
    ledger.review(review_id) -> Review;  ledger.events(review_id=None) -> [LedgerEvent]
    ledger.verify() -> LedgerCheck          # the whole chain; names the first bad event

Rules: a reviewer name is required (stripped; blank is an error). `edit` and `accept` take the
`VerificationReport` of exactly the text they record (checked, whitespace aside), so the gate
cannot be fed a report of another text. `accept` refuses while `accept_blockers(report)` is not
empty unless a non-blank `override_reason` is given (it is recorded with the blockers). A review
is closed by accept or reject; acting on a closed review is an error. `edit` with the text
already recorded records nothing. Errors: `ReviewError` (workflow: what to do next),
`LedgerError` (the database cannot be used).

A `Review` is never stored: it is folded from its events (drafted -> edited* -> accepted |
rejected, exported* at any time), so the events are the single source of truth.

Storage: SQLite in WAL mode, `busy_timeout` 30 s, every write in `BEGIN IMMEDIATE` (the chain head
is read and the next event appended under one write lock, so concurrent reviewers in many
processes serialise and never lose an event). Table `events(seq, review_id, kind, reviewer, at,
payload, prev_hash, hash)`; triggers ABORT any UPDATE or DELETE.

Hash chain: one chain across the whole database. ``hash = sha256(prev_hash + canonical JSON of
{seq, review_id, kind, reviewer, at, payload})`` (sorted keys, no spaces, UTF-8); the first event's
prev_hash is 64 zeros. `verify()` recomputes every hash and link and checks that seq runs 1..N
with N equal to the highest seq SQLite ever issued (AUTOINCREMENT), so altering, deleting,
reordering or truncating events is detected, and reports missing append-only triggers. Someone
who can rewrite the file can recompute the whole chain: keep the `head_hash` that `verify()`
reports somewhere else (e.g. in each export) to anchor it.

Layout: `models.py` (errors, enums, pydantic models), `gate.py` (the accept gate, summaries,
diffs), `chain.py` (canonical JSON, event hash, chain check), `fold.py` (a `Review` from its
events), `store.py` (SQLite, `Ledger`, `open_ledger`). Import from `imr_assist.review.ledger`.
"""

from __future__ import annotations

from imr_assist.review.ledger.chain import GENESIS_HASH, canonical_json, event_hash
from imr_assist.review.ledger.gate import accept_blockers, summarize, text_diff
from imr_assist.review.ledger.models import (
    EventKind,
    EvidenceRef,
    LedgerCheck,
    LedgerEvent,
    Review,
    ReviewStatus,
    VerificationSummary,
)
from imr_assist.review.ledger.store import (
    BUSY_TIMEOUT_MS,
    LEDGER_FILE,
    SCHEMA_VERSION,
    Ledger,
    open_ledger,
)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "GENESIS_HASH",
    "LEDGER_FILE",
    "SCHEMA_VERSION",
    "EventKind",
    "EvidenceRef",
    "Ledger",
    "LedgerCheck",
    "LedgerEvent",
    "Review",
    "ReviewStatus",
    "VerificationSummary",
    "accept_blockers",
    "canonical_json",
    "event_hash",
    "open_ledger",
    "summarize",
    "text_diff",
]
