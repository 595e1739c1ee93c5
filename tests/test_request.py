"""Tests for imr_assist.reasoning.request and .facts: the typed request and documented facts.

The NLP parts are the real ones (negspaCy over a blank spaCy tokenizer, the offline drug
dictionary), loaded once for the module; a fake drug finder shows the injection seam.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest

from conftest import SEED_LETTER, need_shared
from imr_assist.reasoning.facts import clinical_nlp, contradictions, drug_finder, read_facts
from imr_assist.reasoning.models import Phase, Request
from imr_assist.reasoning.request import parse_request

TODAY = date(2026, 12, 7)


@pytest.fixture(scope="module", autouse=True)
def _loaded() -> None:
    """Load the NLP parts once for the module (the first load is the slow part)."""
    clinical_nlp()
    drug_finder()


def parse(request: str, summary: str = "", as_of: date = TODAY) -> Request:
    return parse_request(request, summary, as_of=as_of)


# --------------------------------------------------------------------------- drugs

DRUG_CASES = [
    # brands the dictionary resolves
    ("Flexeril 10mg #60", ["cyclobenzaprine"], "cyclobenzaprine"),
    ("Ultram 50 mg #60", ["tramadol"], "tramadol"),
    ("Lyrica 75 mg #60", ["pregabalin"], "pregabalin"),
    ("Celebrex 200mg daily #30", ["celecoxib"], "celecoxib"),
    # combinations and brands it lacks: drug_combinations.tsv
    ("Norco 10/325 #90", ["hydrocodone", "acetaminophen"], "hydrocodone/acetaminophen"),
    ("Percocet 5/325 mg #60", ["oxycodone", "acetaminophen"], "oxycodone/acetaminophen"),
    ("Ultracet 37.5/325 #60", ["tramadol", "acetaminophen"], "tramadol/acetaminophen"),
    ("Soma 350 mg #30", ["carisoprodol"], "carisoprodol"),
    # a combination written with a slash resolves through the dictionary, part by part
    ("hydrocodone/APAP 10/325 #120", ["hydrocodone", "acetaminophen"], "hydrocodone/acetaminophen"),
]


@pytest.mark.parametrize(("line", "drugs", "item"), DRUG_CASES)
def test_drug_names_resolve_to_generics(line: str, drugs: list[str], item: str) -> None:
    request = parse(line)
    assert request.drugs == drugs
    assert request.item == item
    assert request.concepts == drugs


def test_the_drug_finder_is_injectable() -> None:
    def fake(tokens: Sequence[str]) -> list[tuple[int, int, list[str]]]:
        return [(i, i + 1, ["zolpidem"]) for i, t in enumerate(tokens) if t.lower() == "sleepy"]

    request = parse_request("Sleepy 10 mg #30", drugs=fake, as_of=TODAY)
    assert request.drugs == ["zolpidem"]
    assert request.item == "zolpidem"


def test_the_nlp_parts_load_once() -> None:
    assert clinical_nlp() is clinical_nlp()
    assert drug_finder() is drug_finder()


# --------------------------------------------------------------------------- items, amounts

ITEM_CASES = [
    ("Lumbar spine home exercise kit", "home exercise kit", "low_back"),
    ("PT 2x6 lumbar", "physical therapy", "low_back"),
    ("chronic LBP, PT 2x4", "physical therapy", "low_back"),
    ("Acupuncture x6 right knee", "acupuncture", "knee"),
    ("TENS unit 30 day rental", "TENS unit rental", None),
    ("Right knee cortisone injection x1", "knee cortisone injection", "knee"),
]


@pytest.mark.parametrize(("line", "item", "region"), ITEM_CASES)
def test_items_and_regions(line: str, item: str, region: str | None) -> None:
    request = parse(line)
    assert request.item == item
    assert request.body_region == region


@pytest.mark.parametrize(
    "line", ["", "please review", "Request for authorization", "12 visits", "RFA dated 03/01/2024"]
)
def test_no_recognisable_item(line: str) -> None:
    assert parse(line).item is None


def test_region_comes_from_the_summary_when_the_line_has_none() -> None:
    assert parse("Norco 10/325 #90", "Chronic low back pain since 2019.").body_region == "low_back"


QUANTITY_CASES = [
    # line, quantity, unit, per week, weeks, days
    ("PT 2x6 lumbar", 12, "sessions", 2, 6, 42),
    ("Norco 10/325 #90", 90, "tablets", None, None, None),
    ("Right knee cortisone injection x1", 1, None, None, None, None),
    ("12 visits of physical therapy for the knee", 12, "visits", None, None, None),
    ("Lidoderm 5% patch #30 for 2 weeks", 30, "patches", None, 2, 14),
    ("Norco 5/325 #20 for 5 days after knee arthroscopy", 20, "tablets", None, None, 5),
    ("Electrical stimulation 2x/week x 12 weeks", 24, "sessions", 2, 12, 84),
    ("Tramadol 50 mg #60 for 1 month", 60, "tablets", None, None, 30),
]


@pytest.mark.parametrize(("line", "quantity", "unit", "per_week", "weeks", "days"), QUANTITY_CASES)
def test_quantity_frequency_duration(
    line: str,
    quantity: int | None,
    unit: str | None,
    per_week: int | None,
    weeks: int | None,
    days: int | None,
) -> None:
    request = parse(line)
    assert (request.quantity, request.unit) == (quantity, unit)
    assert (request.frequency_per_week, request.duration_weeks) == (per_week, weeks)
    assert request.duration_days == days


# --------------------------------------------------------------------------- phase, surgery

PHASE_CASES = [
    ("PT 2x6 lumbar", "Low back pain for 3 months.", Phase.CHRONIC),
    ("PT 2x6 lumbar", "Low back pain for 8 weeks.", Phase.SUBACUTE),
    ("PT 2x6 lumbar", "The back pain began two weeks ago.", Phase.ACUTE),
    ("PT 2x6 lumbar", "She has had low back pain since 2019.", Phase.CHRONIC),
    ("Acupuncture x6", "The patient reported an injury on 07/06/2006.", Phase.CHRONIC),
    ("Knee PT 2x6", "Right knee pain since a fall on 11/20/2026.", Phase.ACUTE),
    ("acute low back pain, PT 2x3", "", Phase.ACUTE),
    ("PT 2x6 for chronic neck pain", "Pain began two weeks ago.", Phase.CHRONIC),  # stated wins
    ("Post-op PT 12 visits", "", Phase.POSTOPERATIVE),  # no date: the line's word
    ("PT 12 visits s/p L4-5 fusion 6 weeks ago", "", Phase.POSTOPERATIVE),
    ("PT 2x6 lumbar s/p fusion 9 months ago", "", Phase.CHRONIC),  # past the 26-week window
    ("Post-op PT", "She underwent a total knee arthroplasty on 11/01/2026.", Phase.POSTOPERATIVE),
    ("Knee PT 2x6", "", None),
    # 8 weeks of therapy is the treatment's duration, not the condition's
    ("Knee PT 2x6", "She completed 8 weeks of physical therapy.", None),
]


@pytest.mark.parametrize(("line", "summary", "phase"), PHASE_CASES)
def test_phase_from_words_durations_and_surgery(
    line: str, summary: str, phase: Phase | None
) -> None:
    assert parse(line, summary).phase is phase


SURGERY_CASES = [
    ("PT s/p fusion 9 months ago", "", "fusion", 38.6),
    ("Post-op PT", "She is 3 weeks post-op from a knee arthroscopy.", "knee arthroscopy", 3.0),
    ("Post-op PT", "Status post lumbar fusion on 10/05/2026.", "lumbar fusion", 9.0),
    (
        "Post-op PT",
        "She underwent a total knee arthroplasty three days ago.",
        "total knee arthroplasty",
        0.4,
    ),
    ("Knee PT 2x6", "POD 10 after ACL reconstruction.", "ACL reconstruction", 1.4),
    ("PT 2x6", "No prior surgery.", None, None),
    ("PT 2x6", "Surgery is not planned.", None, None),
]


@pytest.mark.parametrize(("line", "summary", "surgery", "weeks"), SURGERY_CASES)
def test_surgery_and_weeks_since(
    line: str, summary: str, surgery: str | None, weeks: float | None
) -> None:
    request = parse(line, summary)
    assert request.surgery == surgery
    assert request.weeks_since_surgery == weeks


def test_the_most_recent_surgery_is_the_one() -> None:
    summary = "She had a discectomy on 01/10/2020. She underwent an L4-5 fusion on 09/01/2026."
    request = parse("Post-op PT 2x6", summary)
    assert request.surgery is not None and "fusion" in request.surgery
    assert request.phase is Phase.POSTOPERATIVE


# --------------------------------------------------------------------------- facts, negation

NEGATION_CASES = [
    # sentence, negated, terms a negation governs, terms it does not
    ("She has not started physical therapy.", True, ["physical therapy"], []),
    ("No prior surgery.", True, ["surgery"], []),
    (
        "Completed 12 PT visits with no improvement in function.",
        True,
        ["improvement", "function"],
        ["physical therapy"],
    ),
    ("Denies numbness or tingling.", True, ["numbness", "tingling"], []),
    ("The patient was unable to attend physical therapy.", True, ["physical therapy"], []),
    ("There is no documented functional improvement.", True, ["functional", "improvement"], []),
    ("Ibuprofen did not help.", True, ["help"], ["ibuprofen"]),
    ("No further improvement is expected.", True, ["improvement"], []),
    ("She completed 24 post-op PT visits.", False, [], ["physical therapy"]),
    ("Right knee flexion improved from 90 to 120 degrees.", False, [], ["flexion"]),
]


@pytest.mark.parametrize(("sentence", "negated", "denied", "held"), NEGATION_CASES)
def test_negation_scope_per_term(
    sentence: str, negated: bool, denied: list[str], held: list[str]
) -> None:
    (fact,) = read_facts(sentence)
    assert fact.negated is negated
    assert all(t in fact.negated_terms for t in denied)
    assert not any(t in fact.negated_terms for t in held)


PLAN_CASES = [
    ("The request was made for continuation of physical therapy.", True),
    ("Acupuncture 6 sessions are requested for chronic low back pain.", True),
    ("A TENS unit purchase is recommended.", True),
    ("She requested early refills twice.", False),
    ("She completed 8 PT visits.", False),
]


@pytest.mark.parametrize(("sentence", "plan"), PLAN_CASES)
def test_requests_and_plans_are_not_documented_facts(sentence: str, plan: bool) -> None:
    (fact,) = read_facts(sentence)
    assert fact.hypothetical is plan


def test_one_fact_per_sentence_in_order_with_concepts() -> None:
    facts = read_facts("Norco 10/325 three times a day. She completed 8 PT visits. No TENS trial.")
    assert [f.text for f in facts] == [
        "Norco 10/325 three times a day.",
        "She completed 8 PT visits.",
        "No TENS trial.",
    ]
    assert facts[0].concepts == ["hydrocodone", "acetaminophen"]
    assert facts[1].concepts == ["physical therapy"]
    assert facts[2].concepts == ["TENS"] and "TENS" in facts[2].negated_terms


def test_tried_lists_asserted_treatments_only() -> None:
    summary = (
        "Naproxen and Flexeril gave no relief. She completed 8 PT visits. "
        "She has not tried acupuncture. A TENS unit is requested."
    )
    tried = parse("TENS unit purchase", summary).tried
    assert tried == ["naproxen", "cyclobenzaprine", "physical therapy"]


def test_the_request_line_is_a_fact_of_its_own() -> None:
    request = parse("PT 2x6 lumbar", "Low back pain for 3 months.")
    assert [f.source for f in request.facts] == ["summary", "request"]


# --------------------------------------------------------------------------- contradictions

CONTRADICTION_CASES = [
    ("She completed 12 PT visits. She has not started PT.", 1),
    ("No prior surgery. He is s/p L4-5 fusion.", 1),
    ("No NSAIDs have been tried. Ibuprofen 800 mg gave partial relief.", 1),  # a drug's class
    ("Denies any knee injections. Right knee cortisone injection on 03/02/2026 helped.", 0),
    ("No prior knee surgery. She is s/p L4-5 fusion.", 0),  # different regions
    ("She completed 12 PT visits. No improvement with PT.", 0),  # no gain is not no PT
    ("She has not started PT. PT 2x6 is requested.", 0),  # a request is not a fact
    ("Low back pain since 2019. Completed 8 PT visits.", 0),
]


@pytest.mark.parametrize(("summary", "count"), CONTRADICTION_CASES)
def test_contradictions(summary: str, count: int) -> None:
    request = parse("PT 2x6", summary)
    assert len(request.contradictions) == count
    assert request.contradictions == contradictions(
        [f for f in request.facts if f.source == "summary"]
    )


def test_a_contradiction_quotes_both_sentences() -> None:
    (pair,) = parse("PT", "No prior surgery. He is s/p L4-5 fusion.").contradictions
    assert pair == "'No prior surgery.' vs 'He is s/p L4-5 fusion.'"


# --------------------------------------------------------------------------- the real letter


@pytest.mark.shared
def test_the_seed_letter_case_summary() -> None:
    text = need_shared(SEED_LETTER).read_text("utf-8")
    summary = text.split("including all medical records:")[1].split("IMR ISSUES")[0]
    request = parse_request("Lumbar spine home exercise kit", summary, as_of=date(2013, 11, 1))
    assert request.item == "home exercise kit"
    assert request.body_region == "low_back"
    assert request.surgery is not None and "fusion" in request.surgery
    assert request.phase is Phase.POSTOPERATIVE  # 16 weeks after the 07/10/2013 revision
    assert request.contradictions == []
    unable = next(f for f in request.facts if "unable to attend" in f.text)
    assert "physical therapy" in unable.negated_terms
    asked = next(f for f in request.facts if f.text.startswith("The request was made"))
    assert asked.hypothetical
    assert "physical therapy" not in request.tried


@pytest.mark.parametrize(
    ("question", "item"),
    [
        ("Is a lumbar support recommended for chronic low back pain?", "lumbar support"),
        ("Does the MTUS recommend acupuncture for chronic pain?", "acupuncture"),
        ("Is arthroscopic lavage appropriate for knee osteoarthritis?", "arthroscopic lavage"),
        ("Lumbar support purchase", "lumbar support purchase"),  # a request line: as typed
    ],
)
def test_a_question_names_its_item_without_the_question_around_it(question: str, item: str) -> None:
    assert parse_request(question, "").item == item
