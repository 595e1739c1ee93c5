"""The review ledger: an append-only, hash-chained record of what reviewers did with each draft.

API (the `imr-assist ledger` commands and the workspace pages are thin shells over it)::

    ledger = open_ledger(settings)          # <IMR_HOME>/ledger.sqlite3, created on first use
    review = ledger.start(draft, "Dr. Lee", evidence)   # Answer | DeterminationDraft + the
                                                        # passages it was drafted from -> drafted
    report = verify(text, evidence, embedder=...)       # imr_assist.verification, on every edit
    review = ledger.edit(review.review_id, text, "Dr. Lee", report)               # -> edited
    accept_blockers(report)                 # [] or one line per sentence that blocks Accept
    review = ledger.accept(review_id, text, "Dr. Lee", report, override_reason=None)
    review = ledger.reject(review_id, "Wrong body region", "Dr. Lee")
    ledger.exported(review_id, "docx", "Dr. Lee")       # imr_assist.export.export_review does it
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
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from imr_assist.chunking import split_sentences
from imr_assist.citations import CITATION_RE, format_citation
from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.errors import ImrAssistError
from imr_assist.models import (
    DraftDecision,
    Passage,
    ResolvedCitation,
    Stance,
    Verdict,
    VerificationReport,
)
from imr_assist.settings import Settings

LEDGER_FILE = "ledger.sqlite3"
GENESIS_HASH = "0" * 64
BUSY_TIMEOUT_MS = 30_000
SCHEMA_VERSION = 1


class ReviewError(ImrAssistError):
    """A review action is not allowed (gate, closed review, missing name); says what to do."""


class LedgerError(ImrAssistError):
    """The ledger database cannot be opened or written."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class LedgerEvent(_Model):
    """One row of the append-only, hash-chained event log."""

    seq: int = Field(description="Position in the ledger (1, 2, ...), one chain for all reviews")
    review_id: str = Field(description="Review the event belongs to")
    kind: EventKind = Field(description="drafted, edited, accepted, rejected or exported")
    reviewer: str = Field(description="Who did it")
    at: str = Field(description="When, UTC ISO 8601")
    payload: dict[str, Any] = Field(description="What was recorded (texts, reasons, summaries)")
    prev_hash: str = Field(description="Hash of the previous event (64 zeros for the first)")
    hash: str = Field(description="sha256 of prev_hash + canonical JSON of this event")


class EvidenceRef(_Model):
    """A passage the draft was made from, frozen: its id, citation and a hash of its text."""

    id: str = Field(description="Citation id")
    citation: str = Field(description="Readable citation with pages, e.g. 'ODG 2023, p. 12'")
    text_sha256: str = Field(description="sha256 of the passage text (UTF-8) at drafting time")


class VerificationSummary(_Model):
    """The verification of the text as last recorded, with what blocked Accept."""

    supported: int = Field(description="Sentences supported")
    weak: int = Field(description="Sentences weakly supported")
    unsupported: int = Field(description="Sentences unsupported")
    uncited: int = Field(description="Factual sentences without a citation")
    fabricated_ids: list[str] = Field(description="Cited ids that resolve to no evidence")
    blockers: list[str] = Field(description="Lines from accept_blockers(); empty = may accept")


class Review(_Model):
    """A draft under review, folded from its events."""

    review_id: str = Field(description="Ledger id of the review")
    kind: Literal["ask", "draft"] = Field(description="An answer (ask) or a determination draft")
    item: str = Field(description="The item as requested (draft) or the question (ask)")
    case_summary: str = Field(default="", description="Case facts given with the request")
    decision: DraftDecision | None = Field(
        default=None, description="Drafted decision (None for an answer)"
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


class LedgerCheck(_Model):
    """Outcome of `Ledger.verify()`."""

    ok: bool = Field(description="True when every event and link checks out")
    events_checked: int = Field(description="Events read")
    first_bad_seq: int | None = Field(description="First event that fails (or is missing)")
    message: str = Field(description="What was found, and what to do")
    head_hash: str = Field(description="Hash of the last event; keep it elsewhere to anchor")


# --------------------------------------------------------------------------- the gate (pure)


def accept_blockers(report: VerificationReport) -> list[str]:
    """One readable line per sentence that blocks Accept: unsupported, or citing unknown ids.

    Fabricated ids that no sentence accounts for get a line of their own.
    """
    lines: list[str] = []
    named: set[str] = set()
    for n, check in enumerate(report.sentences, 1):
        if check.unknown_ids:
            named.update(check.unknown_ids)
            ids = ", ".join(f"[{i}]" for i in check.unknown_ids)
            noun = "id" if len(check.unknown_ids) == 1 else "ids"
            lines.append(f"Sentence {n} cites unknown {noun} {ids}: {_quote(check.text)}")
        elif check.verdict is Verdict.UNSUPPORTED:
            notes = [x for x in check.notes if not x.startswith("lexical scoring only")]
            why = "; ".join(notes) or f"support score {check.score:.2f}"
            lines.append(f"Sentence {n} is unsupported ({why}): {_quote(check.text)}")
    for pid in report.fabricated_ids:
        if pid not in named:
            lines.append(f"The draft cites unknown id [{pid}]")
    return lines


def _quote(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= limit else text[: limit - 1] + "…"}"'


def summarize(report: VerificationReport) -> VerificationSummary:
    """Counts and blockers of a verification report, as recorded in the ledger."""
    return VerificationSummary(
        supported=report.supported,
        weak=report.weak,
        unsupported=report.unsupported,
        uncited=report.uncited,
        fabricated_ids=list(report.fabricated_ids),
        blockers=accept_blockers(report),
    )


def text_diff(generated: str, final: str) -> str:
    """Readable unified diff, one sentence a line ('' when the texts are the same)."""
    if " ".join(generated.split()) == " ".join(final.split()):
        return ""
    lines = difflib.unified_diff(
        _lines(generated), _lines(final), "generated", "final", lineterm="", n=1
    )
    return "\n".join(lines)


_LEADING_MARKERS_RE = re.compile(rf"^(?:\s*{CITATION_RE.pattern})+")


def _lines(text: str) -> list[str]:
    """Sentences a line, paragraphs apart; a marker after the period stays with its sentence."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        if out:
            out.append("")
        for sentence in split_sentences(paragraph):
            lead = _LEADING_MARKERS_RE.match(sentence)
            if lead and out and out[-1]:
                out[-1] = f"{out[-1]} {lead.group(0).strip()}"
                sentence = sentence[lead.end() :].strip()
            if sentence:
                out.append(sentence)
    return out


def _report_of(draft: Answer | DeterminationDraft) -> VerificationReport:
    checks = draft.sentences
    count = {v: sum(c.verdict is v for c in checks) for v in Verdict}
    return VerificationReport(
        sentences=checks,
        fabricated_ids=draft.fabricated_ids,
        supported=count[Verdict.SUPPORTED],
        weak=count[Verdict.WEAK],
        unsupported=count[Verdict.UNSUPPORTED],
        uncited=count[Verdict.UNCITED],
    )


def _same_text(text: str, report: VerificationReport) -> bool:
    verified = "".join("".join(s.text.split()) for s in report.sentences)
    return "".join(text.split()) == verified


# --------------------------------------------------------------------------- the chain (pure)


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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    review_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('drafted', 'edited', 'accepted', 'rejected', 'exported')),
    reviewer TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
    at TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_review ON events (review_id, seq);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the review ledger is append-only: events cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the review ledger is append-only: events cannot be deleted'); END;
"""
_TRIGGERS = ("events_no_update", "events_no_delete")
_COLUMNS = "seq, review_id, kind, reviewer, at, payload, prev_hash, hash"


# --------------------------------------------------------------------------- the ledger


def open_ledger(settings: Settings) -> Ledger:
    """The ledger of a data directory: `settings.home / "ledger.sqlite3"`."""
    return Ledger(settings.home / LEDGER_FILE)


class Ledger:
    """The review ledger in one SQLite file; safe to share across threads and processes.

    Each call opens its own connection, so one `Ledger` can serve a whole server process.
    `clock` and `new_id` are seams for tests (fixed times, known ids).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._new_id = new_id or (lambda: uuid.uuid4().hex[:12])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"Cannot create the ledger folder {self.path.parent} ({exc}); "
                "check IMR_HOME / --home and its permissions."
            ) from exc
        self._init_schema()

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
                "generated_text": draft.rationale,
                "guideline_relied_on": draft.guideline_relied_on,
                "missing_documentation": draft.missing_documentation,
            }
        else:
            fields = {
                "kind": "ask",
                "item": draft.query,
                "case_summary": "",
                "decision": None,
                "generated_text": draft.answer,
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
            review = _fold(events)
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

    def verify(self) -> LedgerCheck:
        """Check the whole chain: hashes, links, no gaps, no truncation, triggers in place."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM events ORDER BY seq").fetchall()
            issued = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
            last_issued = (issued.fetchone() or (0,))[0]
            triggers = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            }
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
                return _bad(
                    checked, seq, f"event {seq} was altered (its hash does not match)", prev
                )
            prev = stored
        if last_issued > checked:
            return _bad(
                checked, checked + 1, f"events {checked + 1}..{last_issued} are missing", prev
            )
        gone = [t for t in _TRIGGERS if t not in triggers]
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

    # ------------------------------------------------------------------ internals

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            raise LedgerError(
                f"Cannot open the ledger {self.path} ({exc}); check the file and its permissions."
            ) from exc
        return conn

    def _init_schema(self) -> None:
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                return  # never recreate dropped triggers silently: verify() reports them
            conn.execute("BEGIN IMMEDIATE")
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                for statement in _statements(_SCHEMA):
                    conn.execute(statement)
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

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
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
        conn.execute(
            f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, review_id, kind.value, reviewer, at, canonical_json(payload), prev, digest),
        )

    def _load(self, conn: sqlite3.Connection, review_id: str) -> Review:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE review_id = ? ORDER BY seq", (review_id,)
        ).fetchall()
        if not rows:
            raise ReviewError(
                f"No review {review_id!r} in the ledger {self.path}; "
                "`imr-assist ledger list` shows the ids."
            )
        return _fold([_event(r) for r in rows])

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
    seq, review_id, kind, reviewer, at, payload, prev_hash, digest = row
    return LedgerEvent(
        seq=seq,
        review_id=review_id,
        kind=EventKind(kind),
        reviewer=reviewer,
        at=at,
        payload=json.loads(payload),
        prev_hash=prev_hash,
        hash=digest,
    )


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
        if event.kind is EventKind.EDITED:
            state.update(final_text=q["text"], verification=q["verification"])
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
        review.item,
        review.case_summary,
        review.generated_text,
        review.final_text,
        review.override_reason or "",
        review.reject_reason or "",
        *review.guideline_relied_on,
    ]
    return "\n".join(parts).casefold()


def _bad(checked: int, seq: int, what: str, head: str) -> LedgerCheck:
    return LedgerCheck(
        ok=False,
        events_checked=checked,
        first_bad_seq=seq,
        message=f"Ledger tampered: {what}. Events from {seq} on cannot be trusted; restore the "
        "ledger from a backup and compare.",
        head_hash=head,
    )


def _name(reviewer: str) -> str:
    return _required(
        reviewer, "A reviewer name is required; set it in the sidebar or pass --reviewer."
    )


def _required(value: str | None, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ReviewError(message)
    return value


def _check_report(text: str, report: VerificationReport) -> None:
    if not _same_text(text, report):
        raise ReviewError(
            "The verification report is for another text; verify the text being recorded "
            "(verification.verify(text, evidence)) and pass that report."
        )
