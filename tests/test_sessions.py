"""Saved sessions (ui/sessions.py): roundtrip, recent work, corrupt or newer files, many writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import make_answer, make_draft, passages
from imr_assist.ui.sessions import (
    SCHEMA_VERSION,
    SessionState,
    SessionStore,
    open_sessions,
)
from imr_assist.ui.turns import Turn

REPO = Path(__file__).resolve().parents[1]


def _turn(kind: str = "draft", **kw: object) -> Turn:
    result = make_draft() if kind == "draft" else make_answer()
    return Turn(kind=kind, query="q " + kind, result=result, evidence=passages(), **kw)  # type: ignore[arg-type]


def test_roundtrip_restores_turns_drafts_reviewer_and_filters(tmp_path: Path) -> None:
    store = open_sessions(tmp_path)
    draft, answer = _turn("draft", summary="39-year-old"), _turn("ask", asked="and for acute?")
    store.save_turn("s1", 0, draft)
    store.save_turn("s1", 1, answer)
    state = SessionState(
        reviewer="Dr. Rivera",
        filters={"ask-tier": ["mtus"], "ask-region": "low_back"},
        drafts={draft.uid: {f"edit-{draft.uid}": "Edited text.", f"decision-{draft.uid}": "x"}},
        reviewing=draft.uid,
    )
    store.save_state("s1", state, title="first question")

    got = open_sessions(tmp_path).load("s1")  # a new store: what a reloaded page opens
    assert got is not None and not got.problems
    assert got.state == state
    assert [t.uid for t in got.turns] == [draft.uid, answer.uid]
    assert got.turns[0] == draft and got.turns[1] == answer  # every field, result type included
    assert type(got.turns[0].result).__name__ == "DeterminationDraft"
    assert type(got.turns[1].result).__name__ == "Answer"
    assert got.title == "q draft"  # the first turn named the session; a later title does not
    assert store.load("nope") is None


def test_a_turn_saved_again_replaces_its_row(tmp_path: Path) -> None:
    store = open_sessions(tmp_path)
    turn = _turn()
    store.save_turn("s", 0, turn)
    turn.status, turn.review_id = "accepted", "r1"
    store.save_turn("s", 0, turn)
    got = store.load("s")
    assert got is not None and len(got.turns) == 1
    assert got.turns[0].status == "accepted" and got.turns[0].review_id == "r1"


def test_recent_lists_sessions_with_turns_newest_first(tmp_path: Path) -> None:
    store = open_sessions(tmp_path)
    store.save_state("empty", SessionState(reviewer="x"))
    store.save_turn("old", 0, _turn())
    store.save_turn("new", 0, _turn("ask"))
    store.save_turn("new", 1, _turn("ask"))
    recent = store.recent()
    assert [s.id for s in recent] == ["new", "old"]
    assert recent[0].turns == 2 and recent[0].title == "q ask"
    store.save_turn("det-1", 0, _turn())  # the letter page's sessions: listed apart
    assert [s.id for s in store.recent(prefix="det-")] == ["det-1"]
    assert [s.id for s in store.recent(exclude="det-")] == ["new", "old"]


def test_unreadable_turn_is_skipped_and_named(tmp_path: Path) -> None:
    store = open_sessions(tmp_path)
    good = _turn()
    store.save_turn("s", 0, good)
    with sqlite3.connect(store.path) as conn:
        conn.execute("INSERT INTO turns VALUES ('s', 'broken1', 1, '{\"kind\": 3}')")
    got = store.load("s")
    assert got is not None and [t.uid for t in got.turns] == [good.uid]
    assert len(got.problems) == 1 and "broken1" in got.problems[0]


def test_corrupt_file_is_moved_aside_with_a_message_and_a_fresh_store(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    store = SessionStore(path)
    assert "could not be read" in store.notice and "moved" in store.notice
    assert str(path) in store.notice
    aside = list(tmp_path.glob("sessions.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    store.save_turn("s", 0, _turn())  # the fresh file works
    assert store.load("s") is not None


def test_newer_schema_is_left_untouched_and_nothing_is_saved(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    store = SessionStore(path)
    assert "newer imr-assist" in store.notice and "not saved" in store.notice
    store.save_turn("s", 0, _turn())
    store.save_state("s", SessionState(reviewer="x"))
    assert store.load("s") is None and store.recent() == []
    assert path.read_bytes() == before


def test_wal_and_busy_timeout_like_the_ledger(tmp_path: Path) -> None:
    store = open_sessions(tmp_path)
    conn = store._connect()
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from helpers import make_answer, passages
    from imr_assist.ui.sessions import SessionState, open_sessions
    from imr_assist.ui.turns import Turn

    store = open_sessions({home!r})
    who = sys.argv[1]
    for i in range(15):
        turn = Turn(kind="ask", query=f"{{who}}-{{i}}", result=make_answer(), evidence=passages())
        store.save_turn("shared", i, turn)
        store.save_state(who, SessionState(reviewer=who))
    """
)


def test_concurrent_writers_in_processes_lose_nothing(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(tests=str(REPO / "tests"), home=str(tmp_path)))
    open_sessions(tmp_path)  # created once, as the app does before serving
    procs = [
        subprocess.Popen([sys.executable, str(script), f"w{n}"], stderr=subprocess.PIPE)
        for n in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    got = open_sessions(tmp_path).load("shared")
    assert got is not None and not got.problems
    assert sorted(t.query for t in got.turns) == sorted(
        f"w{n}-{i}" for n in range(4) for i in range(15)
    )
    for n in range(4):
        saved = open_sessions(tmp_path).load(f"w{n}")
        assert saved is not None and saved.state.reviewer == f"w{n}"


@pytest.mark.parametrize("field", ["reviewer", "filters"])
def test_unreadable_state_falls_back_to_empty_with_a_problem(tmp_path: Path, field: str) -> None:
    store = open_sessions(tmp_path)
    store.save_turn("s", 0, _turn())
    bad = '{"reviewer": 5}' if field == "reviewer" else '{"filters": 7}'
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE sessions SET state = ? WHERE id = 's'", (bad,))
    got = store.load("s")
    assert got is not None and got.state == SessionState() and len(got.turns) == 1
    assert "reviewer's name, filters and drafts" in got.problems[0]
