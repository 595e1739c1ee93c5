"""The structural markers of an IMR letter: headings, labels, decision words, item numbers.

Every pattern lets words run together or split across lines (``flex``), as PDF extraction leaves
them. Shared by the modules of :mod:`imr_assist.ingest.determination`.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE


def flex(phrase: str) -> str:
    """Regex for a phrase whose words may be run together or split by any whitespace."""
    return r"\s*".join(re.escape(word) for word in phrase.split())


# --------------------------------------------------------------------------- letter structure

ISSUES_HEADING = re.compile(flex("IMR ISSUES, DECISIONS AND RATIONALES"), _I)
SET_FORTH = re.compile(flex("items/services set forth below:"), _I)
SUMMARY_HEADING = re.compile(flex("CLINICAL CASE SUMMARY") + r"\s*:?|(?i:case\s*summary)\s*:")
SUMMARY_BOILERPLATE = re.compile(
    r"^The\s+(?:expert|physician)\s+reviewer\s+developed\s+the\s+following.{0,120}?records\s*:\s*",
    _I,
)
# a section heading alone on its line: "Documents Reviewed for Determination:"
SMALL_WORD = r"(?:of|the|for|and|to|in|by|a|an|on)"
HEADING_LINE = re.compile(
    rf"(?:[A-Z][\w/&'()-]*|{SMALL_WORD})(?:\s+(?:[A-Z][\w/&'()-]*|{SMALL_WORD})){{2,7}}\s*:"
)
TERMINATOR = re.compile(
    r"\bcc\s*:|\bSincerely\b|" + flex("Effect of the Decision") + r"|(?<=\s)/[a-z]{2,4}(?=\s|$)",
    _I,
)
LABELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "claims",
        re.compile(
            r"(?:"
            + flex("Claims Administrator")
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
RANK = {name: rank for rank, (name, _) in enumerate(LABELS)}
LABEL_NAMES = {
    "claims": "claims administrator guideline",
    "reviewer": "reviewer guideline",
    "rationale": "rationale",
}

DECISION_WORD = r"(?P<dec>Up\s*held|Over\s*turned)(?-i:(?![a-z]))"
# "<item>:  Upheld"; "Up held" and "kit:Overturned" survive; "Final Determination: UPHOLD" does not
TOKEN = re.compile(r":\s*" + DECISION_WORD, _I)
# "Upheld" alone on its line, right after an item line
BARE_TOKEN = re.compile(r"\s*" + DECISION_WORD + r"\s*", _I)
# the end of the sentence before an item name: "...not medically necessary. <item>: Upheld"
SENTENCE_END = re.compile(r"(?:(?:(?<=[a-z]{3})|(?<=\d)|(?<=[)\]]))\.[\"'\u201d]?|(?<=below):)\s+")
# an item number: "1. " or "1)" (a decimal such as "1.5" is not one)
NUMBER = re.compile(r"(?P<num>\d{1,2})(?:\.\s+|\)\s*)")
MAXIMUS_DETERMINED = (
    r"MAXIMUS\s*Federal\s*Services,?\s*Inc\.?,?\s*has\s*determined\s*(?:that\s+)?"
    r"(?:the\s*request(?:ed)?\s*for\s*|the\s*requested\s+)?"
)
# "is not medically necessary" is decided on the whole phrase, never on "medically necessary";
# PDF extraction runs its words together ("is notmedically necessary andappropriate")
NECESSITY = r"\s+(?:is|are)\s*(?P<neg>not\s*|no\s*longer\s*)?medically\s*necessary"
STATEMENT = re.compile(
    r"(?:(?P<num>\d{1,2})(?:\.\s+|\)\s*)(?P<maximus>"
    + MAXIMUS_DETERMINED
    + r")?|(?P<maximus_only>"
    + MAXIMUS_DETERMINED
    + r"))(?P<item>(?:[^.]|\.(?!\s)){1,300}?)"
    + NECESSITY
    + r"(?:\s*(?:and|or)\s*appropriate)?\.?",
    _I,
)
CONCLUSION = re.compile(NECESSITY, _I)
REGARDING = re.compile(
    r"^(?:regarding\s*:?\s*)?(?:the\s*)?(?:request(?:s|ed)?\s*for\s+)?(?=\S)", _I
)

MARKERS = tuple(
    re.compile(pattern, _I)
    for pattern in (
        flex("IMR ISSUES, DECISIONS"),
        flex("HOW THE IMR FINAL DETERMINATION"),
        flex("Independent Medical Review"),
        flex("MAXIMUS Federal Services"),
        flex("CLINICAL CASE SUMMARY") + r"|\bCase\s*Summary\s*:",
        flex("disputed items/services"),
        r"has\s*determined\s*(?:that\s+)?the\s*request.{0,300}?medically\s*necessary\s*and\s*"
        r"appropriate",
        TOKEN.pattern,
        *(label.pattern for _, label in LABELS),
    )
)
