"""The one polarity reader: does a sentence recommend, recommend against, or find the evidence
insufficient? Pure functions, used by readers, the composer and the verifier alike.

`polarity(text)` returns every direction the text states, read from one ordered table of cues.
A cue that matches is masked before the next is tried, so "insufficient evidence to recommend
for or against" is neutral only and "not recommended" negative only; double negatives ("not
unwarranted") read positive, and "it is not the case that ..." flips the rest. The table covers
the wordings of the guidelines imr-assist reads: GRADE ("we suggest against", "Strong for",
"conditional recommendation against"), the NYS/ACOEM ("Recommended - in select patients",
"Not Recommended"), the MTUS and ODG ("an option", "may be considered", "not medically
necessary", "does not meet the criteria").

`stance(text)` is the single direction a drafter acts on: neutral wins over negative, negative
over positive. `grade_from_wording(statement)` reads GRADE direction and strength from a
recommendation's wording ("we suggest against ..." -> against, weak).
"""

from __future__ import annotations

import re
from enum import StrEnum

from imr_assist.models import Direction, Stance, Strength


class Polarity(StrEnum):
    """Direction a sentence gives a treatment."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


_FLIP_RE = re.compile(r"\bit\s+is\s+not\s+(?:true|the\s+case|correct|accurate)\s+that\b")
_ADV = r"(?:\w+ly\s+)?"
_NEUTRAL = (
    r"\b(?:insufficient|inconclusive|conflicting|inadequate)\s+evidence\b"
    r"(?:\s+to\s+(?:recommend|suggest|support)(?:\s+(?:either\s+)?for\s+or\s+against)?)?"
    r"|\bneither\s+for\s+nor\s+against\b|\b(?:recommend|suggest)\w*\s+(?:either\s+)?for\s+or"
    r"\s+against\b|\bfor\s+or\s+against\b|\binconclusive\b|\bno\s+recommendation\b"
    r"|\black\s+of\s+(?:\w+\s+)?evidence\b|\bn(?:o|')t\s+(?:recommend|suggest)\w*\s+against\b"
    r"|\bevidence\s+is\s+(?:limited|mixed)\b"
)
_DOUBLE_NEGATIVE = r"\bnot\s+un(?:supported|necessary|warranted|reasonable)\b"
QUALIFIED_USE = (
    r"\bnot\s+recommended\s+as\s+(?:an?\s+|the\s+)?(?P<use>(?:primary|isolated|sole"
    r"|stand-?\s?alone|first[-\s]line|only|single|initial)\s+[a-z]+)"
)
"""'not recommended as a primary treatment ...': a negation that restricts one use."""
ALLOWED_USE = (
    r"\b(?:may|can|could|might)\s+be\s+(?:considered|recommended|appropriate|indicated|tried)\b"
    r"|\b(?:is|are)\s+recommended\s+(?:as\s+an?\s+(?:adjunct|option)|for\s+select)"
    r"|\bas\s+an?\s+(?:option|adjunct)\b"
)
"""A clause allowing another use under conditions ('a one-month trial may be considered')."""
# both in one sentence: the sentence as a whole recommends the allowed use (conditionally)
_QUALIFIED = rf"{QUALIFIED_USE}[^.;]*?(?:{ALLOWED_USE})"
_NEGATIVE = (
    rf"\b(?:not|n't|never|cannot)\s+(?:be\s+|been\s+)?{_ADV}(?:be\s+)?(?:considered\s+|deemed\s+)?"
    r"(?:recommend(?:ed|s)?|suggest(?:ed|s)?|support(?:ed|s)?|indicated|medically\s+necessary"
    r"|warranted|endorsed?|covered|certified)\b|\b(?:recommend|suggest|advise)\w*\s+against\b"
    r"|\b(?:unsupported|unwarranted|medically\s+unnecessary)\b"
    r"|\bshould\s+not\s+be\s+(?:used|offered|performed|ordered|prescribed|obtained)\b"
    r"|\bdoes\s+not\s+meet\s+(?:the\s+)?criteria\b|\bnot\s+an?\s+option\b"
)
_POSITIVE = (
    rf"\brecommend(?:s|ed)?\b|\bsuggests?\b(?!\s+that)|\b(?:is|are)\s+{_ADV}suggested\b"
    rf"|\bmedically\s+necessary\b|\b(?:is|are|be|been|remains?)\s+{_ADV}"
    r"(?:supported|indicated|warranted)\b|\bsupports?\s+(?:the\s+)?(?:use|request)\b"
    r"|\bmay\s+be\s+considered\b|\ban\s+option\b|\boptional\b|\bmeets\s+the\s+criteria\b"
)
_CUES: tuple[tuple[re.Pattern[str], Polarity], ...] = (
    # neutral first, so that its "recommend" never reads as positive; then the double negatives,
    # so that "not unwarranted" never reads as negative
    (re.compile(_NEUTRAL), Polarity.NEUTRAL),
    (re.compile(_DOUBLE_NEGATIVE), Polarity.POSITIVE),
    (re.compile(_QUALIFIED), Polarity.POSITIVE),
    (re.compile(_NEGATIVE), Polarity.NEGATIVE),
    (re.compile(_POSITIVE), Polarity.POSITIVE),
)
_SWAP = {Polarity.POSITIVE: Polarity.NEGATIVE, Polarity.NEGATIVE: Polarity.POSITIVE}


def polarity(text: str) -> frozenset[Polarity]:
    """Directions the text states; double negatives ("not unwarranted") count as positive."""
    text = text.lower()
    flip = bool(_FLIP_RE.search(text))
    text = _FLIP_RE.sub(" ", text)
    found: set[Polarity] = set()
    for pattern, pol in _CUES:
        if pattern.search(text):
            found.add(pol)
            text = pattern.sub(" ", text)
    return frozenset(_SWAP.get(p, p) for p in found) if flip else frozenset(found)


_STANCES = (
    (Polarity.NEUTRAL, Stance.INSUFFICIENT_EVIDENCE),
    (Polarity.NEGATIVE, Stance.NOT_RECOMMENDED),
    (Polarity.POSITIVE, Stance.RECOMMENDED),
)


def stance_of_directions(directions: frozenset[Polarity]) -> Stance | None:
    """The one direction acted on: neutral wins over negative, negative over positive."""
    return next((s for p, s in _STANCES if p in directions), None)


def stance(text: str) -> Stance | None:
    """Direction of a guideline sentence (None when it states none); see `polarity`."""
    return stance_of_directions(polarity(text))


# GRADE wording: the phrases that make a statement a graded recommendation. "Recommend" is the
# strong form, "suggest" the weak one; the direction of each phrase is read by `polarity`.
_GRADE_PHRASE_RE = re.compile(
    r"insufficient evidence to recommend for or against|neither for nor against"
    r"|\b(?:recommend|suggest)(?:s|ed)? against\b|\b(?:is|are) not recommended\b"
    r"|\bwe (?:recommend|suggest)(?: against)?\b|\b(?:is|are) recommended\b|\bis suggested\b"
)
_DIRECTIONS = {
    Stance.INSUFFICIENT_EVIDENCE: Direction.NEITHER,
    Stance.NOT_RECOMMENDED: Direction.AGAINST,
    Stance.RECOMMENDED: Direction.FOR,
}


def grade_from_text(grade: str) -> tuple[Direction, Strength]:
    """A printed GRADE label: 'Weak against' -> (against, weak); 'Neither for nor against' ->
    (neither, none)."""
    g = " ".join(grade.lower().split())
    if g.startswith("neither"):
        return Direction.NEITHER, Strength.NONE
    strength = Strength.STRONG if g.startswith("strong") else Strength.WEAK
    direction = Direction.AGAINST if g.endswith("against") else Direction.FOR
    return direction, strength


def grade_from_wording(statement: str) -> tuple[Direction, Strength] | None:
    """Direction and strength of a recommendation from its GRADE wording: 'we suggest against
    ...' -> (against, weak), 'X is recommended' -> (for, strong), 'insufficient evidence to
    recommend for or against' -> (neither, none); None when the statement has no GRADE wording.
    """
    phrases = _GRADE_PHRASE_RE.findall(" ".join(statement.lower().split()))
    read = [(stance(p), p) for p in phrases]
    found = stance_of_directions(frozenset().union(*(polarity(p) for p in phrases)))
    if found is None:
        return None
    direction = _DIRECTIONS[found]
    if direction is Direction.NEITHER:
        return direction, Strength.NONE
    strong = any(s is found and "recommend" in p for s, p in read)
    return direction, Strength.STRONG if strong else Strength.WEAK


__all__ = [
    "Polarity",
    "grade_from_text",
    "grade_from_wording",
    "polarity",
    "stance",
    "stance_of_directions",
]
