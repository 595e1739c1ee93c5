"""`Ledger`, the review workflow over a storage backend, and `open_ledger`.

The backend (`sqlite.py`: one file in IMR_HOME, the default; `postgres.py`: a database shared by
several app machines, `IMR_LEDGER__URL`) only stores rows and holds the chain head during a
write (`backend.py`); the chain, its MACs and the head record (`chain.py`, `anchor.py`) and the
workflow below are the same for both.

The key and head record that anchor the chain live outside the ledger (`anchor.py`); each append
MACs its event under the key and, once committed, moves the head record forward. Opening a home
whose head record exists but whose ledger does not raises `LedgerError` (missing). A home that
first opens a shared ledger already holding events checks that its key signs them and anchors
its head record at the head it finds (each machine's record then covers the events up to it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from imr_assist.citations import format_citation
from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.errors import LedgerError, ReviewError
from imr_assist.models import Passage, VerificationReport
from imr_assist.review.ledger.anchor import LedgerAnchor
from imr_assist.review.ledger.backend import SCHEMA_VERSION, Gone, Storage, Transaction
from imr_assist.review.ledger.chain import (
    canonical_json,
    check_chain,
    event_hash,
    event_mac,
    make_head,
    parse_head,
)
from imr_assist.review.ledger.fold import _fold, _haystack
from imr_assist.review.ledger.gate import _check_report, _name, _report_of, _required, summarize
from imr_assist.review.ledger.models import (
    EventKind,
    EvidenceRef,
    LedgerCheck,
    LedgerEvent,
    Review,
    ReviewStatus,
)
from imr_assist.review.ledger.sqlite import BUSY_TIMEOUT_MS, LEDGER_FILE, SQLiteStore
from imr_assist.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["BUSY_TIMEOUT_MS", "LEDGER_FILE", "SCHEMA_VERSION", "Ledger", "open_ledger"]


def open_ledger(settings: Settings) -> Ledger:
    """The ledger of a data directory: `settings.home / "ledger.sqlite3"`, or the shared
    PostgreSQL ledger at `settings.ledger.url` when set; keyed with `settings.ledger.key_file`
    (default `settings.home / "keys" / "ledger.key"`)."""
    url = settings.ledger.url
    if url is not None:
        from imr_assist.review.ledger.postgres import PostgresStore  # psycopg only when used

        store: Storage = PostgresStore(url.get_secret_value(), settings.home)
    else:
        store = SQLiteStore(settings.home / LEDGER_FILE)
    return Ledger(store, key_file=settings.ledger.key_file)


class Ledger:
    """The review ledger; safe to share across threads and processes (and, with PostgreSQL,
    machines).

    `store` is a ledger file (a path: SQLite) or a backend (`SQLiteStore`, `PostgresStore`).
    Each call opens its own connection, so one `Ledger` can serve a whole server process.
    `key_file` is where the chain's key is kept (default: `keys/ledger.key` beside the file, or
    in the home of a shared ledger). `clock` and `new_id` are seams for tests.
    """

    def __init__(
        self,
        store: Path | str | Storage,
        *,
        key_file: Path | str | None = None,
        clock: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.store: Storage = SQLiteStore(store) if isinstance(store, (str, Path)) else store
        self.path = self.store.anchor_path  # the SQLite file; beside a shared ledger's anchor
        self.where = self.store.where
        self.anchor = LedgerAnchor(self.store.anchor_path, Path(key_file) if key_file else None)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._new_id = new_id or (lambda: uuid.uuid4().hex[:12])
        if not self.store.exists() and self.anchor.head_path.exists():
            raise self._missing()
        self.store.create()
        try:
            self._key = self._init_anchor()
        except OSError as exc:
            raise LedgerError(
                f"Cannot create the ledger key or head record in {self.anchor.head_path.parent} "
                f"or {self.anchor.key_path.parent} ({type(exc).__name__}: {exc.strerror}); check "
                "IMR_LEDGER__KEY_FILE and the folders' permissions."
            ) from exc

    # ------------------------------------------------------------------ actions

    def start(
        self,
        draft: Answer | DeterminationDraft,
        reviewer: str,
        evidence: Sequence[Passage],
    ) -> Review:
        """Record a generated draft (event `drafted`) and return the open review.

        `evidence` is the passages the draft was drafted from; their text hashes are frozen
        into the review, and every passage the draft cites must be among them.
        """
        name = _name(reviewer)
        by_id = {p.id: p for p in evidence}
        missing = [c.id for c in draft.citations if c.id not in by_id]
        if missing:
            raise ReviewError(
                f"The evidence given does not hold the cited passage(s) {', '.join(missing)}; "
                "pass the passages the draft was drafted from."
            )
        snapshot = [
            EvidenceRef(
                id=p.id,
                citation=format_citation(p),
                text_sha256=hashlib.sha256(p.text.encode("utf-8")).hexdigest(),
            ).model_dump(mode="json")
            for p in by_id.values()
        ]
        if isinstance(draft, DeterminationDraft):
            fields: dict[str, Any] = {
                "kind": "draft",
                "item": draft.item,
                "case_summary": draft.case_summary,
                "decision": draft.decision.value,
                "generated_text": draft.text,
                "guideline_relied_on": draft.guideline_relied_on,
                "missing_documentation": draft.missing_documentation,
            }
        else:
            fields = {
                "kind": "ask",
                "item": draft.query,
                "case_summary": "",
                "decision": None,
                "generated_text": draft.text,
                "guideline_relied_on": [],
                "missing_documentation": [],
            }
        payload = {
            **fields,
            "stance": draft.stance.value,
            "citations": [c.model_dump(mode="json") for c in draft.citations],
            "evidence": snapshot,
            "settings_hash": draft.settings_hash,
            "drafter": draft.drafter,
            "verification": summarize(_report_of(draft)).model_dump(mode="json"),
        }
        with self._write() as tx:
            review_id = self._new_id()
            if tx.has_review(review_id):
                raise LedgerError(f"Review id {review_id} already exists; try again.")
            self._append(tx, review_id, EventKind.DRAFTED, name, payload)
            return self._load(tx, review_id)

    def edit(self, review_id: str, text: str, reviewer: str, report: VerificationReport) -> Review:
        """Record an edited text with its verification (nothing when the text is unchanged)."""
        name = _name(reviewer)
        text = _required(text, "The edited text is empty; write the rationale or reject the draft.")
        _check_report(text, report)
        with self._write() as tx:
            review = self._open_review(tx, review_id, "edit")
            if text == review.final_text:
                return review
            payload = {"text": text, "verification": summarize(report).model_dump(mode="json")}
            self._append(tx, review_id, EventKind.EDITED, name, payload)
            return self._load(tx, review_id)

    def accept(
        self,
        review_id: str,
        final_text: str,
        reviewer: str,
        report: VerificationReport,
        override_reason: str | None = None,
    ) -> Review:
        """Accept the final text. Refused while `accept_blockers(report)` is not empty, unless
        a non-blank `override_reason` is given (recorded with the blockers)."""
        name = _name(reviewer)
        text = _required(final_text, "The final text is empty; write it before accepting.")
        _check_report(text, report)
        summary = summarize(report)
        reason = (override_reason or "").strip() or None
        if summary.decision_conflicts:
            # no override makes a letter contradict itself: the text must agree with the decision
            listed = "\n".join(f"- {line}" for line in summary.decision_conflicts)
            raise ReviewError(
                f"Cannot accept review {review_id}: the text and the decision disagree:\n"
                f"{listed}\nChange the decision or the conclusion so they agree; no override "
                "accepts a letter that contradicts itself."
            )
        if summary.blockers and reason is None:
            listed = "\n".join(f"- {line}" for line in summary.blockers)
            raise ReviewError(
                f"Cannot accept review {review_id}: {len(summary.blockers)} sentence(s) block "
                f"acceptance:\n{listed}\nFix or re-cite them and verify again, or give an "
                "override reason."
            )
        with self._write() as tx:
            self._open_review(tx, review_id, "accept")
            payload = {
                "final_text": text,
                "override_reason": reason,
                "verification": summary.model_dump(mode="json"),
            }
            self._append(tx, review_id, EventKind.ACCEPTED, name, payload)
            return self._load(tx, review_id)

    def reject(self, review_id: str, reason: str, reviewer: str) -> Review:
        """Reject the draft; the reason is required."""
        name = _name(reviewer)
        why = _required(reason, "A reason is required to reject a draft; say what is wrong.")
        with self._write() as tx:
            self._open_review(tx, review_id, "reject")
            self._append(tx, review_id, EventKind.REJECTED, name, {"reason": why})
            return self._load(tx, review_id)

    def exported(self, review_id: str, fmt: str, reviewer: str) -> Review:
        """Record that the review was exported in a format ('md' or 'docx')."""
        name = _name(reviewer)
        if fmt not in {"md", "docx"}:
            raise ReviewError(f"Unknown export format {fmt!r}: use 'md' or 'docx'.")
        with self._write() as tx:
            self._load(tx, review_id)
            self._append(tx, review_id, EventKind.EXPORTED, name, {"format": fmt})
            return self._load(tx, review_id)

    # ------------------------------------------------------------------ reading

    def review(self, review_id: str) -> Review:
        """One review, folded from its events."""
        with self._read() as tx:
            return self._load(tx, review_id)

    def events(self, review_id: str | None = None) -> list[LedgerEvent]:
        """Events in ledger order, of one review or all."""
        with self._read() as tx:
            rows = tx.rows(review_id)
        return [_event(row) for row in rows]

    def reviews(
        self,
        status: ReviewStatus | str | None = None,
        reviewer: str | None = None,
        text: str | None = None,
        limit: int | None = 200,
    ) -> list[Review]:
        """Reviews, most recently active first, filtered by status, by a reviewer who acted on
        them (case-insensitive), and by text found (case-insensitive) in the id, item, case
        summary, texts, reasons or guideline lines."""
        try:
            wanted = ReviewStatus(status) if status else None
        except ValueError:
            choices = ", ".join(s.value for s in ReviewStatus)
            raise ReviewError(f"Unknown status {status!r}: use one of {choices}.") from None
        who = (reviewer or "").strip().casefold()
        needle = (text or "").strip().casefold()
        grouped: dict[str, list[LedgerEvent]] = {}
        for event in self.events():
            grouped.setdefault(event.review_id, []).append(event)
        out: list[Review] = []
        for events in sorted(grouped.values(), key=lambda evs: -evs[-1].seq):
            review = _fold_events(events)
            if wanted and review.status is not wanted:
                continue
            if who and who not in {e.reviewer.casefold() for e in events}:
                continue
            if needle and needle not in _haystack(review):
                continue
            out.append(review)
            if limit is not None and len(out) >= limit:
                break
        return out

    def verify(self, head: str | None = None) -> LedgerCheck:
        """Check the whole chain: hashes, links, no gaps, no truncation, triggers in place, every
        MAC under the ledger key, and the head record kept outside the ledger. `head` is a chain
        head recorded elsewhere (an export, `ledger verify` output): it must be an event of the
        chain (a full hash or a prefix of at least 12 hex digits)."""
        wanted = parse_head(head) if head is not None else None
        # The head record first: it only moves after a commit, so the rows read next hold it.
        record = self.anchor.read_head()
        with self._read() as tx:  # one snapshot: rows, highest seq issued and triggers agree
            rows = tx.rows()
            last_issued = tx.last_issued()
            gone = tx.missing_triggers()
        return check_chain(
            rows, last_issued, gone, key=self._key, head=record, expected_head=wanted
        )

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last event ((0, 64 zeros) when empty): print it where it is kept
        apart from the ledger (exports do); `verify(head=hash)` checks it later."""
        with self._read() as tx:
            return tx.last()

    def stamp(self) -> tuple[Any, ...]:
        """A value that changes whenever any event is written or changed, by anyone, and when
        the head record moves: cache a `verify()` under it (cheap, unlike verify)."""
        record = self.anchor.head_path
        moved = (record.stat().st_mtime_ns,) if record.exists() else ()
        try:
            return (*self.store.stamp(), *moved)
        except Gone:
            raise self._missing() from None

    # ------------------------------------------------------------------ internals

    def _init_anchor(self) -> bytes:
        """The ledger key; on a new ledger, or one from before the key, also the first head
        record. A keyed ledger whose head record is gone gets none (verify() reports it),
        unless it is shared: a home joining it anchors at the head it finds."""
        record = self.anchor.read_head()
        key = self.anchor.read_key()
        if key is None and record is not None:
            raise LedgerError(
                f"The ledger key {self.anchor.key_path} is missing, but the ledger {self.where} "
                "was signed with it: restore the key from your backup (set IMR_LEDGER__KEY_FILE "
                "if it is kept elsewhere). Without it the ledger can be neither verified nor "
                "written."
            )
        if record is not None and key is not None:
            return key
        with self._read() as tx:
            keyed = tx.any_keyed()
            seq, digest = tx.last()
            last_mac = tx.rows()[-1][8] if keyed and self.store.shared else None
        if key is None and keyed and self.store.shared:
            raise LedgerError(
                f"The shared ledger {self.where} is signed with a key this machine does not "
                f"have: copy the ledger key from a machine that already uses it (its "
                f"IMR_HOME/keys/ledger.key, or IMR_LEDGER__KEY_FILE) to {self.anchor.key_path}, "
                "or set IMR_LEDGER__KEY_FILE to it. Every machine sharing a ledger needs the "
                "same key."
            )
        if key is None:
            key, _ = self.anchor.create_key()
        if record is None and not keyed:
            if seq:
                log.warning(
                    "ledger %s predates its key: anchoring its %d events now", self.where, seq
                )
            self.anchor.create_head(make_head(key, seq, digest, seq + 1))
        elif record is None and self.store.shared:
            if last_mac != event_mac(key, digest):
                raise LedgerError(
                    f"The shared ledger {self.where} is not signed with this machine's key "
                    f"{self.anchor.key_path}: copy the key from a machine that already uses the "
                    "ledger (every machine sharing it needs the same key), or run `imr-assist "
                    "ledger verify` there if you suspect the ledger was rewritten."
                )
            log.warning(
                "this home first opens the shared ledger %s: anchoring it at event %d",
                self.where,
                seq,
            )
            self.anchor.create_head(make_head(key, seq, digest, 1))
        return key

    def _advance(self, seq: int, digest: str) -> None:
        """Move the head record; the event is committed, so a failure here only leaves the
        record behind (verify() accepts that) and is logged, not raised."""
        try:
            self.anchor.advance(self._key, seq, digest)
        except (OSError, LedgerError) as exc:
            log.warning("ledger head record not moved to event %d: %s", seq, exc)

    def _missing(self) -> LedgerError:
        why = (
            f"its head record {self.anchor.head_path} shows that one was created here"
            if self.anchor.head_path.exists()
            else "it was deleted while in use"
        )
        return LedgerError(
            f"The ledger {self.where} is missing: {why}. Restore the ledger from a backup (and "
            "compare with `imr-assist ledger verify`). To start a new ledger on purpose, move "
            f"the folder {self.anchor.head_path.parent} aside first."
        )

    @contextmanager
    def _write(self) -> Iterator[_Writing]:
        appended: list[tuple[int, str]] = []
        try:
            with self.store.write() as tx:
                yield _Writing(tx, appended)
        except Gone:
            raise self._missing() from None
        if appended:
            self._advance(*max(appended))

    @contextmanager
    def _read(self) -> Iterator[Transaction]:
        try:
            with self.store.read() as tx:
                yield tx
        except Gone:
            raise self._missing() from None

    def _append(
        self,
        tx: _Writing,
        review_id: str,
        kind: EventKind,
        reviewer: str,
        payload: dict[str, Any],
    ) -> None:
        seq = tx.last_issued() + 1
        _, prev = tx.last()
        at = self._clock().astimezone(UTC).isoformat(timespec="seconds")
        digest = event_hash(prev, seq, review_id, kind.value, reviewer, at, payload)
        mac = event_mac(self._key, digest)
        tx.insert(
            (seq, review_id, kind.value, reviewer, at, canonical_json(payload), prev, digest, mac)
        )
        tx.appended.append((seq, digest))

    def _load(self, tx: Transaction, review_id: str) -> Review:
        rows = tx.rows(review_id)
        if not rows:
            raise ReviewError(
                f"No review {review_id!r} in the ledger {self.where}; "
                "`imr-assist ledger list` shows the ids."
            )
        return _fold_events([_event(r) for r in rows])

    def _open_review(self, tx: Transaction, review_id: str, action: str) -> Review:
        review = self._load(tx, review_id)
        if review.status is not ReviewStatus.DRAFTED:
            raise ReviewError(
                f"Cannot {action} review {review_id}: it was already {review.status.value} by "
                f"{review.reviewer} at {review.decided_at}. Start a new draft to revisit it."
            )
        return review


class _Writing:
    """A write transaction that remembers the (seq, hash) it appended, to move the head record."""

    def __init__(self, tx: Transaction, appended: list[tuple[int, str]]) -> None:
        self._tx = tx
        self.appended = appended

    def rows(self, review_id: str | None = None) -> list[tuple[Any, ...]]:
        return self._tx.rows(review_id)

    def has_review(self, review_id: str) -> bool:
        return self._tx.has_review(review_id)

    def last(self) -> tuple[int, str]:
        return self._tx.last()

    def last_issued(self) -> int:
        return self._tx.last_issued()

    def insert(self, row: tuple[Any, ...]) -> None:
        self._tx.insert(row)

    def any_keyed(self) -> bool:
        return self._tx.any_keyed()

    def missing_triggers(self) -> list[str]:
        return self._tx.missing_triggers()


def _event(row: tuple[Any, ...]) -> LedgerEvent:
    seq, review_id, kind, reviewer, at, payload, prev_hash, digest, mac = row
    try:
        return LedgerEvent(
            seq=seq,
            review_id=review_id,
            kind=EventKind(kind),
            reviewer=reviewer,
            at=at,
            payload=json.loads(payload),
            prev_hash=prev_hash,
            hash=digest,
            mac=mac,
        )
    except (ValidationError, TypeError, ValueError) as exc:
        raise _unreadable(seq, review_id, digest, exc) from None


def _fold_events(events: list[LedgerEvent]) -> Review:
    """`_fold`, with a damaged payload reported by ids and hash (never by its content)."""
    try:
        return _fold(events)
    except (ValidationError, KeyError, TypeError, ValueError) as exc:
        raise _unreadable(events[0].seq, events[0].review_id, events[0].hash, exc) from None


def _unreadable(seq: Any, review_id: Any, digest: Any, exc: Exception) -> LedgerError:
    """A damaged event, named by ids and hash only: its payload holds case text (PHI), and
    pydantic and json errors quote the input, so neither is in the message."""
    if isinstance(exc, ValidationError):
        what = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'event'}: {e['type']}" for e in exc.errors()[:3]
        )
    elif isinstance(exc, KeyError):
        what = f"missing field {str(exc.args[0])[:40]!r}" if exc.args else "missing field"
    else:
        what = type(exc).__name__
    return LedgerError(
        f"Event {seq} of review {str(review_id)[:40]!r} (hash {str(digest)[:16]}) cannot be "
        f"read ({what}); the ledger was damaged or tampered with. Run `imr-assist ledger "
        "verify` and restore the ledger from a backup."
    )
