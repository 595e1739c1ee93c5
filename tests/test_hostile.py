"""Hostile and bad input: files, queries, filters and uploads, as one table.

Every row runs its bad input inside a batch that also holds good work, and checks three things:
(a) a message names the file (or says which query) and what to do, (b) the good rest of the
batch still runs, (c) nothing stored changes: index status, passage ids, BM25 document count and
the manifest are the same before and after (minus the good work the batch added).
Every kind is a test that must pass; bugs found here were fixed where they lived.
"""

from __future__ import annotations

import json
import os
import shutil
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from helpers import text_pdf, write, write_pypdf
from imr_assist import api
from imr_assist.errors import QueryError, UploadError
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.ingest.uploads import save_upload
from imr_assist.models import IngestReport
from imr_assist.retrieval.hybrid import HybridRetriever
from imr_assist.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
DIGEST = """---
title: "Digest: TENS"
guideline: "MTUS Chronic Pain Medical Treatment Guidelines"
tier: mtus
kind: guideline
body_region: low_back
---
# TENS

A one-month home-based TENS trial may be considered as an adjunct to a program of evidence-based
functional restoration (MTUS Chronic Pain Medical Treatment Guidelines, pp. 114-116).

# H-wave

H-wave stimulation is not recommended as an isolated intervention (pp. 117-118).
"""
FRESH = "# Aquatic therapy\n\nAquatic therapy is an optional form of exercise therapy (p. 22).\n"


@dataclass
class World:
    """An index holding one guideline, and a folder for the batch's files."""

    tmp: Path
    settings: Settings
    index: PassageIndex
    retriever: HybridRetriever

    def fresh(self) -> Path:
        """A good new file to ingest in the same batch as the bad one."""
        path = self.tmp / "good" / "aquatic-digest.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FRESH, encoding="utf-8")
        return path


@pytest.fixture
def world(tmp_path: Path, settings: Settings, index: PassageIndex) -> World:
    base = tmp_path / "base" / "tens-digest.md"
    base.parent.mkdir(parents=True)
    base.write_text(DIGEST, encoding="utf-8")
    report = ingest_paths([base], settings=settings, index=index)
    assert [f.status for f in report.files] == ["ingested"]
    retriever = HybridRetriever(index)
    retriever.sync()
    return World(tmp_path / "batch", settings, index, retriever)


def snapshot(world: World, minus: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    """What is stored, leaving out the documents in `minus` (the good work of the batch)."""
    index = world.index
    records = [r for r in index.records() if r.doc_id not in minus]
    got = index.collection.get(include=["metadatas"])
    ids = sorted(
        i for i, m in zip(got["ids"], got["metadatas"], strict=True) if m["doc_id"] not in minus
    )
    status = index.status()
    extra = [r for r in status.records if r.doc_id in minus]
    return {
        "documents": status.documents - len(extra),
        "passages": status.passages - sum(r.passages for r in extra),
        "manifest": [r.model_dump(mode="json") for r in records],
        "passage_ids": ids,
        "bm25_docs": world.retriever.sync() - sum(r.passages for r in extra),
        "generation_docs": len(index.published_passages()[0]) - sum(r.passages for r in extra),
    }


@dataclass
class Outcome:
    """What a batch run reported about its bad input, and whether the good part ran."""

    messages: list[str]
    continued: bool
    added: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------- file makers


def _raw_pdf(contents: list[bytes]) -> bytes:
    """A valid PDF whose pages draw the given content streams (no fonts: no text)."""
    n = len(contents)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
    ]
    for i, stream in enumerate(contents):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>"
            % (4 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


IMAGE_PAGE = b"q 200 0 0 200 100 400 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\xff\xff\x00 EI Q"
GOOD_PDF = text_pdf([["Alpha page one has words here."], ["Beta page two has words."]])


def _symlink_loop(tmp: Path) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp / "loop.txt", tmp / "loop.txt")
    return tmp / "loop.txt"


def _dangling(tmp: Path) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp / "gone" / "guideline.md", tmp / "dangling.md")
    return tmp / "dangling.md"


def _deep(tmp: Path) -> Path:
    folder = tmp.joinpath(*(f"d{i}" for i in range(60)))
    return write(folder / "deep-junk.txt", b"\x00\x01\x02\x03" * 64)


def _dir_like_file(tmp: Path) -> Path:
    (tmp / "guideline.pdf").mkdir(parents=True)
    return tmp / "guideline.pdf"


def _unreadable(tmp: Path) -> Path:
    path = write(tmp / "locked-notes.txt", "TENS notes that nobody may read.")
    path.chmod(0)
    return path


def _beir_bad_lines(tmp: Path) -> Path:
    lines = ['{"_id": "d1", "title": "x"', "not json at all", '{"title": "no id"}', "[1, 2]"]
    return write(tmp / "beir" / "corpus.jsonl", "\n".join(lines) + "\n")


FILE_CASES: list[tuple[str, Callable[[Path], Path], tuple[str, ...]]] = [
    ("corrupt-pdf", lambda t: write(t / "corrupt.pdf", b"%PDF-1.7\n" + os.urandom(3000)),
     ("corrupt.pdf", "PDF", "Re-")),
    ("truncated-pdf", lambda t: write(t / "truncated.pdf", GOOD_PDF[: len(GOOD_PDF) // 2]),
     ("truncated.pdf", "cannot be read", "Re-export")),
    ("encrypted-pdf", lambda t: write_pypdf(write(t / "x", b"x").parent / "locked.pdf", pages=1,
                                            password="s3cret"),
     ("locked.pdf", "encrypted", "Remove the password")),
    ("zero-page-pdf", lambda t: write_pypdf(write(t / "x", b"x").parent / "zero.pdf", pages=0),
     ("zero.pdf", "no pages", "export it again")),
    ("image-only-pdf", lambda t: write(t / "scan.pdf", _raw_pdf([IMAGE_PAGE, IMAGE_PAGE])),
     ("scan.pdf", "no extractable text", "OCR")),
    ("html-named-pdf", lambda t: write(t / "page.pdf", "<!doctype html><html>Login</html>"),
     ("page.pdf", "no %PDF header", "misnamed")),
    ("binary-junk-txt",
     lambda t: write(t / "junk.txt", (FIXTURES / "sources/junk.bin").read_bytes()),
     ("junk.txt", "binary", "Ingest PDF")),
    ("nul-bytes", lambda t: write(t / "nul.md", b"# TENS\n\nTENS\x00 is an adjunct.\n" * 20),
     ("nul.md", "NUL bytes", "Ingest")),
    ("utf16-without-bom",
     lambda t: write(t / "u16.txt", ("TENS trial notes. " * 30).encode("utf-16-le")),
     ("u16.txt", "UTF-16", "Re-save it as UTF-8")),
    ("empty-file", lambda t: write(t / "empty.txt", b""),
     ("empty.txt", "empty", "export it again")),
    ("whitespace-only", lambda t: write(t / "blank.md", " \n\t\n\r\n   \n"),
     ("blank.md", "empty", "has text")),
    ("deeply-nested-60", _deep, ("d59", "deep-junk.txt", "binary", "Ingest")),
    ("symlink-loop", _symlink_loop, ("loop.txt", "symlink", "")),
    ("dangling-symlink", _dangling, ("dangling.md", "does not exist", "Check the path")),
    ("directory-named-like-a-file", _dir_like_file, ("guideline.pdf", "folder", "")),
    ("unreadable-chmod-000", _unreadable, ("locked-notes.txt", "Permission denied", "permissions")),
    ("malformed-determination", lambda t: write(
        t / "letter.txt", (FIXTURES / "determinations/final-no-decision.txt").read_text()),
     ("letter.txt", "no disputed item with a decision", "Upheld")),
    ("dmhc-csv-wrong-columns",
     lambda t: write(t / "imr.csv", "Ref,Year,Outcome\nMN1,2016,Upheld\n"),
     ("imr.csv", "without the DMHC IMR columns", "ReferenceID")),
    ("beir-jsonl-all-bad-lines", _beir_bad_lines, ("corpus.jsonl", "no BEIR records", "_id")),
    ("jsonl-not-a-corpus",
     lambda t: write(t / "queries.jsonl", '{"_id": "q1", "text": "tens"}\n'),
     ("queries.jsonl", "other than a BEIR corpus.jsonl", "eval inputs")),
    ("markdown-bad-front-matter",
     lambda t: write(t / "fm.md", "---\ntitle: [unclosed\n---\nBody.\n"),
     ("fm.md", "YAML front matter is invalid", "between '---' lines")),
    ("front-matter-unknown-tier",
     lambda t: write(t / "tier.md", "---\ntier: gold\n---\nTENS body.\n"),
     ("tier.md", "invalid kind or tier", "tier: mtus")),
    ("unsupported-type", lambda t: write(t / "setup.exe", b"MZ\x90\x00" * 10),
     ("setup.exe", "'.exe' files are not read", "Ingest .pdf")),
    ("missing-path", lambda t: t / "no-such-guideline.pdf",
     ("no-such-guideline.pdf", "does not exist", "Check the path")),
]  # fmt: skip


def _file_case(case: tuple[str, Callable[[Path], Path], tuple[str, ...]]) -> Any:
    marks = []
    if case[0] == "unreadable-chmod-000" and os.geteuid() == 0:
        marks.append(pytest.mark.skip(reason="running as root: chmod 000 does not stop root"))
    return pytest.param(*case, marks=marks, id=case[0])


def _ingest_batch(world: World, bad: Path) -> tuple[IngestReport, Outcome]:
    fresh = world.fresh()
    report = ingest_paths([bad, fresh], settings=world.settings, index=world.index)
    good = [f for f in report.files if f.path == str(fresh)]
    others = [f for f in report.files if f.path != str(fresh)]
    outcome = Outcome(
        messages=[f.message for f in others if f.status in {"failed", "skipped"}],
        continued=len(good) == 1 and good[0].status == "ingested",
        added=set(good[0].doc_ids) if good else set(),
    )
    return report, outcome


@pytest.mark.parametrize(("name", "make", "expected"), [_file_case(c) for c in FILE_CASES])
def test_bad_file_in_a_batch(
    world: World, name: str, make: Callable[[Path], Path], expected: tuple[str, ...]
) -> None:
    bad = make(world.tmp / "in")
    before = snapshot(world)

    report, outcome = _ingest_batch(world, bad)

    assert outcome.continued, report
    assert len(outcome.messages) == 1, report
    message = outcome.messages[0]
    for fragment in expected:
        assert fragment in message, (fragment, message)
    assert snapshot(world, minus=outcome.added) == before
    assert [f.status for f in report.files if f.path == str(bad)] in (["failed"], ["skipped"])


# --------------------------------------------------------------------------- queries


QUERY_CASES: list[tuple[str, str, dict[str, str] | None, tuple[str, ...]]] = [
    ("empty-query", "", None, ("query is empty", "Type a question")),
    ("whitespace-query", " \t\n  \u3000 ", None, ("query is empty", "Type a question")),
    ("10k-character-query", ("TENS unit trial " * 625)[:-1] + "?", None,
     ("10000 characters", "over the 2000 limit", "Shorten it")),
    ("control-characters-only", "\x00\x07\x1b\x7f\u200b\u202e", None,
     ("query is empty", "Type a question")),
    ("punctuation-only", "?!... ;;; ---", None, ("'?!... ;;; ---'", "no words", "Type a question")),
    ("stopwords-only", "the of and is it", None,
     ("'the of and is it'", "only common words", "Name the treatment")),
    ("unknown-filter-key", "TENS unit", {"colour": "red"},
     ("Unknown filter key(s): 'colour'", "Use one of: kind, tier")),
    ("unknown-tier-value", "TENS unit", {"tier": "gold"},
     ("tier=gold can never match", "mtus, guideline")),
    ("unknown-decision-value", "TENS unit", {"decision": "maybe|upheld"},
     ("decision=maybe", "upheld, overturned")),
    ("empty-filter-value", "TENS unit", {"kind": " | "},
     ("Filter kind= has no value", "Write kind=VALUE")),
    ("control-chars-in-filter", "TENS unit", {"guideline": "MTUS\x00"},
     ("control or invisible characters", "Retype")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "query", "filters", "expected"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES]
)
def test_bad_query_or_filter(
    world: World,
    name: str,
    query: str,
    filters: dict[str, str] | None,
    expected: tuple[str, ...],
) -> None:
    before = snapshot(world)

    with pytest.raises(QueryError) as info:
        api.search(query, settings=world.settings, filters=filters)
    for fragment in expected:
        assert fragment in str(info.value), (fragment, str(info.value))

    # the batch: a bad query is reported in its own row and the next query still runs;
    # bad filters refuse the whole batch up front (they would apply to every row)
    batch = write(world.tmp / "queries.jsonl", "\n".join(
        json.dumps({"qid": qid, "query": q}) for qid, q in [("bad", query), ("good", "TENS trial")]
    ))  # fmt: skip
    if filters:
        with pytest.raises(QueryError):
            list(api.search_batch(batch, settings=world.settings, filters=filters))
        good = api.search("TENS trial", settings=world.settings)
        assert good.hits
    else:
        rows = dict(api.search_batch(batch, settings=world.settings))
        assert rows["bad"].hits == [] and rows["bad"].relevant is False
        assert rows["bad"].gate_reason.startswith("refused: ")
        assert expected[0] in rows["bad"].gate_reason
        assert rows["good"].hits and rows["good"].hits[0].passage.doc_id == "tens-digest"
    assert snapshot(world) == before


def test_control_characters_inside_a_query_are_removed(world: World) -> None:
    plain = api.search("TENS one-month trial", settings=world.settings)
    dirty = api.search("TENS\x00 one-month\u200b\x1b trial\u202e", settings=world.settings)
    assert dirty.query == "TENS one-month trial"
    assert [h.passage.id for h in dirty.hits] == [h.passage.id for h in plain.hits]


def test_lexicon_term_that_is_a_stopword_is_still_a_query(world: World) -> None:
    """'IF' is a stopword to BM25 but the interferential abbreviation to the lexicon."""
    assert api.search("IF unit", settings=world.settings).query == "IF unit"


# --------------------------------------------------------------------------- uploads


UPLOAD_CASES: list[tuple[str, str, bytes, tuple[str, ...]]] = [
    ("upload-name-only-dots", "../..", b"TENS text", ("'../..'", "no usable file name", "Rename")),
    ("upload-executable", "..\\..\\Windows\\evil.exe", b"MZ\x90\x00",
     ("'.exe' files", "Upload a .pdf")),
    ("upload-fake-pdf", "guideline.pdf", b"<html>not a pdf</html>",
     ("guideline.pdf", "no %PDF", "original PDF")),
    ("upload-nul-in-name-binary", "notes\x00.txt", b"\x00\x01\x02\x03" * 50,
     ("notes\\x00.txt", "binary", "Ingest")),
    ("upload-too-big", "big.txt", b"TENS " * 300,
     ("big.txt", "over the", "IMR_INGEST__MAX_FILE_MB")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "upload_name", "data", "expected"), UPLOAD_CASES, ids=[c[0] for c in UPLOAD_CASES]
)
def test_bad_upload(
    world: World, name: str, upload_name: str, data: bytes, expected: tuple[str, ...]
) -> None:
    corpus = world.tmp / "uploads"
    before = snapshot(world)

    with pytest.raises(UploadError) as info:
        save_upload(upload_name, data, corpus, max_bytes=1000)
    for fragment in expected:
        assert fragment in str(info.value), (fragment, str(info.value))

    good = save_upload("aquatic-digest.md", FRESH.encode(), corpus, max_bytes=1000)
    assert sorted(p.name for p in corpus.rglob("*")) == ["aquatic-digest.md"]
    report = ingest_paths([corpus], settings=world.settings, index=world.index)
    assert [(Path(f.path), f.status) for f in report.files] == [(good, "ingested")]
    assert snapshot(world, minus={"aquatic-digest"}) == before


def test_path_traversal_upload_lands_inside_the_corpus_folder(world: World) -> None:
    corpus = world.tmp / "uploads"
    saved = save_upload("../../../etc/cron.d/aquatic.md", FRESH.encode(), corpus, max_bytes=10_000)
    assert saved == corpus / "aquatic.md"
    assert [p for p in world.tmp.rglob("*") if p.is_file()] == [saved]


def test_the_table_covers_at_least_25_kinds() -> None:
    assert len(FILE_CASES) + len(QUERY_CASES) + len(UPLOAD_CASES) >= 25


# --------------------------------------------------------------------------- separate cases


def _big_file(tmp: Path, mb: int = 100) -> Path:
    path = tmp / "huge-notes.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:  # sparse: costs no disk and no time to write
        fh.truncate(mb * 1024 * 1024)
    return path


def test_100mb_text_file_is_refused_by_size(world: World) -> None:
    huge = _big_file(world.tmp)
    before = snapshot(world)

    _, outcome = _ingest_batch(world, huge)

    assert outcome.continued
    (message,) = outcome.messages
    assert "huge-notes.txt" in message and "100.0 MB, over the 50 MB limit" in message
    assert "IMR_INGEST__MAX_FILE_MB" in message
    assert snapshot(world, minus=outcome.added) == before


def test_100mb_text_file_is_refused_without_reading_it(world: World) -> None:
    huge = _big_file(world.tmp)
    tracemalloc.start()
    try:
        ingest_paths([huge], settings=world.settings, index=world.index)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB while refusing a 100 MB file"


def test_deeply_nested_good_file_is_ingested(world: World) -> None:
    folder = world.tmp.joinpath(*(f"level-{i}" for i in range(60)))
    good = write(folder / "deep-digest.md", FRESH)
    report = ingest_paths([world.tmp], settings=world.settings, index=world.index)
    assert [(f.path, f.status) for f in report.files] == [(str(good), "ingested")]


def test_cp1252_text_is_read_correctly(world: World) -> None:
    """Decided: Windows-1252 / Latin-1 text is decoded, not refused (it is common in exports)."""
    text = "# Café workers\n\nThe patient’s “TENS” trial – one month – helped (p. 12).\n"
    path = write(world.tmp / "legacy.md", text.encode("cp1252"))
    report = ingest_paths([path], settings=world.settings, index=world.index)
    assert [f.status for f in report.files] == ["ingested"]
    stored = " ".join(
        world.index.collection.get(where={"doc_id": "legacy"}, include=["documents"])["documents"]
    )
    assert "patient’s “TENS” trial – one month" in stored and "Café" in stored


def test_beir_jsonl_with_some_bad_lines_names_each_line(world: World) -> None:
    lines = ['{"_id": "s1", "title": "TENS trial", "text": "A TENS trial in 40 adults."}',
             "{broken", '{"title": "no id"}', '{"_id": "s2", "title": "", "text": ""}']  # fmt: skip
    path = write(world.tmp / "beir" / "corpus.jsonl", "\n".join(lines) + "\n")
    report = ingest_paths([path], settings=world.settings, index=world.index)
    (result,) = report.files
    assert result.status == "ingested" and result.doc_ids == ["s1"]
    assert [w.split(":")[0] for w in result.warnings] == [
        "corpus.jsonl line 2", "corpus.jsonl line 3", "corpus.jsonl line 4"
    ]  # fmt: skip


def test_bad_files_in_a_folder_walk_do_not_stop_it(world: World) -> None:
    """Several kinds at once in one folder (what `imr-assist ingest DIR` sees)."""
    folder = world.tmp / "mixed"
    for name, make, _ in FILE_CASES:
        if name not in {"unreadable-chmod-000", "missing-path"}:
            make(folder / name)
    good = write(folder / "zz" / "aquatic-digest.md", FRESH)
    before = snapshot(world)
    report = ingest_paths([folder], settings=world.settings, index=world.index)
    by_status: dict[str, list[str]] = {}
    for f in report.files:
        by_status.setdefault(f.status, []).append(f.path)
    assert by_status["ingested"] == [str(good)]
    assert len(by_status["failed"]) >= 18
    assert all(f.message.startswith(f.path) for f in report.failed)
    assert snapshot(world, minus={"aquatic-digest"}) == before
    shutil.rmtree(folder)
