"""Facts from a letter's clinical case summary, and the reviewer's specialty."""

from __future__ import annotations

import re
from collections.abc import Iterable

from imr_assist.ingest.determination.patterns import SUMMARY_BOILERPLATE, SUMMARY_HEADING
from imr_assist.models import CaseSummary

_I = re.IGNORECASE


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


def case_summary(stream: str, end: int) -> CaseSummary:
    heading = SUMMARY_HEADING.search(stream, 0, end)
    text = ""
    if heading:
        text = SUMMARY_BOILERPLATE.sub("", stream[heading.end() : end].strip()).strip()
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


def specialty(stream: str) -> str | None:
    found = _SPECIALTY.search(stream)
    return found["s"].strip() if found else None
