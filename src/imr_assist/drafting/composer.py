"""The offline grounded composer: a deterministic drafter that needs no LLM.

It quotes the sentences of the governing evidence that name the requested item (verbatim, so
faithful by construction), each with its citation marker; reads the direction of the
recommendation; checks the guideline's conditions against the case facts; quotes the closest
prior determination; and closes in the IMR form. It abstains when nothing addresses the item.
"""

from __future__ import annotations

import re

from imr_assist.chunking import split_sentences
from imr_assist.citations import cite, format_pages
from imr_assist.drafting.evidence import SILENCE_RE, Evidence, TierEvidence
from imr_assist.drafting.models import PrecedentSummary
from imr_assist.lexical import tokenize
from imr_assist.models import DraftDecision, Hit, Passage, Stance, Tier
from imr_assist.retrieval import groups_found, item_groups

DRAFTER_NAME = "offline-composer"

_NEUTRAL_RE = re.compile(
    r"insufficient evidence|neither for nor against|inconclusive|evidence is (?:limited|mixed)",
    re.IGNORECASE,
)
_NEGATIVE_RE = re.compile(
    r"\bnot (?:be )?recommended\b|\brecommends? against\b|\bsuggests? against\b|"
    r"\bnot medically necessary\b|\bnot (?:be )?supported\b|\bmay not be covered\b|"
    r"\bnot (?:be )?covered\b|\bnot indicated\b|\bnot certified\b",
    re.IGNORECASE,
)
_POSITIVE_RE = re.compile(
    r"\brecommended\b|\bwe (?:suggest|recommend)\b|\bmay be considered\b|\bis an option\b|"
    r"\bas an option\b|\bindicated\b|\bsupported\b|\bmedically necessary\b",
    re.IGNORECASE,
)
_CRITERIA_RE = re.compile(
    r"\bdocument\w*|\b(?:listed|identified|stated|specified)\b|\btrial\b|"
    r"\bfunctional improvement\b|\bfailure of\b|\bfailed\b|\bcriteri\w+|\bmust\b|"
    r"\brequires?\b|\bonly (?:if|when|under)\b|\bobjective\b",
    re.IGNORECASE,
)
_NEGATED_RE = re.compile(
    r"\b(?:no|not|without|lack(?:s|ing)? of|absent|never|unable to|denies|did not|didn't)\b"
    r"[^.,;]*",
    re.IGNORECASE,
)
_GRADES = {
    "Strong for": Stance.RECOMMENDED,
    "Weak for": Stance.RECOMMENDED,
    "Strong against": Stance.NOT_RECOMMENDED,
    "Weak against": Stance.NOT_RECOMMENDED,
    "Neither for nor against": Stance.INSUFFICIENT_EVIDENCE,
}
_GENERIC_CRITERIA = set(
    tokenize(
        [
            "document documented documentation record records request requested patient "
            "guideline guidelines must require requires criteria objective evidence treatment "
            "item items program reviewer shows show named name list listed"
        ]
    )[0]
)


def polarity(sentence: str) -> Stance | None:
    """Direction of a guideline sentence: neutral wins over negative, negative over positive."""
    if _NEUTRAL_RE.search(sentence):
        return Stance.INSUFFICIENT_EVIDENCE
    if _NEGATIVE_RE.search(sentence):
        return Stance.NOT_RECOMMENDED
    if _POSITIVE_RE.search(sentence):
        return Stance.RECOMMENDED
    return None


def clean_sentence(sentence: str) -> str:
    """Markdown emphasis and list markers removed; quotes normalised for quoting."""
    s = re.sub(r"\*\*|__|(?<!\w)[*_](?!\s)|(?<!\s)[*_](?!\w)", "", sentence)
    s = re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", "", s)
    return " ".join(s.replace('"', "'").split())


def guideline_label(p: Passage) -> str:
    """How the rationale names a passage's source: 'MTUS Chronic Pain ... (pp. 114-116)'."""
    name = p.guideline or p.source_title
    locator = format_pages(p.page_start, p.page_end)
    if p.recommendation:
        locator = f"Recommendation {p.recommendation}" + (f", {locator}" if locator else "")
    elif not locator and p.section:
        locator = p.section
    return f"{name} ({locator})" if locator else name


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


def stance_of(tier: TierEvidence | None) -> Stance:
    """A recommendation's printed grade decides; otherwise the first directed sentence."""
    if tier is None:
        return Stance.NOT_ADDRESSED
    for hit, _ in tier.addressing:
        grade = hit.passage.recommendation_grade
        if grade in _GRADES:
            return _GRADES[grade]
    for _, sentence in tier.addressing:
        found = polarity(sentence)
        if found is not None:
            return found
    return Stance.INSUFFICIENT_EVIDENCE


def pick_statements(tier: TierEvidence, request: str, limit: int = 2) -> list[tuple[Hit, str]]:
    """The addressing sentences that best state the guideline's position on the item."""
    words = set(tokenize([request])[0])
    key = item_groups(request, strict=True)[:1]

    def score(pair: tuple[Hit, str]) -> tuple[float, int]:
        hit, sentence = pair
        s = 2.0 if polarity(sentence) is not None else 0.0
        s += 1.0 if hit.passage.recommendation_grade else 0.0
        about = f"{hit.passage.source_title} {hit.passage.section or ''}"
        s += 2.0 if key and groups_found(key, [about]) else 0.0  # the passage is about the item
        s += 0.3 * len(words & set(tokenize([sentence])[0]))
        return (-s, hit.rank)

    chosen: list[tuple[Hit, str]] = []
    for pair in sorted(tier.addressing, key=score):
        if all(pair[1] != c[1] for c in chosen):
            chosen.append(pair)
        if len(chosen) == limit:
            break
    return sorted(chosen, key=lambda pair: (pair[0].rank, pair[0].passage.ordinal))


def pick_criteria(
    tier: TierEvidence, already: list[tuple[Hit, str]], limit: int = 3
) -> list[tuple[Hit, str]]:
    """Sentences of the governing passages that set conditions (documentation, trials)."""
    taken = {s for _, s in already}
    out: list[tuple[Hit, str]] = []
    sources: dict[str, Hit] = {}
    for hit, _ in [*already, *tier.addressing]:
        sources.setdefault(hit.passage.id, hit)
    for hit in list(sources.values())[:3]:
        for sentence in split_sentences(hit.passage.text):
            if sentence in taken or SILENCE_RE.search(sentence):
                continue
            if _CRITERIA_RE.search(sentence) and len(sentence) < 400:
                out.append((hit, sentence))
                taken.add(sentence)
            if len(out) == limit:
                return out
    return out


def missing_documentation(criteria: list[tuple[Hit, str]], summary: str, request: str) -> list[str]:
    """Criteria whose key words appear nowhere in the case facts (nor in the request)."""
    affirmed = _NEGATED_RE.sub(" ", summary)  # 'no documented TENS trial' documents nothing
    known = set(tokenize([f"{affirmed} {request}"])[0])
    item = {w for g in item_groups(request) for p in g for w in p.split()}
    missing = []
    for _, sentence in criteria:
        lead = re.match(r"\s*[-*•]?\s*\*\*(.+?)\*\*", sentence)
        phrase = clean_sentence(lead.group(1) if lead else sentence).rstrip(".")
        words = set(tokenize([phrase])[0]) - _GENERIC_CRITERIA - item
        if "guideline" in phrase.lower():
            continue  # about applying the guideline, not a record to produce
        if words and not words & known:
            missing.append(phrase)
    return missing


def precedent_summary(evidence: Evidence) -> PrecedentSummary | None:
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


def precedent_sentence(evidence: Evidence) -> tuple[str, Hit] | None:
    """Quote the conclusion of the most similar prior determination."""
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
        text = (
            f'A prior IMR determination on a similar request ("{case.item}", {verdict}) '
            f'concluded: "{clean_sentence(conclusion)}" {cite(hit.passage.id)}'
        )
        return text, hit
    return None


def compose(
    evidence: Evidence, item: str, summary: str = ""
) -> tuple[list[str], Stance, DraftDecision, list[str], list[Passage], bool]:
    """Sentences of the rationale (with markers), stance, decision, missing documentation,
    the guideline passages relied on, and whether it abstained."""
    governing = evidence.governing
    sentences: list[str] = []
    if governing is None:
        sentences = [
            f"The loaded guidelines do not specifically address {item}.",
            "No decision is drafted; this item needs the reviewer's own review.",
        ]
        return sentences, Stance.NOT_ADDRESSED, DraftDecision.INSUFFICIENT_INFORMATION, [], [], True
    relied: list[Passage] = []
    for tier in evidence.tiers:
        if tier is governing:
            break
        if tier.silence:
            hit, sentence = tier.silence[0]
            sentences.append(
                f'{guideline_label(hit.passage)}: "{clean_sentence(sentence)}" '
                f"{cite(hit.passage.id)}"
            )
            relied.append(hit.passage)
    if governing.tier is not Tier.MTUS:
        sentences.append(evidence.sequence_note)
    statements = pick_statements(governing, evidence.request)
    for hit, sentence in statements:
        sentences.append(
            f'{guideline_label(hit.passage)} indicates: "{clean_sentence(sentence)}" '
            f"{cite(hit.passage.id)}"
        )
        relied.append(hit.passage)
    stance = stance_of(governing)
    criteria = pick_criteria(governing, statements) if stance is Stance.RECOMMENDED else []
    for hit, sentence in criteria:
        sentences.append(f'It also states: "{clean_sentence(sentence)}" {cite(hit.passage.id)}')
    missing = missing_documentation(criteria, summary, item) if summary or criteria else []
    if summary:
        sentences.append(f"The records provided describe: {summary.rstrip('.')}.")
    if missing:
        sentences.append(f"There was a lack of documentation of: {'; '.join(missing)}.")
    prior = precedent_sentence(evidence)
    if prior is not None:
        sentences.append(prior[0])
    if stance is Stance.RECOMMENDED and not missing:
        decision = DraftDecision.MEDICALLY_NECESSARY
    else:
        decision = DraftDecision.NOT_MEDICALLY_NECESSARY
    verdict = "is" if decision is DraftDecision.MEDICALLY_NECESSARY else "is not"
    sentences.append(f"Given the above, the request for {item} {verdict} medically necessary.")
    return sentences, stance, decision, missing, _unique(relied), False


def _unique(passages: list[Passage]) -> list[Passage]:
    seen: dict[str, Passage] = {}
    for p in passages:
        seen.setdefault(p.id, p)
    return list(seen.values())
