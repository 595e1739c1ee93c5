"""Verification of a drafted rationale against the evidence it cites. Pure apart from the embedder.

`verify(draft, evidence)` splits the draft into sentences (a citation marker written after the
period, "... recommended. [3f2a9c1b0d4e]", belongs to the sentence before it) and checks each:

Cited sentences. Ids not among the evidence are reported (`unknown_ids`, and the report's
`fabricated_ids`), never stripped; a sentence citing only unknown ids is unsupported. Otherwise
every sentence of every cited passage is a candidate span, scored against the draft sentence
(citation markers and locators removed)::

    score = (w_emb * max(cosine, 0) + w_lex * coverage + w_num * numbers) / (sum of used weights)

with (w_emb, w_lex, w_num) = (0.5, 0.4, 0.1) given an embedder, (0, 0.85, 0.15) without one
(lexical only, said in the notes). `coverage` is the share of the sentence's stemmed content words
(stopwords, citation-frame words such as "MTUS", "guidelines", "states" and the words of the cited
passages' titles removed) that occur in the span; `numbers` is the share of the sentence's numbers
found in the span (the weight is dropped when the sentence states no number). The best span wins.
All spans and sentences are embedded in ONE `embed_documents` call per `verify()`.

Verdict: unsupported on a polarity conflict (recommended / not recommended / insufficient evidence,
read by `text.polarity`, disagree between sentence and span) or a number conflict (a number found
in no cited passage while the span states a different number of the same kind: "12 visits" vs
"9-10 visits"); otherwise supported at score >= `supported`, weak at >= `weak`, else
unsupported. A number found in no cited passage and with no rival in the span caps the verdict at
weak; one found in the passage but outside the span is only noted. Locators are not claims and
are ignored: page references ("pp. 114-116", "Page(s): 287-289", and a parenthetical holding
one), "Chapter 12", "Rec 9", "Table 3", years, dates, "8 CCR 9792.21.1", "Labor Code 4604.5".

Uncited sentences, first matching rule wins:

1. conclusion ("Given the above, the request for X is not medically necessary.") -> not_checked;
2. procedural ("MTUS does not specifically address X; secondary guidelines were consulted.")
   -> not_checked;
3. restates the record: given the case summary (`record=`), a sentence naming no guideline or
   evidence whose content words the summary covers (>= 70% within one summary sentence, and
   >= 50% of its consecutive content-word pairs occur in the summary in that order) and whose
   numbers all occur in the summary -> not_checked with `restates_record` (an invented
   "reduces re-injury by 40%" shares neither the pairs nor the number);
4. record fact (about the patient or the records: "The patient has completed 12 visits.",
   "There was a lack of documentation of ...") naming no guideline or evidence -> not_checked;
5. guideline or evidence assertion (names a guideline, evidence or studies; says recommend,
   suggest, indicate(s), state(s), support(s), effective, medically necessary; or states a
   number) -> uncited;
6. anything else (headings, transitions) -> not_checked.

`verify_draft` also reads the decision the text's conclusion states (`read_conclusion`) and
compares it with the selected decision both ways (`decision_conflicts`): a conclusion that
contradicts the decision, conclusions that disagree with each other, or a decided item whose text
states no conclusion. The report carries them in `decision_conflicts`; no override accepts them.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field

from imr_assist.citations import CITATION_RE, extract_citation_ids
from imr_assist.index.embedding import embed_cached
from imr_assist.models import (
    DraftDecision,
    Passage,
    SentenceCheck,
    StrictModel,
    Tier,
    Verdict,
    VerificationReport,
)
from imr_assist.retrieval.authority import GUIDANCE_TIERS
from imr_assist.text.polarity import Polarity, polarity
from imr_assist.text.sentences import cited_sentences, split_sentences
from imr_assist.text.tokens import tokenize

_WEIGHTS_DENSE = (0.5, 0.4, 0.1)
_WEIGHTS_LEXICAL = (0.0, 0.85, 0.15)
_FRAME_WORDS = "according per states stated indicates noted guideline guidelines mtus acoem odg cpg"


class VerifyThresholds(StrictModel):
    """Score cut-offs of the verdicts (the score is 0..1, see the module docstring)."""

    model_config = ConfigDict(frozen=True)
    supported: float = Field(
        default=0.55, description="Score at or above which a sentence is supported"
    )
    weak: float = Field(default=0.35, description="Score at or above which it is weakly supported")


_CLAUSE_RE = re.compile(r"[;:]|,?\s+\b(?:but|however|whereas|although|though|while|except)\b")


# --------------------------------------------------------------------------- numbers

_SPELLED_WORDS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen \
fifteen sixteen seventeen eighteen nineteen twenty"
_SPELLED = _SPELLED_WORDS.split()
_SPELLED_RE = re.compile(rf"\b({'|'.join(_SPELLED)})\b(?=(-[a-z]|\s+[a-z]+)?)", re.I)
_UNIT_WORDS = "visit session week day month year hour minute injection level treatment mg mcg ml \
time dose tablet trial unit block procedure refill"
_UNITS = set(_UNIT_WORDS.split())
_NUM_RE = re.compile(
    r"(?<![\w.])(?P<a>\d+(?:\.\d+)?)(?:\s*(?P<op>-|to\b|/|x)\s*(?P<b>\d+(?:\.\d+)?))?(?P<pct>\s*%)?"
)
_LOCATOR_RE = re.compile(
    r"""\((?=[^()]*\b(?:pp?\.|pages?|page\(s\)):?\s*\d)[^()]*\)
    | \b(?:pp?\.|pages?|page\(s\)):?\s*\d+(?:\s*[-–]\s*\d+)?
    | \b(?:chapter|ch\.|rec\.?|recommendation|table|figure|fig\.|appendix|section|§)\s*\d+[\w.]*
    | \b\d+\s*ccr\s*§?\s*[\d.]+\d | \blabor\s+code\s*§?\s*[\d.]+\d
    | \b\d{1,2}/\d{1,2}/\d{2,4}\b | \b(?:19[5-9]\d|20[0-4]\d)\b""",
    re.I | re.X,
)


@dataclass(frozen=True)
class _Num:
    text: str  # digits and unit, for notes
    canonical: str
    values: frozenset[str]
    shape: str  # single, range, ratio, times, percent
    unit: str | None


def _clean(text: str) -> str:
    """Text without citation markers and locators."""
    return " ".join(_LOCATOR_RE.sub(" ", CITATION_RE.sub(" ", text)).split())


def _spell(match: re.Match[str]) -> str:
    word, after = match.group(1).lower(), match.group(2) or ""
    unit = after.strip(" -").rstrip("s")
    if word == "one" and not (after.startswith("-") or unit in _UNITS):
        return match.group(0)  # "one of", "one or more": a pronoun, not a count
    return str(_SPELLED.index(word) + 1)


def _norm(value: str) -> str:
    return value.rstrip("0").rstrip(".") if "." in value else value.lstrip("0") or "0"


@functools.lru_cache(maxsize=4096)
def _numbers(text: str) -> tuple[_Num, ...]:
    """Numeric claims of cleaned text: '9-10 visits', '10/325', '2x6', '30%', 'one-month'."""
    text = _SPELLED_RE.sub(_spell, text.replace("–", "-").replace("×", "x"))
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", re.sub(r"\s*percent\b", "%", text, flags=re.I))
    out: list[_Num] = []
    for m in _NUM_RE.finditer(text.lower()):
        a, op, b = _norm(m["a"]), m["op"], m["b"] and _norm(m["b"])
        shape = {"-": "range", "to": "range", "/": "ratio", "x": "times"}.get(op or "", "single")
        if m["pct"] and shape == "single":
            shape = "percent"
        sep = {"range": "-", "ratio": "/", "times": "x"}.get(shape, "")
        canonical = f"{a}{sep}{b or ''}{'%' if m['pct'] else ''}"
        words = re.findall(r"[a-z]+", text[m.end() : m.end() + 40].lower())[:3]
        units = [w.rstrip("s") for w in words if w.rstrip("s") in _UNITS or w in _UNITS]
        unit = units[0] if units and text[m.end() : m.end() + 1] in " -" else None
        values = frozenset(v for v in (a, b) if v)
        shown = f"{m.group(0).strip()} {unit}" if unit else m.group(0).strip()
        out.append(_Num(shown, canonical, values, shape, unit))
    return tuple(out)


def _present(num: _Num, nums: Sequence[_Num]) -> bool:
    if any(n.canonical == num.canonical for n in nums):
        return True
    pool = {v for n in nums for v in n.values}
    return num.shape in ("single", "range") and num.values <= pool


def _same_kind(a: _Num, b: _Num) -> bool:
    """'12 visits' vs '9-10 visits' (same unit), '30%' vs '50%' (no unit, same shape)."""
    return a.unit == b.unit if a.unit or b.unit else a.shape == b.shape


# --------------------------------------------------------------------------- uncited sentences

_CONCLUSION_RE = re.compile(
    r"\b(?:given|based\s+on|in\s+view\s+of|therefore|thus|consequently|accordingly|as\s+such)\b"
    r".*\b(?:request|medically\s+necessary)\b|\bthe\s+request\s+(?:for\s+.+\s+)?(?:is|was)\s+"
    r"(?:not\s+)?(?:medically\s+necessary|appropriate|certified|non-?certified|upheld|overturned)"
    r"|\bhas\s+determined\b",
    re.I,
)
_PROCEDURAL_RE = re.compile(
    r"\b(?:does|do|did)\s+not\s+(?:specifically\s+)?address\b|\bnot\s+(?:specifically\s+)?"
    r"addressed\b|\bsecondary\s+guidelines?\b|\b(?:was|were)\s+consulted\b|\bsilent\s+on\b",
    re.I,
)
_RECORD_RE = re.compile(
    r"^(?:the\s+|this\s+)?(?:patient|injured\s+worker|claimant|employee|applicant|provider|"
    r"treating\s+\w+|physician|(?:medical\s+)?records?|documentation|progress\s+(?:note|report)s?|"
    r"mri|ct|x-rays?|imaging|(?:physical\s+)?exam\w*|utilization\s+review)\b|^(?:he|she)\s"
    r"|\b(?:no|lack\s+of|absence\s+of)\s+(?:\w+\s+){0,3}?documentation\b|\b(?:was|were)\s+(?:not\s+)?"
    r"documented\b|\bthe\s+(?:patient|injured\s+worker|claimant)\s+(?:has|had|was|is|reported|"
    r"underwent|completed|received|continues|presented|complains|denies)\b",
    re.I,
)
RESTATES_RECORD = "restates the case summary (the record)"
CONTRADICTS_DECISION = "conclusion contradicts the decision"
_SOURCE_RE = re.compile(
    r"\b(?:guidelines?|mtus|acoem|odg|cpg|va/dod|evidence|studies|literature|randomi[sz]ed|"
    r"systematic\s+reviews?|meta-analys[ie]s)\b",
    re.I,
)
_CLAIM_RE = re.compile(
    r"\b(?:recommend\w*|suggest\w*|indicates?|indicated|states?|supports?|supported|effective\w*|"
    r"efficacy|beneficial|medically\s+necessary|first-line)\b",
    re.I,
)


RECORD_COVERAGE = 0.7
"""Share of an uncited sentence's content words one summary sentence must hold (rule 3)."""
RECORD_PAIRS = 0.5
"""Share of its consecutive content-word pairs the summary must hold in that order (rule 3)."""


class _Record:
    """The case summary as content words per sentence, word pairs, and numbers."""

    def __init__(self, summary: str) -> None:
        sentences = split_sentences(summary) or [summary]
        cleaned = [_clean(x) for x in sentences]
        words = tokenize(cleaned) if cleaned else []
        self.sentences = [{t for t in ts if not t.isdigit()} for ts in words]
        self.pairs = {p for ts in words for p in _pairs(ts)}
        self.numbers = tuple(n for x in cleaned for n in _numbers(x))

    def restated(self, clean: str) -> bool:
        """True when `clean` (an uncited sentence, cleaned) restates the summary."""
        if _SOURCE_RE.search(clean):
            return False
        [words] = tokenize([clean])
        content = {t for t in words if not t.isdigit()}
        pairs = _pairs(words)
        if len(content) < 2 or not pairs or not self.sentences:
            return False
        coverage = max(len(content & s) / len(content) for s in self.sentences)
        paired = sum(p in self.pairs for p in pairs) / len(pairs)
        numbers = all(_present(n, self.numbers) for n in _numbers(clean))
        return coverage >= RECORD_COVERAGE and paired >= RECORD_PAIRS and numbers


def _pairs(tokens: Sequence[str]) -> list[tuple[str, str]]:
    words = [t for t in tokens if not t.isdigit()]
    return list(itertools.pairwise(words))


def _classify_uncited(text: str, record: _Record | None = None) -> tuple[Verdict, str]:
    clean = _clean(text)
    if _CONCLUSION_RE.search(clean):
        return Verdict.NOT_CHECKED, "conclusion"
    if _PROCEDURAL_RE.search(clean):
        return Verdict.NOT_CHECKED, "procedural (order of authority)"
    if record is not None and record.restated(clean):
        return Verdict.NOT_CHECKED, RESTATES_RECORD
    source = bool(_SOURCE_RE.search(clean))
    if _RECORD_RE.search(clean) and not source:
        return Verdict.NOT_CHECKED, "record fact"
    if source or _CLAIM_RE.search(clean) or _numbers(clean):
        return Verdict.UNCITED, "factual claim without a citation"
    return Verdict.NOT_CHECKED, "not a factual claim"


# --------------------------------------------------------------------------- the check


def _focus(text: str, other: set[str]) -> frozenset[Polarity]:
    """Polarity of the clause(s) of `text` whose words `other` shares most (by share, ties
    united): in "X is not recommended, but a trial may be considered" a sentence about the
    trial meets the clause without a direction, not the negative one."""
    clauses = [c for c in _CLAUSE_RE.split(text) if c.strip()]
    if len(clauses) < 2:
        return polarity(text)
    overlaps = [len(set(t) & other) / len(set(t)) if t else 0.0 for t in tokenize(clauses)]
    top = max(overlaps)
    return frozenset().union(
        *(polarity(c) for c, n in zip(clauses, overlaps, strict=True) if n == top)
    )


@functools.cache
def _frame() -> frozenset[str]:
    return frozenset(tokenize([_FRAME_WORDS])[0])


class _Scorer:
    """Spans of the cited passages, tokenised and embedded once per `verify()` call."""

    def __init__(
        self,
        sentences: list[str],
        cited: list[list[str]],
        by_id: dict[str, Passage],
        embedder: Embeddings | None,
    ) -> None:
        self.spans = {
            p: split_sentences(by_id[p].text) or [by_id[p].text]
            for ids in cited
            for p in ids
            if p in by_id
        }
        self.keys = [(p, j) for p, items in self.spans.items() for j in range(len(items))]
        rows = [i for i, ids in enumerate(cited) if any(p in by_id for p in ids)]
        self.row = {i: n for n, i in enumerate(rows)}
        self.clean = [_clean(sentences[i]) for i in rows]
        self.span_clean = [_clean(self.spans[p][j]) for p, j in self.keys]
        texts = self.clean + self.span_clean
        tokens = [{t for t in ts if not t.isdigit()} for ts in tokenize(texts)] if texts else []
        self.tokens, self.span_tokens = tokens[: len(rows)], tokens[len(rows) :]
        titles = tokenize([_title(by_id[p]) for p in self.spans]) if self.spans else []
        self.titles = {p: set(t) for p, t in zip(self.spans, titles, strict=True)}
        self.sims: np.ndarray | None = None
        if embedder is not None and texts:
            vectors = embed_cached(embedder, texts)
            self.sims = np.clip(vectors[: len(rows)] @ vectors[len(rows) :].T, 0.0, 1.0)
        self.weights = _WEIGHTS_DENSE if embedder is not None else _WEIGHTS_LEXICAL

    def best(self, i: int, known: list[str]) -> tuple[float, int]:
        """(score, span key index) of the best span among the known cited passages."""
        n, nums = self.row[i], _numbers(self.clean[self.row[i]])
        words = self.tokens[n] - _frame() - set().union(*(self.titles[p] for p in known))
        w_emb, w_lex, w_num = self.weights
        best = (-1.0, 0)
        for k, (pid, _) in enumerate(self.keys):
            if pid not in known:
                continue
            parts = [(w_lex, len(words & self.span_tokens[k]) / len(words) if words else 0.0)]
            if self.sims is not None:
                parts.append((w_emb, float(self.sims[n, k])))
            if nums:
                found = sum(_present(x, _numbers(self.span_clean[k])) for x in nums)
                parts.append((w_num, found / len(nums)))
            score = sum(w * x for w, x in parts) / sum(w for w, _ in parts)
            if score > best[0]:
                best = (score, k)
        return best


def _check_cited(
    scorer: _Scorer, i: int, known: list[str], by_id: dict[str, Passage], limits: VerifyThresholds
) -> dict[str, Any]:
    """Verdict fields of a sentence citing at least one known passage."""
    score, k = scorer.best(i, known)
    pid, j = scorer.keys[k]
    clean, span_clean = scorer.clean[scorer.row[i]], scorer.span_clean[k]
    notes = [] if scorer.sims is not None else ["lexical scoring only (no embedder)"]
    s_pol = _focus(clean, scorer.span_tokens[k])
    p_pol = _focus(span_clean, scorer.tokens[scorer.row[i]])
    pol_conflict = bool(s_pol and p_pol and s_pol.isdisjoint(p_pol))
    if pol_conflict:
        said = "/".join(sorted(s_pol)), "/".join(sorted(p_pol))
        notes.append(f"polarity conflict: sentence is {said[0]}, cited span is {said[1]}")
    num_conflict = missing = False
    span_nums = _numbers(span_clean)
    for num in _numbers(clean):
        if _present(num, span_nums):
            continue
        hosts = [p for p in known if _present(num, _numbers(_clean(_passage_text(by_id[p]))))]
        rivals = [n.text for n in span_nums if _same_kind(num, n)]
        if hosts:
            notes.append(f"number '{num.text}' found in [{hosts[0]}] outside the matched span")
        elif rivals:
            num_conflict = True
            notes.append(f"number conflict: '{num.text}' vs '{rivals[0]}' in the cited span")
        else:
            missing = True
            notes.append(f"number '{num.text}' not found in the cited evidence")
    if pol_conflict or num_conflict or score < limits.weak:
        verdict = Verdict.UNSUPPORTED
    elif score >= limits.supported and not missing:
        verdict = Verdict.SUPPORTED
    else:
        verdict = Verdict.WEAK
    return {
        "verdict": verdict,
        "score": round(score, 4),
        "matched_passage_id": pid,
        "matched_span": scorer.spans[pid][j],
        "polarity_conflict": pol_conflict,
        "number_conflict": num_conflict,
        "notes": notes,
    }


def verify(
    text_or_sentences: str | list[str],
    evidence: Sequence[Passage],
    *,
    embedder: Embeddings | None = None,
    thresholds: VerifyThresholds | None = None,
    record: str | None = None,
) -> VerificationReport:
    """Check every sentence of a draft against the passages it cites (see the module docstring).

    A string is split into sentences; a list is taken as the sentences already split. `record`
    is the case summary given with the request: an uncited sentence restating it is marked
    `restates_record`, not uncited.
    """
    limits = thresholds or VerifyThresholds()
    if isinstance(text_or_sentences, str):
        sentences = cited_sentences(text_or_sentences)
    else:
        sentences = [" ".join(s.split()) for s in text_or_sentences if s.strip()]
    by_id: dict[str, Passage] = {}
    for passage in evidence:
        by_id.setdefault(passage.id, passage)
    cited = [extract_citation_ids(s) for s in sentences]
    scorer = _Scorer(sentences, cited, by_id, embedder)
    summary = _Record(record) if record and record.strip() else None
    checks: list[SentenceCheck] = []
    fabricated: dict[str, None] = {}
    for i, (sentence, ids) in enumerate(zip(sentences, cited, strict=True)):
        known = [p for p in ids if p in by_id]
        unknown = [p for p in ids if p not in by_id]
        fabricated.update(dict.fromkeys(unknown))
        notes = [f"cites unknown id(s): {', '.join(unknown)}"] if unknown else []
        fields: dict[str, Any]
        if not ids:
            verdict, why = _classify_uncited(sentence, summary)
            fields = {
                "verdict": verdict,
                "score": 0.0,
                "notes": [why],
                "restates_record": why == RESTATES_RECORD,
            }
        elif not known:
            fields = {"verdict": Verdict.UNSUPPORTED, "score": 0.0, "notes": notes}
        else:
            fields = _check_cited(scorer, i, known, by_id, limits)
            fields["notes"] = notes + fields["notes"]
        checks.append(SentenceCheck(text=sentence, citation_ids=ids, unknown_ids=unknown, **fields))
    return VerificationReport.of(checks, list(fabricated))


def _title(passage: Passage) -> str:
    return " ".join(x for x in (passage.guideline, passage.source_title, passage.chapter) if x)


def _passage_text(passage: Passage) -> str:
    return f"{passage.heading}\n{passage.text}"


# --------------------------------------------------------------------------- a whole draft

# the stated outcome of a conclusion; `_CONCLUSION_RE` above decides whether a sentence is one
_OUTCOME_RE = re.compile(r"(?:request for .+? )?\b(?:is|are) (not )?medically necessary", re.I)


def verify_draft(
    text_or_sentences: str | list[str],
    evidence: Sequence[Passage],
    *,
    embedder: Embeddings | None = None,
    decision: DraftDecision | None = None,
    governing: Tier | None = None,
    thresholds: VerifyThresholds | None = None,
    record: str | None = None,
) -> VerificationReport:
    """`verify`, plus what only the draft's context can tell: a conclusion ("... is (not)
    medically necessary") that contradicts `decision` is unsupported and listed in the report's
    `decision_conflicts` (with conclusions that disagree with each other, and a decided item
    whose text states no conclusion), and a sentence resting only on a source below the
    `governing` tier is at best weak, with a note naming it (prior determinations are
    precedent, not authority, and are exempt). `record` is the case summary (see `verify`).
    The chain and the workspace's editor both call this, so an edit is judged exactly as the
    draft was."""
    report = verify(
        text_or_sentences, evidence, embedder=embedder, thresholds=thresholds, record=record
    )
    checks = [c.model_copy(deep=True) for c in report.sentences]
    if decision is not None:
        _check_conclusions(checks, decision)
    if governing in GUIDANCE_TIERS:
        _check_authority(checks, {p.id: p for p in evidence}, governing)
    sentences = [c.text for c in checks]
    conclusion = read_conclusion(sentences)
    return VerificationReport.of(
        checks,
        report.fabricated_ids,
        decision=decision,
        conclusion=conclusion,
        decision_conflicts=decision_conflicts(sentences, decision) if decision else [],
    )


_UNDECIDED_RE = re.compile(
    r"\bcannot\s+be\s+decided\b|\binsufficient\s+information\b|\bno\s+decision\b", re.I
)
_TOKEN_RE = re.compile(r"\b(?P<up>upheld|non-?certified)\b|\b(?:overturned|certified)\b", re.I)
_WORDS = {
    DraftDecision.MEDICALLY_NECESSARY: "is medically necessary",
    DraftDecision.NOT_MEDICALLY_NECESSARY: "is not medically necessary",
    DraftDecision.INSUFFICIENT_INFORMATION: "cannot be decided on the information provided",
}


def _outcome(sentence: str) -> DraftDecision | None:
    """The decision one conclusion sentence states, or None when it is no conclusion."""
    text = re.sub(r'"[^"]*"', " ", sentence)  # a quoted prior conclusion is evidence
    clean = _clean(text)
    if not _CONCLUSION_RE.search(clean):
        return None
    if _UNDECIDED_RE.search(clean):
        return DraftDecision.INSUFFICIENT_INFORMATION
    match = _OUTCOME_RE.search(clean)
    if match is not None:
        negative = match.group(1) is not None
    elif token := _TOKEN_RE.search(clean):
        negative = token.group("up") is not None
    else:
        found = polarity(clean) - {Polarity.NEUTRAL}
        if len(found) != 1:
            return None
        negative = Polarity.NEGATIVE in found
    return DraftDecision.NOT_MEDICALLY_NECESSARY if negative else DraftDecision.MEDICALLY_NECESSARY


def read_conclusion(text_or_sentences: str | Sequence[str]) -> DraftDecision | None:
    """The decision the text's conclusion states: its last conclusion sentence ("Given the
    above, the request for X is not medically necessary.", "... cannot be decided on the
    information provided."), read by `_CONCLUSION_RE` and the outcome wording; None when the
    text states no conclusion."""
    sentences = (
        cited_sentences(text_or_sentences)
        if isinstance(text_or_sentences, str)
        else list(text_or_sentences)
    )
    outcomes = [o for s in sentences if (o := _outcome(s)) is not None]
    return outcomes[-1] if outcomes else None


def decision_conflicts(
    text_or_sentences: str | Sequence[str], decision: DraftDecision
) -> list[str]:
    """Where `decision` and the text's conclusion(s) disagree, one readable line each; [] when
    they agree. A decided item (not "insufficient information") needs a conclusion."""
    sentences = (
        cited_sentences(text_or_sentences)
        if isinstance(text_or_sentences, str)
        else list(text_or_sentences)
    )
    lines: list[str] = []
    found = False
    for n, sentence in enumerate(sentences, 1):
        outcome = _outcome(sentence)
        if outcome is None:
            continue
        found = True
        if outcome is not decision:
            lines.append(
                f"Sentence {n} concludes that the request {_WORDS[outcome]}, but the decision "
                f"says it {_WORDS[decision]}: {_quote(sentence)}"
            )
    if not found and decision is not DraftDecision.INSUFFICIENT_INFORMATION:
        lines.append(
            f"The text states no conclusion, but the decision says the request "
            f'{_WORDS[decision]}: end it with "Given the above, the request for <item> '
            f'{_WORDS[decision]}."'
        )
    return lines


def _quote(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= limit else text[: limit - 1] + "…"}"'


def _check_conclusions(checks: list[SentenceCheck], decision: DraftDecision) -> None:
    for check in checks:
        unquoted = re.sub(r'"[^"]*"', " ", check.text)  # a quoted prior conclusion is evidence
        match = _OUTCOME_RE.search(unquoted)
        if match is None:
            continue
        says_necessary = match.group(1) is None
        if says_necessary != (decision is DraftDecision.MEDICALLY_NECESSARY):
            check.verdict = Verdict.UNSUPPORTED
            check.notes.append(f"{CONTRADICTS_DECISION} ({_WORDS[decision]})")


def _check_authority(
    checks: list[SentenceCheck], by_id: dict[str, Passage], governing: Tier | None
) -> None:
    if governing is None:
        return
    for check in checks:
        passage = by_id.get(check.matched_passage_id or "")
        if passage is None or check.verdict is not Verdict.SUPPORTED:
            continue
        if passage.tier in GUIDANCE_TIERS and passage.tier.rank > governing.rank:
            check.verdict = Verdict.WEAK
            check.notes.append(
                f"rests on {passage.source_path} ({passage.tier.value}), below the governing "
                f"{governing.value} tier: check that source"
            )
