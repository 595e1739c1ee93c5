"""Ingest overlaps reading with embedding: the next file is parsed in a read-ahead thread while
the files before it are embedded and stored; a failure there names its file and stores nothing
of it; progress is heard on the caller's thread only."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from helpers import text_pdf
from imr_assist.index.embedding import HashingEmbeddings
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.ingest.progress import JobProgress
from imr_assist.ingest.reader import ReadOptions, ReadResult, read_source
from imr_assist.settings import Settings

WAIT_S = 20.0
"""Only a guard against hanging: no assertion depends on time."""

WORDS = [
    "lumbar",
    "fusion",
    "exercise",
    "kit",
    "gym",
    "tens",
    "unit",
    "acupuncture",
    "opioid",
    "tapering",
    "imaging",
    "radiculopathy",
    "chiropractic",
    "manipulation",
    "injection",
    "epidural",
    "steroid",
    "cognitive",
    "therapy",
    "function",
    "sleep",
    "mood",
    "return",
    "work",
    "pain",
    "relief",
    "trial",
    "month",
    "home",
    "program",
    "supervised",
    "physical",
    "medicine",
]


def _guideline(title: str, sentences: int) -> str:
    """A guideline with distinct sentences (near-identical passages are refused)."""
    lines = [
        f"{title} is reviewed for {WORDS[n % len(WORDS)]} and {WORDS[(n * 7 + 3) % len(WORDS)]} "
        f"with {WORDS[(n * 11 + 5) % len(WORDS)]} in case {n}."
        for n in range(sentences)
    ]
    return f"# {title}\n\n## Recommendation\n\n" + " ".join(lines) + "\n"


class RecordingEmbeddings(HashingEmbeddings):
    """The hashing embedder, noting each call and the thread it came from."""

    def __init__(self) -> None:
        super().__init__()
        self.called = threading.Event()
        self.threads: set[str] = set()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.threads.add(threading.current_thread().name)
        self.called.set()
        return super().embed_documents(texts)


@pytest.fixture
def small_batches(settings: Settings) -> Settings:
    """One model batch = 2 passages: a single small file is worth embedding while waiting."""
    return settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"batch_size": 2})}
    )


def test_the_first_file_is_embedded_while_a_multipage_pdf_is_still_parsed(
    small_batches: Settings, tmp_path: Path
) -> None:
    first = tmp_path / "a-exercise.md"
    first.write_text(_guideline("Home exercise", 40), encoding="utf-8")
    pdf = tmp_path / "b-tens.pdf"
    topics = ["pain relief", "function", "sleep", "work return", "medication use", "mood"]
    pdf.write_bytes(text_pdf([[f"A TENS trial is judged by its effect on {t}."] for t in topics]))
    embedder = RecordingEmbeddings()
    index = PassageIndex(small_batches, embedder=embedder)
    seen_at_last_page: list[bool] = []

    def reader(path: Path, options: ReadOptions) -> ReadResult:
        """The real reader; on the PDF's last page it notes whether the encoder has been called
        (waiting for that first: without overlap nothing is embedded before the read ends)."""
        on_page = options.on_page

        def page(done: int, total: int) -> None:
            if done == total:
                seen_at_last_page.append(embedder.called.wait(WAIT_S))
            if on_page is not None:
                on_page(done, total)

        return read_source(path, ReadOptions(**{**vars(options), "on_page": page}))

    events: list[JobProgress] = []
    report = ingest_paths(
        [first, pdf], settings=small_batches, index=index, reader=reader, job_progress=events.append
    )
    assert [f.status for f in report.files] == ["ingested", "ingested"]
    assert seen_at_last_page == [True], "nothing was embedded before the PDF's last page was read"
    assert embedder.threads == {threading.current_thread().name}
    # progress stays truthful: pages in order, a fraction that only grows, 1.0 at the end only
    pages = [(e.done, e.total) for e in events if e.step == "parsing"]
    assert pages == [(n, 6) for n in range(1, 7)]
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(f < 1.0 for f in fractions[:-1])
    assert index.stored_count(report.files[0].doc_ids + report.files[1].doc_ids) == report.passages


def test_progress_is_heard_on_the_calling_thread_only(
    small_batches: Settings, index: PassageIndex, tmp_path: Path
) -> None:
    paths = []
    for n, title in enumerate(["Gym memberships", "Home exercise", "Acupuncture"]):
        paths.append(tmp_path / f"{n}.md")
        paths[-1].write_text(_guideline(title, 30), encoding="utf-8")
    pdf = tmp_path / "3.pdf"
    pdf.write_bytes(text_pdf([[f"Page {n} is about {WORDS[n]}."] for n in range(5)]))
    paths.append(pdf)
    threads: set[str] = set()
    report = ingest_paths(
        paths,
        settings=small_batches,
        index=index,
        job_progress=lambda e: threads.add(threading.current_thread().name),
        progress=lambda *_: threads.add(threading.current_thread().name),
    )
    assert [f.status for f in report.files] == ["ingested"] * 4
    assert threads == {threading.current_thread().name}


@pytest.mark.parametrize("error", [RuntimeError("reader bug"), MemoryError()])
def test_a_read_ahead_failure_names_the_file_and_stores_nothing_of_it(
    small_batches: Settings, index: PassageIndex, tmp_path: Path, error: Exception
) -> None:
    good = tmp_path / "a-good.md"
    good.write_text(_guideline("Home exercise", 30), encoding="utf-8")
    bad = tmp_path / "b-bad.pdf"
    bad.write_bytes(text_pdf([[f"Page {n} of a guideline on {WORDS[n]}."] for n in range(4)]))
    after = tmp_path / "c-after.md"
    after.write_text(_guideline("Gym memberships", 30), encoding="utf-8")

    def reader(path: Path, options: ReadOptions) -> ReadResult:
        read = read_source(path, options)  # every page parsed, then it fails
        if path == bad:
            raise error
        return read

    report = ingest_paths([good, bad, after], settings=small_batches, index=index, reader=reader)
    status = {Path(f.path).name: f for f in report.files}
    assert status["a-good.md"].status == status["c-after.md"].status == "ingested"
    assert status["b-bad.pdf"].status == "failed"
    assert str(bad) in status["b-bad.pdf"].message
    assert type(error).__name__ in status["b-bad.pdf"].message
    assert index.records_for_file(str(bad.resolve())) == []
    assert not [i for i in index.collection.get(include=[])["ids"] if i.startswith("b-bad")]


class Interrupted(BaseException):
    """What no per-file handler catches (as KeyboardInterrupt)."""


def test_an_escaping_read_ahead_error_reaches_the_caller_naming_the_file(
    small_batches: Settings, index: PassageIndex, tmp_path: Path
) -> None:
    first = tmp_path / "a-first.md"
    first.write_text(_guideline("Home exercise", 2), encoding="utf-8")  # waits in the group
    bad = tmp_path / "b-bad.md"
    bad.write_text(_guideline("Gym memberships", 30), encoding="utf-8")

    def reader(path: Path, options: ReadOptions) -> ReadResult:
        if path == bad:
            raise Interrupted("stop")
        return read_source(path, options)

    with pytest.raises(Interrupted) as raised:
        ingest_paths([first, bad], settings=small_batches, index=index, reader=reader)
    assert any(str(bad) in note for note in raised.value.__notes__)
    assert index.records() == []  # nothing half-written: the waiting file was not published
    assert index.collection.count() == 0


def test_an_unchanged_file_is_not_parsed_again(
    settings: Settings, index: PassageIndex, tmp_path: Path
) -> None:
    pdf = tmp_path / "tens.pdf"
    pdf.write_bytes(text_pdf([[f"Page {n} is about {WORDS[n]}."] for n in range(3)]))
    assert ingest_paths([pdf], settings=settings, index=index).files[0].status == "ingested"
    read: list[Path] = []

    def reader(path: Path, options: ReadOptions) -> ReadResult:
        read.append(path)
        return read_source(path, options)

    again = ingest_paths([pdf], settings=settings, index=index, reader=reader)
    assert again.files[0].status == "unchanged" and read == []


def test_the_same_file_twice_is_stored_once(
    small_batches: Settings, index: PassageIndex, tmp_path: Path
) -> None:
    one = tmp_path / "exercise.md"
    one.write_text(_guideline("Home exercise", 30), encoding="utf-8")
    report = ingest_paths([one, one], settings=small_batches, index=index)
    assert [f.status for f in report.files] == ["ingested", "unchanged"]
