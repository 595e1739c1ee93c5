"""Remove identifiers from case text before it leaves the process (pure; no I/O).

`redact(text)` replaces identifiers with typed placeholders and returns a `Redaction`: the
redacted text plus an audit trail of kinds and keyed hashes. The originals are never kept,
so the trail can be logged.

Removed (placeholder): person names after an honorific (Mr./Ms./Mrs./Dr.), after a label
("Patient name:", "Claimant:", "Applicant:", "Injured worker:", a line starting "Name:"), after
"the injured worker"/"claimant"/"applicant"/"patient" when two capitalised words follow, in
signature blocks ("Sincerely, Name") and before a credential ("Name, MD"); every later
occurrence of a word of a name found that way ("John" after "Patient name: John Smith")
[NAME]; claim numbers [CLAIM_NO]; IMR case numbers (CM13-0012345), WCAB/EAMS case numbers
(ADJ1234567) and labelled case numbers [CASE_NO]; UR/IMR/authorization/reference/record
numbers [REF_NO]; dates of birth [DOB]; social security numbers, including masked last-4
[SSN]; phone and fax numbers [PHONE]; e-mail addresses [EMAIL]; street addresses, P.O. boxes
and "City, CA 90210" [ADDRESS]; the value after "Employer:" [EMPLOYER]; the value after
"Claims administrator:", "Insurer:", "Carrier:" or "TPA:" [CLAIMS_ADMIN].

Why the employer and claims administrator: the employer (above all a small one) plus the date
of injury identifies the worker, and neither name is ever needed to judge medical necessity.
The claims administrator names no person, but with the date of injury it narrows the claim.
Both are removed only after an explicit label, so prose such as "no affiliation with the
employer ... or the claims administrator" is untouched.

Kept, because the rationale needs them: age ("39-year-old"), sex, the date of injury and every
date other than a birth date (surgery, visit, request dates), diagnoses, body parts, medication
names and doses, provider specialties ("the orthopedic surgeon").

Hashes are HMAC-SHA256 of the normalised original under `key` (default: a random key made
once per process), so short values (an SSN's last four digits, a birth date) cannot be
recovered from a log by trying every value. Pass a stable key to correlate across runs.

Limits: rule-based, English, tuned to workers' comp letters. A name that appears only bare
("Smith reports ...") is missed; review what is sent when in doubt.
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
_GUARD = r"(?<![\w'’-])(?=[A-Z])(?!(?i:" + "|".join(_NOT_NAMES.split()) + r")\b)"
# One name word: Smith, O'Brien, McDonald, Smith-Jones (not "Smith's" beyond "Smith").
_NW = _GUARD + r"(?:[A-Z][a-z]*['’])?[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:-[A-Z][a-z]+)?(?![a-z])"
_UW = _GUARD + r"[A-Z][A-Z'’-]+\b"  # SMITH in headers
_WORD = rf"(?:{_NW}|{_UW})"
_INITIAL = r"[A-Z]\.?(?![\w])"
# Words of a name are one space or tab apart: a wider gap separates header fields.
# A name after an explicit label: "John Q. Public", "SMITH, JOHN", "Smith, John A."
_LABELED = rf"{_WORD}(?:[ \t](?:{_WORD}|{_INITIAL})){{0,3}}(?:,[ \t]?{_WORD}(?:[ \t]{_INITIAL})?)?"
_FREE = rf"{_NW}(?:[ \t]{_INITIAL})?(?:[ \t]{_NW}){{1,2}}"  # two or three words, no label

_ID = r"(?=[A-Za-z-]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,}\b"  # a token with a digit, >= 4 chars
_MARKER = r"(?:#|(?i:no\b\.?|num\b\.?|number|ID\b))"
_MARK = rf"[ \t]*{_MARKER}?[ \t]*[:#]?[ \t]*"  # optional: "Claim 12-34567", "Claim No.: ..."
_MARK_REQ = rf"[ \t]*{_MARKER}[ \t]*[:#]?[ \t]*"  # required: "Case No. ..." (not "case 12")
_MONTH = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b|\d{{4}}-\d{{2}}-\d{{2}}\b"
    rf"|{_MONTH}[ \t]+\d{{1,2}},?[ \t]+\d{{4}}\b|\d{{1,2}}[ \t]+{_MONTH}[ \t]+\d{{4}}\b"
    rf"|(?:19|20)\d{{2}}\b)"
)
_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Boulevard|Blvd|Road|Rd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl"
    r"|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Terrace|Ter|Trail|Trl|Plaza|Square|Sq)\b\.?"
)
_ZIP = r"\d{5}(?:-\d{4})?\b"
_CITY = r"[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+){0,2}"
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
        r"(?i:\bSSN\b|\bSS#|\bSS[ \t]+No\b\.?|social[ \t]+security(?:[ \t]+(?:number|no\b\.?|#))?)"
        r"[ \t]*(?i:ending[ \t]+in|last[ \t]+(?:4|four))?[ \t]*[:#]?[ \t]*"
        r"(?P<v>\d{3}-?\d{2}-?\d{4}\b|\d{4}\b)",
    ),
    (_K.SSN, r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
    (_K.SSN, r"(?<![\w-])(?i:x{3}|\*{3}|#{3})-(?i:x{2}|\*{2}|#{2})-\d{4}(?![\d-])"),
    (
        _K.DOB,
        r"(?i:\bDOB\b|\bD\.O\.B\b\.?|date[ \t]+of[ \t]+birth|\bbirth[ \t]?date|\bborn(?:[ \t]+on)?)"
        r"[ \t]*(?:[:#-]|(?i:is|was|of)\b)?[ \t]*(?P<v>" + _DATE + ")",
    ),
    (_K.CASE_NO, r"\bCM\d{2}-\d{5,8}\b"),
    (_K.CASE_NO, r"\bADJ\d{6,8}\b"),
    (_K.CASE_NO, r"(?i:\b(?:IMR|WCAB|EAMS)[ \t]+)?(?i:\bcase)" + _MARK_REQ + r"(?P<v>" + _ID + ")"),
    (
        _K.CLAIM_NO,
        r"(?i:\b(?:WC|workers'?[ \t]+comp(?:ensation)?)[ \t]+)?(?i:\bclaim)"
        + _MARK
        + r"(?i:is[ \t]+)?(?P<v>"
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
        r"(?i:\b(?:phone|tel|telephone|fax|cell|mobile)\b)[ \t]*(?i:#|no\b\.?|number)?"
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
_NAME_RULES: list[str] = [
    # "Patient name: ..." anywhere; a bare role or "Name:" only as a header field
    r"(?i:\b(?:(?:patient|claimant|applicant|employee|member)(?:'s)?(?:[ \t]+full)?[ \t]+name"
    r"|name[ \t]+of[ \t]+(?:the[ \t]+)?(?:patient|claimant|applicant|injured[ \t]+worker)))"
    r"[ \t]*:[ \t]*(?P<v>" + _LABELED + ")",
    _FIELD
    + r"(?i:\b(?:patient|claimant|applicant|injured[ \t]+(?:worker|employee)|employee|IW|name))"
    + r"[ \t]*:[ \t]*(?P<v>"
    + _LABELED
    + ")",
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
