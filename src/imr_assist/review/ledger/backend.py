"""What a storage backend of the ledger provides: the only part that differs between the embedded
SQLite file (`sqlite.py`) and a shared PostgreSQL database (`postgres.py`).

The chain, its MACs, the head record and the review workflow are the same for both
(`chain.py`, `anchor.py`, `store.Ledger`); a backend stores rows and keeps one rule: a write
transaction holds the chain head, so the head is read and the next event appended atomically
while any other writer, in any process or on any machine, waits.

A row is ``(seq, review_id, kind, reviewer, at, payload_json, prev_hash, hash, mac)``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from imr_assist.errors import LedgerGoneError as Gone

__all__ = ["COLUMNS", "SCHEMA_VERSION", "Gone", "Row", "Storage", "Transaction"]

Row = tuple[Any, ...]
COLUMNS = "seq, review_id, kind, reviewer, at, payload, prev_hash, hash, mac"
SCHEMA_VERSION = 2  # 2: events.mac, the HMAC of each event's hash under the ledger key


class Transaction(Protocol):
    """One transaction on the ledger: a write holds the chain head until it ends."""

    def rows(self, review_id: str | None = None) -> list[Row]:
        """Events in seq order, of one review or all."""
        ...

    def has_review(self, review_id: str) -> bool:
        """Does any event belong to this review?"""
        ...

    def last(self) -> tuple[int, str]:
        """(seq, hash) of the last stored event ((0, GENESIS_HASH) when empty)."""
        ...

    def last_issued(self) -> int:
        """The highest seq the database ever issued (a cut tail leaves it above the rows)."""
        ...

    def insert(self, row: Row) -> None:
        """Append one event (write transactions only); its seq is `last_issued() + 1`."""
        ...

    def any_keyed(self) -> bool:
        """Does any event carry a MAC?"""
        ...

    def missing_triggers(self) -> list[str]:
        """The append-only triggers that are no longer in place (dropped or disabled)."""
        ...


class Storage(Protocol):
    """Where the events are kept."""

    where: str
    """How messages name the ledger: its file, or its URL with the password hidden."""
    anchor_path: Path
    """The key and head record are kept in `anchor_path.parent / "keys"`, the head record named
    after `anchor_path.stem` (`anchor.LedgerAnchor`)."""
    shared: bool
    """Several homes append to it: a home that first opens it anchors at the head it finds."""

    def exists(self) -> bool:
        """Was the ledger created (a missing one with a head record is reported missing)?"""
        ...

    def create(self) -> None:
        """Create the ledger, or bring an older schema up to date; safe to race."""
        ...

    def write(self) -> AbstractContextManager[Transaction]:
        """A write transaction holding the chain head; committed when the block ends."""
        ...

    def read(self) -> AbstractContextManager[Transaction]:
        """A read transaction: one consistent snapshot of the events."""
        ...

    def stamp(self) -> tuple[Any, ...]:
        """Changes whenever any event is written or changed (cheap; to cache a verify)."""
        ...
