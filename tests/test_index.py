"""Index and ingest: manifest, replace, remove, all-or-none, filters, bad files, real parts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import CORPUS, SEED_LETTER, need_shared
from helpers import pending_documents, write
from imr_assist.errors import DocumentNotFoundError, IndexError_, QueryError
from imr_assist.index.consistency import check
from imr_assist.index.embedding import HashingEmbeddings
from imr_assist.index.filters import build_where
from imr_assist.index.store import PassageIndex, PendingDocument
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


def _passage_ids(index: PassageIndex) -> set[str]:
    return set(index.collection.get(include=[])["ids"])


def test_ingest_then_unchanged_then_replaced(tmp_path: Path, settings: Settings, index) -> None:
    doc = write(tmp_path / "tens.md", DIGEST)
    first = ingest_paths([doc], settings=settings, index=index)
    assert [f.status for f in first.files] == ["ingested"]
    ids_before = _passage_ids(index)
    assert len(ids_before) == first.passages >= 2

    again = ingest_paths([doc], settings=settings, index=index)
    assert [f.status for f in again.files] == ["unchanged"]
    assert _passage_ids(index) == ids_before

    write(doc, DIGEST.replace("one-month", "30-day"))
    replaced = ingest_paths([doc], settings=settings, index=index)
    assert [f.status for f in replaced.files] == ["replaced"]
    ids_after = _passage_ids(index)
    assert ids_after != ids_before
    assert len(ids_after) == replaced.passages  # old version's passages are gone
    texts = " ".join(index.collection.get(include=["documents"])["documents"])
    assert "30-day" in texts and "one-month" not in texts
    assert len(index.records()) == 1


def test_locators_and_tier_from_front_matter(tmp_path: Path, settings: Settings, index) -> None:
    doc = write(tmp_path / "tens.md", DIGEST)
    ingest_paths([doc], settings=settings, index=index)
    hits = search("H-wave isolated intervention", index=index, k=1).hits
    p = hits[0].passage
    assert (p.page_start, p.page_end, p.section, p.tier) == ("117", "118", "H-wave", Tier.MTUS)
    assert p.guideline == "MTUS Chronic Pain Medical Treatment Guidelines"
    assert hits[0].citation == "MTUS Chronic Pain Medical Treatment Guidelines, H-wave, pp. 117-118"


def test_remove_document(tmp_path: Path, settings: Settings, index) -> None:
    doc = write(tmp_path / "tens.md", DIGEST)
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
    good = write(tmp_path / "docs" / "tens.md", DIGEST)
    ingest_paths([good], settings=settings, index=index)
    before = _passage_ids(index)
    (tmp_path / "docs" / "empty.txt").write_bytes(b"")
    (tmp_path / "docs" / "junk.pdf").write_bytes(b"\x00\x01garbage" * 100)
    (tmp_path / "docs" / "bin.txt").write_bytes(b"\x00\xff\x00\xfe" * 100)
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG....")
    write(tmp_path / "docs" / "other.md", DIGEST.replace("TENS", "Transcutaneous"))
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
    doc = write(tmp_path / "tens.md", DIGEST)
    ingest_paths([doc], settings=settings, index=index)
    before = _passage_ids(index)
    write(doc, DIGEST + "\n# Extra\n\nA new section about interferential current stimulation.\n")
    embedder.fail = True
    report = ingest_paths([doc], settings=settings, index=index)
    assert report.files[0].status == "failed"
    # the first write to fail names itself: recommendation records are stored before passages
    assert re.search(r"storing (passages|recommendation records) failed", report.files[0].message)
    assert _passage_ids(index) == before
    assert index.record("tens").passages == len(before)


def test_half_written_version_is_invisible(tmp_path: Path, settings: Settings, index) -> None:
    """Passages upserted without a manifest record (a crash mid-ingest) never show in search."""
    from imr_assist.ingest.chunking import chunk_document
    from imr_assist.ingest.reader import read_source

    doc = read_source(write(tmp_path / "tens.md", DIGEST)).documents[0]
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
    a = write(tmp_path / "a" / "tens.md", DIGEST)
    b = write(tmp_path / "b" / "tens.md", DIGEST.replace("TENS", "TENS unit"))
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
    ingest_paths([write(tmp_path / "tens.md", DIGEST)], settings=settings, index=index)
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
    ingest_paths([write(tmp_path / "tens.md", DIGEST)], settings=settings, index=index)
    changed = settings.model_copy(deep=True)
    changed.chunking.size = 600  # a new index hash: the old collection is not reused
    other = PassageIndex(changed)
    status = other.status()
    assert status.documents == 0
    assert status.other_collections == [settings.collection_name]
    assert index.status().other_collections == [changed.collection_name]


# --------------------------------------------------------------------------- add_many


def _guideline(title: str, tier: str, sections: int) -> str:
    """A digest of `sections` one-passage sections whose words are its own (no shared text)."""
    head = f'---\ntitle: "{title}"\nguideline: "{title} CPG"\ntier: {tier}\nkind: guideline\n---\n'
    word = title.lower().replace(" ", "")
    parts = [
        f"# {title} part {s}\n\n{word} part {s} is considered after {s + 2} weeks (p. {s + 1}).\n"
        for s in range(sections)
    ]
    return head + "\n".join(parts)


def _three(tmp_path: Path, settings: Settings, beta: str = "") -> list[PendingDocument]:
    """Three documents of different tiers and sizes, as ingest would hand them over (`beta`:
    another text for the second one)."""
    files = [
        write(tmp_path / "alpha.md", _guideline("Alpha", "mtus", 1)),
        write(tmp_path / "beta.md", beta or _guideline("Beta", "guideline", 4)),
        write(tmp_path / "gamma.md", _guideline("Gamma", "other_guideline", 3)),
    ]
    return [d for f in files for d in pending_documents(f, settings)]


class _Spy(HashingEmbeddings):
    """Records, at every embedding call, which documents the manifest publishes; can fail."""

    def __init__(self, fail_on_call: int = 0) -> None:
        super().__init__()
        self.index: PassageIndex | None = None
        self.published_at_call: list[set[str]] = []
        self.fail_on_call = fail_on_call

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        assert self.index is not None
        self.published_at_call.append({r.doc_id for r in self.index.records()})
        if len(self.published_at_call) == self.fail_on_call:
            raise RuntimeError("disk full")
        return super().embed_documents(texts)


def _spied(settings: Settings, fail_on_call: int = 0) -> tuple[PassageIndex, _Spy]:
    spy = _Spy(fail_on_call)
    index = PassageIndex(settings, embedder=spy)
    spy.index = index
    return index, spy


def test_add_many_publishes_each_document_with_its_own_passages(
    tmp_path: Path, settings: Settings, index: PassageIndex
) -> None:
    docs = _three(tmp_path, settings)
    before = index.generation()
    records = index.add_many(docs, batch=3)  # batches of 3: every batch mixes documents
    assert [r.doc_id for r in records] == ["alpha", "beta", "gamma"]
    assert index.generation() != before
    for d, record in zip(docs, records, strict=True):
        assert record == index.record(d.doc.doc_id)  # published, as returned
        assert (record.content_hash, record.passages) == (d.doc.content_hash, len(d.passages))
        assert (record.file_path, record.file_hash) == (d.file_path, d.file_hash)
        assert (record.tier, record.title) == (d.doc.meta.tier, d.doc.meta.title)
        stored = index.collection.get(where={"doc_id": d.doc.doc_id}, include=[])["ids"]
        assert sorted(stored) == sorted(p.id for p in d.passages)
        assert sorted(index.get_passages(stored), key=lambda p: p.ordinal) == list(d.passages)
    assert check(index).clean
    hits = search("beta part 2", index=index, k=1).hits
    assert hits[0].passage.doc_id == "beta" and hits[0].passage.tier is Tier.GUIDELINE


def test_add_many_stores_every_passage_before_publishing_any(
    tmp_path: Path, settings: Settings
) -> None:
    index, spy = _spied(settings)
    index.add_many(_three(tmp_path, settings), batch=2)
    assert len(spy.published_at_call) == 4  # 8 passages, 2 per batch
    assert all(published == set() for published in spy.published_at_call)
    assert {r.doc_id for r in index.records()} == {"alpha", "beta", "gamma"}


def test_add_many_failure_publishes_nothing_and_keeps_old_versions(
    tmp_path: Path, settings: Settings
) -> None:
    index, spy = _spied(settings)
    old = index.add_many(_three(tmp_path, settings)[1:2])  # beta, version 1
    old_ids = _passage_ids(index)
    generation = index.generation()
    new = _three(tmp_path, settings, _guideline("Beta", "guideline", 5))  # 9 passages in all
    spy.published_at_call.clear()
    spy.fail_on_call = 3  # the last batch of 3
    with pytest.raises(IndexError_, match="storing passages failed"):
        index.add_many(new, batch=4)
    assert [r.doc_id for r in index.records()] == ["beta"]
    assert index.record("beta") == old[0]
    assert index.generation() == generation
    assert _passage_ids(index) == old_ids  # what the failed call stored is gone
    assert check(index).clean


def test_add_many_replaces_old_versions_after_publishing(
    tmp_path: Path, settings: Settings, index: PassageIndex
) -> None:
    old = pending_documents(
        write(tmp_path / "beta.md", _guideline("Beta", "guideline", 4)), settings
    )
    index.add_many(old)
    changed = _guideline("Beta", "guideline", 4).replace("part 3 is", "part 3 is not")
    docs = _three(tmp_path, settings, changed)
    index.add_many(docs)
    assert docs[1].doc.content_hash != old[0].doc.content_hash
    assert _passage_ids(index) == {p.id for d in docs for p in d.passages}
    assert index.record("beta").content_hash == docs[1].doc.content_hash
    assert check(index).clean


def test_add_many_refuses_to_mix_documents_up(
    tmp_path: Path, settings: Settings, index: PassageIndex
) -> None:
    alpha, beta, _ = _three(tmp_path, settings)
    foreign = alpha._replace(passages=[*alpha.passages, beta.passages[0]])
    with pytest.raises(ValueError, match="not of the document it came with"):
        index.add_many([foreign])
    with pytest.raises(ValueError, match="given twice"):
        index.add_many([alpha, beta, alpha])
    assert _passage_ids(index) == set() and index.records() == []


def test_ingest_stores_small_files_together(tmp_path: Path, settings: Settings) -> None:
    """Many small files: one embedding call; each file reported and published on its own."""
    index, spy = _spied(settings)
    for n in range(12):
        write(tmp_path / "docs" / f"note-{n:02d}.md", _guideline(f"Note {n}", "guideline", 2))
    report = ingest_paths([tmp_path / "docs"], settings=settings, index=index)
    assert [f.status for f in report.files] == ["ingested"] * 12
    assert len(spy.published_at_call) == 1
    assert report.passages == 24 == len(_passage_ids(index))
    for f in report.files:
        (record,) = index.records_for_file(str(Path(f.path).resolve()))
        assert f.doc_ids == [record.doc_id] and record.passages == f.passages == 2
    assert check(index).clean


def test_one_failing_file_of_a_group_fails_alone(tmp_path: Path, settings: Settings) -> None:
    class FailsOnWord(HashingEmbeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            if any("explode" in t for t in texts):
                raise RuntimeError("the encoder crashed")
            return super().embed_documents(texts)

    index = PassageIndex(settings, embedder=FailsOnWord())
    for n in range(4):
        write(tmp_path / "docs" / f"note-{n}.md", _guideline(f"Note {n}", "guideline", 2))
    write(tmp_path / "docs" / "note-2.md", _guideline("Explode", "guideline", 2))
    report = ingest_paths([tmp_path / "docs"], settings=settings, index=index)
    status = {Path(f.path).name: f.status for f in report.files}
    assert status == {
        "note-0.md": "ingested",
        "note-1.md": "ingested",
        "note-2.md": "failed",
        "note-3.md": "ingested",
    }
    assert "storing passages failed" in report.failed[0].message
    assert {r.doc_id for r in index.records()} == {"note-0", "note-1", "note-3"}
    assert check(index).clean


def test_same_file_twice_in_one_run_is_stored_once(
    tmp_path: Path, settings: Settings, index: PassageIndex
) -> None:
    doc = write(tmp_path / "tens.md", DIGEST)
    report = ingest_paths([doc, tmp_path / "." / "tens.md"], settings=settings, index=index)
    assert [f.status for f in report.files] == ["ingested", "unchanged"]
    assert len(index.records()) == 1
