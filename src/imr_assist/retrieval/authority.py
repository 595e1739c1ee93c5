"""Order evidence by the medical evidence search sequence (8 CCR 9792.21.1).

MTUS first (presumed correct), then ACOEM/ODG and other nationally recognised guidelines, then
other evidence-based guidelines, then studies. Prior determinations are precedent, kept apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import Field

from imr_assist.models import DocumentHits, Hit, Passage, StrictModel, Tier

GUIDANCE_TIERS = (Tier.MTUS, Tier.GUIDELINE, Tier.OTHER_GUIDELINE, Tier.STUDY)
TIER_LABELS = {
    Tier.MTUS: "MTUS",
    Tier.GUIDELINE: "ACOEM/ODG and other nationally recognised guidelines",
    Tier.OTHER_GUIDELINE: "other evidence-based guidelines",
    Tier.STUDY: "peer-reviewed studies",
    Tier.PRIOR_DETERMINATION: "prior determinations",
}


class TierGroup(StrictModel):
    """The hits of one authority tier, in retrieval order."""

    tier: Tier = Field(description="Authority tier")
    label: str = Field(description="Readable name of the tier")
    hits: list[Hit] = Field(description="Hits of this tier, best first")


class AuthorityView(StrictModel):
    """Evidence grouped tier by tier, with the highest tier that addresses the request."""

    groups: list[TierGroup] = Field(description="Guidance tiers in order of authority")
    precedent: list[Hit] = Field(description="Prior determinations, apart from the guidance")
    highest_tier: Tier | None = Field(
        description="Highest tier addressing the request (None: nothing relevant)"
    )
    sequence_note: str = Field(description="What the order of authority means for this request")


def order_by_authority(
    hits: list[Hit], highest_tier: Tier | None, excluded: Iterable[Tier] = ()
) -> AuthorityView:
    """Group hits by tier in the legal order; say truthfully where the sequence stopped
    (`excluded`: tiers a filter kept out of the search)."""
    groups = [
        TierGroup(tier=t, label=TIER_LABELS[t], hits=[h for h in hits if h.passage.tier is t])
        for t in GUIDANCE_TIERS
    ]
    groups = [g for g in groups if g.hits]
    precedent = [h for h in hits if h.passage.tier is Tier.PRIOR_DETERMINATION]
    return AuthorityView(
        groups=groups,
        precedent=precedent,
        highest_tier=highest_tier,
        sequence_note=sequence_note(highest_tier, excluded),
    )


def sequence_note(highest_tier: Tier | None, excluded: Iterable[Tier] = ()) -> str:
    """The sentence a rationale uses to say how far down the sequence it had to go.

    A tier in `excluded` (the reviewer's tier filter kept it out of the search) is never said
    to be silent: the note says it was filtered out and not checked."""
    left_out = set(excluded)
    if highest_tier is Tier.MTUS:
        return "The MTUS addresses this request and governs it."
    above = [t for t in GUIDANCE_TIERS if highest_tier is None or t.rank < highest_tier.rank]
    silent = [t for t in above if t not in left_out]
    filtered = _filtered_note([t for t in above if t in left_out])
    if highest_tier is None:
        if not filtered:
            return "None of the loaded guidelines addresses this request."
        if not silent:
            return (
                "Every guideline tier was filtered out of this search, so whether any guideline "
                "addresses the request was not checked."
            )
        return f"None of the guidelines searched addresses this request. {filtered}"
    consulted = f"{TIER_LABELS[highest_tier]} were consulted (8 CCR 9792.21.1)."
    if not silent:
        return f"{filtered} {consulted[:1].upper()}{consulted[1:]}"
    note = f"{_silent(silent)}; {consulted}"
    return f"{note} {filtered}" if filtered else note


_SHORT = {
    Tier.MTUS: "the MTUS",
    Tier.GUIDELINE: "ACOEM/ODG",
    Tier.OTHER_GUIDELINE: "other evidence-based guidelines",
    Tier.STUDY: "peer-reviewed studies",
}


def _silent(tiers: list[Tier]) -> str:
    """'The MTUS does not specifically address this request' (or 'Neither ... nor ...')."""
    if len(tiers) == 1:
        verb = "does" if tiers[0] is Tier.MTUS else "do"
        return f"The {TIER_LABELS[tiers[0]]} {verb} not specifically address this request"
    names = [f"the {TIER_LABELS[t]}" for t in tiers]
    return f"Neither {', '.join(names[:-1])} nor {names[-1]} specifically addresses this request"


def _filtered_note(tiers: list[Tier]) -> str:
    """'The MTUS was filtered out of this search, so whether it addresses the request was not
    checked.' ('' for none)."""
    if not tiers:
        return ""
    names = [_SHORT[t] for t in tiers]
    head = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    one = len(tiers) == 1 and tiers[0] in {Tier.MTUS, Tier.GUIDELINE}
    return (
        f"{head[:1].upper()}{head[1:]} {'was' if one else 'were'} filtered out of this search, "
        f"so whether {'it addresses' if one else 'they address'} the request was not checked."
    )


def group_by_document(
    hits: list[Hit], addresses: Callable[[Passage], bool], per_document: int
) -> list[DocumentHits]:
    """Each document's best `per_document` hits (in the order given), one group per document:
    the documents that address the request first, then the others; within each, in the order
    of authority (prior determinations last), then by their best rank. Every loaded document
    that addresses the item gets its own row, however short it is."""
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        group = groups.setdefault(hit.passage.doc_id, [])
        if len(group) < per_document:
            group.append(hit)
    out = [
        DocumentHits(
            doc_id=doc_id,
            source_title=group[0].passage.source_title,
            guideline=group[0].passage.guideline,
            tier=group[0].passage.tier,
            kind=group[0].passage.kind,
            addresses=any(addresses(h.passage) for h in group),
            hits=group,
        )
        for doc_id, group in groups.items()
    ]
    out.sort(key=lambda g: (not g.addresses, g.tier.rank, g.hits[0].rank))
    return out
