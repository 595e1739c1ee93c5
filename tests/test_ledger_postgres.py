"""The shared PostgreSQL ledger beyond what every backend does (`test_ledger.py` and
`test_ledger_anchor.py` run those on both): two app machines with one audit trail, joining
with the right key only, a server that cannot be reached or a wrong password said plainly and
never with the password, a dropped schema reported missing, and a cut caught by the machine
whose events were cut. All against the session's real server (`pg.py`)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import GENERATED, ITEM, accepted, make_draft, passages
from imr_assist.cli.ledger import ledger_group
from imr_assist.errors import LedgerError
from imr_assist.review.ledger import Ledger, ReviewStatus, open_ledger
from imr_assist.review.ledger.postgres import PostgresStore, redact_url
from imr_assist.settings import Settings
from imr_assist.verification.verify import verify

# The session's PostgreSQL server and the ledger fixtures; helpers are imported inside the
# tests (a module-level import would come before pytest can register the plugin).
pytest_plugins = ("pg",)

CLI = str(Path(sys.executable).with_name("imr-assist"))


def _password() -> str:
    from pg import APP_PASSWORD

    return APP_PASSWORD


def _machine(home: Path, url: str) -> dict[str, str]:
    """The environment of an app machine: its own IMR_HOME, the shared ledger's URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMR_")}
    return {**env, "IMR_HOME": str(home), "IMR_LEDGER__URL": url, "HF_HUB_OFFLINE": "1"}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "ledger", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _copy_key(source: Path, home: Path) -> None:
    (home / "keys").mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "keys" / "ledger.key", home / "keys" / "ledger.key")


def test_two_machines_keep_one_audit_trail(tmp_path: Path, pg_server: object) -> None:
    from pg import PgServer

    assert isinstance(pg_server, PgServer)
    url = pg_server.new_database()
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    ledger_a = open_ledger(Settings(home=a, ledger={"url": url}))
    rid = accepted(ledger_a, who="Dr. Lee")

    # machine B without the key: told to copy it, nothing written, no traceback, no password
    result = _cli(_machine(b, url), "list")
    said = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in said, said
    assert "signed with a key this machine does not have" in said and "keys/ledger.key" in said
    assert _password() not in said and "imr:***@127.0.0.1" in said

    _copy_key(a, b)  # as the README says: every machine sharing the ledger has the same key
    result = _cli(_machine(b, url), "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["review_id"], r["status"], r["item"]) for r in rows] == [(rid, "accepted", ITEM)]
    result = _cli(_machine(b, url), "verify")
    assert result.returncode == 0 and "Ledger intact: 2 events" in result.stdout, result.stderr
    assert "Ledger: postgresql://imr:***@127.0.0.1:" in result.stdout
    assert _password() not in result.stdout + result.stderr

    # B records a review; A lists it, and both verify the one chain of 4 events
    ledger_b = open_ledger(Settings(home=b, ledger={"url": url}))
    review = ledger_b.start(make_draft(item="TENS unit purchase"), "Dr. Kim", passages())
    ledger_b.reject(review.review_id, "duplicate request", "Dr. Kim")
    assert [r.review_id for r in ledger_a.reviews()] == [review.review_id, rid]
    assert ledger_a.review(review.review_id).status is ReviewStatus.REJECTED
    out_file = tmp_path / "det.md"
    result = _cli(_machine(b, url), "export", rid, "--format", "md", "--out", str(out_file))
    assert result.returncode == 0, result.stderr
    assert ledger_a.events(rid)[-1].reviewer == "Dr. Lee"  # exported by B, seen by A
    for home in (a, b):
        result = _cli(_machine(home, url), "verify")
        assert result.returncode == 0 and "Ledger intact: 5 events" in result.stdout
    # each machine anchors the chain in its own head record
    heads = [
        json.loads(next((h / "keys").glob("ledger-postgresql-*.head")).read_text()) for h in (a, b)
    ]
    assert [h["seq"] for h in heads] == [2, 5]
    assert not (a / "ledger.sqlite3").exists() and not (b / "ledger.sqlite3").exists()


def test_a_machine_with_another_key_cannot_join(tmp_path: Path, pg_server: object) -> None:
    from pg import PgServer

    assert isinstance(pg_server, PgServer)
    url = pg_server.new_database()
    accepted(open_ledger(Settings(home=tmp_path / "a", ledger={"url": url})))
    other = tmp_path / "b"
    open_ledger(Settings(home=other))  # a SQLite ledger made b's own key
    with pytest.raises(LedgerError, match="not signed with this machine's key"):
        open_ledger(Settings(home=other, ledger={"url": url}))
    assert not list((other / "keys").glob("ledger-postgresql-*.head"))


def test_a_cut_is_caught_by_the_machine_whose_events_were_cut(
    tmp_path: Path, pg_server: object
) -> None:
    from pg import PgServer, raw_sql

    assert isinstance(pg_server, PgServer)
    url = pg_server.new_database()
    a, b = tmp_path / "a", tmp_path / "b"
    ledger_a = open_ledger(Settings(home=a, ledger={"url": url}))
    accepted(ledger_a)  # events 1-2
    _copy_key(a, b)
    ledger_b = open_ledger(Settings(home=b, ledger={"url": url}))
    rid = accepted(ledger_b, who="Dr. Kim")  # events 3-4, B's head record names 4
    _, exported_by_b = ledger_b.head()
    raw_sql(
        ledger_b,
        f"DELETE FROM events WHERE review_id = '{rid}'",
        "UPDATE head SET seq = 2",
        restore=True,
        server=pg_server,
    )
    check = ledger_b.verify()
    assert not check.ok and "events 3..4 are missing" in check.message, check.message
    # A wrote only events 1-2: its own record cannot tell, a head B printed in an export can
    assert ledger_a.verify().ok
    assert not ledger_a.verify(head=exported_by_b).ok


def test_stamp_changes_on_any_write(tmp_path: Path, pg_server: object) -> None:
    from pg import PgServer, raw_sql

    assert isinstance(pg_server, PgServer)
    ledger = Ledger(PostgresStore(pg_server.new_database(), tmp_path))
    accepted(ledger)
    before = ledger.stamp()
    assert ledger.stamp() == before  # reading changes nothing
    raw_sql(ledger, "UPDATE events SET reviewer = 'X' WHERE seq = 1", server=pg_server)
    tampered = ledger.stamp()
    assert tampered != before
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    assert ledger.stamp() != tampered
    ledger.accept(review.review_id, GENERATED, "Dr. Lee", verify(GENERATED, passages()))


def test_a_dropped_schema_is_missing_never_recreated(tmp_path: Path, pg_server: object) -> None:
    from pg import PgServer

    assert isinstance(pg_server, PgServer)
    url = pg_server.new_database()
    settings = Settings(home=tmp_path, ledger={"url": url})
    ledger = open_ledger(settings)
    accepted(ledger)
    database = url.rsplit("/", 1)[-1]
    with pg_server.superuser(database) as conn:
        conn.execute("DROP SCHEMA imr_ledger CASCADE")
    with pytest.raises(LedgerError, match=r"is missing: its head record .* shows"):
        ledger.reviews()
    with pytest.raises(LedgerError, match=r"is missing: its head record .* shows"):
        open_ledger(settings)
    result = CliRunner().invoke(
        ledger_group, ["verify", "--home", str(tmp_path)], env={"IMR_LEDGER__URL": url}
    )
    assert result.exit_code == 1 and "is missing" in result.output
    assert "Traceback" not in result.output and _password() not in result.output
    with pg_server.superuser(database) as conn:
        found = conn.execute("SELECT to_regclass('imr_ledger.events')").fetchone()
    assert found == (None,)


# --------------------------------------------------------------------------- connection errors


def test_a_server_that_cannot_be_reached_is_said_plainly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from pg import APP_PASSWORD, _free_port

    port = _free_port()  # nothing listens there
    url = f"postgresql://imr:{APP_PASSWORD}@127.0.0.1:{port}/ledger"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LedgerError) as info:
        open_ledger(Settings(home=tmp_path, ledger={"url": url}))
    message = str(info.value)
    assert f"Cannot connect to the shared ledger postgresql://imr:***@127.0.0.1:{port}/ledger" in (
        message
    )
    assert "server is running" in message and "IMR_LEDGER__URL" in message
    assert APP_PASSWORD not in message and APP_PASSWORD not in caplog.text
    result = CliRunner().invoke(
        ledger_group, ["list", "--home", str(tmp_path)], env={"IMR_LEDGER__URL": url}
    )
    assert result.exit_code == 1 and "Cannot connect to the shared ledger" in result.output
    assert "Traceback" not in result.output and APP_PASSWORD not in result.output
    assert not (tmp_path / "ledger.sqlite3").exists()  # never a silent local ledger instead


def test_a_wrong_password_is_said_without_either_password(
    tmp_path: Path, pg_server: object, caplog: pytest.LogCaptureFixture
) -> None:
    from pg import PgServer

    assert isinstance(pg_server, PgServer)
    good = pg_server.new_database()
    bad = good.replace(_password(), "Wrong-Secret-91")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LedgerError) as info:
        open_ledger(Settings(home=tmp_path, ledger={"url": bad}))
    message = str(info.value)
    assert "password authentication failed" in message and "imr:***@127.0.0.1" in message
    for secret in (_password(), "Wrong-Secret-91"):
        assert secret not in message and secret not in caplog.text
        assert secret not in repr(Settings(home=tmp_path, ledger={"url": bad}))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://imr:pw-secret@db/ledger", "is not a PostgreSQL URL"),
        ("/srv/ledger.sqlite3", "is not a PostgreSQL URL"),
        ("postgresql://imr:pw-secret@db:notaport/ledger", "cannot be read as a PostgreSQL URL"),
        ("postgresql://imr:pw-secret@db/ledger?colour=1", "cannot be read as a PostgreSQL URL"),
    ],
)
def test_a_url_that_is_not_postgres_is_refused(tmp_path: Path, url: str, says: str) -> None:
    with pytest.raises(LedgerError, match=says) as info:
        open_ledger(Settings(home=tmp_path, ledger={"url": url}))
    assert "pw-secret" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://imr:s3cret@db.internal:5432/ledger",
            "postgresql://imr:***@db.internal:5432/ledger",
        ),
        ("postgres://imr@db/ledger", "postgres://imr@db/ledger"),
        (
            "postgresql://imr@db/ledger?sslmode=require&password=s3cret",
            "postgresql://imr@db/ledger?sslmode=require&password=***",
        ),
        ("postgresql://imr:p%40ss@db/ledger", "postgresql://imr:***@db/ledger"),
        ("postgresql:///ledger?host=/run/postgresql", "postgresql:///ledger?host=/run/postgresql"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_least_privilege_role_appends_but_cannot_change_events(
    tmp_path: Path, pg_server: object
) -> None:
    """The README's grants: the owner creates the schema, the app role appends and reads and
    can neither change an event nor disable the triggers."""
    import uuid

    import psycopg

    from pg import PgServer, _database

    assert isinstance(pg_server, PgServer)
    owner_url = pg_server.new_database()
    owner = open_ledger(Settings(home=tmp_path / "owner", ledger={"url": owner_url}))
    accepted(owner)
    role, secret = f"app_{uuid.uuid4().hex[:8]}", "app-Secret-55"
    with pg_server.superuser(_database(owner)) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{secret}'")
        conn.execute(f"GRANT USAGE ON SCHEMA imr_ledger TO {role}")
        conn.execute(f"GRANT SELECT, INSERT ON imr_ledger.events TO {role}")
        conn.execute(f"GRANT SELECT, UPDATE ON imr_ledger.head TO {role}")
    app_url = owner_url.replace(f"imr:{_password()}@", f"{role}:{secret}@")
    app_home = tmp_path / "app"
    _copy_key(tmp_path / "owner", app_home)
    app = open_ledger(Settings(home=app_home, ledger={"url": app_url}))
    rid = accepted(app, who="Dr. Kim")
    assert owner.review(rid).reviewer == "Dr. Kim" and app.verify().ok
    with psycopg.connect(app_url, autocommit=True) as conn:
        for statement in (
            "UPDATE imr_ledger.events SET reviewer = 'X'",
            "DELETE FROM imr_ledger.events",
            "ALTER TABLE imr_ledger.events DISABLE TRIGGER USER",
            "DROP SCHEMA imr_ledger CASCADE",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement.encode())
    check = owner.verify()
    assert check.ok and check.events_checked == 4, check.message


def test_a_refused_write_never_quotes_the_row(tmp_path: Path, pg_server: object) -> None:
    """PostgreSQL's DETAIL of a refused row quotes its values (case text): never shown."""
    from pg import PgServer, raw_sql

    assert isinstance(pg_server, PgServer)
    ledger = Ledger(PostgresStore(pg_server.new_database(), tmp_path))
    raw_sql(
        ledger,
        "ALTER TABLE events ADD CONSTRAINT no_dr_lee CHECK (reviewer <> 'Dr. Lee') NOT VALID",
        bypass=False,
        server=pg_server,
    )
    draft = make_draft().model_copy(update={"case_summary": "Pt: Maria Lopez, SSN 123-45-6789."})
    with pytest.raises(LedgerError) as info:
        ledger.start(draft, "Dr. Lee", passages())
    message = str(info.value)
    assert "violates check constraint" in message and "Cannot write to the ledger" in message
    assert "Maria" not in message and "123-45-6789" not in message
    assert ledger.events() == []


def test_the_url_is_a_secret_in_settings_dumps(tmp_path: Path) -> None:
    """Masked in every dump; kept whole only in `cache_key` (the workspace rebuilds settings
    from it, so a masked URL there would point the app at no server)."""
    url = "postgresql://imr:Dump-Secret-3@db.internal:5432/imr_ledger"
    settings = Settings(home=tmp_path, ledger={"url": url})
    for shown in (settings.model_dump_json(), repr(settings), str(settings.model_dump())):
        assert "Dump-Secret-3" not in shown
    rebuilt = Settings.model_validate_json(settings.cache_key())
    assert rebuilt.ledger.url is not None and rebuilt.ledger.url.get_secret_value() == url
    assert Settings(home=tmp_path).ledger.url is None
