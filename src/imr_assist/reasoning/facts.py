"""Documented facts: the sentences of a case summary, read with clinical negation and drugs.

`read_facts(text)` gives one `Fact` per sentence (the one sentence splitter of `text/`): the
concepts it names (lexicon names; drugs as generics), the words and concepts a negation governs,
and whether it states a plan or request rather than what happened. `contradictions(facts)`
pairs the sentences that assert and deny the same concept.

Negation is per term, not per sentence: every content word and lexicon concept of a sentence
is a span that NegEx (negspaCy, a maintained clinical library, over spaCy tokens) marks, so
"completed 12 PT visits with no improvement in function" keeps PT asserted and negates
"improvement" and "function". A second NegEx pass with request / plan cues marks sentences that
state what is asked for (ConText's HYPOTHETICAL category, with the same scope rules). Drug names
go through drug-named-entity-recognition (brands to generics, offline), extended only by
`drug_combinations.tsv` for the combinations it lacks. Both parts load lazily, once per process
(`clinical_nlp`, `drug_finder`), and are injectable.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import TYPE_CHECKING

from imr_assist.reasoning.models import Fact
from imr_assist.text.lexicon import LEXICON, expand_query, normalize_request
from imr_assist.text.sentences import split_sentences
from imr_assist.text.tokens import stopwords

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

SURGERY = "surgery"
"""The concept every surgery also names, so 'no prior surgery' meets 's/p L4-5 fusion'."""
TREATMENT_GROUPS = frozenset(
    {"devices and equipment", "therapies", "injections and procedures", "surgery", "medications"}
)
"""Lexicon groups whose concepts are treatments (what `Request.tried` lists)."""

# NegEx configuration for UR records (negspaCy's en_clinical termset is the base).
_NEGATION_TERMSET = "en_clinical"
_EXTRA_NEGATIONS = ["lack of", "lacks", "unable to", "failed to", "none", "neither", "nor"]
# Radiology pseudo-negations that are real negations in a UR record: "no further improvement",
# "no change in function" deny improvement.
_NOT_PSEUDO = [
    "no further", "without further", "without any further", "no increase", "no change",
    "no significant change", "no definite change",
]  # fmt: skip
# A negation does not reach past these: "no improvement with PT" does not deny the PT.
_EXTRA_TERMINATIONS = ["with", "after", "despite", "following", "because", "due to", ";", "and"]
# Request / plan cues, scoped by the same NegEx machinery (ConText's HYPOTHETICAL category).
_PLAN_BEFORE = [
    "request for", "request", "requesting", "requests", "plan", "plans", "plan to", "will",
    "would", "recommend", "recommends", "proposed", "scheduled for", "candidate for",
    "consider", "considering", "pending", "if", "authorization for", "rfa for",
]  # fmt: skip
_PLAN_AFTER = [
    "requested", "is planned", "planned", "is recommended", "was recommended",
    "were recommended", "recommended", "pending", "proposed", "is being requested",
]  # fmt: skip

_COMBINATIONS_FILE = "drug_combinations.tsv"
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
_SURGERY_WORD_RE = re.compile(r"\b(?:surger(?:y|ies)|surgical|operations?)\b", re.I)
_HAD_RE = re.compile(
    r"\b(?:underwent|undergone|had|has had|received|being|"
    r"post[\s-]?op(?:erative(?:ly)?)?\s+(?:from|after|following))\s+",
    re.I,
)

# --------------------------------------------------------------------------- NLP parts


@functools.cache
def clinical_nlp() -> Language:
    """spaCy tokens with two NegEx passes: negation (`span._.negex`) and request / plan scope
    (`span._.plan`). Loaded once per process; no model is downloaded (a blank English
    tokenizer)."""
    import spacy
    from negspacy.negation import Negex  # noqa: F401  (registers the "negex" factory)
    from negspacy.termsets import termset

    negation = termset(_NEGATION_TERMSET)
    negation.remove_patterns({"pseudo_negations": _NOT_PSEUDO})
    negation.add_patterns(
        {"preceding_negations": _EXTRA_NEGATIONS, "termination": _EXTRA_TERMINATIONS}
    )
    base = negation.get_patterns()
    plan = {
        "pseudo_negations": [],
        "preceding_negations": _PLAN_BEFORE,
        "following_negations": _PLAN_AFTER,
        "termination": [t for t in base["termination"] if t != "and"],
    }
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("negex", config={"neg_termset": base})
    nlp.add_pipe("negex", name="plan", config={"neg_termset": plan, "extension_name": "plan"})
    return nlp


DrugFinder = Callable[[Sequence[str]], list[tuple[int, int, list[str]]]]
"""Drug mentions in a token list: (first token, end token, generic names)."""


@functools.cache
def drug_finder() -> DrugFinder:
    """Brand and generic drug names to generics: the combinations file first (Norco =
    hydrocodone + acetaminophen), then drug-named-entity-recognition. Loaded once (~3 s)."""
    from drug_named_entity_recognition import find_drugs

    combos = _combinations()
    longest = max((len(k) for k in combos), default=1)

    def find(tokens: Sequence[str]) -> list[tuple[int, int, list[str]]]:
        lower = [t.lower() for t in tokens]
        out: list[tuple[int, int, list[str]]] = []
        taken: set[int] = set()
        for n in range(longest, 0, -1):
            for i in range(len(lower) - n + 1):
                key = tuple(lower[i : i + n])
                if key in combos and not taken & set(range(i, i + n)):
                    out.append((i, i + n, list(combos[key])))
                    taken.update(range(i, i + n))
        rest = [t if i not in taken else "" for i, t in enumerate(tokens)]
        for data, start, end in find_drugs(rest, is_ignore_case=True):
            name = str(data.get("name") or data.get("matching_string") or "")
            out.append((start, end, _generic_names(name)))
        return sorted(out)

    return find


def _combinations() -> dict[tuple[str, ...], tuple[str, ...]]:
    text = resources.files(__package__).joinpath(_COMBINATIONS_FILE).read_text("utf-8")
    out: dict[tuple[str, ...], tuple[str, ...]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, generics = line.partition("\t")
        out[tuple(name.lower().split())] = tuple(g.strip().lower() for g in generics.split(","))
    return out


def _generic_names(name: str) -> list[str]:
    """'Hydrocodone' -> ['hydrocodone']; 'Buprenorphine/naloxone' -> both; qualifiers such as
    '(arthritis pain)' dropped."""
    name = re.sub(r"\s*\([^)]*\)", "", name).lower()
    return [part.strip() for part in name.split("/") if part.strip()]


# --------------------------------------------------------------------------- facts


def read_facts(
    text: str,
    source: str = "summary",
    *,
    nlp: Language | None = None,
    drugs: DrugFinder | None = None,
) -> list[Fact]:
    """One `Fact` per sentence of `text`: its concepts, its negated terms, whether it states a
    plan or request rather than what happened."""
    nlp = nlp or clinical_nlp()
    drugs = drugs or drug_finder()
    return [_fact(sentence, source, nlp, drugs) for sentence in split_sentences(text)]


def _fact(sentence: str, source: str, nlp: Language, drugs: DrugFinder) -> Fact:
    from spacy.util import filter_spans

    doc = nlp.make_doc(sentence)
    concept_spans = list(_concept_spans(doc))
    lexicon_at = {(s.start, s.end): s.kb_id_ for s in concept_spans}
    doc.ents = filter_spans([*_drug_spans(doc, drugs), *concept_spans, *_term_spans(doc)])
    doc = nlp(doc)
    concepts: list[str] = []
    negated: list[str] = []
    for ent in doc.ents:
        names = _names(ent, lexicon_at.get((ent.start, ent.end)))
        if ent.label_ != "TERM":
            concepts += [n for n in names if n not in concepts]
        if ent._.negex:
            negated += [ent.text.lower(), *names, *_also(names)]
    # A plan or request when most of what it names is in a plan cue's scope (its concepts,
    # else its words): "Acupuncture 6 sessions are requested for chronic low back pain."
    named = [e for e in doc.ents if e.label_ != "TERM"] or list(doc.ents)
    plans = sum(bool(e._.plan) for e in named)
    surgery = _surgery_span(sentence)
    if surgery is not None and SURGERY not in concepts:
        concepts.append(SURGERY)
        inside = [e for e in doc.ents if e.start_char < surgery[1] and e.end_char > surgery[0]]
        if inside and all(e._.negex for e in inside):
            negated.append(SURGERY)
    return Fact(
        text=sentence,
        negated=bool(negated),
        concepts=concepts,
        source=source,
        negated_terms=list(dict.fromkeys(negated)),
        hypothetical=bool(named) and plans * 2 >= len(named),
    )


def _char_span(doc: Doc, start: int, end: int, label: str, kb_id: str = "") -> Span | None:
    return doc.char_span(start, end, label=label, kb_id=kb_id, alignment_mode="expand")


def _concept_spans(doc: Doc) -> Iterable[Span]:
    """Lexicon concepts (the lexicon's own matching: guards, plurals, spacing)."""
    for surface, canonical in expand_query(doc.text).matched:
        for m in re.finditer(rf"(?<!\w){re.escape(surface)}(?!\w)", doc.text):
            span = _char_span(doc, m.start(), m.end(), "CONCEPT", canonical)
            if span is not None:
                yield span


def _drug_spans(doc: Doc, drugs: DrugFinder) -> Iterable[Span]:
    words = list(_WORD_RE.finditer(doc.text))
    for start, end, generics in drugs([w.group(0) for w in words]):
        span = _char_span(
            doc, words[start].start(), words[end - 1].end(), "DRUG", "/".join(generics)
        )
        if span is not None:
            yield span


def _term_spans(doc: Doc) -> Iterable[Span]:
    """Every content word, so that negation scope is known word by word."""
    from spacy.tokens import Span

    stop = stopwords()
    for token in doc:
        if token.is_alpha and len(token) > 1 and token.lower_ not in stop:
            yield Span(doc, token.i, token.i + 1, label="TERM")


def _names(ent: Span, lexicon_name: str | None) -> list[str]:
    """Concept names of an entity: the lexicon's name and, for a drug, its generics ('NSAIDs'
    stays NSAIDs and gains the dictionary's class name; Norco is hydrocodone + acetaminophen);
    a surgery also names `SURGERY`."""
    if ent.label_ == "TERM":
        return [SURGERY] if _SURGERY_WORD_RE.fullmatch(ent.text) else []
    names = [lexicon_name] if lexicon_name else []
    names += ent.kb_id_.split("/") if ent.label_ == "DRUG" else [ent.kb_id_]
    term = LEXICON.get(names[0])
    if term is not None and term.group == SURGERY:
        names.append(SURGERY)
    return list(dict.fromkeys(names))


def _also(names: list[str]) -> list[str]:
    """The lexicon's related terms of these concepts (TENS: 'transcutaneous electrical ...')."""
    return [a.lower() for n in names if (term := LEXICON.get(n)) for a in term.also]


def _surgery_span(sentence: str) -> tuple[int, int] | None:
    """Where the sentence names a surgery ('s/p L4-5 fusion', 'underwent a total knee
    arthroplasty', '2 back surgeries'), via the lexicon's surgery vocabulary."""
    name = surgery_mention(sentence)
    if name is None:
        return None
    at = sentence.lower().find(name.split()[0].lower())
    return (at, at + len(name)) if at >= 0 else (0, len(sentence))


def surgery_mention(sentence: str) -> str | None:
    """The surgery a sentence names, as written ('L4-5 fusion 9 months ago', 'lumbar fusion',
    'surgeries'), via the lexicon's surgery vocabulary and `normalize_request`; None if none."""
    facts = normalize_request(sentence)
    if facts.procedure:
        return facts.procedure
    for surface, canonical in expand_query(sentence).matched:
        if LEXICON[canonical].group == SURGERY:
            return surface
    if m := _HAD_RE.search(sentence):
        procedure = normalize_request("s/p " + sentence[m.end() :]).procedure
        if procedure:
            return procedure
    if m := _SURGERY_WORD_RE.search(sentence):
        return m.group(0).lower()
    return None


def contradictions(facts: Sequence[Fact]) -> list[str]:
    """Pairs of sentences where one asserts a concept the other denies ('completed 12 PT
    visits' vs 'has not started PT'; 'no prior surgery' vs 's/p L4-5 fusion'). Plans and
    requests never contradict; sentences about different body regions do not either."""
    out: list[str] = []
    stated = [f for f in facts if not f.hypothetical]
    regions = {id(f): normalize_request(f.text).body_region for f in stated}
    for i, a in enumerate(stated):
        for b in stated[i + 1 :]:
            ra, rb = regions[id(a)], regions[id(b)]
            if ra and rb and ra != rb:
                continue
            if _opposed(a, b) or _opposed(b, a):
                out.append(f"'{a.text}' vs '{b.text}'")
    return out


def _opposed(denies: Fact, asserts: Fact) -> bool:
    """`denies` negates a concept `asserts` holds, or the class of one it holds ('no NSAIDs'
    vs 'ibuprofen gave relief': the lexicon files ibuprofen under NSAIDs)."""
    denied = {c.lower() for c in denies.concepts if c in denies.negated_terms}
    held = [c for c in asserts.concepts if c not in asserts.negated_terms]
    parents = [a for c in held if (term := LEXICON.get(c)) for a in term.also]
    return bool(denied & {c.lower() for c in [*held, *parents]})


__all__ = [
    "SURGERY",
    "TREATMENT_GROUPS",
    "DrugFinder",
    "clinical_nlp",
    "contradictions",
    "drug_finder",
    "read_facts",
    "surgery_mention",
]
