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


# --------------------------------------------------------------------------- documents


def _long_and_short(tmp: Path, settings: Settings, index: PassageIndex) -> HybridRetriever:
    """A long guideline restating acupuncture in 30 near-duplicate passages, a short one with a
    single row on it, and a third that never names it (all the same tier and region)."""
    sections = "\n\n".join(
        f"## Acupuncture for chronic low back pain, evidence summary {n}\n\n"
        f"Acupuncture for chronic low back pain was examined in trial {n}: acupuncture sessions "
        f"for chronic low back pain improved pain at {n + 2} weeks in {40 + n} patients."
        for n in range(30)
    )
    long_doc = _doc(tmp, "long", "Low back pain", sections, "other_guideline", "Long CPG")
    short_doc = _doc(
        tmp,
        "short",
        "Chronic primary low back pain",
        "Table 1. B.2 Needling therapies, including acupuncture, may be offered as part of care "
        "(conditional recommendation in favour of use, low certainty evidence). "
        "B.5 Traction should not be used as part of routine care.",
        "other_guideline",
        "Short guideline",
    )
    other = _doc(
        tmp,
        "other",
        "Bed rest",
        "Bed rest for chronic low back pain is not recommended; patients with chronic low back "
        "pain should stay active.",
        "other_guideline",
        "Other guideline",
    )
    ingest_paths([long_doc, short_doc, other], settings=settings, index=index)
    return HybridRetriever(index)


def test_short_document_is_not_drowned_by_a_long_one(
    tmp_path: Path, settings: Settings, index: PassageIndex
) -> None:
    r = _long_and_short(tmp_path, settings, index)
    query = "acupuncture x8 for chronic low back pain"
    plain = settings.model_copy(deep=True)
    plain.retrieval.document_quota = 0
    before = HybridRetriever(index, plain).search(query, k=10).hits
    assert [h.passage.doc_id for h in before] == ["long"] * 10  # drowned in fused order
    after = r.search(query, k=10).hits
    docs = [h.passage.doc_id for h in after]
    assert docs[:2] == ["long", "short"]  # each addressing document's best, in score order
    assert "other" not in docs[:3]  # a document that never names the item is not promoted
    assert {h.passage.id for h in after[:1]} == {h.passage.id for h in before[:1]}
    assert [h.rank for h in after] == list(range(1, 11))
    # filters and the per-tier searches of drafting see the same order
    tiered = r.search(query, k=5, filters={"tier": "other_guideline"}).hits
    assert "short" in [h.passage.doc_id for h in tiered[:2]]


def test_one_document_keeps_the_fused_order(settings: Settings, index: PassageIndex) -> None:
    paths = [CORPUS / "guidelines" / "vadod-lbp-cpg-2022-selected-recommendations.md"]
    ingest_paths(paths, settings=settings, index=index)
    plain = settings.model_copy(deep=True)
    plain.retrieval.document_quota = 0
    for query in ("acupuncture", "opioids for chronic low back pain", "TENS unit"):
        ids = [h.passage.id for h in HybridRetriever(index).search(query, k=10).hits]
        assert ids == [h.passage.id for h in HybridRetriever(index, plain).search(query).hits]


def _scored(*specs: tuple[str, str]) -> list[tuple[Passage, float]]:
    """(doc, text) pairs as a score-ordered list (scores 1, 0.9, 0.8, ...)."""
    return [
        (_passage_of(doc, text, n), round(1.0 - n / 10, 2)) for n, (doc, text) in enumerate(specs)
    ]


def _passage_of(doc: str, text: str, n: int) -> Passage:
    from helpers import make_passage

    return make_passage(f"{text} ({doc} {n})", doc_id=doc, ordinal=n)


def _names(p: Passage) -> bool:
    return "item" in p.text


@pytest.mark.parametrize(
    ("specs", "quota", "expected"),
    [
        # one document: the fused order stands whatever the quota
        ([("A", "item"), ("A", "x"), ("A", "item")], 2, [0, 1, 2]),
        # quota 0: fused order
        ([("A", "item"), ("A", "item"), ("B", "item")], 0, [0, 1, 2]),
        # B's best joins A's at the top; the rest in score order
        ([("A", "item"), ("A", "item"), ("A", "x"), ("B", "item")], 1, [0, 3, 1, 2]),
        # quota 2: two rounds, each round in score order
        (
            [("A", "item"), ("A", "item"), ("A", "item"), ("B", "item"), ("B", "x")],
            2,
            [0, 3, 1, 4, 2],
        ),
        # C never names the item: not promoted, keeps its place among the rest
        ([("A", "item"), ("C", "x"), ("A", "item"), ("B", "item")], 1, [0, 3, 1, 2]),
        # B names it only below its quota: not an addressing document at quota 1
        ([("A", "item"), ("B", "x"), ("A", "x"), ("B", "item")], 1, [0, 1, 2, 3]),
        # a shorter document than the quota gives what it has
        ([("A", "item"), ("A", "item"), ("A", "item"), ("B", "item")], 3, [0, 3, 1, 2]),
    ],
)
def test_interleave_documents_table(
    specs: list[tuple[str, str]], quota: int, expected: list[int]
) -> None:
    from imr_assist.retrieval.hybrid import interleave_documents

    ranked = _scored(*specs)
    out = interleave_documents(ranked, _names, quota)
    assert [ranked.index(x) for x in out] == expected


def test_document_heads_bounded() -> None:
    """Candidates added below the head: each document's best up to the quota, for at most
    EXTRA_DOCUMENTS documents (a constant, whatever the corpus size)."""
    from imr_assist.retrieval.hybrid import EXTRA_DOCUMENTS, document_heads

    order = ["a1", "a2", "a3", "b1", "a4", "b2", "b3"] + [f"d{n}-1" for n in range(20)]
    doc_of = lambda pid: pid.split("-")[0] if "-" in pid else pid[0]  # noqa: E731
    extra = document_heads(order, order[:3], doc_of, 2)
    assert extra[:2] == ["b1", "b2"]  # a is already in the head twice; b gets its best two
    assert len({doc_of(p) for p in extra}) == EXTRA_DOCUMENTS
    assert document_heads(order, order, doc_of, 2) == []


def test_per_document_view(tmp_path: Path, settings: Settings, index: PassageIndex) -> None:
    from imr_assist import api

    _long_and_short(tmp_path, settings, index)
    mtus = _doc(
        tmp_path, "mtus", "Acupuncture", "Acupuncture is an option when pain medication is "
        "reduced or not tolerated; 3 to 6 treatments to produce functional improvement.",
    )  # fmt: skip
    ingest_paths([mtus], settings=settings, index=index)
    query = "acupuncture for chronic low back pain"
    result = api.search(query, settings=settings, k=5, per_document=True)
    assert result.by_document is not None
    groups = {g.doc_id: g for g in result.by_document}
    assert {"long", "short", "mtus"} <= set(groups)
    addressing = [g for g in result.by_document if g.addresses]
    assert addressing[0].doc_id == "mtus"  # the order of authority first
    assert [g.tier.rank for g in addressing] == sorted(g.tier.rank for g in addressing)
    assert groups["short"].addresses and groups["short"].guideline == "Short guideline"
    assert all(1 <= len(g.hits) <= 3 for g in result.by_document)
    assert all(h.passage.doc_id == g.doc_id for g in result.by_document for h in g.hits)
    ranks = [h.rank for h in groups["long"].hits]
    assert ranks == sorted(ranks)  # a document's best first, ranks of the whole list
    assert not groups["other"].addresses  # among the candidates, but never names the item
    assert result.by_document[-1].doc_id == "other"
    assert len(result.hits) == 5  # the ranked list is unchanged by the view
    plain = api.search(query, settings=settings, k=5)
    assert plain.by_document is None
    assert [h.passage.id for h in plain.hits] == [h.passage.id for h in result.hits]
    with pytest.raises(QueryError):
        HybridRetriever(index).search(query, per_document=-1)


def test_search_keeps_retrying_while_ingests_publish(
    small: HybridRetriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingests publishing back to back can race one search many times (CI saw a fixed count of
    three retries run out, and a result lose a document being replaced): the search retries
    until a pass sees one generation throughout, within RACE_DEADLINE_S."""
    import imr_assist.retrieval.hybrid as hybrid

    real = HybridRetriever._search_once
    calls = [0]

    def racing(self: HybridRetriever, *args: object) -> tuple[object, bool]:
        calls[0] += 1
        result, _ = real(self, *args)
        return result, calls[0] <= 6  # six passes raced, the seventh sees one generation

    monkeypatch.setattr(HybridRetriever, "_search_once", racing)
    monkeypatch.setattr(hybrid.time, "sleep", lambda s: None)
    small.search("TENS", mode="bm25")
    assert calls[0] == 7
    # past the deadline the last result is returned (logged), never an endless loop
    calls[0] = -(10**6)
    monkeypatch.setattr(hybrid, "RACE_DEADLINE_S", 0.0)
    assert small.search("TENS", mode="bm25").hits is not None
    assert calls[0] == -(10**6) + 1  # the raced pass, then no retry past the deadline
