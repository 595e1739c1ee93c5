"""The peer baseline: the usual LangChain hybrid recipe over the same passages and vectors.

EnsembleRetriever([BM25Retriever, Chroma retriever], weights=[0.5, 0.5]) - weighted reciprocal
rank fusion (c=60) of
- langchain_community's BM25Retriever (rank_bm25 BM25Okapi, its default whitespace tokenizer)
  built from the texts the index embeds (heading line + passage text) and their metadata, and
- langchain-chroma's similarity search over the index's own collection and embedder (what its
  `as_retriever()` runs; equal distances are put in passage-id order so runs are repeatable).
Its Documents are mapped back to passages through the `id` the index stores in their metadata.
The recipe has no relevance gate, so its results are always marked relevant.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from imr_assist.errors import IndexError_
from imr_assist.index.store import PassageIndex
from imr_assist.models import Hit, Passage, SearchResult

log = logging.getLogger(__name__)

PEER_WEIGHTS = (0.5, 0.5)
_GET_BATCH = 5_000


class PeerRetriever:
    """LangChain EnsembleRetriever(BM25 + Chroma, 0.5/0.5) as a `(query, k) -> SearchResult`."""

    name = "peer"

    def __init__(self, index: PassageIndex, weights: tuple[float, float] = PEER_WEIGHTS) -> None:
        from langchain_community.retrievers import BM25Retriever

        self.index = index
        self.weights = list(weights)
        self.passages, stored = _published_passages(index)
        if not self.passages:
            raise IndexError_(
                f"The index in {index.location} has no passages; ingest documents before "
                "evaluating (`imr-assist ingest PATH` or `eval retrieval --ingest PATH`)."
            )
        ordered = sorted(self.passages.values(), key=lambda p: (p.doc_id, p.ordinal, p.id))
        self._bm25 = BM25Retriever.from_texts(
            [stored[p.id] for p in ordered],
            metadatas=[p.metadata() for p in ordered],
            ids=[p.id for p in ordered],
        )

    def __call__(self, query: str, k: int) -> SearchResult:
        return self.search(query, k)

    def search(self, query: str, k: int = 100) -> SearchResult:
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_core.runnables import RunnableLambda

        bm25 = self._bm25.model_copy(update={"k": k})
        dense = RunnableLambda(partial(_chroma_search, self.index.store, k=k), name="chroma")
        ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=self.weights)
        documents = ensemble.invoke(query)
        hits: list[Hit] = []
        for doc in documents:
            passage = self.passages.get(_doc_passage_id(doc))
            if passage is None:  # a stale version or a passage published after we loaded
                continue
            rank = len(hits) + 1
            hits.append(Hit(passage=passage, score=round(1.0 / rank, 6), rank=rank))
            if len(hits) == k:
                break
        return SearchResult(
            query=query,
            hits=hits,
            mode="peer",
            index_hash=self.index.settings.index_hash,
            relevant=True,
            gate_reason="no relevance gate (LangChain EnsembleRetriever recipe)",
        )


def _chroma_search(store: Any, query: str, *, k: int) -> list[Any]:
    """What `store.as_retriever(search_kwargs={"k": k})` returns, made repeatable: Chroma orders
    equal distances arbitrarily and picks arbitrarily among ties at the k-th place, so runs of
    the peer differed between processes (the hashing test embedder gives many passages the same
    distance). Over-fetch, put ties in passage-id order, cut at k."""
    found = store.similarity_search_with_score(query, k=2 * k + 10)
    ordered = sorted(found, key=lambda ds: (round(float(ds[1]), 9), _doc_passage_id(ds[0])))
    return [doc for doc, _ in ordered[:k]]


def _doc_passage_id(doc: Any) -> str:
    meta = doc.metadata or {}
    return str(meta.get("id") or getattr(doc, "id", "") or "")


def _published_passages(index: PassageIndex) -> tuple[dict[str, Passage], dict[str, str]]:
    """Passages of published document versions by id, and the text the index stores for each
    (heading line + passage text, what the dense side embeds)."""
    ids, texts, _ = index.published_passages()
    stored = dict(zip(ids, texts, strict=True))
    passages: dict[str, Passage] = {}
    for start in range(0, len(ids), _GET_BATCH):
        for p in index.get_passages(ids[start : start + _GET_BATCH]):
            passages[p.id] = p
    log.info("peer baseline over %d passages", len(passages))
    return passages, stored
