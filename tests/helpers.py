"""Builders shared by several test files (fixtures shared by several files are in conftest.py).

Import them as `from helpers import ...` (tests/ is on sys.path, as for `conftest` and `fakes`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pypdf import PdfWriter

from imr_assist.citations import make_citation_id
from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.index.embedding import HASHING_MODEL
from imr_assist.index.store import PassageIndex, PendingDocument
from imr_assist.models import DraftDecision, Kind, Passage, ResolvedCitation, Stance, Tier
from imr_assist.review.ledger import Ledger
from imr_assist.settings import EmbeddingSettings, RetrievalSettings, Settings
from imr_assist.verification.verify import verify

HASHING_ENV = {"IMR_EMBEDDING__MODEL": HASHING_MODEL, "IMR_RETRIEVAL__GATE_MIN_DENSE": "0"}
"""The environment giving a CLI or app process the settings of `hashing_settings`."""


def hashing_settings(home: Path, **extra: Any) -> Settings:
    """Settings of fake-backed tests: the model-free hashing embedder, in `home`.

    The gate's dense threshold is calibrated for MiniLM cosines; hashed bag-of-words cosines
    live on another scale, so fake-backed tests gate on item-term coverage alone."""
    return Settings(
        home=home,
        embedding=EmbeddingSettings(model=HASHING_MODEL),
        retrieval=RetrievalSettings(gate_min_dense=0.0),
        **extra,
    )


def write(path: Path, data: str | bytes) -> Path:
    """Write a file (text as UTF-8), creating its folder; the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def make_passage(text: str = "Passage text.", **fields: Any) -> Passage:
    """A guideline passage; every field can be given, the rest are plain defaults (MTUS tier,
    page 1, an id derived from document, page and text as ingest derives it)."""
    doc_id = fields.get("doc_id", "doc")
    page_start = fields.get("page_start", "1")
    values: dict[str, Any] = {
        "id": make_citation_id(doc_id, page_start, text),
        "doc_id": doc_id,
        "content_hash": f"h-{doc_id}",
        "source_path": f"{doc_id}.md",
        "source_title": doc_id,
        "kind": Kind.GUIDELINE,
        "tier": Tier.MTUS,
        "page_start": page_start,
        "page_end": fields.get("page_end", page_start),
        "ordinal": 0,
        "text": text,
    }
    return Passage(**{**values, **fields})


def pending_documents(path: Path, settings: Settings) -> list[PendingDocument]:
    """A file read and chunked as ingest does, ready for `PassageIndex.add_many`."""
    from imr_assist.ingest.chunking import chunk_document
    from imr_assist.ingest.reader import file_hash, read_source

    digest = file_hash(path.read_bytes())
    return [
        PendingDocument(
            doc,
            chunk_document(doc, settings.chunking.size, settings.chunking.overlap),
            str(path.resolve()),
            digest,
        )
        for doc in read_source(path).documents
    ]


def ingest_demo(settings: Settings, *extra: Path, index: PassageIndex | None = None) -> Any:
    """The demo corpus (and `extra` files) ingested; a HybridRetriever over it. Files of
    `extra` may fail (tests of hostile files); the demo corpus may not."""
    from conftest import CORPUS
    from imr_assist.ingest.pipeline import ingest_paths
    from imr_assist.retrieval.hybrid import HybridRetriever

    index = index or PassageIndex(settings)
    report = ingest_paths(
        [CORPUS / "guidelines", CORPUS / "determinations", *extra], settings=settings, index=index
    )
    failed = [f.message for f in report.failed if Path(f.path) not in extra]
    assert not failed, failed
    return HybridRetriever(index)


# --------------------------------------------------------------------------- files


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def text_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A valid PDF with one Helvetica text line per item of each page, and correct xref offsets."""
    n = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        ops = ["BT /F1 11 Tf 14 TL 72 720 Td", *(f"{_pdf_string(ln)} Tj T*" for ln in lines), "ET"]
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    if title is not None:
        objects.append(f"<< /Title {_pdf_string(title)} >>".encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % len(objects) if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        info,
        xref,
    )
    return bytes(out)


def write_pypdf(path: Path, *, pages: int, password: str | None = None) -> Path:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner-secret")
    with path.open("wb") as fh:
        writer.write(fh)
    return path


# --------------------------------------------------------------------------- a reviewed draft
# Two passages, a draft citing both, an answer: what the ledger and export tests review.

ODG = "0d90d90d90d9"
MTUS = "a1a1a1a1a1a1"
FAKE = "ffffffffffff"


def passages() -> list[Passage]:
    common = {"content_hash": "c", "kind": Kind.GUIDELINE, "ordinal": 0}
    return [
        Passage(
            id=MTUS,
            doc_id="acoem-ch12",
            source_path="acoem-ch12.md",
            source_title="ACOEM Chapter 12 Low Back Complaints",
            tier=Tier.MTUS,
            guideline="MTUS ACOEM",
            chapter="Chapter 12 Low Back Complaints",
            page_start="287",
            page_end="289",
            text="Low-stress aerobic activities can be safely started after 2 weeks of symptoms. "
            "Early stage lumbar stabilization exercises can be useful.",
            **common,
        ),
        Passage(
            id=ODG,
            doc_id="odg-low-back",
            source_path="odg-low-back.md",
            source_title="ODG Low Back Chapter",
            tier=Tier.GUIDELINE,
            guideline="Official Disability Guidelines (ODG)",
            section="Exercise",
            page_start="12",
            page_end="12",
            text="A home exercise program is recommended. Advanced home exercise equipment "
            "where outcomes are not monitored by a health professional is not recommended.",
            **common,
        ),
    ]


GENERATED = (
    f"MTUS ACOEM indicates that early stage lumbar stabilization exercises can be useful. [{MTUS}] "
    f"ODG indicates that advanced home exercise equipment where outcomes are not monitored is not "
    f"recommended. [{ODG}] There was a lack of documentation of the components of the kit. "
    "Given the above, the request for a Lumbar spine home exercise kit is not medically necessary."
)
ITEM = "Lumbar spine home exercise kit"


def resolved(p: Passage) -> ResolvedCitation:
    from imr_assist.drafting.chain import _resolved

    return _resolved(p)


def make_draft(text: str = GENERATED, item: str = ITEM) -> DeterminationDraft:
    evidence = passages()
    report = verify(text, evidence)
    return DeterminationDraft(
        item=item,
        case_summary="39-year-old, lumbar fusion revision 07/2013, unable to attend PT.",
        decision=DraftDecision.NOT_MEDICALLY_NECESSARY,
        stance=Stance.NOT_RECOMMENDED,
        governing_tier=Tier.GUIDELINE,
        guideline_relied_on=[
            "MTUS ACOEM, Chapter 12 Low Back Complaints Page(s): 287-289",
            "Non-MTUS Citation Official Disability Guidelines (ODG) Page(s): 12",
        ],
        sequence_note="MTUS does not specifically address home exercise kits.",
        rationale=text,
        missing_documentation=["components of the kit"],
        sentences=report.sentences,
        citations=[resolved(p) for p in evidence],
        fabricated_ids=report.fabricated_ids,
        abstained=False,
        precedent=None,
        settings_hash="abc123def456",
        drafter="offline composer",
    )


def make_answer() -> Answer:
    text = f"A home exercise program is recommended. [{ODG}]"
    report = verify(text, passages())
    return Answer(
        query="Is a home exercise program recommended?",
        answer=text,
        stance=Stance.RECOMMENDED,
        governing_tier=Tier.GUIDELINE,
        sequence_note="",
        sentences=report.sentences,
        citations=[resolved(passages()[1])],
        fabricated_ids=[],
        abstained=False,
        precedent=None,
        settings_hash="abc123def456",
        drafter="offline composer",
    )


class Clock:
    """A fake clock: one minute per call, from a fixed start."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def accepted(ledger: Ledger, text: str = GENERATED, who: str = "Dr. Lee") -> str:
    review = ledger.start(make_draft(text), who, passages())
    ledger.accept(review.review_id, text, who, verify(text, passages()))
    return review.review_id
