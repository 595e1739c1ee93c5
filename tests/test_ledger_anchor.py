"""The ledger's anchor (issue 15, defect 3): a chain cut at its tail, emptied, deleted or
recomputed must not verify.

Each attack works on the files as an intruder with write access to the ledger file (not to the
key) would: plain SQLite, the public `event_hash`, file copies. An attack is caught when
`Ledger(path).verify()` fails or opening the ledger raises `LedgerError`; the attacks that also
roll the head record back or delete the keys folder are caught by `verify(head=H)` with the
head printed in an earlier export. The table prints its tally (the
README's reliability figure).

The shared PostgreSQL ledger has its own table (`PG_ATTACKS`): the same attacks made by the
database's superuser (triggers disabled or bypassed, the head row reset, the schema dropped,
an older copy restored), and the honest-path tests below run on both backends."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from helpers import GENERATED, Clock, accepted, make_draft, passages
from imr_assist.cli.ledger import ledger_group
from imr_assist.errors import LedgerError
from imr_assist.review.export import export_review
from imr_assist.review.ledger import Ledger, event_hash, open_ledger
from imr_assist.review.ledger.postgres import PostgresStore
from imr_assist.settings import Settings
from imr_assist.verification.verify import verify

LEDGER = "ledger.sqlite3"
# The session's PostgreSQL server and the ledger fixtures (`pg.py`); its helpers are imported
# inside functions (a module-level import would come before pytest can register it).
pytest_plugins = ("pg",)
Tamper = Any  # pg.tamper: (ledger, *sql, bypass=True, restore=False) -> None


def _fill(home: Path) -> Ledger:
    ledger = Ledger(home / LEDGER, clock=Clock())
    accepted(ledger)
    review = ledger.start(make_draft(), "Dr. Kim", passages())
    ledger.reject(review.review_id, "not this item", "Dr. Kim")
    accepted(ledger, who="Dr. Roe")  # 6 events
    return ledger


_TRIGGERS = (
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, "
    "'the review ledger is append-only: events cannot be changed'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, "
    "'the review ledger is append-only: events cannot be deleted'); END",
)


def _sql(home: Path, *statements: str, restore_triggers: bool = True) -> None:
    """Run SQL on the ledger around its append-only triggers, putting them back after (as a
    careful intruder would), unless told not to."""
    conn = sqlite3.connect(home / LEDGER, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    for statement in statements:
        conn.execute(statement)
    if restore_triggers:
        for statement in _TRIGGERS:
            conn.execute(statement)
    conn.close()


def _rows(home: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(home / LEDGER)
    rows = conn.execute(
        "SELECT seq, review_id, kind, reviewer, at, payload FROM events ORDER BY seq"
    ).fetchall()
    conn.close()
    return rows


def _recompute(home: Path, edit: Callable[[int, dict[str, object]], None], mac: str) -> None:
    """Edit payloads, then recompute every hash and link with the public chain function, as an
    intruder without the key can. `mac`: 'keep' the old MACs, 'null' them, or 'none' (drop
    the column: a pretend ledger from before the key)."""
    rows = _rows(home)
    statements, prev = [], "0" * 64
    for seq, rid, kind, who, at, payload_text in rows:
        payload = json.loads(str(payload_text))
        edit(int(str(seq)), payload)
        digest = event_hash(prev, int(str(seq)), str(rid), str(kind), str(who), str(at), payload)
        text = json.dumps(payload, sort_keys=True, separators=(",", ":")).replace("'", "''")
        set_mac = ", mac = NULL" if mac in {"null", "none"} else ""
        statements.append(
            f"UPDATE events SET payload = '{text}', prev_hash = '{prev}', hash = '{digest}'"
            f"{set_mac} WHERE seq = {seq}"
        )
        prev = digest
    if mac == "none":
        statements.append("PRAGMA user_version = 1")
    _sql(home, *statements)


def _forge_accept(seq: int, payload: dict[str, object]) -> None:
    if "final_text" in payload:
        payload["final_text"] = "Forged: the kit is medically necessary."


def _run(*statements: str) -> Callable[[Path], None]:
    return lambda home: _sql(home, *statements)


def _edit_and_recompute(mac: str) -> Callable[[Path], None]:
    return lambda home: _recompute(home, _forge_accept, mac)


def _cut_tail(n: int) -> Callable[[Path], None]:
    def attack(home: Path) -> None:
        last = len(_rows(home))
        _sql(
            home,
            f"DELETE FROM events WHERE seq > {last - n}",
            f"UPDATE sqlite_sequence SET seq = {last - n} WHERE name = 'events'",
        )

    return attack


def _delete_file(home: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (home / (LEDGER + suffix)).unlink(missing_ok=True)


def _fresh_ledger_in_place(home: Path) -> None:
    other = home.parent / f"{home.name}-elsewhere"
    Ledger(other / LEDGER)
    _delete_file(home)
    shutil.copy(other / LEDGER, home / LEDGER)


def _older_copy(home: Path) -> None:
    """Swap in the backup taken after the first review (see `_BACKUP`)."""
    _delete_file(home)
    shutil.copy(home / "backup.sqlite3", home / LEDGER)


def _append_forged(home: Path) -> None:
    conn = sqlite3.connect(home / LEDGER)
    seq, prev = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    conn.close()
    payload = {"reason": "forged"}
    at = "2026-11-28T10:00:00+00:00"
    digest = event_hash(prev, seq + 1, "forged", "rejected", "Dr. Fake", at, payload)
    _sql(
        home,
        "INSERT INTO events (seq, review_id, kind, reviewer, at, payload, prev_hash, hash) "
        f"VALUES ({seq + 1}, 'forged', 'rejected', 'Dr. Fake', '{at}', "
        f"'{json.dumps(payload)}', '{prev}', '{digest}')",
    )


def _rewrite_head(home: Path) -> None:
    path = home / "keys" / "ledger.head"
    record = json.loads(path.read_text())
    conn = sqlite3.connect(home / LEDGER)
    (digest,) = conn.execute("SELECT hash FROM events WHERE seq = 3").fetchone()
    conn.close()
    path.write_text(json.dumps({**record, "seq": 3, "hash": digest}))
    _cut_tail(4)(home)


def _old_head_and_cut(home: Path) -> None:
    """Roll the head record back to a copy taken at event 2 and cut the ledger to match."""
    shutil.copy(home / "head-at-2", home / "keys" / "ledger.head")
    _cut_tail(5)(home)


def _start_over(home: Path) -> None:
    shutil.rmtree(home / "keys")
    _delete_file(home)


# (name, attack, caught only with an exported head); the ledger holds 7 events when attacked
ATTACKS: list[tuple[str, Callable[[Path], None], bool]] = [
    ("alter a payload", _run("UPDATE events SET payload = '{}' WHERE seq = 4"), False),
    ("alter a reviewer", _run("UPDATE events SET reviewer = 'X' WHERE seq = 3"), False),
    ("alter a time", _run("UPDATE events SET at = '2020' WHERE seq = 2"), False),
    ("delete a middle event", _run("DELETE FROM events WHERE seq = 3"), False),
    ("delete the first event", _run("DELETE FROM events WHERE seq = 1"), False),
    ("delete the last event", _run("DELETE FROM events WHERE seq = 7"), False),
    ("cut the last event, reset the sequence", _cut_tail(1), False),
    ("cut the last 3 events, reset the sequence", _cut_tail(3), False),
    ("delete all rows, reset the sequence", _cut_tail(7), False),
    (
        "delete all rows and the sequence",
        lambda h: _sql(h, "DELETE FROM events", "DELETE FROM sqlite_sequence"),
        False,
    ),
    ("delete the ledger file", _delete_file, False),
    ("swap in a new empty ledger", _fresh_ledger_in_place, False),
    ("swap in an older copy of the ledger", _older_copy, False),
    ("edit, recompute the chain, keep MACs", _edit_and_recompute("keep"), False),
    ("edit, recompute the chain, null MACs", _edit_and_recompute("null"), False),
    ("edit, recompute, pretend pre-key ledger", _edit_and_recompute("none"), False),
    ("append a forged event", _append_forged, False),
    (
        "swap two events",
        lambda h: _sql(
            h,
            "UPDATE events SET seq = 100 WHERE seq = 2",
            "UPDATE events SET seq = 2 WHERE seq = 3",
            "UPDATE events SET seq = 3 WHERE seq = 100",
        ),
        False,
    ),
    ("drop the append-only triggers", lambda h: _sql(h, restore_triggers=False), False),
    ("delete the head record", lambda h: (h / "keys" / "ledger.head").unlink(), False),
    ("rewrite the head record, cut to it", _rewrite_head, False),
    ("delete the key", lambda h: (h / "keys" / "ledger.key").unlink(), False),
    (
        "delete the keys folder, recompute, keep MACs",
        lambda h: (shutil.rmtree(h / "keys"), _recompute(h, _forge_accept, "keep")),
        False,
    ),
    (
        "delete the keys folder, recompute, null MACs",
        lambda h: (shutil.rmtree(h / "keys"), _recompute(h, _forge_accept, "null")),
        True,
    ),
    ("roll the head record back, cut to it", _old_head_and_cut, True),
    ("delete the keys folder and the ledger", _start_over, True),
]  # fmt: skip


def _attacked(tmp_path: Path, attack: Callable[[Path], None]) -> tuple[bool, bool, str]:
    """(caught by verify alone, caught with the exported head, what was said)."""
    home = tmp_path / "home"
    ledger = Ledger(home / LEDGER, clock=Clock())
    accepted(ledger)  # 2 events
    shutil.copy(home / "keys" / "ledger.head", home / "head-at-2")
    conn = sqlite3.connect(home / LEDGER)
    conn.execute(f"VACUUM INTO '{home / 'backup.sqlite3'}'")
    conn.close()
    review = ledger.start(make_draft(), "Dr. Kim", passages())
    ledger.reject(review.review_id, "not this item", "Dr. Kim")
    rid = accepted(ledger, who="Dr. Roe")  # 6 events
    export_review(ledger, rid, "md", tmp_path / "det.md")  # event 7, the head of event 6
    exported = next(
        line.split("hash ")[-1]
        for line in (tmp_path / "det.md").read_text().splitlines()
        if "Ledger head at export" in line
    )
    attack(home)
    try:
        check = Ledger(home / LEDGER).verify()
    except LedgerError as exc:
        return True, True, str(exc)
    if not check.ok:
        return True, True, check.message
    with_head = Ledger(home / LEDGER).verify(head=exported)
    return False, not with_head.ok, with_head.message


@pytest.mark.parametrize(("name", "attack", "needs_head"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_each_attack_is_caught(
    tmp_path: Path, name: str, attack: Callable[[Path], None], needs_head: bool
) -> None:
    alone, with_head, said = _attacked(tmp_path, attack)
    assert alone or needs_head, f"{name}: verify still says {said!r}"
    assert with_head, f"{name}: even the exported head was not missed: {said!r}"


def test_attack_tally(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The figure for README: attacks caught by `ledger verify` alone and with `--head`."""
    alone = with_head = 0
    for n, (_, attack, _) in enumerate(ATTACKS):
        a, h, _ = _attacked(tmp_path / str(n), attack)
        alone += a
        with_head += h
    with capsys.disabled():
        print(
            f"\nledger attacks: {alone}/{len(ATTACKS)} caught by `ledger verify`, "
            f"{with_head}/{len(ATTACKS)} with the head printed in an export"
        )
    assert with_head == len(ATTACKS)
    assert alone == len(ATTACKS) - sum(needs_head for *_, needs_head in ATTACKS)


@pytest.mark.parametrize(
    "attack",
    [_cut_tail(2), _cut_tail(6), _delete_file, _edit_and_recompute("keep")],
    ids=["cut-tail-reset-sequence", "delete-all-rows", "delete-file", "recompute-chain"],
)
def test_the_reported_attacks_no_longer_say_intact(tmp_path: Path, attack: object) -> None:
    """Issue 15's four: each printed "Ledger intact" before the anchor (public API only)."""
    _fill(tmp_path)
    assert callable(attack)
    attack(tmp_path)
    try:
        check = Ledger(tmp_path / LEDGER).verify()
    except LedgerError as exc:
        assert "missing" in str(exc)
        return
    assert not check.ok and "Ledger intact" not in check.message, check.message


# --------------------------------------------------------------------------- PostgreSQL

PgAttack = Callable[[Ledger, Any], None]  # (the attacked home's ledger, the server)


def _pg(*statements: str, bypass: bool = True, restore: bool = True) -> PgAttack:
    """SQL as the database superuser, triggers disabled around it and re-enabled after (a
    careful intruder) unless told otherwise."""

    def attack(ledger: Ledger, server: Any) -> None:
        from pg import raw_sql

        raw_sql(ledger, *statements, bypass=bypass, restore=restore, server=server)

    return attack


def _pg_rows(ledger: Ledger, server: Any) -> list[tuple[Any, ...]]:
    from pg import _database

    with server.superuser(_database(ledger)) as conn:
        return conn.execute(
            "SELECT seq, review_id, kind, reviewer, at, payload FROM imr_ledger.events ORDER BY seq"
        ).fetchall()


def _pg_recompute(mac: str) -> PgAttack:
    """Edit payloads, recompute every hash and link (public `event_hash`), keep or null MACs."""

    def attack(ledger: Ledger, server: Any) -> None:
        statements, prev = [], "0" * 64
        for seq, rid, kind, who, at, text in _pg_rows(ledger, server):
            payload = json.loads(text)
            _forge_accept(seq, payload)
            digest = event_hash(prev, seq, rid, kind, who, at, payload)
            body = json.dumps(payload, sort_keys=True, separators=(",", ":")).replace("'", "''")
            set_mac = ", mac = NULL" if mac == "null" else ""
            statements.append(
                f"UPDATE events SET payload = '{body}', prev_hash = '{prev}', hash = '{digest}'"
                f"{set_mac} WHERE seq = {seq}"
            )
            prev = digest
        _pg(*statements)(ledger, server)

    return attack


def _pg_cut(n: int) -> PgAttack:
    def attack(ledger: Ledger, server: Any) -> None:
        last = len(_pg_rows(ledger, server))
        _pg(f"DELETE FROM events WHERE seq > {last - n}", f"UPDATE head SET seq = {last - n}")(
            ledger, server
        )

    return attack


def _pg_append_forged(ledger: Ledger, server: Any) -> None:
    seq, prev = ledger.head()
    payload = {"reason": "forged"}
    at = "2026-11-28T10:00:00+00:00"
    digest = event_hash(prev, seq + 1, "forged", "rejected", "Dr. Fake", at, payload)
    _pg(
        "INSERT INTO events (seq, review_id, kind, reviewer, at, payload, prev_hash, hash) "
        f"VALUES ({seq + 1}, 'forged', 'rejected', 'Dr. Fake', '{at}', "
        f"'{json.dumps(payload)}', '{prev}', '{digest}')",
        f"UPDATE head SET seq = {seq + 1}",
    )(ledger, server)


def _pg_fresh_in_place(ledger: Ledger, server: Any) -> None:
    """Drop the schema and let a machine with another key create an empty ledger there."""
    _pg("DROP SCHEMA imr_ledger CASCADE", bypass=False)(ledger, server)
    store = ledger.store
    assert isinstance(store, PostgresStore)
    Ledger(PostgresStore(store._url, ledger.anchor.head_path.parent.parent / "elsewhere"))


def _pg_rewrite_head(ledger: Ledger, server: Any) -> None:
    path = ledger.anchor.head_path
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "seq": 3, "hash": ledger.events()[2].hash}))
    _pg_cut(4)(ledger, server)


def _pg_old_head_and_cut(ledger: Ledger, server: Any) -> None:
    shutil.copy(ledger.anchor.head_path.parent.parent / "head-at-2", ledger.anchor.head_path)
    _pg_cut(5)(ledger, server)


def _pg_forget_head_and_cut(ledger: Ledger, server: Any) -> None:
    ledger.anchor.head_path.unlink()
    _pg_cut(3)(ledger, server)


def _pg_start_over(ledger: Ledger, server: Any) -> None:
    shutil.rmtree(ledger.anchor.head_path.parent)
    _pg("DROP SCHEMA imr_ledger CASCADE", bypass=False)(ledger, server)


def _pg_keys_gone_recompute(ledger: Ledger, server: Any) -> None:
    shutil.rmtree(ledger.anchor.head_path.parent)
    _pg_recompute("keep")(ledger, server)


# (name, attack, caught only with an exported head); the ledger holds 7 events when attacked
PG_ATTACKS: list[tuple[str, PgAttack, bool]] = [
    ("alter a payload", _pg("UPDATE events SET payload = '{}' WHERE seq = 4"), False),
    ("alter a reviewer", _pg("UPDATE events SET reviewer = 'X' WHERE seq = 3"), False),
    ("alter a time", _pg("UPDATE events SET at = '2020' WHERE seq = 2"), False),
    (
        "alter a payload, triggers bypassed by replication role",
        _pg(
            "SET session_replication_role = replica",
            "UPDATE events SET payload = '{}' WHERE seq = 4",
            bypass=False,
        ),
        False,
    ),
    ("delete a middle event", _pg("DELETE FROM events WHERE seq = 3"), False),
    ("delete the first event", _pg("DELETE FROM events WHERE seq = 1"), False),
    ("delete the last event", _pg("DELETE FROM events WHERE seq = 7"), False),
    ("cut the last event, reset the head row", _pg_cut(1), False),
    ("cut the last 3 events, reset the head row", _pg_cut(3), False),
    ("delete all rows, reset the head row", _pg_cut(7), False),
    ("truncate the events and the head row", _pg("TRUNCATE events", "TRUNCATE head"), False),
    ("drop the schema", _pg("DROP SCHEMA imr_ledger CASCADE", bypass=False), False),
    ("swap in a new empty ledger", _pg_fresh_in_place, False),
    (
        "restore an older copy of the events",
        _pg(
            "DELETE FROM events",
            "INSERT INTO events SELECT * FROM public.backup",
            "UPDATE head SET seq = 2",
        ),
        False,
    ),
    ("edit, recompute the chain, keep MACs", _pg_recompute("keep"), False),
    ("edit, recompute the chain, null MACs", _pg_recompute("null"), False),
    ("append a forged event", _pg_append_forged, False),
    (
        "swap two events",
        _pg(
            "UPDATE events SET seq = 100 WHERE seq = 2",
            "UPDATE events SET seq = 2 WHERE seq = 3",
            "UPDATE events SET seq = 3 WHERE seq = 100",
        ),
        False,
    ),
    ("disable the append-only triggers", _pg(restore=False), False),
    (
        "drop the append-only triggers",
        _pg(
            "DROP TRIGGER events_no_update ON events",
            "DROP TRIGGER events_no_delete ON events",
            bypass=False,
        ),
        False,
    ),
    ("rewrite the head record, cut to it", _pg_rewrite_head, False),
    ("delete the key", lambda lg, _: lg.anchor.key_path.unlink(), False),
    ("delete the keys folder, recompute, keep MACs", _pg_keys_gone_recompute, False),
    ("delete this machine's head record, cut the tail", _pg_forget_head_and_cut, True),
    ("roll the head record back, cut to it", _pg_old_head_and_cut, True),
    ("delete the keys folder and the schema", _pg_start_over, True),
]  # fmt: skip


def _pg_attacked(tmp_path: Path, server: Any, attack: PgAttack) -> tuple[bool, bool, str]:
    """(caught by verify alone, caught with the exported head, what was said)."""
    from pg import _database

    url = server.new_database()
    home = tmp_path / "home"
    ledger = Ledger(PostgresStore(url, home), clock=Clock())
    accepted(ledger)  # 2 events
    shutil.copy(ledger.anchor.head_path, home / "head-at-2")
    with server.superuser(_database(ledger)) as conn:
        conn.execute("CREATE TABLE public.backup AS SELECT * FROM imr_ledger.events")
    review = ledger.start(make_draft(), "Dr. Kim", passages())
    ledger.reject(review.review_id, "not this item", "Dr. Kim")
    rid = accepted(ledger, who="Dr. Roe")  # 6 events
    export_review(ledger, rid, "md", tmp_path / "det.md")  # event 7, the head of event 6
    exported = next(
        line.split("hash ")[-1]
        for line in (tmp_path / "det.md").read_text().splitlines()
        if "Ledger head at export" in line
    )
    attack(ledger, server)
    try:
        check = Ledger(PostgresStore(url, home)).verify()
    except LedgerError as exc:
        return True, True, str(exc)
    if not check.ok:
        return True, True, check.message
    with_head = Ledger(PostgresStore(url, home)).verify(head=exported)
    return False, not with_head.ok, with_head.message


@pytest.mark.parametrize(
    ("name", "attack", "needs_head"), PG_ATTACKS, ids=[a[0] for a in PG_ATTACKS]
)
def test_each_postgres_attack_is_caught(
    tmp_path: Path, pg_server: Any, name: str, attack: PgAttack, needs_head: bool
) -> None:
    alone, with_head, said = _pg_attacked(tmp_path, pg_server, attack)
    assert alone or needs_head, f"{name}: verify still says {said!r}"
    assert with_head, f"{name}: even the exported head was not missed: {said!r}"
    assert alone != needs_head, f"{name}: caught without the exported head now ({said!r})"


# --------------------------------------------------------------------------- the honest paths


def _filled(home: Path, url: str | None) -> Ledger:
    """`_fill` on either backend."""
    from pg import make_ledger

    ledger = make_ledger(home, url, clock=Clock())
    accepted(ledger)
    review = ledger.start(make_draft(), "Dr. Kim", passages())
    ledger.reject(review.review_id, "not this item", "Dr. Kim")
    accepted(ledger, who="Dr. Roe")  # 6 events
    return ledger


def test_a_clean_ledger_verifies_with_its_exported_head(
    tmp_path: Path, ledger_url: str | None
) -> None:
    ledger = _filled(tmp_path, ledger_url)
    check = ledger.verify()
    assert check.ok and check.anchored and "signed with the ledger key" in check.message
    seq, head = ledger.head()
    assert (seq, head) == (6, check.head_hash)
    assert ledger.verify(head=head).ok
    assert "The head given is event 6" in ledger.verify(head=head[:12].upper()).message
    first = ledger.events()[0].hash
    assert ledger.verify(head=first).ok  # an older head is still an event of the chain
    with pytest.raises(LedgerError, match="is not a chain head"):
        ledger.verify(head="not-a-hash")
    record = json.loads(ledger.anchor.head_path.read_text())
    assert (record["seq"], record["hash"], record["keyed_from"]) == (6, head, 1)
    assert ledger.anchor.head_path.parent == tmp_path / "keys"
    assert all(e.mac for e in ledger.events())


def test_home_key_head_and_ledger_are_private(tmp_path: Path) -> None:
    home = tmp_path / "new-home"
    ledger = open_ledger(Settings(home=home))
    reader = sqlite3.connect(home / LEDGER)  # keeps the -wal file while the ledger writes
    reader.execute("SELECT count(*) FROM events").fetchone()
    accepted(ledger)

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(home) == 0o700
    assert mode(home / "keys") == 0o700
    for name in (LEDGER, LEDGER + "-wal", "keys/ledger.key", "keys/ledger.head"):
        assert mode(home / name) == 0o600, name
    reader.close()


def test_a_home_made_by_the_index_is_private(tmp_path: Path) -> None:
    from helpers import hashing_settings
    from imr_assist.index.store import PassageIndex

    home = tmp_path / "index-home"
    PassageIndex(hashing_settings(home))
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_key_file_from_settings(tmp_path: Path, ledger_url: str | None) -> None:
    key = tmp_path / "vault" / "imr.key"
    settings = Settings(home=tmp_path / "home", ledger={"key_file": key, "url": ledger_url})
    ledger = open_ledger(settings)
    accepted(ledger)
    assert key.exists() and not (tmp_path / "home" / "keys" / "ledger.key").exists()
    assert ledger.verify().ok
    # the key that signed it, and no other, verifies it
    key.rename(tmp_path / "vault" / "moved.key")
    with pytest.raises(LedgerError, match=r"key .* is missing"):
        open_ledger(settings)
    (tmp_path / "vault" / "moved.key").rename(key)
    assert open_ledger(settings).verify().ok


def test_a_file_deleted_under_a_running_ledger_is_not_recreated(tmp_path: Path) -> None:
    ledger = _fill(tmp_path)
    _delete_file(tmp_path)
    with pytest.raises(LedgerError, match="is missing"):
        ledger.reviews()
    with pytest.raises(LedgerError, match=r"is missing.*head record"):
        Ledger(tmp_path / LEDGER)
    assert not (tmp_path / LEDGER).exists()


_V1_SCHEMA = (
    "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, review_id TEXT NOT NULL, "
    "kind TEXT NOT NULL, reviewer TEXT NOT NULL, at TEXT NOT NULL, payload TEXT NOT NULL, "
    "prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'append-only'); END",
    "PRAGMA user_version = 1",
)


def _as_v1(home: Path) -> None:
    """The same events in a ledger as schema 1 wrote it: no MAC column, no key, no head."""
    conn = sqlite3.connect(home / LEDGER)
    rows = conn.execute(
        "SELECT seq, review_id, kind, reviewer, at, payload, prev_hash, hash FROM events"
    ).fetchall()
    conn.close()
    _delete_file(home)
    shutil.rmtree(home / "keys")
    conn = sqlite3.connect(home / LEDGER, isolation_level=None)
    for statement in _V1_SCHEMA:
        conn.execute(statement)
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()


def test_a_ledger_from_before_the_key_is_anchored_on_first_open(tmp_path: Path) -> None:
    home = tmp_path / "old"
    _fill(home)
    _as_v1(home)
    ledger = Ledger(home / LEDGER, clock=Clock())
    assert ledger.verify().ok and [e.mac for e in ledger.events()] == [None] * 6
    accepted(ledger)
    assert ledger.verify().ok and all(e.mac for e in ledger.events()[6:])
    _cut_tail(2)(home)  # now anchored: cutting what came after is caught
    assert not Ledger(home / LEDGER).verify().ok


def test_concurrent_threads_keep_the_head_in_step(tmp_path: Path, ledger_url: str | None) -> None:
    from pg import make_ledger

    ledger = make_ledger(tmp_path, ledger_url)
    report = verify(GENERATED, passages())
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                review = ledger.start(make_draft(), "Dr. T", passages())
                ledger.accept(review.review_id, GENERATED, "Dr. T", report)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    check = ledger.verify()
    assert check.ok and check.events_checked == 80, check.message
    record = json.loads(ledger.anchor.head_path.read_text())
    assert record["seq"] == 80 and record["hash"] == check.head_hash


# --------------------------------------------------------------------------- PHI in errors

PHI = ("Maria", "Lopez", "01/02/1970", "123-45-6789")


@pytest.mark.parametrize(
    "corrupt",
    [
        "UPDATE events SET payload = '[' || payload || ']' WHERE seq = 1",
        "UPDATE events SET payload = replace(payload, '\"stance\":', '\"stanze\":') WHERE seq = 1",
        'UPDATE events SET payload = replace(payload, \'"kind":"draft"\', \'"kind":7\')',
        "UPDATE events SET payload = substr(payload, 1, 60) WHERE seq = 1",
        "UPDATE events SET kind = 'edited' WHERE seq = 1",
    ],
    ids=["payload-a-list", "field-renamed", "field-retyped", "payload-cut", "kind-changed"],
)
def test_a_damaged_event_is_named_by_id_and_hash_never_by_its_content(
    tmp_path: Path,
    corrupt: str,
    ledger_url: str | None,
    tamper: Tamper,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pg import make_ledger

    ledger = make_ledger(tmp_path, ledger_url, clock=Clock())
    draft = make_draft().model_copy(
        update={"case_summary": "Pt: Maria Lopez, DOB 01/02/1970, SSN 123-45-6789, low back."}
    )
    review = ledger.start(draft, "Dr. Lee", passages())
    tamper(ledger, corrupt, restore=True)
    for call in (lambda: ledger.review(review.review_id), ledger.reviews):
        with pytest.raises(LedgerError) as info:
            call()
        message = str(info.value)
        assert not [p for p in PHI if p in message], message
        assert review.review_id in message and "ledger verify" in message
    try:
        ledger.events()  # raw events: read when their JSON is a JSON object
    except LedgerError as exc:
        assert not [p for p in PHI if p in str(exc)], str(exc)
    if ledger_url is not None:
        monkeypatch.setenv("IMR_LEDGER__URL", ledger_url)
    code, out = _cli("show", review.review_id, "--home", str(tmp_path))
    assert code == 1 and "Traceback" not in out and not [p for p in PHI if p in out], out


# --------------------------------------------------------------------------- CLI and exports


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(ledger_group, list(args))
    return result.exit_code, result.output


def test_cli_verify_head_and_missing_ledger(
    tmp_path: Path, ledger_url: str | None, tamper: Tamper, monkeypatch: pytest.MonkeyPatch
) -> None:
    if ledger_url is not None:
        monkeypatch.setenv("IMR_LEDGER__URL", ledger_url)
    ledger = open_ledger(Settings(home=tmp_path))
    rid = accepted(ledger)
    out_file = tmp_path / "det.md"
    code, out = _cli(
        "export", rid, "--format", "md", "--out", str(out_file), "--home", str(tmp_path)
    )
    assert code == 0, out
    _, head = ledger.head()
    line = next(x for x in out_file.read_text().splitlines() if "Ledger head at export" in x)
    assert "event 2" in line and ledger.events()[1].hash in line
    code, out = _cli("verify", "--head", head, "--home", str(tmp_path))
    assert code == 0 and "Ledger intact: 3 events" in out and "The head given is event 3" in out
    code, out = _cli("verify", "--head", "ab" * 32, "--home", str(tmp_path))
    assert code == 1 and "not an event of this chain" in out
    if ledger_url is None:
        _delete_file(tmp_path)
    else:
        tamper(ledger, "DROP SCHEMA imr_ledger CASCADE", bypass=False)
    code, out = _cli("verify", "--home", str(tmp_path))
    assert code == 1 and "is missing" in out and "Traceback" not in out
    assert not (tmp_path / LEDGER).exists()
    with pytest.raises(LedgerError, match="is missing"):  # and not recreated empty
        open_ledger(Settings(home=tmp_path))


def test_docx_export_carries_the_head(tmp_path: Path, ledger_url: str | None) -> None:
    import docx

    from pg import make_ledger

    ledger = make_ledger(tmp_path, ledger_url, clock=Clock())
    rid = accepted(ledger)
    path = export_review(ledger, rid, "docx", tmp_path / "det.docx")
    body = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert f"Ledger head at export: event 2, hash {ledger.events()[1].hash}" in body
    assert os.path.getsize(path) > 0
