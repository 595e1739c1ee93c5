"""The workspace's rendering helpers: chips, locators, highlighted spans, escaping."""

from __future__ import annotations

import pytest

from imr_assist.models import ResolvedCitation, SentenceCheck, Tier, Verdict
from imr_assist.ui.render import (
    best_check,
    chip_label,
    chip_numbers,
    conclusion_first,
    escape_md,
    highlighted,
    locator,
    with_chips,
)

A, B, X = "aaaaaaaaaaaa", "bbbbbbbbbbbb", "0123456789ab"


def _cit(pid: str, **kw: str) -> ResolvedCitation:
    base = dict(
        id=pid,
        citation=f"Guide, Rec 9, p. 38 ({pid})",
        source_title="Guide",
        source_path="guide.pdf",
        guideline="VA/DoD LBP",
        tier=Tier.OTHER_GUIDELINE,
        section=None,
        recommendation="9",
        page_start="38",
        page_end="39",
    )
    base.update(kw)
    return ResolvedCitation.model_validate(base)


def test_chips_number_sources_in_citation_order_and_flag_unknown_ids() -> None:
    numbers = chip_numbers([_cit(A), _cit(B)])
    text = f"Exercise is recommended [{B}]. It helps [{A}][{B}]. Made up [{X}]."
    md = with_chips(text, numbers)
    assert md.count(":blue-badge[2]") == 2 and md.count(":blue-badge[1]") == 1
    assert f":red-badge[unknown {X}]" in md
    assert A not in md and B not in md  # known ids become numbers


def test_escape_keeps_markdown_and_directives_literal() -> None:
    raw = "*not bold* [link](x) $5 :red[x] <b>"
    out = escape_md(raw)
    for token in ("\\*", "\\[", "\\$", "\\:", "\\<"):
        assert token in out


@pytest.mark.parametrize(
    ("start", "end", "rec", "section", "expected"),
    [
        ("38", "39", "9", None, "Other guideline · VA/DoD LBP · Recommendation 9 · pp. 38-39"),
        ("45", "45", None, "Opioids", "Other guideline · VA/DoD LBP · Opioids · p. 45"),
        ("", "", None, "Digest", "Other guideline · VA/DoD LBP · Digest · unpaged"),
    ],
)
def test_locator(start: str, end: str, rec: str | None, section: str | None, expected: str) -> None:
    c = _cit(A, page_start=start, page_end=end).model_copy(
        update={"recommendation": rec, "section": section}
    )
    assert locator(c) == expected


def test_highlight_marks_the_span_inside_the_passage() -> None:
    passage = "First sentence.  We suggest   exercise therapy. Last one."
    md = highlighted(passage, "We suggest exercise therapy.")
    assert ":orange-background[We suggest exercise therapy.]" in md
    assert md.startswith("First sentence.")
    assert ":orange-background" not in highlighted(passage, "absent sentence")


def test_best_check_prefers_highest_score_for_the_passage() -> None:
    def check(score: float, pid: str) -> SentenceCheck:
        return SentenceCheck(
            text="t",
            citation_ids=[pid],
            unknown_ids=[],
            verdict=Verdict.SUPPORTED,
            score=score,
            matched_passage_id=pid,
        )

    checks = [check(0.4, A), check(0.9, A), check(0.99, B)]
    got = best_check(checks, A)
    assert got is not None and got.score == 0.9
    assert best_check(checks, X) is None


def test_conclusion_first_splits_the_opening_sentence_with_its_markers() -> None:
    first = f"Not recommended for chronic low back pain under Rec 27. [{A}]"
    text = f"{first} [{B}] The rest follows. [{A}]"
    assert conclusion_first(text, first) == (f"{first} [{B}]", f"The rest follows. [{A}]")
    # an edited text that no longer opens with the drafted sentence is shown whole
    assert conclusion_first("Something else first.", first) == ("", "Something else first.")
    assert conclusion_first(text, "") == ("", text)


def test_chip_label_names_the_guideline_and_pages() -> None:
    assert chip_label(2, _cit(A)) == "[2] VA/DoD LBP, Rec 9, pp. 38-39"
    unpaged = _cit(A, page_start="", page_end="").model_copy(
        update={"guideline": None, "recommendation": None}
    )
    assert chip_label(1, unpaged) == "[1] Guide"
    two = [
        unpaged.model_copy(update={"section": "Home exercise kits: an option, not an entitlement"}),
        unpaged.model_copy(update={"section": "Criteria for the use of a home exercise kit"}),
    ]
    labels = [chip_label(1, c) for c in two]
    assert labels == [
        "[1] Guide, Home exercise kits",
        "[1] Guide, Criteria for the use of a home…",
    ]
