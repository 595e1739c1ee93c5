"""Index and ingest: manifest, replace, remove, all-or-none, filters, bad files, real parts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import CORPUS, SEED_LETTER, need_shared
from imr_assist.errors import DocumentNotFoundError, IndexError_, QueryError
from imr_assist.index.filters import build_where
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.models import Tier
from imr_assist.settings import Settings

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


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _passage_ids(index: PassageIndex) -> set[str]:
    return set(index.collection.get(include=[])["ids"])


def test_ingest_then_unchanged_then_replaced(tmp_path: Path, settings: Settings, index) -> None:
    doc = _write(tmp_path / "tens.md", DIGEST)
    first = ingest_paths([doc], settings=settings, index=index)
    assert [f.status for f in first.files] == ["ingested"]
    ids_before = _passage_ids(index)
    assert len(ids_before) == first.passages >= 2

    again = ingest_paths([doc], settings=settings, index=index)
    assert [f.status for f in again.files] == ["unchanged"]
    assert _passage_ids(index) == ids_before

    _write(doc, DIGEST.replace("one-month", "30-day"))
    replaced = ingest_paths([doc], settings=settings, index=index)
    assert [f.status for f in replaced.files] == ["replaced"]
    ids_after = _passage_ids(index)
    assert ids_after != ids_before
    assert len(ids_after) == replaced.passages  # old version's passages are gone
    texts = " ".join(index.collection.get(include=["documents"])["documents"])
    assert "30-day" in texts and "one-month" not in texts
    assert len(index.records()) == 1


def test_locators_and_tier_from_front_matter(tmp_path: Path, settings: Settings, index) -> None:
    doc = _write(tmp_path / "tens.md", DIGEST)
    ingest_paths([doc], settings=settings, index=index)
    hits = search("H-wave isolated intervention", index=index, k=1).hits
    p = hits[0].passage
    assert (p.page_start, p.page_end, p.section, p.tier) == ("117", "118", "H-wave", Tier.MTUS)
    assert p.guideline == "MTUS Chronic Pain Medical Treatment Guidelines"
    assert hits[0].citation == "MTUS Chronic Pain Medical Treatment Guidelines, H-wave, pp. 117-118"


def test_remove_document(tmp_path: Path, settings: Settings, index) -> None:
    doc = _write(tmp_path / "tens.md", DIGEST)
    ingest_paths([doc], settings=settings, index=index)
    record = index.remove("tens")
    assert record.doc_id == "tens"
    assert _passage_ids(index) == set()
    assert search("TENS", index=index).hits == []
    with pytest.raises(DocumentNotFoundError, match="index status"):
        index.remove("tens")


def test_bad_files_reported_and_nothing_stored_changes(
    tmp_path: Path, settings: Settings, index
) -> None:
    good = _write(tmp_path / "docs" / "tens.md", DIGEST)
    ingest_paths([good], settings=settings, index=index)
    before = _passage_ids(index)
    (tmp_path / "docs" / "empty.txt").write_bytes(b"")
    (tmp_path / "docs" / "junk.pdf").write_bytes(b"\x00\x01garbage" * 100)
    (tmp_path / "docs" / "bin.txt").write_bytes(b"\x00\xff\x00\xfe" * 100)
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG....")
    _write(tmp_path / "docs" / "other.md", DIGEST.replace("TENS", "Transcutaneous"))
    report = ingest_paths([tmp_path / "docs"], settings=settings, index=index)
    status = {Path(f.path).name: f.status for f in report.files}
    assert status == {
        "bin.txt": "failed",
        "empty.txt": "failed",
        "image.png": "skipped",
        "junk.pdf": "failed",
        "other.md": "ingested",
        "tens.md": "unchanged",
    }
    messages = {Path(f.path).name: f.message for f in report.failed}
    assert "empty.txt" in messages["empty.txt"] and "empty" in messages["empty.txt"]
    assert "not a PDF" in messages["junk.pdf"]
    assert "binary" in messages["bin.txt"]
    assert before <= _passage_ids(index)


def test_failed_store_leaves_published_version(tmp_path: Path, settings: Settings) -> None:
    """A failure while storing a new version keeps the old one visible and complete."""
    from imr_assist.index.embedding import HashingEmbeddings

    class Flaky(HashingEmbeddings):
        fail = False

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            if self.fail:
                raise RuntimeError("disk full")
            return super().embed_documents(texts)

    embedder = Flaky()
    index = PassageIndex(settings, embedder=embedder)
    doc = _write(tmp_path / "tens.md", DIGEST)
    ingest_paths([doc], settings=settings, index=index)
    before = _passage_ids(index)
    _write(doc, DIGEST + "\n# Extra\n\nA new section about interferential current stimulation.\n")
    embedder.fail = True
    report = ingest_paths([doc], settings=settings, index=index)
    assert report.files[0].status == "failed"
    assert "storing passages failed" in report.files[0].message
    assert _passage_ids(index) == before
    assert index.record("tens").passages == len(before)


def test_half_written_version_is_invisible(tmp_path: Path, settings: Settings, index) -> None:
    """Passages upserted without a manifest record (a crash mid-ingest) never show in search."""
    from imr_assist.ingest.chunking import chunk_document
    from imr_assist.ingest.reader import read_source

    doc = read_source(_write(tmp_path / "tens.md", DIGEST)).documents[0]
    passages = chunk_document(doc, settings.chunking.size, settings.chunking.overlap)
    from imr_assist.ingest.chunking import embedding_text

    index.store.add_texts(
        [embedding_text(p) for p in passages],
        [p.metadata() for p in passages],
        ids=[p.id for p in passages],
    )
    assert search("TENS trial", index=index).hits == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tier": "mtus"}, {"tier": "mtus"}),
        ({"tier": "mtus|guideline"}, {"tier": {"$in": ["mtus", "guideline"]}}),
        (
            {"kind": "guideline", "body_region": "knee"},
            {"$and": [{"kind": "guideline"}, {"body_region": "knee"}]},
        ),
        (None, None),
    ],
)
def test_build_where(filters, expected) -> None:
    assert build_where(filters) == expected


@pytest.mark.parametrize("filters", [{"colour": "red"}, {"tier": ""}])
def test_bad_filters_refused(filters) -> None:
    with pytest.raises(QueryError):
        build_where(filters)


def test_demo_corpus_filters_and_tiers(settings: Settings, index) -> None:
    report = ingest_paths(
        [CORPUS / "guidelines", CORPUS / "determinations"], settings=settings, index=index
    )
    assert not report.failed, [f.message for f in report.failed]
    tiers = index.status().by_tier
    assert tiers["mtus"] >= 10 and tiers["guideline"] >= 3
    assert tiers["other_guideline"] >= 1 and tiers["prior_determination"] >= 12
    hits = search(
        "home exercise kit", index=index, k=10, filters={"tier": "prior_determination"}
    ).hits
    assert hits and all(h.passage.tier is Tier.PRIOR_DETERMINATION for h in hits)
    upheld = search("TENS unit", index=index, k=10, filters={"decision": "upheld"}).hits
    assert upheld and all(
        h.passage.decision and h.passage.decision.value == "upheld" for h in upheld
    )


@pytest.mark.shared
def test_seed_letter_ingested_as_prior_determination(settings: Settings, index) -> None:
    need_shared(SEED_LETTER)
    report = ingest_paths([SEED_LETTER], settings=settings, index=index)
    assert report.files[0].status == "ingested"
    record = index.records()[0]
    assert record.tier is Tier.PRIOR_DETERMINATION
    hits = search("home exercise kit after lumbar fusion", index=index, k=3).hits
    assert hits[0].passage.decision is not None and hits[0].passage.decision.value == "upheld"


def test_same_file_name_in_two_folders_gets_two_documents(
    tmp_path: Path, settings: Settings, index
) -> None:
    a = _write(tmp_path / "a" / "tens.md", DIGEST)
    b = _write(tmp_path / "b" / "tens.md", DIGEST.replace("TENS", "TENS unit"))
    ingest_paths([a, b], settings=settings, index=index)
    assert len(index.records()) == 2


def test_unreachable_chroma_server_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, chroma_url="http://127.0.0.1:9", embedding={"model": "hashing"}
    )
    with pytest.raises(IndexError_, match="Chroma server"):
        PassageIndex(settings)


@pytest.mark.slow
def test_real_model_real_chroma_persists(real_demo_index: PassageIndex, real_settings) -> None:
    """The bundled MiniLM and an on-disk Chroma: a reopened index answers the same."""
    hits = search(
        "is a home exercise kit covered after lumbar fusion?", index=real_demo_index, k=5
    ).hits
    assert any("exercise" in h.passage.text.lower() for h in hits[:3])
    reopened = PassageIndex(real_settings, embedder=real_demo_index.embedder)
    again = search("is a home exercise kit covered after lumbar fusion?", index=reopened, k=5).hits
    assert [h.passage.id for h in again] == [h.passage.id for h in hits]
    assert real_demo_index.status().documents == 34 or real_demo_index.status().documents >= 30


def test_copy_of_home_keeps_working(tmp_path: Path, settings: Settings, index) -> None:
    ingest_paths([_write(tmp_path / "tens.md", DIGEST)], settings=settings, index=index)
    moved = tmp_path / "moved"
    shutil.copytree(settings.home, moved)
    other = PassageIndex(settings.with_home(moved))
    assert other.status().documents == 1


def search(query: str, *, index: PassageIndex, k: int = 10, filters: dict[str, str] | None = None):
    """Dense search through the real retriever (the passage index on its own)."""
    from imr_assist.retrieval.hybrid import HybridRetriever

    return HybridRetriever(index).search(query, k=k, filters=filters, mode="dense")


def test_status_reports_indexes_built_with_other_settings(
    tmp_path: Path, settings: Settings, index
) -> None:
    ingest_paths([_write(tmp_path / "tens.md", DIGEST)], settings=settings, index=index)
    changed = settings.model_copy(deep=True)
    changed.chunking.size = 600  # a new index hash: the old collection is not reused
    other = PassageIndex(changed)
    status = other.status()
    assert status.documents == 0
    assert status.other_collections == [settings.collection_name]
    assert index.status().other_collections == [changed.collection_name]
