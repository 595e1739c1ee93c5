"""Parse IMR determination letters into :class:`~imr_assist.models.Determination`.

Two letter formats are recognised:

- ``imr_final``: the current MAXIMUS final determination. Items sit under "IMR ISSUES, DECISIONS
  AND RATIONALES" as "<item>:  Upheld" / "<item>:  Overturned", each followed by
  "Claims Administrator guideline:", "MAXIMUS guideline:" and "Decision rationale:".
- ``maximus_older``: the older layout. "Case Summary:", then numbered items such as
  "1. MAXIMUS Federal Services, Inc. has determined the request for <item> is not medically
  necessary and appropriate.", each followed by "Medical Treatment Guideline(s) Relied Upon by the
  Claims Administrator:", "... by the Expert Reviewer:" and "Rationale for the Decision:".

Text extracted from PDFs is normalised first: page headers, footers and bare page numbers are
dropped, words hyphenated across lines are re-joined and all whitespace collapses to single
spaces. Every later step reads that one stream, so line breaks and blank lines never matter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from imr_assist.errors import DeterminationParseError
from imr_assist.models import (
    CaseSummary,
    Decision,
    Determination,
    DeterminationItem,
    GuidelineCitation,
)

__all__ = ["looks_like_determination", "parse_determination", "parse_guideline_citations"]

logger = logging.getLogger(__name__)

_I = re.IGNORECASE

# --------------------------------------------------------------------------- normalisation

_CHAR_MAP = str.maketrans(
    {"\u00a0": " ", "\u00ad": None, "\ufb01": "fi", "\ufb02": "fl", "\u2010": "-", "\u2011": "-"}
)
_NOISE_LINE = re.compile(
    r"""^(?:
        page\s*\d+(?:\s*of\s*\d+)?                              # Page 2 / Page 2 of 4
      | \d{1,3} | [-\u2013]\s*\d{1,3}\s*[-\u2013]              # a bare page number, "- 2 -"
      | (?:case\s*(?:number|no\.?)\s*:?\s*)?CM\d{2}-?\d{5,8}    # CM13-0012345 case header
        (?:\s*page\s*\d+(?:\s*of\s*\d+)?)?
    )$""",
    _I | re.VERBOSE,
)
_INLINE_NOISE = re.compile(r"\bPage\s+\d+\s+of\s+\d+\b|\bCM\d{2}-\d{5,8}\b", _I)


def _strip_inline_noise(text: str) -> str:
    """Remove "Page N of M" and case numbers until none is left.

    One pass is not enough: removing a footer can splice its neighbours into a new one, e.g.
    "Page Page 2 of 4 3 of 4" (a footer extracted into the middle of another) leaves
    "Page 3 of 4" behind.
    """
    while True:
        cleaned = _INLINE_NOISE.sub(" ", text)
        if cleaned == text:
            return text
        text = cleaned


def _normalise(text: str) -> str:
    """One stream of single-spaced text with PDF page furniture removed."""
    parts: list[str] = []
    for raw in text.translate(_CHAR_MAP).splitlines():
        raw = raw.strip()
        if not raw or _NOISE_LINE.match(raw):
            continue
        # a footer line with another footer extracted into it ("- Page 2 of 4 2 -") is still
        # a footer once the inline noise is gone; judge the line again after removing it
        line = re.sub(r"\s+", " ", _strip_inline_noise(raw)).strip()
        if not line or _NOISE_LINE.match(line):
            continue
        prev = parts[-1] if parts else ""
        if len(prev) > 1 and prev.endswith("-") and not prev[-2].isspace():
            # "physi-" + "cal" -> "physical"; "Non-" + "MTUS" and "287-" + "289" keep the hyphen
            joined = prev[:-1] + line if prev[-2].isalpha() and line[0].islower() else prev + line
            parts[-1] = joined
        else:
            parts.append(line)
    stream = _strip_inline_noise(" ".join(parts))  # noise that spans a line break
    return re.sub(r"\s+", " ", stream).strip()


def _flex(phrase: str) -> str:
    """Regex for a phrase whose words may be run together or split by any whitespace."""
    return r"\s*".join(re.escape(word) for word in phrase.split())


# --------------------------------------------------------------------------- letter structure

_ISSUES_HEADING = re.compile(_flex("IMR ISSUES, DECISIONS AND RATIONALES"), _I)
_SET_FORTH = re.compile(_flex("items/services set forth below:"), _I)
_SUMMARY_HEADING = re.compile(_flex("CLINICAL CASE SUMMARY") + r"\s*:?|(?i:case\s*summary)\s*:")
_SUMMARY_BOILERPLATE = re.compile(
    r"^The\s+(?:expert|physician)\s+reviewer\s+developed\s+the\s+following.{0,120}?records\s*:\s*",
    _I,
)
_TERMINATOR = re.compile(
    r"\bcc\s*:|\bSincerely\b|" + _flex("Effect of the Decision") + r"|(?<=\s)/[a-z]{2,4}(?=\s|$)",
    _I,
)
_LABELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "claims",
        re.compile(
            r"(?:"
            + _flex("Claims Administrator")
            + r"\s*guidelines?|"
            + r"(?:Medical\s*Treatment\s*)?Guidelines?\s*(?:\(s\))?\s*"
            + r"(?:Relied\s*Upon|Used)\s*by\s*the\s*Claims\s*Administrator)\s*:",
            _I,
        ),
    ),
    (
        "reviewer",
        re.compile(
            r"(?:MAXIMUS\s*guidelines?|(?:Medical\s*Treatment\s*)?Guidelines?\s*(?:\(s\))?\s*(?:Relied\s*Upon|Used)\s*by\s*"
            r"the\s*(?:Expert|Physician|IMR)?\s*Reviewer)\s*:",
            _I,
        ),
    ),
    ("rationale", re.compile(r"(?:Decision\s*rationale|Rationale\s*for\s*the\s*Decision)\s*:", _I)),
)

# "<item>:  Upheld"; "Up held" and "kit:Overturned" survive; "Final Determination: UPHOLD" does not
_FINAL_DECISION = re.compile(r":\s*(?P<dec>Up\s*held|Over\s*turned)(?-i:(?![a-z]))", _I)
# the end of the sentence before an item name: "...not medically necessary. <item>: Upheld"
_SENTENCE_END = re.compile(r"(?:(?:(?<=[a-z]{3})|(?<=\d)|(?<=[)\]]))\.[\"'\u201d]?|(?<=below):)\s+")
_MAXIMUS_DETERMINED = (
    r"MAXIMUS\s*Federal\s*Services,?\s*Inc\.?,?\s*has\s*determined\s*(?:that\s+)?"
    r"(?:the\s+request(?:ed)?\s+for\s+|the\s+requested\s+)?"
)
# "is not medically necessary" is decided on the whole phrase, never on "medically necessary"
_NECESSITY = r"\s+(?:is|are)\s+(?P<neg>not\s+|no\s+longer\s+)?medically\s+necessary"
_OLDER_HEAD = re.compile(
    r"(?:(?<![\w/.-])(?P<num>\d{1,2})\.\s+(?:"
    + _MAXIMUS_DETERMINED
    + r")?|"
    + _MAXIMUS_DETERMINED
    + r")(?P<item>(?:[^.]|\.(?!\s)){1,300}?)"
    + _NECESSITY
    + r"(?:\s+(?:and|or)\s+appropriate)?\.?",
    _I,
)
_CONCLUSION = re.compile(_NECESSITY, _I)

_MARKERS = tuple(
    re.compile(pattern, _I)
    for pattern in (
        _flex("IMR ISSUES, DECISIONS"),
        _flex("HOW THE IMR FINAL DETERMINATION"),
        _flex("Independent Medical Review"),
        _flex("MAXIMUS Federal Services"),
        _flex("CLINICAL CASE SUMMARY") + r"|\bCase\s*Summary\s*:",
        _flex("disputed items/services"),
        r"has\s*determined\s*(?:that\s+)?the\s*request.{0,300}?medically\s*necessary\s*and\s*"
        r"appropriate",
        _FINAL_DECISION.pattern,
        *(label.pattern for _, label in _LABELS),
    )
)


@dataclass(frozen=True)
class _Head:
    item: str
    decision: Decision
    start: int  # where the item name starts
    end: int  # where the item's body starts


def looks_like_determination(text: str) -> bool:
    """Return True when ``text`` reads as an IMR determination letter rather than a guideline.

    At least two independent letter markers must be present (section headings, "MAXIMUS",
    "<item>: Upheld", "Decision rationale:", guideline-relied-upon labels, ...), matched after
    PDF clean-up and with words allowed to run together. Guideline text that merely says
    "recommended" or "medically necessary" never qualifies.
    """
    stream = _normalise(text[:200_000])
    return sum(1 for marker in _MARKERS if marker.search(stream)) >= 2


def parse_determination(text: str, *, source: str = "<text>") -> Determination:
    """Parse an IMR determination letter (current or older MAXIMUS format, clean or PDF-damaged).

    ``source`` names the text in error messages (usually the file path). Raises
    :class:`~imr_assist.errors.DeterminationParseError` when no disputed item with a decision
    can be found. Case-summary facts the letter does not state stay ``None`` or empty.
    """
    stream = _normalise(text)
    issues = _ISSUES_HEADING.search(stream)
    region = issues.end() if issues else 0
    set_forth = _SET_FORTH.search(stream, region)
    if set_forth:
        region = set_forth.end()
    fmt = "imr_final"
    heads = _final_heads(stream, region)
    if not heads:
        fmt = "maximus_older"
        heads = _older_heads(stream, region)
    if not heads:
        _raise_no_items(stream, source)
    items = [_item(stream, head, nxt) for head, nxt in zip(heads, [*heads[1:], None], strict=True)]
    summary_end = issues.start() if issues else heads[0].start
    return Determination(
        case_summary=_case_summary(stream, summary_end),
        reviewer_specialty=_specialty(stream),
        items=items,
        format=fmt,
    )


def _raise_no_items(stream: str, source: str) -> None:
    if not looks_like_determination(stream):
        raise DeterminationParseError(
            source,
            "the text does not look like an IMR determination letter: no item line such as "
            "'<item>: Upheld' or '1. <item> is not medically necessary and appropriate.' "
            "and fewer than two letter headings were found.",
            "If this is a guideline, ingest it as a guideline; if it is a letter, check that the "
            "text extraction kept the 'IMR ISSUES, DECISIONS AND RATIONALES' section.",
        )
    raise DeterminationParseError(
        source,
        "no disputed item with a decision was found: expected '<item>: Upheld' or "
        "'<item>: Overturned' under 'IMR ISSUES, DECISIONS AND RATIONALES', or "
        "'<n>. <item> is (not) medically necessary and appropriate.' in an older letter.",
        "Check that the decision lines survived text extraction (try another PDF-to-text tool "
        "or OCR) or add the missing 'Upheld'/'Overturned' after each item.",
    )


def _final_heads(stream: str, region: int) -> list[_Head]:
    heads: list[_Head] = []
    floor = region
    for match in _FINAL_DECISION.finditer(stream, region):
        window = stream[floor : match.start()]
        ends = list(_SENTENCE_END.finditer(window))
        offset = floor + (ends[-1].end() if ends else 0)
        item = re.sub(r"^\d{1,2}\.\s+", "", stream[offset : match.start()].strip())
        floor = match.end()
        if not item or len(item) > 300 or re.search(r"final\s*determination", item, _I):
            continue
        word = re.sub(r"\s", "", match["dec"]).lower()
        decision = Decision.UPHELD if word == "upheld" else Decision.OVERTURNED
        heads.append(_Head(item, decision, offset, match.end()))
    return heads


def _older_heads(stream: str, region: int) -> list[_Head]:
    found = list(_OLDER_HEAD.finditer(stream, region))
    heads: list[_Head] = []
    for index, match in enumerate(found):
        stop = found[index + 1].start() if index + 1 < len(found) else len(stream)
        if not any(label.search(stream, match.end(), stop) for _, label in _LABELS):
            continue  # a numbered sentence inside a summary or rationale, not an item
        item = match["item"].strip(" .,:")
        decision = Decision.UPHELD if match["neg"] else Decision.OVERTURNED
        heads.append(_Head(item, decision, match.start(), match.end()))
    return heads


def _item(stream: str, head: _Head, nxt: _Head | None) -> DeterminationItem:
    body = stream[head.end : nxt.start if nxt else len(stream)]
    terminator = _TERMINATOR.search(body)
    if terminator:
        body = body[: terminator.start()]
    marks = sorted(
        (match.start(), match.end(), name)
        for name, label in _LABELS
        for match in label.finditer(body)
    )
    fields: dict[str, str] = {}
    for index, (_, end, name) in enumerate(marks):
        stop = marks[index + 1][0] if index + 1 < len(marks) else len(body)
        fields.setdefault(name, body[end:stop].strip())
    rationale = fields.get("rationale", "")
    _check_conclusion(head, rationale)
    return DeterminationItem(
        item=head.item,
        decision=head.decision,
        claims_administrator_guidelines=parse_guideline_citations(fields.get("claims", "")),
        reviewer_guidelines=parse_guideline_citations(fields.get("reviewer", "")),
        rationale=rationale,
    )


def _check_conclusion(head: _Head, rationale: str) -> None:
    conclusions = list(_CONCLUSION.finditer(rationale))
    if not conclusions:
        return
    said = Decision.UPHELD if conclusions[-1]["neg"] else Decision.OVERTURNED
    if said is not head.decision:
        logger.warning(
            "item %r: decision line says %s but the rationale concludes %s",
            head.item,
            head.decision.value,
            said.value,
        )


# --------------------------------------------------------------------------- citations

_SPLIT_CITATIONS = re.compile(
    r"(?:\bDecision\s*based\s*on\s*:?|;|\.\s+(?=(?:Non-?\s*MTUS|MTUS|CA\s+MTUS|ACOEM|ODG|"
    r"Official\s+Disability|Chronic\s+Pain|Post-?\s*surgical|American\s+College)\b))",
    _I,
)
_NON_MTUS = re.compile(r"^Non-?\s*MTUS\s*(?:Citations?|Guidelines?)?\s*[:,-]?\s*", _I)
_MTUS = re.compile(
    r"^(?:CA\s+|California\s+)?(?:MTUS|Medical\s+Treatment\s+Utilization\s+Schedule\s*\(MTUS\))"
    r"\s*(?:\(\s*Effective[^)]*\))?\s*[:,-]?\s*",
    _I,
)
_PAGES = re.compile(
    r"(?:,\s*|\s+|^)(?:Pages?\s*(?:\(s\))?|pp?\.)\s*:?\s*(?P<p>\d+(?:\s*[-\u2013]\s*\d+)?"
    r"(?:\s*(?:,|and|&)\s*\d+(?:\s*[-\u2013]\s*\d+)?)*)",
    _I,
)
_GUIDELINES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"^(?:American\s+College\s+of\s+Occupational\s+and\s+Environmental\s+Medicine\s*)?"
            r"\(?ACOEM\)?(?:\s+Occupational\s+Medicine)?(?:\s+Practice\s+Guidelines?)?"
            r"(?:,?\s*\d+(?:st|nd|rd|th)\s+Edition(?:\s*\(\d{4}\))?)?",
            _I,
        ),
        "ACOEM",
    ),
    (
        re.compile(r"^(?:\d{4}\s+)?Chronic\s*Pain\s*Medical\s*Treatment\s*Guidelines?", _I),
        "Chronic Pain Medical Treatment Guidelines",
    ),
    (
        re.compile(r"^Post-?\s*surgical\s*Treatment\s*Guidelines?", _I),
        "Postsurgical Treatment Guidelines",
    ),
    (
        re.compile(r"^(?:Official\s*Disability\s*Guidelines?(?:\s*\(ODG\))?|ODG\b)", _I),
        "Official Disability Guidelines (ODG)",
    ),
)
_MTUS_ONLY = {"Chronic Pain Medical Treatment Guidelines", "Postsurgical Treatment Guidelines"}
_UNCHAPTERED = {"Chronic Pain Medical Treatment Guidelines"}
_NO_CITATION = re.compile(
    r"^(?:none|n/?a|not\s+(?:cited|provided|applicable))\b|did\s+not\s+cite", _I
)


def parse_guideline_citations(text: str) -> list[GuidelineCitation]:
    """Parse a letter's guideline line into citations, one per guideline named.

    Accepts the wordings real letters use, e.g. "Decision based on MTUS ACOEM Chapter 12 Low Back
    Complaints Page(s): 301. Decision based on Non-MTUS Citation Official Disability Guidelines
    (ODG)." or "MTUS Chronic Pain Medical Treatment Guidelines, pages 98-99, Physical Medicine;
    Official Disability Guidelines (ODG), Low Back Chapter". A citation without an explicit
    "MTUS"/"Non-MTUS" prefix counts as MTUS only for guidelines that exist only in the MTUS
    (Chronic Pain Medical Treatment Guidelines, Postsurgical Treatment Guidelines).
    """
    citations: list[GuidelineCitation] = []
    for piece in _SPLIT_CITATIONS.split(_normalise(text)):
        piece = piece.strip().rstrip(".").strip()
        if not piece or _NO_CITATION.search(piece):
            continue
        citations.append(_citation(piece))
    return citations


def _citation(text: str) -> GuidelineCitation:
    body = text
    if non_mtus := _NON_MTUS.match(body):
        mtus: bool | None = False
        body = body[non_mtus.end() :]
    elif explicit := _MTUS.match(body):
        mtus = True
        body = body[explicit.end() :]
    else:
        mtus = None
    pages: str | None = None
    if found := _PAGES.search(body):
        pages = re.sub(r"\s*,\s*", ", ", re.sub(r"\s*[-\u2013]\s*", "-", found["p"]))
        body = body[: found.start()] + "," + body[found.end() :]
    guideline: str | None = None
    for pattern, name in _GUIDELINES:
        if known := pattern.match(body):
            guideline, body = name, body[known.end() :]
            break
    parts = [part.strip() for part in body.split(",") if part.strip()]
    if guideline is None:
        guideline = parts.pop(0) if parts else "MTUS"
    if guideline in _UNCHAPTERED and not any("chapter" in part.lower() for part in parts[:1]):
        chapter, section = None, ", ".join(parts) or None
    else:
        chapter = parts[0] if parts else None
        section = ", ".join(parts[1:]) or None
    return GuidelineCitation(
        mtus=mtus if mtus is not None else guideline in _MTUS_ONLY,
        guideline=guideline,
        chapter=chapter,
        section=section,
        pages=pages,
        text=text,
    )


# --------------------------------------------------------------------------- case summary

_DATE = (
    r"(?:\d{1,2}[/-]\d{1,2}[/-]\d{2,4}|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r"[a-z]*\.?\s+\d{1,2},?\s+\d{4})"
)
_AGE_SEX = re.compile(
    r"\b(?P<age>\d{1,3})\s*(?:-?\s*(?:years?|yrs?)\s*-?\s*old|y/?o)\s+"
    r"(?P<sex>female|male|woman|man|lady|gentleman)\b",
    _I,
)
_SEXES = {"female": "female", "woman": "female", "lady": "female"}
_INJURY_DATE = tuple(
    re.compile(pattern, _I)
    for pattern in (
        rf"\bdate\s+of\s+injury\s*(?:of|on|was|is)?\s*:?\s*(?P<d>{_DATE})",
        rf"\bDOI\s*:?\s*(?P<d>{_DATE})",
        rf"\b(?:reported|sustained|suffered|incurred)\s+(?:an?\s+)?(?:[\w-]+\s+){{0,2}}?"
        rf"injur(?:y|ies)\s+(?:on|of)\s+(?P<d>{_DATE})",
        rf"\binjured\s+(?:at\s+work\s+)?on\s+(?P<d>{_DATE})",
    )
)
_PROCEDURE = (
    r"(?:fusion|laminectomy|hemilaminectomy|laminotomy|discectomy|microdiscectomy|foraminotomy|"
    r"decompression|arthroscopy|arthroplasty|replacement|meniscectomy|reconstruction|repair|"
    r"release|debridement|ORIF)"
)
_SURGERY_COUNT = re.compile(
    r"\b(?:\d+|one|two|three|four|five|multiple|several)\s+(?:prior\s+|previous\s+)?"
    r"(?:[a-z]+\s+)?surger(?:y|ies)\b",
    _I,
)
_SURGERY = re.compile(
    r"\b(?:status\s+post|s/p|underwent|had|having|being|history\s+of|following|after)\s+"
    r"(?:(?:a|an|the|prior|previous|recent)\s+)*"
    rf"(?P<s>(?:[\w/-]+\s+){{0,5}}?{_PROCEDURE}(?:\s+(?:and|with|/)\s+(?:[\w/-]+\s+){{0,2}}?"
    rf"{_PROCEDURE})?(?:\s+revision)?(?:\s+(?:at|of)\s+(?:the\s+)?[A-Z]\d[\w/-]*)?"
    rf"(?:\s+(?:on|in)\s+{_DATE})?)",
    _I,
)
_SENTENCE_TAIL = r"(?P<v>\S.{1,300}?)\.(?=\s+[A-Z0-9]|\s*$)"
_DIAGNOSES = re.compile(
    r"\b(?:(?P<label>diagnos(?:is|es))\s+(?:(?:was|were|is|are|has\s+been|have\s+been)\s+)?"
    r"(?:(?:noted|documented|listed|reported|given)\s+)?(?:to\s+(?:be|include)\s+|as\s+|"
    r"include[sd]?\s+|of\s+)?:?\s*|diagnosed\s+with\s+)" + _SENTENCE_TAIL,
    _I,
)
_REQUESTED = re.compile(
    r"(?:\brequests?\s+(?:was|were|is|has\s+been)\s+(?:made\s+|submitted\s+)?for|"
    r"\bis\s+a\s+request\s+for)\s+" + _SENTENCE_TAIL,
    _I,
)
_SPECIALTY = re.compile(
    r"(?i:board\s*certified)\s+in\s+(?P<s>[A-Z][^.;]{1,120}?)"
    r"(?=,?\s+and\s+(?:is|has)\b|\s*[.;]|,\s+(?:has|is|with|who)\b|\s+who\b)"
)


def _case_summary(stream: str, end: int) -> CaseSummary:
    heading = _SUMMARY_HEADING.search(stream, 0, end)
    text = ""
    if heading:
        text = _SUMMARY_BOILERPLATE.sub("", stream[heading.end() : end].strip()).strip()
    facts = text or stream[:end]
    age_sex = _AGE_SEX.search(facts)
    return CaseSummary(
        age=int(age_sex["age"]) if age_sex else None,
        sex=_SEXES.get(age_sex["sex"].lower(), "male") if age_sex else None,
        date_of_injury=_injury_date(facts) or _injury_date(stream[:end]),
        surgeries=_surgeries(facts),
        diagnoses=_listed(_DIAGNOSES, facts),
        requested=_listed(_REQUESTED, facts),
        text=text,
    )


def _injury_date(text: str) -> str | None:
    for pattern in _INJURY_DATE:
        if found := pattern.search(text):
            return found["d"]
    return None


def _surgeries(text: str) -> list[str]:
    found = [(m.start(), m.group(0)) for m in _SURGERY_COUNT.finditer(text)]
    found += [(m.start("s"), m["s"]) for m in _SURGERY.finditer(text)]
    return _unique(phrase for _, phrase in sorted(found))


def _listed(pattern: re.Pattern[str], text: str) -> list[str]:
    values: list[str] = []
    for match in pattern.finditer(text):
        value = match["v"].strip()
        singular = "label" in pattern.groupindex and (match["label"] or "").lower() == "diagnosis"
        splitter = r";" if singular else r";|,\s*(?:and\s+)?|\s+and\s+"
        values.extend(part.strip(" :") for part in re.split(splitter, value))
    return _unique(values)


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        cleaned = re.sub(r"\s+", " ", value).strip()
        if cleaned and cleaned.lower() not in (key.lower() for key in seen):
            seen[cleaned] = None
    return list(seen)


def _specialty(stream: str) -> str | None:
    found = _SPECIALTY.search(stream)
    return found["s"].strip() if found else None
