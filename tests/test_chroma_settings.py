"""A Chroma server that needs a tenant, a database or authentication headers, for real: the
session's `chroma run` (tests/conftest.py), reached directly or through a proxy that records
every request's headers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from helpers import hashing_settings, write
from imr_assist import api
from imr_assist.errors import ConfigError, IndexError_
from imr_assist.index.store import PassageIndex, make_client
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.settings import Settings

NOTE = """---
title: TENS note
kind: guideline
tier: mtus
---
# TENS

A one-month home-based TENS trial may be considered as an adjunct to functional restoration.
"""
SECRET = "s3cret-token-value"


def _admin(url: str) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    server = urlparse(url)
    return chromadb.AdminClient(
        ChromaSettings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host=server.hostname,
            chroma_server_http_port=server.port,
            anonymized_telemetry=False,
        )
    )


@pytest.fixture
def tenant_database(chroma_server: str) -> tuple[str, str]:
    """A tenant and a database created on the server through Chroma's AdminClient."""
    tenant, database = f"imr-tenant-{uuid.uuid4().hex[:8]}", f"imr-db-{uuid.uuid4().hex[:8]}"
    admin = _admin(chroma_server)
    admin.create_tenant(tenant)
    admin.create_database(database, tenant=tenant)
    return tenant, database


def _settings(home: Path, url: str, **extra: object) -> Settings:
    return hashing_settings(
        home, chroma_url=url, collection_prefix=f"t{uuid.uuid4().hex[:10]}", **extra
    )


def test_an_index_lives_in_its_tenant_and_database(
    chroma_server: str, tenant_database: tuple[str, str], tmp_path: Path
) -> None:
    tenant, database = tenant_database
    settings = _settings(
        tmp_path / "home", chroma_server, chroma_tenant=tenant, chroma_database=database
    )
    index = PassageIndex(settings)
    report = ingest_paths([write(tmp_path / "tens.md", NOTE)], settings=settings, index=index)
    assert [f.status for f in report.files] == ["ingested"]
    assert "one-month" in api.search("TENS home trial", settings=settings, k=1).hits[0].passage.text

    import chromadb

    host, port = urlparse(chroma_server).hostname, urlparse(chroma_server).port
    there = chromadb.HttpClient(host=host, port=port, tenant=tenant, database=database)
    default = chromadb.HttpClient(host=host, port=port)
    assert settings.collection_name in {c.name for c in there.list_collections()}
    assert settings.collection_name not in {c.name for c in default.list_collections()}
    # a second machine with the same settings finds the document
    other = PassageIndex(settings.with_home(tmp_path / "other-home"))
    assert [r.doc_id for r in other.records()] == ["tens"]


def test_a_missing_tenant_or_database_says_what_to_do(
    chroma_server: str, tenant_database: tuple[str, str], tmp_path: Path
) -> None:
    tenant, _ = tenant_database
    for extra in (
        {"chroma_tenant": tenant, "chroma_database": "no-such-db"},
        {"chroma_tenant": "no-such-tenant"},
    ):
        with pytest.raises(IndexError_) as caught:
            make_client(_settings(tmp_path / "home", chroma_server, **extra))
        message = str(caught.value)
        assert "has no tenant" in message and "IMR_CHROMA_DATABASE" in message, message
        assert "create_database" in message


class _Recorder:
    """A proxy to the Chroma server that records the headers of every request."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.seen: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                recorder.seen.append({k.lower(): v for k, v in self.headers.items()})
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in {"host", "content-length", "connection"}
                }
                answer = httpx.request(
                    self.command, recorder.upstream + self.path, content=body, headers=headers
                )
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in {"content-length", "transfer-encoding", "connection"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def recorder(chroma_server: str) -> Iterator[_Recorder]:
    proxy = _Recorder(chroma_server)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.server.shutdown()
    proxy.server.server_close()


def test_headers_go_with_every_request_and_never_into_output(
    recorder: _Recorder, tenant_database: tuple[str, str], tmp_path: Path
) -> None:
    tenant, database = tenant_database
    headers = {"Authorization": f"Bearer {SECRET}", "X-Chroma-Token": SECRET}
    settings = _settings(
        tmp_path / "home",
        recorder.url,
        chroma_tenant=tenant,
        chroma_database=database,
        chroma_headers=headers,
    )
    index = PassageIndex(settings)
    ingest_paths([write(tmp_path / "tens.md", NOTE)], settings=settings, index=index)
    # through the API, whose cached retriever is rebuilt from settings.cache_key()
    assert api.search("TENS home trial", settings=settings, k=1).hits
    assert len(recorder.seen) >= 5
    for seen in recorder.seen:
        assert (seen.get("authorization"), seen.get("x-chroma-token")) == (
            f"Bearer {SECRET}",
            SECRET,
        ), seen
    for shown in (repr(settings), str(settings), settings.model_dump_json(), index.status().chroma):
        assert SECRET not in shown
    # the clients the API caches are rebuilt from cache_key(), which keeps the secret
    again = Settings.model_validate_json(settings.cache_key())
    assert again.chroma_headers["X-Chroma-Token"].get_secret_value() == SECRET


def test_headers_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMR_CHROMA_HEADERS", f'{{"x-chroma-token": "{SECRET}"}}')
    monkeypatch.setenv("IMR_CHROMA_TENANT", "acme")
    monkeypatch.setenv("IMR_CHROMA_DATABASE", "imr")
    monkeypatch.setenv("IMR_LLM__API_KEY", SECRET)
    settings = Settings()
    assert settings.chroma_headers["x-chroma-token"].get_secret_value() == SECRET
    assert (settings.chroma_tenant, settings.chroma_database) == ("acme", "imr")
    assert SECRET not in settings.model_dump_json()
    again = Settings.model_validate_json(settings.cache_key())
    assert again.llm.api_key is not None and again.llm.api_key.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"chroma_tenant": "acme"}, "IMR_CHROMA_TENANT"),
        ({"chroma_database": "imr"}, "IMR_CHROMA_DATABASE"),
        ({"chroma_headers": {"x-chroma-token": SECRET}}, "IMR_CHROMA_HEADERS"),
    ],
)
def test_server_settings_without_a_server_are_refused(
    tmp_path: Path, extra: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError, match=f"{named} apply to a Chroma server") as caught:
        make_client(hashing_settings(tmp_path / "home", **extra))
    assert SECRET not in str(caught.value)
