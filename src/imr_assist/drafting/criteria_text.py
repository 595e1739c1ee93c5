"""Criteria, checklist and limits as sentences: the criteria of a recommendation named as
clauses, the record's `CriterionCheck` results grouped into met / not met / not documented
(quoting the record clause that bears on each), and the amount requested against the
frequency / duration limits. Also the quoting primitives the writer shares with it (cleaning a
sentence, shortening a quote, citing the passage of a recommendation).

No LLM, nothing leaves the machine; the same input always gives the same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from imr_assist.citations import cite
from imr_assist.models import DraftDecision, Hit, Passage
from imr_assist.reasoning.decision import criterion_name
from imr_assist.reasoning.models import CriterionCheck, CriterionStatus, Reasoning, Recommendation
from imr_assist.text.sentences import split_sentences

MAX_QUOTE = 160
"""A record sentence or criterion longer than this is shortened at a word boundary."""

_VERB_RE = re.compile(
    r"\b(?:is|are|was|were|be|been|should|must|may|might|can|could|has|have|had|suggests?|"
    r"recommends?|includes?|requires?|needs?|shows?|lists?|names?|documents?|uses?|helps?)\b",
    re.I,
)
_SOURCE_WORDS_RE = re.compile(
    r"\b(?:guidelines?|evidence|studies|literature|mtus|acoem|odg)\b", re.I
)
_PREP_RE = re.compile(r"(?:when|if|where|unless|after|with|for|in|as|to|only|during)\b", re.I)
_NORMATIVE_RE = re.compile(
    r"\b(?:should|must|only|at\s+least|required|requires?|needs?|(?:is|are)\s+(?:documented|"
    r"listed|submitted|tried|present)|ha(?:s|ve)\s+(?:been|failed|lasted)|failed|candidate|"
    r"indicated|before|after|prior\s+to)\b",
    re.I,
)


def clean_sentence(sentence: str) -> str:
    """Markdown emphasis and list markers removed; quotes normalised for quoting."""
    s = re.sub(r"\*\*|__|(?<!\w)[*_](?!\s)|(?<!\s)[*_](?!\w)", "", sentence)
    s = re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", "", s)
    return " ".join(s.replace('"', "'").split())


def _short(text: str, limit: int = MAX_QUOTE) -> str:
    text = clean_sentence(text).rstrip(" .;:,")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")
    return f"{cut} ..."


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if len(text) > 1 and not text[1].isupper() else text


def _is_sentence(text: str) -> bool:
    """A whole sentence a reviewer can quote: capitalised, a verb, no 'Label:' head, no list."""
    return bool(
        text
        and text[0].isupper()
        and len(text.split()) >= 4
        and _VERB_RE.search(text)
        and not re.match(r"[^.:]{0,45}:\s", text)
        and not text.rstrip().endswith(":")
    )


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


# --------------------------------------------------------------------------- criteria

MAX_CRITERIA = 3
"""Criteria a rationale names; the full checklist is shown to the reviewer beside it."""


def _clause(criterion: str) -> tuple[str, str] | None:
    """(kind, words) of a criterion that reads well inside a sentence, or None: a bold-lead
    name ('quote', 'Components are listed'); a whole sentence or a lowercase clause ('that',
    'pain has lasted at least 3 months'); a noun phrase ('noun', 'documented functional
    improvement'); the terms of a recommendation ('quote', 'when tied to objective measures
    ...'). Headings, numbered lists, 'Label: value' lines and fragments that open on a verb
    ('include muscle spasm, ...') are left to the checklist shown beside the rationale."""
    if criterion.lstrip().startswith("**"):
        return "quote", criterion_name(criterion, 90)
    first = (split_sentences(clean_sentence(criterion)) or [""])[0].rstrip(" .;")
    if not first or len(first) > MAX_QUOTE or re.match(r"\(?\d+[.)]", first):
        return None
    if re.search(r"\brecommended\b", first, re.I):
        return None  # the guideline's own voice ('NSAIDs are recommended'), not a condition
    if _PREP_RE.match(first) and "," not in first:
        return ("quote", _lower_first(first)) if len(first.split()) >= 4 else None
    if first[0].isupper():
        sentence = _is_sentence(first) and _NORMATIVE_RE.search(first)
        return ("that", _lower_first(first)) if sentence else None
    if _VERB_RE.match(first) or re.match(r"\w+(?:ing|s)?\s+(?:of|to|with)\b", first):
        return None
    if not _VERB_RE.search(first):
        return "noun", first
    return ("that", first) if _NORMATIVE_RE.search(first) else None


def _as(clause: tuple[str, str], frame: str) -> str:
    """A criterion in one of three frames: 'include' (its criteria include ...), 'criterion'
    (does not meet the criterion ...), 'document' (do not document ...)."""
    kind, words = clause
    if kind == "that":
        if frame == "document":
            m = re.match(
                r"(.+?)\s+(?:is|are|was|were|has\s+been|have\s+been)\s+documented\b(.*)", words
            )
            return f"{m.group(1)}{m.group(2)}" if m else f"that {words}"
        return f"the criterion that {words}" if frame == "criterion" else f"that {words}"
    if kind == "noun":
        if frame == "criterion":
            return f"the criterion of {words}"
        return re.sub(r"^documented\s+", "", words) if frame == "document" else words
    if frame == "include":
        return f'"{words}"'
    return (
        f'that the criterion "{words}" is met'
        if frame == "document"
        else f'the criterion "{words}"'
    )


def _limit_phrase(criterion: str) -> tuple[str, str]:
    """('frequency, dose and duration', 'Two to three visits per week ...') from a limit line;
    the quote is the value's sentence that holds a number, '' when too long to quote."""
    text = clean_sentence(criterion)
    label, _, value = text.partition(":") if re.match(r"[^.:]{1,40}:", text) else ("", "", text)
    parts = [p.strip().lower() for p in re.split(r"/|,|\band\b", label) if p.strip()]
    name = (", ".join(parts[:-1]) + " and " + parts[-1]) if len(parts) > 1 else "".join(parts)
    sentences = split_sentences(value.strip()) or [value.strip()]
    numbered = [
        s for s in sentences if re.search(r"\d|\b(?:one|two|three|four|five|six)\b", s, re.I)
    ]
    quote = (numbered or sentences)[0].rstrip(" .")
    return name or "limits", quote if len(quote) <= 200 else ""


def _join(parts: list[str], word: str = "and") -> str:
    if len(parts) == 1:
        return parts[0]
    if any("," in p for p in parts):
        return f"{'; '.join(parts[:-1])}; {word} {parts[-1]}"
    return f"{', '.join(parts[:-1])} {word} {parts[-1]}"


_GENERIC = {"patie", "treat", "recor", "docum", "there", "which", "their"}


def _relevant(check: CriterionCheck, item: str) -> bool:
    """The record sentence shares a content word with the criterion beyond the item's own
    words: 'TENS used in clinic' does not meet 'a treatment plan with goals for the TENS unit'."""
    if not check.evidence:
        return False
    skip = {w[:5] for w in _words(item)} | _GENERIC
    mine = {w[:5] for w in _words(check.criterion) if len(w) > 3} - skip
    return bool(mine & {w[:5] for w in _words(check.evidence)})


def criteria_sentences(
    reasoning: Reasoning, rec: Recommendation, hits: Sequence[Hit], kind: str
) -> list[str]:
    """The criteria that decide, named in one cited sentence, then the record against them in
    grouped sentences: what it contradicts (quoting it), what it lacks, what it documents."""
    checks = reasoning.checklist
    item = reasoning.request.item or reasoning.request.text
    crit = [(c, _clause(c.criterion)) for c in checks if not c.is_limit]
    said = [(c, k) for c, k in crit if k]
    not_met = [(c, k) for c, k in said if c.status is CriterionStatus.NOT_MET]
    missing = [(c, k) for c, k in said if c.status is CriterionStatus.NOT_DOCUMENTED]
    met = [(c, k) for c, k in said if c.status is CriterionStatus.MET and _relevant(c, item)]
    named = [*not_met[:2], *missing[:2], *met][:MAX_CRITERIA]
    named.sort(key=lambda ck: checks.index(ck[0]))
    out: list[str] = []
    if named:
        which = "criterion is" if len(named) == 1 else "criteria include"
        source = " ".join(c.criterion for c, _ in named)
        listed = _join([_as(k, "include") for _, k in named])
        out.append(f"Its {which} {listed}.{_cite(rec, hits, source)}")
    record = "The record" if kind == "draft" else "As described, the request"
    for c, k in [x for x in named if x in not_met]:
        text = f"{record} does not meet {_as(k, 'criterion')}"
        text += f': "{_record_quote(c)}."' if _relevant(c, item) else "."
        out.append(_cited_if_sourced(text, rec, hits, c.criterion))
    gaps = [_as(k, "document") for c, k in named if (c, k) in missing]
    unnamed_gap = any(c.status is CriterionStatus.NOT_DOCUMENTED for c, k in crit if not k)
    if kind == "draft" and (gaps or unnamed_gap):
        what = _join(gaps, "or") if gaps else "that its criteria are met"
        out.append(_cited_if_sourced(f"The records provided do not document {what}.", rec, hits))
    elif gaps or unnamed_gap:
        these = "these" if named else "its"
        out.append(f"The question does not say whether {these} criteria are met.")
    quotes = list(dict.fromkeys(f'"{_record_quote(c)}"' for c, k in named if (c, k) in met))
    if kind == "draft" and quotes:
        out.append(f"The record documents {' and '.join(quotes[:2])}.")
    out += _limit_sentences(reasoning, rec, hits, kind, bool(gaps or unnamed_gap))
    return out


def _limit_sentences(
    reasoning: Reasoning, rec: Recommendation, hits: Sequence[Hit], kind: str, said_gap: bool
) -> list[str]:
    """The amount requested against the first frequency / duration limit that decides."""
    limits = [c for c in reasoning.checklist if c.is_limit]
    over = next((c for c in limits if c.status is CriterionStatus.NOT_MET), None)
    if over is not None:
        name, quote = _limit_phrase(over.criterion)
        said = f': "{quote}."' if quote else "."
        return [f"The amount requested exceeds its {name}{said}{_cite(rec, hits, over.criterion)}"]
    within = next((c for c in limits if c.status is CriterionStatus.MET), None)
    if within is not None and reasoning.decision is DraftDecision.MEDICALLY_NECESSARY:
        name, quote = _limit_phrase(within.criterion)
        said = f' ("{quote}")' if quote else ""
        return [
            f"The amount requested is within its {name}{said}.{_cite(rec, hits, within.criterion)}"
        ]
    unstated = next((c for c in limits if c.status is CriterionStatus.NOT_DOCUMENTED), None)
    if unstated is not None and kind == "draft" and not said_gap:
        name, _ = _limit_phrase(unstated.criterion)
        return [
            "The records provided do not document the amount requested, to compare with its "
            f"{name}."
        ]
    return []


def _record_quote(check: CriterionCheck) -> str:
    """The part of the record sentence that bears on the criterion: of 'A; B; C' the clause
    sharing most words with it, whole (a record is quoted, never cut mid-clause)."""
    evidence = clean_sentence(check.evidence or "").rstrip(" .;")
    parts = [p.strip() for p in evidence.split(";") if p.strip()] or [evidence]
    wanted = {w[:5] for w in _words(check.criterion)}
    best = max(parts, key=lambda p: len(wanted & {w[:5] for w in _words(p)}))
    return best if len(best) <= 2 * MAX_QUOTE else _short(best, 2 * MAX_QUOTE)


def _cited_if_sourced(
    text: str, rec: Recommendation, hits: Sequence[Hit], criterion: str | None = None
) -> str:
    """A record sentence that carries guideline words ('no evidence of fracture') cites the
    passage of the criterion, so verification checks it instead of flagging it uncited."""
    if not _SOURCE_WORDS_RE.search(text):
        return text
    return f"{text}{_cite(rec, hits, criterion)}"


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


__all__ = [
    "MAX_CRITERIA",
    "MAX_QUOTE",
    "checklist_lines",
    "clean_sentence",
    "criteria_sentences",
]
