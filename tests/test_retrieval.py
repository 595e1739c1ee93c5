"""Hybrid retrieval: fusion maths, filters on both sides, BM25 kept in step, gate, authority."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.runnables import Runnable

from conftest import CORPUS
from imr_assist.errors import QueryError
from imr_assist.index.lexical import LexicalIndex
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.models import Kind, Passage, Tier
from imr_assist.retrieval.authority import order_by_authority, sequence_note
from imr_assist.retrieval.hybrid import HybridRetriever, as_langchain, is_boilerplate
from imr_assist.retrieval.precedent import find_precedent
from imr_assist.settings import Settings

DOC = """---
title: "Digest: {topic}"
guideline: "{guideline}"
tier: {tier}
kind: guideline
body_region: {region}
---
# {topic}

{body}
"""


def _doc(
    tmp: Path,
    name: str,
    topic: str,
    body: str,
    tier: str = "mtus",
    guideline: str = "MTUS Chronic Pain",
    region: str = "low_back",
) -> Path:
    path = tmp / f"{name}.md"
    path.write_text(
        DOC.format(topic=topic, body=body, tier=tier, guideline=guideline, region=region),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def small(tmp_path: Path, settings: Settings, index: PassageIndex) -> HybridRetriever:
    paths = [
        _doc(
            tmp_path,
            "tens",
            "TENS",
            "A one-month home-based TENS trial may be considered "
            "as an adjunct to functional restoration (pp. 114-116).",
        ),
        _doc(
            tmp_path,
            "hwave",
            "H-wave",
            "H-wave stimulation is not recommended as an isolated intervention (pp. 117-118).",
            tier="guideline",
            guideline="ODG",
        ),
        _doc(
            tmp_path,
            "knee",
            "Knee brace",
            "A hinged knee brace is recommended for ligament instability (p. 340).",
            region="knee",
            guideline="ACOEM",
        ),
        _doc(
            tmp_path,
            "refs",
            "References",
            "1. Smith J, et al. PubMed PMID: 1. doi:10.1/x. "
            "2. Jones K, et al. PubMed PMID: 2. Epub 2020. 3. Doe A, et al. Spine. 2019;44(3):1.",
        ),
    ]
    ingest_paths(paths, settings=settings, index=index)
    return HybridRetriever(index)


def test_rrf_fusion_maths(small: HybridRetriever) -> None:
    """Hybrid score = sum over lists of w / (k + rank), times the item boost (the passage names
    the requested item, TENS) and the authority step (MTUS: x1); hand-checked for the top hit."""
    q = "TENS trial"
    dense = small.search(q, k=10, mode="dense").hits
    bm25 = small.search(q, k=10, mode="bm25").hits
    hybrid = small.search(q, k=10, mode="hybrid").hits
    top = hybrid[0].passage.id
    rd = next(h.rank for h in dense if h.passage.id == top)
    rb = next(h.rank for h in bm25 if h.passage.id == top)
    k = small.settings.retrieval.rrf_k
    boost = small.settings.retrieval.item_boost
    assert hybrid[0].passage.tier is Tier.MTUS
    assert hybrid[0].score == pytest.approx((1 / (k + rd) + 1 / (k + rb)) * boost, abs=1e-6)
    assert "tens" in hybrid[0].passage.text.lower()


def test_weights_and_k_configurable(tmp_path: Path, small: HybridRetriever) -> None:
    settings = small.settings.model_copy(deep=True)
    settings.retrieval.rrf_k = 10
    settings.retrieval.dense_weight = 0.0
    r = HybridRetriever(small.index, settings)
    hits = r.search("TENS trial", k=3).hits
    bm25 = r.search("TENS trial", k=3, mode="bm25").hits
    assert hits[0].passage.id == bm25[0].passage.id
    assert hits[0].score == pytest.approx(1 / (10 + 1) * settings.retrieval.item_boost, abs=1e-6)


def test_authority_prior_steps_by_tier(small: HybridRetriever) -> None:
    """An ODG (tier 'guideline') passage gets x(1 - prior) against the same fused rank."""
    settings = small.settings.model_copy(deep=True)
    settings.retrieval.item_boost = 1.0
    r = HybridRetriever(small.index, settings)
    hit = next(
        h
        for h in r.search("H-wave isolated intervention", k=5).hits
        if h.passage.tier is Tier.GUIDELINE
    )
    dense = {
        h.passage.id: h.rank
        for h in r.search("H-wave isolated intervention", k=50, mode="dense").hits
    }
    bm25 = {
        h.passage.id: h.rank
        for h in r.search("H-wave isolated intervention", k=50, mode="bm25").hits
    }
    k = settings.retrieval.rrf_k
    fused = sum(
        1 / (k + ranks[hit.passage.id]) for ranks in (dense, bm25) if hit.passage.id in ranks
    )
    assert hit.score == pytest.approx(fused * (1 - settings.retrieval.authority_prior), abs=1e-6)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_filters_apply_to_both_sides(small: HybridRetriever, mode: str) -> None:
    hits = small.search(
        "stimulation trial TENS H-wave", k=10, mode=mode, filters={"tier": "guideline"}
    ).hits
    assert hits and all(h.passage.tier is Tier.GUIDELINE for h in hits)
    either = small.search(
        "stimulation TENS H-wave", k=10, mode=mode, filters={"guideline": "ODG|MTUS Chronic Pain"}
    ).hits
    assert {h.passage.guideline for h in either} <= {"ODG", "MTUS Chronic Pain"}


def test_unknown_filter_and_mode_refused(small: HybridRetriever) -> None:
    with pytest.raises(QueryError, match="Unknown filter"):
        small.search("TENS", filters={"color": "red"}, mode="bm25")
    with pytest.raises(QueryError, match="Unknown retrieval mode"):
        small.search("TENS", mode="magic")


def test_bm25_in_step_after_ingest_remove_reingest(
    tmp_path: Path, settings: Settings, index: PassageIndex
) -> None:
    r = HybridRetriever(index)
    a = _doc(tmp_path, "tens", "TENS", "A one-month TENS trial is recommended (p. 116).")
    ingest_paths([a], settings=settings, index=index)
    assert [h.passage.doc_id for h in r.search("TENS", mode="bm25").hits] == ["tens"]
    b = _doc(tmp_path, "hwave", "H-wave", "H-wave after a failed TENS trial (p. 117).")
    ingest_paths([b], settings=settings, index=index)
    assert {h.passage.doc_id for h in r.search("TENS", mode="bm25").hits} == {"tens", "hwave"}
    index.remove("tens")
    assert [h.passage.doc_id for h in r.search("TENS", mode="bm25").hits] == ["hwave"]
    a.write_text(a.read_text().replace("one-month", "thirty-day"))
    ingest_paths([a], settings=settings, index=index)
    texts = [h.passage.text for h in r.search("thirty-day TENS", mode="bm25").hits]
    assert any("thirty-day" in t for t in texts) and not any("one-month" in t for t in texts)
    # persisted: a new retriever (another process) loads the same generation from disk
    saved = LexicalIndex.load(r.lexical_dir)
    assert saved is not None and saved.generation == index.generation()
    assert len(saved) == len(index.published_passages()[0])


def test_boilerplate_demoted(small: HybridRetriever) -> None:
    refs = [h for h in small.search("Smith Jones PubMed", k=5, mode="bm25").hits]
    assert refs and is_boilerplate(refs[0].passage)
    hybrid = small.search("Smith Jones PubMed", k=5).hits
    ref_hit = next(h for h in hybrid if is_boilerplate(h.passage))
    assert ref_hit.score < 2 / (small.settings.retrieval.rrf_k + 1)  # penalised by 0.5


def test_region_mismatch_demoted(small: HybridRetriever) -> None:
    hits = small.search("lumbar brace recommended", k=5).hits
    knee = next(h for h in hits if h.passage.body_region == "knee")
    assert knee.rank > 1 or len(hits) == 1


def test_gate_says_nothing_relevant(small: HybridRetriever) -> None:
    result = small.search("gym membership with pool access", k=5)
    assert result.relevant is False
    assert "nothing relevant" in result.gate_reason
    assert result.hits  # context still shown, flagged
    ok = small.search("TENS unit one-month trial", k=5)
    assert ok.relevant is True and ok.highest_tier is Tier.MTUS


def test_authority_order_and_sequence_note(small: HybridRetriever) -> None:
    result = small.search("H-wave stimulation", k=10)
    view = order_by_authority(result.hits, result.highest_tier)
    ranks = [g.tier.rank for g in view.groups]
    assert ranks == sorted(ranks)
    assert result.highest_tier is Tier.GUIDELINE
    assert "MTUS does not specifically address" in view.sequence_note
    assert sequence_note(Tier.MTUS).startswith("The MTUS addresses")
    assert sequence_note(None).startswith("None of the loaded guidelines")
    assert "Neither the MTUS nor the ACOEM/ODG" in sequence_note(Tier.OTHER_GUIDELINE)


def test_langchain_retriever_is_a_runnable(small: HybridRetriever) -> None:
    lc = as_langchain(small, k=2)
    assert isinstance(lc, Runnable)
    docs = lc.invoke("TENS trial")
    assert len(docs) == 2
    assert docs[0].metadata["citation"].startswith("MTUS Chronic Pain")
    assert lc.last_result.relevant is True
    batch = lc.batch(["TENS", "H-wave"])
    assert [len(d) for d in batch] == [2, 2]


def test_precedent_on_demo_corpus(settings: Settings, index: PassageIndex) -> None:
    ingest_paths([CORPUS / "determinations"], settings=settings, index=index)
    p = find_precedent(HybridRetriever(index), "TENS unit purchase")
    assert p.cases and all("tens" in c.item.lower() for c in p.cases)
    decisions = {c.doc_id: c.decision.value for c in p.cases}
    assert decisions["det-05-tens-unit-purchase-upheld"] == "upheld"
    assert decisions["det-06-tens-30-day-trial-overturned"] == "overturned"
    assert p.summary == f"{p.upheld} of {len(p.cases)} similar requests upheld"
    assert any("114-116" in c.guidelines_cited for c in p.cases)


def test_boilerplate_detection_table() -> None:
    base = dict(
        id="x" * 12,
        doc_id="d",
        content_hash="h",
        source_path="d.pdf",
        source_title="D",
        kind=Kind.GUIDELINE,
        tier=Tier.OTHER_GUIDELINE,
        page_start="1",
        page_end="1",
        ordinal=0,
    )
    assert is_boilerplate(Passage(**base, section="References", text="Plain."))
    assert is_boilerplate(
        Passage(**base, section="Appendix A: Literature Search Strategy", text="x")
    )
    assert not is_boilerplate(Passage(**base, section="References", recommendation="3", text="x"))
    assert not is_boilerplate(
        Passage(
            **base,
            section="C. Non-pharmacologic Therapy",
            text="Exercise helps (Smith et al. 2020).",
        )
    )
