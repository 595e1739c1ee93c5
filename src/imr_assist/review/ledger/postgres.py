"""A shared ledger in PostgreSQL: one audit trail for every app machine of an organisation.

Selected by `IMR_LEDGER__URL=postgresql://user@host:port/database` (psycopg 3). Everything lives
in the schema `imr_ledger` of that database:

    events(seq, review_id, kind, reviewer, at, payload, prev_hash, hash, mac)   the chain
    head(id = 1, seq, schema_version)   the highest seq ever issued; its row is the chain lock

A write transaction first takes the head row with `SELECT ... FOR UPDATE`, so the head is read
and the next event appended atomically while every other writer (any process, any machine)
waits; the head row moves forward by exactly one per event. A read is one REPEATABLE READ, READ
ONLY transaction (one snapshot). Triggers raise on UPDATE, DELETE or TRUNCATE of events and on
moving the head row other than one step forward; `verify()` reports them when dropped or
disabled, and a superuser who bypasses them still cannot change an event without breaking its
hash and MAC.

Every call opens its own connection (`connect_timeout` 10 s unless the URL says otherwise).
Messages name the server by `redact_url` (password hidden); the password is never logged. A
server that cannot be reached is a `LedgerError` saying what to check, never a traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors

from imr_assist.errors import LedgerError
from imr_assist.review.ledger.backend import COLUMNS, SCHEMA_VERSION, Gone, Row
from imr_assist.review.ledger.chain import GENESIS_HASH

SCHEMES = ("postgresql", "postgres")
SCHEMA = "imr_ledger"
CONNECT_TIMEOUT_S = 10
TRIGGERS = ("events_no_update", "events_no_delete", "events_no_truncate", "head_forward_only")
_LOCK_ID = 0x1A4D_1ED6  # the advisory lock that serialises creating the schema

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE {SCHEMA}.events (
    seq BIGINT PRIMARY KEY CHECK (seq > 0),
    review_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('drafted', 'edited', 'accepted', 'rejected', 'exported')),
    reviewer TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
    at TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT
);
CREATE INDEX events_by_review ON {SCHEMA}.events (review_id, seq);
CREATE TABLE {SCHEMA}.head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL CHECK (seq >= 0),
    schema_version INTEGER NOT NULL
);
INSERT INTO {SCHEMA}.head (id, seq, schema_version) VALUES (1, 0, {SCHEMA_VERSION});
CREATE FUNCTION {SCHEMA}.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the review ledger is append-only: events cannot be %',
        CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END;
END $$;
CREATE FUNCTION {SCHEMA}.head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1
            OR NEW.schema_version <> OLD.schema_version THEN
        RAISE EXCEPTION 'the review ledger head only moves forward, one event at a time';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE ON {SCHEMA}.events
    FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.append_only();
CREATE TRIGGER events_no_delete BEFORE DELETE ON {SCHEMA}.events
    FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {SCHEMA}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.append_only();
CREATE TRIGGER head_forward_only BEFORE UPDATE OR DELETE ON {SCHEMA}.head
    FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.head_forward_only();
"""


def is_postgres_url(url: str) -> bool:
    return urlsplit(url.strip()).scheme.lower() in SCHEMES


def redact_url(url: str) -> str:
    """The URL as messages show it: any password (in the user part or `?password=`) as ***."""
    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, hostport = netloc.rsplit("@", 1)
            user, has_password, _ = userinfo.partition(":")
            netloc = f"{user}{':***' if has_password else ''}@{hostport}"
        query = urlencode(
            [
                (k, "***" if k.lower() == "password" else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="*/",
        )
        shown = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
        if not netloc and url.strip().lower().startswith(f"{parts.scheme}://".lower()):
            shown = shown.replace(f"{parts.scheme}:", f"{parts.scheme}://", 1)  # postgresql:///db
        return shown
    except ValueError:
        return "(an IMR_LEDGER__URL that is not a URL)"


class PostgresStore:
    """The events in a PostgreSQL database (see the module docstring).

    `home` is this machine's IMR_HOME: the key and this machine's head record of the shared
    ledger are kept in `home/keys` (the head record named after the server and database)."""

    shared = True

    def __init__(self, url: str, home: Path | str) -> None:
        self.where = redact_url(url)
        if not is_postgres_url(url):
            raise LedgerError(
                f"IMR_LEDGER__URL {self.where!r} is not a PostgreSQL URL: give "
                "postgresql://user@host:port/database (password in PGPASSWORD or ~/.pgpass), "
                "or unset it to keep the ledger in IMR_HOME."
            )
        try:
            info = psycopg.conninfo.conninfo_to_dict(url.strip())
            port = str(info.get("port") or "0")
            if not port.replace(",", "").isdigit():
                raise psycopg.ProgrammingError(f"invalid port {port[:20]!r}")
        except psycopg.ProgrammingError:
            raise LedgerError(
                f"IMR_LEDGER__URL {self.where!r} cannot be read as a PostgreSQL URL; give "
                "postgresql://user@host:port/database."
            ) from None
        self._url = url.strip()
        self._password = str(info.get("password") or "")
        self._timeout = None if "connect_timeout" in info else CONNECT_TIMEOUT_S
        server = f"{info.get('host', '')}:{info.get('port', '')}/{info.get('dbname', '')}"
        digest = hashlib.sha256(server.encode()).hexdigest()[:12]
        self.anchor_path = Path(home) / f"ledger-postgresql-{digest}"

    # ------------------------------------------------------------------ Storage

    def exists(self) -> bool:
        with self._connect() as conn:
            found = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.head",)).fetchone()
            return found is not None and found[0] is not None

    def create(self) -> None:
        with self._connect() as conn:
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                    found = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.head",)).fetchone()
                    if found is None or found[0] is None:
                        conn.execute(_DDL.encode())
                        return
                    version = conn.execute(f"SELECT schema_version FROM {SCHEMA}.head").fetchone()
            except psycopg.Error as exc:
                raise LedgerError(
                    f"Cannot create the ledger tables in {self.where} ({self._reason(exc)}); the "
                    f"user needs CREATE on the database (or an administrator creates the schema "
                    f"{SCHEMA} once, by running imr-assist as its owner)."
                ) from exc
        if version is None:
            raise LedgerError(
                f"The ledger {self.where} has no head row ({SCHEMA}.head is empty): the "
                "database was tampered with. Restore it from a backup."
            )
        if version[0] > SCHEMA_VERSION:
            raise LedgerError(
                f"The ledger {self.where} was made by a newer imr-assist (schema "
                f"{version[0]}, this one reads {SCHEMA_VERSION}); upgrade imr-assist."
            )

    @contextmanager
    def write(self) -> Iterator[_PostgresTx]:
        with self._connect() as conn:
            try:
                with conn.transaction():
                    head = conn.execute(
                        f"SELECT seq FROM {SCHEMA}.head WHERE id = 1 FOR UPDATE"
                    ).fetchone()
                    if head is None:
                        raise LedgerError(
                            f"The ledger {self.where} has no head row ({SCHEMA}.head is empty): "
                            "the database was tampered with. Restore it from a backup."
                        )
                    yield _PostgresTx(conn, int(head[0]))
            except pg_errors.UndefinedTable:
                raise Gone from None
            except psycopg.Error as exc:
                raise LedgerError(
                    f"Cannot write to the ledger {self.where} ({self._reason(exc)})."
                ) from exc

    @contextmanager
    def read(self) -> Iterator[_PostgresTx]:
        with self._connect() as conn:
            try:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                with conn.transaction():
                    yield _PostgresTx(conn, None)
            except pg_errors.UndefinedTable:
                raise Gone from None
            except psycopg.Error as exc:
                raise LedgerError(
                    f"Cannot read the ledger {self.where} ({self._reason(exc)})."
                ) from exc

    def stamp(self) -> tuple[Any, ...]:
        """Count, last seq and newest row version (xmin): an UPDATE, DELETE or INSERT by anyone,
        triggers or not, changes one of them."""
        with self.read() as tx:
            return tx.stamp()

    # ------------------------------------------------------------------ connection

    def _connect(self) -> psycopg.Connection[Any]:
        extra: dict[str, Any] = {"application_name": "imr-assist ledger"}
        if self._timeout is not None:
            extra["connect_timeout"] = self._timeout
        try:
            return psycopg.connect(self._url, **extra)
        except psycopg.Error as exc:
            raise LedgerError(
                f"Cannot connect to the shared ledger {self.where} ({self._reason(exc)}). Check "
                "that the PostgreSQL server is running and reachable from this machine, and "
                "IMR_LEDGER__URL (user, host, port, database; the password in PGPASSWORD or "
                "~/.pgpass); unset IMR_LEDGER__URL to use the ledger in IMR_HOME instead."
            ) from None

    def _reason(self, exc: BaseException) -> str:
        """The server's or libpq's words, on one line, never with the password, and never a
        server error's DETAIL (a failing row's values: case text)."""
        primary = exc.diag.message_primary if isinstance(exc, psycopg.Error) else None
        lines = [line.strip() for line in (primary or str(exc)).splitlines() if line.strip()]
        text = "; ".join(lines)[:300] or type(exc).__name__
        return text.replace(self._password, "***") if self._password else text


class _PostgresTx:
    def __init__(self, conn: psycopg.Connection[Any], head_seq: int | None) -> None:
        self._conn = conn
        self._head_seq = head_seq  # the locked head row's seq (write transactions)

    def rows(self, review_id: str | None = None) -> list[Row]:
        if review_id is None:
            return self._conn.execute(
                f"SELECT {COLUMNS} FROM {SCHEMA}.events ORDER BY seq"
            ).fetchall()
        return self._conn.execute(
            f"SELECT {COLUMNS} FROM {SCHEMA}.events WHERE review_id = %s ORDER BY seq",
            (review_id,),
        ).fetchall()

    def has_review(self, review_id: str) -> bool:
        found = self._conn.execute(
            f"SELECT 1 FROM {SCHEMA}.events WHERE review_id = %s LIMIT 1", (review_id,)
        )
        return found.fetchone() is not None

    def last(self) -> tuple[int, str]:
        row = self._conn.execute(
            f"SELECT seq, hash FROM {SCHEMA}.events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)

    def last_issued(self) -> int:
        if self._head_seq is not None:
            return self._head_seq
        row = self._conn.execute(f"SELECT seq FROM {SCHEMA}.head WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def insert(self, row: Row) -> None:
        if self._head_seq is None:  # pragma: no cover  (only write() hands out a head)
            raise LedgerError("An event can only be appended in a write transaction.")
        self._conn.execute(
            f"INSERT INTO {SCHEMA}.events ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            row,
        )
        self._conn.execute(f"UPDATE {SCHEMA}.head SET seq = %s WHERE id = 1", (row[0],))
        self._head_seq = int(row[0])

    def any_keyed(self) -> bool:
        found = self._conn.execute(f"SELECT 1 FROM {SCHEMA}.events WHERE mac IS NOT NULL LIMIT 1")
        return found.fetchone() is not None

    def missing_triggers(self) -> list[str]:
        enabled = {
            str(r[0])
            for r in self._conn.execute(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND NOT t.tgisinternal AND t.tgenabled IN ('O', 'A')",
                (SCHEMA,),
            )
        }
        return [t for t in TRIGGERS if t not in enabled]

    def stamp(self) -> tuple[Any, ...]:
        row = self._conn.execute(
            f"SELECT count(*), coalesce(max(seq), 0), coalesce(max(xmin::text::bigint), 0) "
            f"FROM {SCHEMA}.events"
        ).fetchone()
        return tuple(row) if row else ()
