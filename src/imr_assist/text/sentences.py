"""Sentences: the one sentence splitter and the one cited-sentence splitter. Pure functions.

`split_sentences` cuts a paragraph of source text (chunking, the composer's quotes, the
verifier's candidate spans). `cited_sentences` cuts a drafted text the way the verifier judges
it, the ledger diffs it and the LLM drafter returns it: a citation marker written after the
period ("... recommended. [3f2a9c1b0d4e]") belongs to the sentence before it, and neither a
period inside a quotation nor one of "(pp. 98-99)" ends a sentence.
"""

from __future__ import annotations

import re

from imr_assist.citations import CITATION_RE

_ABBREVIATIONS = {
    "e.g",
    "i.e",
    "et al",
    "al",
    "vs",
    "dr",
    "no",
    "p",
    "pp",
    "fig",
    "etc",
    "approx",
    "mr",
    "mrs",
    "ms",
    "st",
    "u.s",
    "jr",
    "sr",
    "min",
    "max",
    "ref",
    "vol",
    "ch",
    "sec",
}
_SENTENCE_BOUNDARY_RE = re.compile(
    r"(?<=[.!?])[\"”)\]]?\s+(?=[A-Z0-9(\[\"“])|(?<=[.!?:])\s+(?=[-•▪]\s)"
)
_PARAGRAPH_RE = re.compile(r"\n\s*\n")
_LEADING_MARKERS_RE = re.compile(rf"^(?:\s*{CITATION_RE.pattern})+")
_OPEN_ABBREV_RE = re.compile(r"[(\[](?:pp?|e\.g|i\.e|cf|vs|ch|rec|fig)\.$", re.I)


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph; abbreviations such as 'e.g.' and 'et al.' do not end one."""
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    start = 0
    for match in _SENTENCE_BOUNDARY_RE.finditer(text):
        candidate = text[start : match.start()].rstrip()
        last = candidate.rsplit(" ", 1)[-1].rstrip('.!?"”)]').lstrip('(["“').lower()
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        out.append(text[start : match.end()].strip())
        start = match.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs: the pieces between blank lines."""
    return _PARAGRAPH_RE.split(text)


def _open_quote(text: str) -> bool:
    """True when a quotation opened in `text` is not closed yet."""
    return text.count('"') % 2 == 1 or text.count("\u201c") > text.count("\u201d")


def cited_sentences(text: str) -> list[str]:
    """Sentences of a draft; citation markers leading a sentence move to the sentence before.

    'It states: "A. B." [id]' stays one cited sentence, as the drafter wrote it, and "(pp.
    98-99)" is not a sentence end. Paragraphs are split first; a marker opening a paragraph
    still belongs to the sentence before it.
    """
    out: list[str] = []
    for paragraph in split_paragraphs(text):
        for sentence in split_sentences(paragraph):
            if out and (_OPEN_ABBREV_RE.search(out[-1]) or _open_quote(out[-1])):
                out[-1] = f"{out[-1]} {sentence}"
                continue
            lead = _LEADING_MARKERS_RE.match(sentence)
            if lead and out:
                out[-1] = f"{out[-1]} {lead.group(0).strip()}"
                sentence = sentence[lead.end() :].strip()
            if sentence:
                out.append(sentence)
    return out


__all__ = ["cited_sentences", "split_paragraphs", "split_sentences"]
