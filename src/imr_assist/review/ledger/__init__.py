"""The review ledger: an append-only, hash-chained record of what reviewers did with each draft.

API (the `imr-assist ledger` commands and the workspace pages are thin shells over it)::

    ledger = open_ledger(settings)          # <IMR_HOME>/ledger.sqlite3, created on first use
                                            # (0600, in a 0700 home), keyed by keys/ledger.key;
                                            # or the PostgreSQL ledger at IMR_LEDGER__URL
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
    ledger.verify(head=HASH)                # ... and a head recorded elsewhere is still in it
    ledger.head() -> (seq, hash)            # the chain head, printed in every export

Rules: a reviewer name is required (stripped; blank is an error). `edit` and `accept` take the
`VerificationReport` of exactly the text they record (checked, whitespace aside), so the gate
cannot be fed a report of another text. `accept` refuses while `accept_blockers(report)` is not
empty unless a non-blank `override_reason` is given (it is recorded with the blockers). A review
is closed by accept or reject; acting on a closed review is an error. `edit` with the text
already recorded records nothing. Errors: `ReviewError` (workflow: what to do next),
`LedgerError` (the database cannot be used).

A `Review` is never stored: it is folded from its events (drafted -> edited* -> accepted |
rejected, exported* at any time), so the events are the single source of truth.

Storage: SQLite by default (`sqlite.py`: one file in IMR_HOME, WAL mode, `busy_timeout` 30 s,
every write in `BEGIN IMMEDIATE`), or PostgreSQL shared by several app machines when
`IMR_LEDGER__URL=postgresql://user@host:port/db` is set (`postgres.py`: schema `imr_ledger`,
every write takes the head row `FOR UPDATE`). Either way the chain head is read and the next
event appended in one transaction while every other writer waits, so concurrent reviewers in
many processes (or machines) serialise and never lose an event; triggers refuse any UPDATE or
DELETE of an event. Only storage differs (`backend.py`, the interface); the chain, its anchor
and the workflow are shared.

Hash chain: one chain across the whole database. ``hash = sha256(prev_hash + canonical JSON of
{seq, review_id, kind, reviewer, at, payload})`` (sorted keys, no spaces, UTF-8); the first event's
prev_hash is 64 zeros. `verify()` recomputes every hash and link and checks that seq runs 1..N
with N equal to the highest seq the database ever issued (SQLite's AUTOINCREMENT, PostgreSQL's
head row), so altering, deleting,
reordering or truncating events is detected, and reports missing append-only triggers.

Anchor (someone who can rewrite the file can recompute that chain and reset the sequence): each
event carries an HMAC of its hash under a key kept outside the file (IMR_HOME/keys/ledger.key,
0600, or IMR_LEDGER__KEY_FILE), and a MACed head record (keys/ledger.head) names the last event.
A recomputed chain or forged event has no valid MAC; a cut tail, emptied table or older copy
of the file falls short of the head record; a deleted ledger file is reported missing (the head
record shows one existed), never recreated empty. What the key holder or someone who also
rolls back the keys folder can do is caught by heads kept elsewhere: every export prints the
head, and `verify(head=HASH)` (`imr-assist ledger verify --head HASH`) checks it is still in the
chain. A damaged event is reported by seq, review id and hash, never by its content (PHI).

Layout: `models.py` (enums, pydantic models), `gate.py` (the accept gate, summaries, diffs),
`chain.py` (canonical JSON, event hash and MAC, head record, chain check: pure, shared by every
storage backend), `anchor.py` (key and head record files), `fold.py` (a `Review` from its
events), `backend.py` (what a storage backend provides), `sqlite.py` and `postgres.py` (the
two backends), `store.py` (`Ledger`, `open_ledger`). Import from `imr_assist.review.ledger`.
"""

from __future__ import annotations

from imr_assist.review.ledger.anchor import LedgerAnchor
from imr_assist.review.ledger.backend import SCHEMA_VERSION, Storage
from imr_assist.review.ledger.chain import GENESIS_HASH, canonical_json, event_hash, event_mac
from imr_assist.review.ledger.gate import accept_blockers, summarize, text_diff
from imr_assist.review.ledger.models import (
    EventKind,
    EvidenceRef,
    HeadRecord,
    LedgerCheck,
    LedgerEvent,
    Review,
    ReviewStatus,
    VerificationSummary,
)
from imr_assist.review.ledger.sqlite import BUSY_TIMEOUT_MS, LEDGER_FILE, SQLiteStore
from imr_assist.review.ledger.store import Ledger, open_ledger

__all__ = [
    "BUSY_TIMEOUT_MS",
    "GENESIS_HASH",
    "LEDGER_FILE",
    "SCHEMA_VERSION",
    "EventKind",
    "EvidenceRef",
    "HeadRecord",
    "Ledger",
    "LedgerAnchor",
    "LedgerCheck",
    "LedgerEvent",
    "Review",
    "ReviewStatus",
    "SQLiteStore",
    "Storage",
    "VerificationSummary",
    "accept_blockers",
    "canonical_json",
    "event_hash",
    "event_mac",
    "open_ledger",
    "summarize",
    "text_diff",
]
