"""How guidelines word a recommendation: the one strength vocabulary and the readers built on it.

`STRENGTH_LABELS` is the finite set of printed strength labels that imr-assist knows, from every
family of guideline it reads, each with the direction and normalised strength it states:

- GRADE grades and wording: "Strong for", "Weak against", "Neither for nor against",
  "we recommend (against)", "we suggest (against)", "there is insufficient evidence to recommend
  for or against" (VA/DoD and most GRADE guidelines);
- GRADE as WHO prints it: "strong / conditional recommendation (in favour of use | against use)",
  "good practice statement", "no recommendation";
- ACOEM / NYS WCB / ODG / MTUS labels: "Strongly / Moderately Recommended", "Recommended",
  "Recommended - in select patients", "Recommended as an option", "Optional", "Not Recommended",
  "Under study", "No recommendation".

Normalisation: STRONG is a guideline's unqualified or strongest level (GRADE strong, "we
recommend", plain "Recommended" / "Not recommended", "Strongly" and "Moderately" in ACOEM's
three-step scheme, a good practice statement); WEAK is a qualified or conditional one ("we
suggest", "conditional", "in select patients", "as an option", "Optional", "Recommended,
Insufficient Evidence (I)"); NONE goes with direction NEITHER (no recommendation, under study,
insufficient evidence). A label that states no direction ("conditional recommendation, low
certainty evidence") takes it from the statement through `text.polarity`. Evidence letters
("Evidence (B)", "Grade A") are kept in the printed strength text but never read on their own:
the same letter means different things in different schemes.

The other readers here (phase, population, interventions, acronyms) are small and pure; the
phase vocabulary is the `Phase` enum's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imr_assist.models import Direction, Strength
from imr_assist.reasoning.models import Phase
from imr_assist.text.polarity import ALLOWED_USE, QUALIFIED_USE, Polarity, polarity

_F, _A, _N = Direction.FOR, Direction.AGAINST, Direction.NEITHER
_S, _W, _0 = Strength.STRONG, Strength.WEAK, Strength.NONE

_USE = r"(?:\s+(?:of\s+)?(?:the\s+)?use)?"

STRENGTH_LABELS: tuple[tuple[str, Direction | None, Strength], ...] = (
    # direction neither: checked first, so "recommend for or against" never reads as "for"
    (r"neither\s+for\s+nor\s+against", _N, _0),
    (r"(?:there\s+is\s+)?insufficient\s+evidence\s+to\s+(?:make\s+a\s+)?recommend\w*"
     r"(?:\s+(?:either\s+)?for\s+or\s+against)?", _N, _0),
    (r"(?:there\s+is\s+)?no\s+recommendation", _N, _0),
    (r"under\s+study", _N, _0),
    # against
    (r"strong(?:ly)?\s+against|strong\s+recommendation\s+against" + _USE
     + r"|strongly\s+not\s+recommended|recommends?\s+against", _A, _S),
    (r"(?:weak|conditional)\s+against|(?:weak|conditional)\s+recommendation\s+against" + _USE
     + r"|suggests?\s+against", _A, _W),
    (r"(?:moderately\s+)?not\s+recommended", _A, _S),
    # GRADE words without a direction: the statement says which
    (r"strong\s+recommendation\s+(?:for|in\s+favou?r)" + _USE, _F, _S),
    (r"(?:weak|conditional)\s+recommendation\s+(?:for|in\s+favou?r)" + _USE, _F, _W),
    (r"strong\s+recommendation", None, _S),
    (r"(?:weak|conditional)\s+recommendation", None, _W),
    (r"good\s+practice\s+statement", None, _S),
    # for
    (r"strong\s+for|strongly\s+recommended|moderately\s+recommended", _F, _S),
    (r"weak\s+for", _F, _W),
    (r"we\s+recommend|recommends\b", _F, _S),
    (r"we\s+suggest|suggests\b", _F, _W),
    (r"recommended\s*[-–—,:]?\s*(?:(?:in|for)\s+(?:very\s+)?(?:select(?:ed)?|rare|certain)\b"
     r"(?:[\w\s-]{0,30}?\b(?:patients?|use|cases)\b)?|as\s+an\s+option)", _F, _W),
    (r"recommended,?\s+insufficient\s+evidence", _F, _W),
    (r"optional|an\s+option\b", _F, _W),
    (r"recommended", _F, _S),
)  # fmt: skip
_LABELS = tuple((re.compile(p, re.IGNORECASE), d, s) for p, d, s in STRENGTH_LABELS)

_LABEL_END_RE = re.compile(
    r"\s*(?:$|[-–—:.,;(|])|\s+(?:for|in|as|when|if|only|to|with|after|on|by)\b", re.IGNORECASE
)


_EVIDENCE_RE = re.compile(
    r"\s*,\s*(?:insufficient\s+|strong\s+|moderate\s+|limited\s+)?evidence\s*\(?[A-DI]\)?",
    re.IGNORECASE,
)
"""An evidence letter printed after a label ('Recommended, Evidence (C)'): kept in the text."""


@dataclass(frozen=True)
class Grade:
    """What a printed strength label states."""

    text: str
    """The label exactly as printed."""
    direction: Direction | None
    """None when the label does not say (read it from the statement: `direction_of`)."""
    strength: Strength


def leading_label(text: str) -> Grade | None:
    """The strength label a text opens with ('Recommended - in select patients ...',
    'Not Recommended', 'Optional.'); None when it opens with anything else ('Recommended
    interventions are ...' is not a label: a label ends the line or is followed by a dash,
    punctuation or a preposition)."""
    for pattern, direction, strength in _LABELS:
        match = pattern.match(text)
        if match and _LABEL_END_RE.match(text, match.end()):
            evidence = _EVIDENCE_RE.match(text, match.end())
            end = evidence.end() if evidence else match.end()
            return Grade(_printed(text, end), direction, strength)
    return None


def grade_of(text: str) -> Grade | None:
    """The first strength label found anywhere in `text`, in the vocabulary's order (for a
    grade in parentheses, a 'Strength of evidence' line or a GRADE sentence)."""
    for pattern, direction, strength in _LABELS:
        match = pattern.search(text)
        if match and not _NEGATED_BEFORE_RE.search(text, 0, match.start()):
            return Grade(" ".join(match.group(0).split()), direction, strength)
    return None


_NEGATED_BEFORE_RE = re.compile(r"\b(?:not|n't|never|no)\s+$", re.IGNORECASE)
"""'does not recommend against yoga' states no grade: the label after a negation is negated."""


def _printed(text: str, end: int) -> str:
    return " ".join(text[:end].split()).rstrip(" -–—,:")


_QUALIFIED_AGAINST_RE = re.compile(QUALIFIED_USE, re.IGNORECASE)
_CONDITIONAL_FOR_RE = re.compile(ALLOWED_USE, re.IGNORECASE)


def qualified_against(statement: str) -> bool:
    """'Not recommended as a primary treatment modality. A one-month home-based trial may be
    considered ... if used as an adjunct to ...': the negation restricts one use (primary,
    isolated, first-line, stand-alone) and a later clause allows another, under conditions
    (the extractor adds that clause to the statement: `allowing_sentence`). Such a statement
    recommends the allowed use conditionally (its conditions are criteria); 'Not recommended
    for routine use' and 'should not be used as part of routine care' stay against."""
    against = _QUALIFIED_AGAINST_RE.search(statement)
    return against is not None and bool(_CONDITIONAL_FOR_RE.search(statement, against.end()))


def allowing_sentence(statement: str, paragraph: str) -> str:
    """The sentence of `paragraph` after `statement` that allows a use its qualified negation
    does not exclude ('A one-month home-based TENS trial may be considered ...'); '' if none."""
    from imr_assist.text.sentences import split_sentences

    if not _QUALIFIED_AGAINST_RE.search(statement):
        return ""
    flat, said = " ".join(paragraph.split()), " ".join(statement.split())
    at = flat.find(said)
    if at < 0:
        return ""
    return next(
        (x for x in split_sentences(flat[at + len(said) :]) if _CONDITIONAL_FOR_RE.search(x)), ""
    )


def restricted_use(statement: str) -> str | None:
    """The use a qualified negation does not recommend ('isolated intervention' of 'not
    recommended as an isolated intervention'), lower-cased; None when there is none."""
    found = _QUALIFIED_AGAINST_RE.search(statement)
    return " ".join(found.group("use").lower().split()) if found else None


def asks_for_restricted_use(statement: str, request_text: str) -> bool:
    """The request asks for the very use a qualified negation does not recommend ('H-wave as
    an isolated intervention' under 'not recommended as an isolated intervention')."""
    use = restricted_use(statement)
    if use is None:
        return False
    said = " ".join(re.sub(r"[^a-z0-9]+", " ", request_text.lower()).split())
    return re.search(rf"\b{re.escape(re.sub(r'[^a-z0-9]+', ' ', use))}", said) is not None


def direction_of(grade: Grade, statement: str) -> Direction:
    """The direction a grade states, or else the one the statement states (`text.polarity`);
    a statement stating none is taken as 'for' (a good practice statement, 'WHO recommends').
    A qualified 'not recommended as a primary ..., but may be considered ...' is for
    (`qualified_against`)."""
    if grade.direction is Direction.AGAINST and qualified_against(statement):
        return Direction.FOR
    if grade.direction is not None:
        return grade.direction
    found = polarity(statement)
    if Polarity.NEUTRAL in found:
        return Direction.NEITHER
    if Polarity.NEGATIVE in found:
        return Direction.AGAINST
    return Direction.FOR


# --------------------------------------------------------------------------- population

_PHASE_CUES: tuple[tuple[re.Pattern[str], tuple[Phase, ...]], ...] = tuple(
    (re.compile(p, re.IGNORECASE), phases)
    for p, phases in (
        (r"\bnon-?\s?acute\b", (Phase.SUBACUTE, Phase.CHRONIC)),
        (r"\bsub-?\s?acute\b", (Phase.SUBACUTE,)),
        (
            r"\b(?:post|peri)-?\s?(?:operative(?:ly)?|surgical(?:ly)?|op)\b"
            r"|\bafter\s+(?:\w+\s+){0,2}(?:surgery|fusion|discectomy|arthroplasty|repair)\b",
            (Phase.POSTOPERATIVE,),
        ),
        (r"\bacute\b", (Phase.ACUTE,)),
        (r"\bchronic\b|\bpersistent\b", (Phase.CHRONIC,)),
    )
)


def strength_of(grade: Grade, statement: str) -> Strength:
    """The normalised strength: the grade's, except that a qualified 'not recommended as a
    primary ... may be considered' recommends conditionally (weak)."""
    if grade.direction is Direction.AGAINST and qualified_against(statement):
        return Strength.WEAK
    return grade.strength


def phases_of(text: str) -> list[Phase]:
    """Phases a population text names ('non-acute' = subacute and chronic); [any] if none.
    Each cue is masked once read, so 'non-acute' never also reads as 'acute'."""
    found: list[Phase] = []
    for pattern, phases in _PHASE_CUES:
        if pattern.search(text):
            found.extend(p for p in phases if p not in found)
            text = pattern.sub(" ", text)
    return sorted(found, key=list(Phase).index) or [Phase.ANY]


_WHO_RE = (
    r"(?:adults?|patients?|people|persons|individuals|workers|those|children|women|men"
    r"|older\s+(?:adults|people|patients))\b"
)
_POPULATION_RE = re.compile(
    rf"\b(?:for|in|among|to)\s+(?P<pop>(?:the\s+|all\s+|select(?:ed)?\s+)?(?:\w+\s+)?{_WHO_RE}"
    r"[^.;]*?)(?=,\s*(?:we|there|it)\b|,?\s+(?:we|there\s+is|is|are|should|may|can)\b|[.;:]\s"
    r"|[.;:]?$|\s\()",
    re.IGNORECASE,
)
_CONDITION_RE = re.compile(
    r"\b(?:for|in)\s+(?:the\s+)?(?:(?:treatment|management|prevention)\s+of\s+)?"
    r"(?P<pop>[^.;()]{0,80}?\b(?:pain|syndromes?|conditions?|injur(?:y|ies)|disorders?"
    r"|arthritis|tears?|deficits?|radiculopathy|stenosis|sciatica)\b)",
    re.IGNORECASE,
)


def population_of(statement: str) -> str:
    """Who a statement covers, as printed: 'patients with chronic low back pain', 'adults,
    including older people, with CPLBP', else the condition it treats ('acute back pain')."""
    first = next(iter(re.split(r"(?<=[.;])\s+(?=[A-Z])", statement.strip())), "")
    first = re.split(r":\s", first)[-1]  # after a citation's colon
    match = _POPULATION_RE.search(first) or _CONDITION_RE.search(first)
    return " ".join(match.group("pop").split()).strip(" ,") if match else ""


# --------------------------------------------------------------------------- interventions

_OBJECT_RE = re.compile(
    r"\b(?:recommend|suggest)s?\s+(?:(?:either\s+)?for\s+or\s+against\s+|against\s+|for\s+)?"
    r"(?:(?:the\s+)?(?:routine\s+)?(?:use\s+of|using|offering|providing|the)\s+)?(?P<obj>.+)",
    re.IGNORECASE | re.DOTALL,
)
_PREDICATE_RE = re.compile(
    r"\s(?:is|are|should|may)\s+(?:not\s+|only\s+|also\s+|generally\s+)?(?:be\s+)?"
    r"(?:recommended|suggested|offered|used|considered|an\s+option|optional|indicated)\b",
    re.IGNORECASE,
)
_NOT_A_SUBJECT_RE = re.compile(
    r"^(?:for|in|to|as|with|when|if|may|not|after|during|because|only|also|it|this|these|they"
    r"|that|which|there|such)\b",
    re.IGNORECASE,
)
_CLAUSE_END_RE = re.compile(
    r"\s(?:when|if|unless|where|because|since|after|before|until|in\s+(?:patients|people|adults"
    r"|those|the\s+absence|the\s+presence|the\s+treatment|the\s+management|managing)"
    r"|for\s+(?:patients|people|adults|those|the\s+(?:treatment|management)|treatment"
    r"|management|acute|chronic|subacute|non-acute)|to\s+(?:inform|improve|reduce|assist|help"
    r"|treat|manage|achieve)|as\s+(?:part|an?\b|the|first|second|adjunct)|with\s+or\s+without"
    r"|over\s+|rather\s+than|compared|for\s+example|such\s+as|including|particularly"
    r"|with\s+(?:at\s+least|an?\s|the\s))\b|,\s+(?:delivered|performed|given|provided|used)\b"
    r"|\s(?:is|are|was|were|has|have)\s|[.;:]\s|[.;:]$|\s\((?:e\.g\.|i\.e\.|see)",
    re.IGNORECASE,
)
_PRONOUN_RE = re.compile(r"^(?:it|this|these|they|that|which|there|such)\b", re.IGNORECASE)
_ARTICLE_RE = re.compile(r"^(?:(?:only|a|an|the|routine|any)\s+)+", re.IGNORECASE)
MAX_INTERVENTION_WORDS = 12


def intervention_phrases(statement: str) -> list[str]:
    """The treatment(s) a statement names: the object of 'we recommend / suggest (against)',
    else the subject of 'X is (not) recommended / may be offered / should not be used' (the
    clause after a citation's colon, without a leading 'for patients with ...,').
    A list ('cupping, laser therapy, TENS, and ultrasound') gives one phrase per item."""
    text = " ".join(re.sub(r"\*\*|__", "", statement).split())
    match = _OBJECT_RE.search(text)
    if match:
        return split_phrase(match.group("obj"))
    text = without_parentheses(text)
    predicate = _PREDICATE_RE.search(text)
    if predicate is None:
        return []
    subject = _strip_lead_clause(re.split(r"[:;]\s", text[: predicate.start()])[-1].strip())
    if _NOT_A_SUBJECT_RE.match(subject) or len(subject.split()) > 2 * MAX_INTERVENTION_WORDS:
        return []
    return split_phrase(subject)


def _strip_lead_clause(text: str) -> str:
    """'For patients with X, Y is recommended' -> 'Y is recommended'."""
    return re.sub(r"^(?:(?:for|in|among|or|and)\s[^,]{3,120},\s*)+", "", text, flags=re.IGNORECASE)


def split_phrase(phrase: str) -> list[str]:
    """A noun phrase cut at its first clause boundary, without parentheses, split on a
    comma-separated list; each piece at most `MAX_INTERVENTION_WORDS` words."""
    cut = _CLAUSE_END_RE.search(phrase)
    phrase = phrase[: cut.start()] if cut else phrase
    phrase = without_parentheses(phrase).strip(" ,.;:")
    if re.search(r",[^,]*\s(?:and|or)\s[^,]*$", phrase):  # a list: 'a, b, and c'
        parts = re.split(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+(?=[^,]*$)", phrase)
    else:
        parts = [phrase]
    out = []
    for part in parts:
        words = _ARTICLE_RE.sub("", part.strip()).split()
        if words:
            out.append(" ".join(words[:MAX_INTERVENTION_WORDS]))
    return list(dict.fromkeys(out))


def without_parentheses(text: str) -> str:
    """Text without its parenthesised parts ('program (e.g., aerobic, aquatic)' -> 'program')."""
    out, depth = [], 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return " ".join("".join(out).split())


# --------------------------------------------------------------------------- acronyms

_ACRONYM_RE = re.compile(r"\(([A-Z][A-Za-z]{1,7})\)")


def acronyms(text: str) -> dict[str, str]:
    """Acronyms a document defines, 'chronic primary low back pain (CPLBP)' -> {'CPLBP': ...}:
    the long form is the run of words before the parenthesis whose initials spell it."""
    found: dict[str, str] = {}
    for match in _ACRONYM_RE.finditer(text):
        short = match.group(1)
        letters = [c.lower() for c in short if c.isupper()] or [short[0].lower()]
        words = re.findall(r"[A-Za-z][\w-]*", text[max(0, match.start() - 120) : match.start()])
        for n in (len(letters), len(letters) + 1):
            if n <= len(words):
                candidate = words[-n:]
                initials = [w[0].lower() for w in candidate if w.lower() not in {"of", "and"}]
                if initials == letters:
                    found.setdefault(short, " ".join(candidate))
                    break
    return found


def expand_acronyms(text: str, table: dict[str, str]) -> str:
    """`text` with each defined acronym followed by its long form (for reading phases)."""
    if not table:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, table)) + r")\b")
    return pattern.sub(lambda m: f"{m.group(1)} ({table[m.group(1)]})", text)


__all__ = [
    "STRENGTH_LABELS",
    "Grade",
    "acronyms",
    "direction_of",
    "expand_acronyms",
    "grade_of",
    "intervention_phrases",
    "leading_label",
    "phases_of",
    "population_of",
    "split_phrase",
    "without_parentheses",
]
