"""Tests for PDF text repair (imr_assist.ingest.cleanup): pure functions on plain strings."""

from __future__ import annotations

from collections import Counter

import pytest

from imr_assist.ingest.cleanup import (
    dehyphenate,
    hyphenated_words,
    is_heading,
    join_lines,
    join_split_words,
    normalize_spaces,
    printed_page_number,
    strip_running_lines,
    vocabulary,
)


def page(*lines: str) -> str:
    return "\n".join(lines)


# --------------------------------------------------------------------------- running lines

BODIES = [
    ("Exercise therapy helps adults with chronic low back pain.", "It is offered early."),
    ("Spinal manipulation was studied in several trials.", "Results were mixed."),
    ("Nonsteroidal drugs reduce pain a little.", "Their risks include bleeding."),
    ("Acupuncture showed a small effect at three months.", "Sham control was used."),
]


def test_strip_running_lines_removes_repeated_header_and_page_footer() -> None:
    pages = [
        page("Acme Guideline 2024", *body, f"Page {i} of 4") for i, body in enumerate(BODIES, 1)
    ]

    out = strip_running_lines(pages)

    assert out == ["\n".join(body) for body in BODIES]


def test_strip_running_lines_ignores_digits_when_matching_headers() -> None:
    pages = [page(f"Acme Guideline 2024 - Chapter {i}", *b) for i, b in enumerate(BODIES, 1)]

    assert strip_running_lines(pages) == ["\n".join(b) for b in BODIES]


def test_strip_running_lines_keeps_a_line_repeated_in_the_middle_of_pages() -> None:
    filler = [f"Line {n} of the body text goes here." for n in range(4)]
    pages = [
        page(f"Unique top {c}", *filler[:2], "See the summary table.", *filler[2:], f"Bottom {c}")
        for c in "abc"
    ]

    out = strip_running_lines(pages)

    assert all("See the summary table." in p for p in out)
    assert all(p.splitlines()[0].startswith("Unique top") for p in out)


def test_strip_running_lines_keeps_edge_lines_on_too_few_pages() -> None:
    # 10 pages: a running line must sit at the edges of >= 3 pages (30 %); 2 is not enough
    pages = [page(f"Topic {c} opens here.", "Body line.", "More body.") for c in "abcdefghij"]
    pages[0] = page("Recommendation", pages[0])
    pages[5] = page("Recommendation", pages[5])

    out = strip_running_lines(pages)

    assert out[0].splitlines()[0] == "Recommendation"
    assert out[5].splitlines()[0] == "Recommendation"


@pytest.mark.parametrize("number_line", ["12", "- 12 -", "12 / 40", "Page 12", "page 12 of 40"])
def test_strip_running_lines_drops_page_number_lines_at_edges(number_line: str) -> None:
    single = page("Body text of a one-page document.", "It has two lines.", number_line)

    assert strip_running_lines([single]) == [
        page("Body text of a one-page document.", "It has two lines.")
    ]


def test_strip_running_lines_keeps_a_bare_number_inside_the_body() -> None:
    lines = [
        "First line.",
        "Second line.",
        "Third line.",
        "42",
        "Fifth line.",
        "Sixth line.",
        "Seventh line.",
    ]

    assert strip_running_lines([page(*lines)]) == [page(*lines)]


# --------------------------------------------------------------------------- split words

VOCAB = Counter(
    {
        "strong": 40, "for": 900, "neither": 150, "nor": 150, "against": 120, "a": 500,
        "higher": 6, "her": 3, "risk": 30, "into": 50, "in": 3000, "to": 2000,
        "therapy": 30, "the": 4000, "rare": 1, "is": 800,
    }
)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Stron g for", "Strong for"),
        ("(Nei ther for nor against |", "(Neither for nor against |"),
        ("we suggest a gainst opioids", "we suggest against opioids"),
        ("at hig her ris k of harm", "at higher risk of harm"),
        ("physical the rapy works", "physical therapy works"),
        ("Stron\ng", "Strong"),  # across a line break
        ("went in to the clinic", "went in to the clinic"),  # 'into' rarer than 'in' and 'to'
        ("Stron G", "Stron G"),  # a capitalised piece starts a new word
        ("ra re", "ra re"),  # the joined word is seen fewer than min_count times
        ("is a", "is a"),  # 'isa' is not a word of the document
        ("Stron, g", "Stron, g"),  # only a space or line break joins
    ],
)
def test_join_split_words(text: str, expected: str) -> None:
    assert join_split_words(text, VOCAB) == expected


def test_join_split_words_uses_the_documents_own_vocabulary() -> None:
    doc = ["Strong for exercise.", "Strong against opioids.", "Stron g for yoga."]

    assert join_split_words(doc[2], vocabulary(doc)) == "Strong for yoga."
    assert vocabulary(doc)["strong"] == 2


# --------------------------------------------------------------------------- hyphenation


@pytest.mark.parametrize(
    ("text", "vocab", "compounds", "expected"),
    [
        ("physi-\ncal therapy", {}, set(), "physical therapy"),
        ("treat-\n   ment", {}, set(), "treatment"),
        (
            "a clinician-\ndirected program",
            {},
            {"clinician-directed"},
            "a clinician-directed program",
        ),
        # the document spells the compound with a hyphen, but also the joined word: join
        ("re-\nview", {"review": 3}, {"re-view"}, "review"),
        ("Non-\nSteroidal", {}, set(), "Non-\nSteroidal"),  # a capital after the break: kept
        ("x-\nray", {}, set(), "x-\nray"),  # a one-letter first part is not a broken word
        ("pre- and post-operative", {}, set(), "pre- and post-operative"),  # no line break
    ],
)
def test_dehyphenate(text: str, vocab: dict[str, int], compounds: set[str], expected: str) -> None:
    assert dehyphenate(text, Counter(vocab), compounds) == expected


def test_dehyphenate_keeps_a_compound_the_document_hyphenates_elsewhere() -> None:
    pages = [
        "We suggest a structured clinician-directed exercise program.",
        "Education was clinician-\ndirected in two trials and the physi-\ncal part was short.",
    ]
    compounds = hyphenated_words(pages)

    out = dehyphenate(pages[1], vocabulary(pages), compounds)

    assert compounds == {"clinician-directed"}
    assert out == "Education was clinician-directed in two trials and the physical part was short."


# --------------------------------------------------------------------------- headings and lines


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("D. Pharmacotherapy", True),
        ("IV. Methods", True),
        ("E. Non-surgical Invasive Therapy", True),
        ("Background", True),
        ("Low Back Pain Care", True),
        ("Recommendations for Care", True),
        ("Treatment Options vs Placebo", True),
        ("  Discussion  ", True),
        ("Exercise therapy helps.", False),  # final punctuation
        ("Summary:", False),
        ("For patients with chronic pain", False),  # lower-case words
        ("Results (n=12)", False),  # brackets and symbols
        ("Opioids/Benzodiazepines", False),
        ("Evidence Review 2017", False),  # ends in a digit
        ("Smith et al 2019 Review", False),
        ("non-pharmacologic therapy", False),  # starts lower-case
        ("", False),
        ("   ", False),
        ("A" * 91, False),  # too long
        (" ".join(["Word"] * 13), False),  # too many words
        ("A. " + " ".join(["Word"] * 13), False),  # a lettered heading, but too many words
    ],
)
def test_is_heading(line: str, expected: bool) -> None:
    assert is_heading(line) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VA/DoD CPG\nFebruary 2022 Page 23 of 141\nBody", "23"),
        ("body\npage 5 of 9", "5"),
        ("PAGE 141 OF 141", "141"),
        ("Page 3", None),  # no 'of N': not a printed page number
        ("23", None),
        ("Stage 2 of 3 care", None),
        ("", None),
    ],
)
def test_printed_page_number(text: str, expected: str | None) -> None:
    assert printed_page_number(text) == expected


def test_join_lines_keeps_headings_separate_and_joins_broken_lines() -> None:
    text = page(
        "Background",
        "Low back pain is common in adults and is a leading cause of disability worldwide",
        "and of lost work days.",
        "Treatment Options",
        "Exercise is offered first.",
    )

    assert join_lines(text) == [
        "Background",
        "Low back pain is common in adults and is a leading cause of disability worldwide "
        "and of lost work days.",
        "Treatment Options",
        "Exercise is offered first.",
    ]


def test_join_lines_does_not_break_a_sentence_at_a_title_case_line() -> None:
    text = page("The results were reviewed by", "The Work Group", "in 2017.")

    assert join_lines(text) == ["The results were reviewed by The Work Group in 2017."]


def test_join_lines_keeps_list_items_apart() -> None:
    text = page(
        "Options include:",
        "- exercise therapy, which is offered first;",
        "- spinal manipulation.",
        "1. Education about the course of pain.",
        "2. Staying active.",
        "a) first item here.",
    )

    assert join_lines(text) == [
        "Options include:",
        "- exercise therapy, which is offered first;",
        "- spinal manipulation.",
        "1. Education about the course of pain.",
        "2. Staying active.",
        "a) first item here.",
    ]


def test_join_lines_ends_a_paragraph_at_a_grade_line_and_a_blank_line() -> None:
    text = page(
        "12. For patients with chronic low back pain, we suggest against",
        "opioids.",
        "(Weak against | Reviewed, New-replaced)",
        "Opioids gave short relief in trials of chronic pain, and harms included dependence",
        "and overdose in",
        "",
        "trials of chronic pain.",
    )

    assert join_lines(text) == [
        "12. For patients with chronic low back pain, we suggest against opioids.",
        "(Weak against | Reviewed, New-replaced)",
        "Opioids gave short relief in trials of chronic pain, and harms included dependence "
        "and overdose in",
        "trials of chronic pain.",
    ]


def test_join_lines_starts_a_lettered_heading_after_an_unfinished_line() -> None:
    text = page(
        "Care aims to improve function and to maximise individual health outcomes and quality of",
        "life (QoL)",
        "II. Background",
        "A. Description of Low Back Pain",
        "Low back pain is pain between the lower rib margin and the buttock creases.",
    )

    assert join_lines(text) == [
        "Care aims to improve function and to maximise individual health outcomes and quality of "
        "life (QoL)",
        "II. Background",
        "A. Description of Low Back Pain",
        "Low back pain is pain between the lower rib margin and the buttock creases.",
    ]


def test_join_lines_ends_a_paragraph_at_a_citation_marker() -> None:
    text = page(
        "In 2016, the estimated spending related to low back pain and neck pain was",
        "$134.5 billion.(10)",
        "Low back pain can be caused by degenerative lumbar spinal stenosis, which shows",
        "increasing prevalence with age.(11, 12)",
    )

    assert join_lines(text) == [
        "In 2016, the estimated spending related to low back pain and neck pain was "
        "$134.5 billion.(10)",
        "Low back pain can be caused by degenerative lumbar spinal stenosis, which shows "
        "increasing prevalence with age.(11, 12)",
    ]


def test_join_lines_of_empty_text() -> None:
    assert join_lines("") == []
    assert join_lines("\n  \n") == []


def test_normalize_spaces() -> None:
    raw = "Low\u00a0back  pain\t\tand\x0cstiff\u00adness: \ufb01nd \ufb02ow\nnext line"

    assert normalize_spaces(raw) == "Low back pain and stiffness: find flow\nnext line"
