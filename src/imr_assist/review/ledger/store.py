"""The ledger's storage: one SQLite file, the `Ledger` class over it, and `open_ledger`.

SQLite in WAL mode, `busy_timeout` 30 s, every write in `BEGIN IMMEDIATE` (the chain head is read
and the next event appended under one write lock, so concurrent reviewers in many processes
serialise and never lose an event). Table `events(seq, review_id, kind, reviewer, at, payload,
prev_hash, hash, mac)`; triggers ABORT any UPDATE or DELETE. Every call opens its own connection,
read-write but never create: a ledger file deleted under a running app is an error, not a new
empty ledger. The file is created 0600 in a 0700 folder.

The key and head record that anchor the chain live outside the file (`anchor.py`); each append
MACs its event under the key and, once committed, moves the head record forward. Opening a home
whose head record exists but whose ledger file does not raises `LedgerError` (missing).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from imr_assist.citations import format_citation
from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.errors import LedgerError, ReviewError
from imr_assist.models import Passage, VerificationReport
from imr_assist.review.ledger.anchor import LedgerAnchor, private_dir
from imr_assist.review.ledger.chain import (
    GENESIS_HASH,
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
from imr_assist.settings import Settings

log = logging.getLogger(__name__)

LEDGER_FILE = "ledger.sqlite3"
BUSY_TIMEOUT_MS = 30_000
SCHEMA_VERSION = 2  # 2: events.mac, the HMAC of each event's hash under the ledger key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    review_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('drafted', 'edited', 'accepted', 'rejected', 'exported')),
    reviewer TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
    at TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT
);
CREATE INDEX IF NOT EXISTS events_by_review ON events (review_id, seq);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the review ledger is append-only: events cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the review ledger is append-only: events cannot be deleted'); END;
"""
_TRIGGERS = ("events_no_update", "events_no_delete")
_COLUMNS = "seq, review_id, kind, reviewer, at, payload, prev_hash, hash, mac"


def open_ledger(settings: Settings) -> Ledger:
    """The ledger of a data directory: `settings.home / "ledger.sqlite3"`, keyed with
    `settings.ledger.key_file` (default `settings.home / "keys" / "ledger.key"`)."""
    return Ledger(settings.home / LEDGER_FILE, key_file=settings.ledger.key_file)


class Ledger:
    """The review ledger in one SQLite file; safe to share across threads and processes.

    Each call opens its own connection, so one `Ledger` can serve a whole server process.
    `key_file` is where the chain's key is kept (default: `keys/ledger.key` beside the file).
    `clock` and `new_id` are seams for tests (fixed times, known ids).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        key_file: Path | str | None = None,
        clock: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.anchor = LedgerAnchor(self.path, Path(key_file) if key_file else None)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._new_id = new_id or (lambda: uuid.uuid4().hex[:12])
        try:
            private_dir(self.path.parent)
            if not self.path.exists():
                if self.anchor.head_path.exists():
                    raise self._missing()
                _create_private(self.path)
        except OSError as exc:
            raise LedgerError(
                f"Cannot create the ledger {self.path} ({type(exc).__name__}: {exc.strerror}); "
                "check IMR_HOME / --home and its permissions."
            ) from exc
        self._init_schema()
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
        with self._write() as conn:
            review_id = self._new_id()
            if conn.execute("SELECT 1 FROM events WHERE review_id = ?", (review_id,)).fetchone():
                raise LedgerError(f"Review id {review_id} already exists; try again.")
            self._append(conn, review_id, EventKind.DRAFTED, name, payload)
            return self._load(conn, review_id)

    def edit(self, review_id: str, text: str, reviewer: str, report: VerificationReport) -> Review:
        """Record an edited text with its verification (nothing when the text is unchanged)."""
        name = _name(reviewer)
        text = _required(text, "The edited text is empty; write the rationale or reject the draft.")
        _check_report(text, report)
        with self._write() as conn:
            review = self._open_review(conn, review_id, "edit")
            if text == review.final_text:
                return review
            payload = {"text": text, "verification": summarize(report).model_dump(mode="json")}
            self._append(conn, review_id, EventKind.EDITED, name, payload)
            return self._load(conn, review_id)

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
        if summary.blockers and reason is None:
            listed = "\n".join(f"- {line}" for line in summary.blockers)
            raise ReviewError(
                f"Cannot accept review {review_id}: {len(summary.blockers)} sentence(s) block "
                f"acceptance:\n{listed}\nFix or re-cite them and verify again, or give an "
                "override reason."
            )
        with self._write() as conn:
            self._open_review(conn, review_id, "accept")
            payload = {
                "final_text": text,
                "override_reason": reason,
                "verification": summary.model_dump(mode="json"),
            }
            self._append(conn, review_id, EventKind.ACCEPTED, name, payload)
            return self._load(conn, review_id)

    def reject(self, review_id: str, reason: str, reviewer: str) -> Review:
        """Reject the draft; the reason is required."""
        name = _name(reviewer)
        why = _required(reason, "A reason is required to reject a draft; say what is wrong.")
        with self._write() as conn:
            self._open_review(conn, review_id, "reject")
            self._append(conn, review_id, EventKind.REJECTED, name, {"reason": why})
            return self._load(conn, review_id)

    def exported(self, review_id: str, fmt: str, reviewer: str) -> Review:
        """Record that the review was exported in a format ('md' or 'docx')."""
        name = _name(reviewer)
        if fmt not in {"md", "docx"}:
            raise ReviewError(f"Unknown export format {fmt!r}: use 'md' or 'docx'.")
        with self._write() as conn:
            self._load(conn, review_id)
            self._append(conn, review_id, EventKind.EXPORTED, name, {"format": fmt})
            return self._load(conn, review_id)

    # ------------------------------------------------------------------ reading

    def review(self, review_id: str) -> Review:
        """One review, folded from its events."""
        with self._read() as conn:
            return self._load(conn, review_id)

    def events(self, review_id: str | None = None) -> list[LedgerEvent]:
        """Events in ledger order, of one review or all."""
        with self._read() as conn:
            if review_id is None:
                rows = conn.execute(f"SELECT {_COLUMNS} FROM events ORDER BY seq").fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE review_id = ? ORDER BY seq",
                    (review_id,),
                ).fetchall()
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
        MAC under the ledger key, and the head record kept outside the file. `head` is a chain
        head recorded elsewhere (an export, `ledger verify` output): it must be an event of the
        chain (a full hash or a prefix of at least 12 hex digits)."""
        wanted = parse_head(head) if head is not None else None
        # The head record first: it only moves after a commit, so the rows read next hold it.
        record = self.anchor.read_head()
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM events ORDER BY seq").fetchall()
            issued = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
            last_issued = (issued.fetchone() or (0,))[0]
            triggers = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            }
        gone = [t for t in _TRIGGERS if t not in triggers]
        return check_chain(
            rows, last_issued, gone, key=self._key, head=record, expected_head=wanted
        )

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last event ((0, 64 zeros) when empty): print it where it is kept
        apart from the ledger (exports do); `verify(head=hash)` checks it later."""
        with self._read() as conn:
            return _last(conn)

    # ------------------------------------------------------------------ internals

    def _connect(self) -> _Connection:
        try:
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                factory=_Connection,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            if not self.path.exists():
                raise self._missing() from None
            raise LedgerError(
                f"Cannot open the ledger {self.path} ({exc}); check the file and its permissions."
            ) from exc
        return cast(_Connection, conn)

    def _init_schema(self) -> None:
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                return  # never recreate dropped triggers silently: verify() reports them
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _statements(_SCHEMA):
                    conn.execute(statement)
            elif version == 1 and "mac" not in _columns(conn):  # a ledger from before the key
                conn.execute("ALTER TABLE events ADD COLUMN mac TEXT")  # its events keep no MAC
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise LedgerError(
                f"Cannot initialise the ledger {self.path} ({exc}); is it a ledger file?"
            ) from exc
        finally:
            conn.close()

    def _init_anchor(self) -> bytes:
        """The ledger key; on a new ledger, or one from before the key, also the first head
        record. A keyed ledger whose head record is gone gets none: verify() reports it."""
        record = self.anchor.read_head()
        key = self.anchor.read_key()
        if key is None and record is not None:
            raise LedgerError(
                f"The ledger key {self.anchor.key_path} is missing, but the ledger {self.path} "
                "was signed with it: restore the key from your backup (set IMR_LEDGER__KEY_FILE "
                "if it is kept elsewhere). Without it the ledger can be neither verified nor "
                "written."
            )
        if key is None:
            key, _ = self.anchor.create_key()
        if record is None:
            with self._read() as conn:
                keyed = conn.execute("SELECT 1 FROM events WHERE mac IS NOT NULL LIMIT 1")
                if keyed.fetchone() is None:
                    seq, digest = _last(conn)
                    if seq:
                        log.warning(
                            "ledger %s predates its key: anchoring its %d events now",
                            self.path,
                            seq,
                        )
                    self.anchor.create_head(make_head(key, seq, digest, seq + 1))
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
            f"The ledger {self.path} is missing: {why}. Restore the ledger from a backup (and "
            "compare with `imr-assist ledger verify`). To start a new ledger on purpose, move "
            f"the folder {self.anchor.head_path.parent} aside first."
        )

    @contextmanager
    def _write(self) -> Iterator[_Connection]:
        conn = self._connect()
        appended: list[tuple[int, str]] = []
        conn.appended = appended
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
            if appended:
                self._advance(*max(appended))
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise LedgerError(f"Cannot write to the ledger {self.path} ({exc}).") from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        except sqlite3.Error as exc:
            raise LedgerError(f"Cannot read the ledger {self.path} ({exc}).") from exc
        finally:
            conn.close()

    def _append(
        self,
        conn: sqlite3.Connection,
        review_id: str,
        kind: EventKind,
        reviewer: str,
        payload: dict[str, Any],
    ) -> None:
        issued = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        head = conn.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        seq = (issued[0] if issued else 0) + 1
        prev = head[0] if head else GENESIS_HASH
        at = self._clock().astimezone(UTC).isoformat(timespec="seconds")
        digest = event_hash(prev, seq, review_id, kind.value, reviewer, at, payload)
        mac = event_mac(self._key, digest)
        conn.execute(
            f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, review_id, kind.value, reviewer, at, canonical_json(payload), prev, digest, mac),
        )
        if isinstance(conn, _Connection):  # always, from _write()
            conn.appended.append((seq, digest))

    def _load(self, conn: sqlite3.Connection, review_id: str) -> Review:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE review_id = ? ORDER BY seq", (review_id,)
        ).fetchall()
        if not rows:
            raise ReviewError(
                f"No review {review_id!r} in the ledger {self.path}; "
                "`imr-assist ledger list` shows the ids."
            )
        return _fold_events([_event(r) for r in rows])

    def _open_review(self, conn: sqlite3.Connection, review_id: str, action: str) -> Review:
        review = self._load(conn, review_id)
        if review.status is not ReviewStatus.DRAFTED:
            raise ReviewError(
                f"Cannot {action} review {review_id}: it was already {review.status.value} by "
                f"{review.reviewer} at {review.decided_at}. Start a new draft to revisit it."
            )
        return review


def _statements(script: str) -> list[str]:
    """The schema split into statements (trigger bodies hold their own semicolons)."""
    out, buf = [], ""
    for line in script.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


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


class _Connection(sqlite3.Connection):
    """A connection that remembers the (seq, hash) it appended, to move the head record."""

    appended: list[tuple[int, str]]


def _create_private(path: Path) -> None:
    """An empty ledger file, 0600 (SQLite gives its -wal and -shm files the same mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return  # another process created it first
    os.chmod(path, 0o600)


def _columns(conn: sqlite3.Connection) -> set[str]:
    return {str(row[1]) for row in conn.execute("PRAGMA table_info(events)")}


def _last(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
