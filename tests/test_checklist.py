"""Tests for imr_assist.reasoning.checklist: criteria and limits against the record.

Deterministic tests use the bag-of-words `HashingEmbeddings` (shared words score higher); one
slow test uses the real bundled MiniLM for the semantic cases ("foam roller" meets "foam roll").
Cases come from two guideline families and a drug: a low-back physical therapy course, a knee
injection, and opioids.
"""

from __future__ import annotations

from datetime import date

import pytest
from langchain_core.embeddings import Embeddings

from imr_assist.index.embedding import BUNDLED_MODEL, HashingEmbeddings, make_embedder
from imr_assist.models import Direction, Strength, Tier
from imr_assist.reasoning.checklist import (
    MATCH_THRESHOLD,
    Limit,
    check_criteria,
    check_limit,
    check_statements,
    read_limit,
)
from imr_assist.reasoning.facts import clinical_nlp, drug_finder
from imr_assist.reasoning.models import CriterionStatus, Recommendation, Request
from imr_assist.reasoning.request import parse_request

MET, NOT_MET, ND = CriterionStatus.MET, CriterionStatus.NOT_MET, CriterionStatus.NOT_DOCUMENTED
FAKE = HashingEmbeddings()


@pytest.fixture(scope="module", autouse=True)
def _loaded() -> None:
    clinical_nlp()
    drug_finder()


def parse(request: str, summary: str = "") -> Request:
    return parse_request(request, summary, as_of=date(2026, 12, 7))


def rec(criteria: list[str], limits: list[str] | None = None) -> Recommendation:
    return Recommendation(
        id="r1",
        doc_id="d1",
        content_hash="h",
        guideline="Test guideline",
        tier=Tier.GUIDELINE,
        label="D.1",
        statement="Recommended - in select patients.",
        interventions=["physical therapy"],
        direction=Direction.FOR,
        strength_text="Recommended - in select patients",
        strength=Strength.WEAK,
        criteria=criteria,
        limits=limits or [],
        page_start="1",
        page_end="1",
    )


# --------------------------------------------------------------------------- criteria (fake)

CRITERION_CASES = [
    # low-back physical therapy
    (
        "Documentation of objective functional improvement with physical therapy",
        "Objective functional improvement with physical therapy: Oswestry fell from 48 to 30.",
        MET,
    ),
    (
        "Documentation of objective functional improvement with physical therapy",
        "There is no documented objective functional improvement with physical therapy.",
        NOT_MET,
    ),
    (
        "A home exercise program is performed at home",
        "She performs her home exercise program at home every day.",
        MET,
    ),
    (
        "A home exercise program is performed at home",
        "She was never taught a home exercise program.",
        NOT_MET,
    ),
    (
        "After a course of physical therapy",
        "The patient completed 24 post-op PT visits.",  # PT reads as physical therapy
        MET,
    ),
    (
        "After a course of physical therapy",
        "He has not started physical therapy.",
        NOT_MET,
    ),
    (
        "Documentation of objective functional improvement with physical therapy",
        "The worker is a 52-year-old warehouse clerk.",
        ND,
    ),
    # knee injection (viscosupplementation)
    (
        "Failed non-pharmacological treatment and analgesic treatment of knee osteoarthritis",
        "Knee osteoarthritis pain persisted after physical therapy and analgesic treatment.",
        MET,
    ),
    (
        "Osteoarthritis of the knee on imaging",
        "Right knee imaging shows no osteoarthritis.",
        NOT_MET,
    ),
    (
        "A minimum of three weeks between knee injections",
        "Her left shoulder was injured lifting a box at work.",
        ND,
    ),
    # opioids
    (
        "A written opioid treatment agreement is on file",
        "A signed written opioid treatment agreement is on file.",
        MET,
    ),
    (
        "A written opioid treatment agreement is on file",
        "No opioid treatment agreement is on file.",
        NOT_MET,
    ),
    (
        "No aberrant drug-taking behavior such as early refills",  # negative on both sides: met
        "There have been no early refills or aberrant drug-taking behavior.",
        MET,
    ),
    (
        "No aberrant drug-taking behavior such as early refills",
        "She asked for early refills twice; aberrant drug-taking behavior is documented.",
        NOT_MET,
    ),
]


@pytest.mark.parametrize(("criterion", "summary", "status"), CRITERION_CASES)
def test_criteria_against_the_record(criterion: str, summary: str, status: CriterionStatus) -> None:
    (check,) = check_criteria(rec([criterion]), parse("item", summary), embedder=FAKE)
    assert check.status is status
    assert check.criterion == criterion
    assert not check.is_limit
    if status is ND:
        assert check.evidence is None
    else:
        assert check.evidence == summary
        assert check.score >= MATCH_THRESHOLD


def test_the_sentence_that_speaks_to_the_criterion_is_quoted() -> None:
    summary = (
        "She is a 45-year-old bus driver. She completed 12 physical therapy visits. "
        "Her home exercise program is performed at home daily."
    )
    (check,) = check_criteria(
        rec(["A home exercise program is performed at home"]), parse("PT", summary), embedder=FAKE
    )
    assert check.status is MET
    assert check.evidence == "Her home exercise program is performed at home daily."


def test_a_denying_sentence_decides_over_a_meeting_one() -> None:
    summary = (
        "Objective functional improvement with physical therapy was hoped for. "
        "No objective functional improvement with physical therapy is documented."
    )
    criterion = "Objective functional improvement with physical therapy"
    (check,) = check_criteria(rec([criterion]), parse("PT", summary), embedder=FAKE)
    assert check.status is NOT_MET
    assert check.evidence is not None and check.evidence.startswith("No objective")


def test_requests_and_plans_are_not_documentation() -> None:
    summary = "A one-month TENS rental trial is requested."
    (check,) = check_criteria(
        rec(["A one-month TENS rental trial"]), parse("TENS", summary), embedder=FAKE
    )
    assert check.status is ND


def test_no_summary_means_nothing_is_documented() -> None:
    checks = check_criteria(rec(["A", "Documented trial of NSAIDs"]), parse("PT"), embedder=FAKE)
    assert [c.status for c in checks] == [ND, ND]


def test_criteria_then_limits_in_order() -> None:
    recommendation = rec(
        ["Documented functional improvement", "Home exercise program"],
        ["Maximum duration: 12 visits"],
    )
    checks = check_criteria(recommendation, parse("PT 2x8 lumbar"), embedder=FAKE)
    assert [c.criterion for c in checks] == [
        "Documented functional improvement",
        "Home exercise program",
        "Maximum duration: 12 visits",
    ]
    assert [c.is_limit for c in checks] == [False, False, True]
    assert checks[2].status is NOT_MET


def test_the_threshold_is_a_parameter() -> None:
    request = parse("PT", "She performs her home exercise program at home every day.")
    criteria = ["A home exercise program is performed at home"]
    assert check_statements(criteria, request, embedder=FAKE, threshold=0.99)[0].status is ND
    assert check_statements(criteria, request, embedder=FAKE, threshold=0.0)[0].status is MET


# --------------------------------------------------------------------------- limits

READ_LIMIT_CASES = [
    ("Maximum duration: 12 visits", Limit(12, None, None)),
    (
        "Maximum Duration: Three sessions. Purchase or provide with home unit if effective.",
        Limit(3, None, None),
    ),
    (
        "Frequency: Typically, one to three times per week with three to six treatments needed "
        "to produce effect and a maximum of ten treatments as clinically indicated.",
        Limit(10, None, 3),
    ),
    (
        "Total numbers of visits may be as few as two to three for mild patients or up to 12 to "
        "15 with documentation of objective functional improvement.",
        Limit(15, None, None),
    ),
    (
        "Optimum/maximum duration: Limited to three injections annually to the same site",
        Limit(3, None, None),
    ),
    (
        "Frequency: Two to three times per week for a maximum of up to two months.",
        Limit(None, 60, 3),
    ),
    (
        "Recommended for limited use (not more than seven days) for post-operative pain",
        Limit(None, 7, None),
    ),
    ("Fusion (spinal), lumbar: general course 34 visits over 16 weeks", Limit(34, 112, None)),
    ("An initial trial of five to six appointments would appear reasonable.", Limit(6, None, None)),
    ("As clinically indicated.", Limit(None, None, None)),
]


@pytest.mark.parametrize(("text", "limit"), READ_LIMIT_CASES)
def test_read_limit(text: str, limit: Limit) -> None:
    assert read_limit(text) == limit


LIMIT_CASES = [
    # low back PT: 2x8 is 16 visits
    ("Maximum duration: 12 visits", "Physical therapy 2x8 lumbar spine", NOT_MET),
    ("Maximum duration: 12 visits", "Physical therapy 2x6 lumbar spine", MET),
    ("Maximum duration: 12 visits", "Continued physical therapy for the lumbar spine", ND),
    ("Maximum duration: 12 visits", "PT x 12", MET),
    # knee injections and acupuncture
    (
        "Optimum/maximum duration: Limited to three injections annually to the same site",
        "Right knee corticosteroid injection x1",
        MET,
    ),
    (
        "Optimum/maximum duration: Limited to three injections annually to the same site",
        "4 injections to the left knee",
        NOT_MET,
    ),
    (
        "Frequency: one to three times per week and a maximum of ten treatments",
        "Acupuncture 2x6 right knee",
        NOT_MET,
    ),
    (
        "Frequency: one to three times per week and a maximum of ten treatments",
        "Acupuncture 4x/week x 2 weeks",
        NOT_MET,
    ),  # 8 treatments, but 4 a week
    # drugs: tablets are not visits; durations compare in days
    ("Maximum duration: 12 visits", "Norco 10/325 #90", ND),
    (
        "Recommended for limited use (not more than seven days) after surgery",
        "Norco 5/325 #20 for 5 days after knee arthroscopy",
        MET,
    ),
    (
        "Recommended for limited use (not more than seven days) after surgery",
        "Norco 10/325 #120 for 30 days",
        NOT_MET,
    ),
    (
        "a trial for a period of not greater than four weeks",
        "Lidoderm 5% patch #30 for 2 weeks",
        MET,
    ),
    # frequency and duration together
    (
        "Frequency: Two to three times per week for a maximum of up to two months.",
        "Electrical stimulation 2x/week x 12 weeks",
        NOT_MET,
    ),
    (
        "Frequency: Two to three times per week for a maximum of up to two months.",
        "Electrical stimulation 3x4 lumbar",
        MET,
    ),
    ("Maximum duration: 12 visits.", "Physical therapy for the lumbar spine", ND),
]


@pytest.mark.parametrize(("limit", "line", "status"), LIMIT_CASES)
def test_limits_compare_numbers(limit: str, line: str, status: CriterionStatus) -> None:
    check = check_limit(limit, parse(line))
    assert check is not None
    assert check.status is status
    assert check.is_limit
    assert check.evidence == (None if status is ND else parse(line).text)


@pytest.mark.parametrize("limit", ["As clinically indicated.", "As needed use may be reasonable."])
def test_a_limit_without_a_number_is_not_checked(limit: str) -> None:
    assert check_limit(limit, parse("PT 2x6")) is None


# --------------------------------------------------------------------------- real embedder


@pytest.fixture(scope="module")
def minilm() -> Embeddings:
    return make_embedder(BUNDLED_MODEL)


SEMANTIC_CASES = [
    ("Foam roll for self-myofascial release", "She uses a foam roller at home.", MET),
    ("After a course of physical therapy", "The patient completed 24 post-op PT visits.", MET),
    ("After a course of physical therapy", "He has not started physical therapy.", NOT_MET),
    (
        "Documented trial of non-opioid analgesics",
        "Ibuprofen and acetaminophen were tried for two months before Norco was started.",
        MET,
    ),
    (
        "Documented functional improvement with the opioid",
        "There is no documented functional improvement on hydrocodone.",
        NOT_MET,
    ),
    ("Osteoarthritis of the knee", "She is a 45-year-old bus driver.", ND),
]


@pytest.mark.slow
@pytest.mark.parametrize(("criterion", "summary", "status"), SEMANTIC_CASES)
def test_semantic_matching_with_the_bundled_model(
    minilm: Embeddings, criterion: str, summary: str, status: CriterionStatus
) -> None:
    (check,) = check_criteria(rec([criterion]), parse("item", summary), embedder=minilm)
    assert check.status is status


def test_a_denial_about_something_else_does_not_decide() -> None:
    """The closest sentence decides: a denial that shares a word with the criterion but speaks
    to it less closely ('no trial of injections') does not turn a documented NSAID trial into
    *not met* (DENIAL_MARGIN, chosen on the dev splits)."""
    summary = (
        "A documented trial of NSAIDs for six weeks gave partial relief. "
        "No trial of injections so far."
    )
    (check,) = check_criteria(
        rec(["Documented trial of NSAIDs"]), parse("TENS", summary), embedder=FAKE
    )
    assert check.status is MET
    assert check.evidence is not None and check.evidence.startswith("A documented trial")
