"""The reasoning run over an index: request -> findings -> checklist -> decision.

The only module of `reasoning/` that touches the index (through the recommendation store and
the manifest); everything it calls is pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from imr_assist.models import Direction, Kind, Tier
from imr_assist.reasoning.decision import choose_governing, decide
from imr_assist.reasoning.matching import MATCH_THRESHOLD, gather_findings, link_item
from imr_assist.reasoning.models import GuidelineFinding, Reasoning, Request
from imr_assist.retrieval.authority import GUIDANCE_TIERS

if TYPE_CHECKING:
    from imr_assist.index.store import PassageIndex


def loaded_guidelines(
    index: PassageIndex, filters: dict[str, str] | None = None
) -> list[tuple[str, str, Tier]]:
    """(guideline name, doc id, tier) of every guideline document the filters leave in."""
    wanted = {k: set(v.split("|")) for k, v in (filters or {}).items()}
    out: dict[str, tuple[str, str, Tier]] = {}
    for record in index.records():
        if record.kind is not Kind.GUIDELINE or record.tier not in GUIDANCE_TIERS:
            continue
        values = {
            "tier": record.tier.value,
            "guideline": record.guideline or "",
            "doc_id": record.doc_id,
            "kind": record.kind.value,
            "source_path": record.source_path,
        }
        if any(key in values and values[key] not in allowed for key, allowed in wanted.items()):
            continue
        name = record.guideline or record.title
        out.setdefault(name, (name, record.doc_id, record.tier))
    return list(out.values())


def excluded_tiers(filters: dict[str, str] | None) -> list[Tier]:
    """Tiers a reviewer's tier filter leaves out (never to be called silent)."""
    if not filters or "tier" not in filters:
        return []
    kept = set(filters["tier"].split("|"))
    return [t for t in GUIDANCE_TIERS if t.value not in kept]


def reason_about(
    request: Request,
    index: PassageIndex,
    *,
    embedder: Embeddings | None = None,
    filters: dict[str, str] | None = None,
    threshold: float | None = None,
    related: float | None = None,
) -> Reasoning:
    """Findings per loaded guideline, the governing recommendation's checklist, the decision."""
    from imr_assist.index.recommendations import RecommendationStore
    from imr_assist.reasoning.checklist import check_criteria

    embedder = embedder or index.embedder
    guidelines = loaded_guidelines(index, filters)
    names = {name for name, _, _ in guidelines}
    store = RecommendationStore(index)

    def findings_for(request: Request) -> list[GuidelineFinding]:
        found = gather_findings(
            request, store, embedder, guidelines=guidelines, threshold=threshold, related=related
        )
        return [f for f in found if f.guideline in names]

    findings = findings_for(request)
    if not any(f.governing for f in findings):
        # no recommendation names the item as parsed: the words of the line that name one
        linked = link_item(request, store, embedder, threshold=threshold or MATCH_THRESHOLD)
        if linked is not None:
            request, findings = linked, findings_for(linked)
    governing, _, _ = choose_governing(findings)
    checks = []
    if governing is not None and governing.governing is not None:
        rec = governing.governing.recommendation
        if rec.direction is Direction.FOR:
            checks = check_criteria(rec, request, embedder=embedder)
    return decide(request, findings, checks)


def reason(
    request: str,
    summary: str,
    index: PassageIndex,
    *,
    embedder: Embeddings | None = None,
    filters: dict[str, str] | None = None,
) -> Reasoning:
    """`reason_about` a request line and case summary given as text."""
    from imr_assist.reasoning.request import parse_request

    return reason_about(parse_request(request, summary), index, embedder=embedder, filters=filters)
