"""Searches and drafts in several threads while an ingest replaces and adds documents in the same
process, against the same home: no exceptions, every result shows one published version of each
document in full, and the new document is found once its ingest has returned."""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path

from conftest import CORPUS
from imr_assist import api
from imr_assist.index.consistency import check
from imr_assist.ingest.reader import read_source
from imr_assist.settings import Settings

SECTIONS = 6
ROUNDS = 4


def _evolving(path: Path, version: int) -> str:
    """A guideline whose every section changes with the version (no passage shared across
    versions) and names 'quokka' once per section: a 'quokka' search matches all of them."""
    parts = [
        '---\ntitle: "Quokka stimulation"\nguideline: "Synthetic"\ntier: guideline\n'
        "kind: guideline\n---\n"
    ]
    for s in range(SECTIONS):
        parts.append(
            f"# Part {s}\n\nQuokka stimulation revision r{version}s{s} is considered for section "
            f"{s} after {version + s} weeks of home exercise (p. {s + 1}).\n"
        )
    path.write_text("\n".join(parts), encoding="utf-8")
    return read_source(path).documents[0].content_hash


def _run(tmp_path: Path, settings: Settings) -> tuple[list[str], list[str]]:
    """The scenario; returns (mixed or unpublished versions seen, results missing passages)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    evolving = docs / "quokka.md"
    versions = {_evolving(evolving, 0)}
    first = api.ingest([CORPUS / "guidelines", evolving], settings=settings)
    assert not first.failed
    # load the drafting models (clinical NLP, drug dictionary) before the clock starts: their
    # one-off load would otherwise starve the searchers of the interpreter for seconds
    api.draft("TENS unit", "chronic low back pain", settings=settings)

    stop = threading.Event()
    errors: list[BaseException] = []
    seen: dict[str, int] = defaultdict(int)  # content hash -> results showing it
    bad: list[str] = []
    partial: list[str] = []
    searches = [0]
    drafts = [0]

    def searcher(mode: str) -> None:
        try:
            while not stop.is_set():
                result = api.search("quokka", settings=settings, k=100, mode=mode)
                searches[0] += 1
                shown = [h.passage for h in result.hits if h.passage.doc_id == "quokka"]
                hashes = {p.content_hash for p in shown}
                if not hashes:
                    partial.append(f"{mode}: no version of quokka in the result")
                    continue
                if len(hashes) > 1:
                    bad.append(f"{mode}: {len(hashes)} versions of quokka in one result")
                    continue
                (version,) = hashes
                seen[version] += 1
                if version not in versions:
                    bad.append(f"{mode}: unpublished version {version[:8]}")
                if len(shown) != SECTIONS:
                    partial.append(f"{mode}: {len(shown)} of {SECTIONS} passages of {version[:8]}")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def drafter() -> None:
        try:
            while not stop.is_set():
                draft = api.draft("TENS unit", "chronic low back pain", settings=settings)
                assert draft.citations, "a draft without citations"
                drafts[0] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=searcher, args=(mode,), daemon=True)
        for mode in ("hybrid", "hybrid", "bm25", "dense")
    ] + [threading.Thread(target=drafter, daemon=True)]
    for t in threads:
        t.start()
    try:
        for version in range(1, ROUNDS + 1):
            versions.add(_evolving(evolving, version))
            report = api.ingest([evolving], settings=settings)
            assert [f.status for f in report.files] == ["replaced"]
        added = docs / "wombat.md"
        added.write_text(
            "# Wombat traction\n\nWombat traction is not recommended for low back pain (p. 9).\n",
            encoding="utf-8",
        )
        assert [f.status for f in api.ingest([added], settings=settings).files] == ["ingested"]
        after = api.search("wombat traction", settings=settings, k=5)
        assert "wombat" in {h.passage.doc_id for h in after.hits}
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert not errors, repr(errors[0])
    assert searches[0] >= 8 and drafts[0] >= 1, (searches, drafts)
    latest = api.search("quokka", settings=settings, k=100).hits
    assert {p.passage.content_hash for p in latest if p.passage.doc_id == "quokka"} == {
        read_source(evolving).documents[0].content_hash
    }
    assert check(api.open_index(settings)).clean
    print(
        f"{searches[0]} searches, {drafts[0]} drafts, {len(seen)} versions seen, "
        f"{len(bad)} mixed, {len(partial)} partial"
    )
    return bad, partial


def test_threads_search_and_draft_while_ingesting(tmp_path: Path, settings: Settings) -> None:
    """No exceptions; no result shows two versions of a document or an unpublished one; the
    new document is found after its ingest; the index is consistent afterwards."""
    bad, _ = _run(tmp_path, settings)
    assert not bad, bad[:5]


def test_no_result_loses_a_document_being_replaced(tmp_path: Path, settings: Settings) -> None:
    _, partial = _run(tmp_path, settings)
    assert not partial, partial[:5]
