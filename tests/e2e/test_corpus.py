"""The Corpus and Evals pages in a real browser: uploads with honest progress, files named as
uploaded, the counts after an ingest, and the Evals page's plain-language line.

A reviewer uploads a long guideline PDF (150 pages, so the progress is seen while it runs) and
a damaged PDF at once, with Playwright's `set_input_files`, and clicks Ingest once. Screenshots
go to tests/e2e/artifacts/corpus-*.png.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_helpers import shot

from helpers import text_pdf

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
pytest_plugins = ("e2e_fixtures",)

GOOD = "TENS – 2024.pdf"  # the dash is not kept in the saved name ('TENS _ 2024.pdf')
BAD = "ODG scan (1).pdf"
PAGES = 150

# Every progress bar the page shows, as the browser rendered it: (value, text).
WATCH_PROGRESS = """
() => {
  window.__progress = [];
  const seen = () => {
    for (const bar of document.querySelectorAll('[data-testid="stProgress"]')) {
      const role = bar.querySelector('[role="progressbar"]');
      const entry = [role ? Number(role.getAttribute('aria-valuenow')) : -1, bar.innerText];
      const last = window.__progress[window.__progress.length - 1];
      if (!last || last[0] !== entry[0] || last[1] !== entry[1]) window.__progress.push(entry);
    }
  };
  new MutationObserver(seen).observe(document.body, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
}
"""


def _guideline_pdf() -> bytes:
    def page(n: int) -> list[str]:
        return [
            f"Section {n}.{k}: a home TENS trial for chronic pain is judged on outcome {n * 9 + k}."
            for k in range(8)
        ]

    return text_pdf([page(n) for n in range(PAGES)], title="TENS guideline 2024 update")


def _documents(page: Any) -> int:
    text = page.locator('[data-testid="stSidebar"]').inner_text()
    found = re.search(r"([\d,]+) documents", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def test_upload_a_good_and_a_bad_file_with_progress_and_their_own_names(
    server: str, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{server}/corpus")
    expect(page.get_by_role("heading", name="Add documents")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Documents \(\d+\)"))).to_be_visible()
    before = _documents(page)
    assert before > 0  # the demo corpus, built on the first load
    # human words, not tokens, in the list of documents and the choices
    body = page.locator("body").inner_text()
    assert "other_guideline" not in body and "prior_determination" not in body
    shot(page, "corpus-01-before")

    page.locator('input[type="file"]').set_input_files(
        [
            {"name": GOOD, "mimeType": "application/pdf", "buffer": _guideline_pdf()},
            {"name": BAD, "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n1 0 obj <<"},
        ]
    )
    uploader = page.locator('[data-testid="stFileUploader"]')
    expect(uploader.get_by_text(GOOD)).to_be_visible()
    expect(uploader.get_by_text(BAD)).to_be_visible()
    page.evaluate(WATCH_PROGRESS)
    page.get_by_role("button", name="Ingest").click()

    # the bar's history, not its state at one poll: on a quiet machine a 150-page PDF parses
    # faster than the bar can be polled, but every state the bar showed is recorded
    page.wait_for_function(
        "() => window.__progress.some(([, t]) => /Parsing .+: page \\d+ of 150/.test(t))",
        timeout=240_000,
    )
    shot(page, "corpus-02-progress")

    # after the ingest the page reruns: results, new counts, an empty uploader
    ingested = page.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text=re.compile(re.escape(GOOD) + r": ingested, 1 document")
    )
    expect(ingested).to_be_visible()
    failed = page.locator('[data-testid="stAlertContentError"]').filter(has_text=BAD)
    expect(failed).to_be_visible()
    assert failed.inner_text().startswith(f"{BAD}: "), failed.inner_text()
    expect(page.get_by_text(re.compile(rf"^Documents \({before + 1}\)"))).to_be_visible()
    assert _documents(page) == before + 1  # the sidebar counts after the ingest
    expect(page.get_by_role("button", name="Ingest")).to_be_disabled()  # nothing to send again
    shot(page, "corpus-03-after")

    body = page.locator("body").inner_text()
    assert "/tmp" not in body and "uploads/" not in body and "pytest-of" not in body, body

    events = page.evaluate("window.__progress")
    values = [v for v, _ in events if v >= 0]
    texts = [t for _, t in events]
    assert values and values == sorted(values), events  # never goes back
    assert max(values) < 100 or values.index(100) == len(values) - 1, events
    pages = [int(m.group(1)) for t in texts if (m := re.search(r"page (\d+) of 150", t))]
    assert len(set(pages)) >= 3 and pages == sorted(pages), texts
    assert any(re.search(r"File [12] of 2", t) for t in texts), texts
    assert any(re.search(r"Embedding .+: [\d,]+ of [\d,]+ passages", t) for t in texts), texts
    at_embedding = [v for v, t in events if "Embedding" in t]
    assert at_embedding and min(at_embedding) > 0, events  # parsing moved the bar first


def test_evals_page_opens_with_a_plain_language_line(server: str, browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{server}/evals")
    line = page.locator('[data-testid="stAlertContentInfo"]').filter(
        has_text=re.compile(r"Recorded results \(\d{4}-\d\d-\d\d\)")
    )
    expect(line).to_be_visible()
    text = line.inner_text()
    assert re.search(
        r"For \d+ of \d+ questions the guidelines answer, a document judged relevant was among "
        r"the first 3 search results",
        text,
    ), text
    assert re.search(r"The draft's decision matched the expected one in \d+ of \d+", text), text
    selected = page.locator('[data-testid="stMultiSelect"]').inner_text()
    assert "peer" in selected and "hybrid" in selected
    shot(page, "corpus-04-evals")
