"""Tests for reading sources: decoding, front matter, PDFs, DMHC CSV, BEIR, kind and tier.

Small PDFs are written at runtime: blank, zero-page and encrypted ones with pypdf, text ones by
hand (`text_pdf`), so that the words, running header and footer of every page are known.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import text_pdf, write_pypdf
from imr_assist.errors import (
    CorruptSourceError,
    EmptySourceError,
    SourceError,
    UnreadableSourceError,
    UnsupportedSourceError,
)
from imr_assist.ingest.chunking import chunk_document
from imr_assist.ingest.pdf import read_pdf_pages
from imr_assist.ingest.reader import ReadOptions, detect_tier, doc_id_for, read_source
from imr_assist.ingest.tabular import dmhc_decision, is_dmhc_header
from imr_assist.ingest.textfile import cited_pages, decode_bytes, split_front_matter, text_pages
from imr_assist.models import Decision, Kind, Tier

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED = SHARED / "seeds" / "imr-determination-home-exercise-kit.txt"


# --------------------------------------------------------------------------- PDF writers


# Three pages of a guideline as a PDF prints them: running header, body, 'Page N of M' footer.
# The body has words hyphenated across lines, a compound the document also hyphenates inside a
# line, and sentences broken across lines.
GUIDELINE_BODIES = [
    [
        "Exercise Therapy",
        "Exercise therapy helps many patients with chronic low back pain and",
        "should be offered early. Structured programs improve function over",
        "twelve weeks, and supervised sessions are pref-",
        "erable to written advice alone for most adults.",
    ],
    [
        "Manual therapy may give short relief. Spinal manipulation was studied in",
        "several trials with mixed results. The Work Group found the physi-",
        "cal benefits small. A clinician-directed exercise program remains the",
        "first choice for patients who can take part in it safely.",
    ],
    [
        "Medication Options",
        "Nonsteroidal drugs reduce pain a little more than placebo. Their risks",
        "include bleeding and kidney injury, so the",
        "lowest dose is used for the shortest time. Education was clinician-",
        "directed in both trials of the program.",
    ],
]
HEADER = "Acme Guideline 2024"


@pytest.fixture(scope="module")
def guideline_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pages = [[HEADER, *body, f"Page {n} of 9"] for n, body in enumerate(GUIDELINE_BODIES, start=7)]
    path = tmp_path_factory.mktemp("pdf") / "acme-guideline.pdf"
    path.write_bytes(text_pdf(pages, title="Acme_Low_Back_Guideline"))
    return path


# --------------------------------------------------------------------------- PDFs


def test_text_pdf_pages_are_cleaned_and_labelled(guideline_pdf: Path) -> None:
    pages, title = read_pdf_pages(guideline_pdf)

    assert title == "Acme_Low_Back_Guideline"
    assert [(p.index, p.label) for p in pages] == [(0, "7"), (1, "8"), (2, "9")]
    for p in pages:
        assert HEADER not in p.text
        assert "Page" not in p.text
        assert "of 9" not in p.text
    assert pages[0].text.splitlines()[0] == "Exercise Therapy"
    assert "supervised sessions are preferable to written advice" in pages[0].text
    assert "found the physical benefits small" in pages[1].text
    assert "Education was clinician-directed in both trials" in pages[2].text


def test_text_pdf_read_source_gives_blocks_with_joined_sentences(guideline_pdf: Path) -> None:
    result = read_source(guideline_pdf)

    (doc,) = result.documents
    assert result.warnings == []
    assert doc.doc_id == "acme-guideline"
    assert doc.source_path == "acme-guideline.pdf"
    assert len(doc.content_hash) == 64
    assert doc.meta.title == "Acme Low Back Guideline"
    assert (doc.meta.kind, doc.meta.tier, doc.meta.guideline) == (
        Kind.GUIDELINE,
        Tier.OTHER_GUIDELINE,
        None,
    )
    assert [(b.page_label, b.section, b.text) for b in doc.blocks] == [
        ("7", "Exercise Therapy",
         "Exercise therapy helps many patients with chronic low back pain and should be offered "
         "early. Structured programs improve function over twelve weeks, and supervised sessions "
         "are preferable to written advice alone for most adults."),
        ("8", "Exercise Therapy",
         "Manual therapy may give short relief. Spinal manipulation was studied in several trials "
         "with mixed results. The Work Group found the physical benefits small. A "
         "clinician-directed exercise program remains the first choice for patients who can take "
         "part in it safely."),
        ("9", "Medication Options",
         "Nonsteroidal drugs reduce pain a little more than placebo. Their risks include bleeding "
         "and kidney injury, so the lowest dose is used for the shortest time. Education was "
         "clinician-directed in both trials of the program."),
    ]  # fmt: skip


def test_pdf_without_printed_numbers_uses_page_indexes(tmp_path: Path) -> None:
    path = tmp_path / "plain.pdf"
    path.write_bytes(text_pdf([["First page has text."], ["Second page has text too."]]))

    pages, title = read_pdf_pages(path)

    assert [(p.label, p.text) for p in pages] == [
        ("1", "First page has text."),
        ("2", "Second page has text too."),
    ]
    assert title is None


def test_pdf_over_the_page_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(text_pdf([[f"Page text {i}."] for i in range(3)]))

    with pytest.raises(CorruptSourceError) as info:
        read_source(path, ReadOptions(max_pdf_pages=2))

    assert "3 pages, more than the limit of 2" in str(info.value)
    assert "IMR_INGEST__MAX_PDF_PAGES" in info.value.hint


# --------------------------------------------------------------------------- read_source errors


def _missing(tmp: Path) -> Path:
    return tmp / "missing.txt"


def _directory_with_suffix(tmp: Path) -> Path:
    (tmp / "guides.md").mkdir()
    return tmp / "guides.md"


def _empty(tmp: Path) -> Path:
    (tmp / "empty.txt").write_bytes(b"")
    return tmp / "empty.txt"


def _blank_text(tmp: Path) -> Path:
    (tmp / "blank.md").write_text("---\ntitle: Blank\n---\n \n\n\t\n", encoding="utf-8")
    return tmp / "blank.md"


def _unsupported(tmp: Path) -> Path:
    shutil.copy(FIXTURES / "junk.bin", tmp / "junk.bin")
    return tmp / "junk.bin"


def _junk_named_pdf(tmp: Path) -> Path:
    shutil.copy(FIXTURES / "junk.bin", tmp / "junk.pdf")
    return tmp / "junk.pdf"


def _junk_named_txt(tmp: Path) -> Path:
    shutil.copy(FIXTURES / "junk.bin", tmp / "junk.txt")
    return tmp / "junk.txt"


def _corrupt_pdf(tmp: Path) -> Path:
    data = text_pdf([["Alpha page one has words here."], ["Beta page two has words."]])
    (tmp / "truncated.pdf").write_bytes(data[: len(data) // 2])
    return tmp / "truncated.pdf"


def _encrypted_pdf(tmp: Path) -> Path:
    return write_pypdf(tmp / "locked.pdf", pages=1, password="s3cret")


def _zero_page_pdf(tmp: Path) -> Path:
    return write_pypdf(tmp / "zero-pages.pdf", pages=0)


def _scanned_pdf(tmp: Path) -> Path:
    return write_pypdf(tmp / "scanned.pdf", pages=2)


def _too_big(tmp: Path) -> Path:
    (tmp / "big.txt").write_text("Exercise helps back pain. " * 100, encoding="utf-8")
    return tmp / "big.txt"


def _csv_without_dmhc_columns(tmp: Path) -> Path:
    (tmp / "people.csv").write_text("name,age\nAda,36\n", encoding="utf-8")
    return tmp / "people.csv"


def _bad_front_matter_key(tmp: Path) -> Path:
    (tmp / "digest.md").write_text("---\ntitle: T\nauthor: Me\n---\nBody text.\n", "utf-8")
    return tmp / "digest.md"


def _bad_yaml(tmp: Path) -> Path:
    (tmp / "digest.md").write_text("---\ntitle: [unclosed\n---\nBody text.\n", "utf-8")
    return tmp / "digest.md"


def _front_matter_list(tmp: Path) -> Path:
    (tmp / "digest.md").write_text("---\n- a\n- b\n---\nBody text.\n", "utf-8")
    return tmp / "digest.md"


def _bad_front_matter_value(tmp: Path) -> Path:
    (tmp / "digest.md").write_text("---\ndecision: maybe\n---\nBody text.\n", "utf-8")
    return tmp / "digest.md"


ERROR_CASES = [
    (_missing, UnreadableSourceError, "cannot be opened", "Check the path"),
    (_directory_with_suffix, UnreadableSourceError, "not a regular file", "Give a file"),
    (_empty, EmptySourceError, "the file is empty", "export it again"),
    (_blank_text, EmptySourceError, "the file is empty", "has text"),
    (_unsupported, UnsupportedSourceError, "'.bin' files are not read", "Ingest .pdf"),
    (_junk_named_pdf, CorruptSourceError, "not a PDF (no %PDF header)", "misnamed"),
    (_junk_named_txt, UnsupportedSourceError, "binary, not text", "Ingest PDF"),
    (_corrupt_pdf, CorruptSourceError, "the PDF cannot be read", "Re-export"),
    (_encrypted_pdf, CorruptSourceError, "the PDF is encrypted", "Remove the password"),
    (_zero_page_pdf, EmptySourceError, "the PDF has no pages", "export it again"),
    (_scanned_pdf, EmptySourceError, "no extractable text", "OCR"),
    (_too_big, CorruptSourceError, "over the 0.001 MB limit", "IMR_INGEST__MAX_FILE_MB"),
    (_csv_without_dmhc_columns, UnsupportedSourceError, "without the DMHC IMR columns",
     "ReferenceID"),
    (_bad_front_matter_key, CorruptSourceError, "unknown front matter keys: author",
     "Allowed: body_region"),
    (_bad_yaml, CorruptSourceError, "YAML front matter is invalid", "between '---' lines"),
    (_front_matter_list, CorruptSourceError, "not a mapping", "key: value"),
    (_bad_front_matter_value, CorruptSourceError, "invalid metadata", "Fix the front matter"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "error", "problem", "hint"),
    ERROR_CASES,
    ids=[case[0].__name__.strip("_") for case in ERROR_CASES],
)
def test_read_source_errors_name_the_file_and_say_what_to_do(
    tmp_path: Path, make, error: type[SourceError], problem: str, hint: str
) -> None:
    path = make(tmp_path)

    with pytest.raises(error) as info:
        read_source(path, ReadOptions(max_file_mb=0.001 if make is _too_big else 50.0))

    message = str(info.value)
    assert type(info.value) is error
    assert info.value.path == str(path)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert hint in info.value.hint
    assert message.endswith(info.value.hint)


def test_read_source_on_a_plain_directory(tmp_path: Path) -> None:
    folder = tmp_path / "guidelines"
    folder.mkdir()

    with pytest.raises(UnreadableSourceError, match="not a regular file"):
        read_source(folder)


@pytest.mark.parametrize(("field", "value"), [("tier", "gold"), ("kind", "letter")])
def test_read_source_bad_tier_or_kind_in_front_matter(
    tmp_path: Path, field: str, value: str
) -> None:
    path = tmp_path / "digest.md"
    path.write_text(f"---\n{field}: {value}\n---\nBody text of the digest.\n", encoding="utf-8")

    with pytest.raises(CorruptSourceError) as info:
        read_source(path)

    assert str(path) in str(info.value)
    assert value in str(info.value)


def test_read_source_size_message_shows_the_real_size(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * int(1.4 * 1024 * 1024))

    with pytest.raises(CorruptSourceError) as info:
        read_source(path, ReadOptions(max_file_mb=1))

    assert "1.4 MB" in str(info.value)


# --------------------------------------------------------------------------- text decoding

UNICODE_NOTE = "Naïve “quoted” café — résumé, 6/10 pain."


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (UNICODE_NOTE.encode("utf-8"), UNICODE_NOTE),
        (UNICODE_NOTE.encode("utf-8-sig"), UNICODE_NOTE),
        (UNICODE_NOTE.encode("utf-16"), UNICODE_NOTE),  # BOM, native order
        (b"\xfe\xff" + UNICODE_NOTE.encode("utf-16-be"), UNICODE_NOTE),
        (b"\xff\xfe" + UNICODE_NOTE.encode("utf-16-le"), UNICODE_NOTE),
        ("The patient drank café au lait before the visit.".encode("cp1252"),
         "The patient drank café au lait before the visit."),
        ("Patient’s café visit – “notes”.\n".encode("cp1252"), "Patient’s café visit – “notes”.\n"),
    ],
)  # fmt: skip
def test_decode_bytes(data: bytes, expected: str) -> None:
    assert decode_bytes(data, Path("note.txt")) == expected


@pytest.mark.parametrize(
    "text",
    ["café", "Naïve “quoted” café — résumé."],
    ids=["short", "i-diaeresis"],
)
def test_decode_bytes_cp1252_short_or_accented(text: str) -> None:
    assert decode_bytes(text.encode("cp1252"), Path("note.txt")) == text


@pytest.mark.parametrize(
    ("data", "error", "problem"),
    [
        (b"Exercise\x00helps", UnsupportedSourceError, "NUL bytes"),
        ("café".encode("utf-16-le"), UnsupportedSourceError, "NUL bytes"),  # UTF-16 needs a BOM
        (b"\xff\xfe\x00\xd8", CorruptSourceError, "bad utf-16 text"),  # lone surrogate
        (bytes(range(128, 256)) * 10, CorruptSourceError, "could not be recognised"),
    ],
)
def test_decode_bytes_errors(data: bytes, error: type[SourceError], problem: str) -> None:
    with pytest.raises(error) as info:
        decode_bytes(data, Path("note.txt"))

    assert str(info.value).startswith("note.txt: ")
    assert problem in str(info.value)
    assert info.value.hint


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cp1252-note.txt",
         "The patient’s café job requires lifting 20 lb. “Pain is worse after a shift,” she "
         "reports – about 6/10."),
        ("utf16-note.txt",
         "The patient reports café work and lifting; pain is 6/10 after a shift."),
    ],
)  # fmt: skip
def test_read_source_decodes_legacy_encodings(name: str, expected: str) -> None:
    (doc,) = read_source(FIXTURES / name).documents

    assert [b.text for b in doc.blocks] == ["Clinical note", expected]
    assert doc.meta.title == name.removesuffix(".txt").replace("-", " ")


# --------------------------------------------------------------------------- front matter, pages


def test_split_front_matter_valid() -> None:
    text = "---\ntitle: Digest\ntier: mtus\nedition: 2009\nchapter:\n---\nBody.\n"

    meta, body = split_front_matter(text, Path("d.md"))

    assert meta == {"title": "Digest", "tier": "mtus", "edition": 2009}  # None values dropped
    assert body == "Body.\n"


@pytest.mark.parametrize(
    "text",
    [
        "No front matter.\n",
        "Text first\n---\ntitle: x\n---\n",  # not at the start
        "---\ntitle: never closed\nBody.\n",
    ],
)
def test_split_front_matter_absent(text: str) -> None:
    assert split_front_matter(text, Path("d.md")) == ({}, text)


def test_split_front_matter_crlf() -> None:
    meta, body = split_front_matter("---\r\ntitle: Digest\r\n---\r\nBody.\r\n", Path("d.md"))

    assert (meta, body) == ({"title": "Digest"}, "Body.\r\n")


def test_split_front_matter_unknown_keys_are_named() -> None:
    with pytest.raises(CorruptSourceError) as info:
        split_front_matter("---\ntitle: T\nauthor: A\nyear: 2020\n---\nBody\n", Path("d.md"))

    assert "unknown front matter keys: author, year." in str(info.value)
    assert "Allowed: body_region, chapter, decision" in info.value.hint


def test_text_pages_split_at_form_feeds() -> None:
    pages = text_pages("Page one.\r\n\fPage two.\f\fPage four.", Path("t.txt"))

    assert [(p.index, p.label, p.text) for p in pages] == [
        (0, "1", "Page one.\n"),
        (1, "2", "Page two."),
        (2, "3", ""),
        (3, "4", "Page four."),
    ]


def test_text_pages_without_form_feed_is_one_page() -> None:
    (page,) = text_pages("Line one.\nLine two.\n", Path("t.txt"))

    assert (page.index, page.label, page.text) == (0, "1", "Line one.\nLine two.\n")


def test_read_source_form_feed_pages_become_block_pages(tmp_path: Path) -> None:
    path = tmp_path / "pdftotext.txt"
    path.write_text("Exercise helps back pain.\fOpioids do not.\fRest is not advised.\n", "utf-8")

    (doc,) = read_source(path).documents

    assert [(b.page_index, b.page_label, b.text) for b in doc.blocks] == [
        (0, "1", "Exercise helps back pain."),
        (1, "2", "Opioids do not."),
        (2, "3", "Rest is not advised."),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(MTUS Chronic Pain Medical Treatment Guidelines, pp. 114-116)", ("114", "116")),
        ("see p. 46 for details", ("46", "46")),
        ("Page(s): 287-289", ("287", "289")),
        ("pages 12 – 14", ("12", "14")),
        ("pp. 9-10 and pp. 20-21", ("9", "10")),  # the first
        ("no page reference here", None),
    ],
)
def test_cited_pages(text: str, expected: tuple[str, str] | None) -> None:
    assert cited_pages(text) == expected


# --------------------------------------------------------------------------- Markdown digest


def test_markdown_digest_front_matter_and_cited_pages() -> None:
    (doc,) = read_source(FIXTURES / "mtus-chronic-pain-digest.md").documents

    assert doc.meta.model_dump() == {
        "title": "MTUS Chronic Pain Medical Treatment Guidelines (digest)",
        "kind": Kind.GUIDELINE,
        "tier": Tier.MTUS,
        "guideline": "MTUS CPMTG",
        "edition": "2009",
        "chapter": "Chronic Pain Medical Treatment Guidelines",
        "body_region": "low_back",
        "decision": None,
        "illustrative": True,
    }
    located = [(b.section, b.page_label, b.page_end_label) for b in doc.blocks]
    assert located == [
        ("Opioids", "74", "96"),
        ("Opioids", "74", "96"),  # no pages of its own: its section's pages
        ("Physical Medicine", "98", "99"),
        ("Physical Medicine", "98", "99"),
        ("Physical Medicine", "98", "99"),
        ("Muscle Relaxants", "63", "66"),
        ("Spinal Cord Stimulators", "105", "107"),
        ("Transcutaneous Electrotherapy", "114", "116"),
        ("Transcutaneous Electrotherapy", "114", "116"),
    ]


def test_markdown_digest_cited_pages_reach_the_passages() -> None:
    (doc,) = read_source(FIXTURES / "mtus-chronic-pain-digest.md").documents

    passages = chunk_document(doc, size=400, overlap=0)

    tens = [p for p in passages if p.section == "Transcutaneous Electrotherapy"]
    assert [(p.page_start, p.page_end) for p in tens] == [("114", "116")]
    assert tens[0].text.startswith("TENS is not recommended as a primary treatment modality")
    assert tens[0].text.endswith("outcomes in pain relief and function.")


def test_markdown_digest_section_without_cited_pages_is_unpaged(tmp_path: Path) -> None:
    path = tmp_path / "odg-digest.md"
    path.write_text(
        "---\nguideline: ODG\ntier: guideline\n---\n"
        "## Exercise\n\nExercise is recommended (ODG Low Back, Exercise).\n\n"
        "## TENS\n\nNot recommended as a primary treatment (pp. 114-116).\n",
        encoding="utf-8",
    )

    (doc,) = read_source(path).documents

    assert [(b.section, b.page_label, b.page_end_label) for b in doc.blocks] == [
        ("Exercise", "", ""),
        ("TENS", "114", "116"),
    ]
    passages = chunk_document(doc, size=200, overlap=0)
    assert [(p.page_start, p.page_end) for p in passages] == [("", ""), ("114", "116")]


def test_markdown_digest_cross_reference_does_not_relocate_a_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "postsurgical.md"
    path.write_text(
        "---\nguideline: MTUS\ntier: mtus\n---\n"
        "## Continuing care\n\nMTUS Postsurgical Treatment Guidelines, Low Back, pp. 25-26, "
        "paraphrased: a subsequent course may follow the initial one.\n\n"
        "- After the treatment period ends, requests for physical therapy are judged under "
        "the Chronic Pain Medical Treatment Guidelines, Physical Medicine, pp. 98-99.\n\n"
        "- p. 26: the general course is 34 visits.\n",
        encoding="utf-8",
    )

    (doc,) = read_source(path).documents

    assert [(b.page_label, b.page_end_label) for b in doc.blocks] == [
        ("25", "26"),
        ("25", "26"),  # the later 'pp. 98-99' cites another guideline: stays in its section
        ("26", "26"),  # a paragraph that opens with its own page is located there
    ]


# --------------------------------------------------------------------------- DMHC CSV

DMHC = FIXTURES / "dmhc-imr-sample.csv"


def test_dmhc_csv_one_document_per_usable_row() -> None:
    result = read_source(DMHC)

    assert [(d.doc_id, d.meta.decision, d.meta.edition) for d in result.documents] == [
        ("dmhc-mn16-22639", Decision.OVERTURNED, "2016"),
        ("dmhc-mn16-22640", Decision.UPHELD, "2016"),
        ("dmhc-mn17-23001", Decision.UPHELD, "2017"),
        ("dmhc-mn17-23002", Decision.OVERTURNED, "2017"),
        ("dmhc-mn18-24010", Decision.OVERTURNED, "2018"),
        ("dmhc-mn19-25100", Decision.UPHELD, "2019"),
    ]
    assert result.warnings == [
        "dmhc-imr-sample.csv line 7: skipped (needs ReferenceID, an Upheld/Overturned "
        "Determination and Findings).",
        "dmhc-imr-sample.csv line 8: duplicate ReferenceID MN16-22640 skipped.",
    ]
    for doc in result.documents:
        assert (doc.meta.kind, doc.meta.tier) == (Kind.DETERMINATION, Tier.PRIOR_DETERMINATION)
        assert doc.source_path == "dmhc-imr-sample.csv"
    assert len({d.content_hash for d in result.documents}) == 6


def test_dmhc_csv_document_content() -> None:
    doc = read_source(DMHC).documents[1]

    assert doc.meta.title == "DMHC IMR MN16-22640: Opioids"
    assert doc.determination is not None
    assert doc.determination.format == "dmhc_csv"
    summary = doc.determination.case_summary
    assert (summary.sex, summary.requested, summary.diagnoses) == (
        "male",
        ["Opioids"],
        ["Orthopedic/ Musculoskeletal / Back Pain"],
    )
    (item,) = doc.determination.items
    assert (item.item, item.decision) == ("Opioids", Decision.UPHELD)
    assert item.rationale.startswith("The patient is a 58-year-old male")
    (block,) = doc.blocks
    assert (block.section, block.decision, block.page_label) == ("Opioids", Decision.UPHELD, "1")
    assert block.text.startswith(
        "Opioids: upheld. DMHC IMR MN16-22640 (2016): 51-64 Male patient; diagnosis "
        "Orthopedic/ Musculoskeletal / Back Pain; requested Opioids (Pharmacy); Medical Necessity "
        "Standard. Findings: The patient is a 58-year-old male"
    )


def test_dmhc_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "dmhc.csv"
    text = DMHC.read_text(encoding="utf-8").replace("\n", "\r\n")
    path.write_bytes(text.encode("utf-8-sig"))

    result = read_source(path)

    assert len(result.documents) == 6
    assert len(result.warnings) == 2


def test_dmhc_csv_without_usable_rows(tmp_path: Path) -> None:
    path = tmp_path / "dmhc.csv"
    header = DMHC.read_text(encoding="utf-8").splitlines()[0]
    path.write_text(header + "\nX1,2020,,,,,Withdrawn,,,,,,,Some findings\n", encoding="utf-8")

    with pytest.raises(EmptySourceError, match="no usable DMHC rows"):
        read_source(path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Overturned Decision of Health Plan", Decision.OVERTURNED),
        ("Upheld Decision of Health Plan", Decision.UPHELD),
        ("UPHOLD", Decision.UPHELD),
        ("Withdrawn", None),
        ("", None),
    ],
)
def test_dmhc_decision(value: str, expected: Decision | None) -> None:
    assert dmhc_decision(value) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (DMHC.read_text(encoding="utf-8").splitlines()[0], True),
        ('"ReferenceID","TreatmentCategory","Determination","Findings"', True),
        ("\ufeffReferenceID,TreatmentCategory,Determination,Findings", True),
        ("ReferenceID,Determination,Findings", False),  # no TreatmentCategory
        ("name,age", False),
    ],
)
def test_is_dmhc_header(header: str, expected: bool) -> None:
    assert is_dmhc_header(header) is expected


# --------------------------------------------------------------------------- BEIR


def test_beir_corpus_records_become_studies() -> None:
    result = read_source(FIXTURES / "beir" / "corpus.jsonl")

    assert [(d.doc_id, d.meta.title, d.blocks[0].section) for d in result.documents] == [
        ("31415926", "Exercise therapy for chronic low back pain",
         "Exercise therapy for chronic low back pain"),
        ("27182818", "Opioids versus placebo for low back pain",
         "Opioids versus placebo for low back pain"),
        ("14142135", "14142135", None),
    ]  # fmt: skip
    assert {(d.meta.kind, d.meta.tier) for d in result.documents} == {(Kind.STUDY, Tier.STUDY)}
    assert result.documents[1].blocks[0].text == (
        "Opioids gave small short-term pain relief with more adverse events than placebo."
    )
    assert (
        result.documents[0]
        .pages[0]
        .text.startswith(
            "Exercise therapy for chronic low back pain\nExercise therapy reduced pain"
        )
    )
    assert [w.split(":")[0] for w in result.warnings] == [
        "corpus.jsonl line 4",
        "corpus.jsonl line 5",
        "corpus.jsonl line 6",
    ]
    assert "empty document 16180339" in result.warnings[2]


def test_beir_jsonl_without_records(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text("not json\n[1, 2]\n", encoding="utf-8")

    with pytest.raises(EmptySourceError, match="no BEIR records"):
        read_source(path)


def test_beir_queries_file_is_not_read_as_a_corpus() -> None:
    with pytest.raises(UnsupportedSourceError, match=r"queries\.jsonl"):
        read_source(FIXTURES / "beir" / "queries.jsonl")


def test_beir_qrels_are_not_a_source() -> None:
    with pytest.raises(UnsupportedSourceError, match=r"'\.tsv' files are not read"):
        read_source(FIXTURES / "beir" / "qrels" / "test.tsv")


# --------------------------------------------------------------------------- kind and tier


@pytest.mark.shared
def test_seed_letter_is_detected_as_a_determination() -> None:
    if not SEED.exists():
        pytest.skip(f"../shared/seeds not present: {SEED}")

    (doc,) = read_source(SEED).documents

    assert doc.meta.kind is Kind.DETERMINATION
    assert doc.meta.tier is Tier.PRIOR_DETERMINATION
    assert doc.meta.decision is Decision.UPHELD
    assert doc.meta.title == "imr-determination-home-exercise-kit: Lumbar spine home exercise kit"
    assert [(b.section, b.decision) for b in doc.blocks] == [
        ("Case summary", None),
        ("Lumbar spine home exercise kit", Decision.UPHELD),
    ]
    assert doc.recommendations == []


@pytest.mark.shared
def test_seed_letter_forced_to_guideline_kind() -> None:
    if not SEED.exists():
        pytest.skip(f"../shared/seeds not present: {SEED}")

    (doc,) = read_source(SEED, ReadOptions(kind="guideline")).documents

    assert (doc.meta.kind, doc.meta.decision, doc.determination) == (Kind.GUIDELINE, None, None)
    # its first 5,000 characters name the MTUS, which no longer grants the tier (issue 15)
    assert doc.meta.tier is Tier.GUIDELINE  # named ACOEM / ODG


@pytest.mark.parametrize(
    ("kind", "front", "title", "text", "expected"),
    [
        # a mention never grants the MTUS tier (issue 15); the official DWC text does
        (Kind.GUIDELINE, {}, None, "MTUS Chronic Pain Medical Treatment Guidelines",
         Tier.OTHER_GUIDELINE),
        (Kind.GUIDELINE, {}, None, "the Medical Treatment Utilization Schedule says",
         Tier.OTHER_GUIDELINE),
        (Kind.GUIDELINE, {"guideline": "MTUS ACOEM"}, None, "Exercise helps.", Tier.GUIDELINE),
        (Kind.GUIDELINE, {}, "Chronic Pain Medical Treatment Guidelines",
         "State of California, Division of Workers' Compensation. Medical Treatment "
         "Utilization Schedule (MTUS), 8 C.C.R. §§9792.20 - 9792.26.", Tier.MTUS),
        (Kind.GUIDELINE, {}, "ODG Low Back", "Exercise helps.", Tier.GUIDELINE),
        (Kind.GUIDELINE, {}, None, "Official Disability Guidelines: Low Back", Tier.GUIDELINE),
        (Kind.GUIDELINE, {}, None, "ACOEM Practice Guidelines chapter 12", Tier.GUIDELINE),
        (Kind.GUIDELINE, {}, None, "VA/DoD Clinical Practice Guideline", Tier.OTHER_GUIDELINE),
        (Kind.GUIDELINE, {}, None, "Abstract. Methods: RCT. Results: benefit.", Tier.STUDY),
        (Kind.GUIDELINE, {}, None, "Abstract. Methods and Results of the guideline",
         Tier.OTHER_GUIDELINE),
        (Kind.GUIDELINE, {}, None, "odg in lower case is not the acronym", Tier.OTHER_GUIDELINE),
        (Kind.DETERMINATION, {}, None, "MTUS ACOEM", Tier.PRIOR_DETERMINATION),
        (Kind.STUDY, {}, None, "MTUS", Tier.STUDY),
    ],
)  # fmt: skip
def test_detect_tier(
    kind: Kind, front: dict[str, str], title: str | None, text: str, expected: Tier
) -> None:
    assert detect_tier(kind, front, title, text) is expected


MTUS_TEXT = "MTUS Chronic Pain Medical Treatment Guidelines\n\nExercise is recommended.\n"


@pytest.mark.parametrize(
    ("front", "options", "expected"),
    [
        ("", ReadOptions(), Tier.OTHER_GUIDELINE),  # a mention grants nothing
        ("---\ntier: mtus\n---\n", ReadOptions(), Tier.MTUS),  # front matter grants it
        ("", ReadOptions(tier=Tier.MTUS), Tier.MTUS),  # so does the flag
        ("---\ntier: study\n---\n", ReadOptions(), Tier.STUDY),  # front matter beats detection
        ("---\ntier: study\n---\n", ReadOptions(tier=Tier.GUIDELINE), Tier.GUIDELINE),  # flag wins
        ("", ReadOptions(tier=Tier.OTHER_GUIDELINE), Tier.OTHER_GUIDELINE),
    ],
)
def test_tier_precedence(tmp_path: Path, front: str, options: ReadOptions, expected: Tier) -> None:
    path = tmp_path / "mtus.md"
    path.write_text(front + MTUS_TEXT, encoding="utf-8")

    (doc,) = read_source(path, options).documents

    assert doc.meta.tier is expected


@pytest.mark.parametrize(
    ("front", "options", "expected"),
    [
        ("", ReadOptions(), Kind.GUIDELINE),
        ("---\nkind: study\n---\n", ReadOptions(), Kind.STUDY),
        ("---\nkind: study\n---\n", ReadOptions(kind="guideline"), Kind.GUIDELINE),
    ],
)
def test_kind_precedence(tmp_path: Path, front: str, options: ReadOptions, expected: Kind) -> None:
    path = tmp_path / "notes.md"
    path.write_text(front + MTUS_TEXT, encoding="utf-8")

    (doc,) = read_source(path, options).documents

    assert doc.meta.kind is expected


def test_guideline_name_from_flag_and_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "digest.md"
    path.write_text("---\nguideline: From Front\n---\nBody text.\n", encoding="utf-8")

    assert read_source(path).documents[0].meta.guideline == "From Front"
    assert read_source(path, ReadOptions(guideline="From Flag")).documents[0].meta.guideline == (
        "From Flag"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("va-department_of_defense.pdf", "va-department_of_defense"),
        ("MTUS Chronic Pain (2009).md", "mtus-chronic-pain-2009"),
        ("Überblick.txt", "berblick"),
        ("---.txt", "document"),
    ],
)
def test_doc_id_for(name: str, expected: str) -> None:
    assert doc_id_for(Path("/any/folder") / name) == expected
