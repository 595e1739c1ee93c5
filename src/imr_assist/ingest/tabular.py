"""Prior determinations from California DMHC IMR CSV rows, and BEIR-format corpora for evals."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from imr_assist.errors import CorruptSourceError, EmptySourceError
from imr_assist.models import (
    Block,
    CaseSummary,
    Decision,
    Determination,
    DeterminationItem,
    DocumentMeta,
    Kind,
    Page,
    SourceDocument,
    Tier,
)

DMHC_COLUMNS = (
    "ReferenceID",
    "ReportYear",
    "DiagnosisCategory",
    "DiagnosisSubCategory",
    "TreatmentCategory",
    "TreatmentSubCategory",
    "Determination",
    "Type",
    "AgeRange",
    "PatientGender",
    "IMRType",
    "DaysToReview",
    "DaysToAdopt",
    "Findings",
)
_REQUIRED = {"ReferenceID", "Determination", "Findings"}
CSV_PARSER_LIMIT = 64 * 1024 * 1024
"""The csv module's field size limit while reading (its default, 128 KB, raised a traceback);
a field past it refuses the file with a message. Process-wide: it only ever loosens it."""
MAX_FIELD_CHARS = 1_000_000
"""A row with a longer field is skipped with a warning (a DMHC finding is a few KB)."""


def is_dmhc_header(header_line: str) -> bool:
    """True when a CSV header has the DMHC IMR columns that matter."""
    cols = {c.strip().strip('"').strip("\ufeff") for c in header_line.split(",")}
    return cols >= _REQUIRED and "TreatmentCategory" in cols


def dmhc_decision(value: str) -> Decision | None:
    """'Overturned Decision of Health Plan' -> overturned; 'Upheld Decision ...' -> upheld."""
    v = value.lower()
    if "overturn" in v:
        return Decision.OVERTURNED
    if "upheld" in v or "uphold" in v:
        return Decision.UPHELD
    return None


def read_dmhc_csv(
    text: str, path: Path, content_hash: str
) -> tuple[list[SourceDocument], list[str]]:
    """One prior-determination document per CSV row; rows that cannot be used are warned about."""
    csv.field_size_limit(max(csv.field_size_limit(), CSV_PARSER_LIMIT))
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        return _read_dmhc_rows(reader, path, content_hash)
    except csv.Error as exc:
        raise CorruptSourceError(
            path,
            f"the CSV cannot be parsed at line {reader.line_num} ({exc}).",
            "Re-export the DMHC CSV; a field over "
            f"{CSV_PARSER_LIMIT // (1024 * 1024)} MB is not a determination.",
        ) from exc


def _read_dmhc_rows(
    reader: csv.DictReader[str], path: Path, content_hash: str
) -> tuple[list[SourceDocument], list[str]]:
    fields = {f.strip() for f in (reader.fieldnames or [])}
    missing = _REQUIRED - fields
    if missing:
        raise CorruptSourceError(
            path,
            f"the CSV lacks the DMHC columns {', '.join(sorted(missing))}.",
            "Load the DMHC 'IMR Determinations, Trend' CSV with its header row.",
        )
    docs: list[SourceDocument] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for line_no, raw in enumerate(reader, start=2):
        big = [k for k, v in raw.items() if k and isinstance(v, str) and len(v) > MAX_FIELD_CHARS]
        if big:
            size = len(raw[big[0]]) / 1_000_000
            warnings.append(
                f"{path.name} line {line_no}: skipped, its {big[0].strip()} field is "
                f"{size:.1f} million characters (a DMHC field holds at most "
                f"{MAX_FIELD_CHARS:,}); check the row in the export."
            )
            continue
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        ref = row.get("ReferenceID", "")
        decision = dmhc_decision(row.get("Determination", ""))
        findings = " ".join(row.get("Findings", "").split())
        if not ref or decision is None or not findings:
            warnings.append(
                f"{path.name} line {line_no}: skipped (needs ReferenceID, an Upheld/Overturned "
                "Determination and Findings)."
            )
            continue
        if _slug(ref) in seen:  # ids derive from the slug: 'MN-1' and 'MN 1' are one document
            warnings.append(f"{path.name} line {line_no}: duplicate ReferenceID {ref} skipped.")
            continue
        seen.add(_slug(ref))
        docs.append(_dmhc_document(row, ref, decision, findings, path, content_hash))
    if not docs:
        raise EmptySourceError(
            path, "no usable DMHC rows.", "Check the Determination/Findings columns."
        )
    return docs, warnings


def _dmhc_document(
    row: dict[str, str], ref: str, decision: Decision, findings: str, path: Path, content_hash: str
) -> SourceDocument:
    treatment = row.get("TreatmentSubCategory") or row.get("TreatmentCategory") or "treatment"
    diagnosis = " / ".join(
        x for x in (row.get("DiagnosisCategory"), row.get("DiagnosisSubCategory")) if x
    )
    gender = row.get("PatientGender", "").lower() or None
    summary = (
        f"DMHC IMR {ref} ({row.get('ReportYear', '')}): {row.get('AgeRange', '')} "
        f"{row.get('PatientGender', '')} patient; diagnosis {diagnosis}; requested {treatment} "
        f"({row.get('TreatmentCategory', '')}); {row.get('Type', '')} {row.get('IMRType', '')}."
    )
    summary = " ".join(summary.split())
    text = f"{summary}\nDetermination: {row['Determination']}.\nFindings: {findings}"
    title = f"DMHC IMR {ref}: {treatment}"
    determination = Determination(
        case_summary=CaseSummary(
            sex=gender if gender in {"female", "male"} else None,
            diagnoses=[diagnosis] if diagnosis else [],
            requested=[treatment],
            text=summary,
        ),
        items=[DeterminationItem(item=treatment, decision=decision, rationale=findings)],
        format="dmhc_csv",
    )
    digest = hashlib.sha256(f"{content_hash}:{ref}".encode()).hexdigest()
    return SourceDocument(
        doc_id=f"dmhc-{_slug(ref)}",
        source_path=path.name,
        content_hash=digest,
        meta=DocumentMeta(
            title=title,
            kind=Kind.DETERMINATION,
            tier=Tier.PRIOR_DETERMINATION,
            guideline=None,
            edition=row.get("ReportYear") or None,
            decision=decision,
        ),
        pages=[Page(index=0, label="1", text=text)],
        blocks=[
            Block(
                text=f"{treatment}: {decision.value}. {summary} Findings: {findings}",
                page_index=0,
                page_label="1",
                page_end_label="1",
                section=treatment,
                decision=decision,
            )
        ],
        determination=determination,
    )


def read_beir_corpus(text: str, path: Path) -> tuple[list[SourceDocument], list[str]]:
    """BEIR corpus.jsonl lines {"_id", "title", "text"} as study documents (for evals)."""
    docs: list[SourceDocument] = []
    warnings: list[str] = []
    first_line: dict[str, int] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            doc_id, body = _beir_id(obj["_id"]), str(obj.get("text") or "")
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            warnings.append(f"{path.name} line {line_no}: skipped, not a BEIR record ({exc}).")
            continue
        if doc_id in first_line:
            warnings.append(
                f"{path.name} line {line_no}: skipped, duplicate _id {doc_id!r} (first on line "
                f"{first_line[doc_id]}); give each record its own _id."
            )
            continue
        first_line[doc_id] = line_no
        title = str(obj.get("title") or "").strip()
        if not body.strip() and not title:
            warnings.append(f"{path.name} line {line_no}: skipped, empty document {doc_id}.")
            continue
        full = f"{title}\n{body}".strip() if title else body
        docs.append(
            SourceDocument(
                doc_id=doc_id,
                source_path=path.name,
                content_hash=hashlib.sha256(full.encode()).hexdigest(),
                meta=DocumentMeta(title=title or doc_id, kind=Kind.STUDY, tier=Tier.STUDY),
                pages=[Page(index=0, label="1", text=full)],
                blocks=[
                    Block(
                        text=" ".join(body.split()) or title,
                        page_index=0,
                        page_label="1",
                        page_end_label="1",
                        section=title or None,
                    )
                ],
            )
        )
    if not docs:
        raise EmptySourceError(path, "no BEIR records.", "Each line needs _id, title and text.")
    return docs, warnings


def _beir_id(value: object) -> str:
    """A BEIR `_id` as a document id; ValueError when it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"_id must be a string, not {type(value).__name__}")
    doc_id = str(value)
    if not doc_id.strip():
        raise ValueError("_id is empty")
    if doc_id.startswith("__") and doc_id.endswith("__"):
        raise ValueError(f"_id {doc_id!r} is reserved by the index (ids like __x__); rename it")
    if len(doc_id) > 200 or any(not ch.isprintable() for ch in doc_id):
        raise ValueError("_id must be at most 200 printable characters")
    return doc_id


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-") or "x"
