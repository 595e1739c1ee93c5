"""Recommendation records stored beside the passages: a companion Chroma collection
`{collection_name}-recommendations`, next to the manifest.

Each record is stored whole, as JSON in its metadata, with flat keys to filter on (doc_id,
content_hash, guideline, tier, direction, strength, body_region) and the embedding of its
interventions and statement (the index's embedder), so that a matcher finds recommendations by
meaning. Records follow the passages' crash-safety rule: the ingest writes them before the
manifest publishes the document version, and every read keeps only records of the version the
manifest publishes; records of other versions are dropped once the new one is published
(`drop_stale`), or when the document is removed. The collection name carries the index hash,
which carries `settings.EXTRACTOR_VERSION`: records are re-derived when the extractor changes.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from imr_assist.errors import IndexError_
from imr_assist.index.embedding import embed_cached
from imr_assist.models import SourceDocument
from imr_assist.reasoning.models import Recommendation

if TYPE_CHECKING:
    from imr_assist.index.store import PassageIndex

log = logging.getLogger(__name__)

COLLECTION_SUFFIX = "-recommendations"
_RECORD = "record"
_ORDINAL = "ordinal"
_SPARE = 20
"""Extra records fetched per search for those of unpublished versions."""


def embedding_text(rec: Recommendation) -> str:
    """What is embedded for a record: its interventions, then its statement."""
    return (
        f"{'; '.join(rec.interventions)}: {rec.statement}" if rec.interventions else rec.statement
    )


class RecommendationStore:
    """The recommendation records of one index."""

    def __init__(self, index: PassageIndex) -> None:
        self.index = index
        self._searched_versions: dict[str, str] | None = None
        name = f"{index.settings.collection_name}{COLLECTION_SUFFIX}"
        try:
            self.collection = index.client.get_or_create_collection(
                name, metadata={"hnsw:space": "cosine"}
            )
        except Exception as exc:
            raise IndexError_(
                f"Cannot open the recommendation records in {index.location} ({exc}). Check "
                "IMR_HOME is writable or the Chroma server is up."
            ) from exc

    # ------------------------------------------------------------------ writes

    def add(self, doc: SourceDocument, recs: Sequence[Recommendation]) -> int:
        """Store the records of one document version (before the manifest publishes it).

        Records of versions that are neither this one nor the published one (left by a crash)
        are dropped first. Returns how many were stored."""
        self._delete_versions(doc.doc_id, keep={doc.content_hash, self._published(doc.doc_id)})
        if not recs:
            return 0
        try:
            vectors = self.index.embedder.embed_documents([embedding_text(r) for r in recs])
            self.collection.upsert(
                ids=[r.id for r in recs],
                embeddings=[list(map(float, v)) for v in vectors],
                documents=[embedding_text(r) for r in recs],
                metadatas=[_metadata(r, n) for n, r in enumerate(recs)],
            )
        except Exception as exc:
            raise IndexError_(
                f"{doc.source_path}: storing recommendation records failed ({exc}); nothing "
                "was changed. Check disk space or the Chroma server and ingest again."
            ) from exc
        return len(recs)

    def drop_stale(self, doc_id: str) -> int:
        """Delete records of `doc_id` that are not of its published version (after publishing)."""
        return self._delete_versions(doc_id, keep={self._published(doc_id)})

    def remove(self, doc_id: str) -> int:
        """Delete every record of a document; how many there were."""
        ids = self.collection.get(where={"doc_id": doc_id}, include=[])["ids"]
        if ids:
            self.collection.delete(ids=ids)
        return len(ids)

    def _delete_versions(self, doc_id: str, keep: set[str | None]) -> int:
        got = self.collection.get(where={"doc_id": doc_id}, include=["metadatas"])
        stale = [
            i
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            if (m or {}).get("content_hash") not in keep
        ]
        if stale:
            self.collection.delete(ids=stale)
        return len(stale)

    def _published(self, doc_id: str) -> str | None:
        record = self.index.record(doc_id)
        return record.content_hash if record else None

    # ------------------------------------------------------------------ reads

    def list(self, guideline: str | None = None, doc_id: str | None = None) -> list[Recommendation]:
        """Records of published document versions, in document and page order."""
        clauses = [{k: v} for k, v in (("guideline", guideline), ("doc_id", doc_id)) if v]
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        got = self.collection.get(where=where, include=["metadatas"])
        versions = self._versions()
        metas = [
            m
            for m in got["metadatas"] or []
            if versions.get(str(m.get("doc_id"))) == m.get("content_hash")
        ]
        metas.sort(key=lambda m: (str(m.get("guideline")), str(m["doc_id"]), m.get(_ORDINAL, 0)))
        return [_record(m) for m in metas]

    def count(self, doc_id: str) -> int:
        """Records of the published version of one document."""
        return len(self.list(doc_id=doc_id))

    def search(
        self, text: str, k: int, where: dict[str, Any] | None = None
    ) -> builtins.list[tuple[Recommendation, float]]:
        """The `k` records nearest in meaning to `text` (cosine similarity, best first), only
        of published document versions; `where` filters on the flat metadata keys."""
        total = self.collection.count()
        if not total or k <= 0:
            return []
        # the process-wide vector cache: matching embeds the same phrases for their similarity
        # (and linking the same spans), so each phrase is encoded once, not once per use
        vector = embed_cached(self.index.embedder, [text])[0]
        got = self.collection.query(
            query_embeddings=[list(map(float, vector))],
            n_results=min(total, k + _SPARE),
            where=where or None,
            include=["metadatas", "distances"],
        )
        # one manifest read per store, not per search: a request searches once per item phrase
        if self._searched_versions is None:
            self._searched_versions = self._versions()
        versions = self._searched_versions
        out: builtins.list[tuple[Recommendation, float]] = []
        for meta, distance in zip(got["metadatas"][0], got["distances"][0], strict=True):
            if versions.get(str(meta.get("doc_id"))) != meta.get("content_hash"):
                continue
            out.append((_record(meta), round(1.0 - float(distance), 6)))
            if len(out) == k:
                break
        return out

    def _versions(self) -> dict[str, str]:
        return {r.doc_id: r.content_hash for r in self.index.records()}


FILTER_KEYS = (
    "doc_id",
    "content_hash",
    "guideline",
    "tier",
    "direction",
    "strength",
    "body_region",
)


def _metadata(rec: Recommendation, ordinal: int) -> dict[str, Any]:
    data = rec.model_dump(mode="json")
    flat = {k: data[k] for k in FILTER_KEYS if data.get(k) is not None}
    return {**flat, _ORDINAL: ordinal, _RECORD: json.dumps(data, ensure_ascii=False)}


def _record(meta: dict[str, Any]) -> Recommendation:
    return Recommendation.model_validate_json(str(meta[_RECORD]))


__all__ = ["COLLECTION_SUFFIX", "FILTER_KEYS", "RecommendationStore", "embedding_text"]
