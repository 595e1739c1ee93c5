"""Read one file into source documents: dispatch by type, detect kind and authority tier."""

from __future__ import annotations

import hashlib
import logging
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from imr_assist.errors import (
    CorruptSourceError,
    DeterminationParseError,
    EmptySourceError,
    SourceError,
    UnreadableSourceError,
    UnsupportedSourceError,
)
from imr_assist.ingest.determination import looks_like_determination, parse_determination
from imr_assist.ingest.injection import directive_sentences, find_instructions
from imr_assist.ingest.pdf import read_pdf_pages
from imr_assist.ingest.sectionjson import looks_like_section_json, parse_json, read_section_json
from imr_assist.ingest.structure import build_blocks, find_recommendations
from imr_assist.ingest.tabular import is_dmhc_header, read_beir_corpus, read_dmhc_csv
from imr_assist.ingest.textfile import cited_pages, decode_bytes, split_front_matter, text_pages
from imr_assist.models import (
    Block,
    Determination,
    DocumentMeta,
    Kind,
    Page,
    SourceDocument,
    Tier,
)
from imr_assist.text.regions import region_of_title

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | {".pdf", ".csv", ".jsonl", ".json"}
KIND_CHOICES = ("auto", "guideline", "determination", "study")


@dataclass
class ReadResult:
    """Documents read from one file, and warnings about parts that were skipped."""

    documents: list[SourceDocument]
    warnings: list[str] = field(default_factory=list)


@dataclass
class ReadOptions:
    """Caller overrides (CLI flags) applied on top of front matter and detection."""

    kind: str = "auto"
    tier: Tier | None = None
    guideline: str | None = None
    max_file_mb: float = 50.0
    max_pdf_pages: int = 2000
    on_page: Callable[[int, int], None] | None = None
    """Hears of each PDF page extracted: (pages done, pages in the PDF)."""


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def doc_id_for(path: Path) -> str:
    """Stable document id from the file name: 'va-department_of_defense'."""
    stem = re.sub(r"[^a-z0-9_]+", "-", path.stem.lower()).strip("-")
    return stem or "document"


def read_bytes(path: Path, max_mb: float) -> bytes:
    """The raw bytes of a regular file, refusing what cannot or should not be read."""
    try:
        info = path.stat()
    except OSError as exc:
        raise UnreadableSourceError(
            path, f"cannot be opened ({exc.strerror or exc}).", "Check the path and permissions."
        ) from exc
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableSourceError(path, "is not a regular file.", "Give a file or a folder.")
    if info.st_size > max_mb * 1024 * 1024:
        raise CorruptSourceError(
            path,
            f"is {info.st_size / 1024 / 1024:.1f} MB, over the {max_mb:g} MB limit.",
            "Split it, or raise IMR_INGEST__MAX_FILE_MB.",
        )
    if info.st_size == 0:
        raise EmptySourceError(path, "the file is empty.", "Check the file and export it again.")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableSourceError(
            path, f"cannot be read ({exc.strerror or exc}).", "Check permissions."
        ) from exc


def read_source(path: Path, options: ReadOptions | None = None) -> ReadResult:
    """Read a PDF, text/Markdown, letter, DMHC CSV, BEIR corpus.jsonl or section JSON file."""
    options = options or ReadOptions()
    suffix = path.suffix.lower()
    if path.is_dir():
        raise UnreadableSourceError(
            path, "is not a regular file (it is a folder).", "Give a file path."
        )
    if not path.exists():
        raise UnreadableSourceError(
            path, "cannot be opened (it does not exist).", "Check the path."
        )
    if suffix == ".jsonl" and path.name != "corpus.jsonl":
        raise UnsupportedSourceError(
            path,
            "is a .jsonl file other than a BEIR corpus.jsonl.",
            "Only BEIR corpus.jsonl files are ingested; queries and qrels are eval inputs.",
        )
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedSourceError(
            path,
            f"'{suffix or 'no extension'}' files are not read.",
            "Ingest .pdf, .txt, .md, DMHC .csv, BEIR corpus.jsonl or guideline-section .json "
            "files.",
        )
    data = read_bytes(path, options.max_file_mb)
    digest = file_hash(data)
    try:
        if suffix == ".pdf":
            if not data.lstrip()[:5].startswith(b"%PDF"):
                raise CorruptSourceError(
                    path,
                    "is not a PDF (no %PDF header).",
                    "Check the file; it may be misnamed or damaged.",
                )
            pages, title = read_pdf_pages(
                path, max_pages=options.max_pdf_pages, progress=options.on_page
            )
            notes: list[str] = []
            doc = _document(path, digest, pages, {}, title, options, markdown=False, notes=notes)
            return ReadResult([doc], notes)
        text = decode_bytes(data, path)
        if suffix == ".csv":
            if not is_dmhc_header(text.lstrip("\ufeff").split("\n", 1)[0]):
                raise UnsupportedSourceError(
                    path,
                    "is a CSV without the DMHC IMR columns.",
                    "Only the DMHC 'IMR Determinations' CSV (ReferenceID, ..., Findings) is read.",
                )
            docs, warnings = read_dmhc_csv(text, path, digest)
            return _without_instructions(path, docs, warnings)
        if suffix == ".jsonl":
            docs, warnings = read_beir_corpus(text, path)
            return _without_instructions(path, docs, warnings)
        if suffix == ".json":
            return ReadResult([_section_json_document(path, digest, text, options)])
        meta, body = split_front_matter(text, path)
        pages = text_pages(body, path)
        notes = []
        markdown = suffix in {".md", ".markdown"}
        doc = _document(path, digest, pages, meta, None, options, markdown=markdown, notes=notes)
        return ReadResult([doc], notes)
    except SourceError:
        raise
    except ValidationError as exc:
        raise CorruptSourceError(
            path,
            f"has invalid metadata ({exc.errors()[0]['msg']}).",
            "Fix the front matter or flags.",
        ) from exc
    except RecursionError as exc:
        raise CorruptSourceError(path, "is too deeply nested to read.", "Re-export it.") from exc


def _document(
    path: Path,
    digest: str,
    pages: list[Page],
    front: dict[str, Any],
    embedded_title: str | None,
    options: ReadOptions,
    *,
    markdown: bool,
    notes: list[str] | None = None,
) -> SourceDocument:
    """One document; `notes` receives what the ingest report should say about it (how the
    MTUS tier was or was not granted, sentences marked as not evidence)."""
    _refuse_instructions(path, pages, front)
    full_text = "\n".join(p.text for p in pages)
    try:
        kind = _kind(front, full_text, options)
        front_tier = Tier(front["tier"]) if "tier" in front else None
    except ValueError as exc:
        raise CorruptSourceError(
            path,
            f"has an invalid kind or tier in its front matter ({exc}).",
            f"Use kind: {', '.join(k.value for k in Kind)}; "
            f"tier: {', '.join(t.value for t in Tier)}.",
        ) from exc
    determination: Determination | None = None
    if kind is Kind.DETERMINATION:
        determination = parse_determination(full_text, source=str(path))
    tier = options.tier or front_tier
    if tier is None:
        tier = detect_tier(kind, front, embedded_title, full_text)
        if notes is not None and kind is Kind.GUIDELINE:
            notes.extend(_tier_notes(path, tier, front, embedded_title, full_text))
    title = str(front.get("title") or _title(path, embedded_title, determination))
    decision = front.get("decision")
    if determination and len(determination.items) == 1 and decision is None:
        decision = determination.items[0].decision
    meta = DocumentMeta(
        title=title,
        kind=kind,
        tier=tier,
        guideline=options.guideline or front.get("guideline") or _guideline_name(full_text, kind),
        edition=str(front["edition"]) if "edition" in front else None,
        chapter=front.get("chapter"),
        body_region=front.get("body_region") or _body_region(title, kind),
        decision=decision,
        illustrative=bool(front.get("illustrative", False)),
    )
    if determination is not None:
        blocks = _determination_blocks(determination, pages)
        recs = []
    else:
        recs = find_recommendations(pages, markdown=markdown)
        blocks = build_blocks(pages, recs, markdown=markdown)
        if markdown and len(pages) == 1:
            blocks = _with_cited_pages(blocks)
    if not blocks:
        raise EmptySourceError(path, "no text was found after cleaning.", "Check the file content.")
    if notes is not None:
        notes.extend(_directive_notes(path, blocks))
    return SourceDocument(
        doc_id=doc_id_for(path),
        source_path=path.name,
        content_hash=digest,
        meta=meta,
        pages=pages,
        blocks=blocks,
        recommendations=recs,
        determination=determination,
    )


def _section_json_document(
    path: Path, digest: str, text: str, options: ReadOptions
) -> SourceDocument:
    """A guideline laid out as JSON sections (ingest/sectionjson.py)."""
    try:
        data = parse_json(text)
    except ValueError as exc:
        raise CorruptSourceError(path, f"is not valid JSON ({exc}).", "Re-export it.") from exc
    if not isinstance(data, dict) or not looks_like_section_json(data):
        raise UnsupportedSourceError(
            path,
            "is a JSON file without the guideline-section layout.",
            "Give {guideline, sections: [{id, title, page, body_text}]}, or convert it to text.",
        )
    read = read_section_json(data)
    doc = _document(path, digest, read.pages, read.front, None, options, markdown=True)
    blocks = [
        b.model_copy(update={"page_end_label": read.page_ends[b.page_index]})
        if b.page_index in read.page_ends
        else b
        for b in doc.blocks
    ]
    return doc.model_copy(update={"blocks": blocks})


_TAMPERED_HINT = "Check where the file came from; remove that text and ingest again."


def _refuse_instructions(path: Path, pages: list[Page], front: dict[str, Any]) -> None:
    """A source holding text addressed to an AI model is refused (sources/injection.py)."""
    for where, text in [("front matter", " ".join(map(str, front.values())))] + [
        (f"page {p.label}", p.text) for p in pages
    ]:
        found = find_instructions(text)
        if found:
            raise CorruptSourceError(
                path,
                f"contains text addressed to an AI model, not source content ({where}: "
                f"'{found[0]}'); it may have been tampered with.",
                _TAMPERED_HINT,
            )


def _without_instructions(
    path: Path, docs: list[SourceDocument], warnings: list[str]
) -> ReadResult:
    """Rows (CSV, BEIR) holding text addressed to an AI model are skipped with a warning."""
    kept = []
    for doc in docs:
        found = find_instructions("\n".join([doc.meta.title, *(p.text for p in doc.pages)]))
        if found:
            warnings.append(
                f"{path.name}: {doc.doc_id} skipped, it contains text addressed to an AI model "
                f"('{found[0]}')."
            )
        else:
            kept.append(doc)
    if docs and not kept:
        raise CorruptSourceError(
            path,
            f"every record contains text addressed to an AI model ({warnings[-1]}); "
            "it may have been tampered with.",
            _TAMPERED_HINT,
        )
    return ReadResult(kept, warnings)


def _kind(front: dict[str, Any], text: str, options: ReadOptions) -> Kind:
    if options.kind != "auto":
        return Kind(options.kind)
    if "kind" in front:
        return Kind(front["kind"])
    return Kind.DETERMINATION if looks_like_determination(text) else Kind.GUIDELINE


_MTUS_NAME = re.compile(r"\bMTUS\b|Medical Treatment Utilization Schedule")
_DWC = re.compile(r"Division of Workers['’]? Compensation|\bDWC\b")
_MTUS_SECTIONS = re.compile(r"(?:§+|\b[Ss]ections?|\bC\.?C\.?R\.?)\s*9792\.2\d")


def official_mtus(title: str | None, text: str) -> bool:
    """Is this the MTUS as the DWC publishes it? Its opening names the schedule, the Division
    of Workers' Compensation and the regulation sections (8 CCR 9792.20-9792.27)."""
    head = " ".join(filter(None, [title or "", text[:5000]]))
    return all(r.search(head) for r in (_MTUS_NAME, _DWC, _MTUS_SECTIONS))


def detect_tier(kind: Kind, front: dict[str, Any], title: str | None, text: str) -> Tier:
    """Authority tier from kind, names and wording when no flag or front matter gives it.

    The MTUS tier (the top of the order of authority) is never granted from a mention: only
    from front matter (`tier: mtus`), a flag (--tier mtus) or the official DWC text
    (`official_mtus`). A memo that merely names the MTUS is tiered by its other names.
    """
    if kind is Kind.DETERMINATION:
        return Tier.PRIOR_DETERMINATION
    if kind is Kind.STUDY:
        return Tier.STUDY
    probe = " ".join(filter(None, [str(front.get("guideline", "")), title or "", text[:5000]]))
    if official_mtus(title, text):
        return Tier.MTUS
    if re.search(r"\bACOEM\b|\bODG\b|Official Disability Guidelines", probe):
        return Tier.GUIDELINE
    if (
        re.search(r"\babstract\b.*\b(methods|results)\b", probe, re.I | re.S)
        and "guideline" not in probe.lower()
    ):
        return Tier.STUDY
    return Tier.OTHER_GUIDELINE


def _tier_notes(
    path: Path, tier: Tier, front: dict[str, Any], title: str | None, text: str
) -> list[str]:
    """What the ingest report says about a detected tier that involves the MTUS."""
    if tier is Tier.MTUS:
        return [
            f"{path.name}: tiered mtus as the official DWC MTUS text (it names the Division "
            "and 8 CCR 9792.2x on its first pages)."
        ]
    probe = " ".join(filter(None, [str(front.get("guideline", "")), title or "", text[:5000]]))
    if not _MTUS_NAME.search(probe):
        return []
    return [
        f"{path.name}: names the MTUS but was tiered {tier.value}: the MTUS tier is granted "
        "only by front matter (tier: mtus), --tier mtus, or the official DWC MTUS text. "
        "Ingest it again with --tier mtus if it is the official MTUS."
    ]


def _directive_notes(path: Path, blocks: list[Block]) -> list[str]:
    """A line for the ingest report when sentences addressed to a reader or tool were found."""
    found = [s for b in blocks for s in directive_sentences(b.text)]
    if not found:
        return []
    first = " ".join(found[0].split())
    first = first if len(first) <= 100 else first[:99] + "…"
    return [
        f"{path.name}: {len(found)} sentence(s) addressed to a reader or a tool, not evidence: "
        f"marked, never quoted or sent to a model (first: '{first}')."
    ]


def _body_region(title: str, kind: Kind) -> str | None:
    """A guideline whose title names one body region ('... Low Back Pain') covers that region."""
    if kind is not Kind.GUIDELINE:
        return None
    return region_of_title(title)


def _guideline_name(text: str, kind: Kind) -> str | None:
    if kind is not Kind.GUIDELINE:
        return None
    head = text[:3000]
    if re.search(r"VA/DoD Clinical Practice Guideline", head) and re.search(r"Low Back Pain", head):
        year = re.search(r"\b(20\d\d)\b", head)
        return f"VA/DoD LBP CPG {year.group(1)}" if year else "VA/DoD LBP CPG"
    return None


def _title(path: Path, embedded: str | None, determination: Determination | None) -> str:
    if determination is not None:
        items = "; ".join(i.item for i in determination.items)
        return f"{path.stem}: {items}" if items else path.stem
    if embedded and len(embedded) > 3:
        return embedded.replace("_", " ")
    return path.stem.replace("_", " ").replace("-", " ")


def _determination_blocks(det: Determination, pages: list[Page]) -> list[Block]:
    """One block for the case summary, one per disputed item (decision, guidelines, rationale)."""
    label = pages[0].label if pages else "1"
    end = pages[-1].label if pages else "1"
    blocks = []
    if det.case_summary.text:
        blocks.append(
            Block(
                text=det.case_summary.text,
                page_index=0,
                page_label=label,
                page_end_label=end,
                section="Case summary",
            )
        )
    for item in det.items:
        verdict = (
            "Upheld (not medically necessary)"
            if item.decision.value == "upheld"
            else ("Overturned (medically necessary)")
        )
        guides = "; ".join(g.text for g in item.reviewer_guidelines)
        text = f"{item.item}: {verdict}."
        if guides:
            text += f" Reviewer guideline: {guides}."
        if item.rationale:
            text += f" Decision rationale: {item.rationale}"
        blocks.append(
            Block(
                text=text,
                page_index=0,
                page_label=label,
                page_end_label=end,
                section=item.item,
                decision=item.decision,
            )
        )
    return blocks


_LEADING_CITATION_CHARS = 120


def _with_cited_pages(blocks: list[Block]) -> list[Block]:
    """In a one-page digest, a section that names the pages it summarises is located there;
    a section that names none (ODG cites chapter and topic, not pages) is left unpaged ('')."""
    by_section: dict[str | None, tuple[str, str]] = {}
    for block in blocks:
        if block.section not in by_section:
            found = cited_pages(block.text)
            if found:
                by_section[block.section] = found
    out = []
    for block in blocks:
        # A paragraph that opens with its own citation ("MTUS ..., pp. 25-26, paraphrased:")
        # is located there; a page named later in it is a cross-reference to another text
        # ("... then judged under the Chronic Pain Guidelines, pp. 98-99") and is not.
        own = cited_pages(block.text[:_LEADING_CITATION_CHARS])
        pages = own or by_section.get(block.section) or ("", "")
        out.append(block.model_copy(update={"page_label": pages[0], "page_end_label": pages[1]}))
    return out


__all__ = [
    "KIND_CHOICES",
    "SUPPORTED_SUFFIXES",
    "DeterminationParseError",
    "ReadOptions",
    "ReadResult",
    "detect_tier",
    "doc_id_for",
    "read_source",
]
