"""Fixtures the real-browser tests share: one `streamlit run app.py` per session on an empty
home (the first page load builds the demo index) and a Debian chromium page.

Each test module registers them with `pytest_plugins = ("e2e_fixtures",)`: a conftest.py in
this folder would be imported as the module `conftest` and shadow tests/conftest.py for every
`from conftest import ...` of the other tests.

Needs /usr/bin/chromium (`make test` installs it with apt). Missing chromium FAILS a test with
the reason; it is never skipped silently. The app's log is checked for tracebacks at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import ARTIFACTS

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
STEP_TIMEOUT_MS = 240_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app's URL; one server for the whole e2e session."""
    home = tmp_path_factory.mktemp("e2e-home")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMR_")}
    env.update(IMR_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    log = (tmp_path_factory.mktemp("e2e-log") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
            "--server.headless", "true", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--browser.gatherUsageStats", "false",
        ],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited early; see {log.name}")
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not listen on {port} within 60 s; see {log.name}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    text = Path(log.name).read_text(encoding="utf-8", errors="replace")
    if "Traceback (most recent call last)" in text:
        at = text.index("Traceback (most recent call last)")
        pytest.fail(f"the app logged a traceback during the e2e run:\n{text[at : at + 3000]}")


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A fresh chromium page (1500x2000) with the long step timeout; fails without chromium."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`; "
            "`make test` does it) to run the real-browser tests."
        )
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1500, "height": 2000})
        page.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            yield page
        finally:
            browser.close()
