"""The offline grounded composer: a deterministic drafter that needs no LLM.

It quotes the sentences of the governing evidence that name the requested item (verbatim, so
faithful by construction), each with its citation marker; reads the direction of the
recommendation; checks the guideline's conditions against the case facts; quotes the closest
prior determination; and closes in the IMR form. It abstains when nothing addresses the item.
"""

from __future__ import annotations

import re

from imr_assist.citations import cite, format_pages
from imr_assist.drafting.evidence import SILENCE_RE, Evidence, TierEvidence
from imr_assist.drafting.models import PrecedentSummary
from imr_assist.models import DraftDecision, Hit, Passage, Stance, Tier
from imr_assist.retrieval.hybrid import groups_found, item_groups, normalize_request
from imr_assist.text.polarity import stance as polarity
from imr_assist.text.sentences import split_sentences
from imr_assist.text.tokens import tokenize

DRAFTER_NAME = "offline-composer"

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


_POPULATION_RE = re.compile(r"\b(acute|chronic)\b", re.IGNORECASE)


def _fits(sentence: str, request: str) -> bool:
    """False when the sentence is about another body region or another population (acute vs
    chronic) than the request names: 'not recommended for the knee' says nothing about a
    lumbar request, nor a chronic-pain recommendation about acute pain."""
    if request:
        asked = normalize_request(request).body_region
        said = normalize_request(sentence).body_region
        if asked and said and "general" not in (asked, said) and asked != said:
            return False
        want = {m.lower() for m in _POPULATION_RE.findall(request)}
        have = {m.lower() for m in _POPULATION_RE.findall(sentence)}
        if len(want) == 1 and have and not want & have:
            return False
    return True


def stance_of(tier: TierEvidence | None, request: str = "") -> Stance:
    """A recommendation's printed grade decides; otherwise the first directed sentence.

    Sentences about another body region or population than the request are passed over; among
    graded recommendations the one whose sentence shares most words with the request wins
    (rank breaks ties), so 'acupuncture for chronic LBP' reads Rec 34, not Rec 35 (acute)."""
    if tier is None:
        return Stance.NOT_ADDRESSED
    fitting = [(h, s) for h, s in tier.addressing if _fits(s, request)] or tier.addressing
    words = set(tokenize([request])[0])
    graded = [(h, s) for h, s in fitting if h.passage.recommendation_grade in _GRADES]
    if graded:
        hit, _ = max(graded, key=lambda p: (len(words & set(tokenize([p[1]])[0])), -p[0].rank))
        return _GRADES[hit.passage.recommendation_grade or ""]
    for _, sentence in fitting:
        found = clause_polarity(sentence, request)
        if found is not None:
            return found
    return Stance.INSUFFICIENT_EVIDENCE


_CLAUSE_SPLIT_RE = re.compile(r";|,\s+(?:but|whereas|while)\s+|\s+whereas\s+", re.IGNORECASE)


def clause_polarity(sentence: str, request: str) -> Stance | None:
    """Direction of the clause that is about the request: in "Bands, a ball and written
    instructions fit 'an option'; powered machines ... are generally not covered" a request for
    bands and a ball meets the first clause, not the second. The clause sharing most of the
    request's words decides when it has a direction; otherwise the whole sentence does."""
    clauses = [c for c in _CLAUSE_SPLIT_RE.split(sentence) if c.strip()]
    words = set(tokenize([request])[0])
    if len(clauses) > 1 and words:
        overlap = [len(words & set(t)) for t in tokenize(clauses)]
        best = max(overlap)
        if best and overlap.count(best) == 1:
            found = polarity(clauses[overlap.index(best)])
            if found is not None:
                return found
    return polarity(sentence)


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

    fitting = [(h, s) for h, s in tier.addressing if _fits(s, request)] or tier.addressing
    chosen: list[tuple[Hit, str]] = []
    for pair in sorted(fitting, key=score):
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


_FRAME_RE = re.compile(r"guideline|\bmtus\b|\bodg\b|\bacoem\b|\bccr\b|paraphras", re.I)
_PREPOSITION_RE = re.compile(r"(?:after|before|during|with|for|at|on)\b", re.I)
_ADVICE_RE = re.compile(r"^(?:keep|look|list|say|use|check|cite|ask|see|note|apply)\b", re.I)
_ABOUT_WRITING_RE = re.compile(r"\b(?:rationale|reviewers?|cite[sd]?|citation)\b", re.I)
_DOSE_RE = re.compile(
    r"\b\d+\s*(?:-\s*\d+\s*)?(?:visits?|sessions?|treatments?|weeks?|times?)\b", re.I
)
_CONDITION_RE = re.compile(r"\b(?:only if|if|unless|provided that|as long as)\s+(.+)", re.I)
_DOCUMENTED_RE = re.compile(
    r"(.+?)\s+(?:is|are|was|were|has been|have been)\s+(?:documented|listed|identified|"
    r"stated|specified|submitted|recorded|shown)\b[,;]?\s*(.*)",
    re.I,
)


def _criterion_text(sentence: str) -> str:
    """The condition a criterion sentence sets, without its citation frame or bold lead."""
    # the digests bold what a criterion requires ("A **one-month home-based trial** may be
    # considered ... only if"), at the start of a bullet or inside the sentence
    lead = re.search(r"\*\*(.+?)\*\*(.*)", sentence)
    text = clean_sentence(sentence)
    if lead:  # a bold lead names the criterion, unless it is only a time or a preposition
        short = _PREPOSITION_RE.match(lead.group(1).strip()) and lead.group(2).strip()
        text = clean_sentence(lead.group(2) if short else lead.group(1))
    text = text.rstrip(".;: ")
    head, colon, rest = text.partition(":")
    if colon and rest.strip() and _FRAME_RE.search(head):
        text = rest.strip()  # 'MTUS ..., 8 CCR 9792.24.1, paraphrased: acupuncture may ...'
    return text


def documentation_phrase(criterion: str) -> str:
    """A criterion as the record a reviewer would need: 'acupuncture may be extended ... only
    if functional improvement is documented as defined in ...' -> 'functional improvement as
    defined in ...'; 'Components are listed' -> 'components'."""
    text = _criterion_text(criterion)
    condition = _CONDITION_RE.search(text)
    if condition:
        text = condition.group(1)
    documented = _DOCUMENTED_RE.match(text)
    if documented:
        text = f"{documented.group(1)} {documented.group(2)}".strip()
    text = text.rstrip(".;:, ")
    if len(text) > 1 and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


def _missing(
    criteria: list[tuple[Hit, str]], summary: str, request: str
) -> list[tuple[Hit, str, str]]:
    """(hit, criterion sentence, documentation phrase) for each criterion whose key words
    appear nowhere in the case facts (nor in the request)."""
    affirmed = _NEGATED_RE.sub(" ", summary)  # 'no documented TENS trial' documents nothing
    known = set(tokenize([f"{affirmed} {request}"])[0])
    item = {w for g in item_groups(request) for p in g for w in p.split()}
    out = []
    for hit, sentence in criteria:
        text = _criterion_text(sentence)
        if "guideline" in text.lower() or _ABOUT_WRITING_RE.search(text) or _ADVICE_RE.match(text):
            continue  # about applying the guideline or writing the rationale, not a record
        if polarity(sentence) is Stance.NOT_RECOMMENDED:
            continue  # describes a denial ('more is not supported'), not a record to produce
        plain = clean_sentence(sentence)
        if _DOSE_RE.search(plain) and not _CONDITION_RE.search(plain):
            continue  # a dose ('a trial of 6 visits over 2 weeks') limits the request itself
        phrase = documentation_phrase(sentence)  # what must be on record, not the frame
        words = {w for w in tokenize([phrase])[0] if not w[0].isdigit()}
        words -= _GENERIC_CRITERIA | item  # numbers are locators or counts, not records
        if words and not words & known:
            out.append((hit, sentence, phrase))
    return out


_DENIAL_LEAD_RE = re.compile(r"^\s*[-*•]?\s*\*\*([^*]+?):?\*\*:?\s*(.*)", re.S)
_CARE_WORDS = set(tokenize(["care treatment therapy visits visit request requests"])[0])


def applicable_denials(
    tier: TierEvidence, request: str, summary: str, limit: int = 3
) -> list[tuple[Hit, str]]:
    """Denial criteria of the governing passages that the case itself meets.

    A digest states some limits as a labelled case ("**Elective or maintenance care:** not
    medically necessary"); when a word naming that case ('maintenance') is affirmed in the
    request or the record ('Requested as maintenance care', not 'no maintenance'), the item is
    not medically necessary whatever the general recommendation says. Each case named in the
    label must be affirmed with all its own words ('axial low back pain only' is not met by
    'leg pain' and 'back')."""
    affirmed = _NEGATED_RE.sub(" ", summary)
    known = set(tokenize([f"{affirmed} {request}"])[0])
    sources: dict[str, Hit] = {}
    for hit, _ in tier.addressing:
        sources.setdefault(hit.passage.id, hit)
    out: list[tuple[Hit, str]] = []
    for hit in list(sources.values())[:limit]:
        for sentence in split_sentences(hit.passage.text):
            lead = _DENIAL_LEAD_RE.match(sentence)
            if lead is None or polarity(lead.group(2)) is not Stance.NOT_RECOMMENDED:
                continue
            # "Elective or maintenance care": either case; each case needs all its own words
            cases = re.split(r"\s+or\s+|,\s*", lead.group(1))
            for case in cases:
                names = set(tokenize([case])[0]) - _CARE_WORDS - _GENERIC_CRITERIA
                if names and names <= known:
                    out.append((hit, sentence))
                    break
    return out


def missing_documentation(criteria: list[tuple[Hit, str]], summary: str, request: str) -> list[str]:
    """The documentation whose absence decides the outcome, as reviewer phrases."""
    return list(dict.fromkeys(phrase for _, _, phrase in _missing(criteria, summary, request)))


def missing_sentence(phrases: list[str]) -> str | None:
    """'Documentation of X would be needed to support the request.' (None when nothing is)."""
    if not phrases:
        return None
    if len(phrases) == 1:
        return f"Documentation of {phrases[0]} would be needed to support the request."
    return (
        "Documentation of the following would be needed to support the request: "
        + "; ".join(phrases)
        + "."
    )


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


MAX_SENTENCES = 8
"""Most sentences in a drafted rationale: what a reviewer signs, not everything retrieved."""
MAX_CHARS = 1200
"""Optional evidence quotes stop once the rationale would pass this many characters."""


def compose(
    evidence: Evidence, item: str, summary: str = ""
) -> tuple[list[str], Stance, DraftDecision, list[str], list[Passage], bool]:
    """Sentences of the rationale (with markers), stance, decision, missing documentation,
    the guideline passages relied on, and whether it abstained.

    The rationale is capped at MAX_SENTENCES (and, for optional quotes, MAX_CHARS). Always
    kept: the silence of the first tier above the governing one, the order-of-authority note,
    the governing statement, the record, the missing documentation with the criteria it comes
    from, the precedent and the conclusion; then further statements, silences and criteria
    while the budget allows. Sentences keep their canonical order."""
    governing = evidence.governing
    if governing is None:
        sentences = [
            f"The loaded guidelines do not specifically address {item}.",
            "No decision is drafted; this item needs the reviewer's own review.",
        ]
        return sentences, Stance.NOT_ADDRESSED, DraftDecision.INSUFFICIENT_INFORMATION, [], [], True
    silences = [
        (
            hit,
            f'{guideline_label(hit.passage)}: "{clean_sentence(sentence)}" {cite(hit.passage.id)}',
        )
        for tier in evidence.tiers[: evidence.tiers.index(governing)]
        if tier.silence
        for hit, sentence in tier.silence[:1]
    ]
    picked = pick_statements(governing, evidence.request)
    statements = [
        (
            hit,
            f'{guideline_label(hit.passage)} indicates: "{clean_sentence(sentence)}" '
            f"{cite(hit.passage.id)}",
        )
        for hit, sentence in picked
    ]
    stance = stance_of(governing, item)
    criteria = pick_criteria(governing, picked) if stance is Stance.RECOMMENDED else []
    lacking = _missing(criteria, summary, item) if summary or criteria else []
    missing = list(dict.fromkeys(phrase for _, _, phrase in lacking))
    backing = {sentence for _, sentence, _ in lacking}
    quoted = [
        (hit, f'It also states: "{clean_sentence(sentence)}" {cite(hit.passage.id)}', sentence)
        for hit, sentence in criteria
    ]
    denials = applicable_denials(governing, item, summary)
    quoted += [
        (hit, f'It also states: "{clean_sentence(sentence)}" {cite(hit.passage.id)}', sentence)
        for hit, sentence in denials
    ]
    backing |= {sentence for _, sentence in denials}  # the reason for the decision: kept
    if stance is Stance.RECOMMENDED and not missing and not denials:
        decision = DraftDecision.MEDICALLY_NECESSARY
    else:
        decision = DraftDecision.NOT_MEDICALLY_NECESSARY
    verdict = "is" if decision is DraftDecision.MEDICALLY_NECESSARY else "is not"
    prior = precedent_sentence(evidence)
    tail = [
        *([f"The records provided describe: {summary.rstrip('.')}."] if summary else []),
        *([m] if (m := missing_sentence(missing)) else []),
        *([prior[0]] if prior else []),
        f"Given the above, the request for {item} {verdict} medically necessary.",
    ]
    note = [evidence.sequence_note] if governing.tier is not Tier.MTUS else []
    # priority: what must be said first, then what the budget allows
    keep: list[str] = [*(s for _, s in silences[:1]), *(s for _, s in statements[:1])]
    keep += [s for _, s, raw in quoted if raw in backing]
    optional = [s for _, s in statements[1:]] + [s for _, s in silences[1:]]
    optional += [s for _, s, raw in quoted if raw not in backing]
    fixed = len(note) + len(tail)
    for sentence in optional:
        size = sum(len(x) + 1 for x in [*note, *tail, *keep, sentence])
        if fixed + len(keep) + 1 > MAX_SENTENCES or size > MAX_CHARS:
            break
        keep.append(sentence)
    chosen = set(keep)
    body = [s for _, s in silences if s in chosen] + note
    body += [s for _, s in statements if s in chosen]
    body += list(dict.fromkeys(s for _, s, _ in quoted if s in chosen))
    relied = [h.passage for h, s in [*silences, *statements] if s in chosen]
    return [*body, *tail], stance, decision, missing, _unique(relied), False


def _unique(passages: list[Passage]) -> list[Passage]:
    seen: dict[str, Passage] = {}
    for p in passages:
        seen.setdefault(p.id, p)
    return list(seen.values())
