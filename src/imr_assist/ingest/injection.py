"""Text addressed to an AI model inside a source document (prompt injection), found at read time.

A guideline, study or determination letter never tells its reader to "ignore previous
instructions", never speaks to "an AI assistant" and never carries chat-template tokens. Such
text in a source means it was tampered with (or is not a source at all): the file is refused with
the text quoted and its page, so a reviewer can look at it, rather than stored where a drafter
could read it as evidence. Rows of a DMHC CSV or BEIR corpus holding such text are skipped with a
warning, like any other bad row.

The patterns are narrow on purpose (no guideline sentence in the demo corpus, the VA/DoD CPG or
the test fixtures matches); they catch the common, literal forms, not a paraphrase. What a
paraphrase leads a model to write is caught downstream: verification checks every cited
sentence against its passage and the conclusion against the decision.
"""

from __future__ import annotations

import re

_PATTERNS = (
    # "Ignore previous instructions", "disregard all prior rules", "forget your instructions"
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|of\s+)*"
    r"(?:previous|prior|above|earlier|preceding|foregoing|original|your|system|other)\s+"
    r"(?:instructions?|prompts?|directions?|directives?|rules|context|messages?)",
    # "You are now an AI assistant ...", "As an AI language model ..."
    r"\byou\s+are\s+(?:now\s+)?(?:an?\s+)?(?:ai|assistant|language\s+model|chat\s?bot|llm|gpt)\b",
    r"\bas\s+an?\s+(?:ai|large\s+language\s+model|language\s+model|llm)\b",
    r"\b(?:system|developer)\s+prompt\b",
    r"\b(?:new|updated|real|hidden)\s+instructions?\s*:",
    # chat-template tokens of common models
    r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>",
    r"\[/?INST\]|<</?SYS>>",
    # an order to the reader about what to conclude
    r"(?:^|[.:;!]\s+|\n)\s*(?:please\s+)?(?:say|state|write|output|respond|answer|conclude|"
    r"declare)\s+(?:only\s+)?(?:that\s+)?(?:the\s+|this\s+)?(?:treatment|request|item|service|"
    r"procedure)\s+(?:is|was)\s+(?:medically\s+necessary|not\s+medically\s+necessary|approved|"
    r"denied|certified)",
    r"\b(?:do\s+not|don't|never)\s+(?:mention|cite|reveal|disclose)\s+(?:any\s+)?(?:other\s+)?"
    r"(?:guidelines?|sources?|evidence|these\s+instructions|this\s+instruction)",
)
INJECTION_RE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def find_instructions(text: str) -> list[str]:
    """Each piece of `text` addressed to an AI model, with a little context, in order."""
    found = []
    for match in INJECTION_RE.finditer(text):
        start = match.start() + len(match.group(0)) - len(match.group(0).lstrip(".:;!\n \t"))
        end = min(len(text), match.end() + 40)
        snippet = " ".join(text[start:end].split())
        found.append(snippet if end == len(text) else snippet + "...")
    return found


__all__ = ["INJECTION_RE", "find_instructions"]
