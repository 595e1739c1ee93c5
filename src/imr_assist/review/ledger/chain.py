"""The hash chain (pure): the JSON that is hashed, the event hash, and the check of a whole chain.

One chain across the whole database. ``hash = sha256(prev_hash + canonical JSON of {seq,
review_id, kind, reviewer, at, payload})`` (sorted keys, no spaces, UTF-8); the first event's
prev_hash is `GENESIS_HASH` (64 zeros). `check_chain` takes the rows as stored and names the
first event that fails; `Ledger.verify()` reads the rows and calls it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from imr_assist.review.ledger.models import LedgerCheck

GENESIS_HASH = "0" * 64


def canonical_json(obj: Any) -> str:
    """The JSON that is hashed: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    prev_hash: str, seq: int, review_id: str, kind: str, reviewer: str, at: str, payload: Any
) -> str:
    """sha256 over prev_hash + canonical JSON of the event (see the module docstring)."""
    body = {
        "seq": seq,
        "review_id": review_id,
        "kind": kind,
        "reviewer": reviewer,
        "at": at,
        "payload": payload,
    }
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def check_chain(
    rows: Sequence[tuple[Any, ...]], last_issued: int, missing_triggers: Sequence[str]
) -> LedgerCheck:
    """Check stored rows (in seq order): hashes, links, no gaps, no truncation, triggers in place.

    `last_issued` is the highest seq SQLite ever issued; `missing_triggers` are the append-only
    triggers no longer in the database.
    """
    prev, checked = GENESIS_HASH, 0
    for row in rows:
        seq, review_id, kind, reviewer, at, payload_text, prev_hash, stored = row
        expected_seq = checked + 1
        if seq != expected_seq:
            return _bad(checked, expected_seq, f"event {expected_seq} is missing", prev)
        checked += 1
        if prev_hash != prev:
            return _bad(checked, seq, f"event {seq} does not link to event {seq - 1}", prev)
        try:
            payload = json.loads(payload_text)
        except json.JSONDecodeError:
            return _bad(checked, seq, f"event {seq} has an unreadable payload", prev)
        if event_hash(prev_hash, seq, review_id, kind, reviewer, at, payload) != stored:
            return _bad(checked, seq, f"event {seq} was altered (its hash does not match)", prev)
        prev = stored
    if last_issued > checked:
        return _bad(checked, checked + 1, f"events {checked + 1}..{last_issued} are missing", prev)
    gone = list(missing_triggers)
    if gone:
        return LedgerCheck(
            ok=False,
            events_checked=checked,
            first_bad_seq=None,
            message=f"The chain is intact but the append-only trigger(s) {', '.join(gone)} "
            "were removed; find out who opened the database directly.",
            head_hash=prev,
        )
    return LedgerCheck(
        ok=True,
        events_checked=checked,
        first_bad_seq=None,
        message=f"Ledger intact: {checked} events, chain head {prev[:16]}.",
        head_hash=prev,
    )


def _bad(checked: int, seq: int, what: str, head: str) -> LedgerCheck:
    return LedgerCheck(
        ok=False,
        events_checked=checked,
        first_bad_seq=seq,
        message=f"Ledger tampered: {what}. Events from {seq} on cannot be trusted; restore the "
        "ledger from a backup and compare.",
        head_hash=head,
    )
