"""The one body-region vocabulary: what readers assign, requests name, filters and the UI offer.

A guideline's `body_region` is set by its front matter or read from its title
(`region_of_title`); a request's by `text.lexicon.normalize_request`. Both use these names, and
the workspace offers exactly these, so a region filter can match what was indexed.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

BodyRegion = Literal[
    "low_back", "cervical", "thoracic", "knee", "shoulder", "hip", "wrist_hand", "ankle_foot",
    "elbow", "general",
]  # fmt: skip
"""'general' covers the whole body (chronic pain, opioids): it never mismatches a request."""

BODY_REGIONS: tuple[BodyRegion, ...] = get_args(BodyRegion)
SPECIFIC_REGIONS: tuple[BodyRegion, ...] = tuple(r for r in BODY_REGIONS if r != "general")
"""The regions a request can name (every one but 'general')."""

_TITLES: tuple[tuple[BodyRegion, str], ...] = (
    ("low_back", r"low back|lumbar|lumbosacral"),
    ("cervical", r"\bneck\b|cervical"),
    ("knee", r"\bknee"),
    ("shoulder", r"shoulder"),
    ("hip", r"\bhip\b"),
    ("wrist_hand", r"hand|wrist|carpal"),
    ("ankle_foot", r"ankle|\bfoot\b"),
    ("elbow", r"elbow"),
)
_TITLE_PATTERNS = tuple((region, re.compile(p, re.IGNORECASE)) for region, p in _TITLES)


def region_of_title(title: str) -> BodyRegion | None:
    """The region a guideline title names ('... Low Back Pain' -> low_back); None unless exactly
    one region is named."""
    found = [region for region, pattern in _TITLE_PATTERNS if pattern.search(title)]
    return found[0] if len(found) == 1 else None


__all__ = ["BODY_REGIONS", "SPECIFIC_REGIONS", "BodyRegion", "region_of_title"]
