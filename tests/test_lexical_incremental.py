"""The BM25 side-store follows the manifest by its change log: a change costs that document's
passages, not the corpus; the segmented index ranks exactly like one built from scratch; a broken
log falls back to a rebuild; two writers publishing from one generation lose nothing."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from conftest import CORPUS
from helpers import ingest_demo
from imr_assist.index.lexical import LexicalIndex, lexical_dir
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.retrieval.hybrid import HybridRetriever
from imr_assist.settings import Settings
from imr_assist.text.tokens import tokenize

DOC = """---
title: "Digest: {topic}"
guideline: "MTUS Chronic Pain"
tier: mtus
kind: guideline
body_region: low_back
---
# {topic}

## Indications

{topic} is indicated after {word} when conservative care has failed (p. 12).

## Duration

A trial of {topic} for one month with documented functional improvement (p. 13).

## Evidence

Moderate-quality evidence supports {topic} as an adjunct to {word} (p. 14).
"""


def _write_doc(folder: Path, name: str, topic: str, word: str = "exercise") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(DOC.format(topic=topic, word=word), encoding="utf-8")
    return path


class CountingCollection:
    """The Chroma collection, counting the passage texts read from it (the process edge)."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.fetched = 0

    def get(self, *args: Any, **kwargs: Any) -> Any:
        got = self._real.get(*args, **kwargs)
        if "documents" in (kwargs.get("include") or []):
            self.fetched += len(got["ids"])
        return got

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _counting(index: PassageIndex) -> CountingCollection:
    counter = CountingCollection(index.store._chroma_collection)
    index.store._chroma_collection = counter
    return counter


def _scores(lexical: LexicalIndex, query: str) -> dict[str, float]:
    return dict(lexical.search(query, 10_000))


def _same_ranking(a: LexicalIndex, b: LexicalIndex, queries: list[str]) -> None:
    assert sorted(a.ids) == sorted(b.ids)
    for q in queries:
        sa, sb = _scores(a, q), _scores(b, q)
        assert sa.keys() == sb.keys(), q
        for pid, score in sa.items():
            assert math.isclose(score, sb[pid], rel_tol=1e-6, abs_tol=1e-9), (q, pid)
        assert [p for p, _ in a.search(q, 5)] == [p for p, _ in b.search(q, 5)], q


# --------------------------------------------------------------------------- pure index


def test_segments_score_exactly_as_bm25s_over_one_index() -> None:
    texts = [
        p.strip()
        for f in sorted(CORPUS.rglob("*.md"))
        for p in f.read_text(encoding="utf-8").split("\n\n")
        if p.strip()
    ]
    ids = [f"p{i}" for i in range(len(texts))]
    metas = [{"doc_id": f"d{i % 9}", "content_hash": "h"} for i in range(len(texts))]
    # the same passages in a base and two deltas (the deltas merge: two segments)
    cut, cut2 = len(texts) * 90 // 100, len(texts) * 95 // 100
    lexical = LexicalIndex.build(ids[:cut], texts[:cut], metas[:cut], "g1")
    lexical, _ = lexical.changed([], ids[cut:cut2], texts[cut:cut2], metas[cut:cut2], "g2")
    lexical, _ = lexical.changed([], ids[cut2:], texts[cut2:], metas[cut2:], "g3")
    assert len(lexical.segments) == 2
    model = bm25s.BM25()
    model.index(tokenize(texts), show_progress=False)
    for query in ("TENS unit one month trial", "Norco hydrocodone opioid opioid", "gym pool"):
        tokens = tokenize([query])[0]
        ours, theirs = lexical.scores(tokens), model.get_scores(tokens)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


WORDS = ["tens", "trial", "lumbar", "fusion", "opioid", "taper", "the", "and", "knee", "gym"]
passage_text = st.lists(st.sampled_from(WORDS), min_size=0, max_size=8).map(" ".join)
operation = st.tuples(
    st.sampled_from([f"d{i}" for i in range(6)]),
    st.one_of(st.none(), st.lists(passage_text, min_size=1, max_size=6)),  # None: remove
)


@hsettings(max_examples=60)
@given(st.lists(operation, min_size=1, max_size=25))
def test_incremental_index_equals_rebuilt(ops: list[tuple[str, list[str] | None]]) -> None:
    """Any sequence of adds, replacements and removals applied as changes (segments, tombstones,
    merges, a save and load on the way) ranks like an index built from the final passages."""
    docs: dict[str, tuple[list[str], list[str], list[dict[str, Any]]]] = {}
    lexical = LexicalIndex.build([], [], [], "g0")
    with tempfile.TemporaryDirectory() as tmp:
        for step, (doc, texts) in enumerate(ops):
            docs.pop(doc, None)
            ids: list[str] = []
            metas: list[dict[str, Any]] = []
            if texts is not None:
                ids = [f"{doc}-{step}-{i}" for i in range(len(texts))]
                metas = [
                    {
                        "doc_id": doc,
                        "content_hash": f"v{step}",
                        "tier": ["mtus", "guideline"][i % 2],
                    }
                    for i in range(len(texts))
                ]
                docs[doc] = (ids, texts, metas)
            lexical, _ = lexical.changed([doc], ids, texts or [], metas, f"g{step + 1}")
            if step == len(ops) // 2:
                lexical.save(Path(tmp))
                loaded = LexicalIndex.load(Path(tmp))
                assert loaded is not None
                lexical = loaded
    every = [
        (i, t, m)
        for ids, texts, metas in docs.values()
        for i, t, m in zip(ids, texts, metas, strict=True)
    ]
    rebuilt = LexicalIndex.build(
        [i for i, _, _ in every], [t for _, t, _ in every], [m for _, _, m in every], "g"
    )
    _same_ranking(lexical, rebuilt, ["tens trial", "lumbar fusion opioid", "knee", "gym gym taper"])
    assert lexical.versions() == {d: m[0]["content_hash"] for d, (_, _, m) in docs.items() if m}
    for pid in rebuilt.ids:
        assert lexical.has(pid) and lexical.column(pid, "tier") == rebuilt.column(pid, "tier")
    both = dict(lexical.search("tens trial lumbar knee", 100, {"tier": "mtus"}))
    assert both == pytest.approx(
        dict(rebuilt.search("tens trial lumbar knee", 100, {"tier": "mtus"}))
    )


# --------------------------------------------------------------------------- following Chroma


@pytest.fixture
def demo(settings: Settings, index: PassageIndex) -> HybridRetriever:
    retriever = ingest_demo(settings, index=index)
    retriever.sync()
    return retriever


def test_adding_a_document_fetches_only_its_passages(
    tmp_path: Path, settings: Settings, index: PassageIndex, demo: HybridRetriever
) -> None:
    corpus = len(demo.lexical())
    directory = lexical_dir(settings.home, settings.collection_name)
    base = {p.name: p.stat().st_mtime_ns for p in directory.iterdir() if p.name.startswith("s-")}
    counter = _counting(index)
    path = _write_doc(tmp_path / "new", "hwave-zeta", "Zetatherm stimulation")
    report = ingest_paths([path], settings=settings, index=index)
    added = report.passages
    assert added >= 2 and corpus > 10 * added
    counter.fetched = 0  # what the ingest itself read does not count
    demo.sync()  # what the next search does first
    update = demo.last_update
    assert update is not None and update.kind == "incremental"
    assert update.passages_fetched == added and update.passages_removed == 0
    assert counter.fetched == added  # Chroma was asked for that document's passages only
    hits = demo.search("Zetatherm stimulation trial", k=3, mode="bm25").hits
    assert hits and hits[0].passage.doc_id == "hwave-zeta"
    assert len(demo.lexical()) == corpus + added
    # on disk: the base segment untouched, one small segment and a state file written
    after = {p.name: p.stat().st_mtime_ns for p in directory.iterdir() if p.name.startswith("s-")}
    assert base.items() <= after.items() and len(after) == len(base) + 1
    hybrid = demo.search("Zetatherm stimulation trial", k=3).hits
    assert hybrid[0].passage.doc_id == "hwave-zeta"


def test_replace_and_remove_touch_only_that_document_and_rank_as_a_rebuild(
    tmp_path: Path, settings: Settings, index: PassageIndex, demo: HybridRetriever
) -> None:
    path = _write_doc(tmp_path / "new", "zeta", "Zetatherm stimulation")
    first = ingest_paths([path], settings=settings, index=index).passages
    demo.sync()
    counter = _counting(index)
    _write_doc(tmp_path / "new", "zeta", "Zetatherm stimulation", word="aquatic therapy")
    second = ingest_paths([path], settings=settings, index=index).passages
    counter.fetched = 0
    demo.sync()
    update = demo.last_update
    assert update is not None and update.kind == "incremental"
    assert (update.passages_fetched, update.passages_removed) == (second, first)
    assert counter.fetched == second
    texts = [h.passage.text for h in demo.search("Zetatherm aquatic", k=5, mode="bm25").hits]
    assert any("aquatic" in t for t in texts)
    index.remove("mtus-chronic-pain-tens")
    counter.fetched = 0
    demo.sync()
    update = demo.last_update
    assert update is not None and update.kind == "incremental"
    assert update.passages_fetched == counter.fetched == 0 and update.passages_removed > 0
    ids, texts_, metas = index.published_passages()
    rebuilt = LexicalIndex.build(ids, texts_, metas, index.generation())
    _same_ranking(
        demo.lexical(),
        rebuilt,
        ["TENS one-month home trial", "Zetatherm aquatic therapy", "Norco opioid taper"],
    )


def test_another_process_follows_from_its_saved_copy(
    tmp_path: Path, settings: Settings, index: PassageIndex, demo: HybridRetriever
) -> None:
    before = index.generation()
    path = _write_doc(tmp_path / "new", "zeta", "Zetatherm stimulation")
    added = ingest_paths([path], settings=settings, index=index).passages
    other = PassageIndex(settings, embedder=index.embedder)  # a fresh process on this home
    counter = _counting(other)
    retriever = HybridRetriever(other)
    retriever.sync()
    update = retriever.last_update
    assert update is not None and update.kind == "incremental"
    assert update.from_generation == before and counter.fetched == update.passages_fetched == added
    assert retriever.search("Zetatherm", k=3, mode="bm25").hits[0].passage.doc_id == "zeta"


@pytest.mark.parametrize("how", ["bump_generation", "pruned_log", "unknown_generation"])
def test_broken_change_log_falls_back_to_a_rebuild(
    how: str, tmp_path: Path, settings: Settings, index: PassageIndex, demo: HybridRetriever
) -> None:
    path = _write_doc(tmp_path / "new", "zeta", "Zetatherm stimulation")
    ingest_paths([path], settings=settings, index=index)
    if how == "bump_generation":
        index.bump_generation()  # what repair does: no record, every reader rebuilds
    elif how == "pruned_log":
        assert index.prune_changes(keep_s=-60.0) > 0
    else:  # a side-store of a generation this server never had (another server, a restore)
        demo._lexical = demo.lexical().changed([], [], [], [], "f" * 32)[0]
        demo._lexical.save(demo.lexical_dir)
    assert demo.search("Zetatherm", k=3, mode="bm25").hits[0].passage.doc_id == "zeta"
    update = demo.last_update
    assert update is not None and update.kind == "rebuilt" and update.reason
    assert update.passages_fetched == len(index.published_passages()[0])


def test_two_writers_from_one_generation_lose_no_document(
    tmp_path: Path, settings: Settings, index: PassageIndex, demo: HybridRetriever
) -> None:
    """Chroma has no compare-and-swap: two machines publishing at once both log a change from
    the same generation, and the last one's generation hides the other's in the chain."""
    start = index.generation()
    ingest_paths(
        [_write_doc(tmp_path / "a", "alpha", "Alphatherm")], settings=settings, index=index
    )
    late = PassageIndex(settings, embedder=index.embedder)
    late.generation = lambda: start  # type: ignore[method-assign]  # read before alpha's write
    ingest_paths([_write_doc(tmp_path / "b", "beta", "Betatherm")], settings=settings, index=late)
    assert index.changes_since(start, index.generation()) is not None  # the chain skips alpha
    found = {h.passage.doc_id for h in demo.search("Alphatherm Betatherm", k=5, mode="bm25").hits}
    assert {"alpha", "beta"} <= found
    assert demo.last_update is not None and demo.last_update.kind == "incremental"


def test_a_crash_before_the_publish_leaves_followers_on_the_log(
    tmp_path: Path,
    settings: Settings,
    index: PassageIndex,
    demo: HybridRetriever,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The change record is written before the generation it describes: a publish that fails
    after it leaves a record nobody follows, and the next change is followed incrementally."""
    real = index._manifest.upsert

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(index._manifest, "upsert", fail)
    report = ingest_paths(
        [_write_doc(tmp_path / "a", "alpha", "Alphatherm")], settings=settings, index=index
    )
    assert report.failed
    monkeypatch.setattr(index._manifest, "upsert", real)
    added = ingest_paths(
        [_write_doc(tmp_path / "b", "beta", "Betatherm")], settings=settings, index=index
    ).passages
    assert demo.search("Betatherm", k=3, mode="bm25").hits[0].passage.doc_id == "beta"
    assert demo.search("Alphatherm", k=3, mode="bm25").hits == []
    update = demo.last_update
    assert update is not None and update.kind == "incremental" and update.passages_fetched == added


def test_following_starts_from_an_empty_index(
    tmp_path: Path, settings: Settings, index: PassageIndex
) -> None:
    retriever = HybridRetriever(index)
    assert retriever.sync() == 0  # nothing published yet: an empty side-store, saved
    added = ingest_paths(
        [_write_doc(tmp_path / "a", "alpha", "Alphatherm")], settings=settings, index=index
    ).passages
    assert retriever.sync() == added
    update = retriever.last_update
    assert update is not None and update.kind == "incremental" and update.from_generation == "empty"
    assert update.passages_fetched == added
