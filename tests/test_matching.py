"""Matching a typed request to recommendation records: one row per guideline, population fit."""

from __future__ import annotations

import pytest

from imr_assist.index.embedding import HashingEmbeddings
from imr_assist.models import Direction, Strength, Tier
from imr_assist.reasoning.matching import find_findings, population_fits
from imr_assist.reasoning.models import Fact, Phase, Recommendation, Request

EMB = HashingEmbeddings()


def rec(
    guideline: str,
    label: str,
    interventions: list[str],
    *,
    direction: Direction = Direction.FOR,
    phases: tuple[Phase, ...] = (Phase.ANY,),
    region: str | None = "low_back",
    tier: Tier = Tier.OTHER_GUIDELINE,
) -> Recommendation:
    return Recommendation(
        id=f"{guideline}:{label}",
        doc_id=guideline.lower(),
        content_hash="h",
        guideline=guideline,
        tier=tier,
        label=label,
        statement=f"We suggest {' and '.join(interventions)}.",
        interventions=interventions,
        phases=list(phases),
        body_region=region,
        direction=direction,
        strength_text="Weak for",
        strength=Strength.WEAK,
        page_start="1",
        page_end="1",
    )


def req(item: str, phase: Phase | None = None, region: str | None = "low_back") -> Request:
    return Request(text=item, item=item, concepts=[item], phase=phase, body_region=region)


@pytest.mark.parametrize(
    ("request_phase", "rec_phases", "fits"),
    [
        (None, (Phase.ACUTE,), True),
        (Phase.CHRONIC, (Phase.ANY,), True),
        (Phase.CHRONIC, (Phase.ACUTE,), False),
        (Phase.ACUTE, (Phase.CHRONIC,), False),
        (Phase.SUBACUTE, (Phase.ACUTE,), True),
        (Phase.POSTOPERATIVE, (Phase.CHRONIC,), False),
        (Phase.POSTOPERATIVE, (Phase.POSTOPERATIVE, Phase.CHRONIC), True),
    ],
)
def test_population_phase(
    request_phase: Phase | None, rec_phases: tuple[Phase, ...], fits: bool
) -> None:
    ok, why = population_fits(
        req("acupuncture", request_phase), rec("G", "1", ["x"], phases=rec_phases)
    )

    assert ok is fits
    assert why


def test_another_body_region_does_not_fit() -> None:
    ok, why = population_fits(req("MRI", region="low_back"), rec("G", "1", ["MRI"], region="knee"))

    assert not ok and "knee" in why


def test_the_chronic_recommendation_governs_a_chronic_request_over_the_acute_one() -> None:
    acute = rec("VA/DoD", "Rec 35", ["acupuncture"], phases=(Phase.ACUTE,))
    chronic = rec("VA/DoD", "Rec 34", ["acupuncture"], phases=(Phase.CHRONIC,))

    (row,) = find_findings(req("acupuncture", Phase.CHRONIC), [(acute, 0.9), (chronic, 0.8)], EMB)

    assert row.governing is not None and row.governing.recommendation.label == "Rec 34"
    assert "Rec 35" in row.governing.reason and row.others[0].recommendation.label == "Rec 35"


def test_each_guideline_gets_its_own_row_in_authority_order_and_silent_ones_are_listed() -> None:
    long_doc = [rec("VA/DoD", f"Rec {i}", ["yoga"]) for i in range(10)]
    short = rec("WHO", "Rec 3", ["yoga"], tier=Tier.GUIDELINE)
    loaded = [("MTUS", "mtus-doc", Tier.MTUS)]

    rows = find_findings(
        req("yoga"), [(r, 0.9) for r in long_doc] + [(short, 0.1)], EMB, guidelines=loaded
    )

    assert [(r.guideline, r.silent) for r in rows] == [
        ("MTUS", True),
        ("WHO", False),
        ("VA/DoD", False),
    ]


def test_an_unrelated_recommendation_is_not_a_match() -> None:
    loaded = [("VA/DoD", "va/dod", Tier.OTHER_GUIDELINE)]
    opioids = rec("VA/DoD", "Rec 9", ["opioids"])

    rows = find_findings(req("knee brace"), [(opioids, 0.9)], EMB, guidelines=loaded)

    assert [(r.guideline, r.silent, r.governing) for r in rows] == [("VA/DoD", True, None)]


def test_a_topic_label_names_the_item_and_a_passing_mention_does_not() -> None:
    kit = rec("ODG", "Home exercise kits: an option", ["individual exercise program"])
    gym = rec("ODG", "Exercise", ["exercise"])
    gym = gym.model_copy(update={"statement": "Exercise is recommended; home exercise kits vary."})

    (row,) = find_findings(req("home exercise kit"), [(kit, 0.2), (gym, 0.9)], EMB)

    assert row.governing is not None and row.governing.recommendation.label.startswith("Home")
    assert row.governing.similarity >= 0.8
    assert all(m.recommendation.label != "Exercise" for m in row.others)


def test_a_recommendation_about_another_body_region_never_governs() -> None:
    loaded = [("NYS low back", "nys-low-back", Tier.OTHER_GUIDELINE)]
    spine_prp = rec("NYS low back", "D.6.j PRP", ["platelet rich plasma"], region="low_back")

    (row,) = find_findings(
        req("platelet rich plasma", region="knee"), [(spine_prp, 0.9)], EMB, guidelines=loaded
    )

    assert row.silent and row.governing is None
    assert row.others and not row.others[0].population_fits


def test_among_recommendations_naming_the_item_the_case_context_decides() -> None:
    bursitis = rec("NYS knee", "C.11 Bursitis: MRI", ["MRI"], region="knee")
    meniscus = rec("NYS knee", "C.6 Meniscus tear: MRI", ["MRI"], region="knee")
    request = req("MRI", region="knee").model_copy(
        update={
            "facts": [
                Fact(text="Locking and a positive McMurray test: meniscus tear.", negated=False)
            ]
        }
    )

    (row,) = find_findings(request, [(bursitis, 0.9), (meniscus, 0.9)], EMB)

    assert row.governing is not None and row.governing.recommendation.label.startswith("C.6")


def test_the_reviewers_own_abbreviation_names_the_item() -> None:
    """A rule first seen on the NYS knee guideline ('PRP'), checked on another wording: a
    WHO-style record that names its intervention by the abbreviation only."""
    smt = rec("WHO", "Rec 14", ["SMT"], region=None)
    request = Request(
        text="SMT x6 lumbar",
        item="spinal manipulation",
        concepts=["spinal manipulation"],
        body_region="low_back",
    )

    (row,) = find_findings(request, [(smt, 0.1)], EMB)

    assert row.governing is not None and row.governing.similarity >= 0.8
