"""One LCEL Runnable: retrieve and reason -> write -> verify.

Input: {"request": str, "summary": str (optional), "kind": "draft" | "ask", "filters": {...}}.
Output: a `DeterminationDraft` (kind draft) or an `Answer` (kind ask); both carry the same
`Reasoning`, so an answer's stance and a draft's decision come from one rule table.
`invoke`, `batch` and `stream` work as on any Runnable. Between steps the state is typed:
`Retrieved` after the first step, `Drafted` after the second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, Field

from imr_assist.citations import extract_citation_ids, format_citation
from imr_assist.drafting.evidence import Evidence, gather_evidence
from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.drafting.writer import (
    WRITER_NAME,
    precedent_sentence,
    precedent_summary,
    relied_on_line,
    write,
)
from imr_assist.errors import QueryError
from imr_assist.models import Hit, Passage, ResolvedCitation, Tier
from imr_assist.reasoning.models import Reasoning
from imr_assist.reasoning.pipeline import excluded_tiers, reason_about
from imr_assist.reasoning.request import parse_request
from imr_assist.retrieval.hybrid import HybridRetriever
from imr_assist.retrieval.validation import clean_query, clean_summary
from imr_assist.verification.verify import verify_draft

DRAFTER_NAME = WRITER_NAME

Drafter = Callable[[Evidence, str, str, str], tuple[list[str], str]]
"""An alternative drafter: (evidence, kind, request, summary) -> (sentences, drafter name).
`evidence.reasoning` holds the structured decision and checklist it must write from."""


class Gathered(BaseModel):
    """State after retrieval."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    request: str = Field(description="The cleaned request line or question")
    summary: str = Field(description="Case facts, whitespace collapsed")
    kind: str = Field(description="'draft' or 'ask'")
    filters: dict[str, str] | None = Field(description="The reviewer's filters")
    evidence: Evidence = Field(description="Passages by tier, precedent, recommendation passages")


class Retrieved(Gathered):
    """State after reasoning: the structured decision beside the evidence."""

    reasoning: Reasoning = Field(description="The structured decision")


class Drafted(Retrieved):
    """State after writing."""

    sentences: list[str] = Field(description="Drafted sentences with citation markers")
    relied_on: list[Passage] = Field(description="Guideline passages the decision rests on")
    missing: list[str] = Field(description="Documentation that would change the outcome")
    drafter: str = Field(description="Which drafter wrote it")


def resolve(ids: list[str], evidence: Evidence) -> list[ResolvedCitation]:
    """Known ids resolved to their passages, in order of first citation."""
    by_id = {h.passage.id: h.passage for h in evidence.hits}
    return [_resolved(by_id[pid]) for pid in ids if pid in by_id]


def _resolved(p: Passage) -> ResolvedCitation:
    return ResolvedCitation(
        id=p.id,
        citation=format_citation(p),
        source_title=p.source_title,
        source_path=p.source_path,
        guideline=p.guideline,
        tier=p.tier,
        section=p.section,
        recommendation=p.recommendation,
        page_start=p.page_start,
        page_end=p.page_end,
        page_number=p.page_number,
    )


def _recommendation_hits(retriever: HybridRetriever, reasoning: Reasoning) -> list[Hit]:
    """The passages of every recommendation the reasoning names, so a rationale can cite them."""
    ids: list[str] = []
    for finding in reasoning.findings:
        for i, match in enumerate([finding.governing, *finding.others[:1]]):
            if match is not None:  # all of the governing one's: its criteria may sit apart
                ids += match.recommendation.passage_ids[: 8 if i == 0 else 2]
    ids = list(dict.fromkeys(ids))
    passages = retriever.index.get_passages(ids) if ids else []
    return [Hit(passage=p, score=0.0, rank=900 + i) for i, p in enumerate(passages)]


def make_chain(
    retriever: HybridRetriever, *, drafter: Drafter | None = None
) -> Runnable[dict[str, Any], Answer | DeterminationDraft]:
    """The drafting chain over a retriever; `drafter` replaces the offline writer's text."""
    settings = retriever.settings

    def retrieve(inp: dict[str, Any]) -> Gathered:
        request = clean_query(str(inp.get("request", "")), settings.search.max_query_chars)
        summary = clean_summary(str(inp.get("summary") or ""), settings.search.max_summary_chars)
        kind = inp.get("kind", "draft")
        if kind not in {"draft", "ask"}:
            raise QueryError(f"Unknown kind {kind!r}: use 'draft' or 'ask'.")
        filters = inp.get("filters") or None
        evidence = gather_evidence(retriever, request, filters=filters)
        return Gathered(
            request=request, summary=summary, kind=kind, filters=filters, evidence=evidence
        )

    def reason(state: Gathered) -> Retrieved:
        reasoning = reason_about(
            parse_request(state.request, state.summary),
            retriever.index,
            embedder=retriever.index.embedder,
            filters=state.filters,
        )
        evidence = state.evidence
        evidence.reasoning = reasoning
        evidence.extra = _recommendation_hits(retriever, reasoning)
        return Retrieved(**state.__dict__, reasoning=reasoning)

    def draft(state: Retrieved) -> Drafted:
        evidence = state.evidence
        silences = [pair for tier in evidence.tiers for pair in tier.silence[:1]]
        written = write(
            state.reasoning,
            evidence.hits,
            kind=state.kind,
            item=state.request,
            silences=silences,
            excluded_tiers=excluded_tiers(state.filters),
            precedent=precedent_sentence(evidence),
        )
        sentences, name = written.sentences, DRAFTER_NAME
        if drafter is not None and state.reasoning.governing is not None:
            sentences, name = drafter(evidence, state.kind, state.request, state.summary)
        return Drafted(
            **state.__dict__,
            sentences=sentences,
            relied_on=written.relied_on,
            missing=written.missing_documentation,
            drafter=name,
        )

    def check(state: Drafted) -> Answer | DeterminationDraft:
        evidence = state.evidence
        reasoning = state.reasoning
        governing: Tier | None = evidence.governing_tier
        report = verify_draft(
            state.sentences,
            [h.passage for h in evidence.hits],
            embedder=retriever.index.embedder,
            decision=reasoning.decision if state.kind == "draft" else None,
            governing=governing,
            record=state.summary,
        )
        text = " ".join(state.sentences)
        ids = extract_citation_ids(text)
        abstained = reasoning.governing is None
        common: dict[str, Any] = {
            "sentences": report.sentences,
            "citations": resolve(ids, evidence),
            "fabricated_ids": report.fabricated_ids,
            "evidence_ids": [h.passage.id for h in evidence.hits],
            "abstained": abstained,
            "precedent": precedent_summary(evidence),
            "settings_hash": evidence.index_hash,
            "drafter": state.drafter,
            "sequence_note": evidence.sequence_note,
            "governing_tier": governing,
            "reasoning": reasoning,
        }
        if state.kind == "ask":
            return Answer(query=state.request, answer=text, stance=reasoning.stance, **common)
        relied = [relied_on_line(p) for p in state.relied_on]
        return DeterminationDraft(
            item=state.request,
            case_summary=state.summary,
            decision=reasoning.decision,
            stance=reasoning.stance,
            guideline_relied_on=list(dict.fromkeys(relied)),
            rationale=text,
            missing_documentation=state.missing,
            **common,
        )

    return (
        RunnableLambda(retrieve, name="retrieve")
        | RunnableLambda(reason, name="reason")
        | RunnableLambda(draft, name="write")
        | RunnableLambda(check, name="verify")
    )
