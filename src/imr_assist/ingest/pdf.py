"""Read a PDF into cleaned pages with the page number a reader sees."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from imr_assist.errors import CorruptSourceError, EmptySourceError
from imr_assist.ingest.cleanup import (
    dehyphenate,
    hyphenated_words,
    join_split_words,
    normalize_spaces,
    printed_page_number,
    strip_running_lines,
    vocabulary,
)
from imr_assist.models import Page

log = logging.getLogger(__name__)


PageProgress = Callable[[int, int], None]
"""(pages extracted, pages in the PDF), after each page."""


def read_pdf_pages(
    path: Path, *, max_pages: int = 2000, progress: PageProgress | None = None
) -> tuple[list[Page], str | None]:
    """Cleaned pages of a PDF and its embedded title; `progress` hears of each page extracted.

    The label of a page is the printed page number when the page prints one ('Page 23 of 141'),
    else the PDF's own page label, else the 1-based page index.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorruptSourceError(
                path,
                "the PDF is encrypted.",
                "Remove the password (print to PDF) and ingest again.",
            )
        n_pages = len(reader.pages)
    except CorruptSourceError:
        raise
    except (PdfReadError, ValueError, TypeError, KeyError, OSError, AttributeError) as exc:
        raise CorruptSourceError(
            path, f"the PDF cannot be read ({exc}).", "Re-export or re-download the file."
        ) from exc
    except Exception as exc:  # pypdf raises many internal types on damaged files
        raise CorruptSourceError(
            path, f"the PDF is damaged ({type(exc).__name__}).", "Re-export the file."
        ) from exc
    if n_pages == 0:
        raise EmptySourceError(path, "the PDF has no pages.", "Check the file and export it again.")
    if n_pages > max_pages:
        raise CorruptSourceError(
            path,
            f"the PDF has {n_pages} pages, more than the limit of {max_pages}.",
            "Split it, or raise IMR_INGEST__MAX_PDF_PAGES.",
        )
    try:
        labels = list(reader.page_labels)
    except Exception:  # damaged /PageLabels tree
        labels = []
    raw: list[str] = []
    for i in range(n_pages):
        try:
            raw.append(normalize_spaces(reader.pages[i].extract_text() or ""))
        except Exception as exc:
            log.warning(
                "%s: page %d could not be extracted (%s); it is left empty", path, i + 1, exc
            )
            raw.append("")
        if progress is not None:
            progress(i + 1, n_pages)
    if not any(t.strip() for t in raw):
        raise EmptySourceError(
            path,
            "the PDF has no extractable text (scanned images?).",
            "Run OCR on it first (e.g. ocrmypdf) and ingest the result.",
        )
    printed = [printed_page_number(t) for t in raw]
    cleaned = clean_pages(raw)
    pages = []
    for i, text in enumerate(cleaned):
        label = printed[i] or (labels[i] if i < len(labels) and labels[i] else str(i + 1))
        pages.append(Page(index=i, label=str(label), text=text))
    title = None
    try:
        meta = reader.metadata
        title = str(meta.title).strip() if meta and meta.title else None
    except Exception:
        title = None
    return pages, title


def clean_pages(raw_pages: list[str]) -> list[str]:
    """Remove running headers/footers, repair hyphenation and split words. Lines are kept."""
    pages = strip_running_lines(raw_pages)
    vocab = vocabulary(pages)
    compounds = hyphenated_words(pages)
    out = []
    for text in pages:
        text = dehyphenate(text, vocab, compounds)
        out.append(join_split_words(text, vocab))
    return out
