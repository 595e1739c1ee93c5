"""The real app in a real browser: Debian's chromium driven by Playwright.

The app runs on an empty home with the default settings (the bundled MiniLM model, the offline
writer), so the first page load builds the demo index (see conftest.py). Then, as a reviewer
would: ask the home exercise kit question, see a cited answer, open a source, edit the draft,
accept it, and find it in the review ledger. Screenshots go to tests/e2e/artifacts/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_helpers import shot

KIT = "Is a home exercise kit covered after lumbar fusion?"

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
pytest_plugins = ("e2e_fixtures",)


def test_reviewer_asks_checks_edits_accepts_and_finds_it_in_the_ledger(
    server: str, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(server)
    # first run: the demo index is built with a progress bar, then three examples
    expect(page.get_by_text("Try one of these")).to_be_visible()
    main = page.get_by_test_id("stMainBlockContainer")  # the sidebar lists earlier questions
    expect(main.get_by_role("button", name=KIT)).to_be_visible()
    shot(page, "01-first-run")

    page.get_by_label("Reviewer name").fill("Dr. Rivera")
    page.get_by_label("Reviewer name").press("Enter")
    main.get_by_role("button", name=KIT).click()
    # a cited answer: numbered chips, its sources beside it, the verification summary
    expect(page.get_by_text(re.compile(r"^Verification: \d+ supported"))).to_be_visible()
    answer = page.locator('[data-testid="stChatMessage"]').nth(1)
    expect(answer.get_by_role("button", name=re.compile(r"^\[1\] "))).to_be_visible()
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
