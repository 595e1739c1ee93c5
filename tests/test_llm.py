"""imr_assist.drafting.llm: specs, offline construction, fake servers, and real llama.cpp."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from imr_assist.drafting import llm
from imr_assist.drafting.llm import (
    bundled_gguf_path,
    chat_model_for,
    describe_llm,
    is_external,
    make_chat_model,
    parse_llm_spec,
    redactor_for,
)
from imr_assist.errors import ConfigError
from imr_assist.settings import LLMSettings

# Read at import: the autouse fixture in conftest.py clears IMR_* variables before each test.
SKIP_LLAMACPP = os.environ.get("IMR_SKIP_LLAMACPP") == "1"


# --------------------------------------------------------------------------- specs


@pytest.mark.parametrize(
    ("spec", "provider", "model", "external"),
    [
        ("llamacpp", "llamacpp", None, False),
        ("llamacpp:", "llamacpp", None, False),
        ("llamacpp:/models/m.gguf", "llamacpp", "/models/m.gguf", False),
        ("LlamaCpp:C:/models/m.gguf", "llamacpp", "C:/models/m.gguf", False),
        ("ollama:llama3.1", "ollama", "llama3.1", True),
        ("ollama:qwen2.5:7b", "ollama", "qwen2.5:7b", True),
        (" openai:gpt-4o-mini ", "openai", "gpt-4o-mini", True),
        ("openai:x", "openai", "x", True),
    ],
)
def test_parse_and_is_external(spec: str, provider: str, model: str | None, external: bool) -> None:
    parsed = parse_llm_spec(spec)
    assert (parsed.provider, parsed.model) == (provider, model)
    assert is_external(spec) is external


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        ("", "IMR_LLM__MODEL"),
        ("gpt-4o", "Unknown LLM spec"),
        ("anthropic:claude", "ollama:<model>"),
        ("llama.cpp", "llamacpp:/path/model.gguf"),
        ("openai:", "needs a model name after 'openai:'"),
        ("ollama", "e.g. ollama:llama3.1"),
        ("ollama:   ", "needs a model name"),
        ("openai:gpt 4", "needs a model name"),
    ],
)
def test_bad_specs_say_what_to_set(spec: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_chat_model(spec)
    assert hint in str(info.value)
    with pytest.raises(ConfigError):
        is_external(spec)  # a bad spec never counts as local by accident


@pytest.mark.parametrize(
    ("spec", "base_url", "expected"),
    [
        ("llamacpp", None, "llama.cpp SmolLM2-135M-Instruct (local)"),
        ("llamacpp:/m/tiny.gguf", None, "llama.cpp tiny.gguf (local)"),
        ("ollama:llama3.1", None, "Ollama llama3.1 at http://localhost:11434 (external)"),
        ("ollama:llama3.1", "http://gpu:11434", "Ollama llama3.1 at http://gpu:11434 (external)"),
        ("openai:gpt-4o-mini", None, "OpenAI gpt-4o-mini (external: api.openai.com)"),
        ("openai:x", "http://h:8000/v1", "OpenAI-compatible x at http://h:8000/v1 (external)"),
    ],
)
def test_describe_llm(spec: str, base_url: str | None, expected: str) -> None:
    assert describe_llm(spec, base_url) == expected


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("model", "redact_on", "redacts"),
    [
        (None, True, False),  # no LLM: nothing leaves the machine
        ("llamacpp", True, False),  # in-process
        ("ollama:llama3.1", True, True),
        ("openai:gpt-4o-mini", True, True),
        ("openai:gpt-4o-mini", False, False),  # the reviewer turned it off
    ],
)
def test_redactor_for(model: str | None, redact_on: bool, redacts: bool) -> None:
    redactor = redactor_for(LLMSettings(model=model, redact=redact_on))
    assert (redactor is not None) is redacts
    if redactor is not None:
        assert redactor("Patient Name: John Smith, DOB: 01/02/1970") == (
            "Patient Name: [NAME], DOB: [DOB]"
        )


def test_redactor_logs_counts_not_originals(caplog: pytest.LogCaptureFixture) -> None:
    redactor = redactor_for(LLMSettings(model="openai:x"))
    assert redactor is not None
    with caplog.at_level("INFO", logger="imr_assist.drafting.llm"):
        redactor("Claimant: Maria Lopez  DOB: 01/02/1970")
    assert "DOB x1, NAME x1" in caplog.text
    assert "Lopez" not in caplog.text and "1970" not in caplog.text


def test_chat_model_for_settings(no_network: None) -> None:
    assert chat_model_for(LLMSettings()) is None
    model = chat_model_for(
        LLMSettings(model="openai:x", base_url="http://127.0.0.1:1/v1", max_tokens=77)
    )
    assert model is not None
    assert model.max_tokens == 77  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- offline construction


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connection during the test fails loudly."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"network call during construction: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.mark.usefixtures("no_network")
def test_ollama_constructs_offline() -> None:
    from langchain_ollama import ChatOllama

    model = make_chat_model("ollama:llama3.1", temperature=0.2, max_tokens=64, timeout_s=5)
    assert isinstance(model, ChatOllama)
    assert (model.model, model.base_url) == ("llama3.1", "http://localhost:11434")
    assert (model.temperature, model.num_predict) == (0.2, 64)
    other = make_chat_model("ollama:m", base_url="http://gpu:11434")
    assert other.base_url == "http://gpu:11434"  # type: ignore[attr-defined]


@pytest.mark.usefixtures("no_network")
def test_openai_constructs_offline() -> None:
    from langchain_openai import ChatOpenAI

    model = make_chat_model("openai:gpt-4o-mini", api_key=SecretStr("sk-test"), max_tokens=99)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4o-mini"
    assert isinstance(model.openai_api_key, SecretStr)
    assert model.openai_api_key.get_secret_value() == "sk-test"
    assert (model.temperature, model.max_tokens) == (0.0, 99)
    local = make_chat_model("openai:x", base_url="http://127.0.0.1:1/v1")
    assert isinstance(local, ChatOpenAI)
    assert isinstance(local.openai_api_key, SecretStr)
    assert local.openai_api_key.get_secret_value() == "not-needed"
    assert str(local.openai_api_base) == "http://127.0.0.1:1/v1"
    assert "sk-test" not in repr(model)  # the key never shows in reprs or logs


def test_openai_without_key_or_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="IMR_LLM__API_KEY"):
        make_chat_model("openai:gpt-4o-mini")


@pytest.mark.parametrize(
    ("spec", "module"),
    [("ollama:m", "langchain_ollama"), ("openai:m", "langchain_openai"), ("llamacpp", "llama_cpp")],
)
def test_missing_optional_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, spec: str, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[llm\]'"):
        make_chat_model(spec, base_url="http://127.0.0.1:1", api_key="k")


def test_missing_bundled_wheel_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm, "_BUNDLED_DIST", "no-such-dist-imr-test")
    with pytest.raises(ConfigError, match=r"no-such-dist-imr-test.*llm extra"):
        bundled_gguf_path()


def test_missing_gguf_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GGUF model file not found"):
        make_chat_model(f"llamacpp:{tmp_path / 'nope.gguf'}")


def test_not_a_gguf_is_a_config_error(tmp_path: Path) -> None:
    _need_llama_cpp()
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="cannot load"):
        make_chat_model(f"llamacpp:{junk}")


# --------------------------------------------------------------------------- fake servers


class _FakeServer:
    """An HTTP server on 127.0.0.1 in a thread that records each JSON request body."""

    def __init__(self, respond: Any) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append((self.path, headers, body))
                status, ctype, payload = respond(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _openai_reply(path: str, body: dict[str, Any]) -> tuple[int, str, bytes]:
    if path != "/v1/chat/completions":
        return 404, "application/json", b'{"error": {"message": "not found"}}'
    if body.get("stream"):
        events = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}}]}
            for piece in ("canned ", "stream")
        ]
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "x"}
        sse = "".join(f"data: {json.dumps(base | e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return 200, "text/event-stream", sse.encode()
    reply = {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "canned reply"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
    return 200, "application/json", json.dumps(reply).encode()


@pytest.fixture
def openai_server() -> Iterator[_FakeServer]:
    server = _FakeServer(_openai_reply)
    yield server
    server.close()


def test_openai_path_talks_to_a_compatible_server(openai_server: _FakeServer) -> None:
    model = make_chat_model("openai:x", base_url=f"{openai_server.url}/v1", max_tokens=32)
    assert model.invoke("Is a home exercise kit medically necessary?").content == "canned reply"
    path, headers, body = openai_server.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["authorization"] == "Bearer not-needed"
    assert body["model"] == "x"
    assert body["messages"] == [
        {"role": "user", "content": "Is a home exercise kit medically necessary?"}
    ]
    assert body["temperature"] == 0.0
    assert body["max_completion_tokens"] == 32
    chunks = [c.content for c in model.stream("hi")]
    assert "".join(str(c) for c in chunks) == "canned stream"
    assert openai_server.requests[1][2]["stream"] is True


def test_openai_sends_the_given_key(openai_server: _FakeServer) -> None:
    model = make_chat_model("openai:x", base_url=f"{openai_server.url}/v1", api_key="sk-abc")
    model.invoke("hi")
    assert openai_server.requests[0][1]["authorization"] == "Bearer sk-abc"


def _ollama_reply(path: str, body: dict[str, Any]) -> tuple[int, str, bytes]:
    if path != "/api/chat":
        return 404, "application/json", b'{"error": "not found"}'
    base = {"model": body["model"], "created_at": "2024-01-01T00:00:00Z"}
    lines = [
        base | {"message": {"role": "assistant", "content": "canned "}, "done": False},
        base
        | {
            "message": {"role": "assistant", "content": "ollama"},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 5,
            "eval_count": 2,
        },
    ]
    return 200, "application/x-ndjson", "".join(json.dumps(x) + "\n" for x in lines).encode()


def test_ollama_path_talks_to_a_server() -> None:
    server = _FakeServer(_ollama_reply)
    try:
        model = make_chat_model("ollama:m", base_url=server.url, max_tokens=16)
        assert model.invoke("hi").content == "canned ollama"
    finally:
        server.close()
    path, _, body = server.requests[0]
    assert path == "/api/chat"
    assert body["model"] == "m"
    assert body["options"]["temperature"] == 0.0
    assert body["options"]["num_predict"] == 16


# --------------------------------------------------------------------------- real llama.cpp


def _need_llama_cpp() -> None:
    if SKIP_LLAMACPP:
        pytest.skip("IMR_SKIP_LLAMACPP=1 is set: the real llama.cpp test is skipped on request")
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.fail(
            "llama-cpp-python is not importable: install the llm extra "
            "(.venv/bin/pip install -e '.[llm]'), or set IMR_SKIP_LLAMACPP=1 to skip this test"
        )


class _Lazy:
    """Loads the bundled model on first use (after `_need_llama_cpp`), frees it at teardown."""

    def __init__(self) -> None:
        self.model: Any = None

    def get(self) -> Any:
        if self.model is None:
            self.model = make_chat_model("llamacpp", max_tokens=24)
        return self.model


@pytest.fixture(scope="module")
def smollm() -> Iterator[_Lazy]:
    lazy = _Lazy()
    yield lazy
    if lazy.model is not None:
        lazy.model.client.close()  # free llama.cpp memory now, not at interpreter exit


@pytest.mark.slow
def test_real_llamacpp_invoke(smollm: _Lazy) -> None:
    _need_llama_cpp()
    model = smollm.get()
    assert type(model).__name__ == "ChatLlamaCpp"
    assert bundled_gguf_path().name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    reply = model.invoke("What is the capital of France? Answer in one word.")
    assert isinstance(reply.content, str)
    assert reply.content.strip()


@pytest.mark.slow
def test_real_llamacpp_stream(smollm: _Lazy) -> None:
    _need_llama_cpp()
    chunks = [str(c.content) for c in smollm.get().stream("Say hello to a physician.")]
    assert len([c for c in chunks if c]) >= 2
    assert "".join(chunks).strip()
