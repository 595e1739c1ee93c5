"""The real app in a real browser: Debian's chromium driven by Playwright.

Starts `streamlit run app.py` on an empty home with the default settings (the bundled MiniLM
model, the offline composer), so the first run builds the demo index. Then, as a reviewer would:
ask the home exercise kit question, see a cited answer, open a source, edit the draft, accept it,
and find it in the review ledger. A screenshot of each step goes to tests/e2e/artifacts/.

Needs /usr/bin/chromium (`make test` installs it with apt). Missing chromium FAILS this test with
the reason; it is never skipped silently.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
KIT = "Is a home exercise kit covered after lumbar fusion?"
STEP_TIMEOUT_MS = 240_000

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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


def test_reviewer_asks_checks_edits_accepts_and_finds_it_in_the_ledger(server: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`; "
            "`make test` does it) to run the real-browser test."
        )
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=STEP_TIMEOUT_MS)

    def shot(page: object, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1500, "height": 2000})
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.goto(server)
        # first run: the demo index is built with a progress bar, then three examples
        expect(page.get_by_text("Try one of these")).to_be_visible()
        expect(page.get_by_role("button", name=KIT)).to_be_visible()
        shot(page, "01-first-run")

        page.get_by_label("Reviewer name").fill("Dr. Rivera")
        page.get_by_label("Reviewer name").press("Enter")
        page.get_by_role("button", name=KIT).click()
        # a cited answer: numbered chips, a sources panel, the verification summary
        expect(page.get_by_text(re.compile(r"^Verification: \d+ supported"))).to_be_visible()
        expect(page.get_by_role("heading", name="Sources")).to_be_visible()
        answer = page.locator('[data-testid="stChatMessage"]').nth(1)
        badge = answer.locator('[data-testid="stMarkdownBadge"], .stMarkdownBadge')
        expect(badge.first).to_be_visible()
        shot(page, "02-cited-answer")

        source = page.locator('[data-testid="stExpander"]').filter(
            has=page.locator("summary", has_text="1. ")
        )
        source.locator("summary").first.click()
        expect(source.get_by_text(re.compile(r"Support score \d\.\d\d"))).to_be_visible()
        page.wait_for_timeout(800)  # let the expander finish opening before the picture
        shot(page, "03-source-open")

        editor = page.get_by_label(re.compile("^Draft text"))
        text = editor.input_value()
        assert re.search(r"\[[0-9a-f]{12}\]", text), "the draft carries citation markers"
        edited = text + " The reviewer read the full record."
        editor.fill(edited)
        editor.press("Control+Enter")
        expect(page.get_by_text(re.compile(r"^Verification: "))).to_be_visible()
        accept = page.get_by_role("button", name="Accept")
        page.wait_for_timeout(1500)
        if accept.is_disabled():
            page.get_by_label(re.compile("^Override reason")).fill("Checked against the record.")
            page.get_by_label(re.compile("^Override reason")).press("Enter")
        expect(accept).to_be_enabled()
        shot(page, "04-edited")
        accept.click()
        expect(page.get_by_text(re.compile("This draft was accepted"))).to_be_visible()
        shot(page, "05-accepted")

        page.get_by_role("link", name="Review ledger").click()
        expect(page.get_by_text(re.compile("chain intact"))).to_be_visible()
        expect(page.get_by_text("The reviewer read the full record.").first).to_be_attached()
        expect(page.get_by_role("heading", name=KIT)).to_be_visible()
        shot(page, "06-ledger")
        browser.close()
