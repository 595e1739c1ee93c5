"""One decision: a small rule table over authority, direction, strength and the checklist.

The rows, first match wins (the table in `RULES` is what the tests run):

| # | when | stance | decision |
|---|------|--------|----------|
| 1 | no recognisable item in the request | not addressed | insufficient information |
| 2 | the case summary contradicts itself | (governing) | insufficient information |
| 3 | no loaded guideline addresses the item | not addressed | insufficient information |
| 4 | the governing recommendation is against | not recommended | not m. n. |
| 5 | it is neither for nor against | insufficient evidence | not m. n. |
| 6 | it is for; the record contradicts a criterion / exceeds a limit | recommended | not m. n. |
| 7 | it is for, and a criterion is not documented | recommended | not m. n. |
| 8 | it is for, and every criterion is met (or it sets none) | recommended | medically necessary |

(not m. n. = not medically necessary.) Row 5 follows IMR practice: the burden is on the
request; a guideline that finds the evidence insufficient gives no basis to find the item
medically necessary. Rows 6-7 list the criteria that would change the outcome. Governing: the
first tier of the order of authority (8 CCR 9792.21.1) with a guideline that addresses the
item; inside that tier, a recommendation whose population fits beats one that does not, then
the closer match, then the stronger recommendation. Same-tier guidelines that point another way
are returned as `conflicts` with the reason for the choice (8 CCR 9792.25.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imr_assist.models import Direction, DraftDecision, Stance, Strength
from imr_assist.reasoning.matching import MATCH_THRESHOLD
from imr_assist.reasoning.models import (
    CriterionCheck,
    CriterionStatus,
    GuidelineFinding,
    Reasoning,
    Request,
)
from imr_assist.reasoning.wording import asks_for_restricted_use

_STANCE = {
    Direction.FOR: Stance.RECOMMENDED,
    Direction.AGAINST: Stance.NOT_RECOMMENDED,
    Direction.NEITHER: Stance.INSUFFICIENT_EVIDENCE,
}
_STRENGTH = {Strength.STRONG: 2, Strength.WEAK: 1, Strength.NONE: 0}


@dataclass(frozen=True)
class Facts:
    """What the rule table looks at (built by `decide`, given directly by the table tests)."""

    has_item: bool
    contradictory: bool
    direction: Direction | None
    not_met: int
    not_documented: int


@dataclass(frozen=True)
class Rule:
    number: int
    when: Callable[[Facts], bool]
    stance: Stance | None  # None: the governing recommendation's
    decision: DraftDecision
    says: str


RULES: tuple[Rule, ...] = (
    Rule(
        1,
        lambda f: not f.has_item,
        Stance.NOT_ADDRESSED,
        DraftDecision.INSUFFICIENT_INFORMATION,
        "the request names no item that can be matched to a guideline",
    ),
    Rule(
        2,
        lambda f: f.contradictory,
        None,
        DraftDecision.INSUFFICIENT_INFORMATION,
        "the case summary contradicts itself",
    ),
    Rule(
        3,
        lambda f: f.direction is None,
        Stance.NOT_ADDRESSED,
        DraftDecision.INSUFFICIENT_INFORMATION,
        "no loaded guideline addresses the item",
    ),
    Rule(
        4,
        lambda f: f.direction is Direction.AGAINST,
        Stance.NOT_RECOMMENDED,
        DraftDecision.NOT_MEDICALLY_NECESSARY,
        "the governing guideline recommends against it",
    ),
    Rule(
        5,
        lambda f: f.direction is Direction.NEITHER,
        Stance.INSUFFICIENT_EVIDENCE,
        DraftDecision.NOT_MEDICALLY_NECESSARY,
        "the governing guideline finds the evidence insufficient to recommend it",
    ),
    Rule(
        6,
        lambda f: f.not_met > 0,
        Stance.RECOMMENDED,
        DraftDecision.NOT_MEDICALLY_NECESSARY,
        "the guideline recommends it, but the record does not meet its criteria",
    ),
    Rule(
        7,
        lambda f: f.not_documented > 0,
        Stance.RECOMMENDED,
        DraftDecision.NOT_MEDICALLY_NECESSARY,
        "the guideline recommends it, but its criteria are not documented",
    ),
    Rule(
        8,
        lambda f: True,
        Stance.RECOMMENDED,
        DraftDecision.MEDICALLY_NECESSARY,
        "the guideline recommends it and the record meets its criteria",
    ),
)


_LEAD_RE = re.compile(r"^\s*\*\*(.+?)\*\*")


def criterion_name(criterion: str, limit: int = 110) -> str:
    """How a criterion is named to a reviewer: its bold lead ('**Components are listed.**
    The request names ...' -> 'Components are listed'), else its first sentence, shortened."""
    lead = _LEAD_RE.match(criterion)
    text = lead.group(1) if lead else re.split(r"(?<=[.;])\s+(?=[A-Z])", criterion.strip())[0]
    text = " ".join(text.replace("**", "").split()).rstrip(" .;:,")
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + " ..."
    return text


def apply_rules(facts: Facts) -> Rule:
    """The first row of `RULES` whose condition holds."""
    return next(rule for rule in RULES if rule.when(facts))


def choose_governing(
    findings: Sequence[GuidelineFinding],
) -> tuple[GuidelineFinding | None, list[GuidelineFinding], str]:
    """(governing finding, same-tier conflicts, why) from findings in authority order."""
    addressing = [f for f in findings if f.governing is not None]
    if not addressing:
        return None, [], ""
    tier = addressing[0].tier
    same = [f for f in addressing if f.tier is tier]

    def key(f: GuidelineFinding) -> tuple[bool, bool, int, float]:
        # every guideline that names the item names it: how closely its heading words it does
        # not decide between two of the same authority; the one whose population fits does,
        # then the stronger recommendation (a graded one over 'insufficient evidence': the
        # panel found evidence enough to recommend, 8 CCR 9792.25.1), then the closer match
        m = f.governing
        assert m is not None
        return (
            m.population_fits,
            m.similarity >= MATCH_THRESHOLD,
            _STRENGTH[m.recommendation.strength],
            round(m.similarity, 2),
        )

    same.sort(key=key, reverse=True)
    best = same[0]
    assert best.governing is not None
    direction = best.governing.recommendation.direction
    conflicts = [
        f for f in same[1:] if f.governing and f.governing.recommendation.direction is not direction
    ]
    note = ""
    if conflicts:
        other = conflicts[0]
        assert other.governing is not None
        reasons = []
        if best.governing.population_fits and not other.governing.population_fits:
            reasons.append(
                f"its population fits this request ({other.governing.reason} in the other)"
            )
        if (
            _STRENGTH[best.governing.recommendation.strength]
            > _STRENGTH[other.governing.recommendation.strength]
        ):
            reasons.append("its recommendation is stronger")
        if not reasons and round(best.governing.similarity, 2) > round(
            other.governing.similarity, 2
        ):
            reasons.append("it addresses the requested item more directly")
        if not reasons:
            note = (
                f"{best.guideline} and {other.guideline} are of the same authority, equally "
                f"applicable and equally strong, and disagree; {best.guideline} was applied as "
                "listed first: the reviewer should confirm the choice (8 CCR 9792.25.1)."
            )
            return best, conflicts, note
        note = (
            f"{best.guideline} and {other.guideline} are of the same authority and disagree; "
            f"{best.guideline} was applied because " + " and ".join(reasons) + "."
        )
    return best, conflicts, note


def decide(
    request: Request,
    findings: Sequence[GuidelineFinding],
    checklist: Sequence[CriterionCheck] = (),
) -> Reasoning:
    """The structured decision from the findings (authority order) and the checklist of the
    governing recommendation's criteria."""
    governing, conflicts, note = choose_governing(findings)
    rec = governing.governing.recommendation if governing and governing.governing else None
    direction = rec.direction if rec else None
    if (
        rec is not None
        and direction is Direction.FOR
        and asks_for_restricted_use(rec.statement, request.text)
    ):
        # 'not recommended as an isolated intervention; a trial may be considered ...' and the
        # request is for it as an isolated intervention: the negation is what applies
        direction = Direction.AGAINST
    not_met = [c for c in checklist if c.status is CriterionStatus.NOT_MET]
    # a limit the request states no amount for is not a missing record: it is listed, not decisive
    undocumented = [
        c for c in checklist if c.status is CriterionStatus.NOT_DOCUMENTED and not c.is_limit
    ]
    problems = []
    if not request.item:
        problems.append(
            "The request names no item that can be matched to a guideline: "
            "state the treatment, test, device or drug requested."
        )
    if request.contradictions:
        problems += [f"The case summary contradicts itself: {c}." for c in request.contradictions]
    facts = Facts(
        has_item=bool(request.item),
        contradictory=bool(request.contradictions),
        direction=direction,
        not_met=len(not_met),
        not_documented=len(undocumented),
    )
    rule = apply_rules(facts)
    stance = rule.stance or (_STANCE[direction] if direction else Stance.NOT_ADDRESSED)
    would_change: list[str] = []
    if rule.number in (6, 7):
        would_change = [criterion_name(c.criterion) for c in [*not_met, *undocumented]]
    if direction is Direction.FOR:
        would_change += [
            f"the quantity requested, to check against: {criterion_name(c.criterion)}"
            for c in checklist
            if c.is_limit and c.status is CriterionStatus.NOT_DOCUMENTED
        ]
    elif rule.number == 2:
        would_change = ["a case summary whose facts agree with each other"]
    return Reasoning(
        request=request,
        findings=list(findings),
        governing=governing,
        conflicts=conflicts,
        conflict_note=note,
        checklist=list(checklist) if direction is Direction.FOR else [],
        stance=stance,
        decision=rule.decision,
        rule=f"Rule {rule.number}: {rule.says}",
        would_change=would_change,
        problems=problems,
    )
