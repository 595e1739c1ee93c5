"""Recommendation records: the wording families on short fixtures, the real guidelines, the
section-JSON reader, the companion store and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS, SHARED, VADOD_PDF, need_shared
from helpers import write
from imr_assist.cli.commands import main
from imr_assist.errors import UnsupportedSourceError
from imr_assist.index.recommendations import RecommendationStore
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.chunking import chunk_document
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.ingest.reader import ReadOptions, read_source
from imr_assist.models import Direction, Strength, Tier
from imr_assist.reasoning.models import Phase, Recommendation
from imr_assist.reasoning.recommendations import (
    NO_RECOMMENDATIONS,
    extract_recommendations,
    recommendation_report,
)
from imr_assist.reasoning.wording import (
    direction_of,
    grade_of,
    intervention_phrases,
    leading_label,
    phases_of,
    population_of,
    strength_of,
)
from imr_assist.settings import Settings

FOR, AGAINST, NEITHER = Direction.FOR, Direction.AGAINST, Direction.NEITHER
STRONG, WEAK, NONE = Strength.STRONG, Strength.WEAK, Strength.NONE
NYS = SHARED / "data" / "nys-wcb-mtg"
WHO_PDF = SHARED / "data" / "who-lbp-guideline" / "world_health_organization.pdf"


def records_of(path: Path, **options: object) -> list[Recommendation]:
    doc = read_source(path, ReadOptions(**options)).documents[0]  # type: ignore[arg-type]
    return extract_recommendations(doc, chunk_document(doc, 800, 120))


def by_label(recs: list[Recommendation]) -> dict[str, Recommendation]:
    return {r.label: r for r in recs}


# --------------------------------------------------------------------------- the vocabulary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Recommended - in select patients as clinically indicated.", (FOR, WEAK)),
        ("Recommended – in select post-operative patients.", (FOR, WEAK)),
        ("Recommended-in select patients", (FOR, WEAK)),
        ("Recommended as an option for neuropathic pain.", (FOR, WEAK)),
        ("Recommended - for treatment of acute back pain.", (FOR, STRONG)),
        ("Not Recommended", (AGAINST, STRONG)),
        ("Not recommended- for any back pain.", (AGAINST, STRONG)),
        ("Strongly Recommended, Evidence (A)", (FOR, STRONG)),
        ("Moderately Not Recommended, Evidence (B)", (AGAINST, STRONG)),
        ("Recommended, Insufficient Evidence (I)", (FOR, WEAK)),
        ("No Recommendation, Insufficient Evidence (I)", (NEITHER, NONE)),
        ("Optional.", (FOR, WEAK)),
        ("Under study", (NEITHER, NONE)),
        ("Weak for | Reviewed, New-replaced", (FOR, WEAK)),
        ("Neither for nor against | Reviewed", (NEITHER, NONE)),
        ("conditional recommendation against use, low certainty evidence", (AGAINST, WEAK)),
        ("conditional recommendation in favour of use", (FOR, WEAK)),
        ("conditional recommendation, low certainty evidence", (None, WEAK)),
        ("strong recommendation, moderate-quality evidence", (None, STRONG)),
    ],
)
def test_leading_label(text: str, expected: tuple[Direction | None, Strength]) -> None:
    grade = leading_label(text)
    assert grade is not None and (grade.direction, grade.strength) == expected


@pytest.mark.parametrize(
    "text",
    ["Recommended interventions are listed below.", "Recommendations", "Notes: none", "Rest."],
)
def test_not_a_label(text: str) -> None:
    assert leading_label(text) is None


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("For adults with chronic LBP, we suggest against opioids.", (AGAINST, WEAK)),
        ("We recommend against benzodiazepines.", (AGAINST, STRONG)),
        ("We suggest acupuncture.", (FOR, WEAK)),
        ("WHO recommends against traction.", (AGAINST, STRONG)),
        ("There is insufficient evidence to recommend for or against yoga.", (NEITHER, NONE)),
        ("It is recommended that patients select a comfortable mattress.", (FOR, STRONG)),
        ("There is no recommendation regarding mattresses.", (NEITHER, NONE)),
    ],
)
def test_grade_of_grade_wording(sentence: str, expected: tuple[Direction, Strength]) -> None:
    grade = grade_of(sentence)
    assert grade is not None and (grade.direction, grade.strength) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("for acute or non-acute back pain", [Phase.ACUTE, Phase.SUBACUTE, Phase.CHRONIC]),
        ("patients with chronic low back pain", [Phase.CHRONIC]),
        ("subacute low back pain", [Phase.SUBACUTE]),
        ("for post-operative patients", [Phase.POSTOPERATIVE]),
        ("for peri-operative management of pain", [Phase.POSTOPERATIVE]),
        ("for patients with low back pain", [Phase.ANY]),
    ],
)
def test_phases(text: str, expected: list[Phase]) -> None:
    assert phases_of(text) == expected


@pytest.mark.parametrize(
    ("statement", "interventions", "population"),
    [
        (
            "For patients with chronic low back pain, we suggest cognitive behavioral therapy.",
            ["cognitive behavioral therapy"],
            "patients with chronic low back pain",
        ),
        (
            "For patients with low back pain, there is insufficient evidence to recommend for or "
            "against cupping, laser therapy, and ultrasound.",
            ["cupping", "laser therapy", "ultrasound"],
            "patients with low back pain",
        ),
        (
            "Traction should not be used as part of routine care for adults with CPLBP.",
            ["Traction"],
            "adults with CPLBP",
        ),
        (
            "Abdominal strengthening exercises are not recommended for treatment of back pain.",
            ["Abdominal strengthening exercises"],
            "back pain",
        ),
        ("It is recommended for acute back pain.", [], "acute back pain"),
    ],
)
def test_interventions_and_population(
    statement: str, interventions: list[str], population: str
) -> None:
    assert intervention_phrases(statement) == interventions
    assert population_of(statement) == population


# --------------------------------------------------------------------------- wording families

VADOD_STYLE = """Recommendations

A. Non-pharmacologic Therapy

8. For patients with chronic low back pain, we suggest cognitive behavioral therapy.
(Weak for | Reviewed, New-replaced)

Discussion of the evidence on cognitive behavioral therapy follows here.

9. For patients with acute low back pain, there is insufficient evidence to recommend for or
against spinal manipulation.
(Neither for nor against | Reviewed, New-added)

29. For patients with low back pain, we recommend against benzodiazepines.
(Strong against | Reviewed, Not changed)
"""

GRADE_STYLE = """# Opioids

For adults with chronic low back pain, we suggest against long-term opioid therapy.

The panel weighed harms heavily.

# Exercise

We recommend exercise therapy for adults with subacute or chronic low back pain.
"""

WHO_STYLE = """# Recommendations

The guideline covers chronic primary low back pain (CPLBP) in adults.

WHO recommends structured exercise programmes for adults with CPLBP (conditional
recommendation, low certainty evidence).

WHO recommends against lumbar braces for adults with CPLBP (strong recommendation, moderate
certainty evidence).

B.7 Transcutaneous electrical nerve stimulation (TENS) TENS should not be used as part of
routine care for adults with CPLBP. (conditional recommendation against use, very low certainty
evidence) B.4 Massage Massage may be offered as part of care to adults with CPLBP.
(conditional recommendation in favour of use, very low certainty evidence)
"""

NYS_STYLE = """# D.5 Electrical Therapies

## D.5.b Transcutaneous Electrical Neurostimulation (TENS)

Recommended - for select use in treatment of chronic low back pain as a second line adjunct.

Indications: Consistent, measurable, functional improvement must be documented prior to the
provision of a home unit.

Frequency: Variable, with optimum duration of three sessions.

Maximum Duration: Three sessions.

Discontinuation: Resolution or intolerance.

## D.5.e Electrical Nerve Block

Not Recommended

## D.5.f Spinal Decompression Devices

Under study

## D.5.g Hot Packs

Optional - as a home adjunct.

# D.8 Rehabilitation

## D.8.f Manipulation

Recommended - for treatment of acute back pain when tied to objective measures of improvement.

Frequency: Up to three times per week for the first four weeks.

Optimum Duration: Eight to 12 weeks.

Maximum Duration: Three months.

Not Recommended - Prophylactic manipulation is not recommended for prevention of back pain.
"""

ACOEM_STYLE = """# Aerobic Exercise

Aerobic exercise is recommended for treatment of chronic low back pain.
Strength of Evidence - Moderately Recommended, Evidence (B)

# Magnets

No Recommendation, Insufficient Evidence (I)
"""

ODG_STYLE = """# Low Back Chapter

TENS, chronic pain (transcutaneous electrical nerve stimulation): Recommended as an option for
neuropathic pain, as an adjunct to a program of functional restoration. Criteria for the use of
TENS: (1) Documentation of pain of at least three months duration; (2) There is evidence that
other appropriate pain modalities have been tried (including medication) and failed; (3) A
one-month trial period of the TENS unit should be documented.

Gym memberships: Not recommended as a medical prescription unless a home exercise program has
not been effective.
"""

NOTHING = """# Background

Low back pain is common. This document describes its epidemiology and the history of its care,
with no statement about any treatment.
"""


@pytest.fixture
def fixture(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(name: str, text: str) -> list[Recommendation]:
        return records_of(write(tmp_path / name, text), kind="guideline")

    return make


def test_vadod_style_numbered(fixture) -> None:  # type: ignore[no-untyped-def]
    recs = by_label(fixture("vadod.txt", VADOD_STYLE))
    assert set(recs) == {"Rec 8", "Rec 9", "Rec 29"}
    assert (recs["Rec 8"].direction, recs["Rec 8"].strength) == (FOR, WEAK)
    assert recs["Rec 8"].strength_text == "Weak for"
    assert recs["Rec 8"].interventions == ["cognitive behavioral therapy"]
    assert recs["Rec 8"].phases == [Phase.CHRONIC]
    assert (recs["Rec 9"].direction, recs["Rec 9"].strength) == (NEITHER, NONE)
    assert recs["Rec 9"].phases == [Phase.ACUTE]
    assert (recs["Rec 29"].direction, recs["Rec 29"].strength) == (AGAINST, STRONG)
    assert all(r.passage_ids for r in recs.values())


def test_grade_sentences(fixture) -> None:  # type: ignore[no-untyped-def]
    recs = fixture("grade.md", GRADE_STYLE)
    assert [(r.direction, r.strength, r.interventions) for r in recs] == [
        (AGAINST, WEAK, ["long-term opioid therapy"]),
        (FOR, STRONG, ["exercise therapy"]),
    ]
    assert recs[0].phases == [Phase.CHRONIC]
    assert recs[1].phases == [Phase.SUBACUTE, Phase.CHRONIC]


def test_who_style_trailing_grades(fixture) -> None:  # type: ignore[no-untyped-def]
    recs = fixture("who.md", WHO_STYLE)
    got = [(r.label, r.direction, r.strength, r.interventions[0]) for r in recs]
    assert got == [
        ("structured exercise programmes", FOR, WEAK, "structured exercise programmes"),
        ("lumbar braces", AGAINST, STRONG, "lumbar braces"),
        (
            "B.7 Transcutaneous electrical nerve stimulation (TENS)",
            AGAINST,
            WEAK,
            "Transcutaneous electrical nerve stimulation (TENS)",
        ),
        ("B.4 Massage", FOR, WEAK, "Massage"),
    ]
    assert recs[0].strength_text == "conditional recommendation, low certainty evidence"
    assert recs[2].statement.startswith("TENS should not be used")
    # CPLBP is read through the acronym the guideline defines
    assert all(r.phases == [Phase.CHRONIC] for r in recs)


def test_nys_labels_fields_and_limits(fixture) -> None:  # type: ignore[no-untyped-def]
    recs = fixture("nys.md", NYS_STYLE)
    tens = recs[0]
    assert (
        tens.label
        == "D.5.b Electrical Therapies: Transcutaneous Electrical Neurostimulation (TENS)"
    )
    assert (tens.direction, tens.strength) == (FOR, WEAK)
    assert tens.strength_text == "Recommended - for select use"
    assert tens.interventions == ["Transcutaneous Electrical Neurostimulation (TENS)"]
    assert tens.phases == [Phase.CHRONIC]
    assert tens.headings == ["Electrical Therapies"]
    assert tens.criteria == [
        "Consistent, measurable, functional improvement must be documented prior to the "
        "provision of a home unit."
    ]
    assert tens.limits == [
        "Frequency: Variable, with optimum duration of three sessions.",
        "Maximum Duration: Three sessions.",
    ]
    labels = {r.interventions[0]: (r.direction, r.strength) for r in recs}
    assert labels["Electrical Nerve Block"] == (AGAINST, STRONG)
    assert labels["Spinal Decompression Devices"] == (NEITHER, NONE)
    assert labels["Hot Packs"] == (FOR, WEAK)
    manipulation = [r for r in recs if r.label.startswith("D.8.f")]
    assert [r.direction for r in manipulation] == [FOR, AGAINST]
    assert manipulation[0].limits == [
        "Frequency: Up to three times per week for the first four weeks.",
        "Optimum Duration: Eight to 12 weeks.",
        "Maximum Duration: Three months.",
    ]
    assert manipulation[0].criteria == ["when tied to objective measures of improvement"]
    # the statement names its own subject: it, not the heading, is the intervention
    assert manipulation[1].interventions[0] == "Prophylactic manipulation"


def test_acoem_trailing_strength_line(fixture) -> None:  # type: ignore[no-untyped-def]
    recs = fixture("acoem.md", ACOEM_STYLE)
    assert [(r.interventions[0], r.direction, r.strength, r.strength_text) for r in recs] == [
        ("Aerobic exercise", FOR, STRONG, "Moderately Recommended, Evidence (B)"),
        ("Magnets", NEITHER, NONE, "No Recommendation, Insufficient Evidence (I)"),
    ]


def test_odg_topic_labels_and_criteria(fixture) -> None:  # type: ignore[no-untyped-def]
    recs = fixture("odg.md", ODG_STYLE)
    tens, gym = recs
    assert tens.interventions == [
        "TENS, chronic pain (transcutaneous electrical nerve stimulation)"
    ]
    assert (tens.direction, tens.strength, tens.strength_text) == (
        FOR,
        WEAK,
        "Recommended as an option",
    )
    assert tens.criteria == [
        "Documentation of pain of at least three months duration",
        "There is evidence that other appropriate pain modalities have been tried (including "
        "medication) and failed",
        "A one-month trial period of the TENS unit should be documented.",
    ]
    assert "Criteria" not in tens.statement
    assert (gym.interventions, gym.direction) == (["Gym memberships"], AGAINST)


def test_nothing_recognisable_is_said(fixture, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert fixture("nothing.md", NOTHING) == []
    report = recommendation_report("nothing", [])
    assert (report.count, report.message) == (0, NO_RECOMMENDATIONS)


def test_determinations_and_studies_have_no_records(tmp_path: Path) -> None:
    letter = CORPUS / "determinations" / "det-05-tens-unit-purchase-upheld.txt"
    assert records_of(letter) == []
    assert records_of(write(tmp_path / "s.md", GRADE_STYLE), kind="study") == []


def test_records_are_stable_and_unique(fixture) -> None:  # type: ignore[no-untyped-def]
    first = fixture("nys.md", NYS_STYLE)
    again = fixture("nys.md", NYS_STYLE)
    assert [r.id for r in first] == [r.id for r in again]
    assert len({r.id for r in first}) == len(first)
    assert len({r.label for r in first}) == len(first)


# --------------------------------------------------------------------------- section JSON


def section_json(**extra: object) -> str:
    data = {
        "guideline": "Shoulder Injury",
        "pdf_filename": "ShoulderInjuryMTG2022.pdf",
        "page_count": 30,
        "sections": [
            {"id": "A.1", "category": "General", "title": "Medical Care", "page": 3,
             "body_text": "Care is focused on return to function.\n"},
            {"id": "D.2", "category": "Treatments", "title": "Electrical Therapies", "page": 12,
             "body_text": "D.2.a Interferential Therapy\n\nNot Recommended - for non- acute "
             "shoulder pain.\n\nD.2.b\nIontophoresis\n\nRecommended - in select patients.\n\n"
             "Frequency: Two times per week.\n"},
            {"id": "E.1", "category": "Surgery", "title": "Arthroscopy", "page": 20,
             "body_text": "Recommended - for full-thickness tears after failed non- operative "
             "care.\n"},
        ],
        **extra,
    }  # fmt: skip
    return json.dumps(data)


def test_section_json_reader_keeps_ids_titles_and_pages(tmp_path: Path) -> None:
    path = write(tmp_path / "shoulder.json", section_json())
    doc = read_source(path).documents[0]
    assert doc.doc_id == "shoulder"
    assert (doc.meta.tier, doc.meta.guideline, doc.meta.edition) == (
        Tier.OTHER_GUIDELINE,
        "Shoulder Injury MTG",
        "2022",
    )
    assert doc.meta.body_region == "shoulder"
    sections = {b.section: (b.page_label, b.page_end_label) for b in doc.blocks}
    assert sections["D.2.a Interferential Therapy"] == ("12", "20")
    assert sections["D.2.b Iontophoresis"] == ("12", "20")
    assert sections["E.1 Arthroscopy"] == ("20", "30")
    text = " ".join(b.text for b in doc.blocks)
    assert "non-acute shoulder pain" in text and "non-operative" in text
    recs = extract_recommendations(doc, chunk_document(doc, 800, 120))
    assert [(r.label, r.direction, r.page_start, r.page_end) for r in recs] == [
        ("D.2.a Electrical Therapies: Interferential Therapy", AGAINST, "12", "20"),
        ("D.2.b Electrical Therapies: Iontophoresis", FOR, "12", "20"),
        ("E.1 Arthroscopy", FOR, "20", "30"),
    ]
    assert recs[1].limits == ["Frequency: Two times per week."]
    assert recs[0].phases == [Phase.SUBACUTE, Phase.CHRONIC]


def test_section_json_tier_flag_wins_and_mtus_is_never_read_from_text(tmp_path: Path) -> None:
    body = section_json().replace("return to function", "the MTUS and ACOEM are cited")
    path = write(tmp_path / "mtus-mention.json", body)
    assert read_source(path).documents[0].meta.tier is Tier.OTHER_GUIDELINE
    flagged = read_source(path, ReadOptions(tier=Tier.GUIDELINE)).documents[0]
    assert flagged.meta.tier is Tier.GUIDELINE


@pytest.mark.parametrize("body", ['{"rows": []}', "[1, 2]", '{"guideline": "X", "sections": []}'])
def test_other_json_is_refused(tmp_path: Path, body: str) -> None:
    with pytest.raises(UnsupportedSourceError, match="guideline-section layout"):
        read_source(write(tmp_path / "other.json", body))


# --------------------------------------------------------------------------- the store


def test_store_add_list_search_remove(index: PassageIndex, tmp_path: Path) -> None:
    nys = write(tmp_path / "nys.md", NYS_STYLE)
    grade = write(tmp_path / "grade.md", GRADE_STYLE)
    report = ingest_paths([nys, grade], settings=index.settings, index=index, kind="guideline")
    assert [f.recommendations for f in report.files] == [6, 2]
    assert "6 recommendations recognised" in report.files[0].message
    store = RecommendationStore(index)
    assert len(store.list()) == 8
    assert [r.label for r in store.list(doc_id="grade")] == ["Opioids", "Exercise"]
    hits = store.search("interferential or TENS electrical stimulation unit", k=3)
    assert hits and "TENS" in hits[0][0].label
    assert all(0 <= score <= 1.0001 for _, score in hits)
    against = store.search("opioids", k=5, where={"direction": "against"})
    assert against and all(r.direction is AGAINST for r, _ in against)
    index.remove("nys")
    assert {r.doc_id for r in store.list()} == {"grade"}
    assert store.collection.get(where={"doc_id": "nys"})["ids"] == []


def test_store_ignores_unpublished_versions(index: PassageIndex, tmp_path: Path) -> None:
    path = write(tmp_path / "nys.md", NYS_STYLE)
    ingest_paths([path], settings=index.settings, index=index)
    store = RecommendationStore(index)
    published = {r.id for r in store.list()}
    # a new version's records written, but the crash came before the manifest published it
    write(path, NYS_STYLE.replace("Three months.", "Four months."))
    doc = read_source(path).documents[0]
    store.add(doc, extract_recommendations(doc, chunk_document(doc, 800, 120)))
    assert {r.id for r in store.list()} == published
    assert {r.id for r, _ in store.search("manipulation", k=50)} <= published
    # the re-run publishes it and drops the old version's records
    ingest_paths([path], settings=index.settings, index=index)
    now = store.list()
    assert {r.id for r in now}.isdisjoint(published)
    assert any("Four months." in x for r in now for x in r.limits)
    assert len(store.collection.get()["ids"]) == len(now)


def test_guideline_without_recommendations_says_so(index: PassageIndex, tmp_path: Path) -> None:
    report = ingest_paths(
        [write(tmp_path / "nothing.md", NOTHING)], settings=index.settings, index=index
    )
    [result] = report.files
    assert result.status == "ingested" and result.passages > 0
    assert NO_RECOMMENDATIONS in result.message and result.recommendations == 0


def test_extractor_version_is_part_of_the_index_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    import imr_assist.settings as settings_module

    before = Settings().index_hash
    monkeypatch.setattr(settings_module, "EXTRACTOR_VERSION", "test")
    assert Settings().index_hash != before


def test_recs_list_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"IMR_EMBEDDING__MODEL": "hashing"}
    runner = CliRunner()
    nys = write(tmp_path / "nys.md", NYS_STYLE)
    result = runner.invoke(main, ["ingest", str(nys), "--home", str(home)], env=env)
    assert result.exit_code == 0, result.output
    assert "6 recommendations recognised" in result.output
    shown = runner.invoke(main, ["recs", "list", "--home", str(home)], env=env)
    assert shown.exit_code == 0 and "D.5.b" in shown.output and "limit: Maximum" in shown.output
    as_json = runner.invoke(main, ["recs", "list", "--doc", "nys", "--json", "--home", str(home)],
                            env=env)  # fmt: skip
    assert len(json.loads(as_json.output)) == 6
    none = runner.invoke(main, ["recs", "list", "--guideline", "X", "--home", str(home)], env=env)
    assert "No recommendation records match" in none.output


# --------------------------------------------------------------------------- real guidelines


@pytest.fixture(scope="module")
def vadod() -> list[Recommendation]:
    return records_of(need_shared(VADOD_PDF))


@pytest.fixture(scope="module")
def nys_low_back() -> list[Recommendation]:
    return records_of(need_shared(NYS / "low-back.json"))


@pytest.fixture(scope="module")
def nys_knee() -> list[Recommendation]:
    return records_of(need_shared(NYS / "knee.json"))


@pytest.fixture(scope="module")
def who() -> list[Recommendation]:
    return records_of(need_shared(WHO_PDF))


@pytest.mark.slow
def test_real_vadod(vadod: list[Recommendation]) -> None:
    recs = by_label(vadod)
    assert len(vadod) == 39 and set(recs) == {f"Rec {n}" for n in range(1, 40)}
    expect = {
        "Rec 3": (AGAINST, STRONG, [Phase.ACUTE]),
        "Rec 8": (FOR, WEAK, [Phase.CHRONIC]),
        "Rec 17": (NEITHER, NONE, [Phase.ANY]),
        "Rec 27": (AGAINST, WEAK, [Phase.CHRONIC]),
        "Rec 29": (AGAINST, STRONG, [Phase.ANY]),
        "Rec 34": (FOR, WEAK, [Phase.CHRONIC]),
    }
    for label, (direction, strength, phases) in expect.items():
        assert (recs[label].direction, recs[label].strength, recs[label].phases) == (
            direction,
            strength,
            phases,
        ), label
    assert recs["Rec 17"].interventions == [
        "cupping",
        "laser therapy",
        "transcutaneous electrical nerve stimulation",
        "ultrasound",
    ]
    assert recs["Rec 27"].interventions == ["opioids"] and recs["Rec 27"].page_start == "58"
    assert all(r.passage_ids and r.body_region == "low_back" for r in vadod)


@pytest.mark.slow
def test_real_nys_low_back(nys_low_back: list[Recommendation]) -> None:
    assert len(nys_low_back) >= 140
    recs = by_label(nys_low_back)
    tens = recs["D.5.b Electrical Therapies: Transcutaneous Electrical Neurostimulation (TENS)"]
    assert (tens.direction, tens.strength, tens.phases) == (FOR, WEAK, [Phase.CHRONIC])
    assert "Maximum Duration: Three sessions. Purchase or provide with home unit if effective." in (
        tens.limits
    )
    assert any("must be documented" in c for c in tens.criteria)
    manipulation = recs["D.8.f Rehabilitation: Manipulation"]
    assert "Optimum Duration: Eight to 12 weeks." in manipulation.limits
    assert manipulation.phases == [Phase.ACUTE]
    opioids = recs["D.7.f Medications: Opioids"]
    assert (opioids.direction, opioids.strength_text) == (AGAINST, "Not Recommended")
    assert recs["D.7.f Medications: Opioids (2)"].phases == [Phase.POSTOPERATIVE]
    acupuncture = recs["D.1 Acupuncture"]
    assert acupuncture.strength_text == "Recommended - in select patients"
    assert recs["D.2.b Appliances: Kinesiotaping, Taping or Strapping"].direction is AGAINST
    assert all(r.tier is Tier.OTHER_GUIDELINE and r.page_start for r in nys_low_back)


@pytest.mark.slow
def test_real_nys_knee(nys_knee: list[Recommendation]) -> None:
    assert len(nys_knee) >= 120
    recs = by_label(nys_knee)
    assert recs["D.2 Biofeedback"].direction is AGAINST
    tens = recs["D.6.x Rehabilitation: Transcutaneous Electrical Nerve Stimulation (TENS)"]
    assert (tens.direction, tens.strength_text) == (FOR, "Recommended - in select patients")
    assert tens.limits
    # a sub-heading printed on the first line of its paragraph is still a heading
    exercise = recs["D.6.f Rehabilitation: Therapeutic Exercise"]
    assert exercise.interventions == ["Therapeutic Exercise"] and exercise.limits
    assert any(r.limits and "Duration" in " ".join(r.limits) for r in nys_knee)


@pytest.mark.slow
def test_real_who(who: list[Recommendation]) -> None:
    # 24 recommendations, 1 good practice statement, 12 "no recommendation" (its Table 1)
    assert len(who) == 37
    assert sum(r.direction is NEITHER for r in who) == 12
    recs = by_label(who)
    tens = recs["B.7 Transcutaneous electrical nerve stimulation (TENS)"]
    assert (tens.direction, tens.strength) == (AGAINST, WEAK)
    assert (
        tens.strength_text == "conditional recommendation against use, very low certainty evidence"
    )
    assert recs["D.1.2 Non-steroidal anti-inflammatory drugs (NSAIDs)"].direction is FOR
    gps = recs["B.8.2 Mobility assistive products"]
    assert (gps.direction, gps.strength) == (FOR, STRONG)
    assert all(r.phases == [Phase.CHRONIC] for r in who)


# --------------------------------------------------------------------------- cross-document


@pytest.mark.slow
def test_grade_families_recover_vadod_without_its_numbering() -> None:
    """The trailing-grade and GRADE-sentence rules came from WHO and the fixtures; on VA/DoD,
    with its numbered recommendations hidden, they find the same statements with the same
    direction and strength."""
    doc = read_source(need_shared(VADOD_PDF)).documents[0]
    hidden = doc.model_copy(
        update={
            "recommendations": [],
            "blocks": [b.model_copy(update={"recommendation": None}) for b in doc.blocks],
        }
    )
    found = extract_recommendations(hidden, chunk_document(hidden, 800, 120))

    def key(text: str) -> str:
        return re.sub(r"[^a-z]", "", text.lower())[:60]

    same = sum(
        any(
            key(r.statement) == key(n.text)
            and (r.direction, r.strength) == (n.direction, n.strength)
            for r in found
        )
        for n in doc.recommendations
    )
    assert same >= 35, f"{same} of {len(doc.recommendations)}"
    # and why numbered guidelines are read by their numbers only: tables repeat statements
    assert len(found) > len(doc.recommendations)


RULES = {
    # rule (where it came from) -> the test that exercises it on another document
    "numbered recommendations suppress the other families (VA/DoD)": (
        "test_grade_families_recover_vadod_without_its_numbering",
        "test_demo_corpus_numbered_digest",
    ),
    "label lines open a recommendation (NYS low back)": ("test_real_nys_knee",),
    "a qualified label is weak (NYS low back)": ("test_real_nys_knee", "test_demo_corpus_labels"),
    "Frequency / Optimum / Maximum duration fields are limits (NYS low back)": (
        "test_real_nys_knee",
        "test_nys_labels_fields_and_limits",
    ),
    "sub-headings in section JSON (NYS low back)": (
        "test_real_nys_knee",
        "test_section_json_reader_keeps_ids_titles_and_pages",
    ),
    "trailing parenthesised grade, item title split (WHO)": (
        "test_grade_families_recover_vadod_without_its_numbering",
        "test_who_style_trailing_grades",
    ),
    "acronyms a guideline defines are read for phases (WHO)": ("test_who_style_trailing_grades",),
    "GRADE sentences (VA/DoD wording)": (
        "test_grade_families_recover_vadod_without_its_numbering",
        "test_grade_sentences",
    ),
    "Criteria for the use of X lists (ODG wording)": (
        "test_odg_topic_labels_and_criteria",
        "test_demo_corpus_labels",
    ),
    "prose fallback only when nothing is marked (demo digests)": (
        "test_nothing_recognisable_is_said",
        "test_demo_corpus_labels",
    ),
}


def test_every_document_rule_is_tested_on_another_document() -> None:
    tests = {name for name in globals() if name.startswith("test_")}
    for rule, names in RULES.items():
        assert names and set(names) <= tests, rule


# --------------------------------------------------------------------------- demo corpus


def test_demo_corpus_numbered_digest() -> None:
    recs = records_of(CORPUS / "guidelines" / "vadod-lbp-cpg-2022-selected-recommendations.md")
    numbered = [r for r in recs if r.label.startswith("Rec ")]
    assert numbered and len(numbered) == len(recs)
    assert by_label(recs)["Rec 27"].direction is AGAINST


def test_demo_corpus_labels() -> None:
    tens = records_of(CORPUS / "guidelines" / "mtus-chronic-pain-tens.md")
    # 'not recommended as a primary treatment ...; a one-month home trial may be considered'
    assert tens[0].interventions == ["TENS"] and tens[0].direction is FOR
    criteria = [c for r in tens for c in r.criteria]
    assert any("one-month trial" in c for c in criteria)
    frp = records_of(CORPUS / "guidelines" / "mtus-chronic-pain-functional-restoration-programs.md")
    assert (frp[0].direction, frp[0].strength) == (FOR, WEAK)
    opioids = records_of(CORPUS / "guidelines" / "mtus-chronic-pain-opioids.md")
    assert opioids == []  # not marked: searchable as passages


def test_every_record_is_well_formed(fixture) -> None:  # type: ignore[no-untyped-def]
    for name, text in [("a.md", NYS_STYLE), ("b.md", WHO_STYLE), ("c.md", ODG_STYLE)]:
        for rec in fixture(name, text):
            assert rec.statement and rec.interventions and rec.phases
            assert rec.strength_text
            assert (rec.direction is NEITHER) == (rec.strength is NONE)


# A qualified negation allowing another use under conditions (MTUS / ODG wording; our own
# paraphrases, the demo corpus's TENS and H-wave digests, then other shapes of our own).
QUALIFIED = [
    (
        "TENS is not recommended as a primary treatment modality. A one-month home-based TENS "
        "trial may be considered as a noninvasive conservative option if it is used as an "
        "adjunct to a program of evidence-based functional restoration.",
        (FOR, WEAK),
    ),
    (
        "H-wave stimulation is not recommended as an isolated intervention. A one-month "
        "home-based trial may be considered for diabetic neuropathic pain.",
        (FOR, WEAK),
    ),
    ("Interferential current is not recommended as a stand-alone treatment.", (AGAINST, STRONG)),
    ("Not recommended for routine use in acute low back pain.", (AGAINST, STRONG)),
    (
        "Not recommended as a medical prescription unless a home exercise program has not been "
        "effective.",
        (AGAINST, STRONG),
    ),
]


@pytest.mark.parametrize(("statement", "expected"), QUALIFIED)
def test_a_qualified_negation_that_allows_another_use_recommends_it_conditionally(
    statement: str, expected: tuple[Direction, Strength]
) -> None:
    grade = leading_label("Not recommended")
    assert grade is not None and grade.direction is AGAINST

    assert (direction_of(grade, statement), strength_of(grade, statement)) == expected


def test_the_demo_tens_and_h_wave_positions_are_conditional_recommendations(tmp_path: Path) -> None:
    for name in ("mtus-chronic-pain-tens.md", "mtus-chronic-pain-h-wave.md"):
        recs = records_of(CORPUS / "guidelines" / name, kind="guideline")
        position = [r for r in recs if r.label.startswith("Position")]
        assert position, [r.label for r in recs]
        assert {(r.direction, r.strength) for r in position} == {(FOR, WEAK)}, name
        # the record states the use it allows, not only the negation
        assert all("may be considered" in r.statement for r in position), name


def test_a_record_carries_the_condition_its_section_files_it_under(fixture) -> None:  # type: ignore[no-untyped-def]
    knee = """# C.9 Patellofemoral Pain (Chondromalacia Patella)

## C.9.d Diagnostic Testing Procedures

### C.9.d.iii MRI

Not Recommended - as it rarely identifies pathology.

# B.4 Imaging Studies

## B.4.a MRI

Recommended - in select patients.
"""
    recs = {r.label: r for r in fixture("knee.md", knee)}
    assert recs["C.9.d.iii Diagnostic Testing Procedures: MRI"].headings == [
        "Patellofemoral Pain (Chondromalacia Patella)",
        "Diagnostic Testing Procedures",
    ]
    assert recs["B.4.a Imaging Studies: MRI"].headings == ["Imaging Studies"]
