"""The decision rule table and the choice of the governing guideline (pure, no index)."""

from __future__ import annotations

import pytest

from imr_assist.models import Direction, DraftDecision, Stance, Strength, Tier
from imr_assist.reasoning.decision import RULES, Facts, apply_rules, choose_governing, decide
from imr_assist.reasoning.models import (
    CriterionCheck,
    CriterionStatus,
    GuidelineFinding,
    Match,
    Phase,
    Recommendation,
    Request,
)

MN = DraftDecision.MEDICALLY_NECESSARY
NMN = DraftDecision.NOT_MEDICALLY_NECESSARY
II = DraftDecision.INSUFFICIENT_INFORMATION
FOR, AGAINST, NEITHER = Direction.FOR, Direction.AGAINST, Direction.NEITHER


@pytest.mark.parametrize(
    ("has_item", "contradictory", "direction", "not_met", "undocumented", "rule", "decision"),
    [
        (False, False, FOR, 0, 0, 1, II),
        (False, True, None, 0, 0, 1, II),
        (True, True, FOR, 0, 0, 2, II),
        (True, False, None, 0, 0, 3, II),
        (True, False, AGAINST, 0, 0, 4, NMN),
        (True, False, AGAINST, 0, 2, 4, NMN),
        (True, False, NEITHER, 0, 0, 5, NMN),
        (True, False, FOR, 1, 0, 6, NMN),
        (True, False, FOR, 1, 3, 6, NMN),
        (True, False, FOR, 0, 1, 7, NMN),
        (True, False, FOR, 0, 0, 8, MN),
    ],
)
def test_rule_table(
    has_item: bool,
    contradictory: bool,
    direction: Direction | None,
    not_met: int,
    undocumented: int,
    rule: int,
    decision: DraftDecision,
) -> None:
    got = apply_rules(Facts(has_item, contradictory, direction, not_met, undocumented))

    assert (got.number, got.decision) == (rule, decision)


def test_every_rule_is_reachable_and_numbered_in_order() -> None:
    assert [r.number for r in RULES] == list(range(1, len(RULES) + 1))


def rec(
    guideline: str,
    direction: Direction,
    *,
    tier: Tier = Tier.OTHER_GUIDELINE,
    strength: Strength = Strength.WEAK,
    phases: tuple[Phase, ...] = (Phase.ANY,),
    label: str = "Rec 1",
) -> Recommendation:
    return Recommendation(
        id=f"{guideline}-{label}",
        doc_id=guideline.lower().replace(" ", "-"),
        content_hash="h",
        guideline=guideline,
        tier=tier,
        label=label,
        statement=f"{guideline} statement about acupuncture",
        interventions=["acupuncture"],
        phases=list(phases),
        direction=direction,
        strength_text=f"{strength.value} {direction.value}",
        strength=strength,
        page_start="10",
        page_end="10",
    )


def finding(
    r: Recommendation | None,
    *,
    fits: bool = True,
    sim: float = 0.8,
    guideline: str = "",
    tier: Tier = Tier.OTHER_GUIDELINE,
) -> GuidelineFinding:
    m = Match(recommendation=r, similarity=sim, population_fits=fits, reason="r") if r else None
    return GuidelineFinding(
        guideline=r.guideline if r else guideline,
        doc_id=r.doc_id if r else guideline,
        tier=r.tier if r else tier,
        governing=m,
        silent=m is None,
    )


REQ = Request(
    text="Acupuncture x6 for chronic low back pain", item="acupuncture", phase=Phase.CHRONIC
)


def test_the_highest_tier_that_addresses_the_item_governs() -> None:
    mtus = finding(None, guideline="MTUS", tier=Tier.MTUS)
    odg = finding(rec("ODG", FOR, tier=Tier.GUIDELINE))
    vadod = finding(rec("VA/DoD", AGAINST))

    governing, conflicts, _ = choose_governing([mtus, odg, vadod])

    assert governing is odg and conflicts == []  # a lower tier that disagrees is no conflict


def test_same_tier_disagreement_is_a_conflict_with_the_reason() -> None:
    who = finding(rec("WHO", AGAINST, strength=Strength.WEAK))
    vadod = finding(rec("VA/DoD", FOR, strength=Strength.STRONG))

    governing, conflicts, note = choose_governing([who, vadod])

    assert governing is vadod and conflicts == [who]
    assert "stronger" in note and "WHO" in note


def test_a_fitting_population_beats_a_stronger_recommendation_for_another() -> None:
    acute = finding(rec("A", FOR, strength=Strength.STRONG, phases=(Phase.ACUTE,)), fits=False)
    chronic = finding(rec("B", AGAINST, phases=(Phase.CHRONIC,)))

    governing, _, note = choose_governing([acute, chronic])

    assert governing is chronic and "population fits" in note


@pytest.mark.parametrize(
    ("statuses", "decision", "stance"),
    [
        ([], MN, Stance.RECOMMENDED),
        ([CriterionStatus.MET, CriterionStatus.MET], MN, Stance.RECOMMENDED),
        ([CriterionStatus.MET, CriterionStatus.NOT_DOCUMENTED], NMN, Stance.RECOMMENDED),
        ([CriterionStatus.NOT_MET, CriterionStatus.MET], NMN, Stance.RECOMMENDED),
    ],
)
def test_decide_applies_the_checklist_of_a_for_recommendation(
    statuses: list[CriterionStatus], decision: DraftDecision, stance: Stance
) -> None:
    checks = [CriterionCheck(criterion=f"criterion {i}", status=s) for i, s in enumerate(statuses)]

    r = decide(REQ, [finding(rec("VA/DoD", FOR))], checks)

    assert (r.decision, r.stance) == (decision, stance)
    assert r.would_change == [c.criterion for c in checks if c.status is not CriterionStatus.MET]


def test_decide_against_ignores_the_checklist_and_says_which_rule() -> None:
    checks = [CriterionCheck(criterion="x", status=CriterionStatus.MET)]

    r = decide(REQ, [finding(rec("VA/DoD", AGAINST))], checks)

    assert r.decision is NMN and r.stance is Stance.NOT_RECOMMENDED
    assert r.rule.startswith("Rule 4") and r.checklist == [] and r.would_change == []


def test_nothing_addresses_it_and_no_item_are_insufficient_information() -> None:
    silent = decide(REQ, [finding(None, guideline="MTUS", tier=Tier.MTUS)])
    no_item = decide(Request(text="please review", item=None), [finding(rec("VA/DoD", FOR))])

    assert (silent.decision, silent.stance) == (II, Stance.NOT_ADDRESSED)
    assert (no_item.decision, no_item.stance) == (II, Stance.NOT_ADDRESSED)
    assert no_item.problems and "names no item" in no_item.problems[0]


def test_a_contradictory_record_is_reported_not_decided() -> None:
    req = REQ.model_copy(
        update={"contradictions": ["'completed 12 PT visits' vs 'has not started PT'"]}
    )

    r = decide(req, [finding(rec("VA/DoD", FOR))])

    assert r.decision is II and r.stance is Stance.RECOMMENDED
    assert any("contradicts itself" in p for p in r.problems)


def test_a_limit_without_a_requested_amount_is_listed_not_decisive() -> None:
    checks = [
        CriterionCheck(
            criterion="Maximum: 12 visits", status=CriterionStatus.NOT_DOCUMENTED, is_limit=True
        )
    ]

    r = decide(REQ, [finding(rec("VA/DoD", FOR))], checks)

    assert r.decision is MN and r.rule.startswith("Rule 8")
    assert r.would_change == ["the quantity requested, to check against: Maximum: 12 visits"]


@pytest.mark.parametrize(
    ("asked", "stance"),
    [
        ("Interferential stimulation as a stand-alone treatment", Stance.NOT_RECOMMENDED),
        ("Interferential stimulation one-month home trial", Stance.RECOMMENDED),
    ],
)
def test_a_request_for_the_use_a_qualified_negation_excludes_is_not_recommended(
    asked: str, stance: Stance
) -> None:
    # our own wording of the shape (a conditional 'for' record read from 'not recommended as a
    # stand-alone treatment; a one-month trial may be considered if ...')
    qualified = rec("MTUS", FOR, tier=Tier.MTUS).model_copy(
        update={
            "statement": "Interferential current is not recommended as a stand-alone treatment."
        }
    )
    request = Request(text=asked, item="interferential stimulation")

    assert decide(request, [finding(qualified)]).stance is stance


def test_between_two_guidelines_naming_the_item_a_graded_one_beats_insufficient_evidence() -> None:
    # both name the item; the closer heading says only that the evidence is insufficient
    insufficient = rec("VA/DoD", NEITHER, strength=Strength.NONE)
    against = rec("WHO", AGAINST, strength=Strength.WEAK)

    best, conflicts, why = choose_governing(
        [finding(insufficient, sim=1.0), finding(against, sim=0.93)]
    )

    assert best is not None and best.guideline == "WHO"
    assert [f.guideline for f in conflicts] == ["VA/DoD"] and "stronger" in why
    # an item named by one guideline only is still decided by that one
    far = finding(against, sim=0.6)
    assert choose_governing([finding(insufficient, sim=1.0), far])[0].guideline == "VA/DoD"
