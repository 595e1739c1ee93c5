"""What the drafters return: an answer to a question, a determination item draft."""

from __future__ import annotations

from pydantic import Field

from imr_assist.models import (
    DraftDecision,
    ResolvedCitation,
    SentenceCheck,
    Stance,
    StrictModel,
    Tier,
)
from imr_assist.reasoning.models import Reasoning


class PrecedentSummary(StrictModel):
    """Similar prior determinations, for the reviewer and the rationale."""

    summary: str = Field(description="e.g. '2 of 3 similar requests upheld'")
    upheld: int = Field(description="Similar requests upheld")
    overturned: int = Field(description="Similar requests overturned")
    cases: list[dict[str, str]] = Field(
        default_factory=list, description="doc_id, item, decision, citation id, guidelines"
    )


class _Drafted(StrictModel):
    """What an answer and a determination draft share: the verified text's parts."""

    stance: Stance = Field(description="What the governing evidence says about the item")
    governing_tier: Tier | None = Field(description="Tier the answer or decision rests on")
    sequence_note: str = Field(description="The order of authority followed")
    sentences: list[SentenceCheck] = Field(description="Each sentence with ids and verdict")
    citations: list[ResolvedCitation] = Field(description="Cited passages, resolved")
    fabricated_ids: list[str] = Field(description="Cited ids not in the evidence")
    evidence_ids: list[str] = Field(
        default_factory=list,
        description="Every passage id the drafter was given, in authority order",
    )
    abstained: bool = Field(description="True when no loaded guideline addresses the item")
    precedent: PrecedentSummary | None = Field(description="Similar prior determinations")
    settings_hash: str = Field(description="Index hash of the evidence")
    drafter: str = Field(description="Which drafter wrote it")
    reasoning: Reasoning | None = Field(
        default=None,
        description="The structured decision: findings per guideline, checklist, rule applied",
    )


class Answer(_Drafted):
    """A cited answer to a reviewer's question."""

    query: str = Field(description="The question")
    answer: str = Field(description="The answer text with citation markers")

    @property
    def text(self) -> str:
        """The drafted text with its citation markers (what a reviewer edits)."""
        return self.answer


class DeterminationDraft(_Drafted):
    """A drafted determination block for one disputed item, in the IMR layout."""

    item: str = Field(description="The item as requested")
    case_summary: str = Field(description="The case facts given")
    decision: DraftDecision = Field(description="Drafted decision")
    guideline_relied_on: list[str] = Field(
        description="'MTUS ... Page(s): 287-289' / 'Non-MTUS Citation ODG, Low Back Chapter, ...'"
    )
    rationale: str = Field(description="Decision rationale with citation markers")
    missing_documentation: list[str] = Field(
        description="Documentation whose absence decided the outcome (would change it)"
    )

    @property
    def text(self) -> str:
        """The drafted text with its citation markers (what a reviewer edits)."""
        return self.rationale
