"""The typed request: one requested item and what the case summary documents about it.

`parse_request(request, summary)` reads a request line ("Norco 10/325 #90", "PT 2x6 lumbar
s/p fusion 9 months ago") and the case summary into one `Request`: the item and its concepts
(lexicon names, drugs as generics), body region, phase, surgery and post-operative timing,
quantity / frequency / duration, treatments already tried, one `Fact` per sentence (read by
`facts.py`: clinical negation, plans, drugs) and the pairs of sentences that contradict each
other.

It reuses rather than repeats the domain lexicon and `normalize_request` (`text/lexicon.py`)
for items, quantities, regions, acuity words and surgeries. What it adds is time: durations
("3 months", "since 2019", "s/p fusion 9 months ago", dates, "POD 3") measured to `as_of`, and
the phase they put the request in (`POSTOP_WINDOW_WEEKS`, `ACUTE_MAX_WEEKS`,
`SUBACUTE_MAX_WEEKS`).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import TYPE_CHECKING

from imr_assist.reasoning.facts import (
    SURGERY,
    TREATMENT_GROUPS,
    DrugFinder,
    clinical_nlp,
    contradictions,
    drug_finder,
    read_facts,
    surgery_mention,
)
from imr_assist.reasoning.models import Fact, Phase, Request
from imr_assist.text.lexicon import (
    LEXICON,
    RequestFacts,
    body_regions,
    expand_query,
    normalize_request,
)
from imr_assist.text.tokens import stopwords

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)

POSTOP_WINDOW_WEEKS = 26
"""A request within this many weeks of surgery is post-operative: the longest postsurgical
physical medicine treatment period of the MTUS Postsurgical Treatment Guidelines (6 months, e.g.
lumbar fusion). Past it the chronic-pain guidance applies, so the phase comes from durations."""
ACUTE_MAX_WEEKS = 4
"""Symptoms up to 4 weeks old are acute (ACOEM, VA/DoD: acute < 4 weeks)."""
SUBACUTE_MAX_WEEKS = 12
"""Up to 12 weeks subacute, beyond that chronic (ACOEM, VA/DoD: chronic > 12 weeks / 3 months)."""

FILLER = frozenset(
    "please review request requested requesting authorization authorize item items service "  # noqa: SIM905
    "services treatment treatments care medical necessity necessary rfa retro retrospective "
    "dated date dos follow up".split()
)
"""Words that name no item: 'please review', 'Request for authorization'."""

_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "  # noqa: SIM905
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"a": 1, "an": 1, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
NUMBER_RX = r"\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
"""A number as digits or as an English word ('three sessions', 'a month')."""
_DAYS = {"day": 1.0, "week": 7.0, "wk": 7.0, "month": 30.0, "mo": 30.0, "year": 365.0, "yr": 365.0}
_SPAN_RE = re.compile(rf"\b({NUMBER_RX})[\s-]*(day|week|wk|month|mo|year|yr)s?\b", re.I)
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DATE_RE = re.compile(
    r"\b(?:(\d{1,2})/(\d{1,2})/((?:19|20)\d\d)|(\d{1,2})/((?:19|20)\d\d)|((?:19|20)\d\d)-(\d\d)-(\d\d)"
    r"|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+((?:19|20)\d\d)"
    r"|((?:19|20)\d\d))\b",
    re.I,
)
_AGO_RE = re.compile(rf"\b({NUMBER_RX})[\s-]*(day|week|wk|month|mo|year|yr)s?\s+ago\b", re.I)
_POSTOP_SPAN_RE = re.compile(
    rf"\b({NUMBER_RX})[\s-]*(day|week|wk|month|mo|year|yr)s?\s+"
    r"(?:post[\s-]?op\w*|status[\s-]post|s/p|after|since|following|out from)",
    re.I,
)
_POD_RE = re.compile(r"\b(?:POD|post[\s-]?op(?:erative)? day)\s*#?\s*(\d+)\b", re.I)
_DURATION_RE = re.compile(  # a treatment duration on the request line: "for 5 days", "x 1 month"
    rf"(?:\bfor|\bx|\bover)\s*({NUMBER_RX})[\s-]*(day|week|wk|month|mo)s?\b", re.I
)
_SYMPTOM_RE = re.compile(r"\b(?:pain|symptoms?|complain\w*|onset|injur\w*|hurt)\b", re.I)
_SINCE_RE = re.compile(r"\bsince\b", re.I)
_INJURY_DATE_RE = re.compile(r"\b(?:DOI|date of injury|injur\w*)\b", re.I)
_NON_ACUTE_RE = re.compile(r"\bnon[\s-]?acute\b", re.I)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")


def _surgery_name(sentence: str) -> str | None:
    """The surgery a sentence names, without its timing: 'fusion' of 'fusion 9 months ago'."""
    mention = surgery_mention(sentence)
    return _clean_surgery(mention) if mention is not None else None


def _clean_surgery(text: str) -> str:
    text = _AGO_RE.sub("", _SPAN_RE.sub("", text))
    text = re.sub(r"\b(?:a|an|the|times?\s*\d+|x\s*\d+|ago|on|in)\b", " ", text, flags=re.I)
    return " ".join(text.split()).strip(" ,.;") or "surgery"


# --------------------------------------------------------------------------- time


def number_value(word: str) -> float:
    """'12' -> 12.0, 'three' -> 3.0, 'a' -> 1.0 (see `NUMBER_RX`)."""
    return float(word) if word[0].isdigit() else float(_NUMBER_WORDS[word.lower()])


def _span_days(number: str, unit: str) -> float:
    return number_value(number) * _DAYS[unit.lower()]


def _dates(text: str) -> list[date]:
    out: list[date] = []
    for m in _DATE_RE.finditer(text):
        g = m.groups()
        try:
            if g[0]:
                out.append(date(int(g[2]), int(g[0]), int(g[1])))
            elif g[3]:
                out.append(date(int(g[4]), int(g[3]), 15))
            elif g[5]:
                out.append(date(int(g[5]), int(g[6]), int(g[7])))
            elif g[8]:
                out.append(date(int(g[9]), _MONTHS.index(g[8][:3].lower()) + 1, 15))
            elif g[10]:
                out.append(date(int(g[10]), 7, 1))
        except ValueError:  # "13/45/2020" is not a date
            continue
    return out


def _weeks_before(text: str, as_of: date) -> float | None:
    """How long ago `text` places its event: 'N units ago', 'N weeks post-op', 'POD 3', a date."""
    if m := _AGO_RE.search(text) or _POSTOP_SPAN_RE.search(text):
        return _span_days(m.group(1), m.group(2)) / 7
    if m := _POD_RE.search(text):
        return int(m.group(1)) / 7
    past = [d for d in _dates(text) if d <= as_of]
    return (as_of - max(past)).days / 7 if past else None


def _symptom_weeks(text: str, as_of: date) -> float | None:
    """How long the condition has lasted, from one sentence: 'pain for 3 months', 'since 2019',
    'injured on 07/06/2006', 'back pain began two weeks ago'."""
    if not _SYMPTOM_RE.search(text) and not _has_diagnosis(text):
        return None
    found: list[float] = []
    if _SINCE_RE.search(text) or _INJURY_DATE_RE.search(text) or _AGO_RE.search(text):
        weeks = _weeks_before(text, as_of)
        if weeks is not None:
            found.append(weeks)
    for m in _SPAN_RE.finditer(text):
        after = text[m.end() : m.end() + 40]
        if _AGO_RE.match(text, m.start()) or _names_treatment(after):
            continue
        found.append(_span_days(m.group(1), m.group(2)) / 7)
    return max(found) if found else None


def _has_diagnosis(text: str) -> bool:
    return any(LEXICON[c].group == "diagnoses" for _, c in expand_query(text).matched)


def _names_treatment(text: str) -> bool:
    """'8 weeks of physical therapy' is a treatment's duration, not the condition's."""
    words = text.split()[:4]
    return any(
        LEXICON[c].group in TREATMENT_GROUPS for _, c in expand_query(" ".join(words)).matched
    )


def _phase_of_weeks(weeks: float) -> Phase:
    if weeks <= ACUTE_MAX_WEEKS:
        return Phase.ACUTE
    return Phase.SUBACUTE if weeks <= SUBACUTE_MAX_WEEKS else Phase.CHRONIC


def _acuity(text: str) -> Phase | None:
    if _NON_ACUTE_RE.search(text):
        return Phase.CHRONIC
    acuity = normalize_request(text).acuity
    return Phase(acuity) if acuity else None


# --------------------------------------------------------------------------- the request


def parse_request(
    request: str,
    summary: str = "",
    *,
    nlp: Language | None = None,
    drugs: DrugFinder | None = None,
    as_of: date | None = None,
) -> Request:
    """The typed request for one requested line item and its case summary.

    `nlp` and `drugs` default to the process-wide `clinical_nlp()` and `drug_finder()`;
    `as_of` (default today) is the date durations such as 'since 2019' are measured to.
    """
    nlp = nlp or clinical_nlp()
    drugs = drugs or drug_finder()
    as_of = as_of or date.today()
    text = " ".join(request.split())
    line = _line_facts(text)
    request_facts = read_facts(text, "request", nlp=nlp, drugs=drugs)
    facts = read_facts(summary, "summary", nlp=nlp, drugs=drugs)
    evidence = [f for f in facts if not f.hypothetical]

    item_text = without_question_frame(line.item or "")
    generics, drug_words = _drugs_in(item_text or text, drugs)
    concepts = _item_concepts(item_text, generics)
    canonical = without_question_frame(line.canonical_item) if line.canonical_item else None
    item = _item(canonical, item_text or None, generics, drug_words)

    surgery, weeks_since = _surgery(text, evidence, as_of)
    quantity, unit, per_week, weeks, days = _amounts(text, line)
    region = line.body_region or next(
        (r for f in evidence if (r := normalize_request(f.text).body_region)), None
    )
    return Request(
        text=text,
        item=item,
        item_text=item_text or None,
        concepts=concepts,
        drugs=generics,
        body_region=region,
        regions=body_regions(text) or ([region] if region else []),
        phase=_phase(text, line.post_operative, evidence, weeks_since, as_of),
        surgery=surgery,
        weeks_since_surgery=round(weeks_since, 1) if weeks_since is not None else None,
        quantity=quantity,
        unit=unit,
        frequency_per_week=per_week,
        duration_weeks=weeks,
        duration_days=days,
        tried=_tried(evidence),
        facts=[*facts, *request_facts],
        contradictions=contradictions(facts),
    )


_QUESTION_LEAD_RE = re.compile(
    r"^(?:is|are|should|would|could|can|does|do|will|may)\s+"
    r"(?:(?:the\s+)?(?:mtus|acoem|odg|guidelines?|it|they)\s+"
    r"(?:recommend|support|cover|allow|approve)s?\s+)?(?:(?:a|an|the|some)\s+)?",
    re.I,
)
_QUESTION_TAIL_RE = re.compile(
    r"\s+(?:be\s+)?(?:recommended|covered|appropriate|indicated|necessary|needed|reasonable"
    r"|supported|approved|allowed|useful|effective)\s*\??$",
    re.I,
)


def without_question_frame(item: str) -> str:
    """The item of a question without the question around it: 'Is a lumbar support
    recommended' -> 'lumbar support', 'Does the MTUS recommend acupuncture' -> 'acupuncture'.
    A request line ('Lumbar support purchase') is left as it is."""
    lead = _QUESTION_LEAD_RE.match(item)
    if lead is None:
        return item
    bare = _QUESTION_TAIL_RE.sub("", item[lead.end() :]).strip()
    return bare or item


def _line_facts(text: str) -> RequestFacts:
    """`normalize_request` of the line, or of its first clause naming an item ('chronic LBP,
    PT 2x4' names PT in its second clause)."""
    facts = normalize_request(text)
    if facts.item:
        return facts
    for clause in re.split(r"[,;]", text)[1:]:
        other = normalize_request(clause)
        if other.item:
            return other.model_copy(
                update={
                    "body_region": facts.body_region or other.body_region,
                    "acuity": facts.acuity or other.acuity,
                    "post_operative": facts.post_operative or other.post_operative,
                }
            )
    return facts


def _drugs_in(text: str, drugs: DrugFinder) -> tuple[list[str], set[str]]:
    """Generic names of the drugs `text` names, and the words that named them."""
    words = _WORD_RE.findall(text)
    found = drugs(words)
    generics = list(dict.fromkeys(g for _, _, names in found for g in names))
    return generics, {w.lower() for start, end, _ in found for w in words[start:end]}


def _item_concepts(item_text: str, generics: list[str]) -> list[str]:
    found = [c for _, c in expand_query(item_text).matched] if item_text else []
    return list(dict.fromkeys([*found, *generics]))


def _item(
    canonical: str | None, raw: str | None, generics: list[str], drug_words: set[str]
) -> str | None:
    """The lexicon's name; drugs as generics when the item is a drug ('Norco' ->
    'hydrocodone/acetaminophen', but 'cortisone injection' stays a procedure); else the item
    as typed, unless it names nothing ('please review')."""
    if generics and canonical is not None and canonical in generics:
        return "/".join(generics)
    if canonical:
        return canonical
    words = [w.lower() for w in _WORD_RE.findall(raw or "")]
    meaningful = [w for w in words if w not in FILLER and w not in stopwords() and len(w) > 1]
    if generics and not set(meaningful) - drug_words:
        return "/".join(generics)
    return raw.lower() if raw and meaningful else None


def _surgery(text: str, evidence: list[Fact], as_of: date) -> tuple[str | None, float | None]:
    """The surgery named on the request line or, else, the most recent one documented, with
    how many weeks ago it was (from the line, else from the summary)."""
    found: list[tuple[str, float | None]] = []
    for fact in evidence:
        if SURGERY in fact.negated_terms:
            continue
        if (name := _surgery_name(fact.text)) is not None:
            found.append((name, _weeks_before(fact.text, as_of)))
    timed = sorted(((w, n) for n, w in found if w is not None), key=lambda c: c[0])
    on_line = _surgery_name(text)
    if on_line is not None:
        weeks = _weeks_before(text, as_of)
        return on_line, weeks if weeks is not None else (timed[0][0] if timed else None)
    if timed:
        return timed[0][1], timed[0][0]
    return found[0] if found else (None, None)


def _amounts(
    text: str, line: RequestFacts
) -> tuple[int | None, str | None, int | None, int | None, int | None]:
    """(quantity, unit, frequency per week, duration in weeks, duration in days)."""
    weeks = line.duration_weeks
    days = weeks * 7 if weeks else None
    if days is None and (m := _DURATION_RE.search(text)):
        days = round(_span_days(m.group(1), m.group(2)))
        weeks = days // 7 if days % 7 == 0 else None
    return line.quantity, line.unit, line.frequency_per_week, weeks, days


def _phase(
    text: str,
    post_operative: bool,
    evidence: list[Fact],
    weeks_since_surgery: float | None,
    as_of: date,
) -> Phase | None:
    """Post-operative within `POSTOP_WINDOW_WEEKS` of surgery (or when the line says post-op
    and no date is known); else the stated acuity (request line, then summary); else the
    duration of the condition (`ACUTE_MAX_WEEKS`, `SUBACUTE_MAX_WEEKS`)."""
    if weeks_since_surgery is not None and weeks_since_surgery <= POSTOP_WINDOW_WEEKS:
        return Phase.POSTOPERATIVE
    if weeks_since_surgery is None and post_operative:
        return Phase.POSTOPERATIVE
    for sentence in [text, *(f.text for f in evidence)]:
        if (stated := _acuity(sentence)) is not None:
            return stated
    durations = [w for s in [text, *(f.text for f in evidence)] if (w := _symptom_weeks(s, as_of))]
    if weeks_since_surgery is not None:
        durations.append(weeks_since_surgery)
    return _phase_of_weeks(max(durations)) if durations else None


def _tried(evidence: list[Fact]) -> list[str]:
    """Treatments the record says were given: asserted treatment concepts and drugs."""
    out: list[str] = []
    for fact in evidence:
        for concept in fact.concepts:
            term = LEXICON.get(concept)
            treatment = term.group in TREATMENT_GROUPS if term else concept != SURGERY
            if treatment and concept not in fact.negated_terms and concept not in out:
                out.append(concept)
    return out


__all__ = [
    "ACUTE_MAX_WEEKS",
    "NUMBER_RX",
    "POSTOP_WINDOW_WEEKS",
    "SUBACUTE_MAX_WEEKS",
    "number_value",
    "parse_request",
]
