"""Which recommendations govern a request: one row per loaded guideline, in authority order.

A recommendation is a candidate when its intervention means what the requested item means:
the embedding similarity of the item and each named intervention (so "Flexeril" finds a
cyclobenzaprine recommendation through the drug dictionary and "foam roller" a "home exercise
equipment" one through the encoder), or the item's canonical concept named in the statement.
Among a guideline's candidates the one whose population fits the request governs: an
acute-pain recommendation does not govern a chronic request when the guideline has a chronic
(or any-phase) one for the same intervention. Each guideline gets its own row, so a short
guideline loaded beside a long one is never drowned by it.

Within a guideline the candidates rank by: population fit; similarity (in steps of
SIMILARITY_STEP; an item named in so many words scores by how much of the heading it is, so a
variant that adds words the request lacks ranks below the item itself); phase (a recommendation
that fits only as a neighbouring phase comes last); clinical concepts of the case against the
recommendation's population, negation read on both sides (`concept_fit`); the case context by
embedding; strength. Only the words naming the item count as the reviewer's own words for it:
the rest of the request line is context.

Candidates and an `Embeddings` come in, `GuidelineFinding`s go out. `index` and
`retrieval` are reached only through the `RecommendationSource` protocol.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from langchain_core.embeddings import Embeddings

from imr_assist.index.embedding import embed_cached
from imr_assist.models import Direction, Strength, Tier
from imr_assist.reasoning.facts import read_facts
from imr_assist.reasoning.models import GuidelineFinding, Match, Phase, Recommendation, Request
from imr_assist.retrieval.authority import GUIDANCE_TIERS
from imr_assist.text.lexicon import CONTEXT_GROUPS, LEXICON, body_regions, expand_query
from imr_assist.text.tokens import stopwords

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


@functools.lru_cache(maxsize=65536)
def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9/]+", " ", text.lower()).split())


def _phrase_in(phrase: str, text: str) -> bool:
    p = _norm(phrase)
    return (
        bool(p)
        and re.search(rf"(?<![a-z0-9]){re.escape(p)}s?(?![a-z0-9])", _norm(text)) is not None
    )


@functools.lru_cache(maxsize=65536)
def _content_words(text: str) -> frozenset[str]:
    stop = stopwords()
    return frozenset(
        {w.rstrip("s") for w in _norm(text).split() if len(w) > 1 and not w.isdigit()} - stop
    )


@functools.lru_cache(maxsize=65536)
def _singular(text: str) -> str:
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _norm(text).split())


@functools.lru_cache(maxsize=65536)
def _alternatives(target: str) -> tuple[str, ...]:
    """The names a target gives: itself, without its parenthesised abbreviations, each
    abbreviation, and each of the interventions it joins ('MUA and Medication-Assisted Spinal
    Manipulation (MASM)' names 'MUA', 'MASM', 'Medication-Assisted Spinal Manipulation')."""
    bare = re.sub(r"\([^)]*\)", " ", target)
    inside = re.findall(r"\(([^)]*)\)", target)
    parts = [target, bare, *inside]
    # the interventions a name joins, outside and inside its parentheses ('Needling therapies
    # (traditional Chinese medicine acupuncture and other dry needling modalities)')
    for joined in (bare, *inside):
        parts += re.split(r"\s*(?:[,;/]|\band\b|\bor\b)\s*", joined)
    # modifiers joined by a slash share the head of the last one: 'Physical / Occupational
    # Therapy' names physical therapy, 'Transforaminal/Interlaminar/Caudal Epidural Injections'
    # interlaminar epidural injections
    for clause in re.split(r"\s*(?:[,;]|\band\b|\bor\b)\s*", bare):
        joined = [x.strip() for x in clause.split("/")]
        if len(joined) > 1 and len(last := joined[-1].split()) > 1:
            parts += [f"{x} {' '.join(last[1:])}" for x in joined[:-1] if x]
    return tuple(p for p in dict.fromkeys(x.strip() for x in parts) if p)


def named_overlap(phrase: str, target: str) -> float | None:
    """How closely a target names the item, when one contains the other in so many words:
    1.0 for the item itself; a more general topic ('Manipulation' for 'spinal manipulation')
    loses half a word per word it lacks, a variant that adds words the request does not have
    ('Medication-Assisted Spinal Manipulation') a whole word per added word. None when no
    name of the target contains the phrase or is contained in it."""
    a = _content_words(phrase)
    said = _singular(phrase)
    best: float | None = None
    for name in _alternatives(target):
        topic = _singular(name)
        # the phrase inside the name, or the name as the head of the phrase (English noun
        # phrases end with their head: 'Manipulation' heads 'spinal manipulation', while
        # 'Exercise' only modifies 'home exercise kit')
        if not topic or not (
            _phrase_in(said, topic) or said == topic or said.endswith(" " + topic)
        ):
            continue
        b = _content_words(name)
        shared = len(a & b)
        if not shared:
            continue
        score = shared / (shared + len(b - a) + 0.5 * len(a - b))
        best = score if best is None else max(best, score)
    return best


def item_phrases(request: Request, *, broad: bool = False) -> list[str]:
    """What the request asks for, as phrases to compare with interventions: the canonical item,
    its concepts and generic drug names with their drug class (guidelines name drugs by class:
    'opioids' for Norco), never the whole request line with its quantities. `broad` adds the
    lexicon's wider concepts ('home exercise program' for a kit), used only when no guideline
    names the item itself. Measured on the dev splits: the item's own words at the looser
    threshold find more right recommendations (Medrol Dosepak -> oral steroids, DRX9000 ->
    traction) than wrong ones (total knee arthroplasty -> knee fusion), so they stay."""
    phrases = [request.item or "", *request.concepts, *request.drugs]
    # the reviewer's own words for the item ('PRP', 'Norco') count as well as its canonical name;
    # only the words naming the item: the rest of the line is context ('TFESI ..., HNP on MRI'
    # does not ask for an MRI, 'SMT for chronic low back pain' does not ask about back pain)
    named = request.item_text if request.item_text is not None else request.text
    phrases += [surface for surface, _ in expand_query(named).matched]
    for drug in request.drugs:
        phrases += expand_query(drug).terms_added
    if broad:
        for phrase in list(phrases):
            phrases += expand_query(phrase).terms_added
    return list(dict.fromkeys(p.strip() for p in phrases if p and p.strip()))


_GENERIC_LABEL_RE = re.compile(
    r"^(?:rec(?:ommendation)?\.?\s*\d+\w*|[A-Z]?\.?\d+(?:\.\d+)*\w?)$", re.I
)


_EXAMPLE_CUE_RE = re.compile(
    r"(?:\be\.g\.|\bfor example\b|\bsuch as\b|\bincluding\b)\s*,?\s*", re.I
)
_EXAMPLE_END_RE = re.compile(r"\)|;|:|\.(?:\s|$)")
_CONJUNCTION_RE = re.compile(r"\s+(?:and|or)\s+", re.I)
_LEADING_CONJUNCTION_RE = re.compile(r"^(?:and|or)\s+", re.I)
_OR_RE = re.compile(r"\s+or\s+", re.I)
_ARTICLE_RE = re.compile(r"^(?:a|an|the)\s+", re.I)
_EXAMPLE_DROP_RE = re.compile(r"^(?:other|others|etc\.?|the like|similar)\b", re.I)
MAX_EXAMPLE_WORDS = 5


@functools.lru_cache(maxsize=8192)
def statement_examples(
    statement: str, interventions: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """(example, intervention) for the examples a statement lists right after naming one of its
    interventions: 'a structured exercise program (e.g., aerobic, aquatic, Pilates or yoga)'
    gives aerobic, aquatic, Pilates and yoga for 'structured exercise program'. The cues are
    English ('e.g.', 'for example', 'such as', 'including'), not one guideline's layout; a list
    elsewhere ('back pain ... including sciatica') names conditions, not examples."""
    out: list[tuple[str, str]] = []
    before_norm = [(i, _norm(i)) for i in interventions if _norm(i)]
    for cue in _EXAMPLE_CUE_RE.finditer(statement):
        before = _norm(statement[: cue.start()])
        named = next((i for i, n in before_norm if before.endswith(n)), None)
        if named is None:
            continue
        # the part of the intervention the list is attached to: 'predictive screening
        # instruments' of 'assessing psychosocial factors and using predictive screening ...'
        named = min(
            (a for a in _alternatives(named) if _norm(a) and before.endswith(_norm(a))),
            key=len,
            default=named,
        )
        rest = statement[cue.end() :]
        end = _EXAMPLE_END_RE.search(rest)
        listed = rest[: end.start()] if end else rest
        # 'a, b and c' splits at commas, 'a and b' at its conjunction; an example that joins
        # words by a conjunction itself ('mechanical diagnosis and therapy') is left out
        parts = listed.split(",") if "," in listed else _CONJUNCTION_RE.split(listed)
        if len(parts) > 1:  # '..., a walking program and tai chi': the last part both ways
            parts += _CONJUNCTION_RE.split(parts[-1])
        for part in (p for x in parts for p in _OR_RE.split(x)):  # 'or' joins alternatives
            part = _ARTICLE_RE.sub("", _LEADING_CONJUNCTION_RE.sub("", part.strip(" .")))
            words = part.split()
            if (
                words
                and not _EXAMPLE_DROP_RE.match(part)
                and words[0].lower() not in _span_stopwords()  # 'for acute pain' ends the list
                and not _CONJUNCTION_RE.search(part)  # 'diagnosis and therapy' would name 'therapy'
                and len(words) <= MAX_EXAMPLE_WORDS
            ):
                out.append((part, named))
    return tuple(dict.fromkeys(out))


def targets(rec: Recommendation) -> list[str]:
    """What a recommendation is about: its interventions, its label when the label names a
    topic (a section title such as 'Home exercise kits: an option'), not a bare number, and the
    examples its statement lists, alone and with the intervention they are examples of
    ('aquatic' and 'aquatic structured exercise program')."""
    out = list(rec.interventions)
    label = rec.label.strip()
    if label and not _GENERIC_LABEL_RE.match(label):
        out.append(label)
    for example, of in statement_examples(rec.statement, tuple(rec.interventions)):
        if len(example.split()) > 1:  # a single word ('therapy') is no name on its own
            out.append(example)
        out.append(f"{example} {of}")
    return list(dict.fromkeys(out)) or [rec.statement]


def similarity(
    request: Request, rec: Recommendation, embedder: Embeddings, *, broad: bool = False
) -> float:
    """How well a recommendation's intervention names the requested item, 0-1."""
    phrases = item_phrases(request, broad=broad)
    if not phrases:
        return 0.0
    aims = targets(rec)
    # by meaning, the item without the body region it is for: 'needling lumbar' reads like
    # 'lumbar supports' through 'lumbar' alone (a name shared in so many words still counts)
    sims = (
        embed_cached(embedder, [_without_region(p) for p in phrases])
        @ embed_cached(embedder, aims).T
    )
    semantic = float(sims.max()) if sims.size else 0.0
    overlaps = [o for p in phrases for t in aims if (o := named_overlap(p, t)) is not None]
    if overlaps:
        # named in so many words: at least CONCEPT_SIMILARITY, and among recommendations that
        # all name it the one whose topic is the item itself wins over a variant that adds
        # words the request does not have ('Manipulation' over 'Manipulation under anesthesia')
        named = CONCEPT_SIMILARITY + (1 - CONCEPT_SIMILARITY) * max(overlaps)
        return min(1.0, max(semantic, named))
    return semantic


_REGION_WORD_RE = re.compile(r"[A-Za-z][A-Za-z-]*")


@functools.lru_cache(maxsize=65536)
def _without_region(phrase: str) -> str:
    """The phrase without its body-region words, unless nothing else is left."""
    kept = [w for w in _REGION_WORD_RE.findall(phrase) if not body_regions(w)]
    return " ".join(kept) if kept else phrase


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
        asked = " or ".join(request.regions or [request.body_region or ""]).replace("_", " ")
        return False, f"it is about the {said}, the request the {asked}"
    return True, "the population fits"


_STRENGTH_ORDER = {Strength.STRONG: 2, Strength.WEAK: 1, Strength.NONE: 0}


SIMILARITY_STEP = 0.05
"""Similarities within one step are a tie, broken by how well the case context fits."""


def _rank_key(m: Match) -> tuple[bool, float, int]:
    bucket = round(m.similarity / SIMILARITY_STEP) * SIMILARITY_STEP
    return (m.population_fits, round(bucket, 2), _STRENGTH_ORDER[m.recommendation.strength])


def phase_rank(request: Request, rec: Recommendation) -> int:
    """1 when the recommendation names the request's phase or covers any phase (or the request
    states none), 0 when it fits only as a neighbouring phase: for an acute request an acute
    or any-phase recommendation comes before a 'non-acute' one that fits only because it also
    covers subacute pain. Exact and any-phase are not ranked against each other: which of those
    fits is the case's to say (concepts, then context)."""
    phases = set(rec.phases) or {Phase.ANY}
    if request.phase is None or request.phase is Phase.ANY:
        return 1
    return 1 if request.phase in phases or Phase.ANY in phases else 0


@functools.lru_cache(maxsize=4096)
def _said(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(concepts asserted, terms negated) of a recommendation's population and statement."""
    asserted: set[str] = set()
    negated: set[str] = set()
    for fact in read_facts(text, "recommendation"):
        negated |= set(fact.negated_terms)
        asserted |= {c for c in fact.concepts if c.lower() not in fact.negated_terms}
    return frozenset(asserted), frozenset(negated)


def concept_fit(request: Request, rec: Recommendation) -> int:
    """Agreement of the case's clinical concepts with a recommendation's population, negation
    read by NegEx on both sides: a case of sciatica fits 'acute severe radicular pain' and not
    'back pain without radicular pain'; 'no red flags' fits 'in the absence of red flags'. The
    item's own concepts are left out (every candidate names them)."""
    own = {c.lower() for c in [request.item or "", *request.concepts, *request.drugs] if c}
    case_asserted: set[str] = set()
    case_negated: set[str] = set()
    for fact in request.facts:
        if fact.hypothetical and fact.source != "request":
            continue
        case_negated |= set(fact.negated_terms)
        case_asserted |= {c.lower() for c in fact.concepts if c.lower() not in fact.negated_terms}
    case_asserted -= own
    case_negated -= own
    said, denied = _said(f"{'. '.join(rec.headings)}. {rec.population}. {rec.statement}")
    said_l = {c.lower() for c in said} - own
    denied_l = set(denied) - own
    agree = len(case_asserted & said_l) + len(case_negated & denied_l)
    clash = len(case_asserted & denied_l) + len(case_negated & said_l)
    return agree - clash


def region_fits(request: Request, rec: Recommendation) -> bool:
    """False when the recommendation is about a body region the request never names: the
    request's regions are all those its line names (a heel lift for a short leg and back pain
    is a low back request as well as a foot one)."""
    asked = set(request.regions) or ({request.body_region} if request.body_region else set())
    said = rec.body_region
    return not (asked and said and "general" not in asked | {said} and said not in asked)


def _about(rec: Recommendation) -> str:
    """What a recommendation is about, for comparing with the case: the sections it is filed
    under (the condition, in a section-numbered guideline), its label, population, statement."""
    return ". ".join(x for x in [*rec.headings, rec.label, rec.population, rec.statement] if x)


def _context_similarity(
    request: Request, matches: Sequence[Match], embedder: Embeddings
) -> dict[str, float]:
    """Similarity of the case (request line and the record's first facts) with each matched
    recommendation's label, population and statement: among recommendations that all name the
    item ('MRI' under several knee conditions), the one about this case's condition wins."""
    if len(matches) < 2:
        return {}
    case = " ".join([request.text, *(f.text for f in request.facts[:4])])
    texts = [_about(m.recommendation) for m in matches]
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
                phase_rank(request, m.recommendation),
                concept_fit(request, m.recommendation),
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


SPAN_MAX_WORDS = 4
"""Longest run of words tried as the item's name when the request line names no known item."""
SPAN_SEARCHES = 12
"""Spans searched in the recommendation store (the longest content spans first)."""
_SPAN_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'/-]*")


@functools.cache
def _span_stopwords() -> frozenset[str]:
    """spaCy's English stop words, ours, and the words that name no item ('please review')."""
    from spacy.lang.en.stop_words import STOP_WORDS

    from imr_assist.reasoning.request import FILLER

    return frozenset(STOP_WORDS) | stopwords() | FILLER


def item_spans(text: str) -> list[str]:
    """Runs of 1-SPAN_MAX_WORDS words of a request line that could name its item: not starting
    or ending with a function or filler word, not only numbers or body regions ('should I get
    an MRI' gives 'MRI', 'get'; 'put on bed rest' gives 'bed rest', 'rest', ...)."""
    words = _SPAN_WORD_RE.findall(text)
    stop = _span_stopwords()
    out: list[str] = []
    for n in range(SPAN_MAX_WORDS, 0, -1):
        for i in range(len(words) - n + 1):
            run = words[i : i + n]
            first, last = run[0].lower(), run[-1].lower()
            if first in stop or last in stop or len(last) < 2 or not run[0][0].isalpha():
                continue
            span = " ".join(run)
            if all(w.lower() in stop or body_regions(w) for w in run):
                continue
            out.append(span)
    return list(dict.fromkeys(out))


def _names_context(span: str, request: Request) -> bool:
    """The span names the condition or claim, or the surgery a post-operative request follows
    ('after lumbar fusion')."""
    groups = set(CONTEXT_GROUPS)
    if request.phase is Phase.POSTOPERATIVE or request.weeks_since_surgery is not None:
        groups.add("surgery")
    return any(
        (term := LEXICON.get(canonical)) is not None and term.group in groups
        for _, canonical in expand_query(span).matched
    )


def link_item(
    request: Request,
    source: RecommendationSource,
    embedder: Embeddings,
    *,
    where: dict[str, object] | None = None,
    threshold: float = MATCH_THRESHOLD,
) -> Request | None:
    """The request with its item named by the words of its line that name a recommendation's
    intervention, when the line parses no known item ('should I get an MRI' parses none; 'MRI'
    names the imaging recommendation): entity linking against the loaded guidelines'
    interventions. A span links by meaning (embedding similarity with a name the intervention
    gives) or by being one of those names exactly; a span naming the case's condition, claim
    or the surgery it follows is context, not the item. A request whose item the parser
    recognised (a lexicon concept, a drug) is never relinked: a guideline silent on Botox is
    silent, not a ruling on 'injections'. None when no span reaches `threshold`; among spans
    that do, the best, then the longest."""
    if request.drugs or (request.item and request.item in request.concepts):
        return None
    spans = [s for s in item_spans(request.text) if not _names_context(s, request)]
    if not spans:
        return None
    found: dict[str, Recommendation] = {}
    searched = [request.text, *sorted(spans, key=lambda s: -len(s.split()))[:SPAN_SEARCHES]]
    for text in searched:
        for rec, _ in source.search(text, 10, where):
            found.setdefault(rec.id, rec)
    if not found:
        return None
    # each name a target gives ('Mattresses' of 'Mattresses, Water Beds, and Sleeping Surfaces')
    names = list(
        dict.fromkeys(n for r in found.values() for t in targets(r) for n in _alternatives(t))
    )
    sims = embed_cached(embedder, spans) @ embed_cached(embedder, names).T
    exact = {_singular(n) for n in names}
    best: tuple[float, int, str] | None = None
    for i, span in enumerate(spans):
        score = 1.0 if _singular(span) in exact else float(sims[i].max())
        key = (round(score, 2), len(span.split()), span)
        if score >= threshold and (best is None or key[:2] > best[:2]):
            best = key
    return _with_item(request, best[2]) if best else None


def _with_item(request: Request, span: str) -> Request:
    concepts = [c for _, c in expand_query(span).matched]
    return request.model_copy(
        update={"item": span.lower(), "item_text": span, "concepts": concepts, "drugs": []}
    )


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value
