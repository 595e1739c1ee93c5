"""The reviewer's work kept across reloads: conversations, drafts in progress, name, filters.

One SQLite file in IMR_HOME (`sessions.sqlite3`), opened as the ledger opens its file: WAL,
`synchronous = NORMAL`, `busy_timeout` 30 s, every write in `BEGIN IMMEDIATE`, one connection
per call (safe across threads and processes). Nothing leaves the machine.

Tables: `sessions(id, title, created_at, updated_at, state)` where `state` is the JSON of a
`SessionState` (reviewer, filters, the text of each draft being edited, the answer under
review), and `turns(session_id, uid, seq, data)` with one `Turn` JSON per row, so adding a
turn or editing a draft rewrites one small row, not the whole conversation.

A file that is not a sessions database is moved aside (`<name>.corrupt-<time>`) and a new one
started; a file written by a newer imr-assist is left untouched and nothing is saved. Both are
reported as a `SessionError` whose message says so; the app then starts a fresh session.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field, ValidationError

from imr_assist.errors import SessionError
from imr_assist.models import StrictModel
from imr_assist.ui.turns import Turn

log = logging.getLogger(__name__)

SESSIONS_FILE = "sessions.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        state TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS turns (
        session_id TEXT NOT NULL REFERENCES sessions (id),
        uid TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (session_id, uid)
    )""",
    "CREATE INDEX IF NOT EXISTS sessions_by_time ON sessions (updated_at)",
)


class DeterminationSlots(StrictModel):
    """A determination in progress: its id, item slots and each slot's drafted turn."""

    id: str = Field(description="Determination id (links the ledger's reviews)")
    slots: list[int] = Field(description="Item slots, in letter order")
    next: int = Field(description="Next free slot number")
    turns: dict[int, str] = Field(default_factory=dict, description="Slot -> drafted turn uid")


class SessionState(StrictModel):
    """What a session holds besides its turns."""

    reviewer: str = Field(default="", description="The reviewer's name as typed")
    filters: dict[str, list[str] | str] = Field(
        default_factory=dict, description="Sidebar filter widgets, by widget key"
    )
    drafts: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per turn uid: the text fields of its review being edited, by widget key",
    )
    reviewing: str | None = Field(default=None, description="uid of the answer under review")
    form: dict[str, list[str] | str] = Field(
        default_factory=dict,
        description="Other form fields of the page (e.g. case summary, items), by widget key",
    )
    determination: DeterminationSlots | None = Field(
        default=None, description="The determination letter page's items and their turns"
    )


class SessionSummary(StrictModel):
    """A line of the 'Recent work' list."""

    id: str = Field(description="Session id (the `session` query parameter)")
    title: str = Field(description="First question or request of the session")
    updated_at: str = Field(description="UTC time of the last save, ISO 8601")
    turns: int = Field(description="Turns saved")


class SavedSession(StrictModel):
    """A session as restored."""

    id: str = Field(description="Session id")
    title: str = Field(description="First question or request")
    state: SessionState = Field(description="Reviewer, filters, drafts in progress")
    turns: list[Turn] = Field(description="The conversation, in order")
    problems: list[str] = Field(
        default_factory=list, description="Saved turns that could not be read back (skipped)"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SessionStore:
    """The sessions file of a data directory; one instance can serve a whole server process."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.writable = True
        self.notice = ""
        """Why this store started over or does not save ('' when all is well)."""
        try:
            self._init()
        except SessionError as exc:
            self.notice = str(exc)
            log.warning("%s", exc)

    # ------------------------------------------------------------------ setup

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _init(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._create()
        except sqlite3.DatabaseError as exc:
            self.writable = False
            moved = self.path.with_name(
                f"{self.path.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S}"
            )
            try:
                self.path.replace(moved)
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                self._create()
                self.writable = True
            except (OSError, sqlite3.Error) as again:
                raise SessionError(
                    f"The saved sessions file {self.path} cannot be read ({exc}) and could not "
                    f"be replaced ({again}): this session is not saved. Check IMR_HOME."
                ) from again
            raise SessionError(
                f"The saved sessions file {self.path} could not be read ({exc}); it was moved "
                f"to {moved.name} and a new one started. Earlier conversations are not restored."
            ) from exc

    def _create(self) -> None:
        conn = self._connect()
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                self.writable = False
                raise SessionError(
                    f"The saved sessions file {self.path} was written by a newer imr-assist "
                    f"(format {version}; this version reads {SCHEMA_VERSION}). It is left as it "
                    "is and this session is not saved: upgrade imr-assist to reopen that work."
                )
            conn.execute("PRAGMA journal_mode = WAL")
            if version == SCHEMA_VERSION:
                conn.execute("SELECT count(*) FROM sessions").fetchone()
                return
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection | None]:
        if not self.writable:
            yield None
            return
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise SessionError(f"Cannot save the session in {self.path} ({exc}).") from exc
        finally:
            conn.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        except sqlite3.Error as exc:
            raise SessionError(f"Cannot read saved sessions from {self.path} ({exc}).") from exc
        finally:
            conn.close()

    # ------------------------------------------------------------------ writes

    def save_state(self, session_id: str, state: SessionState, title: str = "") -> None:
        """Create or update a session's state (its title is set by the first non-empty one)."""
        now = _now()
        with self._write() as conn:
            if conn is None:
                return
            conn.execute(
                "INSERT INTO sessions (id, title, created_at, updated_at, state) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "state = excluded.state, updated_at = excluded.updated_at, "
                "title = CASE WHEN sessions.title = '' THEN excluded.title ELSE sessions.title END",
                (session_id, title, now, now, state.model_dump_json()),
            )

    def save_turn(self, session_id: str, seq: int, turn: Turn) -> None:
        """Create or replace one turn of a session (the session row must exist or is made)."""
        now = _now()
        with self._write() as conn:
            if conn is None:
                return
            conn.execute(
                "INSERT INTO sessions (id, title, created_at, updated_at, state) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "updated_at = excluded.updated_at, "
                "title = CASE WHEN sessions.title = '' THEN excluded.title ELSE sessions.title END",
                (session_id, turn.asked or turn.query, now, now, SessionState().model_dump_json()),
            )
            conn.execute(
                "INSERT INTO turns (session_id, uid, seq, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (session_id, uid) DO UPDATE SET data = excluded.data",
                (session_id, turn.uid, seq, turn.model_dump_json()),
            )

    # ------------------------------------------------------------------ reads

    def load(self, session_id: str) -> SavedSession | None:
        """The saved session, or None when there is none under this id."""
        if not self.writable and self.notice:
            return None
        with self._read() as conn:
            row = conn.execute(
                "SELECT title, state FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                return None
            rows = conn.execute(
                "SELECT uid, data FROM turns WHERE session_id = ? ORDER BY seq, rowid",
                (session_id,),
            ).fetchall()
        problems: list[str] = []
        try:
            state = SessionState.model_validate_json(row[1])
        except ValidationError as exc:
            problems.append(f"the reviewer's name, filters and drafts ({_first_error(exc)})")
            state = SessionState()
        turns: list[Turn] = []
        for uid, data in rows:
            try:
                turns.append(Turn.model_validate_json(data))
            except ValidationError as exc:
                problems.append(f"turn {uid} ({_first_error(exc)})")
        return SavedSession(
            id=session_id, title=row[0], state=state, turns=turns, problems=problems
        )

    def recent(
        self, limit: int = 10, *, prefix: str = "", exclude: str = ""
    ) -> list[SessionSummary]:
        """Sessions with at least one turn whose id starts with `prefix` and not with a
        non-empty `exclude`, most recently saved first."""
        if not self.writable and self.notice:
            return []
        with self._read() as conn:
            rows = conn.execute(
                "SELECT s.id, s.title, s.updated_at, count(t.uid) FROM sessions s "
                "JOIN turns t ON t.session_id = s.id "
                "WHERE substr(s.id, 1, ?) = ? AND (? = '' OR substr(s.id, 1, ?) != ?) "
                "GROUP BY s.id ORDER BY s.updated_at DESC, s.rowid DESC LIMIT ?",
                (len(prefix), prefix, exclude, len(exclude), exclude, limit),
            ).fetchall()
        return [SessionSummary(id=r[0], title=r[1], updated_at=r[2], turns=r[3]) for r in rows]


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg', '')}" if where else str(err.get("msg", ""))


def open_sessions(home: Path | str) -> SessionStore:
    """The sessions file of a data directory: `home / "sessions.sqlite3"`."""
    return SessionStore(Path(home) / SESSIONS_FILE)
