"""Reviewer queries: a domain lexicon, lexical query expansion and request normalisation.

Reviewers type "Norco 10/325 #90", "PT 2x6 lumbar", "shots in my back"; guidelines say
"hydrocodone", "physical medicine", "epidural steroid injection". `expand_query` appends the
guideline vocabulary to a query for BM25 (the original words always stay), and
`normalize_request` pulls the facts (item, region, post-op, quantity, strength, levels...) out of
one requested line item. Both are pure and run on every search: one compiled alternation scans the
lexicon, so the cost does not grow with the number of entries.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Literal, NamedTuple

from pydantic import Field

from imr_assist.models import StrictModel
from imr_assist.text.regions import BodyRegion

_LEXICON_FILE = "lexicon.txt"
"""The lexicon as data, shipped beside this module; its header says how it is written."""

CONTEXT_GROUPS = frozenset({"diagnoses", "claims"})
"""Lexicon groups that are the case around an item (its condition, the claim), never the item."""


class Term(NamedTuple):
    """One lexicon concept: the guideline's name, what reviewers type, what a search adds."""

    canonical: str
    group: str
    forms: tuple[str, ...]
    also: tuple[str, ...]


class _Guard(NamedTuple):
    """When a short form that is also an everyday word counts as the abbreviation."""

    lower: bool  # counts in any case (capitals always count)
    ok: re.Pattern[str] | None  # ...or when this matches the words around it
    veto: re.Pattern[str] | None  # never counts when this matches


def _guard(ok: str = "", veto: str = "", *, lower: bool = False) -> _Guard:
    return _Guard(lower, *(re.compile(p, re.I) if p else None for p in (ok, veto)))


# Short forms that are also everyday words ("tens of", "if the", "pt" = patient). Patterns run on
# the text around the form, written "@": "tens unit" counts, "tens of patients" does not.
_GUARDS: dict[str, _Guard] = {
    "tens": _guard(r"@\s*(?:units?|trials?|purchase|rental|electrodes?|stim\w*|pads?|supplies)\b"),
    "pt": _guard(
        r"@\s*(?:(?:\d+\s*)?x\s*\d|\d+\s*(?:visits?|sessions?)|visits?|sessions?|eval\w*|referral)"
        r"|\b(?:post[\s-]?op|postop|additional|initial|continued|more|outpatient|aquatic|of)\s*@"
    ),
    "ct": _guard(r"@\s*(?:scans?|myelo\w*)\b"),
    "si": _guard(r"@\s*joints?\b"),
    "if": _guard(r"@\s*(?:units?|stim\w*|device)\b"),
    "med": _guard(),
    "ics": _guard(),
    "vas": _guard(),
    # In California WC "RFA" is also the Request for Authorization form.
    "rfa": _guard(
        veto=r"@\s*(?:dated|dates?|forms?|received|submitted|signed)\b|\b(?:dwc|per)\s*@",
        lower=True,
    ),
    "hep": _guard(veto=r"@\s*[abc]\b", lower=True),  # hepatitis, not a home exercise program
    "adjustment": _guard(veto=r"\b(?:dose|dosage|medication|meds?|medicine)\s*@", lower=True),
}


def _key(surface: str) -> str:
    return re.sub(r"[\s\-']+", "", surface.lower())


def _split(cell: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in cell.split(",") if p.strip())


def _parse_lexicon(table: str) -> dict[str, Term]:
    """Parse the text table into {canonical: Term}; a canonical or form listed twice is an error."""
    rows: list[list[str]] = []
    group = ""
    for line in table.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            group = line.strip("[] ")
        elif line[0].isspace():
            rows[-1][1] += " " + line.strip()
        else:
            rows.append([group, line.strip()])
    lexicon: dict[str, Term] = {}
    owner: dict[str, str] = {}
    for grp, row in ((g, r) for g, line in rows for r in line.split(";")):
        canonical, _, rest = row.partition(":")
        forms, _, also = rest.partition("+")
        term = Term(canonical.strip(), grp, _split(forms), _split(also))
        if term.canonical in lexicon:
            raise ValueError(f"lexicon: {term.canonical!r} is listed twice")
        lexicon[term.canonical] = term
        for form in (term.canonical, *term.forms):
            if owner.setdefault(_key(form), term.canonical) != term.canonical:
                raise ValueError(f"lexicon: {form!r} belongs to two concepts")
    return lexicon


def _read_lexicon() -> str:
    return resources.files("imr_assist.text").joinpath(_LEXICON_FILE).read_text(encoding="utf-8")


LEXICON: dict[str, Term] = _parse_lexicon(_read_lexicon())
_BY_KEY: dict[str, Term] = {_key(f): t for t in LEXICON.values() for f in (t.canonical, *t.forms)}
_FORMS = sorted(
    {f for t in LEXICON.values() for f in (t.canonical, *t.forms)}, key=len, reverse=True
)
_LEXICON_RE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(r"[\s-]*".join(map(re.escape, re.split(r"[\s-]+", f))) for f in _FORMS)
    + r")(?:'?s|es)?(?!\w)",
    re.I,
)


class _Match(NamedTuple):
    start: int
    end: int
    surface: str
    term: Term


def _resolve(surface: str) -> tuple[str, Term] | None:
    key = _key(surface)
    for k in (key, key[:-1] if key.endswith("s") else "", key[:-2] if key.endswith("es") else ""):
        if k in _BY_KEY:
            return k, _BY_KEY[k]
    return None


def _allowed(key: str, surface: str, text: str, start: int, end: int) -> bool:
    guard = _GUARDS.get(key)
    if guard is None:
        return True
    window = f"{text[max(0, start - 40) : start]}@{text[end : end + 40]}"
    if guard.veto and guard.veto.search(window):
        return False
    caps = surface.rstrip("s'").isupper()
    return guard.lower or caps or bool(guard.ok and guard.ok.search(window))


_NEGATING_PREFIX_RE = re.compile(r"(?<!\w)non[\s-]?$", re.I)
"""'non-benzodiazepine', 'non-opioid', 'non surgical': the prefix denies the concept after it."""


def _scan(text: str) -> list[_Match]:
    out = []
    for m in _LEXICON_RE.finditer(text):
        if _NEGATING_PREFIX_RE.search(text[max(0, m.start() - 4) : m.start()]):
            continue
        found = _resolve(m.group(0))
        if found and _allowed(found[0], m.group(0), text, m.start(), m.end()):
            out.append(_Match(m.start(), m.end(), m.group(0), found[1]))
    return out


def _tokens(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


class ExpandedQuery(StrictModel):
    """A query with guideline vocabulary appended for lexical (BM25) search."""

    original: str = Field(description="The query as typed")
    expanded: str = Field(description="The original query followed by the added terms")
    terms_added: list[str] = Field(
        description="Canonical names and related guideline terms not already in the query"
    )
    matched: list[tuple[str, str]] = Field(
        description="(surface form as typed, canonical name) for each lexicon hit, in order"
    )


def expand_query(text: str) -> ExpandedQuery:
    """Append the guideline names of abbreviations, brands and lay terms found in `text`."""
    present = _tokens(text)
    matched: list[tuple[str, str]] = []
    added: list[str] = []
    for m in _scan(text):
        if (m.surface, m.term.canonical) not in matched:
            matched.append((m.surface, m.term.canonical))
        for term in (m.term.canonical, *m.term.also):
            if _tokens(term) not in present and term not in added:
                added.append(term)
    expanded = " ".join([text, *added]) if added else text
    return ExpandedQuery(original=text, expanded=expanded, terms_added=added, matched=matched)


# ----------------------------------------------------------------------------- request facts

_REGIONS: dict[str, str] = {
    "thoracic": r"thoracic|t-spine|mid[\s-]?back|middle back|upper back|t(?:1[0-2]|[1-9])",
    "low_back": r"lumbar|lumbosacral|low(?:er)?[\s-]back|lbp|l/s|l-spine|sacroiliac|si[\s-]joint|"
    r"sij|sacral|sacrum|coccyx|sciatica|l[1-5]|s1|back",
    "cervical": r"cervical|neck|c-spine|whiplash|c[1-8]",
    "knee": r"knees?|menisc\w*|acl|pcl|patell\w*|tka|tkr",
    "shoulder": r"shoulders?|rotator cuff|subacromial|acromi\w*|labr\w*|adhesive capsulitis",
    "hip": r"hips?|tha|thr|acetabul\w*",
    "wrist_hand": r"wrists?|hands?|carpal tunnel|cts|fingers?|thumbs?|de quervain\w*",
    "ankle_foot": r"ankles?|foot|feet|plantar|heels?|achilles|toes?",
    "elbow": r"elbows?|epicondyl\w*|cubital",
    "general": r"multiple body parts|whole body|widespread",
}


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


def _w(alternatives: str) -> str:
    """Whole words only: `alternatives` not inside a longer word."""
    return rf"(?<!\w)(?:{alternatives})(?!\w)"


_REGION_RE = _rx("|".join(f"(?P<{name}>(?<!/){_w(rx)})" for name, rx in _REGIONS.items()))
_SURGERY = (
    r"fusion|arthrodesis|(?:hemi)?laminectomy|laminotomy|(?:micro-?)?dis[ck]ectomy|decompression|"
    r"foraminotomy|[patx]lif|arthroscop\w*|menisc\w*ectomy|reconstruction|repair|arthroplasty|"
    r"replacement|tk[ar]|th[ar]|release|orif|osteotomy|debridement|acromioplasty|surgery|"
    r"kyphoplasty|vertebroplasty"
)
_SURGERY_RE = _rx(_w(_SURGERY))
_SP_RE = _rx(_w(r"s/p|status[\s-]+post|after|following") + r"\s+([^,;()]+)")
_POST_PROC_RE = _rx(rf"(?<!\w)post[\s-]?((?:(?:lumbar|cervical|[CTL]\d\S*)\s+)?{_w(_SURGERY)})")
_PROC_END_RE = _rx(r"\s+(?:(?:for|with|then|on|in|dated|dos)\b|\d+/\d+/\d+|(?:19|20)\d\d\b).*")
_POST_END_RE = _rx(r"(?<!\w)post[\s-]?$")  # "post-fusion PT": the fusion is a fact, not the item
_POSTOP_RE = _rx(_w(r"post[\s-]?op(?:erative(?:ly)?)?|postop|post[\s-]?surg(?:ical|ery)"))
_ACUITY_RE = _rx(_w(r"sub[\s-]?acute|acute|chronic"))
_SIDE_RE = _rx(r"(?<!\w)(?:left|lt|right|rt|bilateral|bilat|b/l)(?![\w/])")
_SIDE_LETTER_RE = re.compile(r"(?<![\w/])[RL](?![\w/])")  # "R knee"; capitals only
_LEVEL_RE = _rx(r"(?<![\w/])([CTLS])(\d{1,2})(?:\s*[-–]\s*([CTLS])?(\d{1,2}))?(?!\w)")
_LEVEL_MAX = {"C": 8, "T": 12, "L": 5, "S": 5}
_STRENGTH_RE = _rx(
    r"(?<![\w/.])(?:(\d+(?:\.\d+)?\s*/\s*\d+(?:\.\d+)?)(?![\d/])(?:\s*(mg|mcg)(?!\w))?"
    r"|(\d+(?:\.\d+)?)\s*(mcg/hr?|mg/hr?|mg/ml|mg|mcg|%)(?!\w))"
)
_UNITS = {
    "sessions": "sessions?", "visits": "visits?", "treatments": "treatments?",
    "tablets": "tablets?|tabs?|pills?", "capsules": "capsules?|caps?", "patches": "patch(?:es)?",
    "units": "units?", "hours": "hours?|hrs?", "days": "days?", "months": "months?|mos?",
    "classes": "class(?:es)?", "injections": "injections?", "grams": "grams?|g",
    "refills": "refills?",
}  # fmt: skip
_UNIT_RX = "|".join(f"(?P<{u}>{rx})" for u, rx in _UNITS.items())
_NUM = r"(?<![\w/.#-])(\d+)"  # a count, not part of "L4-5", "10/325", "1.5" or "#90"
_PER_WEEK = r"(?:(?:a|per|/)\s*(?:wk|week)|weekly)"
_FREQ_RE = _rx(  # "2x6", "2x/week x 6 weeks", "2 times a week for 6 weeks"
    rf"{_NUM}\s*(?:x|times?)\s*(?:{_PER_WEEK}\s*(?:x|for)|for)?\s*(\d{{1,2}})(?:\s*(?:wks?|weeks?))?"
    r"(?!\s*(?:days?|months?|mos?)\b)(?![\w/])"
)
_PER_WEEK_RE = _rx(rf"{_NUM}\s*(?:x|times?)\s*{_PER_WEEK}(?!\w)")
_PER_PERIOD_RE = _rx(rf"{_NUM}\s*(?:x|times?)\s*(?:/|a|per)\s*(?:year|yr|month|mo|day)(?!\w)")
_HASH_RE = re.compile(r"#\s*(\d+)")
_COUNT_RE = _rx(rf"{_NUM}\s*-?\s*(?:(?!(?:mg|mcg|g|ml|x)\b)[a-z][\w/-]*\s+){{0,3}}?{_w(_UNIT_RX)}")
_X_RE = _rx(rf"(?<![\w/])x\s*(\d+)(?:\s*(?:(?P<weeks>wks?|weeks?)|{_UNIT_RX}))?(?!\w)")
_WEEKS_RE = _rx(rf"{_NUM}\s*-?\s*{_w('wks?|weeks?')}")
_SESSION_UNIT_RE = _rx(_w(r"sessions?|visits?|treatments?|class(?:es)?"))
# The request's own words end at a clause about history or circumstances.
_CLAUSE_RE = _rx(
    r";|,(?!\s*(?:and\s+)?[CTLS]\d)|\.(?:\s|$)|\s[-–—]\s|"
    + _w(r"s/p|status[\s-]+post|after|following|prior|doi|hx|history|on it")
)
_ITEM_CUT_RE = _rx(_w(r"for(?!\s+(?:the\s+)?\d)|(?<!\d\s)to|then|due to|secondary to|because"))
_DX_CUE_RE = _rx(
    _w(
        r"sub[\s-]?acute|acute|chronic|pain|lbp|radicul\w*|sciatica|strain|sprain|stenosis|"
        r"herniat\w*|hnp|ddd|fbss|crps|disc|disk|fracture|osteoporo\w*|spasms?|flare|neuropath\w*"
    )
)
_MODIFIER_RE = _rx(
    _w(
        r"additional|repeat|continued?|continuation(?:\s+of)?|extension(?:\s+of)?|ongoing|further|"
        r"more|another|refills?(?:\s+of)?|renewal(?:\s+of)?|retro(?:spective)?"
    )
)
_LEAD_RE = _rx(r"^\s*(?:retro(?:spective)?\s+)?(?:request(?:ed|ing)?|req)(?:\s+for)?(?!\w)")
# Removed from the item, in order: everything here is a fact with its own field (or noise).
_STRIP_RES = (
    _MODIFIER_RE,
    _POSTOP_RE,
    _rx(rf"(?<!\w)post[\s-]?{_w(_SURGERY)}"),
    _ACUITY_RE,
    _FREQ_RE,
    _PER_WEEK_RE,
    _PER_PERIOD_RE,
    _HASH_RE,
    _COUNT_RE,
    _X_RE,
    _WEEKS_RE,
    _STRENGTH_RE,
    _rx(_w(r"bid|tid|qid|qd|qhs|qam|qpm|hs|prn|daily|nightly|po|im|q\s?\d+\s?h(?:rs?)?")),
    _rx(_w(r"(?:under|with)\s+(?:fluoroscop\w*|ultrasound)(?:\s+guidance)?")),
    _SIDE_RE,
    _LEVEL_RE,
    _rx(_w(r"(?:lumbar|lumbosacral|cervical|thoracic|l/s|[lct]-spine|low(?:er)?[\s-]back|neck)")),
    _rx(_w("spine")),
    _rx(
        r"(?:\s+(?:of|to|at|on|for)\s+(?:the\s+)?)?"
        + _w(r"knees?|shoulders?|hips?|wrists?|hands?|ankles?|feet|foot|elbows?")
        + r"\s*$"
    ),
    _rx(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])|" + _w(r"sessions?|visits?|treatments?|tablets?|tabs")),
    _rx(r"\(\s*\)"),
    _SIDE_LETTER_RE,
)
_EDGE = r"of|at|and|with|x|for|the|a|an|in|on|to|per"
_EDGE_RE = _rx(rf"^(?:[\s,;:+/&#.–-]|{_w(_EDGE)})+|(?:[\s,;:+/&#.(–-]|{_w(_EDGE)})+$")
_PUA = 0xE000  # private-use characters stand in for lexicon hits while the item is cleaned
_PUA_RE = re.compile("([\ue000-\uf8ff])")


class RequestFacts(StrictModel):
    """Facts stated in one requested line item. Anything not stated is None (or False)."""

    text: str = Field(description="The request as typed, with runs of whitespace collapsed")
    item: str | None = Field(description="The treatment requested, as typed, without the counts")
    canonical_item: str | None = Field(description="The item in lexicon names, lowercased")
    body_region: BodyRegion | None = Field(description="First body region mentioned")
    post_operative: bool = Field(description="The request follows surgery (post-op, s/p ...)")
    procedure: str | None = Field(description="The surgery named after s/p, status post, after")
    additional: bool = Field(description="Requested as additional, repeat or continued treatment")
    quantity: int | None = Field(description="Number requested (12 sessions, #90, 2x6 = 12)")
    unit: str | None = Field(description="What the quantity counts: sessions, visits, tablets...")
    frequency_per_week: int | None = Field(description="Sessions a week, from '2x6' or '2x/week'")
    duration_weeks: int | None = Field(description="Weeks of treatment, from '2x6' or 'x 6 weeks'")
    strength: str | None = Field(description="Dose strength as written: '10/325', '75 mg', '5%'")
    laterality: Literal["left", "right", "bilateral"] | None = Field(description="Side")
    levels: list[str] | None = Field(description="Spinal levels of the request: ['L4-5', 'L5-S1']")
    acuity: Literal["acute", "subacute", "chronic"] | None = Field(description="As stated")


def _head(text: str) -> str:
    m = _CLAUSE_RE.search(text)
    return text[: m.start()] if m else text


def _quantity(head: str) -> tuple[int | None, str | None, int | None, int | None]:
    """(quantity, unit, frequency per week, duration in weeks) stated in the request head."""
    dose_form = next((u for u in ("patches", "capsules") if re.search(_UNITS[u], head, re.I)), None)
    weeks = _WEEKS_RE.search(head)
    duration = int(weeks.group(1)) if weeks else None
    if m := _FREQ_RE.search(head):
        freq, dur = int(m.group(1)), int(m.group(2))
        unit = _SESSION_UNIT_RE.search(head)
        name = _unit_name(unit.group(0)) if unit else "sessions"
        return freq * dur, name, freq, dur
    per_week = _PER_WEEK_RE.search(head)
    frequency = int(per_week.group(1)) if per_week else None
    if m := _HASH_RE.search(head):
        return int(m.group(1)), dose_form or "tablets", frequency, duration
    if m := _COUNT_RE.search(head):
        return int(m.group(1)), m.lastgroup, frequency, duration
    if m := _X_RE.search(head):
        if m.group("weeks"):
            return None, None, frequency, int(m.group(1))
        unit_name = m.lastgroup if m.lastgroup in _UNITS else dose_form
        return int(m.group(1)), unit_name, frequency, duration
    return None, None, frequency, duration


def _unit_name(word: str) -> str:
    return next(u for u, rx in _UNITS.items() if re.fullmatch(rx, word, re.I))


def _strength(head: str) -> str | None:
    m = _STRENGTH_RE.search(head)
    if not m:
        return None
    if m.group(1):
        ratio = re.sub(r"\s*/\s*", "/", m.group(1))
        return f"{ratio} {m.group(2).lower()}" if m.group(2) else ratio
    unit = m.group(4).lower()
    return f"{m.group(3)}%" if unit == "%" else f"{m.group(3)} {unit}"


def _levels(head: str) -> list[str] | None:
    out: list[str] = []
    for a, n, b, m in _LEVEL_RE.findall(head):
        a, b = a.upper(), b.upper()
        if not 1 <= int(n) <= _LEVEL_MAX[a] or (m and not 1 <= int(m) <= _LEVEL_MAX[b or a]):
            continue
        level = f"{a}{n}" + (f"-{b if b != a else ''}{m}" if m else "")
        if level not in out:
            out.append(level)
    return out or None


def _laterality(text: str) -> Literal["left", "right", "bilateral"] | None:
    sides = {w.lower()[0] for rx in (_SIDE_RE, _SIDE_LETTER_RE) for w in rx.findall(text)}
    if "b" in sides or {"l", "r"} <= sides:
        return "bilateral"
    return "left" if "l" in sides else "right" if "r" in sides else None


def _procedure(text: str) -> str | None:
    for m in _SP_RE.finditer(text):
        clause = _PROC_END_RE.sub("", m.group(1)).strip()
        if _SURGERY_RE.search(clause):
            return clause
    post = _POST_PROC_RE.search(text)
    return post.group(1) if post else None


def _item(text: str, matches: list[_Match]) -> tuple[str | None, str | None]:
    """The requested item as typed and in lexicon names, without counts, sides and diagnoses."""
    kept = [
        m
        for m in matches
        if m.term.group not in CONTEXT_GROUPS and not _POST_END_RE.search(text, 0, m.start)
    ]
    parts, pos = [], 0
    for i, m in enumerate(kept):
        parts += [text[pos : m.start], chr(_PUA + i)]
        pos = m.end
    masked = _LEAD_RE.sub("", _head("".join([*parts, text[pos:]])))
    if cut := _ITEM_CUT_RE.search(masked):
        masked = masked[: cut.start()]
    for cue in _DX_CUE_RE.finditer(masked):
        if masked[: cue.start()].strip():
            masked = masked[: cue.start()]
            break
    for rx in _STRIP_RES:
        masked = rx.sub(" ", masked)
    masked = _EDGE_RE.sub("", re.sub(r"\s*/\s*", "/", " ".join(masked.split())))
    if not masked:
        return None, None
    if not any(_is_placeholder(c, kept) for c in masked):
        return _restore(masked, kept, canonical=False), None
    # "Cold laser (LLLT)": a term restated in parentheses is one term in canonical form.
    unwrapped = re.sub(r"\(\s*([\ue000-\uf8ff])\s*\)", r"\1", masked)
    return _restore(masked, kept, canonical=False), _restore(unwrapped, kept, canonical=True)


def _is_placeholder(piece: str, kept: list[_Match]) -> bool:
    return len(piece) == 1 and _PUA <= ord(piece) < _PUA + len(kept)


def _restore(masked: str, kept: list[_Match], *, canonical: bool) -> str:
    """Put the lexicon hits back: as typed, or as canonical names with the rest lowercased."""
    out: list[str] = []
    last = ""
    for piece in filter(None, _PUA_RE.split(masked)):
        if not _is_placeholder(piece, kept):
            out.append(piece.lower() if canonical else piece)
            last = last if not piece.strip() else ""
            continue
        m = kept[ord(piece) - _PUA]
        if not canonical:
            out.append(m.surface)
        elif last == m.term.canonical:  # "chiropractic spinal manipulation": one concept
            if not out[-1].strip():
                out.pop()
        else:
            out.append(m.term.canonical)
            last = m.term.canonical
    return "".join(out)


def body_regions(text: str) -> list[str]:
    """Every body region `text` names, in order of first mention ('heel lift, my back hurts':
    ankle_foot, low_back)."""
    return list(dict.fromkeys(m.lastgroup for m in _REGION_RE.finditer(text) if m.lastgroup))


def normalize_request(text: str) -> RequestFacts:
    """Pull the item and the stated facts out of one requested line item; never guess."""
    text = " ".join(_PUA_RE.sub(" ", text).split())
    head = _head(text)
    item, canonical_item = _item(text, _scan(text))
    quantity, unit, frequency, duration = _quantity(head)
    region = _REGION_RE.search(text)
    acuity = _ACUITY_RE.search(text)
    procedure = _procedure(text)
    return RequestFacts(
        text=text,
        item=item,
        canonical_item=canonical_item,
        body_region=region.lastgroup if region else None,
        post_operative=bool(procedure or _POSTOP_RE.search(text)),
        procedure=procedure,
        additional=bool(_MODIFIER_RE.search(head)),
        quantity=quantity,
        unit=unit,
        frequency_per_week=frequency,
        duration_weeks=duration,
        strength=_strength(head),
        laterality=_laterality(text),
        levels=_levels(head),
        acuity=re.sub(r"[\s-]", "", acuity.group(0).lower()) if acuity else None,
    )
