"""The determination letter in a real browser (issue 14): the decision and the text are one, the
gate holds uncited claims, and several items make ONE letter.

Against the session's app server (the bundled MiniLM model, the offline writer; see conftest.py),
on the Determination letter page: draft, change the decision, see Accept blocked until the text's
conclusion agrees, accept, download the DOCX and Markdown and read the decision back; add an
uncited claim and see Accept wait for an override reason; draft three items and export one letter
holding all three decisions. Accept (Alt+A) and Reject (Alt+J) are each pressed once by their
keyboard shortcut.
Screenshots go to tests/e2e/artifacts/letter-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import docx
import pytest
from e2e_helpers import shot

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
pytest_plugins = ("e2e_fixtures",)

SUMMARY = (
    "39-year-old who injured her low back in 2006; two back surgeries, the most recent a lumbar "
    "fusion revision on 07/10/2013. She was unable to attend physical therapy and still has "
    "low back pain."
)
NEGATIVE = "is not medically necessary"
POSITIVE = "is medically necessary"
DECIDED = {
    POSITIVE: "Overturned: the request is medically necessary.",
    NEGATIVE: "Upheld: the request is not medically necessary.",
}
HEX = re.compile(r"\[[0-9a-f]{12}\]")


def _open_letter_page(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server}/letter")
    expect(page.get_by_role("heading", name="Determination letter")).to_be_visible()
    page.get_by_label("Reviewer name").fill("Dr. Rivera")
    page.get_by_label("Reviewer name").press("Enter")
    page.get_by_label("Case summary").fill(SUMMARY)
    page.get_by_label("Case summary").press("Control+Enter")


def _draft(page: Any, items: list[str]) -> None:
    from playwright.sync_api import expect

    for n, item in enumerate(items, 1):
        if n > 1:
            page.get_by_role("button", name="Add item").click()
        field = page.get_by_label(f"Item {n}", exact=True)
        expect(field).to_be_visible()
        field.fill(item)
        field.press("Enter")
    page.get_by_role("button", name="Draft all items").click()
    expect(page.get_by_role("heading", name="Edit and accept")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Verification: "))).to_be_visible()


def _editor(page: Any) -> Any:
    return page.get_by_label(re.compile("^Draft text"))


def _set_text(page: Any, text: str) -> None:
    editor = _editor(page)
    editor.fill(text)
    editor.press("Control+Enter")
    page.wait_for_timeout(1500)


def _accept(page: Any, reason: str = "Checked against the record.") -> None:
    """Accept, writing an override reason first when citation findings block it."""
    from playwright.sync_api import expect

    accept = page.get_by_role("button", name="Accept")
    page.wait_for_timeout(1000)
    if accept.is_disabled():
        override = page.get_by_label(re.compile("^Override reason"))
        override.fill(reason)
        override.press("Enter")
    expect(accept).to_be_enabled()
    accept.click()
    expect(page.get_by_text(re.compile("This draft was accepted"))).to_be_visible()


def _download(page: Any, button: str, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(str(target))
    return target


def _docx_text(path: Path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs]


def _conclusion(text: str) -> str:
    """POSITIVE or NEGATIVE: what the last sentence of the text concludes."""
    last = text.rstrip().rsplit("Given the above", 1)[-1]
    return NEGATIVE if NEGATIVE in last else POSITIVE


def test_changed_decision_blocks_accept_until_the_text_agrees_then_exports_one_story(
    server: str, browser_page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    _open_letter_page(page, server)
    _draft(page, ["Lumbar spine home exercise kit"])
    text = _editor(page).input_value()
    drafted = _conclusion(text)
    wanted = POSITIVE if drafted == NEGATIVE else NEGATIVE
    choice = "Medically necessary" if wanted == POSITIVE else "Not medically necessary"
    decision = page.locator('[data-testid="stRadio"]').filter(has_text="Decision")
    decision.get_by_text(choice, exact=True).click()

    disagree = page.get_by_text("The decision and the text disagree.")
    expect(disagree).to_be_visible()
    accept = page.get_by_role("button", name="Accept")
    expect(accept).to_be_disabled()
    shot(page, "letter-01-decision-disagrees")
    override = page.get_by_label(re.compile("^Override reason"))
    if override.count():  # citation findings too: an override must not lift the disagreement
        override.fill("The reviewer insists.")
        override.press("Enter")
        page.wait_for_timeout(1500)
        expect(disagree).to_be_visible()
        expect(accept).to_be_disabled()

    head, _, tail = text.rpartition(drafted)
    _set_text(page, f"{head}{wanted}{tail}")
    expect(disagree).to_have_count(0)
    shot(page, "letter-02-decision-agrees")
    _accept(page)
    shot(page, "letter-03-accepted")

    md = _download(page, "Export Markdown", tmp_path).read_text(encoding="utf-8")
    body = _docx_text(_download(page, "Export DOCX", tmp_path))
    for letter in (md, "\n".join(body)):
        assert DECIDED[wanted] in letter and DECIDED[drafted] not in letter
        rationale = letter.split("Decision rationale", 1)[1].split("References", 1)[0]
        assert _conclusion(rationale) == wanted
        assert not HEX.search(letter), "citation ids become the letter's reference style"
    decision_at = body.index("Decision")
    assert body[decision_at + 1] == DECIDED[wanted]


def test_an_uncited_claim_blocks_accept_until_overridden_with_a_reason(
    server: str, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    _open_letter_page(page, server)
    _draft(page, ["TENS unit purchase for chronic low back pain"])
    accept = page.get_by_role("button", name="Accept")
    text = _editor(page).input_value()
    head, _, conclusion = text.rpartition("Given the above")
    _set_text(page, f"{head}A TENS unit will reduce re-injury by 40%. Given the above{conclusion}")
    blocker = page.get_by_text(re.compile(r"^Sentence \d+ is a factual claim without a citation"))
    expect(blocker).to_be_visible()
    expect(blocker).to_contain_text("40%")
    expect(accept).to_be_disabled()
    shot(page, "letter-04-uncited-claim-blocks")
    override = page.get_by_label(re.compile("^Override reason"))
    override.fill("The 40% figure is from the treating physician's report.")
    override.press("Enter")
    expect(accept).to_be_enabled()
    page.get_by_role("heading", name="Edit and accept").click()  # focus off the text fields
    page.keyboard.press("Alt+A")  # the Accept shortcut
    expect(page.get_by_text(re.compile("This draft was accepted"))).to_be_visible()


def test_reject_by_its_keyboard_shortcut(server: str, browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    _open_letter_page(page, server)
    _draft(page, ["12 sessions of chiropractic manipulation"])
    reason = page.get_by_label("Reject reason")
    reason.fill("Wrong body region on the RFA.")
    reason.press("Enter")
    expect(page.get_by_role("button", name="Reject")).to_be_enabled()
    page.get_by_role("heading", name="Edit and accept").click()  # focus off the text fields
    page.keyboard.press("Alt+J")  # the Reject shortcut
    expect(page.get_by_text(re.compile("This draft was rejected"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"0 of 1 items accepted"))).to_be_visible()
    shot(page, "letter-04b-rejected-by-shortcut")


def test_three_items_export_as_one_letter_with_every_decision(
    server: str, browser_page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    items = [
        "Lumbar spine home exercise kit",
        "TENS unit purchase for chronic low back pain",
        "12 sessions of chiropractic manipulation",
    ]
    _open_letter_page(page, server)
    _draft(page, items)
    picker = page.locator('[data-testid="stRadio"]').filter(has_text="Reviewing item")
    conclusions: list[str] = []
    for n in range(1, 4):
        picker.get_by_text(re.compile(rf"^{n}\. ")).click()
        expect(page.get_by_role("heading", name=re.compile(rf"^Item {n}: "))).to_be_visible()
        expect(_editor(page)).to_have_count(1)  # the item shown before is gone
        expect(_editor(page)).to_be_enabled()
        conclusions.append(_conclusion(_editor(page).input_value()))
        _accept(page)
    expect(page.get_by_text("All 3 items accepted: export the letter.")).to_be_visible()
    page.get_by_text("Preview of the letter").click()
    page.wait_for_timeout(800)
    shot(page, "letter-05-three-items")

    letter = _download(page, "Export letter (DOCX)", tmp_path)
    body = _docx_text(letter)
    md = _download(page, "Export letter (Markdown)", tmp_path).read_text(encoding="utf-8")
    heads = [p.text for p in docx.Document(str(letter)).paragraphs if p.style.name == "Heading 2"]
    assert [re.sub(r": (Upheld|Overturned)$", "", h) for h in heads] == [
        f"Item {n}: {item}" for n, item in enumerate(items, 1)
    ]
    assert body.count("Clinical case summary") == 1
    for n, said in enumerate(conclusions, 1):
        at = body.index(heads[n - 1])
        assert body[at + 1] == DECIDED[said], (n, body[at : at + 4])
        assert heads[n - 1].endswith("Overturned" if said == POSITIVE else "Upheld")
        assert f"### {heads[n - 1]}" in md
    assert not HEX.search(md) and not HEX.search("\n".join(body))
