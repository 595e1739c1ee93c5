"""Tests for guideline structure (imr_assist.ingest.structure) and the real VA/DoD guideline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from imr_assist.ingest.reader import read_source
from imr_assist.ingest.structure import build_blocks, find_recommendations
from imr_assist.models import (
    Direction,
    Kind,
    NumberedRecommendation,
    Page,
    SourceDocument,
    Strength,
    Tier,
)
from imr_assist.text.polarity import grade_from_text, grade_from_wording

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
VADOD_PDF = SHARED / "data" / "vadod-lbp-cpg" / "va-department_of_defense.pdf"

FOR, AGAINST, NEITHER = Direction.FOR, Direction.AGAINST, Direction.NEITHER
STRONG, WEAK, NONE = Strength.STRONG, Strength.WEAK, Strength.NONE


def pages_of(*texts: str, first_label: int = 42) -> list[Page]:
    return [Page(index=i, label=str(first_label + i), text=t) for i, t in enumerate(texts)]


def page_text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def summary(recs: list[NumberedRecommendation]) -> list[tuple[str, str, str]]:
    return [(r.number, r.page_label, r.grade) for r in recs]


# --------------------------------------------------------------------------- grades


@pytest.mark.parametrize(
    ("grade", "expected"),
    [
        ("Strong for", (FOR, STRONG)),
        ("Strong against", (AGAINST, STRONG)),
        ("Weak for", (FOR, WEAK)),
        ("Weak against", (AGAINST, WEAK)),
        ("Neither for nor against", (NEITHER, NONE)),
        ("  WEAK\n  against ", (AGAINST, WEAK)),
        ("neither  for nor\nagainst", (NEITHER, NONE)),
    ],
)
def test_grade_from_text(grade: str, expected: tuple[Direction, Strength]) -> None:
    assert grade_from_text(grade) == expected


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("For patients with LBP, we recommend against benzodiazepines.", (AGAINST, STRONG)),
        ("Lumbar supports are not recommended.", (AGAINST, STRONG)),
        ("Routine imaging is not recommended for acute pain.", (AGAINST, STRONG)),
        ("We suggest against acetaminophen.", (AGAINST, WEAK)),
        ("The Work Group suggests against opioids.", (AGAINST, WEAK)),
        ("We recommend the history and physical examination.", (FOR, STRONG)),
        ("Exercise is recommended for chronic pain.", (FOR, STRONG)),
        ("We suggest duloxetine.", (FOR, WEAK)),
        ("A trial of TENS is suggested.", (FOR, WEAK)),
        ("There is insufficient evidence to recommend for or against yoga.", (NEITHER, NONE)),
        ("Graded neither for nor against.", (NEITHER, NONE)),
        ("There is insufficient evidence to recommend\nfor or against cupping.", (NEITHER, NONE)),
        ("Yoga was studied in twelve small trials.", None),
        ("", None),
    ],
)
def test_grade_from_wording(statement: str, expected: tuple[Direction, Strength] | None) -> None:
    assert grade_from_wording(statement) == expected


# --------------------------------------------------------------------------- recommendations

VADOD_STYLE = """D. Pharmacotherapy
Recommendation
12. For patients with chronic low back pain, we suggest against
opioids.
(Weak against | Reviewed, New-replaced)
Discussion
Opioids gave small short-term relief in trials of chronic pain. Harms
included dependence and overdose.
"""


def test_find_recommendations_vadod_style() -> None:
    (rec,) = find_recommendations(pages_of(VADOD_STYLE))

    assert rec == NumberedRecommendation(
        number="12",
        text="For patients with chronic low back pain, we suggest against opioids.",
        direction=AGAINST,
        strength=WEAK,
        page_label="42",
        page_index=0,
    )
    assert rec.grade == "Weak against"


def test_find_recommendations_two_in_one_box() -> None:
    text = page_text(
        "Recommendation",
        "23. For patients with acute low back pain, there is insufficient evidence to recommend "
        "for or against a",
        "non-benzodiazepine muscle relaxant for short-term use.",
        "(Neither for nor against | Reviewed, New-replaced)",
        "24. For patients with chronic low back pain, we suggest against offering a "
        "non-benzodiazepine muscle",
        "relaxant.",
        "(Weak against | Reviewed, Not changed)",
        "Discussion",
        "The systematic evidence review did not identify new studies for use of muscle relaxants.",
    )
    recs = find_recommendations(pages_of(text, first_label=54))

    assert summary(recs) == [("23", "54", "Neither for nor against"), ("24", "54", "Weak against")]
    assert recs[0].text.endswith("muscle relaxant for short-term use.")
    assert recs[1].text == (
        "For patients with chronic low back pain, we suggest against offering a "
        "non-benzodiazepine muscle relaxant."
    )


def test_find_recommendations_reads_letter_spaced_grades_and_drops_footnote_markers() -> None:
    text = page_text(
        "Recommendation",
        "5. For patients with low back pain, there is insufficient evidence to recommend for or "
        "against specific",
        "physical exam maneuvers.y",
        "(Nei ther for nor against | Reviewed, New-added)",
        "6. For patients with chronic low back pain, we suggest cognitive behavioral therapy.",
        "(W eak f or | Reviewed, New-replaced)",
    )
    recs = find_recommendations(pages_of(text))

    assert summary(recs) == [("5", "42", "Neither for nor against"), ("6", "42", "Weak for")]
    assert recs[0].text.endswith("specific physical exam maneuvers.")


def test_find_recommendations_named_form_with_grade_in_parentheses() -> None:
    text = (
        "Recommendation 12: For chronic low back pain, we suggest against opioids. (Weak against)\n"
        "Other text follows here."
    )
    (rec,) = find_recommendations(pages_of(text))

    assert (rec.number, rec.direction, rec.strength) == ("12", AGAINST, WEAK)
    assert rec.text == "For chronic low back pain, we suggest against opioids."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Recommendation 7: For acute low back pain, we recommend against routine imaging.\n",
            ("7", "Strong against"),
        ),
        (
            "Recommendation 8 - Exercise is recommended for chronic low back pain.\n",
            ("8", "Strong for"),
        ),
        (
            "RECOMMENDATION 9. Lumbar supports are not recommended for prevention.\n",
            ("9", "Strong against"),
        ),
        (
            "Recommendation 10: There is insufficient evidence to recommend for or against yoga.\n",
            ("10", "Neither for nor against"),
        ),
        ("Recommendation 11: We suggest yoga for chronic low back pain.\n", ("11", "Weak for")),
        (
            "Recommendation 012: We suggest against acetaminophen for pain.\n",
            ("12", "Weak against"),
        ),
    ],
)
def test_find_recommendations_named_form_graded_by_wording(
    text: str, expected: tuple[str, str]
) -> None:
    (rec,) = find_recommendations(pages_of(text))

    assert (rec.number, rec.grade) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Recommendation 11: Yoga was studied in twelve small trials.\n",  # no GRADE wording
        "12. For patients with low back pain, we suggest against acetaminophen.\n",  # no grade
        "Recommendation 3: Short.\n",  # statement too short
        "Weak for Reviewed, New-replaced\n",
    ],
)
def test_find_recommendations_ignores_ungraded_text(text: str) -> None:
    assert find_recommendations(pages_of(text)) == []


def test_find_recommendations_prefers_the_occurrence_with_a_printed_grade() -> None:
    named = (
        "Recommendation 12: For patients with low back pain, we suggest against acetaminophen.\n"
    )
    graded = (
        "12. For patients with low back pain, we suggest against acetaminophen.\n"
        "(Weak against | Reviewed, New-replaced)\n"
    )

    assert summary(find_recommendations(pages_of(named, graded))) == [("12", "43", "Weak against")]
    assert summary(find_recommendations(pages_of(graded, named))) == [("12", "42", "Weak against")]
    assert summary(find_recommendations(pages_of(graded, graded))) == [("12", "42", "Weak against")]


def test_find_recommendations_are_sorted_by_number_across_pages() -> None:
    p1 = page_text("10. For patients with chronic pain, we suggest manipulation.", "(Weak for | R)")
    p2 = page_text(
        "9. For patients with chronic pain, we suggest an exercise program.", "(Weak for)"
    )

    assert [r.number for r in find_recommendations(pages_of(p1, p2))] == ["9", "10"]


def test_find_recommendations_in_markdown() -> None:
    text = (
        "## Opioids\n\n"
        "12. For patients with chronic low back pain, we suggest against opioids.\n"
        "(Weak against | Reviewed)\n\n"
        "Discussion follows.\n"
    )

    assert summary(find_recommendations(pages_of(text), markdown=True)) == [
        ("12", "42", "Weak against")
    ]


# --------------------------------------------------------------------------- blocks

GUIDELINE_P1 = """D. Pharmacotherapy
Recommendation
12. For patients with chronic low back pain, we suggest against
opioids.
(Weak against | Reviewed, New-replaced)
Discussion
Opioids gave small short-term relief in trials of chronic pain. Harms
included dependence and overdose.
Benefits and Harms
Dependence was common in the long trials.
"""
GUIDELINE_P2 = """Recommendation
13. For patients with low back pain, we recommend against
benzodiazepines.
(Strong against | Reviewed, Not changed)
Benzodiazepines did not reduce pain in the trials the Work Group reviewed, and they
caused sedation.
E. Non-surgical Invasive Therapy
Injections were reviewed by the Work Group and the quality of the evidence was
low.
Table 2. Injection types
Facet joint
Sacroiliac joint
"""


def test_build_blocks_assigns_section_and_recommendation() -> None:
    pages = pages_of(GUIDELINE_P1, GUIDELINE_P2)
    recs = find_recommendations(pages)

    blocks = build_blocks(pages, recs)

    assert [(b.page_label, b.section, b.recommendation, b.is_table, b.text) for b in blocks] == [
        ("42", "D. Pharmacotherapy", "12", False,
         "12. For patients with chronic low back pain, we suggest against opioids."),
        ("42", "D. Pharmacotherapy", "12", False, "(Weak against | Reviewed, New-replaced)"),
        ("42", "D. Pharmacotherapy", "12", False,
         "Opioids gave small short-term relief in trials of chronic pain. Harms included "
         "dependence and overdose."),
        # an unlettered heading inside a recommendation neither opens a section nor ends it
        ("42", "D. Pharmacotherapy", "12", False, "Dependence was common in the long trials."),
        ("43", "D. Pharmacotherapy", "13", False,
         "13. For patients with low back pain, we recommend against benzodiazepines."),
        ("43", "D. Pharmacotherapy", "13", False, "(Strong against | Reviewed, Not changed)"),
        ("43", "D. Pharmacotherapy", "13", False,
         "Benzodiazepines did not reduce pain in the trials the Work Group reviewed, and they "
         "caused sedation."),
        # a lettered section heading ends the recommendation
        ("43", "E. Non-surgical Invasive Therapy", None, False,
         "Injections were reviewed by the Work Group and the quality of the evidence was low."),
        ("43", "E. Non-surgical Invasive Therapy", None, True,
         "Table 2. Injection types Facet joint Sacroiliac joint"),
    ]  # fmt: skip
    assert all(b.page_end_label == b.page_label for b in blocks)


def test_build_blocks_table_keeps_its_short_rows() -> None:
    text = page_text(
        "Injections were reviewed by the Work Group and the quality of the evidence was reported",
        "in the table below.",
        "Table 2: Injection types and doses.",
        "Facet joint.",
        "Sacroiliac joint.",
        "Epidural steroid injection is described at length in the discussion that follows.",
    )

    blocks = build_blocks(pages_of(text), [])

    assert [(b.is_table, b.text) for b in blocks] == [
        (False, "Injections were reviewed by the Work Group and the quality of the evidence was "
                "reported in the table below."),
        (True, "Table 2: Injection types and doses.\nFacet joint.\nSacroiliac joint."),
        (False, "Epidural steroid injection is described at length in the discussion that "
                "follows."),
    ]  # fmt: skip


def test_build_blocks_unlettered_heading_opens_a_section_outside_recommendations() -> None:
    pages = pages_of("Background\nLow back pain is common.\nScope of the Guideline\nAdults only.\n")

    blocks = build_blocks(pages, [])

    assert [(b.section, b.text) for b in blocks] == [
        ("Background", "Low back pain is common."),
        ("Scope of the Guideline", "Adults only."),
    ]


def test_build_blocks_a_numbered_paragraph_that_is_not_a_recommendation() -> None:
    pages = pages_of(VADOD_STYLE + "3. For more detail see the appendix on opioid tapering.\n")
    recs = find_recommendations(pages)

    blocks = build_blocks(pages, recs)

    assert blocks[-1].text == "3. For more detail see the appendix on opioid tapering."
    assert blocks[-1].recommendation == "12"  # still the discussion of recommendation 12


def test_build_blocks_markdown_headings_always_open_a_section() -> None:
    text = (
        "# Digest\n\n## Opioids\n\n"
        "12. For patients with chronic low back pain, we suggest against opioids.\n"
        "(Weak against | Reviewed)\n\n"
        "### Harms\n\nDependence was common.\n\n"
        "| Drug | Dose |\n| --- | --- |\n| Naproxen | 500 mg |\n"
    )
    pages = pages_of(text)

    blocks = build_blocks(pages, find_recommendations(pages, markdown=True), markdown=True)

    assert [(b.section, b.recommendation, b.is_table, b.text) for b in blocks] == [
        # a Markdown paragraph runs to the blank line
        ("Opioids", "12", False,
         "12. For patients with chronic low back pain, we suggest against opioids. "
         "(Weak against | Reviewed)"),
        ("Harms", None, False, "Dependence was common."),
        ("Harms", None, True, "| Drug | Dose |\n| --- | --- |\n| Naproxen | 500 mg |"),
    ]  # fmt: skip


# --------------------------------------------------------------------------- the real guideline

N = "Neither for nor against"
VADOD_RECOMMENDATIONS = [
    (1, 26, "Strong for"), (2, 28, "Strong for"), (3, 29, "Strong against"), (4, 30, "Weak for"),
    (5, 32, N), (6, 34, N), (7, 36, N), (8, 37, "Weak for"), (9, 38, "Weak for"),
    (10, 40, "Weak for"), (11, 40, N), (12, 42, N), (13, 43, N), (14, 44, N), (15, 45, N),
    (16, 46, N), (17, 47, N), (18, 49, "Weak for"), (19, 50, "Weak for"), (20, 51, N),
    (21, 52, N), (22, 53, N), (23, 54, N), (24, 54, "Weak against"), (25, 55, "Weak against"),
    (26, 56, "Weak against"), (27, 58, "Weak against"), (28, 61, "Weak against"),
    (29, 62, "Strong against"), (30, 63, N), (31, 64, "Weak for"), (32, 64, N),
    (33, 64, "Weak against"), (34, 66, "Weak for"), (35, 66, N), (36, 68, N), (37, 69, N),
    (38, 71, "Weak against"), (39, 72, "Weak for"),
]  # fmt: skip
RUNNING_HEADER = (
    "VA/DoD Clinical Practice Guideline for the Diagnosis and Treatment of Low Back Pain"
)


@pytest.fixture(scope="module")
def vadod() -> SourceDocument:
    if not VADOD_PDF.exists():
        pytest.skip(f"../shared/data/vadod-lbp-cpg not present: {VADOD_PDF}")
    (doc,) = read_source(VADOD_PDF).documents
    return doc


@pytest.mark.shared
def test_vadod_pages_and_labels(vadod: SourceDocument) -> None:
    assert len(vadod.pages) == 141
    assert [p.label for p in vadod.pages] == [str(n) for n in range(1, 142)]
    assert [p.index for p in vadod.pages] == list(range(141))


@pytest.mark.shared
def test_vadod_metadata(vadod: SourceDocument) -> None:
    assert vadod.meta.kind is Kind.GUIDELINE
    assert vadod.meta.tier is Tier.OTHER_GUIDELINE
    assert vadod.meta.guideline == "VA/DoD LBP CPG 2022"
    assert vadod.doc_id == "va-department_of_defense"
    assert vadod.determination is None


@pytest.mark.shared
def test_vadod_all_39_recommendations(vadod: SourceDocument) -> None:
    found = [(int(r.number), int(r.page_label), r.grade) for r in vadod.recommendations]

    assert found == VADOD_RECOMMENDATIONS


@pytest.mark.shared
@pytest.mark.parametrize(
    ("number", "statement"),
    [
        ("12", "For patients with chronic low back pain, there is insufficient evidence to "
               "recommend for or against mindfulness-based stress reduction."),
        ("19", "For patients with low back pain, we suggest nonsteroidal anti-inflammatory drugs."),
        ("27", "For patients with chronic low back pain, we suggest against opioids."),
        ("29", "For patients with low back pain, we recommend against benzodiazepines."),
    ],
)  # fmt: skip
def test_vadod_recommendation_statements(
    vadod: SourceDocument, number: str, statement: str
) -> None:
    rec = next(r for r in vadod.recommendations if r.number == number)

    assert rec.text.startswith(statement)
    assert vadod.pages[rec.page_index].label == rec.page_label


@pytest.mark.shared
def test_vadod_running_header_and_footer_are_gone(vadod: SourceDocument) -> None:
    for p in vadod.pages:
        top = "\n".join(p.text.strip().splitlines()[:3])
        assert RUNNING_HEADER not in top, p.label
        assert not re.search(r"Page \d+ of 141", p.text), p.label


@pytest.mark.shared
def test_vadod_blocks_on_page_50_belong_to_recommendation_19(vadod: SourceDocument) -> None:
    on_page = [b for b in vadod.blocks if b.page_label == "50"]
    start = next(i for i, b in enumerate(on_page) if b.text.startswith("19. For patients"))

    # the page opens with the end of recommendation 18's discussion
    assert {b.recommendation for b in on_page[:start]} == {"18"}
    assert len(on_page) - start >= 3
    assert {b.recommendation for b in on_page[start:]} == {"19"}
    assert {b.section for b in on_page} == {"D. Pharmacotherapy"}


@pytest.mark.shared
def test_vadod_major_sections_are_found(vadod: SourceDocument) -> None:
    sections = {b.section for b in vadod.blocks}

    assert {
        "A. Description of Low Back Pain",
        "B. Epidemiology and Impact",
        "IX. Recommendations",
    } <= sections


@pytest.mark.shared
def test_vadod_table_2_is_a_table_block(vadod: SourceDocument) -> None:
    tables = [b for b in vadod.blocks if b.page_label == "7" and b.is_table]

    assert [b.text.split("\n")[0][:47] for b in tables] == [
        "Table 2. Incidence of Low Back Pain in U.S. Arm"
    ]
