"""Precedent: the prior determinations most similar to a request, and how they were decided."""

from __future__ import annotations

import re

from pydantic import Field

from imr_assist.models import Decision, Kind, StrictModel
from imr_assist.retrieval.hybrid import HybridRetriever, groups_found, item_groups

_GUIDELINES_RE = re.compile(r"Reviewer guideline: (.*?)\. Decision rationale:", re.DOTALL)


class PrecedentCase(StrictModel):
    """One similar prior determination item."""

    doc_id: str = Field(description="Document id of the determination")
    passage_id: str = Field(description="Citation id of the best-matching passage")
    title: str = Field(description="Document title")
    item: str = Field(description="The disputed item")
    decision: Decision = Field(description="upheld or overturned")
    score: float = Field(description="Retrieval score of the best passage")
    guidelines_cited: str = Field(default="", description="The reviewer's cited guidelines")


class Precedent(StrictModel):
    """Similar prior determinations and the distribution of their decisions."""

    request: str = Field(description="The request searched")
    cases: list[PrecedentCase] = Field(description="Similar cases, most similar first")
    upheld: int = Field(description="How many were upheld (not medically necessary)")
    overturned: int = Field(description="How many were overturned (medically necessary)")
    summary: str = Field(description="e.g. '9 of 11 similar requests upheld'")


def find_precedent(retriever: HybridRetriever, request: str, *, limit: int = 10) -> Precedent:
    """Most similar prior determination items (one per item), with decisions and guidelines.

    A case counts as similar when its item names the request's key item term (a TENS request
    is not precedent for an H-wave request that mentions a failed TENS trial).
    """
    result = retriever.search(
        request, k=max(limit * 5, 20), filters={"kind": Kind.DETERMINATION.value}
    )
    wanted = item_groups(request)[:1]
    cases: dict[tuple[str, str], PrecedentCase] = {}
    for hit in result.hits:
        p = hit.passage
        key = (p.doc_id, p.section or "")
        if p.decision is None or key in cases or p.section == "Case summary":
            continue
        if wanted and not groups_found(wanted, [p.section or p.source_title]):
            continue  # similar requests share the key item term in the item itself
        match = _GUIDELINES_RE.search(p.text) or _GUIDELINES_RE.search(
            _item_text(retriever, p.doc_id, p.section)
        )
        cases[key] = PrecedentCase(
            doc_id=p.doc_id,
            passage_id=p.id,
            title=p.source_title,
            item=p.section or p.source_title,
            decision=p.decision,
            score=hit.score,
            guidelines_cited=" ".join(match.group(1).split()) if match else "",
        )
        if len(cases) >= limit:
            break
    found = list(cases.values())
    upheld = sum(c.decision is Decision.UPHELD for c in found)
    overturned = len(found) - upheld
    if found:
        summary = f"{upheld} of {len(found)} similar requests upheld"
    else:
        summary = "No similar prior determinations in the index"
    return Precedent(
        request=request, cases=found, upheld=upheld, overturned=overturned, summary=summary
    )


def _item_text(retriever: HybridRetriever, doc_id: str, section: str | None) -> str:
    """All stored text of one determination item (its guideline line may be in another chunk)."""
    if not section:
        return ""
    got = retriever.index.collection.get(
        where={"$and": [{"doc_id": doc_id}, {"section": section}]}, include=["documents"]
    )
    return "\n".join(got["documents"] or [])
