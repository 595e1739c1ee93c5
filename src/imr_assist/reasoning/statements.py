"""Where a guideline states its recommendations: the five ways of finding a statement, its
label, grade and intervention (see `reasoning.recommendations` for the order and the rules).
Pure functions over a `SourceDocument`'s blocks; what follows a statement (criteria, limits,
passages) is attached by `reasoning.recommendations`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from imr_assist.models import Block, SourceDocument
from imr_assist.reasoning.wording import (
    Grade,
    acronyms,
    grade_of,
    intervention_phrases,
    leading_label,
    without_parentheses,
)
from imr_assist.text.sentences import split_sentences

_ITEM_CODE_RE = re.compile(
    r"(?<![\w.])(?:[A-Z]\.\d{1,2}(?:\.(?:\d{1,2}|[a-z]{1,4}))*|\d{1,2}(?:\.\d{1,2}){1,3})"
    r"(?=\s+[A-Z(])"
)
"""An item number that opens a title or statement: 'B.8.1 Lumbar braces', 'D.4.a Recommended',
'3.2 Exercise' (never a decimal in running text: '1.4 times greater')."""
_LEADING_CODE_RE = re.compile(rf"^(?P<code>{_ITEM_CODE_RE.pattern})\s+")
_TOPIC_RE = re.compile(r"^(?P<topic>[^.:;]{2,90}?):\s+")
_PAREN_RE = re.compile(r"\(([^()]{3,160})\)")
_GRADE_LINE_RE = re.compile(
    r"\b(?:strength\s+of\s+(?:evidence|recommendation)|recommendation\s+(?:grade|strength)"
    r"|grade\s+of\s+recommendation)\s*[:–—-]\s*",
    re.IGNORECASE,
)
_GRADE_SENTENCE_RE = re.compile(
    r"^(?:(?i:for|in|among)\s[^,]{3,160},\s*)?(?:(?i:we|it\s+is|there\s+is)|[A-Z]{2,8}"
    r"|(?i:the\s+(?:\w+\s+){0,3}(?:group|panel|committee|task\s+force)))\s+"
    r"(?i:(?:strongly\s+|conditionally\s+)?(?:not\s+)?(?:recommends?|suggests?|recommended"
    r"|no\s+recommendation|insufficient\s+evidence\s+to\s+recommend))\b"
)
_PROSE_RE = re.compile(
    r"\b(?:is|are)\s+(?:not\s+|only\s+|generally\s+)?(?:recommended|an\s+option)\b",
    re.IGNORECASE,
)
_LIMIT_FIELD_RE = re.compile(
    r"frequency|duration|dos(?:e|age)|visits?|sessions?|treatments|time\s+to\s+produce", re.I
)
_CRITERIA_FIELD_RE = re.compile(
    r"indications?|criteri(?:a|on)|requirements?|prerequisites?|patient\s+selection", re.I
)
_OTHER_FIELD_RE = re.compile(
    r"discontinu|contraindicat|rationale|note|comment|definition|description|mechanism", re.I
)
_INLINE_ITEMS_RE = re.compile(r"(?:^|\s)(?:\(\d{1,2}\)|\d{1,2}[.)]|[a-z]\))\s+")
CRITERIA_LEAD_RE = re.compile(
    r"\bcriteria\s+for\s+(?:the\s+)?use\s+of\s+(?P<what>[^:]{2,80}?)\s*:", re.IGNORECASE
)
_REQUIREMENT_RE = re.compile(
    r"\b(?:must|should|required|requires|only\s+(?:if|when|after))\b", re.IGNORECASE
)
_CONDITION_RE = re.compile(
    r"\b(?:when|if|only\s+(?:if|when|after)|provided(?:\s+that)?|in\s+the\s+(?:absence|presence)"
    r"\s+of|after\s+(?:failure|a\s+trial|trials?|attempting))\b[^.;]{8,}",
    re.IGNORECASE,
)


@dataclass
class Draft:
    """A recommendation found in the text, before it becomes a record."""

    start: int
    offset: int
    label: str
    statement: str
    grade: Grade
    interventions: list[str]
    section: str | None
    number: str | None = None
    end: int = -1
    criteria: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    criteria_blocks: list[int] = field(default_factory=list)
    """Blocks outside its own section that hold its criteria ('Criteria for the use of X')."""


@dataclass
class GuidelineText:
    """The document with what every family reads: blocks, headings by id, acronyms."""

    doc: SourceDocument
    blocks: list[Block]
    titles: dict[str, str]
    acronyms: dict[str, str]

    @classmethod
    def of(cls, doc: SourceDocument) -> GuidelineText:
        titles: dict[str, str] = {}
        headings = [b.section for b in doc.blocks if b.section]
        headings += [ln.lstrip("#").strip() for p in doc.pages for ln in p.text.splitlines()
                     if ln.startswith("#")]  # fmt: skip
        for heading in headings:
            code = _LEADING_CODE_RE.match(heading + " ")
            if code:
                titles.setdefault(code.group("code"), heading[code.end() :].strip())
        text = "\n".join(b.text for b in doc.blocks)
        return cls(doc, list(doc.blocks), titles, acronyms(text))


# --------------------------------------------------------------------------- 1. numbered


def numbered(doc: GuidelineText) -> list[Draft]:
    """1. The numbered recommendations `ingest.structure` parsed, with their printed grade."""
    first = {}
    for i, block in enumerate(doc.blocks):
        if block.recommendation and block.recommendation not in first:
            first[block.recommendation] = i
    drafts = []
    for rec in doc.doc.recommendations:
        start = first.get(rec.number, 0)
        draft = Draft(
            start=start,
            offset=0,
            label=f"Rec {rec.number}",
            statement=rec.text,
            grade=Grade(rec.grade, rec.direction, rec.strength),
            interventions=intervention_phrases(rec.text),
            section=doc.blocks[start].section if doc.blocks else None,
            number=rec.number,
            end=start,
        )
        draft.criteria = conditions(rec.text)
        drafts.append(draft)
    return drafts


# --------------------------------------------------------------------------- 2. label lines


def labelled(doc: GuidelineText) -> list[Draft]:
    """2. Paragraphs that open with a strength label (after an item number or a 'Topic:')."""
    drafts: list[Draft] = []
    for i, block in enumerate(doc.blocks):
        code_match = _LEADING_CODE_RE.match(block.text)
        code = code_match.group("code") if code_match else None
        rest = block.text[code_match.end() :] if code_match else block.text
        topic = None
        grade = leading_label(rest)
        if grade is None:
            topic_match = _TOPIC_RE.match(rest)
            if topic_match and not field_kind(topic_match.group("topic")):
                grade = leading_label(rest[topic_match.end() :])
                if grade is not None:
                    topic = topic_match.group("topic").strip()
                    rest = rest[topic_match.end() :]
        if grade is None:
            continue
        statement, _ = split_criteria_lead(rest)
        tail = statement[len(grade.text) :].lstrip(" -–—:,.")
        own = intervention_phrases(tail) if tail else []
        heading = heading_title(block.section)
        interventions = own or ([topic] if topic else []) or ([heading] if heading else [])
        if own and heading and not shares_word(own[0], heading):
            interventions = [*own, heading]
        drafts.append(
            Draft(
                start=i,
                offset=0,
                label=_label(doc, code, block.section, topic),
                statement=" ".join(statement.split()),
                grade=grade,
                interventions=interventions,
                section=block.section,
                end=i,
            )
        )
    return drafts


def heading_title(section: str | None) -> str:
    """A heading without its item number: 'D.5.b TENS' -> 'TENS'."""
    if not section:
        return ""
    code = _LEADING_CODE_RE.match(section + " ")
    return section[code.end() :].strip() if code else section.strip()


def section_headings(doc: GuidelineText, section: str | None) -> list[str]:
    """Titles of the sections enclosing a numbered section, outermost first: 'C.9.d.iii MRI'
    gives the titles of C, C.9 and C.9.d that the document prints; [] for an unnumbered one."""
    code = _LEADING_CODE_RE.match((section or "") + " ")
    if code is None:
        return []
    parts = re.split(r"(?<=[.])", code.group("code").rstrip("."))
    prefixes = ["".join(parts[:i]).rstrip(".") for i in range(1, len(parts))]
    return [t for p in prefixes if (t := doc.titles.get(p))]


def _label(
    doc: GuidelineText, code: str | None, section: str | None, topic: str | None, fallback: str = ""
) -> str:
    """'D.4.a Biofeedback', 'C.6.e Meniscus Injury: Non-Operative Treatment', a topic, a
    heading; else `fallback` (the intervention)."""
    title = heading_title(section)
    section_code = _LEADING_CODE_RE.match((section or "") + " ")
    own_code = code or (section_code.group("code") if section_code else None)
    if topic:
        return topic if not title else f"{title}: {topic}"
    if own_code is None:
        return title or fallback or "Recommendation"
    parent_code = own_code.rsplit(".", 1)[0] if code is None else None
    parent = doc.titles.get(parent_code or "") if parent_code and "." in parent_code else None
    if code is not None and section_code and section_code.group("code") != code:
        return f"{code} {title}"
    return f"{own_code} {parent}: {title}" if parent else f"{own_code} {title}".strip()


def shares_word(a: str, b: str) -> bool:
    """True when two phrases share a word of four letters or more."""
    words = lambda s: {w for w in re.findall(r"[a-z]{4,}", s.lower())}  # noqa: E731
    return bool(words(a) & words(b))


# --------------------------------------------------------------------------- 3-4. graded


def owned_blocks(doc: GuidelineText, drafts: Sequence[Draft]) -> set[int]:
    """Blocks inside a label recommendation's span (its statement up to the next one or the
    next heading): their sentences are its discussion, not new recommendations."""
    owned: set[int] = set()
    starts = sorted(d.start for d in drafts)
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(doc.blocks)
        for i in range(start, stop):
            if doc.blocks[i].section != doc.blocks[start].section:
                break
            owned.add(i)
    return owned


def _runs(doc: GuidelineText, owned: set[int]) -> list[tuple[str, list[tuple[int, int]]]]:
    """Text of each run of consecutive unowned blocks, with (offset, block index) marks; a
    heading that changes between blocks is written into the text (tables print item codes
    in what the layout reader took for a heading)."""
    runs: list[tuple[str, list[tuple[int, int]]]] = []
    parts: list[str] = []
    marks: list[tuple[int, int]] = []
    size = 0
    previous: Block | None = None
    for i, block in enumerate(doc.blocks):
        if i in owned:
            if parts:
                runs.append(("".join(parts), marks))
            parts, marks, size, previous = [], [], 0, None
            continue
        if block.section and (previous is None or previous.section != block.section):
            piece = f"{block.section}\n\n"
            marks.append((size, i))
            parts.append(piece)
            size += len(piece)
        marks.append((size, i))
        piece = f"{block.text}\n"
        parts.append(piece)
        size += len(piece)
        previous = block
    if parts:
        runs.append(("".join(parts), marks))
    return runs


def _block_at(marks: list[tuple[int, int]], offset: int) -> int:
    found = marks[0][1]
    for start, index in marks:
        if start > offset:
            break
        found = index
    return found


def graded(doc: GuidelineText, owned: set[int]) -> list[Draft]:
    """3-4. Statements before a printed grade, and GRADE sentences, outside label spans."""
    drafts: list[Draft] = []
    for text, marks in _runs(doc, owned):
        taken: list[tuple[int, int]] = []
        last_end = 0
        for start, end, grade in _grade_marks(text):
            span_start = max(last_end, _statement_start(text, last_end, start))
            draft = _trailing(doc, text[span_start:start], grade, _block_at(marks, span_start))
            last_end = end
            if draft is not None:
                draft.offset = span_start
                draft.end = _block_at(marks, max(start, end - 1))
                drafts.append(draft)
                taken.append((span_start, end))
        drafts += _grade_sentences(doc, text, marks, taken)
    return drafts


def _grade_marks(text: str) -> list[tuple[int, int, Grade]]:
    """(start, end, grade) of each parenthesised grade and 'Strength of evidence' line."""
    found: list[tuple[int, int, Grade]] = []
    for match in _PAREN_RE.finditer(text):
        content = match.group(1).strip()
        grade = leading_label(content) or _anchored(content)
        if grade is not None:
            printed = " ".join(content.split("|")[0].split())
            found.append(
                (match.start(), match.end(), Grade(printed, grade.direction, grade.strength))
            )
    for match in _GRADE_LINE_RE.finditer(text):
        rest = text[match.end() :]
        grade = leading_label(rest)
        if grade is not None:
            line_end = re.search(r"\n|(?<=\))\s|$", rest)
            stop = match.end() + (line_end.start() if line_end else len(rest))
            printed = " ".join(text[match.end() : stop].split())
            found.append((match.start(), stop, Grade(printed, grade.direction, grade.strength)))
    return sorted(found, key=lambda f: f[0])


def _anchored(content: str) -> Grade | None:
    """A grade the parenthesis opens with, whatever follows ('conditional recommendation in
    favour of use, low certainty evidence')."""
    grade = grade_of(content)
    if grade is not None and content.lower().startswith(grade.text.lower()[:12]):
        return grade
    return None


def _statement_start(text: str, floor: int, mark: int) -> int:
    """Where the statement before a grade mark starts: its item code, else its sentence."""
    window = text[floor:mark]
    codes = list(_ITEM_CODE_RE.finditer(window))
    if codes:
        return floor + codes[-1].start()
    sentences = split_sentences(window.replace("\n", " "))
    if not sentences:
        return mark
    keep = sentences[-1]
    if len(keep) < 40 and len(sentences) > 1:
        keep = f"{sentences[-2]} {keep}"
    position = " ".join(window.split()).rfind(keep[:30])
    start = floor + _raw_offset(window, position) if position >= 0 else mark
    heading_end = text.rfind("\n\n", start, mark)  # never back into a heading line
    return heading_end + 2 if heading_end >= 0 else start


def _raw_offset(raw: str, squeezed_position: int) -> int:
    """Offset in `raw` of a position counted in its whitespace-squeezed form."""
    count = 0
    previous_space = True
    for i, ch in enumerate(raw.lstrip()):
        if count >= squeezed_position:
            return i + (len(raw) - len(raw.lstrip()))
        if ch.isspace():
            if not previous_space:
                count += 1
            previous_space = True
        else:
            count += 1
            previous_space = False
    return len(raw)


def _trailing(doc: GuidelineText, span: str, grade: Grade, block_index: int) -> Draft | None:
    span = " ".join(span.split())
    code_match = _LEADING_CODE_RE.match(span)
    title = ""
    statement = span
    if code_match:
        title, statement = _title_and_statement(span[code_match.end() :])
    if len(statement) < 12:
        return None
    section = doc.blocks[block_index].section
    code = code_match.group("code") if code_match else None
    interventions = [title] if title else intervention_phrases(statement)
    if not interventions and heading_title(section):
        interventions = [heading_title(section)]
    fallback = interventions[0] if interventions else ""
    label = f"{code} {title}".strip() if code else _label(doc, None, section, None, fallback)
    return Draft(
        start=block_index,
        offset=0,
        label=label,
        statement=statement,
        grade=grade,
        interventions=interventions,
        section=section,
        end=block_index,
    )


def _title_and_statement(span: str) -> tuple[str, str]:
    """Split 'Massage Massage may be offered ...' into item title and statement: at a label
    the statement opens with ('No recommendation.'), else where the title's first word comes
    back capitalised, else at the first capitalised word after it (outside parentheses)."""
    words = list(re.finditer(r"\S+", span))
    for m in words[1:]:
        if leading_label(span[m.start() :]) is not None:
            return _clean_title(span[: m.start()]), span[m.start() :].strip()
    if not words:
        return "", span
    first = words[0].group(0).lower()
    for m in words[1:]:
        if m.group(0).lower() == first and m.group(0)[0].isupper():
            return _clean_title(span[: m.start()]), span[m.start() :].strip()
    depth = 0
    for m in words:
        token = m.group(0)
        opens, closes = token.count("("), token.count(")")
        if m is not words[0] and depth == 0 and not opens and token[0].isupper():
            return _clean_title(span[: m.start()]), span[m.start() :].strip()
        depth = max(0, depth + opens - closes)
    return "", span


def _clean_title(title: str) -> str:
    title = re.sub(r"\s+[a-z]$", "", title.strip())  # a footnote letter: 'compress a'
    return title.rstrip(" :,-–")


def _grade_sentences(
    doc: GuidelineText, text: str, marks: list[tuple[int, int]], taken: list[tuple[int, int]]
) -> list[Draft]:
    """'We suggest against ...', 'WHO recommends ...', 'It is recommended that ...' outside the
    statements already read with their printed grade."""
    drafts = []
    for paragraph in re.finditer(r"[^\n]+", text):
        for sentence in split_sentences(paragraph.group(0)):
            code = _LEADING_CODE_RE.match(sentence)
            body = sentence[code.end() :] if code else sentence
            if not _GRADE_SENTENCE_RE.match(body):
                continue
            at = text.find(sentence[:40], paragraph.start())
            if any(a <= at < b for a, b in taken):
                continue
            grade = grade_of(body)
            if grade is None:
                continue
            block_index = _block_at(marks, at)
            section = doc.blocks[block_index].section
            interventions = intervention_phrases(body) or (
                [heading_title(section)] if heading_title(section) else []
            )
            fallback = interventions[0] if interventions else ""
            label = code.group("code") if code else _label(doc, None, section, None, fallback)
            drafts.append(
                Draft(
                    start=block_index,
                    offset=at,
                    label=label,
                    statement=body,
                    grade=grade,
                    interventions=interventions,
                    section=section,
                    end=block_index,
                    criteria=conditions(body),
                )
            )
    return drafts


# --------------------------------------------------------------------------- 5. prose


def prose(doc: GuidelineText) -> list[Draft]:
    """5. 'X is (not) recommended' sentences: only when nothing else is marked."""
    drafts = []
    for i, block in enumerate(doc.blocks):
        for sentence in split_sentences(block.text):
            if not _PROSE_RE.search(sentence):
                continue
            grade = grade_of(sentence)
            interventions = intervention_phrases(sentence)
            if grade is None or not interventions:
                continue
            drafts.append(
                Draft(
                    start=i,
                    offset=block.text.find(sentence[:30]),
                    label=_label(doc, None, block.section, None, interventions[0]),
                    statement=sentence,
                    grade=grade,
                    interventions=interventions,
                    section=block.section,
                    end=i,
                )
            )
    return drafts


# --------------------------------------------------------------------------- fields


def field_kind(name: str) -> str | None:
    """'limit', 'criteria', 'other' for a field name ('Frequency/Duration', 'Indications',
    'Discontinuation'); None when the name is no field of a recommendation."""
    if len(name.split()) > 8:
        return None
    if _OTHER_FIELD_RE.search(name):
        return "other"
    if _CRITERIA_FIELD_RE.search(name):
        return "criteria"
    if _LIMIT_FIELD_RE.search(name):
        return "limit"
    return None


def split_criteria_lead(text: str) -> tuple[str, list[str]]:
    """'Recommended as an option ... Criteria for the use of TENS: (1) ... (2) ...' ->
    (statement, criteria)."""
    match = CRITERIA_LEAD_RE.search(text)
    if not match:
        return text, []
    return text[: match.start()].strip(), criteria_items(text[match.end() :])


def criteria_items(text: str) -> list[str]:
    """Items of an inline enumeration '(1) a; (2) b' or '1. a 2. b'; the text when none."""
    pieces = [p.strip(" ;,") for p in _INLINE_ITEMS_RE.split(" " + text)]
    return [" ".join(p.split()) for p in pieces if len(p.strip()) > 3] or (
        [" ".join(text.split())] if text.strip() else []
    )


def conditions(statement: str) -> list[str]:
    """Conditional clauses of a statement ('when red flags are present', 'in the absence of
    significant leg length discrepancy') and its later sentences that state a requirement
    ('These programs should include at least one physical component ...')."""
    text = without_parentheses(statement)
    found = [" ".join(m.group(0).split()).rstrip(" ,") for m in _CONDITION_RE.finditer(text)]
    later = split_sentences(text)[1:]
    return found + [s for s in later if _REQUIREMENT_RE.search(s)]


__all__ = [
    "CRITERIA_LEAD_RE",
    "Draft",
    "GuidelineText",
    "conditions",
    "criteria_items",
    "field_kind",
    "graded",
    "heading_title",
    "labelled",
    "numbered",
    "owned_blocks",
    "prose",
    "shares_word",
    "split_criteria_lead",
]
