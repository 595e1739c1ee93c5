"""Read text and Markdown files: decoding, optional YAML front matter, pages.

A form feed (``\\f``, as pdftotext writes) separates pages in a text file; otherwise a file is one
page. Markdown guideline digests name the guideline pages they summarise in each section
("... (MTUS Chronic Pain Medical Treatment Guidelines, pp. 114-116)"); those pages become the
section's locator.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from imr_assist.errors import CorruptSourceError, EmptySourceError, UnsupportedSourceError
from imr_assist.models import Page

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.DOTALL)
_CITED_PAGES_RE = re.compile(
    r"\b(?:pp?\.|pages?|page\(s\):?)\s*(\d{1,4})(?:\s*[-–]\s*(\d{1,4}))?", re.IGNORECASE
)
FRONT_MATTER_KEYS = {
    "title",
    "guideline",
    "edition",
    "chapter",
    "tier",
    "body_region",
    "kind",
    "decision",
    "illustrative",
}


def decode_bytes(data: bytes, path: Path) -> str:
    """Decode text bytes: UTF-8 (with or without BOM), UTF-16 by BOM, else detected encoding.
    A NUL anywhere (not only in the head) refuses the file: text files hold none."""
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if _looks_like_utf16(data[:8192]):
            raise UnsupportedSourceError(
                path,
                "the file contains NUL bytes: it looks like UTF-16 text saved without a "
                "byte-order mark (BOM).",
                "Re-save it as UTF-8 (or UTF-16 with a BOM) and ingest again.",
            )
        raise UnsupportedSourceError(
            path,
            "the file contains NUL bytes: it is binary, not text.",
            "Ingest PDF, .txt, .md or .csv files.",
        )
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise CorruptSourceError(
                    path, f"bad {codec} text ({exc}).", "Re-save as UTF-8."
                ) from exc
            if "\x00" in text:
                raise UnsupportedSourceError(
                    path,
                    f"the file contains NUL characters (at character {text.index(chr(0))}): "
                    "it is binary, not text.",
                    "Ingest PDF, .txt, .md or .csv files.",
                )
            return text
    for codec in ("utf-8", "cp1252"):  # cp1252 is strict: undefined bytes fail and fall through
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise CorruptSourceError(
            path, "the text encoding could not be recognised.", "Re-save the file as UTF-8."
        )
    text = str(best)
    printable = sum(ch.isprintable() or ch in "\n\r\t\f" for ch in text[:20000])
    if printable < 0.95 * min(len(text), 20000):
        raise UnsupportedSourceError(
            path, "the file does not look like text.", "Ingest PDF, .txt, .md or .csv files."
        )
    return text


def _looks_like_utf16(head: bytes) -> bool:
    """NULs in every other byte and printable text when decoded that way: BOM-less UTF-16."""
    head = head[: len(head) - len(head) % 2]
    if len(head) < 4:
        return False
    for zeros, codec in ((head[1::2], "utf-16-le"), (head[0::2], "utf-16-be")):
        if zeros.count(0) >= 0.7 * len(zeros):
            try:
                text = head.decode(codec)
            except UnicodeDecodeError:
                continue
            # mostly ASCII letters, digits, punctuation and spaces: a note, not binary pairs
            plain = sum(ch.isascii() and (ch.isprintable() or ch in "\n\r\t\f") for ch in text)
            if plain >= 0.8 * len(text) and any(ch.isspace() for ch in text):
                return True
    return False


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """YAML front matter (validated keys) and the body."""
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    _refuse_yaml_references(match.group(1), path)
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise CorruptSourceError(
            path, f"the YAML front matter is invalid ({exc}).", "Fix the block between '---' lines."
        ) from exc
    if not isinstance(meta, dict):
        raise CorruptSourceError(path, "the front matter is not a mapping.", "Use 'key: value'.")
    unknown = set(meta) - FRONT_MATTER_KEYS
    if unknown:
        raise CorruptSourceError(
            path,
            f"unknown front matter keys: {', '.join(sorted(map(str, unknown)))}.",
            f"Allowed: {', '.join(sorted(FRONT_MATTER_KEYS))}.",
        )
    return {k: v for k, v in meta.items() if v is not None}, text[match.end() :]


MAX_FRONT_MATTER_CHARS = 20_000
"""Front matter holds a few short keys; a longer block is refused before YAML reads it."""


def _refuse_yaml_references(block: str, path: Path) -> None:
    """Refuse anchors and aliases (&x, *x) before the YAML is built: 434 bytes of nested aliases
    expand to billions of nodes (took 118 s and 800 MB). Scanning tokens builds nothing."""
    if len(block) > MAX_FRONT_MATTER_CHARS:
        raise CorruptSourceError(
            path,
            f"the front matter is {len(block):,} characters (at most {MAX_FRONT_MATTER_CHARS:,}).",
            "Keep it to the keys title, guideline, tier, kind, ... and move text to the body.",
        )
    try:
        for token in yaml.scan(block, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
                raise CorruptSourceError(
                    path,
                    "the YAML front matter uses anchors or aliases (& or *), which are not "
                    "allowed.",
                    "Write each value out in full; put a literal & or * inside quotes.",
                )
    except yaml.YAMLError as exc:
        raise CorruptSourceError(
            path, f"the YAML front matter is invalid ({exc}).", "Fix the block between '---' lines."
        ) from exc


def text_pages(body: str, path: Path) -> list[Page]:
    """Pages of a text body (form feeds separate pages)."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    parts = body.split("\f") if "\f" in body else [body]
    pages = [Page(index=i, label=str(i + 1), text=t) for i, t in enumerate(parts)]
    if not any(p.text.strip() for p in pages):
        raise EmptySourceError(
            path, "the file is empty.", "Check the file has text and re-save it."
        )
    return pages


def cited_pages(text: str) -> tuple[str, str] | None:
    """First 'pp. 114-116' / 'p. 46' / 'Page(s): 287-289' in a text, as (start, end)."""
    match = _CITED_PAGES_RE.search(text)
    if not match:
        return None
    return match.group(1), match.group(2) or match.group(1)
