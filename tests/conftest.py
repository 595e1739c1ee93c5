"""Shared fixtures: settings in a temporary home, fake and real embedders, the demo corpus, and
a real `chroma run` server that selected tests also run against (the `backend` fixture)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from helpers import HASHING_ENV, hashing_settings
from imr_assist.api import DEMO_CORPUS
from imr_assist.index.store import PassageIndex
from imr_assist.settings import Settings

# Property tests explore with fixed seeds so that CI is reproducible; run with
# HYPOTHESIS_PROFILE=explore locally to search new examples.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("explore", deadline=None, max_examples=1000)
hypothesis_settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = DEMO_CORPUS  # package data: src/imr_assist/demo_corpus
VADOD_PDF = SHARED / "data" / "vadod-lbp-cpg" / "va-department_of_defense.pdf"
SEED_LETTER = SHARED / "seeds" / "imr-determination-home-exercise-kit.txt"


def need_shared(path: Path) -> Path:
    """Skip (with the reason) when ../shared data is not present on this machine."""
    if not path.exists():
        pytest.skip(f"../shared not present: {path} is needed for this test")
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("IMR_"):
            monkeypatch.delenv(key, raising=False)


# --------------------------------------------------------------------------- Chroma backends

BACKENDS = ("embedded", "server")
BOTH_BACKENDS = {
    # A representative subset of the index, retrieval and drafting tests also runs against a
    # real `chroma run` server (the rest run embedded only, to keep CI short). Tests in any
    # module can opt in with `@pytest.mark.both_backends`.
    "test_index.py::test_ingest_then_unchanged_then_replaced",
    "test_index.py::test_remove_document",
    "test_index.py::test_half_written_version_is_invisible",
    "test_index.py::test_failed_store_leaves_published_version",
    "test_index.py::test_demo_corpus_filters_and_tiers",
    "test_retrieval.py::test_filters_apply_to_both_sides",
    "test_retrieval.py::test_bm25_in_step_after_ingest_remove_reingest",
    "test_drafting.py::test_composer_home_exercise_kit_follows_order_of_authority",
}
CHROMA_EXE = Path(sys.executable).with_name("chroma")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_backends: run against embedded Chroma and a `chroma run` server"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    name = f"{Path(metafunc.definition.path).name}::{metafunc.definition.originalname}"
    if name in BOTH_BACKENDS or metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """'embedded' (a PersistentClient in the test home) or 'server' (the session's `chroma run`)."""
    return str(getattr(request, "param", "embedded"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run --path TMP --host 127.0.0.1 --port FREE` for the session; its URL.

    Fails (never skips) with the server's output when it does not come up."""
    import httpx

    if not CHROMA_EXE.exists():
        pytest.fail(f"{CHROMA_EXE} is missing: install chromadb in the venv (make install)")
    root = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    log_path = root / "server.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"}
    with log_path.open("wb") as log_file:
        args = ["run", "--path", str(root / "db"), "--host", "127.0.0.1", "--port", str(port)]
        proc = subprocess.Popen(
            [str(CHROMA_EXE), *args],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    error = "no answer"
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"`chroma run` exited with {proc.returncode} before answering: "
                f"{log_path.read_text(errors='replace')[-2000:]}"
            )
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                break
            error = "heartbeat not OK"
        except httpx.HTTPError as exc:
            error = str(exc)
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(
                f"`chroma run` on {url} gave no heartbeat in 60 s ({error}): "
                f"{log_path.read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def backend_settings(home: Path, backend: str, request: pytest.FixtureRequest) -> Settings:
    """Test settings (hashing embedder) for a backend; a server gets a unique collection prefix
    so that tests sharing it never see each other's collections."""
    extra: dict[str, object] = {}
    if backend == "server":
        extra = {
            "chroma_url": request.getfixturevalue("chroma_server"),
            "collection_prefix": f"t{uuid.uuid4().hex[:10]}",
        }
    return hashing_settings(home, **extra)


@pytest.fixture
def settings(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Settings:
    """Settings with a fresh home and the model-free hashing embedder (fast, see
    `helpers.hashing_settings`); Chroma embedded, or the session's server for tests run on both
    backends."""
    return backend_settings(tmp_path / "home", backend, request)


@pytest.fixture
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh IMR_HOME for app and CLI processes, with the environment of `settings`."""
    home = tmp_path / "home"
    monkeypatch.setenv("IMR_HOME", str(home))
    for key, value in HASHING_ENV.items():
        monkeypatch.setenv(key, value)
    return home


@pytest.fixture
def index(settings: Settings) -> PassageIndex:
    return PassageIndex(settings)


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with the real bundled MiniLM model."""
    return Settings(home=tmp_path_factory.mktemp("real-home"))


@pytest.fixture(scope="session")
def real_demo_index(real_settings: Settings) -> PassageIndex:
    """The demo corpus indexed once per session with the real model and a real Chroma on disk."""
    from imr_assist import api

    report = api.build_demo(settings=real_settings)
    assert report is not None and not report.failed
    return api.open_index(real_settings)
