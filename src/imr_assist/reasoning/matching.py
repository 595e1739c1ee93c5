"""Which recommendations govern a request: one row per loaded guideline, in authority order.

A recommendation is a candidate when its intervention means what the requested item means:
the embedding similarity of the item and each named intervention (so "Flexeril" finds a
cyclobenzaprine recommendation through the drug dictionary and "foam roller" a "home exercise
equipment" one through the encoder), or the item's canonical concept named in the statement.
Among a guideline's candidates the one whose population fits the request governs: an
acute-pain recommendation does not govern a chronic request when the guideline has a chronic
(or any-phase) one for the same intervention. Each guideline gets its own row, so a short
guideline loaded beside a long one is never drowned by it.

Pure: candidates and an `Embeddings` come in, `GuidelineFinding`s go out. `index` and
`retrieval` are reached only through the `RecommendationSource` protocol.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from langchain_core.embeddings import Embeddings

from imr_assist.index.embedding import embed_cached
from imr_assist.models import Direction, Strength, Tier
from imr_assist.reasoning.models import GuidelineFinding, Match, Phase, Recommendation, Request
from imr_assist.retrieval.authority import GUIDANCE_TIERS
from imr_assist.text.lexicon import expand_query

MATCH_THRESHOLD = 0.75
"""Least similarity of the requested item and an intervention for a recommendation to name the
item. Chosen on the development splits only (eval/README.md, 'Reasoning')."""
RELATED_THRESHOLD = 0.55
"""Least similarity for a recommendation about a broader or related concept ('exercise' for a
home exercise kit): used only when no loaded guideline names the item itself."""
CONCEPT_SIMILARITY = 0.80
"""Similarity credited when the item's canonical concept is named in the statement itself."""
CANDIDATES = 40
"""Recommendations fetched per request before rescoring."""


class RecommendationSource(Protocol):
    """Where recommendation records come from (the index's companion store, or a list)."""

    def search(
        self, text: str, k: int, where: dict[str, object] | None = None
    ) -> list[tuple[Recommendation, float]]: ...


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9/]+", " ", text.lower()).split())


def _phrase_in(phrase: str, text: str) -> bool:
    p = _norm(phrase)
    return (
        bool(p)
        and re.search(rf"(?<![a-z0-9]){re.escape(p)}s?(?![a-z0-9])", _norm(text)) is not None
    )


def item_phrases(request: Request, *, broad: bool = False) -> list[str]:
    """What the request asks for, as phrases to compare with interventions: the canonical item,
    its concepts and generic drug names with their drug class (guidelines name drugs by class:
    'opioids' for Norco), never the whole request line with its quantities. `broad` adds the
    lexicon's wider concepts ('home exercise program' for a kit), used only when no guideline
    names the item itself."""
    phrases = [request.item or "", *request.concepts, *request.drugs]
    # the reviewer's own words for the item ('PRP', 'Norco') count as well as its canonical name
    phrases += [surface for surface, _ in expand_query(request.text).matched]
    for drug in request.drugs:
        phrases += expand_query(drug).terms_added
    if broad:
        for phrase in list(phrases):
            phrases += expand_query(phrase).terms_added
    return list(dict.fromkeys(p.strip() for p in phrases if p and p.strip()))


_GENERIC_LABEL_RE = re.compile(
    r"^(?:rec(?:ommendation)?\.?\s*\d+\w*|[A-Z]?\.?\d+(?:\.\d+)*\w?)$", re.I
)


def targets(rec: Recommendation) -> list[str]:
    """What a recommendation is about: its interventions and its label when the label names a
    topic (a section title such as 'Home exercise kits: an option'), not a bare number."""
    out = list(rec.interventions)
    label = rec.label.strip()
    if label and not _GENERIC_LABEL_RE.match(label):
        out.append(label)
    return out or [rec.statement]


def similarity(
    request: Request, rec: Recommendation, embedder: Embeddings, *, broad: bool = False
) -> float:
    """How well a recommendation's intervention names the requested item, 0-1."""
    phrases = item_phrases(request, broad=broad)
    if not phrases:
        return 0.0
    sims = embed_cached(embedder, phrases) @ embed_cached(embedder, targets(rec)).T
    semantic = float(sims.max()) if sims.size else 0.0
    if any(_phrase_in(p, " ".join(targets(rec))) for p in phrases):
        # named in so many words: at least CONCEPT_SIMILARITY, and among recommendations that
        # all name it ('Manipulation' vs 'Manipulation under anesthesia') the closer one wins
        return min(1.0, max(semantic, CONCEPT_SIMILARITY + (1 - CONCEPT_SIMILARITY) * semantic))
    return semantic


_PHASE_NEIGHBOURS = {
    Phase.SUBACUTE: {Phase.SUBACUTE, Phase.ACUTE, Phase.CHRONIC},
    Phase.ACUTE: {Phase.ACUTE, Phase.SUBACUTE},
    Phase.CHRONIC: {Phase.CHRONIC, Phase.SUBACUTE},
    Phase.POSTOPERATIVE: {Phase.POSTOPERATIVE},
}


def population_fits(request: Request, rec: Recommendation) -> tuple[bool, str]:
    """(fits, reason): phase and body region of the request against the recommendation's."""
    phases = set(rec.phases) or {Phase.ANY}
    phase = request.phase
    if (
        phase
        and Phase.ANY not in phases
        and phase is not Phase.ANY
        and not phases & _PHASE_NEIGHBOURS.get(phase, {phase})
    ):
        covered = ", ".join(sorted(p.value for p in phases))
        return False, f"it covers {covered} conditions, the request is {phase.value}"
    if not region_fits(request, rec):
        said = (rec.body_region or "").replace("_", " ")
        return False, f"it is about the {said}, the request the " + (
            request.body_region or ""
        ).replace("_", " ")
    return True, "the population fits"


_STRENGTH_ORDER = {Strength.STRONG: 2, Strength.WEAK: 1, Strength.NONE: 0}


SIMILARITY_STEP = 0.05
"""Similarities within one step are a tie, broken by how well the case context fits."""


def _rank_key(m: Match) -> tuple[bool, float, int]:
    bucket = round(m.similarity / SIMILARITY_STEP) * SIMILARITY_STEP
    return (m.population_fits, round(bucket, 2), _STRENGTH_ORDER[m.recommendation.strength])


def region_fits(request: Request, rec: Recommendation) -> bool:
    """False when the recommendation is about another body region than the request."""
    asked, said = request.body_region, rec.body_region
    return not (asked and said and "general" not in (asked, said) and asked != said)


def _context_similarity(
    request: Request, matches: Sequence[Match], embedder: Embeddings
) -> dict[str, float]:
    """Similarity of the case (request line and the record's first facts) with each matched
    recommendation's label, population and statement: among recommendations that all name the
    item ('MRI' under several knee conditions), the one about this case's condition wins."""
    if len(matches) < 2:
        return {}
    case = " ".join([request.text, *(f.text for f in request.facts[:4])])
    texts = [
        f"{m.recommendation.label}. {m.recommendation.population}. {m.recommendation.statement}"
        for m in matches
    ]
    sims = embed_cached(embedder, texts) @ embed_cached(embedder, [case])[0]
    return {m.recommendation.id: float(x) for m, x in zip(matches, sims, strict=True)}


def find_findings(
    request: Request,
    candidates: Iterable[tuple[Recommendation, float]],
    embedder: Embeddings,
    *,
    guidelines: Sequence[tuple[str, str, Tier]] = (),
    threshold: float = MATCH_THRESHOLD,
    broad: bool = False,
) -> list[GuidelineFinding]:
    """One finding per guideline, in authority order.

    `candidates` are recommendation records (with the store's score, used only for recall);
    `guidelines` lists every loaded guideline as (name, doc_id, tier) so that one without a
    candidate is reported silent rather than left out."""
    by_guideline: dict[str, list[Match]] = {}
    meta: dict[str, tuple[str, Tier]] = {name: (doc, tier) for name, doc, tier in guidelines}
    seen: set[str] = set()
    for rec, _score in candidates:
        if rec.id in seen:
            continue
        seen.add(rec.id)
        sim = similarity(request, rec, embedder, broad=broad)
        if sim < threshold:
            continue
        fits, why = population_fits(request, rec)
        by_guideline.setdefault(rec.guideline, []).append(
            Match(recommendation=rec, similarity=round(sim, 4), population_fits=fits, reason=why)
        )
        meta.setdefault(rec.guideline, (rec.doc_id, rec.tier))
    context = _context_similarity(
        request, [m for ms in by_guideline.values() for m in ms], embedder
    )
    findings = []
    for name, (doc_id, tier) in meta.items():
        matches = sorted(
            by_guideline.get(name, []),
            key=lambda m: (
                *_rank_key(m)[:2],
                context.get(m.recommendation.id, 0.0),
                _rank_key(m)[2],
            ),
            reverse=True,
        )
        # a recommendation about another body region never governs this request
        eligible = [m for m in matches if region_fits(request, m.recommendation)]
        governing = eligible[0] if eligible else None
        if governing is not None:
            governing = governing.model_copy(update={"reason": _why_governs(governing, matches)})
            doc_id = governing.recommendation.doc_id
        findings.append(
            GuidelineFinding(
                guideline=name,
                doc_id=doc_id,
                tier=tier,
                governing=governing,
                others=[m for m in matches if m is not (eligible[0] if eligible else None)][:4],
                silent=governing is None,
            )
        )
    order = {t: i for i, t in enumerate(GUIDANCE_TIERS)}
    findings.sort(
        key=lambda f: (
            order.get(f.tier, len(order)),
            f.silent,
            -(f.governing.similarity if f.governing else 0.0),
            f.guideline,
        )
    )
    return findings


def _why_governs(best: Match, matches: list[Match]) -> str:
    rec = best.recommendation
    if not best.population_fits:
        return (
            f"closest recommendation, although {best.reason}; no recommendation of this "
            "guideline covers the request's population"
        )
    passed = [m for m in matches[1:] if not m.population_fits]
    if passed:
        other = passed[0].recommendation
        return (
            f"{rec.label} covers the request's population; {other.label} was passed over because "
            f"{passed[0].reason}"
        )
    return f"{rec.label} names the requested item and its population fits"


def stance_direction(finding: GuidelineFinding | None) -> Direction | None:
    """The direction of a finding's governing recommendation (None when silent)."""
    if finding is None or finding.governing is None:
        return None
    return finding.governing.recommendation.direction


def gather_findings(
    request: Request,
    source: RecommendationSource,
    embedder: Embeddings,
    *,
    guidelines: Sequence[tuple[str, str, Tier]] = (),
    where: dict[str, object] | None = None,
    threshold: float | None = None,
    related: float | None = None,
) -> list[GuidelineFinding]:
    """Fetch candidates from `source` for each item phrase, then `find_findings`: first for the
    item itself (a close match), and only when no guideline names it, for its broader concept
    (a looser one)."""
    for broad in (False, True):
        texts = item_phrases(request, broad=broad) or [request.text]
        candidates: list[tuple[Recommendation, float]] = []
        for text in texts[:6]:
            candidates += source.search(text, CANDIDATES, where)
        findings = find_findings(
            request,
            candidates,
            embedder,
            guidelines=guidelines,
            broad=broad,
            threshold=_pick(threshold, MATCH_THRESHOLD)
            if not broad
            else _pick(related, RELATED_THRESHOLD),
        )
        if any(f.governing is not None for f in findings):
            return findings
    return findings


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value
