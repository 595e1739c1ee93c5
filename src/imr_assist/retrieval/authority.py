"""Order evidence by the medical evidence search sequence (8 CCR 9792.21.1).

MTUS first (presumed correct), then ACOEM/ODG and other nationally recognised guidelines, then
other evidence-based guidelines, then studies. Prior determinations are precedent, kept apart.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from imr_assist.models import Hit, Tier

GUIDANCE_TIERS = (Tier.MTUS, Tier.GUIDELINE, Tier.OTHER_GUIDELINE, Tier.STUDY)
TIER_LABELS = {
    Tier.MTUS: "MTUS",
    Tier.GUIDELINE: "ACOEM/ODG and other nationally recognised guidelines",
    Tier.OTHER_GUIDELINE: "other evidence-based guidelines",
    Tier.STUDY: "peer-reviewed studies",
    Tier.PRIOR_DETERMINATION: "prior determinations",
}


class TierGroup(BaseModel):
    """The hits of one authority tier, in retrieval order."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier = Field(description="Authority tier")
    label: str = Field(description="Readable name of the tier")
    hits: list[Hit] = Field(description="Hits of this tier, best first")


class AuthorityView(BaseModel):
    """Evidence grouped tier by tier, with the highest tier that addresses the request."""

    model_config = ConfigDict(extra="forbid")

    groups: list[TierGroup] = Field(description="Guidance tiers in order of authority")
    precedent: list[Hit] = Field(description="Prior determinations, apart from the guidance")
    highest_tier: Tier | None = Field(
        description="Highest tier addressing the request (None: nothing relevant)"
    )
    sequence_note: str = Field(description="What the order of authority means for this request")


def order_by_authority(hits: list[Hit], highest_tier: Tier | None) -> AuthorityView:
    """Group hits by tier in the legal order; say truthfully where the sequence stopped."""
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
        sequence_note=sequence_note(highest_tier),
    )


def sequence_note(highest_tier: Tier | None) -> str:
    """The sentence a rationale uses to say how far down the sequence it had to go."""
    if highest_tier is None:
        return "None of the loaded guidelines addresses this request."
    if highest_tier is Tier.MTUS:
        return "The MTUS addresses this request and governs it."
    skipped = [TIER_LABELS[t] for t in GUIDANCE_TIERS if t.rank < highest_tier.rank]
    if len(skipped) == 1:
        head = f"The {skipped[0]} does not specifically address this request"
    else:
        head = f"Neither the {', the '.join(skipped[:-1])} nor the {skipped[-1]} specifically "
        head += "addresses this request"
    return f"{head}; {TIER_LABELS[highest_tier]} were consulted (8 CCR 9792.21.1)."
