"""The criteria checklist: each condition of the governing recommendation against the record.

`check_criteria(recommendation, request, embedder=...)` returns one `CriterionCheck` per
criterion and per limit, in the recommendation's order:

- A **criterion** ("documented functional improvement", "after a course of physical therapy")
  is compared with every documented sentence of the case summary (plans and requests are not
  documentation) by embedding similarity; both sides are first expanded with the lexicon's
  guideline names, so "completed 24 post-op PT visits" also reads "physical therapy". Below
  `MATCH_THRESHOLD` nothing in the record speaks to it: *not documented*. Otherwise the best
  sentence decides by polarity: the words the criterion and the sentence share are looked up in
  each side's NegEx scope (`Fact.negated_terms`), so "no documented functional improvement"
  does not meet "documented functional improvement" (*not met*), and "no early refills" meets
  "no aberrant behavior such as early refills" (*met*).
- A **limit** ("Maximum duration: 12 visits", "a maximum of ten treatments", "not more than
  seven days", "two to three times per week") is read into numbers and compared with the
  request's quantity, duration and frequency: within it *met*, beyond it *not met*, a request
  that states none of the limited amounts *not documented*.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from langchain_core.embeddings import Embeddings

from imr_assist.index.embedding import embed_cached
from imr_assist.reasoning.facts import read_facts
from imr_assist.reasoning.models import (
    CriterionCheck,
    CriterionStatus,
    Fact,
    Recommendation,
    Request,
)
from imr_assist.reasoning.request import NUMBER_RX, number_value
from imr_assist.text.lexicon import expand_query
from imr_assist.text.tokens import tokenize

if TYPE_CHECKING:
    from spacy.language import Language

    from imr_assist.reasoning.facts import DrugFinder

MATCH_THRESHOLD = 0.25
"""Cosine similarity (bundled MiniLM, lexicon-expanded texts) from which a case sentence speaks
to a criterion. Chosen on the dev split of eval/checklist (see eval/checklist/README.md)."""

DENIAL_MARGIN = 0.0
"""How far below the closest sentence a denying sentence may score and still decide *not
met*. Chosen on the dev splits: eval/checklist dev is the same for 0-1 (its summaries are 1-3
sentences); NYS drafting dev decision agreement 0.469 at 0.05-1.0, 0.500 at 0: the closest
sentence decides, a denial elsewhere in a long summary does not."""

_COUNT_UNITS = r"visits?|sessions?|treatments?|appointments?|injections?|class(?:es)?"
_TIME_UNITS = {"day": 1.0, "week": 7.0, "month": 30.0, "year": 365.0}
_COUNTED = frozenset({"sessions", "visits", "treatments", "classes", "injections", "units"})
"""Request units a visit / session / injection limit counts (None counts too: 'x6')."""
_CUE_RE = re.compile(
    r"\b(?:maximum|max\.?|up to|not more than|no more than|not greater than|not to exceed|"
    r"limited to|total of|at most)\b",
    re.I,
)
_NUM = rf"(?:{NUMBER_RX})"
_AMOUNT_RE = re.compile(
    rf"\b({_NUM})(?:\s*(?:to|-|–|or)\s*({_NUM}))?\s*"
    rf"(?:(?P<count>{_COUNT_UNITS})|(?P<time>day|week|month|year)s?)?\b",
    re.I,
)
_PER_WEEK_RE = re.compile(
    rf"\b({_NUM})(?:\s*(?:to|-|–|or)\s*({_NUM}))?\s*(?:times?|x|visits?|sessions?|treatments?)"
    r"\s*(?:per|a|/|each)\s*week\b",
    re.I,
)
_ANY_COUNT_UNIT_RE = re.compile(rf"\b(?:{_COUNT_UNITS})\b", re.I)
_CUE_REACH = 40
"""Characters after a cue in which its number must start ('a maximum of up to two months')."""


# --------------------------------------------------------------------------- entry point


def check_criteria(
    recommendation: Recommendation,
    request: Request,
    *,
    embedder: Embeddings,
    threshold: float = MATCH_THRESHOLD,
    nlp: Language | None = None,
    drugs: DrugFinder | None = None,
) -> list[CriterionCheck]:
    """Each criterion and limit of `recommendation` checked against the documented facts of
    `request`: met / not met / not documented, quoting the sentence that decided it."""
    checks = check_statements(
        recommendation.criteria, request, embedder=embedder, threshold=threshold, nlp=nlp,
        drugs=drugs,
    )  # fmt: skip
    limits = (check_limit(limit, request) for limit in recommendation.limits)
    return [*checks, *(c for c in limits if c is not None)]


def check_statements(
    criteria: Sequence[str],
    request: Request,
    *,
    embedder: Embeddings,
    threshold: float = MATCH_THRESHOLD,
    nlp: Language | None = None,
    drugs: DrugFinder | None = None,
) -> list[CriterionCheck]:
    """The criterion half of `check_criteria` (no limits)."""
    if not criteria:
        return []
    evidence = [f for f in request.facts if f.source == "summary" and not f.hypothetical]
    readings = [_merge(c, read_facts(c, "criterion", nlp=nlp, drugs=drugs)) for c in criteria]
    texts = [_expanded(t) for t in [*criteria, *(f.text for f in evidence)]]
    scores = _similarities(embedder, texts, len(criteria))
    stems = _stems([*texts, *(" ".join(r.negated_terms) for r in readings),
                    *(" ".join(f.negated_terms) for f in evidence)])  # fmt: skip
    n, m = len(criteria), len(evidence)
    words, crit_neg, fact_neg = stems[: n + m], stems[n + m : 2 * n + m], stems[2 * n + m :]
    out: list[CriterionCheck] = []
    for i, criterion in enumerate(criteria):
        matched = [j for j in np.argsort(-scores[i]) if scores[i][j] >= threshold] if m else []

        def contradicts(j: int, i: int = i) -> bool:
            return _contradicts(
                words[i], crit_neg[i], readings[i], words[n + j], fact_neg[j], evidence[j]
            )

        if not matched:
            out.append(CriterionCheck(criterion=criterion, status=CriterionStatus.NOT_DOCUMENTED))
            continue
        # A sentence that denies the criterion decides over one that meets it, when it speaks
        # to the criterion about as closely as the best one: a denial about something else
        # ('no prior back care' beside 'conservatively managed back pain patients') does not.
        close = [j for j in matched if scores[i][j] >= scores[i][matched[0]] - DENIAL_MARGIN]
        j = next((j for j in close if contradicts(j)), matched[0])
        out.append(
            CriterionCheck(
                criterion=criterion,
                status=CriterionStatus.NOT_MET if contradicts(j) else CriterionStatus.MET,
                evidence=evidence[j].text,
                score=round(float(scores[i][j]), 4),
            )
        )
    return out


def _contradicts(
    crit_words: frozenset[str],
    crit_negated: frozenset[str],
    criterion: Fact,
    fact_words: frozenset[str],
    fact_negated: frozenset[str],
    fact: Fact,
) -> bool:
    """True when the sentence and the criterion differ in polarity on what they share: the
    shared (stemmed) words are denied on one side only. Sharing no word, the sentences'
    own negation flags decide."""
    shared = crit_words & fact_words
    if not shared:
        return fact.negated != criterion.negated
    return bool(shared & fact_negated) != bool(shared & crit_negated)


def _merge(text: str, facts: list[Fact]) -> Fact:
    """A criterion read as one fact, whatever its sentences."""
    return Fact(
        text=text,
        negated=any(f.negated for f in facts),
        concepts=list(dict.fromkeys(c for f in facts for c in f.concepts)),
        source="criterion",
        negated_terms=list(dict.fromkeys(t for f in facts for t in f.negated_terms)),
    )


def _expanded(text: str) -> str:
    return expand_query(text).expanded


def _similarities(embedder: Embeddings, texts: list[str], n: int) -> np.ndarray:
    """Cosine similarity of each of the first `n` texts with each of the rest (unit vectors
    from the shared sentence cache: a recommendation's criteria are embedded once)."""
    vectors = embed_cached(embedder, texts).astype(float)
    return vectors[:n] @ vectors[n:].T


def _stems(texts: list[str]) -> list[frozenset[str]]:
    """Stemmed, stopworded words (the project's one tokenizer) of each text."""
    return [frozenset(tokens) for tokens in tokenize(texts)] if texts else []


# --------------------------------------------------------------------------- limits


class Limit(NamedTuple):
    """The numbers a limit sets; None where it sets none."""

    visits: float | None  # visits / sessions / treatments / injections
    days: float | None  # duration
    per_week: float | None  # frequency


def read_limit(text: str) -> Limit:
    """'a maximum of ten treatments' -> 10 visits; 'Maximum duration: Three months' -> 90 days;
    'two to three times per week' -> 3 a week; 'up to 12 to 15 (visits)' -> 15. When the text
    has a maximum cue ('maximum', 'up to', 'not more than', 'limited to'...) only the amounts
    right after a cue count, so 'three to six treatments needed to produce effect' is not read
    as a limit."""
    per_week = None
    for m in _PER_WEEK_RE.finditer(text):
        per_week = max(per_week or 0.0, number_value(m.group(2) or m.group(1)))
    cleaned = _PER_WEEK_RE.sub(" ", text)
    cues = [c.end() for c in _CUE_RE.finditer(cleaned)]
    count: float | None = None
    days: float | None = None
    for m in _AMOUNT_RE.finditer(cleaned):
        if cues and not any(0 <= m.start() - c <= _CUE_REACH for c in cues):
            continue
        value = number_value(m.group(2) or m.group(1))
        if m.group("time"):
            days = max(days or 0.0, value * _TIME_UNITS[m.group("time").lower()])
        elif m.group("count") or (cues and _bare_count(m, cleaned)):
            count = max(count or 0.0, value)
    return Limit(count, days, per_week)


def _bare_count(m: re.Match[str], text: str) -> bool:
    """'up to 12 to 15' with 'visits' elsewhere in the limit: a count without its unit (a
    lone number word such as 'a' never is one)."""
    numeric = m.group(1)[0].isdigit() or m.group(2) is not None
    return numeric and _ANY_COUNT_UNIT_RE.search(text) is not None


def check_limit(limit: str, request: Request) -> CriterionCheck | None:
    """One limit against the request's amounts (see `read_limit`); None for a limit that sets
    no number ('As needed use may be reasonable'): there is nothing to exceed."""
    spec = read_limit(limit)
    if all(value is None for value in spec):
        return None
    asked = _requested(request)
    pairs = [(a, b) for a, b in zip(asked, spec, strict=True) if a is not None and b is not None]
    if not pairs:
        return CriterionCheck(criterion=limit, status=CriterionStatus.NOT_DOCUMENTED, is_limit=True)
    within = all(a <= b for a, b in pairs)
    return CriterionCheck(
        criterion=limit,
        status=CriterionStatus.MET if within else CriterionStatus.NOT_MET,
        evidence=request.text,
        score=1.0,
        is_limit=True,
    )


def _requested(request: Request) -> Limit:
    """The request's count, days and frequency, comparable with a `Limit`."""
    counted = request.unit is None or request.unit in _COUNTED
    count = float(request.quantity) if request.quantity is not None and counted else None
    days = float(request.duration_days) if request.duration_days is not None else None
    if days is None and request.duration_weeks is not None:
        days = request.duration_weeks * 7.0
    if days is None and count and request.frequency_per_week:
        days = count / request.frequency_per_week * 7.0
    per_week = float(request.frequency_per_week) if request.frequency_per_week else None
    return Limit(count, days, per_week)


__all__ = [
    "MATCH_THRESHOLD",
    "Limit",
    "check_criteria",
    "check_limit",
    "check_statements",
    "read_limit",
]
