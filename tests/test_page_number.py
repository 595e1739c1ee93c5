"""Passages carry the 1-based page of the file (page_number) beside the printed page label."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import HASHING_ENV, text_pdf
from imr_assist.cli.commands import main
from imr_assist.ingest.chunking import chunk_document
from imr_assist.ingest.reader import ReadOptions, read_source
from imr_assist.models import Block, DocumentMeta, Kind, Page, SourceDocument, Tier

# a PDF whose printed page numbers (7, 8, 9) are not its page indexes (1, 2, 3)
PDF_PAGES = [
    [
        "Exercise Therapy",
        "Exercise therapy is recommended for chronic low back pain.",
        "Page 7 of 9",
    ],
    [
        "Manual Therapy",
        "Spinal manipulation may give short relief of low back pain.",
        "Page 8 of 9",
    ],
    ["Medication Options", "Nonsteroidal drugs reduce low back pain a little.", "Page 9 of 9"],
]


@pytest.fixture
def printed_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "acme-guideline.pdf"
    path.write_bytes(text_pdf(PDF_PAGES, title="Acme_Guideline"))
    return path


def _passages(path: Path, size: int = 800) -> list[tuple[str, str, int | None]]:
    (doc,) = read_source(path, ReadOptions(kind="guideline")).documents
    return [(p.section or "", p.page_start, p.page_number) for p in chunk_document(doc, size, 0)]


def test_pdf_passages_carry_the_pdf_page_beside_the_printed_label(printed_pdf: Path) -> None:
    assert _passages(printed_pdf) == [
        ("Exercise Therapy", "7", 1),
        ("Manual Therapy", "8", 2),
        ("Medication Options", "9", 3),
    ]


def test_text_pages_split_by_form_feeds_are_numbered(tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    paged.write_text("Exercise is recommended.\n\fManipulation may help.\n\fDrugs help a little.\n")
    assert [(label, number) for _, label, number in _passages(paged, size=30)] == [
        ("1", 1),
        ("2", 2),
        ("3", 3),
    ]
    single = tmp_path / "note.md"
    single.write_text("# Exercise\n\nExercise is recommended for chronic low back pain.\n")
    assert [number for _, _, number in _passages(single)] == [None]


def test_sections_and_tables_have_no_page_number() -> None:
    """A JSON guideline's "pages" are its sections: their printed page stays a label only."""
    doc = SourceDocument(
        doc_id="nys-low-back",
        source_path="nys-low-back.json",
        content_hash="c",
        meta=DocumentMeta(title="NYS", kind=Kind.GUIDELINE, tier=Tier.OTHER_GUIDELINE),
        pages=[Page(index=i, label=str(40 + i), text="x") for i in range(2)],
        blocks=[
            Block(
                text="Exercise is recommended.", page_index=1, page_label="41", page_end_label="41"
            )
        ],
    )
    [passage] = chunk_document(doc, 800, 0)
    assert (passage.page_start, passage.page_number) == ("41", None)


def test_search_and_ask_json_show_page_number(printed_pdf: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["--home", str(tmp_path / "home")]

    def run(*args: str) -> str:
        result = runner.invoke(main, [*args, *home], env=HASHING_ENV, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    note = tmp_path / "note.md"
    note.write_text("# Manual therapy\n\nSpinal manipulation is an option for low back pain.\n")
    run("ingest", str(printed_pdf), str(note), "--kind", "guideline")
    hits = json.loads(run("search", "spinal manipulation low back pain", "--json"))["hits"]
    located = {(h["source_path"], h["page_start"], h["page_number"]) for h in hits}
    assert ("acme-guideline.pdf", "8", 2) in located
    assert ("note.md", "1", None) in located or ("note.md", "", None) in located
    answer = json.loads(
        run("ask", "Is spinal manipulation recommended for low back pain?", "--json")
    )
    assert answer["citations"], answer
    for citation in answer["citations"]:
        page = {"acme-guideline.pdf": int(citation["page_start"] or 0) - 6, "note.md": None}
        assert citation["page_number"] == page[citation["source_path"]], citation
