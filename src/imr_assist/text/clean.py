"""Characters a reviewer cannot see: control and invisible format characters. Pure functions."""

from __future__ import annotations

import re
import unicodedata

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_invisible(text: str) -> str:
    """Control characters become spaces; invisible format characters (zero-width, bidi
    overrides, soft hyphens) are dropped: they hide words from both retrievers."""
    text = _CONTROL_RE.sub(" ", text)
    return "".join(
        " "
        if unicodedata.category(ch) in {"Cc", "Zl", "Zp"}
        else ""
        if unicodedata.category(ch) in {"Cf", "Cs", "Co", "Cn"}
        else ch
        for ch in text
    )


def preview(text: str, width: int = 60) -> str:
    """`text` quoted for a message, cut to `width` characters."""
    return repr(text if len(text) <= width else text[: width - 3] + "...")


__all__ = ["preview", "strip_invisible"]
