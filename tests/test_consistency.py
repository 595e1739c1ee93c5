"""`index check` and `--repair`: each kind of drift made by hand, found, repaired, idempotent."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from imr_assist.cli.commands import main
from imr_assist.index.consistency import check, repair
from imr_assist.index.lexical import LexicalIndex, lexical_dir
from imr_assist.index.store import STORED_AT, PassageIndex
from imr_assist.ingest.chunking import chunk_document, embedding_text
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.ingest.reader import read_source
from imr_assist.retrieval.hybrid import HybridRetriever
from imr_assist.settings import Settings

DOC = """---
title: "{title}"
guideline: "MTUS Chronic Pain Medical Treatment Guidelines"
tier: mtus
kind: guideline
---
# {title}

{body}

# Evidence

{title} evidence was reviewed in {n} randomised trials (pp. 10-12).

# Conclusion

{title} is recommended only with functional goals and a home program (p. 13).
"""


def _write(folder: Path, name: str, body: str, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(DOC.format(title=name.upper(), body=body, n=n), encoding="utf-8")
    return path


@pytest.fixture
def loaded(tmp_path: Path, settings: Settings, index: PassageIndex) -> list[Path]:
    paths = [
        _write(tmp_path / "docs", "tens", "A one-month home TENS trial may be considered."),
        _write(tmp_path / "docs", "hwave", "H-wave is not recommended as an isolated treatment."),
    ]
    report = ingest_paths(paths, settings=settings, index=index)
    assert not report.failed
    return paths


def _store_unpublished(index: PassageIndex, path: Path, settings: Settings, **meta) -> int:
    """Passages of a document version without a manifest record (what a crash mid-store leaves)."""
    doc = read_source(path).documents[0]
    passages = chunk_document(doc, settings.chunking.size, settings.chunking.overlap)
    index.store.add_texts(
        [embedding_text(p) for p in passages],
        [{**p.metadata(), STORED_AT: time.time(), **meta} for p in passages],
        ids=[f"{p.id}x" for p in passages],
    )
    return len(passages)


@pytest.mark.both_backends
def test_fresh_index_is_clean_and_bm25_behind_is_not_drift(
    loaded, settings: Settings, index: PassageIndex
) -> None:
    report = check(index)
    assert report.clean, report.problems()
    assert report.documents == 2 and report.published_passages == report.passages > 0
    assert report.bm25_state == "missing"  # nothing searched yet: rebuilt at the first search
    HybridRetriever(index).sync()
    assert check(index).bm25_state == "current"
    ingest_paths(
        [_write(loaded[0].parent, "ice", "Ice packs are recommended.")],
        settings=settings,
        index=index,
    )
    behind = check(index)
    assert behind.bm25_state == "behind" and behind.clean


@pytest.mark.both_backends
def test_orphans_found_left_in_grace_then_deleted(
    tmp_path: Path, loaded, settings: Settings, index: PassageIndex
) -> None:
    stray = _write(tmp_path / "other", "acupuncture", "Acupuncture may be used as an option.")
    n = _store_unpublished(index, stray, settings)
    report = check(index)
    assert not report.clean
    assert [(o.doc_id, o.found) for o in report.orphans] == [("acupuncture", n)]
    assert report.orphans[0].youngest_age_s is not None and report.orphans[0].youngest_age_s < 60
    kept = repair(index)  # default grace: an ingest may still be writing them
    assert kept.orphans and kept.left and "grace" in kept.left[0]
    fixed = repair(index, grace_s=0)
    assert fixed.clean and any("deleted" in a and str(n) in a for a in fixed.repaired)
    assert fixed.passages == fixed.published_passages == check(index).passages
    again = repair(index, grace_s=0)  # idempotent: only the BM25 rebuild, nothing else
    assert again.clean and [a for a in again.repaired if "rebuilt" not in a] == []
    assert again.passages == fixed.passages and again.generation == fixed.generation


def test_orphans_without_a_stored_time_are_old(
    tmp_path: Path, loaded, settings: Settings, index: PassageIndex
) -> None:
    """Passages stored before `stored_at` existed have no age: repair treats them as old."""
    stray = _write(tmp_path / "other", "massage", "Massage is an adjunct to exercise.")
    collection = index.collection
    doc = read_source(stray).documents[0]
    passages = chunk_document(doc, settings.chunking.size, settings.chunking.overlap)
    collection.upsert(
        ids=[p.id for p in passages],
        embeddings=index.embedder.embed_documents([embedding_text(p) for p in passages]),
        documents=[embedding_text(p) for p in passages],
        metadatas=[p.metadata() for p in passages],
    )
    assert check(index).orphans[0].youngest_age_s is None
    assert repair(index).clean


def test_stale_version_left_by_a_crash_is_dropped_by_reingest(
    loaded, settings: Settings, index: PassageIndex
) -> None:
    """A crash after publishing a new version but before deleting the old one: re-running the
    ingest (the file is unchanged) removes the old version's passages."""
    n = _store_unpublished(index, loaded[0], settings, content_hash="0ld0ld0ld0ld")
    assert check(index).orphans[0].found == n
    report = ingest_paths(loaded, settings=settings, index=index)
    assert [f.status for f in report.files] == ["unchanged", "unchanged"]
    assert check(index).clean


@pytest.mark.both_backends
def test_incomplete_record_dropped_and_reingest_restores(
    loaded, settings: Settings, index: PassageIndex
) -> None:
    record = index.record("tens")
    assert record is not None and record.passages >= 2
    ids = index.collection.get(where={"doc_id": "tens"}, include=[])["ids"]
    index.collection.delete(ids=ids[:1])
    report = check(index)
    assert [(d.doc_id, d.expected, d.found) for d in report.incomplete] == [
        ("tens", record.passages, record.passages - 1)
    ]
    fixed = repair(index, grace_s=0)
    assert fixed.clean and index.record("tens") is None
    assert any("ingest" in a and "tens.md" in a for a in fixed.repaired)
    again = ingest_paths(loaded, settings=settings, index=index)
    assert {Path(f.path).name: f.status for f in again.files} == {
        "tens.md": "ingested",
        "hwave.md": "unchanged",
    }
    assert check(index).clean and index.record("tens").passages == record.passages


def test_duplicate_record_removed(loaded, index: PassageIndex) -> None:
    record = index.record("hwave")
    assert record is not None
    copy = record.model_copy(update={"doc_id": "hwave-copy", "ingested_at": "2000-01-01T00:00:00"})
    meta = {k: v for k, v in copy.model_dump(mode="json").items() if v is not None}
    index._manifest.upsert(ids=["hwave-copy"], embeddings=[[1.0]], metadatas=[meta])
    report = check(index)
    assert report.duplicates == ["hwave-copy"]
    fixed = repair(index)
    assert fixed.clean and [r.doc_id for r in index.records()] == ["hwave", "tens"]


def test_missing_generation_written(loaded, index: PassageIndex) -> None:
    index._manifest.delete(ids=["__generation__"])
    assert check(index).generation_missing
    fixed = repair(index)
    assert fixed.clean and fixed.generation != "empty"


@pytest.mark.both_backends
def test_bm25_drift_at_current_generation_rebuilt_and_readers_reload(
    loaded, settings: Settings, index: PassageIndex
) -> None:
    retriever = HybridRetriever(index)
    retriever.sync()
    good = check(index)
    assert good.bm25_state == "current"
    directory = lexical_dir(settings.home, settings.collection_name)
    ids, texts, metas = index.published_passages()
    # a side-store that claims this generation but lost a passage and kept a foreign one
    LexicalIndex.build(
        [*ids[1:], "ffffffffffff"], [*texts[1:], "ghost"], [*metas[1:], {}], good.generation
    ).save(directory)
    retriever._lexical = None  # this process reads it from disk, as another process would
    assert "ffffffffffff" in {pid for pid, _ in retriever.lexical().search("ghost", 5)}
    drifted = check(index)
    assert drifted.bm25_state == "drifted" and not drifted.clean
    assert (drifted.bm25_missing, drifted.bm25_extra) == (1, 1)
    fixed = repair(index)
    assert fixed.clean and fixed.bm25_state == "current"
    assert fixed.generation != good.generation  # every process drops its in-memory copy
    assert retriever.search("ghost", mode="bm25").hits == []
    assert len(retriever.lexical()) == good.published_passages


def test_cli_check_exit_codes_and_json(tmp_path: Path, loaded, index: PassageIndex) -> None:
    runner = CliRunner()
    env = {"IMR_EMBEDDING__MODEL": "hashing"}
    home = str(index.settings.home)
    ok = runner.invoke(main, ["index", "check", "--home", home], env=env)
    assert ok.exit_code == 0, ok.output
    assert "Consistent." in ok.output
    _store_unpublished(index, _write(tmp_path / "o", "ice", "Ice."), index.settings)
    bad = runner.invoke(main, ["index", "check", "--home", home], env=env)
    assert bad.exit_code == 1 and "orphan passage" in bad.output
    still = runner.invoke(main, ["index", "check", "--repair", "--home", home], env=env)
    assert still.exit_code == 1 and "left:" in still.output  # young orphans are left
    fixed = runner.invoke(
        main, ["index", "check", "--repair", "--grace", "0", "--json", "--home", home], env=env
    )
    assert fixed.exit_code == 0, fixed.output
    data = json.loads(fixed.output)
    assert data["clean"] is True and data["bm25_state"] == "current"
    assert any("orphan" in a for a in data["repaired"])


@pytest.mark.both_backends
def test_side_store_followed_by_the_change_log_checks_current_and_repair_prunes_the_log(
    tmp_path: Path, loaded, settings: Settings, index: PassageIndex
) -> None:
    retriever = HybridRetriever(index)
    retriever.sync()
    new = _write(tmp_path / "more", "aquatic", "Aquatic therapy is an option when land fails.")
    ingest_paths([new], settings=settings, index=index)
    index.remove("hwave")
    retriever.sync()
    assert retriever.last_update is not None and retriever.last_update.kind == "incremental"
    # the saved side-store (base segment, a delta, the removed rows) is what check reads
    followed = check(index)
    assert followed.bm25_state == "current" and followed.clean
    assert followed.bm25_missing == followed.bm25_extra == followed.bm25_duplicates == 0
    # the change log is a collection of its own, not an index built with other settings
    assert index.other_collections() == []
    assert index.changes_since("empty", index.generation()) is not None
    fixed = repair(index)  # records younger than 30 days stay: nothing pruned
    assert not any("pruned" in line for line in fixed.repaired)
    assert index.prune_changes(keep_s=-60.0) >= 4  # two ingests, a removal (two records)
    assert index.changes_since("empty", index.generation()) is None
