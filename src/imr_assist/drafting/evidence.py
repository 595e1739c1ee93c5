"""Gather the evidence for a request tier by tier, in the order of authority.

For each guidance tier (MTUS, ACOEM/ODG, other guidelines, studies) the retriever is asked with
that tier as a filter; a tier *addresses* the request when one of its top passages names the
requested item in a sentence that is not a statement of silence ("does not specifically
address home exercise kits"). The first tier that addresses it governs; the silent tiers above
it are recorded with the passage that says so, so the rationale can state it truthfully.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from imr_assist.models import Hit, Passage, SearchResult, Tier
from imr_assist.reasoning.models import Reasoning
from imr_assist.retrieval.authority import GUIDANCE_TIERS, sequence_note
from imr_assist.retrieval.hybrid import HybridRetriever, groups_found, item_groups
from imr_assist.retrieval.precedent import Precedent, find_precedent
from imr_assist.text.sentences import split_sentences

SILENCE_RE = re.compile(
    r"\b(?:does|do|did) not (?:specifically )?(?:address|specify|mention|discuss|cover)\b|"
    r"\bis silent\b|\bno specific (?:criteria|guidance|recommendation)\b|\bnot addressed\b",
    re.IGNORECASE,
)


@dataclass
class TierEvidence:
    """What one tier says about the item."""

    tier: Tier
    hits: list[Hit]
    addressing: list[tuple[Hit, str]] = field(default_factory=list)  # (hit, sentence)
    silence: list[tuple[Hit, str]] = field(default_factory=list)

    @property
    def addresses(self) -> bool:
        return bool(self.addressing)


@dataclass
class Evidence:
    """Everything a drafter may use, with the ids it may cite."""

    request: str
    result: SearchResult
    tiers: list[TierEvidence]
    governing: TierEvidence | None
    precedent: Precedent
    index_hash: str
    extra: list[Hit] = field(default_factory=list)
    """Passages of the recommendations the reasoning rests on, fetched by id (citable too)."""
    reasoning: Reasoning | None = None
    """The structured decision (set by the chain; the LLM drafter writes from it)."""
    excluded_tiers: list[Tier] = field(default_factory=list)
    """Guidance tiers the reviewer's tier filter kept out of the search (never called silent)."""

    @property
    def governing_tier(self) -> Tier | None:
        """The tier the decision rests on: the reasoning's when there is one."""
        if self.reasoning is not None:
            gov = self.reasoning.governing
            return gov.tier if gov is not None else None
        return self.governing.tier if self.governing else None

    @property
    def sequence_note(self) -> str:
        return sequence_note(self.governing_tier, self.excluded_tiers)

    @property
    def hits(self) -> list[Hit]:
        """Every hit a drafter may cite, de-duplicated, in authority order."""
        seen: dict[str, Hit] = {}
        for tier in self.tiers:
            for hit in tier.hits:
                seen.setdefault(hit.passage.id, hit)
        for hit in [*self.result.hits, *self.extra]:
            seen.setdefault(hit.passage.id, hit)
        return list(seen.values())


# A digest's own reading of a guideline ("What a reviewer looks for (application notes, not
# guideline text)") is context for the reviewer, never the guideline's words: it neither
# addresses an item for its tier nor speaks for the tier's silence.
NOTES_SECTION_RE = re.compile(
    r"application notes|not guideline text|reviewer notes|our notes", re.IGNORECASE
)


def is_notes(passage: Passage) -> bool:
    """True for a passage from a section of notes about a guideline rather than its text."""
    return bool(NOTES_SECTION_RE.search(f"{passage.section or ''} {passage.heading}"))


def _tier_evidence(tier: Tier, hits: list[Hit], request: str, strict: bool) -> TierEvidence:
    key = item_groups(request, strict=strict)[:1]
    evidence = TierEvidence(tier=tier, hits=hits)
    for hit in hits:
        if is_notes(hit.passage):
            continue
        for sentence in split_sentences(hit.passage.text):
            if key and not groups_found(key, [sentence]):
                continue
            target = evidence.silence if SILENCE_RE.search(sentence) else evidence.addressing
            target.append((hit, sentence))
    return evidence


def gather_evidence(
    retriever: HybridRetriever,
    request: str,
    *,
    filters: dict[str, str] | None = None,
    per_tier: int = 5,
    k: int = 20,
) -> Evidence:
    """Search the request overall (gate, precedent) and tier by tier (authority).

    `filters` (the reviewer's: guideline, body region, kind, tier, ...) narrow every search; a
    tier filter keeps only those tiers in the order of authority, the others count as silent.
    Precedent is looked up unfiltered: similar prior requests matter whatever is filtered."""
    base = dict(filters or {})
    wanted = set(base.pop("tier").split("|")) if "tier" in base else None
    with retriever.reusing_vectors():
        result = retriever.search(request, k=k, filters=filters or None)
        hits_by_tier = {
            tier: retriever.search(request, k=per_tier, filters={**base, "tier": tier.value}).hits
            if wanted is None or tier.value in wanted
            else []
            for tier in GUIDANCE_TIERS
        }
        # First the item itself ('home exercise kit'); only if no tier names it, the broader
        # concept ('home exercise program', 'opioids' for Norco).
        for strict in (True, False):
            tiers = [_tier_evidence(t, h, request, strict) for t, h in hits_by_tier.items()]
            governing = next((t for t in tiers if t.addresses), None) if result.relevant else None
            if governing is not None:
                break
        precedent = find_precedent(retriever, request)
    return Evidence(
        request=request,
        result=result,
        tiers=tiers,
        governing=governing,
        precedent=precedent,
        index_hash=retriever.settings.index_hash,
        excluded_tiers=[t for t in GUIDANCE_TIERS if wanted is not None and t.value not in wanted],
    )
