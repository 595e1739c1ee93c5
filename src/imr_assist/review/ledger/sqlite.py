"""The embedded ledger: one SQLite file in IMR_HOME (the default backend).

SQLite in WAL mode, `busy_timeout` 30 s, every write in `BEGIN IMMEDIATE` (the chain head is read
and the next event appended under one write lock, so concurrent reviewers in many processes
serialise and never lose an event); every read in one `BEGIN` (one snapshot). Table `events(seq
AUTOINCREMENT, review_id, kind, reviewer, at, payload, prev_hash, hash, mac)`; triggers ABORT any
UPDATE or DELETE; `sqlite_sequence` keeps the highest seq ever issued. Every call opens its own
connection, read-write but never create: a file deleted under a running app is `Gone`, not a new
empty ledger. The file is created 0600 (its -wal and -shm files too) in a 0700 folder.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imr_assist.errors import LedgerError
from imr_assist.review.ledger.anchor import private_dir
from imr_assist.review.ledger.backend import COLUMNS, SCHEMA_VERSION, Gone, Row
from imr_assist.review.ledger.chain import GENESIS_HASH

LEDGER_FILE = "ledger.sqlite3"
BUSY_TIMEOUT_MS = 30_000

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
TRIGGERS = ("events_no_update", "events_no_delete")


class SQLiteStore:
    """The events in one SQLite file (see the module docstring)."""

    shared = False

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.anchor_path = self.path

    def exists(self) -> bool:
        return self.path.exists()

    def create(self) -> None:
        try:
            private_dir(self.path.parent)
            _create_private(self.path)
        except OSError as exc:
            raise LedgerError(
                f"Cannot create the ledger {self.path} ({type(exc).__name__}: {exc.strerror}); "
                "check IMR_HOME / --home and its permissions."
            ) from exc
        self._init_schema()

    @contextmanager
    def write(self) -> Iterator[_SQLiteTx]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield _SQLiteTx(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise LedgerError(f"Cannot write to the ledger {self.path} ({exc}).") from exc
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    @contextmanager
    def read(self) -> Iterator[_SQLiteTx]:
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            yield _SQLiteTx(conn)
        except sqlite3.Error as exc:
            raise LedgerError(f"Cannot read the ledger {self.path} ({exc}).") from exc
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    def stamp(self) -> tuple[Any, ...]:
        """Size and time of the file and its WAL: any write, honest or not, changes them."""
        files = (self.path, self.path.with_name(self.path.name + "-wal"))
        return tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists())

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            if not self.path.exists():
                raise Gone from None
            raise LedgerError(
                f"Cannot open the ledger {self.path} ({exc}); check the file and its permissions."
            ) from exc
        return conn

    def _init_schema(self) -> None:
        try:
            conn = self._connect()
        except Gone:
            raise LedgerError(f"The ledger {self.path} was deleted while being created.") from None
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


class _SQLiteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, review_id: str | None = None) -> list[Row]:
        if review_id is None:
            return self._conn.execute(f"SELECT {COLUMNS} FROM events ORDER BY seq").fetchall()
        return self._conn.execute(
            f"SELECT {COLUMNS} FROM events WHERE review_id = ? ORDER BY seq", (review_id,)
        ).fetchall()

    def has_review(self, review_id: str) -> bool:
        found = self._conn.execute("SELECT 1 FROM events WHERE review_id = ?", (review_id,))
        return found.fetchone() is not None

    def last(self) -> tuple[int, str]:
        row = self._conn.execute(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)

    def last_issued(self) -> int:
        row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        return int((row.fetchone() or (0,))[0])

    def insert(self, row: Row) -> None:
        self._conn.execute(
            f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row
        )

    def any_keyed(self) -> bool:
        keyed = self._conn.execute("SELECT 1 FROM events WHERE mac IS NOT NULL LIMIT 1")
        return keyed.fetchone() is not None

    def missing_triggers(self) -> list[str]:
        found = {
            r[0]
            for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        return [t for t in TRIGGERS if t not in found]


def _statements(script: str) -> list[str]:
    """The schema split into statements (trigger bodies hold their own semicolons)."""
    out, buf = [], ""
    for line in script.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


def _create_private(path: Path) -> None:
    """An empty ledger file, 0600 (SQLite gives its -wal and -shm files the same mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return  # another process created it first
    os.chmod(path, 0o600)


def _columns(conn: sqlite3.Connection) -> set[str]:
    return {str(row[1]) for row in conn.execute("PRAGMA table_info(events)")}
