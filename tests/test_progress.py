"""Progress over a whole ingest job: steps named, PDF pages reported, a fraction that only grows
and is full only at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import text_pdf
from imr_assist.index.store import PassageIndex
from imr_assist.ingest import pipeline
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.ingest.progress import JobProgress, JobTracker
from imr_assist.settings import Settings

GUIDELINE = (
    "# Home exercise\n\n## Recommendation\n\n"
    + " ".join(
        f"Home exercise kits are recommended after lumbar fusion in week {n} of the program."
        for n in range(60)
    )
    + "\n"
)


def _corpus(folder: Path) -> list[Path]:
    folder.mkdir()
    pdf = folder / "tens-guideline.pdf"
    topics = ["pain relief", "function", "sleep", "work return", "medication use", "mood", "cost"]
    pdf.write_bytes(  # distinct lines: lines repeated on every page are dropped as running heads
        text_pdf([[f"A TENS trial is judged by its effect on {t}."] for t in topics])
    )
    one = folder / "home-exercise.md"
    one.write_text(GUIDELINE, encoding="utf-8")
    two = folder / "gym.md"
    two.write_text(GUIDELINE.replace("Home exercise kits", "Gym memberships"), encoding="utf-8")
    bad = folder / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nnot really a pdf\n")
    return [one, pdf, bad, two]


def test_job_progress_over_files_pages_and_passages(
    settings: Settings, index: PassageIndex, tmp_path: Path
) -> None:
    events: list[JobProgress] = []
    old: list[tuple[str, int, int]] = []
    paths = _corpus(tmp_path / "corpus")
    report = ingest_paths(
        paths,
        settings=settings,
        index=index,
        progress=lambda name, done, total: old.append((name, done, total)),
        job_progress=events.append,
    )
    assert [f.status for f in report.files] == ["ingested", "ingested", "failed", "ingested"]

    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions), "the job's fraction went backwards"
    assert fractions[-1] == 1.0 and events[-1].step == "done"
    assert all(f < 1.0 for f in fractions[:-1]), "full before the end"
    assert fractions[0] < 0.5
    assert all(e.files == 4 for e in events)

    pages = [(e.done, e.total) for e in events if e.step == "parsing"]
    assert [p for p in pages if p[1] == 7] == [(n, 7) for n in range(1, 8)]
    parsing = next(e for e in events if e.step == "parsing")
    assert parsing.file == "tens-guideline.pdf" and parsing.file_index == 2
    assert parsing.describe() == "File 2 of 4 · Parsing tens-guideline.pdf: page 1 of 7"

    reading = [(e.file, e.file_index) for e in events if e.step == "reading"]
    assert reading == [
        ("home-exercise.md", 1),
        ("tens-guideline.pdf", 2),
        ("broken.pdf", 3),
        ("gym.md", 4),
    ]
    embedding = [e for e in events if e.step == "embedding"]
    assert embedding and embedding[-1].done == embedding[-1].total == report.passages
    assert "Embedding home-exercise.md and 2 more: " in embedding[-1].describe()
    # the old per-group callback still hears the store, as before
    assert old and old[-1][1] == old[-1][2] == report.passages


def test_bar_is_not_full_when_the_first_of_several_files_is_stored(
    settings: Settings, index: PassageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the demo bar got wrong: full after the first stored batch of many files."""
    monkeypatch.setattr(pipeline, "GROUP_PASSAGES", 1)  # each file stored on its own
    events: list[JobProgress] = []
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(5):
        body = " ".join(f"Sentence {k} of guideline {n} on physical therapy." for k in range(400))
        (folder / f"g{n}.md").write_text(f"# Guideline {n}\n\n{body}\n", encoding="utf-8")
    ingest_paths([folder], settings=settings, index=index, job_progress=events.append)
    first_store = next(e for e in events if e.step == "embedding" and e.done == e.total)
    assert first_store.file == "g0.md"
    assert 0.1 < first_store.fraction < 0.35
    assert [e.fraction for e in events] == sorted(e.fraction for e in events)


def test_names_and_a_failing_listener(tmp_path: Path) -> None:
    """Reported names come from `names` (an upload's own name); a listener that raises is
    dropped, never failing the job."""
    a = tmp_path / "saved-1a2b3c4d.md"
    a.write_text("x" * 10_000)
    seen: list[JobProgress] = []

    def listener(event: JobProgress) -> None:
        seen.append(event)
        raise RuntimeError("the bar's session is gone")

    tracker = JobTracker([a], listener, names=lambda p: "My notes.md")
    tracker.reading(0)
    tracker.page(0, 1, 2)
    tracker.close()
    assert [e.file for e in seen] == ["My notes.md"]


@pytest.mark.parametrize(
    ("event", "text"),
    [
        (JobProgress("reading", "a.md", 2, 5, 0, 0, 0.2), "File 2 of 5 · Reading a.md"),
        (
            JobProgress("embedding", "a.md and 2 more", 3, 5, 1200, 3400, 0.5),
            "Embedding a.md and 2 more: 1,200 of 3,400 passages",
        ),
        (JobProgress("done", "", 5, 5, 5, 5, 1.0), "Done: 5 files"),
    ],
)
def test_describe(event: JobProgress, text: str) -> None:
    assert event.describe() == text


WORDS = [
    "lumbar",
    "cervical",
    "thoracic",
    "knee",
    "shoulder",
    "wrist",
    "hip",
    "ankle",
    "fusion",
    "discectomy",
    "therapy",
    "exercise",
    "injection",
    "imaging",
    "opioid",
    "topical",
    "acupuncture",
    "chiropractic",
    "traction",
    "brace",
    "orthosis",
    "cream",
    "trial",
    "purchase",
    "rental",
    "follow-up",
    "documentation",
    "improvement",
    "function",
    "pain",
    "sleep",
    "work",
]


def test_embedding_is_reported_batch_by_batch_not_only_per_write(
    settings: Settings, index: PassageIndex, tmp_path: Path
) -> None:
    """One long file: the model's batches move the bar between the store's writes (256
    passages each), so a long embedding never looks stuck."""
    events: list[JobProgress] = []
    lines = [
        " ".join(WORDS[(k * p) % len(WORDS)] for p in (3, 5, 7, 11, 13, 17, 19, 23)) + f" {k}."
        for k in range(3000)
    ]
    big = tmp_path / "long-guideline.md"
    big.write_text("# Long guideline\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_paths([big], settings=settings, index=index, job_progress=events.append)
    total = report.passages
    assert total > 256, total  # more than one write
    done = [e.done for e in events if e.step == "embedding"]
    assert done[0] == 0 and done[-1] == total and done == sorted(done)
    assert len({d for d in done if 0 < d < 256}) >= 3, done  # within the first write
    assert all(e.total == total for e in events if e.step == "embedding")
