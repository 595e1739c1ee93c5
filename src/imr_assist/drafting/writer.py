"""The offline writer: renders a `Reasoning` as the rationale a physician reviewer signs.

The shape is the real letter's (../shared/seeds/): what the governing guideline recommends
(paraphrased from the recommendation record: direction, intervention, population, strength as
printed, with page), where the sequence of authority moved down (quoted from the silent
guideline when it says so), how the record meets or misses each criterion (quoting the record
sentence), where guidelines of the same authority disagree and why one was applied, and the
closing "Given the above, the request for X is/is not medically necessary." `ask` opens with
the conclusion in plain words and leaves the closing out. Every guideline sentence carries the
citation id of a passage it rests on; verification still checks each one.

No LLM, nothing leaves the machine; the same input always gives the same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import ConfigDict, Field

from imr_assist.citations import cite, format_pages
from imr_assist.drafting.evidence import Evidence
from imr_assist.drafting.models import PrecedentSummary
from imr_assist.ingest.injection import is_directive
from imr_assist.models import Direction, DraftDecision, Hit, Passage, Stance, StrictModel, Tier
from imr_assist.reasoning.decision import criterion_name
from imr_assist.reasoning.matching import population_fits
from imr_assist.reasoning.models import (
    CriterionCheck,
    CriterionStatus,
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
MAX_QUOTE = 160
"""A record sentence or criterion longer than this is shortened at a word boundary."""


class Written(StrictModel):
    """What the writer returns: the sentences and what they rest on."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    sentences: list[str] = Field(description="Rationale sentences with citation markers")
    relied_on: list[Passage] = Field(description="Guideline passages the decision rests on")
    missing_documentation: list[str] = Field(description="Documentation that would change it")


def _short(text: str, limit: int = MAX_QUOTE) -> str:
    text = clean_sentence(text).rstrip(" .;:,")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")
    return f"{cut} ..."


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if len(text) > 1 and not text[1].isupper() else text


def rec_locator(rec: Recommendation) -> str:
    """'Rec 27, p. 66' / 'E.1.a Acupuncture, pp. 31-32'."""
    pages = format_pages(rec.page_start, rec.page_end)
    return ", ".join(x for x in (rec.label, pages) if x)


def _passage_for(
    rec: Recommendation, hits: Sequence[Hit], text: str | None = None
) -> Passage | None:
    """The passage of `rec` that holds `text` (default: its statement), else the one sharing
    most of its words."""
    by_id = {h.passage.id: h.passage for h in hits}
    mine = [by_id[pid] for pid in rec.passage_ids if pid in by_id]
    if not mine:
        return None
    text = rec.statement if text is None else text
    head = _words(text)[:12]
    for p in mine:
        if " ".join(head) in " ".join(_words(p.text)):
            return p
    wanted = set(_words(text))
    return max(mine, key=lambda p: len(wanted & set(_words(p.text))))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _cite(rec: Recommendation, hits: Sequence[Hit], text: str | None = None) -> str:
    p = _passage_for(rec, hits, text)
    return f" {cite(p.id)}" if p else ""


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


def _what(rec: Recommendation) -> str:
    what = " and ".join(rec.interventions[:3]) if rec.interventions else ""
    if rec.population and what:
        what = f"{what} {_for_population(rec.population)}"
    return what


def _topic(rec: Recommendation) -> str:
    """What a recommendation is about when it names no intervention: its label without the
    section number ('D.8.g Rehabilitation: Manipulation under Anesthesia' -> 'manipulation
    under anesthesia')."""
    label = re.sub(r"^[A-Z]?(?:\.?\d+|\.[a-z]+|\.[ivx]+)*\.?\s+", "", rec.label).strip()
    topic = label.rsplit(":", 1)[-1].strip() if ":" in label else label
    return (
        _lower_first(topic) if topic and not re.fullmatch(r"rec\w*\.?\s*\d+", topic, re.I) else ""
    )


def _for_population(population: str) -> str:
    p = population.strip().rstrip(",.")
    return p if re.match(r"(?:for|in|among|after|with)\b", p, re.I) else f"for {p}"


def recommendation_sentence(rec: Recommendation, hits: Sequence[Hit]) -> str:
    """'VA/DoD LBP CPG 2022 (Rec 27, p. 60; Weak against) recommends against opioids for
    patients with chronic low back pain. [id]' — paraphrased from the record when the statement
    is long; a short statement is quoted, since its exact words are what the reviewer cites."""
    strength = f"; {rec.strength_text}" if rec.strength_text else ""
    where = f"{rec.guideline} ({rec_locator(rec)}{strength})"
    what = _what(rec) or _topic(rec)
    bare = len(_words(rec.statement)) <= 4  # the statement is only its label: 'Not Recommended'
    if what and (bare or len(rec.statement) > 220 or is_directive(rec.statement)):
        return f"{where} {_verb(rec)} {what}.{_cite(rec, hits)}"
    return f'{where} states: "{_short(statement_text(rec.statement), 260)}".{_cite(rec, hits)}'


def _silence_sentences(
    reasoning: Reasoning, silences: Sequence[tuple[Hit, str]], excluded: Sequence[Tier]
) -> list[str]:
    """Why the sequence moved down to the governing tier, said truthfully."""
    gov = reasoning.governing
    if gov is None or gov.tier is Tier.MTUS:
        return []
    item = reasoning.request.item or reasoning.request.text
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
        if quoted is not None:
            hit, sentence = quoted
            out.append(
                f'{name} does not specifically address the requested {item}: "{_short(sentence)}" '
                f"{cite(hit.passage.id)}; secondary guidelines were consulted."
            )
        else:
            out.append(
                f"The loaded {TIER_LABELS[tier]} guidelines ({name}) contain no recommendation "
                f"on {item}; secondary guidelines were consulted."
            )
    return out[:1]


def _criteria_sentences(
    reasoning: Reasoning, rec: Recommendation, hits: Sequence[Hit]
) -> list[str]:
    """The conditions of the governing recommendation by name, then the record on the ones
    that decide: what it contradicts, what it lacks, and (when every condition is met) the
    record sentence that meets the first one."""
    checks = reasoning.checklist
    if not checks:
        return []
    names = [_lower_first(criterion_name(c.criterion, 90)) for c in checks[:4]]
    word = "condition" if len(names) == 1 else "conditions"
    source = " ".join(c.criterion for c in checks[:4])
    out = [f"It sets the {word}: {'; '.join(names)}.{_cite(rec, hits, source)}"]
    not_met = [c for c in checks if c.status is CriterionStatus.NOT_MET]
    missing = [c for c in checks if c.status is CriterionStatus.NOT_DOCUMENTED and not c.is_limit]
    for c in not_met[:2]:
        name = f'"{criterion_name(c.criterion, 90)}"'
        if c.evidence and not c.is_limit:
            out.append(f'The record does not meet the condition {name}: "{_short(c.evidence)}".')
        else:
            out.append(f"The request exceeds the condition {name}.")
    if missing:
        listed = " and ".join(f'"{criterion_name(c.criterion, 90)}"' for c in missing[:3])
        which = "condition" if len(missing) == 1 else "conditions"
        out.append(f"The records provided do not document the {which} {listed}.")
    if not not_met and not missing:
        met = next((c for c in checks if c.status is CriterionStatus.MET and c.evidence), None)
        if met is not None:
            out.append(
                f'The record meets the condition "{criterion_name(met.criterion, 90)}": '
                f'"{_short(met.evidence or "")}".'
            )
    return out


def _conflict_sentences(reasoning: Reasoning, hits: Sequence[Hit]) -> list[str]:
    out = []
    for finding in reasoning.conflicts[:1]:
        if finding.governing is None:
            continue
        out.append(recommendation_sentence(finding.governing.recommendation, hits))
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
            s = recommendation_sentence(rec, hits)
            return [
                f"Consistent with this, {_lower_first(s)}"
                if not s.startswith(rec.guideline)
                else f"Consistent with this, {s}"
            ]
    return []


def closing(item: str, decision: DraftDecision) -> str:
    if decision is DraftDecision.INSUFFICIENT_INFORMATION:
        return (
            f"Given the above, the request for {item} cannot be decided on the information "
            "provided."
        )
    verdict = "is" if decision is DraftDecision.MEDICALLY_NECESSARY else "is not"
    return f"Given the above, the request for {item} {verdict} medically necessary."


def conclusion_line(reasoning: Reasoning, hits: Sequence[Hit], *, say_mtus: bool = True) -> str:
    """The answer's first sentence: the conclusion in plain words."""
    gov = reasoning.governing
    if gov is None or gov.governing is None:
        return "The loaded guidelines do not specifically address this request."
    rec = gov.governing.recommendation
    words = STANCE_WORDS[reasoning.stance]
    pop = f" {_for_population(rec.population)}" if rec.population else ""
    mtus = ""
    if (
        say_mtus
        and gov.tier is not Tier.MTUS
        and any(f.tier is Tier.MTUS for f in reasoning.findings)
    ):
        mtus = "; the loaded MTUS guidelines do not address it"
    strength = f"; {rec.strength_text}" if rec.strength_text else ""
    return f"{words}{pop} under {rec.guideline} ({rec.label}{strength}){mtus}.{_cite(rec, hits)}"


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
    body.append(recommendation_sentence(rec, hits))
    if not gov.governing.population_fits:
        _, why = population_fits(reasoning.request, rec)
        body.append(
            f"No recommendation of {rec.guideline} covers this case's population exactly: the "
            f"closest one is applied, although {why}.{_cite(rec, hits)}"
        )
    body += _criteria_sentences(reasoning, rec, hits)
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


def checklist_lines(checks: Sequence[CriterionCheck]) -> list[str]:
    """One plain line per criterion: 'met: ... (record: "...")'."""
    words = {
        CriterionStatus.MET: "met",
        CriterionStatus.NOT_MET: "not met",
        CriterionStatus.NOT_DOCUMENTED: "not documented",
    }
    return [
        f"{words[c.status]}: {c.criterion}" + (f' (record: "{c.evidence}")' if c.evidence else "")
        for c in checks
    ]


# --------------------------------------------------------------------------- letter lines


def clean_sentence(sentence: str) -> str:
    """Markdown emphasis and list markers removed; quotes normalised for quoting."""
    s = re.sub(r"\*\*|__|(?<!\w)[*_](?!\s)|(?<!\s)[*_](?!\w)", "", sentence)
    s = re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", "", s)
    return " ".join(s.replace('"', "'").split())


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
