"""The reasoning core as types: recommendation -> request -> match -> checklist -> decision.

A guideline's recommendations are read once, at ingest, into `Recommendation` records. A
reviewer's request and case summary become one typed `Request`. Matching finds, per loaded
guideline, the recommendation that governs the request (`GuidelineFinding`); the checklist
checks each of its criteria against the documented facts (`CriterionCheck`); one rule table
turns all of it into a `Reasoning`: the stance, the decision and the documentation that would
change it. `ask` and `draft` both render the same `Reasoning`, so they can never disagree.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from imr_assist.models import Direction, DraftDecision, Stance, Strength, StrictModel, Tier


class Phase(StrEnum):
    """The phase of a condition a recommendation covers or a request is in."""

    ACUTE = "acute"
    SUBACUTE = "subacute"
    CHRONIC = "chronic"
    POSTOPERATIVE = "postoperative"
    ANY = "any"


# --------------------------------------------------------------------------- at ingest


class Recommendation(StrictModel):
    """One recommendation statement of a guideline, as a typed record."""

    id: str = Field(description="Stable content-derived id (document version, label, statement)")
    doc_id: str = Field(description="Document the recommendation comes from")
    content_hash: str = Field(description="Content hash of the document version")
    guideline: str = Field(description="Guideline short name, e.g. 'VA/DoD LBP CPG 2022'")
    tier: Tier = Field(description="Authority tier of the guideline")
    label: str = Field(
        description="How the guideline names it: 'Rec 27', 'E.1.a Acupuncture', a section title"
    )
    statement: str = Field(description="The recommendation statement as printed, cleaned")
    interventions: list[str] = Field(
        description="The treatment(s), test(s) or drug(s) the statement is about"
    )
    population: str = Field(
        default="", description="Who it covers as printed, e.g. 'patients with chronic LBP'"
    )
    phases: list[Phase] = Field(
        default_factory=lambda: [Phase.ANY],
        description="Phases covered: acute / subacute / chronic / postoperative / any",
    )
    body_region: str | None = Field(default=None, description="Body region (one vocabulary)")
    direction: Direction = Field(description="for, against or neither")
    strength_text: str = Field(
        description="Strength exactly as printed ('Weak against', 'Recommended - in select "
        "patients', 'conditional recommendation, low certainty')"
    )
    strength: Strength = Field(description="Normalised strength: strong, weak or none")
    criteria: list[str] = Field(
        default_factory=list,
        description="Conditions to meet: trial length, documented functional improvement, "
        "failed prior treatment, indications ...",
    )
    limits: list[str] = Field(
        default_factory=list,
        description="Frequency / optimum / maximum duration and visit limits, as printed",
    )
    page_start: str = Field(description="Printed label of the first page")
    page_end: str = Field(description="Printed label of the last page")
    passage_ids: list[str] = Field(
        default_factory=list,
        description="Citation ids of the passages of its statement and discussion",
    )
    headings: list[str] = Field(
        default_factory=list,
        description="Titles of the sections it sits in, outermost first, without its own "
        "('Retropatellar Pain Syndrome', 'Diagnostic Testing Procedures' for C.9.d.iii MRI): "
        "the condition a section-numbered guideline files it under",
    )


class RecommendationReport(StrictModel):
    """What recommendation extraction found in one document (shown at ingest)."""

    doc_id: str = Field(description="Document id")
    count: int = Field(description="Recommendations recognised")
    message: str = Field(
        description="One line for the reviewer, e.g. 'no recommendation "
        "statements recognised; the guideline is searchable as passages'"
    )


# --------------------------------------------------------------------------- the request


class Fact(StrictModel):
    """One sentence of the case summary (or the request line) as a documented fact."""

    text: str = Field(description="The sentence as written")
    negated: bool = Field(
        description="True when the sentence denies what it names ('no documented TENS trial')"
    )
    concepts: list[str] = Field(default_factory=list, description="Canonical concepts it names")
    source: str = Field(default="summary", description="'summary' or 'request'")
    negated_terms: list[str] = Field(
        default_factory=list,
        description="Words and concepts of the sentence that a negation governs (NegEx scope), "
        "lowercased: 'no improvement with PT' negates 'improvement', not 'physical therapy'",
    )
    hypothetical: bool = Field(
        default=False,
        description="The sentence states a request or plan ('TENS is requested'), not a fact",
    )


class Request(StrictModel):
    """One requested item with everything the record says about it."""

    text: str = Field(description="The request line as given")
    item: str | None = Field(
        description="Canonical name of the requested item, None when no item is recognisable"
    )
    item_text: str | None = Field(
        default=None,
        description="The words of the request line that name the item, as typed ('TFESI', "
        "'Medrol Dosepak'); the rest of the line is case context",
    )
    concepts: list[str] = Field(
        default_factory=list, description="Canonical concepts of the item, drugs as generics"
    )
    drugs: list[str] = Field(default_factory=list, description="Generic drug names requested")
    body_region: str | None = Field(default=None, description="Body region (one vocabulary)")
    regions: list[str] = Field(
        default_factory=list,
        description="Every body region the request line names ('heel lift, my back hurts': "
        "the foot of the device and the back of the complaint); body_region is the first",
    )
    phase: Phase | None = Field(default=None, description="Phase of the condition, if stated")
    surgery: str | None = Field(default=None, description="Surgery named in the record")
    weeks_since_surgery: float | None = Field(default=None, description="Post-operative timing")
    quantity: int | None = Field(default=None, description="Units requested (#90, x1, 12 visits)")
    unit: str | None = Field(
        default=None, description="What the quantity counts: sessions, visits, tablets, ..."
    )
    frequency_per_week: int | None = Field(default=None, description="e.g. 2 for '2x6'")
    duration_weeks: int | None = Field(default=None, description="e.g. 6 for '2x6'")
    duration_days: int | None = Field(
        default=None,
        description="Treatment duration in days, however it was stated ('for 5 days' = 5, "
        "'2x6' = 42, 'for 1 month' = 30)",
    )
    tried: list[str] = Field(default_factory=list, description="Treatments already tried")
    facts: list[Fact] = Field(default_factory=list, description="Documented facts, in order")
    contradictions: list[str] = Field(
        default_factory=list,
        description="Pairs of case sentences that contradict each other, as 'A' vs 'B'",
    )


# --------------------------------------------------------------------------- matching


class Match(StrictModel):
    """A recommendation considered for the request, with why it fits or not."""

    recommendation: Recommendation = Field(description="The candidate recommendation")
    similarity: float = Field(description="Semantic similarity of item and intervention, 0-1")
    population_fits: bool = Field(description="Phase and body region fit the request")
    reason: str = Field(description="Why it was chosen or passed over, in plain words")


class GuidelineFinding(StrictModel):
    """What one loaded guideline says about the request (one row per guideline)."""

    guideline: str = Field(description="Guideline short name")
    doc_id: str = Field(description="Document id")
    tier: Tier = Field(description="Authority tier")
    governing: Match | None = Field(description="The recommendation that governs, if any")
    others: list[Match] = Field(default_factory=list, description="Other candidates, best first")
    silent: bool = Field(description="True when the guideline does not address the item")


# --------------------------------------------------------------------------- checklist


class CriterionStatus(StrEnum):
    """Whether the record meets one criterion."""

    MET = "met"
    NOT_MET = "not_met"
    NOT_DOCUMENTED = "not_documented"


class CriterionCheck(StrictModel):
    """One condition of the governing recommendation checked against the record."""

    criterion: str = Field(description="The condition as the guideline states it")
    status: CriterionStatus = Field(description="met, not met or not documented")
    evidence: str | None = Field(
        default=None, description="The record sentence that meets or contradicts it"
    )
    score: float = Field(default=0.0, description="Similarity of criterion and evidence, 0-1")
    is_limit: bool = Field(default=False, description="A frequency / duration / visit limit")


# --------------------------------------------------------------------------- decision


class Reasoning(StrictModel):
    """The structured decision both `ask` and `draft` render."""

    request: Request = Field(description="The typed request")
    findings: list[GuidelineFinding] = Field(
        description="One row per loaded guideline that was consulted, in authority order"
    )
    governing: GuidelineFinding | None = Field(description="The finding that decides")
    conflicts: list[GuidelineFinding] = Field(
        default_factory=list,
        description="Same-tier findings whose direction differs from the governing one",
    )
    conflict_note: str = Field(
        default="", description="Why the governing one was chosen (8 CCR 9792.25.1)"
    )
    checklist: list[CriterionCheck] = Field(default_factory=list, description="Criteria checked")
    stance: Stance = Field(description="What the governing recommendation says")
    decision: DraftDecision = Field(description="The decision from the rule table")
    rule: str = Field(description="The row of the rule table that decided, in plain words")
    would_change: list[str] = Field(
        default_factory=list, description="Documentation that would change the outcome"
    )
    problems: list[str] = Field(
        default_factory=list,
        description="What stops a decision: no recognisable item, a contradictory record",
    )
