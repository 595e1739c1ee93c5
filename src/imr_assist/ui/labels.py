"""Words a physician reads for the values the code carries: one place, every page uses it.

Internal tokens (`not_medically_necessary`, `other_guideline`) never reach the screen or an
exported letter; a value without a label here shows as its words ("some_value" -> "Some value").
"""

from __future__ import annotations

from enum import Enum

from imr_assist.models import (
    Decision,
    Direction,
    DraftDecision,
    Kind,
    Stance,
    Strength,
    Tier,
    Verdict,
)

_LABELS: dict[Enum, str] = {
    Tier.MTUS: "MTUS",
    Tier.GUIDELINE: "ACOEM / ODG",
    Tier.OTHER_GUIDELINE: "Other guideline",
    Tier.STUDY: "Peer-reviewed study",
    Tier.PRIOR_DETERMINATION: "Prior determination",
    Kind.GUIDELINE: "Guideline",
    Kind.DETERMINATION: "Determination",
    Kind.STUDY: "Study",
    Decision.UPHELD: "Upheld (not medically necessary)",
    Decision.OVERTURNED: "Overturned (medically necessary)",
    DraftDecision.MEDICALLY_NECESSARY: "Medically necessary",
    DraftDecision.NOT_MEDICALLY_NECESSARY: "Not medically necessary",
    DraftDecision.INSUFFICIENT_INFORMATION: "Insufficient information to decide",
    Stance.RECOMMENDED: "Recommended",
    Stance.NOT_RECOMMENDED: "Not recommended",
    Stance.INSUFFICIENT_EVIDENCE: "Insufficient evidence",
    Stance.NOT_ADDRESSED: "Not addressed",
    Direction.FOR: "for",
    Direction.AGAINST: "against",
    Direction.NEITHER: "neither for nor against",
    Strength.STRONG: "strong",
    Strength.WEAK: "weak",
    Strength.NONE: "no strength stated",
    Verdict.SUPPORTED: "Supported",
    Verdict.WEAK: "Weakly supported",
    Verdict.UNSUPPORTED: "Unsupported",
    Verdict.UNCITED: "Uncited claim",
    Verdict.NOT_CHECKED: "Not a claim",
}


def label(value: Enum | str | None) -> str:
    """The reader's words for an enum value (or a raw token); '' for None."""
    if value is None:
        return ""
    if isinstance(value, Enum) and value in _LABELS:
        return _LABELS[value]
    raw = value.value if isinstance(value, Enum) else value
    for enum_value, words in _LABELS.items():
        if enum_value.value == raw and isinstance(value, str) and not isinstance(value, Enum):
            return words
    text = str(raw).replace("_", " ").strip()
    return text[:1].upper() + text[1:]
