"""Tests for parsing IMR determination letters (imr_assist.ingest.determination)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from imr_assist.errors import DeterminationParseError
from imr_assist.ingest.determination import (
    looks_like_determination,
    parse_determination,
    parse_guideline_citations,
)
from imr_assist.ingest.determination.letter_text import read_letter
from imr_assist.models import CaseSummary, Decision, Determination, DeterminationItem
from imr_assist.models import GuidelineCitation as Cite

FIXTURES = Path(__file__).parent / "fixtures" / "determinations"
SHARED = Path(__file__).parents[1].parent / "shared"
SEED = SHARED / "seeds" / "imr-determination-home-exercise-kit.txt"
VADOD_PDF = SHARED / "data" / "vadod-lbp-cpg" / "va-department_of_defense.pdf"

UPHELD, OVERTURNED = Decision.UPHELD, Decision.OVERTURNED


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"../shared/seeds not present: {SEED}")
    return SEED.read_text(encoding="utf-8")


def letter(summary: str, items: str) -> str:
    """A minimal final-format letter around a case summary and an items section."""
    return (
        "HOW THE IMR FINAL DETERMINATION WAS MADE\nCLINICAL CASE SUMMARY\n"
        f"{summary}\nIMR ISSUES, DECISIONS AND RATIONALES\n{items}\n"
    )


# --------------------------------------------------------------------------- the real seed letter

SEED_RATIONALE = (
    "The ACOEM Guidelines indicate that low stress aerobic activities can be safely started after "
    "2 weeks of symptoms to help avoid debilitation and careful stretching exercises within the "
    "normal range of motion may be helpful to avoid further restriction of motion and that early "
    "stage lumbar stabilization exercises can be useful without aggravation of symptoms. As there "
    "were no specifics regarding a home exercise kit, secondary Guidelines were sought. The "
    "Official Disability Guidelines (ODG) indicate that while a home exercise program is "
    "recommended, more elaborate personal care where outcomes are not monitored by a health "
    "professional such as gym memberships or advanced home exercise equipment may not be covered "
    "under this guideline. There was a lack of documentation indicating the components for the "
    "lumbar spine home exercise kit for home use. Given the above, the request for a Lumbar spine "
    "home exercise kit is not medically necessary."
)
ODG = "Official Disability Guidelines (ODG)"
ACOEM_12 = "Chapter 12 Low Back Complaints"


@pytest.mark.shared
def test_seed_letter_parses_exactly() -> None:
    parsed = parse_determination(seed_text(), source=str(SEED))
    assert parsed.warnings == []

    summary = parsed.case_summary
    assert (summary.age, summary.sex, summary.date_of_injury) == (39, "female", "07/06/2006")
    assert summary.surgeries == ["2 back surgeries", "lumbar fusion revision on 07/10/2013"]
    assert summary.diagnoses == ["lumbar spine discopathy status post surgery times 3"]
    assert summary.requested == ["continuation of physical therapy", "a home exercise kit"]
    assert summary.text.startswith("The patient is a 39-year-old female who reported an injury")
    assert summary.text.endswith("continuation of physical therapy and a home exercise kit.")
    assert parsed.reviewer_specialty == "Physical Medicine and Rehabilitation"
    assert parsed.format == "imr_final"
    assert parsed.items == [
        DeterminationItem(
            item="Lumbar spine home exercise kit",
            decision=UPHELD,
            claims_administrator_guidelines=[
                Cite(
                    mtus=True,
                    guideline="ACOEM",
                    chapter=ACOEM_12,
                    pages="301",
                    text="MTUS ACOEM Chapter 12 Low Back Complaints Page(s): 301",
                ),
                Cite(
                    mtus=False,
                    guideline=ODG,
                    text="Non-MTUS Citation Official Disability Guidelines (ODG)",
                ),
            ],
            reviewer_guidelines=[
                Cite(
                    mtus=True,
                    guideline="ACOEM",
                    chapter=ACOEM_12,
                    pages="287-289",
                    text="MTUS ACOEM Chapter 12 Low Back Complaints Page(s): 287-289",
                ),
                Cite(
                    mtus=False,
                    guideline=ODG,
                    chapter="Low Back Chapter",
                    section="Exercise",
                    text="Non-MTUS Citation Official Disability Guidelines (ODG), Low Back "
                    "Chapter, Exercise",
                ),
            ],
            rationale=SEED_RATIONALE,
        )
    ]


def _damage_seed(text: str) -> str:
    """What a poor PDF extraction does to the seed letter."""
    text = re.sub(r"\n\s*\n", "\n", text)  # drop the blank line after every line
    for old, new in (
        ("CLINICAL CASE SUMMARY", "CLINICAL CASE\nSUMMARY"),
        ("kit:  Upheld", "kit:Up held"),
        ("Decision rationale:", "Decision  rationale:"),
        ("The mechanism of injury", "Page 2 of 3\nCM13-0012345\nThe mechanism of injury"),
        ("helpful to avoid", "helpful to\n2\navoid"),
        ("professional such", "profes-\nsional such"),
        (
            "Non-MTUS Citation Official Disability Guidelines (ODG), ",
            "Non-\nMTUS Citation Official Disability Guidelines (ODG), ",
        ),
        ("secondary Guidelines", "secondary Page 3 of 3 Guidelines"),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.replace(". ", ".  ")


@pytest.mark.shared
def test_seed_letter_survives_pdf_damage() -> None:
    clean = seed_text()
    damaged = _damage_seed(clean)
    assert looks_like_determination(damaged)
    assert parse_determination(damaged) == parse_determination(clean)


# --------------------------------------------------------------------------- fixture letters

LETTERS = [
    pytest.param(
        "final-multi-item.txt",
        "imr_final",
        [
            ("Hinged knee brace", UPHELD),
            ("12 sessions of postoperative physical therapy for the right knee", OVERTURNED),
            ("Tramadol ER 150 mg #30", UPHELD),
        ],
        CaseSummary(
            age=58,
            sex="male",
            date_of_injury="03/14/2011",
            surgeries=["right knee arthroscopy with partial medial meniscectomy on 08/15/2013"],
            diagnoses=[
                "right knee internal derangement",
                "right knee osteoarthritis",
                "chronic low back pain",
            ],
            requested=[
                "a hinged knee brace",
                "12 sessions of postoperative physical therapy",
                "tramadol ER 150 mg #30",
            ],
        ),
        "Orthopedic Surgery",
        id="final-multi-item",
    ),
    pytest.param(
        "maximus-older-three-items.txt",
        "maximus_older",
        [
            ("physical therapy 2x6 for the lumbar spine", UPHELD),
            ("Norco 10/325 mg #90", OVERTURNED),
            ("an MRI of the lumbar spine", UPHELD),
        ],
        CaseSummary(
            age=52,
            sex="male",
            date_of_injury="3/1/2012",
            surgeries=["L4-5 laminectomy and discectomy on 01/02/2013"],
            diagnoses=["lumbar radiculopathy", "post-laminectomy syndrome"],
            requested=[
                "physical therapy 2x6 for the lumbar spine",
                "Norco 10/325 mg #90",
                "an MRI of the lumbar spine",
            ],
        ),
        "Orthopedic Surgery",
        id="older-three-items",
    ),
    pytest.param(
        "maximus-older-single-item.txt",
        "maximus_older",
        [("a TENS unit rental for 30 days", OVERTURNED)],
        CaseSummary(
            age=44,
            sex="female",
            date_of_injury="11/19/2011",
            diagnoses=["lumbar sprain/strain"],
            requested=["a TENS unit rental for 30 days"],
        ),
        "Physical Medicine and Rehabilitation",
        id="older-single-unnumbered",
    ),
    # real-letter shapes (issue 13): "1)" numbering, words run together, lines broken
    # mid-phrase, running page headers and page numbers in the middle of sentences
    pytest.param(
        "maximus-2013-notice-pdf.txt",
        "maximus_older",
        [
            ("a home H-wave device purchase", UPHELD),
            ("six sessions of acupuncture for the lumbar spine", OVERTURNED),
        ],
        CaseSummary(
            age=47,
            sex="male",
            date_of_injury="4/17/2010",
            diagnoses=["lumbar degenerative disc disease"],
            requested=["a home H-wave device purchase", "six sessions of acupuncture"],
        ),
        "Physical Medicine and Rehabilitation",
        id="2013-notice-decision-list-and-blocks",
    ),
    pytest.param(
        "maximus-2013-numbered-pdf.txt",
        "maximus_older",
        [("a cervical pillow", UPHELD), ("Lidocaine 5% patches #30", OVERTURNED)],
        CaseSummary(
            age=36,
            sex="female",
            date_of_injury="6/02/2011",
            diagnoses=["cervical strain", "lumbar radiculitis"],
            requested=["a cervical pillow", "lidocaine 5% patches #30"],
        ),
        "Anesthesiology",
        id="older-numbered-1)-capitals-glued",
    ),
    pytest.param(
        "final-decisions-next-line-pdf.txt",
        "imr_final",
        [
            ("Cold therapy unit purchase for the right shoulder", UPHELD),
            (
                "Outpatient physical therapy 2 times a week for 6 weeks for the right shoulder",
                OVERTURNED,
            ),
        ],
        CaseSummary(
            age=44,
            sex="male",
            date_of_injury="01/09/2012",
            surgeries=["right shoulder arthroscopy on 05/01/2013"],
            diagnoses=["right shoulder impingement"],
            requested=["a cold therapy unit", "outpatient physical therapy"],
        ),
        "Orthopedic Surgery",
        id="final-decision-on-next-line",
    ),
]


@pytest.mark.parametrize(("name", "fmt", "items", "summary", "specialty"), LETTERS)
def test_fixture_letters(
    name: str,
    fmt: str,
    items: list[tuple[str, Decision]],
    summary: CaseSummary,
    specialty: str,
) -> None:
    parsed = parse_determination(fixture(name), source=name)
    assert parsed.format == fmt
    assert [(item.item, item.decision) for item in parsed.items] == items
    assert parsed.case_summary.model_dump(exclude={"text"}) == summary.model_dump(exclude={"text"})
    assert parsed.reviewer_specialty == specialty
    assert parsed.warnings == []
    for item in parsed.items:
        assert item.reviewer_guidelines, item.item
        assert re.search(r"medically necessary( and appropriate)?\.$", item.rationale), item.item
        assert "  " not in item.rationale and "\n" not in item.rationale
        cited = " ".join(c.text for c in item.reviewer_guidelines)
        assert not _FURNITURE.search(item.rationale + " " + cited), item.item
    assert not _FURNITURE.search(parsed.case_summary.text)


# page furniture of the fixtures: no page number, case number or running header may survive
_FURNITURE = re.compile(r"Page \d|\bCM\d\d-|Fictional|Notice for Case|\| Page|- \d -")


@pytest.mark.parametrize(
    ("clean", "damaged"),
    [
        ("final-multi-item.txt", "final-multi-item-pdf-damaged.txt"),
        ("maximus-older-three-items.txt", "maximus-older-three-items-pdf-damaged.txt"),
    ],
)
def test_pdf_damaged_letter_parses_like_the_clean_one(clean: str, damaged: str) -> None:
    assert parse_determination(fixture(damaged)) == parse_determination(fixture(clean))


def test_multi_item_final_letter_keeps_each_items_guidelines_and_rationale() -> None:
    parsed = parse_determination(fixture("final-multi-item.txt"))
    brace, therapy, tramadol = parsed.items
    assert brace.reviewer_guidelines[1] == Cite(
        mtus=False,
        guideline=ODG,
        chapter="Knee & Leg",
        section="Durable medical equipment",
        text="Non-MTUS: Official Disability Guidelines (ODG) Knee & Leg, Durable medical equipment",
    )
    assert therapy.claims_administrator_guidelines == [
        Cite(
            mtus=True,
            guideline="Postsurgical Treatment Guidelines",
            chapter="Knee",
            text="MTUS Postsurgical Treatment Guidelines, Knee",
        )
    ]
    assert [c.pages for c in therapy.reviewer_guidelines] == [None, "98-99"]
    assert therapy.rationale.startswith("The Postsurgical Treatment Guidelines recommend 12 visits")
    assert therapy.rationale.endswith("for the right knee is medically necessary.")
    assert [(c.section, c.pages) for c in tramadol.claims_administrator_guidelines] == [
        ("Opioids", "76-80")
    ]
    assert "Tramadol" not in brace.rationale and "hinged knee brace" not in tramadol.rationale


def test_older_letter_citations_and_trailer() -> None:
    parsed = parse_determination(fixture("maximus-older-three-items.txt"))
    therapy, norco, mri = parsed.items
    assert [(c.mtus, c.guideline, c.chapter, c.section) for c in therapy.reviewer_guidelines] == [
        (True, "Chronic Pain Medical Treatment Guidelines", None, "Physical Medicine"),
        (False, ODG, "Low Back Chapter", "Physical therapy"),
    ]
    assert norco.claims_administrator_guidelines[0].section == "Opioids, when to discontinue"
    assert mri.claims_administrator_guidelines[0].chapter == "Chapter 12"
    assert mri.rationale.endswith("is not medically necessary and appropriate.")  # no "cc:" tail
    single = parse_determination(fixture("maximus-older-single-item.txt")).items[0]
    assert single.claims_administrator_guidelines == []  # "None cited."


PT = "Physical therapy 2x6"
MAXIMUS_SAYS = "MAXIMUS Federal Services, Inc. has determined the request for physical therapy 2x6"


@pytest.mark.parametrize(
    ("sentence", "item", "decision"),
    [
        (f"1. {PT} is not medically necessary and appropriate.", PT, UPHELD),
        (f"1. {PT} is medically necessary and appropriate.", PT, OVERTURNED),
        (f"1. {PT} is  not\nmedically   necessary and appropriate.", PT, UPHELD),
        (f"12. {PT} is medically necessary.", PT, OVERTURNED),
        (f"{MAXIMUS_SAYS} is medically necessary and appropriate.", PT.lower(), OVERTURNED),
        (f"{MAXIMUS_SAYS} is not medically necessary and appropriate.", PT.lower(), UPHELD),
    ],
)
def test_older_decision_reads_the_whole_phrase(
    sentence: str, item: str, decision: Decision
) -> None:
    text = (
        "MAXIMUS Federal Services, Inc.\nCase Summary:\nThe patient is a 40 year old male.\n"
        f"{sentence}\nRationale for the Decision: The guideline was applied.\n"
    )
    parsed = parse_determination(text)
    assert [(i.item, i.decision) for i in parsed.items] == [(item, decision)]


@pytest.mark.parametrize(
    ("line", "decision"),
    [
        ("Lumbar brace:  Upheld", UPHELD),
        ("Lumbar brace:  Overturned", OVERTURNED),
        ("Lumbar brace:Up held", UPHELD),
        ("Lumbar brace: Over turned", OVERTURNED),
        ("Lumbar brace:  UPHELD", UPHELD),
        ("Lumbar brace:\nOverturned", OVERTURNED),
    ],
)
def test_final_decision_line_variants(line: str, decision: Decision) -> None:
    text = letter(
        "The patient is a 40-year-old male.",
        f"{line}\nMAXIMUS guideline: Decision based on MTUS.\nDecision rationale: Applied.",
    )
    assert [(i.item, i.decision) for i in parse_determination(text).items] == [
        ("Lumbar brace", decision)
    ]


# --------------------------------------------------------------------------- real-letter shapes

BLOCKS = (
    "MAXIMUS guideline: Decision based on MTUS ACOEM Chapter 12 Low Back Complaints Page(s): 301."
    "\nDecision rationale: The guideline was applied to the record."
)
OLDER_BLOCKS = (
    "Medical Treatment Guideline(s) Relied Upon by the Expert Reviewer:\n"
    "MTUS Chronic Pain Medical Treatment Guidelines, pages 98-99, Physical Medicine.\n"
    "Rationale for the Decision:\nThe guideline was applied to the record."
)
SUMMARY = "The patient is a 40-year-old male."
TENS = "a TENS unit rental for 30 days"


def older_letter(items: str) -> str:
    """A minimal older-format letter (no issues heading) around an items section."""
    return f"MAXIMUS Federal Services, Inc.\nCase Summary:\n{SUMMARY}\n{items}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # items numbered "1)" as well as "1.", in both letter shapes
        pytest.param(
            older_letter(f"1) {PT} is not medically necessary and appropriate.\n{OLDER_BLOCKS}"),
            [(PT, UPHELD)],
            id="older-numbered-1)",
        ),
        pytest.param(
            older_letter(
                f"2)MAXIMUS Federal Services, Inc. has determined the request for {TENS} is "
                f"medically necessary and appropriate.\n{OLDER_BLOCKS}"
            ),
            [(TENS, OVERTURNED)],
            id="older-numbered-1)-maximus",
        ),
        pytest.param(
            letter(SUMMARY, f"1) Lumbar brace:  Upheld\n{BLOCKS}"),
            [("Lumbar brace", UPHELD)],
            id="final-numbered-1)",
        ),
        # words run together by PDF extraction
        pytest.param(
            older_letter(f"1. {PT} isnot medicallynecessary andappropriate.\n{OLDER_BLOCKS}"),
            [(PT, UPHELD)],
            id="older-glued-necessity",
        ),
        pytest.param(
            older_letter(
                "MAXIMUSFederal Services, Inc.has determined therequest for "
                f"{TENS} is notmedically necessary.\n{OLDER_BLOCKS}"
            ),
            [(TENS, UPHELD)],
            id="older-glued-maximus",
        ),
        pytest.param(
            letter(
                SUMMARY, f"Lumbar brace:OVERTURNED\n{BLOCKS.replace(' rationale', 'rationale')}"
            ),
            [("Lumbar brace", OVERTURNED)],
            id="final-glued-token-and-label",
        ),
        # decision words in any case
        pytest.param(
            older_letter(f"1. {PT} IS NOT MEDICALLY NECESSARY AND APPROPRIATE.\n{OLDER_BLOCKS}"),
            [(PT, UPHELD)],
            id="older-capitals",
        ),
        pytest.param(
            letter(SUMMARY, f"Lumbar brace: overturned\n{BLOCKS}"),
            [("Lumbar brace", OVERTURNED)],
            id="final-lower-case",
        ),
        # the decision alone on the line after the item (no colon)
        pytest.param(
            letter(SUMMARY, f"1) Lumbar brace\nUpheld\n{BLOCKS}"),
            [("Lumbar brace", UPHELD)],
            id="final-next-line-after-numbered-item",
        ),
        pytest.param(
            letter(SUMMARY, f"Lumbar brace for the\nlow back\nOVERTURNED\n{BLOCKS}"),
            [("Lumbar brace for the low back", OVERTURNED)],
            id="final-next-line-before-label",
        ),
        # items spanning lines
        pytest.param(
            older_letter(
                "1) MAXIMUS Federal Services, Inc. has determined the request for\nphysical "
                "therapy\n2x6 is not\nmedically necessary and appropriate.\n" + OLDER_BLOCKS
            ),
            [("physical therapy 2x6", UPHELD)],
            id="older-spanning-lines",
        ),
        pytest.param(
            letter(
                SUMMARY,
                f"Outpatient physical therapy 2 times a week\nfor 6 weeks:\nUpheld\n{BLOCKS}",
            ),
            [("Outpatient physical therapy 2 times a week for 6 weeks", UPHELD)],
            id="final-spanning-lines",
        ),
    ],
)
def test_item_line_variants_of_real_letters(
    text: str, expected: list[tuple[str, Decision]]
) -> None:
    parsed = parse_determination(text)
    assert [(i.item, i.decision) for i in parsed.items] == expected
    assert parsed.warnings == []
    assert parsed.items[0].rationale == "The guideline was applied to the record."


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda body: letter(SUMMARY, f"Lumbar brace:  Upheld\n{body}"), id="final"),
        pytest.param(
            lambda body: older_letter(f"1. {PT} is not medically necessary.\n{body}"), id="older"
        ),
    ],
)
@pytest.mark.parametrize(
    ("rationale", "why"),
    [
        (
            "The earlier denial was\nupheld\nby the claims administrator.",
            "a bare 'upheld' in prose",
        ),
        (
            "Two criteria apply. 1. Radiculopathy is documented.\n2. The request is not "
            "medically necessary without it.",
            "a numbered sentence in the rationale",
        ),
    ],
)
def test_rationale_text_never_becomes_an_item(make, rationale: str, why: str) -> None:
    body = f"Claims Administrator guideline: MTUS.\nDecision rationale: {rationale}"
    if "Relied" in make(""):
        body = body.replace("Decision rationale:", "Rationale for the Decision:")
    parsed = parse_determination(make(body))
    assert len(parsed.items) == 1, why
    assert parsed.items[0].rationale == " ".join(rationale.split()), why
    assert parsed.warnings == [], why


def test_page_number_continuing_a_citation_is_not_an_item() -> None:
    text = letter(
        SUMMARY,
        "Norco 10/325 mg #120:  Upheld\nMAXIMUS guideline: Decision based on MTUS Chronic Pain "
        "Medical Treatment Guidelines Page(s): 43,\n78.\nDecision rationale: Applied.",
    )
    parsed = parse_determination(text)
    assert [(i.item, i.reviewer_guidelines[0].pages) for i in parsed.items] == [
        ("Norco 10/325 mg #120", "43, 78")
    ]
    assert parsed.warnings == []


def _with_running_header(text: str, anchors: list[str], header: str, footer: str) -> str:
    """Break the sentence after each anchor with a page footer and a running header."""
    for page, anchor in enumerate(anchors, 2):
        assert anchor in text, anchor
        text = text.replace(anchor, f"{anchor}\n{footer.format(n=page - 1)}\n{header}\n", 1)
    return text


@pytest.mark.parametrize(
    ("name", "anchors"),
    [
        ("final-multi-item.txt", ["pain with ambulation", "the patient is not going to be"]),
        ("maximus-older-three-items.txt", ["fading of treatment", "for Norco 10/325 mg #90 is"]),
    ],
)
@pytest.mark.parametrize(
    ("header", "footer"),
    [
        ("Jane Example IMR Final Determination", "Page {n} of 4"),
        ("MAXIMUS Federal Services, Inc. CM13-0034567", "{n} | Page"),
        ("Independent Medical Review - Fictional Employer", "- {n} -"),
    ],
)
def test_running_page_header_in_mid_sentence_is_dropped(
    name: str, anchors: list[str], header: str, footer: str
) -> None:
    clean = fixture(name)
    damaged = _with_running_header(clean, anchors, header, footer)
    assert parse_determination(damaged) == parse_determination(clean)


def test_repeated_lines_away_from_page_breaks_are_kept() -> None:
    """The 2013 notice lists its decisions twice; a repeated line is a header only at page
    breaks, so both lists survive (and agree)."""
    parsed = parse_determination(fixture("maximus-2013-notice-pdf.txt"))
    assert parsed.warnings == []
    h_wave, acupuncture = parsed.items
    assert h_wave.rationale.endswith("is notmedically necessary and appropriate.")
    assert "H-wave trial with functional gains" in h_wave.rationale  # header cut out mid-sentence
    assert acupuncture.reviewer_guidelines == [
        Cite(
            mtus=True,
            guideline="Acupuncture Medical Treatment Guidelines",
            pages="8",
            text="MTUS Acupuncture Medical Treatment Guidelines, page 8",
        )
    ]
    assert parsed.case_summary.text.endswith("six sessions of acupuncture.")


LISTED_BLOCK = (
    "Medical Treatment Guideline(s) Relied Upon by the Expert Reviewer:\nMTUS ACOEM Chapter 12.\n"
    "Rationale for the Decision:\nThe guideline was applied. The request for {item} is {verdict}"
    "medically necessary and appropriate.\n"
)


def _listed_letter(statement: str, blocks: list[tuple[str, str, str]]) -> str:
    """A 2013-style letter: decision statement(s) first, then one block per item."""
    parts = [statement, "Case Summary:", SUMMARY]
    for header, item, verdict in blocks:
        parts += [header, LISTED_BLOCK.format(item=item, verdict=verdict)]
    return "\n".join(parts)


MRI, ESI = "a repeat MRI of the lumbar spine", "a lumbar epidural steroid injection"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            _listed_letter(
                f"MAXIMUS Federal Services, Inc. has determined the request for {MRI} is not\n"
                "medically necessary and appropriate.",
                [(f"Regarding the request for {MRI}:", MRI, "not ")],
            ),
            [(MRI, UPHELD)],
            id="unnumbered-list-matched-by-name",
        ),
        pytest.param(
            _listed_letter(
                f"1. MAXIMUS Federal Services, Inc. has determined the request for {MRI} is "
                f"medically necessary and appropriate.\n2. {ESI} is not medically necessary.",
                [
                    (f"1) Regarding the request for {MRI}:", MRI, ""),
                    ("2) Regarding the request for an ESI at L4-5:", ESI, "not "),
                ],
            ),
            [(MRI, OVERTURNED), ("an ESI at L4-5", UPHELD)],
            id="numbered-list-matched-by-number",
        ),
        pytest.param(
            _listed_letter(
                f"MAXIMUS Federal Services, Inc. has determined the requested {MRI[2:]} and "
                f"{ESI[2:]} are not medically necessary and appropriate.",
                [
                    (f"1. {MRI[2:]} is not medically necessary.", MRI, "not "),
                    (f"2. {ESI[2:]} is not medically necessary.", ESI, "not "),
                ],
            ),
            [(MRI[2:], UPHELD), (ESI[2:], UPHELD)],
            id="one-statement-naming-two-items",
        ),
    ],
)
def test_listed_decisions_decide_their_blocks(
    text: str, expected: list[tuple[str, Decision]]
) -> None:
    parsed = parse_determination(text)
    assert [(i.item, i.decision) for i in parsed.items] == expected
    assert parsed.warnings == []
    assert all(i.rationale.startswith("The guideline was applied.") for i in parsed.items)


# --------------------------------------------------------------------------- what was not read


def _assert_lines_point_at_text(text: str, parsed: Determination) -> None:
    """Each warning's line holds the start of its text (which may run on to the next line)."""
    lines = [" ".join(line.split()) for line in text.split("\n")] + [""]
    for warning in parsed.warnings:
        here = f"{lines[warning.line - 1]} {lines[warning.line]}"
        assert " ".join(warning.text.split()[:4]) in here, (warning, here)


@pytest.mark.parametrize(
    ("name", "items", "unread"),
    [
        pytest.param(
            "final-partly-unreadable.txt",
            [("Lumbar support brace", UPHELD), ("Urine drug screen", UPHELD)],
            [
                (19, "no decision found for 'Acupuncture for the lumbar spine, 6 sessions'"),
                (26, "the decision says upheld but the rationale concludes overturned"),
                (28, "a rationale block with no item line before it"),
            ],
            id="final",
        ),
        pytest.param(
            "maximus-2013-unread.txt",
            [
                ("an MRI of the right knee", UPHELD),
                ("a knee injection", OVERTURNED),
                ("a hinged knee brace", UPHELD),
            ],
            [
                (9, "no guideline or rationale text found for 'a hinged knee brace'"),
                (32, "the decision says overturned but the rationale concludes upheld"),
            ],
            id="2013-notice",
        ),
    ],
)
def test_what_could_not_be_read_is_reported_with_its_line(
    name: str, items: list[tuple[str, Decision]], unread: list[tuple[int, str]]
) -> None:
    text = fixture(name)
    parsed = parse_determination(text)
    assert [(i.item, i.decision) for i in parsed.items] == items
    assert len(parsed.warnings) == len(unread)
    for warning, (line, problem) in zip(parsed.warnings, unread, strict=True):
        assert (warning.line, problem in warning.problem) == (line, True), warning
    _assert_lines_point_at_text(text, parsed)
    # page furniture added before a warning moves its line with it
    noisy = parse_determination("Page 1 of 2\n\n" + text)
    assert [w.line for w in noisy.warnings] == [line + 2 for line, _ in unread]


def test_decision_list_disagreeing_with_the_item_line_is_reported() -> None:
    text = _listed_letter(
        f"1) MAXIMUS Federal Services, Inc. has determined the request for {MRI} is medically\n"
        "necessary and appropriate.",
        [(f"1) {MRI} is not medically necessary and appropriate.", MRI, "not ")],
    )
    parsed = parse_determination(text)
    assert [(i.item, i.decision) for i in parsed.items] == [(MRI, UPHELD)]
    [warning] = parsed.warnings
    assert warning.line == 1
    assert "lists 'a repeat MRI of the lumbar spine' as overturned" in warning.problem
    assert "(line 5) says upheld" in warning.problem
    _assert_lines_point_at_text(text, parsed)


def test_item_without_decision_is_named_in_the_error() -> None:
    with pytest.raises(DeterminationParseError) as caught:
        parse_determination(fixture("final-no-decision.txt"))
    assert "Line 18: no decision found for 'Lumbar epidural steroid injection at L4-5'" in str(
        caught.value
    )


def test_letter_text_keeps_source_lines() -> None:
    text = (
        "Decision rationale: the physi-\ncal therapy\n\nPage 2 of 3\nRunning Header\n"
        "notes show\n7\nRunning Header\nno gains.\nPage 3 of 3\n"
    )
    letter_text = read_letter(text)
    assert letter_text.text == "Decision rationale: the physical therapy notes show no gains."
    assert [
        letter_text.line_at(letter_text.text.index(word))
        for word in ("the", "physical", "therapy", "notes", "gains")
    ] == [1, 1, 2, 6, 9]
    assert letter_text.starts_line(letter_text.text.index("notes"))
    assert not letter_text.starts_line(letter_text.text.index("physical"))
    assert not letter_text.starts_line(letter_text.text.index("therapy"))


# --------------------------------------------------------------------------- case summary facts


@pytest.mark.parametrize(
    ("summary", "field", "expected"),
    [
        ("This 52 year old male injured worker fell.", "age", 52),
        ("This 52 year old male injured worker fell.", "sex", "male"),
        ("The patient is a 61-year-old woman.", "sex", "female"),
        ("The injured worker has a date of injury of 3/1/2012.", "date_of_injury", "3/1/2012"),
        ("She reported an injury on 07/06/2006.", "date_of_injury", "07/06/2006"),
        ("He sustained an industrial injury on 2/14/2010.", "date_of_injury", "2/14/2010"),
        ("He underwent a lumbar fusion in 2011.", "surgeries", ["lumbar fusion"]),
        (
            "He is status post L4-5 laminectomy on 01/02/2013.",
            "surgeries",
            ["L4-5 laminectomy on 01/02/2013"],
        ),
        ("She had 2 back surgeries.", "surgeries", ["2 back surgeries"]),
        (
            "The diagnosis was noted to be lumbar sprain and strain.",
            "diagnoses",
            ["lumbar sprain and strain"],
        ),
        (
            "Diagnoses include cervical radiculopathy and shoulder impingement.",
            "diagnoses",
            ["cervical radiculopathy", "shoulder impingement"],
        ),
        ("She was diagnosed with carpal tunnel syndrome.", "diagnoses", ["carpal tunnel syndrome"]),
        ("A request was made for a lumbar brace.", "requested", ["a lumbar brace"]),
        ("The request was made for Norco and Soma.", "requested", ["Norco", "Soma"]),
        ("The mechanism of injury was not provided.", "age", None),
        ("The mechanism of injury was not provided.", "date_of_injury", None),
        ("The mechanism of injury was not provided.", "surgeries", []),
        ("The mechanism of injury was not provided.", "requested", []),
    ],
)
def test_case_summary_facts(summary: str, field: str, expected: object) -> None:
    text = letter(summary, "Lumbar brace: Upheld\nDecision rationale: Not supported.")
    parsed = parse_determination(text)
    assert getattr(parsed.case_summary, field) == expected
    assert parsed.case_summary.text == summary


@pytest.mark.parametrize(
    ("sentence", "specialty"),
    [
        ("is Board Certified in Anesthesiology, and is licensed.", "Anesthesiology"),
        ("is Board Certified in Orthopedic Surgery and is licensed.", "Orthopedic Surgery"),
        ("is Board Certified in Family Medicine, has a subspecialty in", "Family Medicine"),
        (
            "is Board Certified in Internal Medicine and Pulmonary Disease.",
            "Internal Medicine and Pulmonary Disease",
        ),
        ("is licensed to practice in California.", None),
    ],
)
def test_reviewer_specialty(sentence: str, specialty: str | None) -> None:
    items = "Brace: Upheld\nDecision rationale: No."
    text = f"The physician reviewer {sentence}\n" + letter("A 40 year old male.", items)
    assert parse_determination(text).reviewer_specialty == specialty


# --------------------------------------------------------------------------- citations

CITATIONS = [
    (
        "MTUS ACOEM Chapter 12 Low Back Complaints Page(s): 287-289",
        Cite(mtus=True, guideline="ACOEM", chapter=ACOEM_12, pages="287-289", text=""),
    ),
    (
        "MTUS Chronic Pain Medical Treatment Guidelines Page(s): 46-47, Exercise",
        Cite(
            mtus=True,
            guideline="Chronic Pain Medical Treatment Guidelines",
            section="Exercise",
            pages="46-47",
            text="",
        ),
    ),
    (
        "MTUS Postsurgical Treatment Guidelines, Low Back",
        Cite(mtus=True, guideline="Postsurgical Treatment Guidelines", chapter="Low Back", text=""),
    ),
    (
        "Non-MTUS Citation Official Disability Guidelines (ODG), Low Back Chapter, Exercise",
        Cite(mtus=False, guideline=ODG, chapter="Low Back Chapter", section="Exercise", text=""),
    ),
    (
        "Non-MTUS: Official Disability Guidelines (ODG) Knee & Leg, Durable medical equipment",
        Cite(
            mtus=False,
            guideline=ODG,
            chapter="Knee & Leg",
            section="Durable medical equipment",
            text="",
        ),
    ),
    (
        "Non-MTUS Citation Official Disability Guidelines (ODG)",
        Cite(mtus=False, guideline=ODG, text=""),
    ),
    (
        "CA MTUS Chronic Pain Medical Treatment Guidelines, pages 98 - 99, Physical Medicine",
        Cite(
            mtus=True,
            guideline="Chronic Pain Medical Treatment Guidelines",
            section="Physical Medicine",
            pages="98-99",
            text="",
        ),
    ),
    (
        "MTUS (Effective July 18, 2009), Chronic Pain Medical Treatment Guidelines, page 9",
        Cite(mtus=True, guideline="Chronic Pain Medical Treatment Guidelines", pages="9", text=""),
    ),
    (
        "Medical Treatment Utilization Schedule (MTUS), ACOEM Chapter 13 Knee Complaints, "
        "pp. 343-345",
        Cite(
            mtus=True,
            guideline="ACOEM",
            chapter="Chapter 13 Knee Complaints",
            pages="343-345",
            text="",
        ),
    ),
    (
        "ACOEM Practice Guidelines, 2nd Edition (2004), Chapter 12, page 301",
        Cite(mtus=False, guideline="ACOEM", chapter="Chapter 12", pages="301", text=""),
    ),
    (
        "ODG Pain Chapter, Opioids",
        Cite(mtus=False, guideline=ODG, chapter="Pain Chapter", section="Opioids", text=""),
    ),
    (
        "Official Disability Guidelines (ODG), Low Back - Lumbar & Thoracic (Acute & Chronic), "
        "Gym memberships",
        Cite(
            mtus=False,
            guideline=ODG,
            chapter="Low Back - Lumbar & Thoracic (Acute & Chronic)",
            section="Gym memberships",
            text="",
        ),
    ),
    (
        "Non-MTUS Citation: VA/DoD Clinical Practice Guideline for Low Back Pain, 2022",
        Cite(
            mtus=False,
            guideline="VA/DoD Clinical Practice Guideline for Low Back Pain",
            chapter="2022",
            text="",
        ),
    ),
]


@pytest.mark.parametrize(("written", "expected"), CITATIONS)
def test_citation_variants(written: str, expected: Cite) -> None:
    assert parse_guideline_citations(f"Decision based on {written}.") == [
        expected.model_copy(update={"text": written})
    ]


@pytest.mark.parametrize(
    ("line", "guidelines"),
    [
        (
            "Decision based on MTUS ACOEM Chapter 12 Low Back Complaints Page(s): 301.  Decision "
            "based on Non-MTUS Citation Official Disability Guidelines (ODG).",
            ["ACOEM", ODG],
        ),
        (
            "MTUS Chronic Pain Medical Treatment Guidelines, pages 98-99; Official Disability "
            "Guidelines (ODG), Low Back Chapter.",
            ["Chronic Pain Medical Treatment Guidelines", ODG],
        ),
        (
            "MTUS Postsurgical Treatment Guidelines, Knee. Non-MTUS Official Disability Guidelines "
            "(ODG), Knee & Leg.",
            ["Postsurgical Treatment Guidelines", ODG],
        ),
        ("None cited.", []),
        ("The claims administrator did not cite any evidence-based guidelines.", []),
        ("", []),
    ],
)
def test_guideline_line_splits_into_citations(line: str, guidelines: list[str]) -> None:
    assert [c.guideline for c in parse_guideline_citations(line)] == guidelines


# --------------------------------------------------------------------------- detection

GUIDELINE_TEXT = (
    "Exercise: Recommended. There is strong evidence that exercise programs, including aerobic "
    "conditioning and strengthening, are superior to treatment programs that do not include "
    "exercise. There is no sufficient evidence to support the recommendation of any particular "
    "exercise regimen over any other exercise regimen.\nPage 23 of 141\n"
)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("guideline paragraph", GUIDELINE_TEXT, False),
        (
            "guideline with necessity wording",
            "Gym memberships: Not recommended as a medical prescription unless a home exercise "
            "program has not been effective. Such treatment is not medically necessary when "
            "outcomes are not monitored. Decision rationale appears in the appendix.",
            False,
        ),
        (
            "regulation naming IMR once",
            "A dispute over a utilization review decision is resolved by Independent Medical "
            "Review under Labor Code section 4610.5. Recommendation 12: we suggest exercise.",
            False,
        ),
        ("empty", "", False),
        ("final letter", fixture("final-multi-item.txt"), True),
        ("final letter, PDF-damaged", fixture("final-multi-item-pdf-damaged.txt"), True),
        ("older letter", fixture("maximus-older-three-items.txt"), True),
        ("older letter, PDF-damaged", fixture("maximus-older-three-items-pdf-damaged.txt"), True),
        ("older single item", fixture("maximus-older-single-item.txt"), True),
        ("letter without decisions", fixture("final-no-decision.txt"), True),
        ("bare item section", "Brace:  Upheld\nDecision  rationale: Not supported.", True),
        ("run-together headings", "CLINICALCASESUMMARY x IMRISSUES,DECISIONSANDRATIONALES", True),
    ],
)
def test_looks_like_determination(name: str, text: str, expected: bool) -> None:
    assert looks_like_determination(text) is expected, name


@pytest.mark.shared
def test_seed_is_detected() -> None:
    assert looks_like_determination(seed_text())


@pytest.mark.shared
def test_real_guideline_pdf_is_not_a_determination() -> None:
    pypdf = pytest.importorskip("pypdf")
    if not VADOD_PDF.exists():
        pytest.skip(f"../shared/data not present: {VADOD_PDF}")
    pages = [page.extract_text() for page in pypdf.PdfReader(VADOD_PDF).pages[:60]]
    assert not looks_like_determination("\n".join(pages))
    with pytest.raises(DeterminationParseError):
        parse_determination(pages[22], source="va-dod.pdf")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GUIDELINE_TEXT, "does not look like an IMR determination letter"),
        ("", "does not look like an IMR determination letter"),
        (fixture("final-no-decision.txt"), "no disputed item with a decision was found"),
    ],
)
def test_errors_name_the_source_and_the_fix(text: str, problem: str) -> None:
    with pytest.raises(DeterminationParseError) as caught:
        parse_determination(text, source="letters/case-17.txt")
    message = str(caught.value)
    assert caught.value.path == "letters/case-17.txt"
    assert message.startswith("letters/case-17.txt: ")
    assert problem in message
    assert "Upheld" in message or "guideline" in message


def test_default_source_name_is_used() -> None:
    with pytest.raises(DeterminationParseError, match=r"^<text>: "):
        parse_determination(GUIDELINE_TEXT)


# --------------------------------------------------------------------------- property


@pytest.mark.parametrize(
    "footer",
    [
        "Page Page 2 of 4 3 of 4",
        "Page 3 Page 2 of 4 of 4",
        "Page 3 of Page 2 of 4 4",
        "-  Page 2 of 4 2 -",
        "CM13-0034567 Page 2 of 4",
        "Page 2 of 4 Page 3 of 4",
    ],
)
def test_footer_extracted_into_another_footer_is_dropped(footer: str) -> None:
    clean = fixture("final-multi-item.txt")
    anchor = "side effects\n"
    assert anchor in clean
    damaged = clean.replace(anchor, f"{anchor}{footer}\n", 1)
    assert parse_determination(damaged) == parse_determination(clean)


NOISE_LINES = st.sampled_from(["", "   ", "Page 3 of 4", "7", "- 2 -", "CM13-0034567", "\f"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    inserts=st.lists(st.tuples(st.integers(min_value=0), NOISE_LINES), max_size=12),
    doubled=st.lists(st.integers(min_value=0), max_size=20),
    inline=st.lists(st.integers(min_value=0), max_size=4),
)
# the inline footer lands inside a "Page 3 of 4" line: "Page Page 2 of 4 3 of 4"
@example(
    inserts=[*[(0, "")] * 7, (116107, "Page 3 of 4"), (0, "   ")],
    doubled=list(range(9)),
    inline=[2_377_100_400],
)
def test_pdf_noise_never_changes_the_parse(
    inserts: list[tuple[int, str]], doubled: list[int], inline: list[int]
) -> None:
    clean = fixture("final-multi-item.txt")
    expected = parse_determination(clean)
    lines = clean.split("\n")
    for position, noise in inserts:
        lines.insert(position % (len(lines) + 1), noise)
    text = "\n".join(lines)
    spaces = [m.start() for m in re.finditer(" ", text)]
    for index in sorted({spaces[i % len(spaces)] for i in doubled}, reverse=True):
        text = text[:index] + "  " + text[index + 1 :]
    spaces = [m.start() for m in re.finditer(" ", text)]
    for index in sorted({spaces[i % len(spaces)] for i in inline}, reverse=True):
        text = text[:index] + " Page 2 of 4 " + text[index + 1 :]
    parsed = parse_determination(text)
    assert isinstance(parsed, Determination)
    assert [(i.item, i.decision) for i in parsed.items] == [
        (i.item, i.decision) for i in expected.items
    ]
    assert parsed == expected
