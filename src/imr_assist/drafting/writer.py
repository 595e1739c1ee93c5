"""The offline writer: renders a `Reasoning` as the rationale a physician reviewer signs.

The shape is the real letter's (../shared/seeds/): what the governing guideline recommends
(paraphrased from the recommendation record: direction, intervention, population, strength as
printed, with page), where the sequence of authority moved down (quoted from the silent
guideline when it says so), how the record meets or misses each criterion (quoting the record
sentence), where guidelines of the same authority disagree and why one was applied, and the
closing "Given the above, the request for X is/is not medically necessary." `ask` opens with
the conclusion in plain words and leaves the closing out. Every guideline sentence carries the
citation id of a passage it rests on; verification still checks each one.
The criteria, checklist and limits sentences are rendered by `criteria_text`.

No LLM, nothing leaves the machine; the same input always gives the same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import ConfigDict, Field

from imr_assist.citations import cite, format_pages
from imr_assist.drafting.criteria_text import (
    _PREP_RE,
    _VERB_RE,
    _cite,
    _is_sentence,
    _lower_first,
    _passage_for,
    _short,
    _words,
    checklist_lines,
    clean_sentence,
    criteria_sentences,
)
from imr_assist.drafting.evidence import Evidence
from imr_assist.drafting.models import PrecedentSummary
from imr_assist.ingest.injection import is_directive
from imr_assist.models import Direction, DraftDecision, Hit, Passage, Stance, StrictModel, Tier
from imr_assist.reasoning.matching import population_fits
from imr_assist.reasoning.models import (
    GuidelineFinding,
    Reasoning,
    Recommendation,
)
from imr_assist.retrieval.authority import TIER_LABELS
from imr_assist.text.sentences import split_sentences

WRITER_NAME = "offline-writer"

STANCE_WORDS = {
    Stance.RECOMMENDED: "Recommended",
    Stance.NOT_RECOMMENDED: "Not recommended",
    Stance.INSUFFICIENT_EVIDENCE: "Insufficient evidence to recommend for or against",
    Stance.NOT_ADDRESSED: "Not addressed by the loaded guidelines",
}
DECISION_WORDS = {
    DraftDecision.MEDICALLY_NECESSARY: "medically necessary",
    DraftDecision.NOT_MEDICALLY_NECESSARY: "not medically necessary",
    DraftDecision.INSUFFICIENT_INFORMATION: "cannot be decided on the information provided",
}


class Written(StrictModel):
    """What the writer returns: the sentences and what they rest on."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    sentences: list[str] = Field(description="Rationale sentences with citation markers")
    relied_on: list[Passage] = Field(description="Guideline passages the decision rests on")
    missing_documentation: list[str] = Field(description="Documentation that would change it")


def rec_locator(rec: Recommendation, *, short: bool = False) -> str:
    """'Rec 27, p. 66' / 'E.1.a Acupuncture, pp. 31-32'; `short`: the section code alone when
    the label starts with one ('D.8.f, pp. 46-54'), a long heading left out when there are pages."""
    pages = format_pages(rec.page_start, rec.page_end)
    label = _label(rec)
    if short:
        code = _CODE_RE.match(label)
        if code:
            label = code.group(0)
        elif pages and len(label) > 40:
            label = ""
    return ", ".join(x for x in (label, pages) if x)


_CODE_RE = re.compile(r"^[A-Z](?:\.[0-9a-z]+)+\b")


def _label(rec: Recommendation) -> str:
    """The label without the '(2)' a repeated heading gets at ingest."""
    return re.sub(r"\s*\(\d\)$", "", rec.label).strip()


_FRAME_RE = re.compile(
    r"^(?P<frame>[^:]{0,220}?\b(?:p{1,2}\.\s*\d|page|paraphras|chapter|guidelines?)\b[^:]{0,120}):\s+"
    r"(?:in our paraphrase,\s*)?(?P<rest>.+)$",
    re.IGNORECASE | re.DOTALL,
)


def statement_text(text: str) -> str:
    """A statement without its citation frame ('MTUS ..., pp. 46-47, paraphrased: exercise is
    recommended' -> 'Exercise is recommended') and without Markdown emphasis."""
    text = clean_sentence(text)
    m = _FRAME_RE.match(text)
    if m and len(m.group("rest")) > 15:
        rest = m.group("rest").strip()
        text = rest[0].upper() + rest[1:]
    return text


def _verb(rec: Recommendation) -> str:
    if rec.direction is Direction.AGAINST:
        return "recommends against"
    if rec.direction is Direction.NEITHER:
        return "finds the evidence insufficient to recommend for or against"
    return "recommends"


def _plain(name: str) -> str:
    """A heading's capitals dropped for running text ('Bed Rest' -> 'bed rest'); acronyms
    ('MRI', 'TENS') and mixed-case names ('ProDisc') kept."""
    return re.sub(r"\b([A-Z])([a-z]+)\b", lambda m: m.group(1).lower() + m.group(2), name)


def _what(rec: Recommendation, *, population: bool = True) -> str:
    names = [i + ")" * (i.count("(") - i.count(")")) for i in rec.interventions[:3]]
    what = " and ".join(_plain(i) for i in names)
    if (
        population
        and rec.population
        and what
        and not set(_words(rec.population)) <= set(_words(what))
    ):
        what = f"{what} {_for_population(rec.population)}"
    return what


def _topic(rec: Recommendation) -> str:
    """What a recommendation is about when it names no intervention: its label without the
    section number ('D.8.g Rehabilitation: Manipulation under Anesthesia' -> 'manipulation
    under anesthesia')."""
    label = re.sub(r"^[A-Z]?(?:\.?\d+|\.[a-z]+|\.[ivx]+)*\.?\s+", "", _label(rec)).strip()
    topic = label.rsplit(":", 1)[-1].strip() if ":" in label else label
    return _plain(topic) if topic and not re.fullmatch(r"rec\w*\.?\s*\d+", topic, re.I) else ""


def _for_population(population: str) -> str:
    p = population.strip().rstrip(",.")
    return p if re.match(r"(?:for|in|among|after|with)\b", p, re.I) else f"for {p}"


_STRENGTH_PREFIX_RE = re.compile(
    r"^(?:not\s+)?recommended\b(?:\s*[-–—:,]\s*|\s+(?=(?:for|in|as|to|when|if|only)\b))", re.I
)
MAX_STATEMENT = 260
"""A recommendation statement longer than this is paraphrased from its record, not quoted."""


def _strength_note(rec: Recommendation, said: str) -> str:
    """'; Weak against' unless the sentence already says it ('Recommended - in select
    patients' beside a quote that holds 'in select patients')."""
    words = set(_words(rec.strength_text)) - {"recommended", "recommend", "not", "a", "an"}
    if not words or words <= set(_words(said)):
        return ""
    return f"; {rec.strength_text}"


def recommendation_sentence(rec: Recommendation, hits: Sequence[Hit]) -> str:
    """What the governing guideline recommends, with its locator and citation:

    - a statement that is a whole sentence is quoted ('VA/DoD LBP CPG 2022 (Rec 8, p. 37; Weak
      for) states: "For patients with chronic low back pain, we suggest CBT."');
    - a printed strength followed by its terms ('Recommended - for treatment of acute back
      pain') is said in words with the terms quoted ('... recommends against traction "for
      treatment of acute or non-acute back pain."');
    - a long or bare statement is paraphrased from the record (direction, intervention,
      population)."""
    text = statement_text(rec.statement).rstrip(" .;")
    rest = _STRENGTH_PREFIX_RE.sub("", text).strip()
    what = _what(rec) or _topic(rec)
    bare_what = _what(rec, population=False) or what
    short = len(rest) <= MAX_STATEMENT and not is_directive(rec.statement)
    loc = rec_locator(rec, short=bool(what))
    said = set(_words(what))
    if short and rest != text and len(_words(rest)) >= 3 and what:
        if len(set(_words(rest)) - said) <= len(set(_words(rest))) // 4:
            body = f"{_verb(rec)} {what}."  # the terms only repeat the heading
        elif _PREP_RE.match(rest):
            body = f'{_verb(rec)} {bare_what} "{_lower_first(rest)}."'
        elif _VERB_RE.match(rest):
            body = f'{_verb(rec)} {bare_what}, which "{rest}."'
        else:
            body = f'{_verb(rec)} {what}: "{rest}."'
    elif short and rest == text and _is_sentence(rest):
        body = f'states: "{rest}."'
    elif what:
        body = f"{_verb(rec)} {what}."
    else:
        body = f'states: "{_short(text, MAX_STATEMENT)}."'
    return f"{rec.guideline} ({loc}{_strength_note(rec, body)}) {body}{_cite(rec, hits)}"


def _silence_sentences(
    reasoning: Reasoning, silences: Sequence[tuple[Hit, str]], excluded: Sequence[Tier]
) -> list[str]:
    """Why the sequence moved down to the governing tier, said truthfully."""
    gov = reasoning.governing
    if gov is None or gov.tier is Tier.MTUS:
        return []
    item = _balanced(reasoning.request.item or reasoning.request.text)
    above = [t for t in (Tier.MTUS, Tier.GUIDELINE, Tier.OTHER_GUIDELINE) if t.rank < gov.tier.rank]
    loaded = {f.tier for f in reasoning.findings}
    out: list[str] = []
    for tier in above:
        if tier in excluded:
            out.append(f"The {TIER_LABELS[tier]} tier was not consulted (excluded by the filter).")
            continue
        if tier not in loaded:
            continue
        quoted = next(
            ((h, s) for h, s in silences if h.passage.tier is tier and not is_directive(s)), None
        )
        name = next(f.guideline for f in reasoning.findings if f.tier is tier)
        if quoted is not None and len(clean_sentence(quoted[1])) <= MAX_STATEMENT:
            hit, sentence = quoted
            whole = clean_sentence(sentence).rstrip(" .;:,")
            out.append(
                f'{name} does not specifically address the requested {item}: "{whole}." '
                f"{cite(hit.passage.id)}; secondary guidelines were consulted."
            )
        elif quoted is not None:
            out.append(
                f"{name} does not specifically address the requested {item} "
                f"{cite(quoted[0].passage.id)}; secondary guidelines were consulted."
            )
        else:
            out.append(
                f"The loaded {TIER_LABELS[tier]} guidelines ({name}) contain no recommendation "
                f"on {item}; secondary guidelines were consulted."
            )
    return out[:1]


def _balanced(text: str) -> str:
    """'home exercise kit (resistance bands' -> 'home exercise kit'."""
    return text.split("(")[0].strip() if text.count("(") > text.count(")") else text


def _conflict_sentences(reasoning: Reasoning, hits: Sequence[Hit]) -> list[str]:
    out = []
    for finding in reasoning.conflicts[:1]:
        if finding.governing is None:
            continue
        out.append(
            f"By contrast, {recommendation_sentence(finding.governing.recommendation, hits)}"
        )
    if reasoning.conflict_note and out:
        out.append(reasoning.conflict_note)
    return out


def _agreeing_lower(reasoning: Reasoning, hits: Sequence[Hit]) -> list[str]:
    """One lower-tier guideline that agrees, when the governing one has no criteria to apply."""
    gov = reasoning.governing
    if gov is None or gov.governing is None:
        return []
    direction = gov.governing.recommendation.direction
    for f in reasoning.findings:
        if f is gov or f.governing is None or f.tier.rank <= gov.tier.rank:
            continue
        rec = f.governing.recommendation
        if rec.direction is direction and f.governing.population_fits:
            return [f"Consistent with this, {recommendation_sentence(rec, hits)}"]
    return []


def closing(item: str, decision: DraftDecision) -> str:
    if decision is DraftDecision.INSUFFICIENT_INFORMATION:
        return (
            f"Given the above, the request for {item} cannot be decided on the information "
            "provided."
        )
    verdict = "is" if decision is DraftDecision.MEDICALLY_NECESSARY else "is not"
    return f"Given the above, the request for {item} {verdict} medically necessary."


_VERDICT = {Stance.RECOMMENDED: "Recommended", Stance.NOT_RECOMMENDED: "Not recommended"}


def conclusion_line(reasoning: Reasoning, hits: Sequence[Hit], *, say_mtus: bool = True) -> str:
    """The answer's first sentence: the verdict in a word, then what the governing guideline
    says ('Not recommended: VA/DoD LBP CPG 2022 (Rec 27, p. 60; Weak against) states: ...')."""
    gov = reasoning.governing
    if gov is None or gov.governing is None:
        return "The loaded guidelines do not specifically address this request."
    rec = gov.governing.recommendation
    said = recommendation_sentence(rec, hits)
    if reasoning.stance is Stance.NOT_RECOMMENDED and rec.direction is not Direction.AGAINST:
        # the guideline's own negation applies ('not recommended as an isolated intervention')
        text = _short(statement_text(rec.statement), MAX_STATEMENT)
        said = f'{rec.guideline} ({rec_locator(rec)}) states: "{text}."{_cite(rec, hits)}'
    verdict = _VERDICT.get(reasoning.stance)
    line = f"{verdict}: {said}" if verdict else said
    if (
        say_mtus
        and gov.tier is not Tier.MTUS
        and any(f.tier is Tier.MTUS for f in reasoning.findings)
    ):
        line = line.rstrip() + " (The loaded MTUS guidelines do not address it.)"
    return line


def write(
    reasoning: Reasoning,
    hits: Sequence[Hit],
    *,
    kind: str,
    item: str,
    silences: Sequence[tuple[Hit, str]] = (),
    excluded_tiers: Sequence[Tier] = (),
    precedent: str | None = None,
) -> Written:
    """Sentences of an answer (`kind='ask'`) or a determination rationale (`kind='draft'`)."""
    if not reasoning.request.item:
        sentences = [
            "No requested item could be recognised in this request.",
            "Name the treatment, test, device or drug requested (for example "
            "'physical therapy 2x6 for the lumbar spine') to get a decision.",
        ]
        return Written(sentences=sentences, relied_on=[], missing_documentation=[])
    gov = reasoning.governing
    if gov is None or gov.governing is None:
        sentences = [f"The loaded guidelines do not specifically address {item}."]
        if kind == "draft":
            sentences.append("No decision is drafted; this item needs the reviewer's own review.")
        return Written(sentences=sentences, relied_on=[], missing_documentation=[])
    rec = gov.governing.recommendation
    body: list[str] = []
    moved = _silence_sentences(reasoning, silences, excluded_tiers)
    body += moved
    if kind == "draft":
        body.append(recommendation_sentence(rec, hits))
    if not gov.governing.population_fits:
        _, why = population_fits(reasoning.request, rec)
        body.append(
            f"No recommendation of {rec.guideline} covers this case's population exactly: the "
            f"closest one is applied, although {why}.{_cite(rec, hits)}"
        )
    body += criteria_sentences(reasoning, rec, hits, kind)
    body += _conflict_sentences(reasoning, hits)
    if not reasoning.checklist and not reasoning.conflicts:
        body += _agreeing_lower(reasoning, hits)
    for problem in reasoning.problems:
        body.append(problem)
    if precedent and kind == "draft":
        body.append(precedent)
    relied = [p for p in [_passage_for(rec, hits)] if p is not None]
    relied += [h.passage for h, _ in silences[:1]] if body and silences else []
    if kind == "ask":
        sentences = [conclusion_line(reasoning, hits, say_mtus=not moved), *body]
    else:
        sentences = [*body, closing(item, reasoning.decision)]
    return Written(
        sentences=sentences,
        relied_on=_unique(relied),
        missing_documentation=reasoning.would_change,
    )


def _unique(passages: list[Passage]) -> list[Passage]:
    seen: dict[str, Passage] = {}
    for p in passages:
        seen.setdefault(p.id, p)
    return list(seen.values())


def describe_findings(findings: Sequence[GuidelineFinding]) -> list[str]:
    """One plain line per guideline consulted (for the reviewer and the LLM drafter's input)."""
    out = []
    for f in findings:
        if f.governing is None:
            out.append(f"{f.guideline} ({TIER_LABELS[f.tier]}): does not address the item")
            continue
        rec = f.governing.recommendation
        out.append(
            f"{f.guideline} ({TIER_LABELS[f.tier]}): {rec.label}, {rec.direction.value}, "
            f"{rec.strength_text} — {f.governing.reason}"
        )
    return out


# --------------------------------------------------------------------------- letter lines


def relied_on_line(p: Passage) -> str:
    """The letter's 'Decision based on ...' form of a cited guideline passage."""
    pages = f"{p.page_start}-{p.page_end}" if p.page_end != p.page_start else p.page_start
    name = p.guideline or p.source_title
    if p.tier is Tier.MTUS:
        head = name if name.upper().startswith("MTUS") else f"MTUS {name}"
        if p.chapter and p.chapter not in head:
            head += f", {p.chapter}"
        return f"{head} Page(s): {pages}" if pages else head
    head = f"Non-MTUS Citation {name}"
    if p.chapter and p.chapter not in head:
        head += f", {p.chapter}"
    if p.recommendation:
        head += f", Recommendation {p.recommendation}"
    elif p.section and not pages:
        head += f", {p.section}"
    return f"{head} Page(s): {pages}" if pages else head


def precedent_summary(evidence: Evidence) -> PrecedentSummary | None:
    """Similar prior determinations, for the reviewer."""
    p = evidence.precedent
    if not p.cases:
        return None
    return PrecedentSummary(
        summary=p.summary,
        upheld=p.upheld,
        overturned=p.overturned,
        cases=[
            {
                "doc_id": c.doc_id,
                "item": c.item,
                "decision": c.decision.value,
                "id": c.passage_id,
                "guidelines": c.guidelines_cited,
            }
            for c in p.cases
        ],
    )


def precedent_sentence(evidence: Evidence) -> str | None:
    """The conclusion of the most similar prior determination, quoted and cited."""
    for case in evidence.precedent.cases:
        hit = next((h for h in evidence.hits if h.passage.id == case.passage_id), None)
        if hit is None:
            continue
        conclusion = next(
            (s for s in split_sentences(hit.passage.text) if "medically necessary" in s), None
        )
        if conclusion is None:
            continue
        verdict = "upheld" if case.decision.value == "upheld" else "overturned"
        return (
            f'A prior IMR determination on a similar request ("{case.item}", {verdict}) '
            f'concluded: "{clean_sentence(conclusion)}" {cite(hit.passage.id)}'
        )
    return None


__all__ = [
    "DECISION_WORDS",
    "STANCE_WORDS",
    "WRITER_NAME",
    "PrecedentSummary",
    "Written",
    "checklist_lines",
    "clean_sentence",
    "closing",
    "conclusion_line",
    "describe_findings",
    "precedent_sentence",
    "precedent_summary",
    "recommendation_sentence",
    "relied_on_line",
    "write",
]
