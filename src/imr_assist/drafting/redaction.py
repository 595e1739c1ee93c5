"""Remove identifiers from case text before it leaves the process (pure; no I/O).

`redact(text)` replaces identifiers with typed placeholders and returns a `Redaction`: the
redacted text plus an audit trail of kinds and keyed hashes. The originals are never kept,
so the trail can be logged. `redact_together(texts)` redacts several texts of one case (an
export's summary, item and rationale), so a name found in one is removed from all.

Removed (placeholder): person names after an honorific (Mr./Ms./Mrs./Dr.), after a label
("Patient name:", "Pt:", "IW:", "Claimant:", "Applicant:", "Injured worker:", "Insured:", a
line starting "Name:"; also in lower case, "Patient: maria lopez", unless a word of it is a
common word, "Pt: reports low back pain"), right before an age or a birth date ("Maria Lopez,
52,", "Lopez is a 47-year-old", "John Smith (DOB ..."), after "the injured worker"/"claimant"/
"applicant"/"patient" when two capitalised words follow, in signature blocks ("Sincerely,
Name") and before a credential ("Name, MD"); every later occurrence of a word of a name found
that way ("John" after "Patient name: John Smith") [NAME]. Names are matched in every Latin
script ("Ana-Lucía Pérez", "Nguyễn Thị Hoa", "Łukasz Wiśniewski") and with particles ("Maria
de la Cruz"). Claim numbers, also with a carrier prefix ("SCIF 1234567") [CLAIM_NO]; IMR case
numbers (CM13-0012345), WCAB/EAMS case numbers (ADJ1234567) and labelled case numbers
[CASE_NO]; Medi-Cal CIN/BIC, Medicare MBI and member, subscriber, insured, plan and group ids
[MEMBER_ID]; UR/IMR/authorization/reference/record numbers [REF_NO]; dates of birth [DOB];
social security numbers, with dashes, dots or spaces ("SS# 123 45 6789"), including masked
last-4 [SSN]; phone and fax numbers [PHONE]; e-mail addresses [EMAIL]; street addresses (also
"33 Calle de Luna"), P.O. boxes and "City, CA 90210" [ADDRESS]; the value after "Employer:"
[EMPLOYER]; the value after "Claims administrator:", "Insurer:", "Carrier:" or "TPA:"
[CLAIMS_ADMIN].

Measured in tests/test_redaction.py on a table of 112 real-shaped identifiers (accents,
hyphens, lower case, labels, SSN variants, Medi-Cal and member ids, phones, birth dates, claim
numbers, addresses): recall 1.000 (0.554 before issue 15), with every clinical number of its
37-row table kept.

Why the employer and claims administrator: the employer (above all a small one) plus the date
of injury identifies the worker, and neither name is ever needed to judge medical necessity.
The claims administrator names no person, but with the date of injury it narrows the claim.
Both are removed only after an explicit label, so prose such as "no affiliation with the
employer ... or the claims administrator" is untouched.

Kept, because the rationale needs them: age ("39-year-old"), sex, the date of injury and every
date other than a birth date (surgery, visit, request dates), diagnoses and ICD-10 codes, body
parts and spinal levels, medication names and doses ("10/325"), visit counts ("2x6"), range of
motion, provider specialties ("the orthopedic surgeon").

Hashes are HMAC-SHA256 of the normalised original under `key` (default: a random key made
once per process), so short values (an SSN's last four digits, a birth date) cannot be
recovered from a log by trying every value. Pass a stable key to correlate across runs.

Limits: rule-based, English labels, Latin scripts, tuned to workers' comp letters. A name that
appears only bare and away from an age or birth date ("Smith reports ...") is missed; review
what is sent when in doubt.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import Counter
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

_PROCESS_KEY = secrets.token_bytes(32)


class IdentifierKind(StrEnum):
    """Kinds of identifiers; the placeholder is the value in brackets, e.g. "[NAME]"."""

    NAME = "NAME"
    CLAIM_NO = "CLAIM_NO"
    CASE_NO = "CASE_NO"
    REF_NO = "REF_NO"
    DOB = "DOB"
    SSN = "SSN"
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    ADDRESS = "ADDRESS"
    EMPLOYER = "EMPLOYER"
    CLAIMS_ADMIN = "CLAIMS_ADMIN"
    MEMBER_ID = "MEMBER_ID"

    @property
    def placeholder(self) -> str:
        """The text that replaces an identifier of this kind."""
        return f"[{self.value}]"


class Removed(BaseModel):
    """One removed identifier: its kind and a keyed hash, never the original."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: IdentifierKind = Field(description="What was removed")
    digest: str = Field(
        description="First 16 hex digits of HMAC-SHA256(key, normalised original): equal "
        "values give equal digests under one key"
    )


class Redaction(BaseModel):
    """Redacted text plus an audit trail safe to log."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The text with identifiers replaced by typed placeholders")
    removed: list[Removed] = Field(
        default_factory=list, description="Every removal in the order the rules ran"
    )

    @property
    def counts(self) -> dict[str, int]:
        """Number of removals by kind, e.g. {"NAME": 3, "DOB": 1}."""
        return dict(Counter(r.kind.value for r in self.removed))

    @property
    def summary(self) -> str:
        """One line for a log or the UI, e.g. "NAME x3, DOB x1" or "nothing removed"."""
        if not self.removed:
            return "nothing removed"
        return ", ".join(f"{kind} x{n}" for kind, n in sorted(self.counts.items()))


# --------------------------------------------------------------------------- patterns

# Capitalised words that start sentences or name clinical things, never a person's name.
_NOT_NAMES = """
a an and at by for from in of on or the this that these to with is was were has had he she his
her they dear sincerely regards respectfully signed electronically reviewed male female man
woman patient claimant applicant injured worker employee physician reviewer doctor provider
treating primary requesting medical medicine physical therapy rehabilitation orthopedic
orthopaedic surgery surgeon pain management internal family practice board certified lumbar
cervical thoracic spine back low knee shoulder hip left right bilateral chronic acute california
department services center clinic hospital group health report progress note request
determination final independent review utilization date dob doi ssn claim case md do dc np pt
dpt rn phd mtus acoem odg mr ms mrs miss mx dr employer
insurer carrier administrator claims
"""
# Letters of the Latin scripts (accents, Vietnamese, Polish, Romanian ...): "[A-Z]" alone cut
# "Ana-Lucía Pérez" to "[NAME]ía Pérez".
_LATIN = [chr(c) for c in (*range(0x41, 0x250), *range(0x1E00, 0x1F00))]
_UP = "".join(c for c in _LATIN if c.isupper() and c.isalpha())
_LO = "".join(c for c in _LATIN if c.islower() and c.isalpha())
_GUARD = rf"(?<![\w'’-])(?=[{_UP}])(?!(?i:" + "|".join(_NOT_NAMES.split()) + r")\b)"
# One name word: Smith, O'Brien, McDonald, Smith-Jones, Hernández-García (not "Smith's").
_NW = (
    _GUARD
    + rf"(?:[{_UP}][{_LO}]*['’])?[{_UP}][{_LO}]+(?:[{_UP}][{_LO}]+)*(?:-[{_UP}][{_LO}]+){{0,2}}"
    + rf"(?![{_LO}{_UP}])"
)
_UW = _GUARD + rf"[{_UP}][{_UP}'’-]+(?![\w])"  # SMITH, IBÁÑEZ in headers
# Lower-case particles inside a name: Maria de la Cruz, Ludwig van Beethoven
_PARTICLE = r"(?:de|del|della|da|das|do|dos|du|van|von|der|den|ter|la|le|di|y|bin|ibn)"
_WORD = rf"(?:{_NW}|{_UW})"
_INITIAL = rf"[{_UP}]\.?(?![\w])"
# Words of a name are one space or tab apart: a wider gap separates header fields.
# A name after an explicit label: "John Q. Public", "SMITH, JOHN", "Smith, John A."
_LABELED = (
    rf"{_WORD}(?:[ \t](?:{_PARTICLE}[ \t])*(?:{_WORD}|{_INITIAL})){{0,3}}"
    rf"(?:,[ \t]?{_WORD}(?:[ \t]{_INITIAL})?)?"
)
_FREE = rf"{_NW}(?:[ \t]{_INITIAL})?(?:[ \t](?:{_PARTICLE}[ \t])*{_NW}){{1,2}}"  # 2-3 words
# A name written in lower case after a label ("Patient: maria lopez"): two or three words,
# then the end of the field; `_plausible` refuses common words ("Pt: reports low back pain").
_LOWER_NAME = rf"[{_LO}][{_LO}'’-]+(?:[ \t][{_LO}][{_LO}'’-]+){{1,2}}"
_FIELD_END = r"(?=[ \t]*(?:$|[,;(|]|[ \t]{2}|(?i:DOB|SSN|D\.O\.B)\b))"
# An age or birth date right after a bare name: "Maria Lopez, 52,", "Tran Van Minh, a 58 y/o",
# "John Smith (DOB ...)". A number followed by a unit ("Lumbar Spine, 52 degrees") is no age.
_AGE = (
    r"\d{1,3}(?:[ \t]*-?[ \t]*(?:year|yr)s?[ \t]*-?[ \t]*old\b|[ \t]*(?i:y/?o|y\.o\.)(?![\w])"
    r"|[ \t]?[MF]\b|(?=[ \t]*[,)]))"
)
_AFTER_NAME = (
    rf"(?=,?[ \t]*[(,][ \t]*(?:(?i:an?|aged?)[ \t]+)?{_AGE}"
    r"|[ \t]*[(,][ \t]*(?i:DOB|D\.O\.B\b|date[ \t]+of[ \t]+birth|born)"
    rf"|[ \t]+(?:is|was)[ \t]+an?[ \t]+{_AGE})"
)

_ID = r"(?=[A-Za-z-]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,}\b"  # a token with a digit, >= 4 chars
_MARKER = r"(?:#|(?i:no\b\.?|num\b\.?|number|ID\b))"
_MARK = rf"[ \t]*{_MARKER}?[ \t]*[:#]?[ \t]*"  # optional: "Claim 12-34567", "Claim No.: ..."
_MARK_REQ = rf"[ \t]*{_MARKER}[ \t]*[:#]?[ \t]*"  # required: "Case No. ..." (not "case 12")
_MONTH = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b|\d{{4}}-\d{{2}}-\d{{2}}\b"
    rf"|\d{{1,2}}[-/ ]{_MONTH}[-/ ]\d{{2,4}}\b"
    rf"|{_MONTH}[ \t]+\d{{1,2}},?[ \t]+\d{{4}}\b|\d{{1,2}}[ \t]+{_MONTH}[ \t]+\d{{4}}\b"
    rf"|(?:19|20)\d{{2}}\b)"
)
_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Boulevard|Blvd|Road|Rd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl"
    r"|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Terrace|Ter|Trail|Trl|Plaza|Square|Sq)\b\.?"
)
_ZIP = r"\d{5}(?:-\d{4})?\b"
_CITY = rf"[{_UP}][{_LO}]+(?:[ \t]+[{_UP}][{_LO}]+){{0,2}}"
_CITY_ZIP = rf"(?:{_CITY},?[ \t]+)?(?:CA|California|[A-Z]{{2}})\.?[ \t]+{_ZIP}"
_EXT = r"(?:[ \t]*(?i:x|ext\.?)[ \t]*\d{1,5})?"
_UNIT = r"(?:,?[ \t]*(?:Suite|Ste|Apt|Unit|Bldg|#)\.?[ \t]*[A-Za-z0-9-]+)?"

_K = IdentifierKind
# (kind, pattern). The group named "v" is replaced; without it the whole match is.
# Order matters: structured numbers first, so a name rule never sees a claim number.
_RULES: list[tuple[IdentifierKind, str]] = [
    (_K.EMAIL, r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+"),
    (
        _K.SSN,
        r"(?i:\bSSN\b|\bSS[ \t]*#|\bSS[ \t]+No\b\.?|\bsoc(?:ial)?[ \t]+sec(?:urity)?\b\.?"
        r"(?:[ \t]+(?:number|no\b\.?|#))?)"
        r"[ \t]*\(?(?i:ending[ \t]+in|last[ \t]+(?:4|four))?\)?[ \t]*[:#]?[ \t]*"
        r"(?P<v>\d{3}[-. ]?\d{2}[-. ]?\d{4}\b|\d{4}\b)",
    ),
    (_K.SSN, r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
    (_K.SSN, r"(?<![\w-])(?i:x{3}|\*{3}|#{3})-(?i:x{2}|\*{2}|#{2})-\d{4}(?![\d-])"),
    (
        _K.DOB,
        r"(?i:\bDOB\b|\bD\.O\.B\b\.?|date[ \t]+of[ \t]+birth|\bbirth[ \t]?date|\bborn(?:[ \t]+on)?)"
        r"[ \t]*(?:[:#-]|(?i:is|was|of)\b)?[ \t]*(?P<v>" + _DATE + ")",
    ),
    (
        _K.MEMBER_ID,
        # a marker (ID, #, CIN ...) or a colon: "Medicare 4-part definition" is no id
        r"(?i:\bmedi-?[ \t]?cal\b|\bmedicare\b|\bmedicaid\b)(?:(?:[ \t]*(?:CIN|BIC|MBI|HICN|"
        r"(?i:ID|identification|#|no\b\.?|num(?:ber)?))){1,2}[ \t]*[:#]?|[ \t]*:)[ \t]*"
        r"(?P<v>" + _ID + ")",
    ),
    (
        _K.MEMBER_ID,
        r"(?:\b(?:CIN|BIC|MBI|HICN)\b|(?i:\b(?:member|subscriber|insured|beneficiary|enrollee"
        r"|health[ \t]+plan|plan|group)[ \t]*(?:ID\b|identification|#|no\b\.?|num(?:ber)?\b)))"
        r"[ \t]*(?i:#|no\b\.?|number)?[ \t]*[:#]?[ \t]*(?P<v>" + _ID + ")",
    ),
    (_K.MEMBER_ID, r"\b9\d{7}[A-Z](?:\d{5})?\b"),  # a Medi-Cal CIN / BIC without its label
    (_K.CASE_NO, r"\bCM\d{2}-\d{5,8}\b"),
    (_K.CASE_NO, r"\bADJ\d{6,8}\b"),
    (_K.CASE_NO, r"(?i:\b(?:IMR|WCAB|EAMS)[ \t]+)?(?i:\bcase)" + _MARK_REQ + r"(?P<v>" + _ID + ")"),
    (
        _K.CLAIM_NO,
        r"(?i:\b(?:WC|workers'?[ \t]+comp(?:ensation)?)[ \t]+)?(?i:\bclaim)"
        + _MARK
        + r"(?i:is[ \t]+)?(?P<v>(?:[A-Z]{2,6}[ \t]+(?=\d))?"
        + _ID
        + ")",
    ),
    (_K.CLAIM_NO, r"\bWC-?\d{6,}\b"),
    (
        _K.REF_NO,
        r"(?i:\b(?:UR|IMR|utilization[ \t]+review|reference|ref|tracking|authorization|auth"
        r"|application|request|RFA|medical[ \t]+record|member|policy|account|patient)"
        r"[ \t]*(?:#|no\b\.?|num\b\.?|number|ID\b)|\b(?:MRN|NPI|DEA|license|lic\.))[ \t]*"
        r"(?i:#|no\b\.?|number)?[ \t]*[:#]?[ \t]*(?P<v>" + _ID + ")",
    ),
    (
        _K.PHONE,
        r"(?i:\b(?:phone|ph|tel|telephone|fax|cell|mobile)\b\.?)[ \t]*(?i:#|no\b\.?|number)?"
        r"[ \t]*:?[ \t]*(?P<v>\+?\d[\d(). -]{6,}\d" + _EXT + ")",
    ),
    (
        _K.PHONE,
        r"(?<![\w/.-])(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"
        + _EXT
        + r"(?![\w/-])",
    ),
    (
        _K.ADDRESS,
        r"\b\d{1,6}(?:-\d+)?[ \t]+(?:[NSEW]\.?[ \t]+)?(?:[A-Z0-9][A-Za-z0-9'.-]*[ \t]+){1,4}?"
        + _SUFFIX
        + _UNIT
        + r"(?:,?[ \t]+"
        + _CITY_ZIP
        + ")?",
    ),
    (  # the street type first: 33 Calle de Luna, 12 Camino Real
        _K.ADDRESS,
        r"\b\d{1,6}[ \t]+(?:Calle|Camino|Avenida|Paseo|Via|Vía|Rue|Rancho|Plaza)"
        rf"(?:[ \t]+(?:{_PARTICLE}|[{_UP}][{_LO}]+)){{1,4}}"
        + _UNIT
        + r"(?:,?[ \t]+"
        + _CITY_ZIP
        + ")?",
    ),
    (_K.ADDRESS, r"(?i:\bP\.?[ \t]?O\.?[ \t]*Box)[ \t]+\d+(?:,?[ \t]+" + _CITY_ZIP + ")?"),
    (
        _K.ADDRESS,
        rf"\b{_CITY},[ \t]*(?:CA|California)\.?[ \t]+{_ZIP}",
    ),
    (_K.ADDRESS, rf"\b(?:CA|California)[ \t]+{_ZIP}"),
]
_NEXT_LABEL = (
    r"[ \t]+(?i:claims?|insurer|carrier|TPA|DOB|DOI|date|phone|tel|fax|address|employer|patient"
    r"|applicant|claimant|SSN|case|re|adjuster|attorney|IMR|UR)\b[^:\n]{0,25}:"
)
# A header field starts a line or follows a wide gap, a tab, ';' or '|' (so prose such as
# "relied upon by the Claims Administrator: MTUS ..." is not a field). Its value runs to the
# end of the line, a ';', a wide gap or the next known label.
_FIELD = r"(?:^|(?<=[ \t]{2})|(?<=[\t;|]))[ \t]*"
_VALUE_TO_EOL = rf"(?P<v>[^\s;][^\n;]*?)(?=[ \t]*(?:$|[;\n])|[ \t]{{2,}}|{_NEXT_LABEL})"
_RULES += [
    (_K.EMPLOYER, _FIELD + r"(?i:\bemployer(?:[ \t]+name)?)[ \t]*:[ \t]*" + _VALUE_TO_EOL),
    (
        _K.CLAIMS_ADMIN,
        _FIELD
        + r"(?i:\b(?:claims[ \t]+administrator|insurer|insurance[ \t]+carrier|carrier|TPA)"
        + r"(?:[ \t]+name)?)[ \t]*:[ \t]*"
        + _VALUE_TO_EOL,
    ),
]
_NAME_LABEL = (
    r"(?:(?i:\b(?:(?:patient|claimant|applicant|employee|member|insured|subscriber|pt)(?:'s)?"
    r"(?:[ \t]+full)?[ \t]+name|name[ \t]+of[ \t]+(?:the[ \t]+)?(?:patient|claimant|applicant"
    r"|injured[ \t]+worker))))"
)
# A bare role or "Name:" only as a header field. "Pt:" is the patient; "PT:" physical therapy.
_FIELD_LABEL = (
    _FIELD
    + r"(?:(?i:\b(?:patient|claimant|applicant|injured[ \t]+(?:worker|employee)|employee|IW|I/W"
    + r"|insured|subscriber|member|beneficiary|name))|\b[Pp]t\.?)"
)
_NAME_RULES: list[str] = [
    # "Patient name: ..." anywhere; a bare role or "Name:" only as a header field
    _NAME_LABEL + r"[ \t]*:[ \t]*(?P<v>" + _LABELED + ")",
    _FIELD_LABEL + r"[ \t]*:[ \t]*(?P<v>" + _LABELED + ")",
    _NAME_LABEL + r"[ \t]*:[ \t]*(?P<v>" + _LOWER_NAME + ")" + _FIELD_END,
    _FIELD_LABEL + r"[ \t]*:[ \t]*(?P<v>" + _LOWER_NAME + ")" + _FIELD_END,
    # a bare name right before an age or a birth date
    r"(?P<v>" + _FREE + ")" + _AFTER_NAME,
    r"(?:^|(?<=[.!?][ \t])|(?<=\n))(?P<v>" + _NW + r")(?=[ \t]+(?:is|was)[ \t]+an?[ \t]+\d{1,3}"
    r"[ \t]*-?[ \t]*(?:year|yr))",
    r"(?i:\b(?:mr|ms|mrs|miss|mx|dr)\b\.?)[ \t]+(?P<v>"
    + _WORD
    + r"(?:[ \t]+(?:"
    + _INITIAL
    + "|"
    + _WORD
    + r")){0,2})",
    r"(?i:\b(?:injured[ \t]+(?:worker|employee)|claimant|applicant|patient))[ \t]*,?[ \t]+"
    r"(?P<v>" + _FREE + ")",
    r"(?i:\b(?:sincerely|respectfully(?:[ \t]+submitted)?|(?:best[ \t]+|kind[ \t]+)?regards"
    r"|cordially)),?[ \t]*(?:\n[ \t]*)*(?P<v>" + _LABELED + ")",
    r"(?P<v>" + _FREE + r"),?[ \t]+(?:M\.D\.|MD\b)",
    r"(?P<v>" + _FREE + r"),[ \t]*(?:D\.O\.|DO|D\.C\.|DC|PA-C|NP|FNP|DPM|Ph\.?D\.?|Psy\.?D\.?"
    r"|PT|DPT|RN|LCSW|MFT)\b",
]
# Words that make a lower-case "name" after a label a sentence instead ("Pt: reports pain").
_COMMON_WORDS = """
a an and or of in on at to for from by with without as is was were are be been has had have
not no none unknown n/a see seen above below same per the this that his her their he she they
male female man woman year years old age aged y/o yo pt patient worker injured employee
reports reported report complains complained states stated presents presented denies denied
notes noted needs requested request requests returns returned continues continued takes taking
using uses walks works working worked fell lifting lifted twisted felt feels underwent
pain low back neck knee shoulder hip ankle foot wrist hand elbow leg legs arm arms left right
bilateral lumbar cervical thoracic spine chronic acute mild moderate severe history status
post follow up return work modified duty full light sedentary home program kit unit therapy
physical exercise medication medications radiating radiates improved worse better stable
ongoing refused declined pending approved denied certified noncertified upheld overturned
"""
_COMMON_LOWER = frozenset(_COMMON_WORDS.split())


def _plausible_lower_name(value: str) -> bool:
    """A lower-case value after a name label is a name only if no word is a common word."""
    return not any(w.strip("'’-") in _COMMON_LOWER for w in value.split())


_COMPILED = [(kind, re.compile(p, re.M)) for kind, p in _RULES]
_COMPILED_NAMES = [re.compile(p, re.M) for p in _NAME_RULES]
_NAME_WORD = re.compile(f"{_NW}|{_UW}")
_REPEATED = (_K.NAME, _K.EMPLOYER, _K.CLAIMS_ADMIN)  # found values also removed where repeated


# --------------------------------------------------------------------------- redaction


def _digest(key: bytes, kind: IdentifierKind, original: str) -> str:
    normal = " ".join(original.casefold().split())
    return hmac.new(key, f"{kind}:{normal}".encode(), hashlib.sha256).hexdigest()[:16]


def redact(text: str, *, key: bytes | None = None) -> Redaction:
    """Replace identifiers in `text` with typed placeholders such as "[NAME]" and "[DOB]".

    Labels are kept ("DOB: [DOB]", "Dr. [NAME]") so the text still reads naturally. `key`
    keys the audit hashes (default: one random key per process). Never raises on any str.
    """
    key = _PROCESS_KEY if key is None else key
    removed: list[Removed] = []
    found: dict[IdentifierKind, set[str]] = {k: set() for k in _REPEATED}

    def substitute(kind: IdentifierKind, pattern: re.Pattern[str], source: str) -> str:
        group = "v" if "v" in pattern.groupindex else 0

        def one(m: re.Match[str]) -> str:
            start, end = m.span(group)
            original = m.group(group)
            if kind is _K.NAME and original.islower() and not _plausible_lower_name(original):
                return m.group(0)
            if kind is _K.NAME:
                found[kind].update(w for w in _NAME_WORD.findall(original) if len(w) > 1)
            elif kind in found and len(original.strip(" .,")) > 2:
                found[kind].add(original.strip(" .,"))
            removed.append(Removed(kind=kind, digest=_digest(key, kind, original)))
            whole, offset = m.group(0), m.start(0)
            return whole[: start - offset] + kind.placeholder + whole[end - offset :]

        return pattern.sub(one, source)

    out = text
    for kind, pattern in _COMPILED:
        out = substitute(kind, pattern, out)
    for pattern in _COMPILED_NAMES:
        out = substitute(_K.NAME, pattern, out)
    # Later bare mentions of what was found ("cc: Maria Lopez; Valley Farms Inc."): name words
    # as written or in capitals, employer and administrator names as written.
    for kind, values in found.items():
        forms = {f for v in values for f in ((v, v.upper()) if kind is _K.NAME else (v,))}
        if forms:
            alternatives = "|".join(map(re.escape, sorted(forms, key=len, reverse=True)))
            out = substitute(kind, re.compile(rf"(?<![\w\[])(?:{alternatives})(?![\w\]])"), out)
    return Redaction(text=out, removed=removed)


_SEPARATOR = "\n\u241e\n"  # a line no rule crosses (SYMBOL FOR RECORD SEPARATOR)


def redact_together(texts: list[str], *, key: bytes | None = None) -> list[str]:
    """Each text redacted, with the names, employers and administrators found in any of them
    also removed from the others ("Pt: Maria Lopez" in a summary, "Lopez" in a rationale)."""
    if any(_SEPARATOR.strip() in t for t in texts):
        return [redact(t, key=key).text for t in texts]
    parts = redact(_SEPARATOR.join(texts), key=key).text.split(_SEPARATOR)
    return parts if len(parts) == len(texts) else [redact(t, key=key).text for t in texts]
