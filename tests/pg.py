"""A real PostgreSQL server for the session, and the ledger on either backend.

A test module registers these fixtures with ``pytest_plugins = ("pg",)`` and imports the
helpers (`make_ledger`, `raw_sql`, `is_pg`). `pg_server` runs Debian's `initdb` into a fresh
folder and starts `postgres` on a free port of 127.0.0.1 (and a Unix socket in that folder), as the
`postgres` system user when the tests run as root (postgres refuses root; CI runs as root),
and stops it at the end. The tests FAIL, never skip, when it cannot start: `make test` installs
the `postgresql` package first.

Two roles: `imr` (password, over TCP with scram-sha-256: what the app uses, in the URL) owns a
fresh database per test; the superuser `postgres` (trust, over the Unix socket) tampers with it
as an intruder with the server's keys would.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from helpers import Clock
from imr_assist.review.ledger import Ledger
from imr_assist.review.ledger.postgres import SCHEMA, PostgresStore

BACKENDS = ("sqlite", "postgresql")
APP_USER = "imr"
APP_PASSWORD = "pw-Do-Not-Print-7f3a"  # a password that must never reach a message or a log


def postgres_bin() -> Path | None:
    """The folder of Debian's server binaries (the newest version), else initdb on the PATH."""
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """The session's server: URLs for the app, a superuser connection for tampering."""

    port: int
    socket_dir: Path

    def url(self, database: str, password: str | None = APP_PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{APP_USER}{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh database owned by the app role; its URL (with the password)."""
        name = f"ledger_{uuid.uuid4().hex[:12]}"
        with self.superuser("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER {APP_USER}')
        return self.url(name)

    def superuser(self, database: str) -> psycopg.Connection[Any]:
        """An autocommit superuser connection over the Unix socket."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=database,
            autocommit=True,
        )


def _as_postgres(args: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *args] if owner else args


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server for the session (see the module docstring)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.fail(
            "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found in "
            "/usr/lib/postgresql/*/bin or on the PATH: run `make test` (it installs Debian's "
            "postgresql) or `apt-get install postgresql` as root."
        )
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(
                "Running as root, but there is no `postgres` system user to run the test "
                "server as (postgres refuses root): `apt-get install postgresql` creates it."
            )
        owner = "postgres"
    root = Path(tempfile.mkdtemp(prefix="imr-pg-"))  # /tmp: reachable by the postgres user
    data, log = root / "data", root / "server.log"
    pwfile = root / "superuser.pw"
    pwfile.write_text("unused-superuser-password\n")
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    port = _free_port()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_postgres([str(bindir / args[0]), *args[1:]], owner),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    init = run(
        "initdb",
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        f"--pwfile={pwfile}",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C",
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed ({init.returncode}): {init.stderr[-2000:]}")
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    start = run("pg_ctl", "start", "-w", "-t", "60", "-D", str(data), "-l", str(log), "-o", options)
    if start.returncode != 0:
        text = log.read_text(errors="replace")[-2000:] if log.exists() else start.stderr
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start on 127.0.0.1:{port}: {text}")
    server = PgServer(port=port, socket_dir=root)
    try:
        with server.superuser("postgres") as conn:
            conn.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}'")
        yield server
    finally:
        run("pg_ctl", "stop", "-m", "immediate", "-D", str(data))
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- either backend


@pytest.fixture(params=BACKENDS)
def ledger_backend(request: pytest.FixtureRequest) -> str:
    """'sqlite' (a file in the test home) or 'postgresql' (a fresh database on the server)."""
    return str(request.param)


@pytest.fixture
def ledger_url(ledger_backend: str, request: pytest.FixtureRequest) -> str | None:
    """The IMR_LEDGER__URL of the test (None: SQLite in the home)."""
    if ledger_backend == "sqlite":
        return None
    server: PgServer = request.getfixturevalue("pg_server")
    return server.new_database()


def make_ledger(home: Path, url: str | None, **kwargs: Any) -> Ledger:
    """The ledger of `home`: its SQLite file, or the PostgreSQL ledger at `url`."""
    if url is None:
        return Ledger(home / "ledger.sqlite3", **kwargs)
    return Ledger(PostgresStore(url, home), **kwargs)


@pytest.fixture
def ledger(tmp_path: Path, ledger_url: str | None) -> Ledger:
    """A fresh ledger on the test's backend, with the fake clock."""
    return make_ledger(tmp_path, ledger_url, clock=Clock())


def is_pg(ledger: Ledger) -> bool:
    return isinstance(ledger.store, PostgresStore)


def raw_sql(
    ledger: Ledger,
    *statements: str,
    bypass: bool = True,
    restore: bool = False,
    server: PgServer | None = None,
) -> None:
    """Run SQL on the ledger's tables as an intruder: SQLite through the file, PostgreSQL as
    the superuser (schema `imr_ledger` on the search path). `bypass`: first drop (SQLite) or
    disable (PostgreSQL) the append-only triggers; `restore`: put them back after, as a careful
    intruder would."""
    if not is_pg(ledger):
        import sqlite3

        from imr_assist.review.ledger.sqlite import _SCHEMA, _statements

        conn = sqlite3.connect(ledger.path, isolation_level=None)
        if bypass:
            conn.execute("DROP TRIGGER IF EXISTS events_no_update")
            conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
        for statement in statements:
            conn.execute(statement)
        if bypass and restore:
            for statement in _statements(_SCHEMA):
                if statement.startswith("CREATE TRIGGER"):
                    conn.execute(statement)
        conn.close()
        return
    assert server is not None, "pass the pg_server to tamper with a PostgreSQL ledger"
    database = _database(ledger)
    with server.superuser(database) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        if bypass:
            conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
            conn.execute("ALTER TABLE head DISABLE TRIGGER USER")
        for statement in statements:
            conn.execute(statement.encode())
        if bypass and restore:
            conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
            conn.execute("ALTER TABLE head ENABLE TRIGGER USER")


def _database(ledger: Ledger) -> str:
    return ledger.where.rsplit("/", 1)[-1].split("?")[0]


@pytest.fixture
def tamper(ledger_backend: str, request: pytest.FixtureRequest) -> Any:
    """`raw_sql` bound to the session's server: ``tamper(ledger, *sql, bypass=, restore=)``."""
    server = request.getfixturevalue("pg_server") if ledger_backend == "postgresql" else None

    def run(ledger: Ledger, *statements: str, **options: bool) -> None:
        raw_sql(ledger, *statements, server=server, **options)

    return run
