"""One LCEL Runnable: retrieve and order by authority -> draft -> verify.

Input: {"request": str, "summary": str (optional), "kind": "draft" | "ask"}.
Output: a `DeterminationDraft` (kind draft) or an `Answer` (kind ask). `invoke`, `batch` and
`stream` work as on any Runnable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from imr_assist.citations import extract_citation_ids, format_citation
from imr_assist.drafting.composer import (
    DRAFTER_NAME,
    compose,
    precedent_sentence,
    precedent_summary,
    relied_on_line,
)
from imr_assist.drafting.evidence import Evidence, gather_evidence
from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.errors import QueryError
from imr_assist.models import Passage, ResolvedCitation
from imr_assist.retrieval.hybrid import HybridRetriever
from imr_assist.retrieval.validation import clean_query
from imr_assist.verification.verify import verify_draft

Drafter = Callable[[Evidence, str, str, str], tuple[list[str], str]]
"""An alternative drafter: (evidence, kind, request, summary) -> (sentences, drafter name)."""


def resolve(ids: list[str], evidence: Evidence) -> list[ResolvedCitation]:
    """Known ids resolved to their passages, in order of first citation."""
    by_id = {h.passage.id: h.passage for h in evidence.hits}
    out = []
    for pid in ids:
        p = by_id.get(pid)
        if p is not None:
            out.append(_resolved(p))
    return out


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
    )


def make_chain(
    retriever: HybridRetriever, *, drafter: Drafter | None = None
) -> Runnable[dict[str, Any], Answer | DeterminationDraft]:
    """The drafting chain over a retriever; `drafter` replaces the offline composer's text."""
    settings = retriever.settings

    def retrieve(inp: dict[str, Any]) -> dict[str, Any]:
        request = clean_query(str(inp.get("request", "")), settings.search.max_query_chars)
        summary = " ".join(str(inp.get("summary") or "").split())
        kind = inp.get("kind", "draft")
        if kind not in {"draft", "ask"}:
            raise QueryError(f"Unknown kind {kind!r}: use 'draft' or 'ask'.")
        filters = inp.get("filters") or None
        evidence = gather_evidence(retriever, request, filters=filters)
        return {"request": request, "summary": summary, "kind": kind, "evidence": evidence}

    def draft(state: dict[str, Any]) -> dict[str, Any]:
        evidence: Evidence = state["evidence"]
        sentences, stance, decision, missing, relied, abstained = compose(
            evidence, state["request"], state["summary"]
        )
        name = DRAFTER_NAME
        if state["kind"] == "ask":
            sentences = _answer_sentences(sentences, evidence, abstained)
        if drafter is not None and not abstained:
            sentences, name = drafter(evidence, state["kind"], state["request"], state["summary"])
        return {
            **state,
            "sentences": sentences,
            "stance": stance,
            "decision": decision,
            "missing": missing,
            "relied": relied,
            "abstained": abstained,
            "drafter": name,
        }

    def check(state: dict[str, Any]) -> Answer | DeterminationDraft:
        evidence: Evidence = state["evidence"]
        governing = evidence.governing.tier if evidence.governing else None
        report = verify_draft(
            state["sentences"],
            [h.passage for h in evidence.hits],
            embedder=retriever.index.embedder,
            decision=state["decision"] if state["kind"] == "draft" else None,
            governing=governing,
        )
        text = " ".join(state["sentences"])
        ids = extract_citation_ids(text)
        common: dict[str, Any] = {
            "sentences": report.sentences,
            "citations": resolve(ids, evidence),
            "fabricated_ids": report.fabricated_ids,
            "evidence_ids": [h.passage.id for h in evidence.hits],
            "abstained": state["abstained"],
            "precedent": precedent_summary(evidence),
            "settings_hash": evidence.index_hash,
            "drafter": state["drafter"],
            "sequence_note": evidence.sequence_note,
            "governing_tier": governing,
        }
        if state["kind"] == "ask":
            return Answer(query=state["request"], answer=text, stance=state["stance"], **common)
        relied = [relied_on_line(p) for p in state["relied"]]
        return DeterminationDraft(
            item=state["request"],
            case_summary=state["summary"],
            decision=state["decision"],
            stance=state["stance"],
            guideline_relied_on=list(dict.fromkeys(relied)),
            rationale=text,
            missing_documentation=state["missing"],
            **common,
        )

    return (
        RunnableLambda(retrieve, name="retrieve_and_order")
        | RunnableLambda(draft, name="draft")
        | RunnableLambda(check, name="verify")
    )


def _answer_sentences(sentences: list[str], evidence: Evidence, abstained: bool) -> list[str]:
    """An answer keeps the guideline statements and the precedent, not the IMR closing."""
    if abstained:
        return [
            "The loaded guidelines do not specifically address this question "
            f"({evidence.result.gate_reason}).",
        ]
    kept = [
        s
        for s in sentences
        if not s.startswith(("Given the above", "The records provided", "Documentation of"))
    ]
    prior = precedent_sentence(evidence)
    if prior is not None and prior[0] not in kept:
        kept.append(prior[0])
    return kept
