"""No network by default: ingest, search, ask and draft run with every outbound connection blocked.

The block sits at the process edge: `socket.socket.connect`/`connect_ex`,
`socket.create_connection` and `socket.getaddrinfo` raise (and record the attempt) for anything
but AF_UNIX sockets, loopback included, since the defaults need no server at all. The end-to-end
run is a fresh Python process with the real bundled MiniLM, default settings and HF_HUB_OFFLINE
unset, so that nothing loaded earlier by other tests, and no CI variable, hides a call.
The settings that do enable a network call (README "Privacy: network use") are each seen to
make one here, against a blocked loopback port, and to fail with a message.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, REPO
from imr_assist import api
from imr_assist.errors import ImrAssistError
from imr_assist.settings import LLMSettings, Settings

BLOCKER = """
import socket, traceback
ATTEMPTS = []
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _record(kind, address):
    stack = "".join(traceback.format_stack(limit=12)[:-2])
    ATTEMPTS.append({"kind": kind, "address": repr(address), "stack": stack})


def connect(self, address):
    if self.family == socket.AF_UNIX:
        return _connect(self, address)
    _record("connect", address)
    raise OSError(101, "network blocked by test_network")


def connect_ex(self, address):
    if self.family == socket.AF_UNIX:
        return _connect_ex(self, address)
    _record("connect_ex", address)
    return 101


def create_connection(address, *args, **kwargs):
    _record("create_connection", address)
    raise OSError(101, "network blocked by test_network")


def getaddrinfo(host, *args, **kwargs):
    _record("getaddrinfo", host)
    raise socket.gaierror(-3, "name resolution blocked by test_network")


socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.create_connection, socket.getaddrinfo = create_connection, getaddrinfo
"""

DRIVER = """
import json, os, sys
from pathlib import Path

from imr_assist import api

home, corpus = Path(sys.argv[1]), Path(sys.argv[2])
settings = api.load_settings(home)  # defaults: nothing but IMR_HOME comes from outside
guidelines = ["mtus-chronic-pain-tens.md", "odg-low-back-exercise-home-exercise-kits.md",
              "mtus-acoem-ch12-low-back-activity-home-exercise.md"]
letters = ["det-01-home-exercise-kit-overturned.txt", "det-05-tens-unit-purchase-upheld.txt"]
files = [corpus / "guidelines" / g for g in guidelines]
files += [corpus / "determinations" / d for d in letters]
report = api.ingest(files, settings=settings)
api.open_retriever(settings).sync()
found = api.search("TENS unit one-month home trial", settings=settings)
answer = api.ask("Is a home TENS trial recommended for chronic low back pain?",
                 settings=settings)
draft = api.draft("Lumbar spine home exercise kit", "39-year-old, lumbar fusion revision 2013",
                  settings=settings)
during = list(ATTEMPTS)

import huggingface_hub.constants as hub

client = api.open_index(settings).client
probe = None
try:  # the block itself must be live in this process: a loopback call is caught
    import urllib.request

    urllib.request.urlopen("http://127.0.0.1:9/", timeout=2)
except Exception as exc:
    probe = type(exc).__name__
out = {
    "attempts": during,
    "probe_attempts": ATTEMPTS[len(during):],
    "probe": probe,
    "ingested": [f.status for f in report.files],
    "failed": [f.message for f in report.failed],
    "hits": len(found.hits),
    "relevant": found.relevant,
    "answer_abstained": answer.abstained,
    "answer_citations": len(answer.citations),
    "draft_decision": draft.decision.value,
    "draft_citations": len(draft.citations),
    "drafter": draft.drafter,
    "hf_hub_offline": bool(hub.HF_HUB_OFFLINE),
    "chroma_telemetry": bool(client.get_settings().anonymized_telemetry),
    "embedding_model": settings.embedding.model,
    "chroma_url": settings.chroma_url,
    "llm": settings.llm.model,
}
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_ingest_search_ask_draft_with_the_network_blocked(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IMR_", "HF_", "TRANSFORMERS_"))  # prove the defaults, not CI's
    }
    env["PYTHONPATH"] = str(REPO / "src")
    run = subprocess.run(
        [sys.executable, "-c", BLOCKER + DRIVER, str(tmp_path / "home"), str(CORPUS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    out = json.loads(lines[-1].removeprefix("RESULT "))

    assert out["attempts"] == [], "connection attempts:\n" + "\n".join(
        f"{a['kind']} {a['address']}\n{a['stack']}" for a in out["attempts"]
    )
    assert out["probe"] is not None and out["probe_attempts"], "the block was not live"
    assert (out["embedding_model"], out["chroma_url"], out["llm"]) == (
        "bundled:all-MiniLM-L6-v2",
        None,
        None,
    )
    assert out["ingested"] == ["ingested"] * 5 and out["failed"] == []
    assert out["hits"] > 0 and out["relevant"] is True
    assert out["answer_abstained"] is False and out["answer_citations"] > 0
    assert out["draft_decision"] == "not_medically_necessary" and out["draft_citations"] > 0
    assert out["drafter"].startswith("offline")
    assert (
        out["hf_hub_offline"] is True
    )  # set by imr_assist.index.embedding, not by the environment
    assert out["chroma_telemetry"] is False  # index.make_client: anonymized_telemetry=False


# --------------------------------------------------------------------------- in this process


@pytest.fixture
def blocked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Block and record outbound connections in this process (the same edge as above)."""
    namespace: dict[str, Any] = {}
    real = {name: getattr(socket, name) for name in ("create_connection", "getaddrinfo")} | {
        name: getattr(socket.socket, name) for name in ("connect", "connect_ex")
    }
    exec(BLOCKER, namespace)  # patches the socket module; undone below
    try:
        yield namespace["ATTEMPTS"]
    finally:
        socket.create_connection = real["create_connection"]
        socket.getaddrinfo = real["getaddrinfo"]
        socket.socket.connect = real["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = real["connect_ex"]  # type: ignore[method-assign]


def test_the_block_catches_loopback(blocked: list[dict[str, Any]]) -> None:
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock, pytest.raises(OSError, match="blocked"):
        sock.connect(("127.0.0.1", 9))
    a, b = socket.socketpair()  # AF_UNIX stays allowed (event loops use it)
    a.close(), b.close()
    assert [x["kind"] for x in blocked] == ["create_connection", "connect"]


def test_hashing_index_search_and_draft_make_no_call(
    blocked: list[dict[str, Any]], settings: Settings
) -> None:
    report = api.ingest([CORPUS / "guidelines"], settings=settings)
    assert not report.failed
    api.open_retriever(settings).sync()
    assert api.search("TENS one-month trial", settings=settings).hits
    draft = api.draft("TENS unit one-month home trial", "chronic low back pain", settings=settings)
    assert draft.citations
    assert blocked == []


def _llm(model: str, base_url: str | None = None, api_key: str | None = None) -> LLMSettings:
    return LLMSettings.model_validate(
        {"model": model, "base_url": base_url, "api_key": api_key, "timeout_s": 2}
    )


@pytest.mark.parametrize(
    "llm",
    [
        _llm("ollama:llama3.1", "http://127.0.0.1:9"),
        _llm("openai:gpt-4o-mini", "http://127.0.0.1:9/v1"),
        _llm("openai:gpt-4o-mini", None, "sk-test-not-a-real-key"),
    ],
    ids=["ollama", "openai-compatible", "openai"],
)
def test_each_llm_network_setting_does_call_out(
    blocked: list[dict[str, Any]], settings: Settings, llm: LLMSettings
) -> None:
    """What the README lists as network settings really are: each tries to connect."""
    pytest.importorskip(
        "langchain_ollama" if llm.model.startswith("ollama") else "langchain_openai"
    )  # type: ignore[union-attr]
    configured = settings.model_copy(update={"llm": llm})
    api.ingest([CORPUS / "guidelines" / "mtus-chronic-pain-tens.md"], settings=configured)
    api.open_retriever(configured).sync()
    assert blocked == []  # ingest and search never use the LLM
    with pytest.raises(Exception) as info:  # the provider's own error type
        api.draft("TENS unit one-month home trial", "chronic low back pain", settings=configured)
    assert blocked, f"no connection attempt, but {type(info.value).__name__}: {info.value}"


def test_chroma_url_calls_out_and_fails_clearly(
    blocked: list[dict[str, Any]], settings: Settings
) -> None:
    remote = settings.model_copy(update={"chroma_url": "http://127.0.0.1:9"})
    with pytest.raises(ImrAssistError, match=re.escape("Chroma server at http://127.0.0.1:9")):
        api.status(settings=remote)
    assert blocked
