"""The hash chain (pure): the JSON that is hashed, the event hash, its MAC, and the check of a
whole chain. No I/O: every storage backend (SQLite, PostgreSQL) reads its rows and `Ledger`
calls `check_chain`.

One chain across the whole database. ``hash = sha256(prev_hash + canonical JSON of {seq,
review_id, kind, reviewer, at, payload})`` (sorted keys, no spaces, UTF-8); the first event's
prev_hash is `GENESIS_HASH` (64 zeros). Anyone who can write the file can recompute that chain,
so it is anchored with a key kept outside the ledger file (`anchor.py`):

- every event also carries ``mac = HMAC-SHA256(key, "event:" + hash)`` (`event_mac`): a chain
  recomputed after an edit, or a forged event, has no valid MAC without the key;
- a `HeadRecord` outside the ledger file holds the last event's seq and hash, MACed
  (`head_mac`): cutting the tail, deleting every row or swapping in an older copy of the file
  leaves the chain shorter than the record;
- `check_chain(..., expected_head=H)` checks a head recorded elsewhere (an export, a ticket) is
  still an event of the chain.

Events before `HeadRecord.keyed_from` (written by a ledger from before the key) carry no MAC;
the MAC of the first keyed event covers them through the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from imr_assist.errors import LedgerError
from imr_assist.review.ledger.models import HeadRecord, LedgerCheck

GENESIS_HASH = "0" * 64
_HEAD = "kept outside the ledger (in this home's keys folder)"


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


def event_mac(key: bytes, digest: str) -> str:
    """HMAC-SHA256 under the ledger key of an event's hash: only the key holder can make it."""
    return hmac.new(key, f"event:{digest}".encode(), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, digest: str, keyed_from: int) -> str:
    """HMAC-SHA256 under the ledger key of a head record's fields."""
    body = canonical_json({"seq": seq, "hash": digest, "keyed_from": keyed_from})
    return hmac.new(key, f"head:{body}".encode(), hashlib.sha256).hexdigest()


def make_head(key: bytes, seq: int, digest: str, keyed_from: int) -> HeadRecord:
    """The head record of event `seq` (0 and `GENESIS_HASH` for an empty ledger)."""
    return HeadRecord(
        seq=seq, hash=digest, keyed_from=keyed_from, mac=head_mac(key, seq, digest, keyed_from)
    )


def check_chain(
    rows: Sequence[tuple[Any, ...]],
    last_issued: int,
    missing_triggers: Sequence[str],
    *,
    key: bytes | None = None,
    head: HeadRecord | None = None,
    expected_head: str | None = None,
) -> LedgerCheck:
    """Check stored rows (in seq order): hashes, links, no gaps, no truncation, triggers in place;
    with `key`, the `head` record kept outside the file (None: it is missing, a finding) and
    every MAC from `head.keyed_from` on;
    with `expected_head`, that a head recorded elsewhere (a full hash or a prefix of at least
    12 hex digits) is an event of the chain.

    A row is ``(seq, review_id, kind, reviewer, at, payload_json, prev_hash, hash, mac)`` (mac
    may be None, or absent for a backend without keys). `last_issued` is the highest seq the
    database ever issued; `missing_triggers` are the append-only triggers no longer in place.
    """
    check = _check(rows, last_issued, missing_triggers, key, head, expected_head)
    return check.model_copy(update={"anchored": key is not None})


def _check(
    rows: Sequence[tuple[Any, ...]],
    last_issued: int,
    missing_triggers: Sequence[str],
    key: bytes | None,
    head: HeadRecord | None,
    expected_head: str | None,
) -> LedgerCheck:
    keyed_from = head.keyed_from if head is not None else 1
    prev, checked, found_at = GENESIS_HASH, 0, None
    wanted = parse_head(expected_head) if expected_head is not None else ""
    if key is not None and head is not None:
        signed = head_mac(key, head.seq, head.hash, head.keyed_from)
        if not hmac.compare_digest(signed, head.mac):
            return _bad(0, None, f"the head record {_HEAD} is not signed with the ledger key", prev)
    for row in rows:
        seq, review_id, kind, reviewer, at, payload_text, prev_hash, stored = row[:8]
        mac = row[8] if len(row) > 8 else None
        expected_seq = checked + 1
        if seq != expected_seq:
            return _bad(checked, expected_seq, f"event {expected_seq} is missing", prev)
        checked += 1
        if prev_hash != prev:
            return _bad(checked, seq, f"event {seq} does not link to event {seq - 1}", prev)
        try:
            payload = json.loads(payload_text)
        except (TypeError, json.JSONDecodeError):
            return _bad(checked, seq, f"event {seq} has an unreadable payload", prev)
        if event_hash(prev_hash, seq, review_id, kind, reviewer, at, payload) != stored:
            return _bad(checked, seq, f"event {seq} was altered (its hash does not match)", prev)
        if key is not None and not _signed(key, mac, stored, required=seq >= keyed_from):
            return _bad(
                checked,
                seq,
                f"event {seq} is not signed with the ledger key (its MAC is missing or does not "
                "match): the chain was recomputed or the event forged",
                prev,
            )
        if head is not None and seq == head.seq and stored != head.hash:
            return _bad(
                checked,
                seq,
                f"event {seq} is not the event the head record names: the chain was rewritten",
                prev,
            )
        if wanted and found_at is None and stored.startswith(wanted):
            found_at = seq
        prev = stored
    if last_issued > checked:
        return _bad(checked, checked + 1, f"events {checked + 1}..{last_issued} are missing", prev)
    if head is not None and head.seq > checked:
        return _bad(
            checked,
            checked + 1,
            f"events {checked + 1}..{head.seq} are missing (the head record {_HEAD} names "
            f"event {head.seq}, hash {head.hash[:16]})",
            prev,
        )
    if key is not None and head is None:
        return _bad(
            checked,
            None,
            f"the head record {_HEAD} is missing ({checked} events checked), so events may "
            "have been cut",
            prev,
        )
    if wanted and found_at is None:
        return _bad(
            checked,
            None,
            f"the head {wanted[:16]} recorded elsewhere is not an event of this chain: events "
            "were cut or the chain was recomputed",
            prev,
        )
    gone = list(missing_triggers)
    if gone:
        return LedgerCheck(
            ok=False,
            events_checked=checked,
            first_bad_seq=None,
            message=f"The chain is intact but the append-only trigger(s) {', '.join(gone)} "
            "were removed or disabled; find out who opened the database directly.",
            head_hash=prev,
        )
    anchored = " signed with the ledger key and matching the head record," if key else ""
    given = f" The head given is event {found_at}." if found_at is not None else ""
    return LedgerCheck(
        ok=True,
        events_checked=checked,
        first_bad_seq=None,
        message=f"Ledger intact: {checked} events,{anchored} chain head {prev[:16]}.{given}",
        head_hash=prev,
    )


def _signed(key: bytes, mac: Any, digest: str, *, required: bool) -> bool:
    """Does the event carry the MAC of its hash? (No MAC is fine only where none is required.)"""
    if mac is None:
        return not required
    return hmac.compare_digest(str(mac), event_mac(key, digest))


def parse_head(text: str) -> str:
    """A head hash as given by a reviewer: 12 to 64 hex digits, case and spaces ignored."""
    wanted = "".join(text.split()).lower()
    if not 12 <= len(wanted) <= 64 or any(c not in "0123456789abcdef" for c in wanted):
        raise LedgerError(
            f"{text.strip()[:70]!r} is not a chain head: give the hash printed by `imr-assist "
            "ledger verify` or in an export (12 to 64 hex digits)."
        )
    return wanted


def _bad(checked: int, seq: int | None, what: str, head: str) -> LedgerCheck:
    since = f"Events from {seq} on cannot be trusted; r" if seq is not None else "R"
    return LedgerCheck(
        ok=False,
        events_checked=checked,
        first_bad_seq=seq,
        message=f"Ledger tampered: {what}. {since}estore the ledger from a backup and compare.",
        head_hash=head,
    )
