"""The passage index: Chroma (through langchain-chroma) plus a manifest of documents.

The manifest lives in Chroma too (a small companion collection), so an embedded store and a
shared Chroma server each carry their own consistent manifest.

A document becomes visible all at once: its passages are upserted first, then its manifest
record and a new generation are written in one upsert, then passages of its previous version
are deleted (`add_many` keeps that order for many documents at once: all their passages, then
all their records with one new generation, then their stale versions). Search only returns
passages whose document version is the one in the manifest, so a crash at any point never shows
a half-written document; re-running the ingest completes it, and
`imr_assist.index.consistency.repair` removes what a re-run cannot reach (passages of a version
that will never be published again). Every write that changes the manifest also changes the
generation, after the change (readers label what they build with the generation they read
first, so a label is never newer than the content).

The change log: every generation a publish or removal writes has a record in a companion
collection (`<collection>-changes`): the generation before it, the documents it published (with
their versions) and those it removed. The record is written before the generation it describes,
so a crash never leaves a current generation without its record (at worst a record of a
generation that never became current, which nobody follows). Each machine's BM25 side-store
follows the server by applying the records since its own generation (`changes_since`,
`imr_assist.index.lexical.follow`), fetching only the changed documents' passages. A generation
moved without a record (`bump_generation`, as `repair` does) breaks the chain on purpose: every
reader then rebuilds. Records older than CHANGE_LOG_KEEP_S are pruned by `repair`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from imr_assist.errors import ConfigError, DocumentNotFoundError, IndexError_
from imr_assist.index.embedding import Progress, make_embedder
from imr_assist.index.filters import build_where
from imr_assist.ingest.chunking import embedding_text
from imr_assist.models import DocumentRecord, Hit, IndexStatus, Passage, SourceDocument
from imr_assist.settings import DEFAULT_DATABASE, DEFAULT_TENANT, Settings

log = logging.getLogger(__name__)

_GENERATION_ID = "__generation__"
REBUILD_SUFFIX = "-rebuild"
"""A passage collection being rebuilt is named after the live one plus this (consistency.py)."""
_UPSERT_BATCH = 256
_MANIFEST_BATCH = 5000  # records per manifest write (Chroma takes at most ~5,400 per call)
_IN_BATCH = 500  # doc ids per `$in` read
_CHANGES_SUFFIX = "-changes"
_CHAIN_MAX = 2000  # change records followed at most before giving up (a rebuild instead)
_CLOCK_SKEW_S = 600.0  # machines writing change records may disagree on the time this much
CHANGE_LOG_KEEP_S = 30 * 24 * 3600.0
"""Change records older than this are pruned by `repair`; a machine whose side-store is older
rebuilds it (as one that was never started does)."""
STORED_AT = "stored_at"
"""Passage metadata key: when the passage was stored (epoch seconds). Repair leaves unpublished
passages younger than a grace period alone: they may belong to an ingest still running."""


def make_client(settings: Settings) -> Any:
    """An embedded persistent Chroma in IMR_HOME, or an HttpClient when IMR_CHROMA_URL is set.

    A server client works in ``IMR_CHROMA_TENANT`` / ``IMR_CHROMA_DATABASE`` (both must exist
    on the server) and sends ``IMR_CHROMA_HEADERS`` with every request, e.g. the token a managed
    or distributed Chroma requires. Those settings without a server URL are refused, not ignored.
    """
    home = Path(settings.home)
    if not home.exists():  # the ledger, uploads and index of case work: the owner's only
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from chromadb.errors import NotFoundError

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        if url.scheme not in {"http", "https"} or not url.hostname:
            raise ConfigError(f"IMR_CHROMA_URL={settings.chroma_url!r} is not http(s)://host:port.")
        headers = {
            name: value.get_secret_value() for name, value in settings.chroma_headers.items()
        }
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                headers=headers or None,
                settings=chroma_settings,
                tenant=settings.chroma_tenant,
                database=settings.chroma_database,
            )
        except NotFoundError as exc:
            raise IndexError_(
                f"The Chroma server at {settings.chroma_url} has no tenant "
                f"{settings.chroma_tenant!r} with database {settings.chroma_database!r} ({exc}). "
                "Fix IMR_CHROMA_TENANT / IMR_CHROMA_DATABASE, or have the server's administrator "
                "create them (chromadb.AdminClient: create_tenant, create_database)."
            ) from exc
        except Exception as exc:
            raise IndexError_(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({exc}). Start it "
                "(`chroma run --path DIR --port N`) or unset IMR_CHROMA_URL; a server that "
                "requires credentials gets them from IMR_CHROMA_HEADERS."
            ) from exc
    server_only = {
        "IMR_CHROMA_TENANT": settings.chroma_tenant != DEFAULT_TENANT,
        "IMR_CHROMA_DATABASE": settings.chroma_database != DEFAULT_DATABASE,
        "IMR_CHROMA_HEADERS": bool(settings.chroma_headers),
    }
    if any(server_only.values()):
        names = ", ".join(name for name, is_set in server_only.items() if is_set)
        raise ConfigError(
            f"{names} apply to a Chroma server, but IMR_CHROMA_URL is unset (the index is "
            "embedded in IMR_HOME). Set IMR_CHROMA_URL or unset them."
        )
    path = Path(settings.home) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class PendingDocument(NamedTuple):
    """A document to store and publish: its passages and the file it was read from."""

    doc: SourceDocument
    passages: Sequence[Passage]
    file_path: str
    file_hash: str


class Change(NamedTuple):
    """What one generation changed: documents published (id -> version) and removed."""

    generation: str
    previous: str
    added: dict[str, str]
    removed: list[str]


def usable_doc_id(doc_id: str) -> bool:
    """Not empty and not the manifest's reserved record id."""
    return bool(doc_id.strip()) and doc_id != _GENERATION_ID


def _check_pending(documents: Sequence[PendingDocument]) -> None:
    """Refuse a call that would mix documents up: one document twice, or a passage of another
    document or version (search would never show it: it matches no published version), or an
    id the manifest cannot hold (empty, or its reserved generation record)."""
    seen: set[str] = set()
    for d in documents:
        if not usable_doc_id(d.doc.doc_id):
            raise ValueError(f"add_many: {d.doc.doc_id!r} cannot be a document id")
        if d.doc.doc_id in seen:
            raise ValueError(f"add_many: document {d.doc.doc_id!r} given twice in one call")
        seen.add(d.doc.doc_id)
        for p in d.passages:
            if (p.doc_id, p.content_hash) != (d.doc.doc_id, d.doc.content_hash):
                raise ValueError(
                    f"add_many: passage {p.id} is of {p.doc_id!r} version {p.content_hash[:8]}, "
                    f"not of the document it came with ({d.doc.doc_id!r} version "
                    f"{d.doc.content_hash[:8]})"
                )


def _record(d: PendingDocument, ingested_at: str) -> DocumentRecord:
    return DocumentRecord(
        doc_id=d.doc.doc_id,
        source_path=d.doc.source_path,
        file_path=d.file_path,
        file_hash=d.file_hash,
        content_hash=d.doc.content_hash,
        title=d.doc.meta.title,
        kind=d.doc.meta.kind,
        tier=d.doc.meta.tier,
        guideline=d.doc.meta.guideline,
        passages=len(d.passages),
        ingested_at=ingested_at,
        flagged=sum(1 for p in d.passages if p.directives),
    )


def _names(documents: Sequence[PendingDocument]) -> str:
    first = documents[0].doc.source_path
    return first if len(documents) == 1 else f"{first} and {len(documents) - 1} other document(s)"


class PassageIndex:
    """Passages and the document manifest of one index (one embedding model, one chunking)."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Any | None = None,
        client: Any | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(
            settings.embedding.model,
            settings.embedding.batch_size,
            query_backend=settings.embedding.query_backend,
            cache_dir=settings.embedding.onnx_cache,
            quantize=settings.embedding.quantize,
        )
        self.client = client if client is not None else make_client(settings)
        try:
            self.store = self._open_store()
            self._manifest = self.client.get_or_create_collection(
                f"{settings.collection_name}-manifest", metadata={"hnsw:space": "cosine"}
            )
            self._changes = self.client.get_or_create_collection(
                f"{settings.collection_name}{_CHANGES_SUFFIX}", metadata={"hnsw:space": "cosine"}
            )
        except Exception as exc:
            raise IndexError_(
                f"Cannot open the index in {self.location} ({exc}). Check IMR_HOME is writable "
                "or the Chroma server is up."
            ) from exc
        self._versions: dict[str, str] | None = None

    def _open_store(self) -> Any:
        from langchain_chroma import Chroma

        return Chroma(
            collection_name=self.settings.collection_name,
            embedding_function=self.embedder,
            client=self.client,
            collection_metadata={"hnsw:space": "cosine", "index_hash": self.settings.index_hash},
        )

    def reopen(self) -> None:
        """Open the passage collection again by name: after `consistency.rebuild_dense`
        replaced it, a handle to the old one fails (other processes: restart them)."""
        self.store = self._open_store()

    @property
    def location(self) -> str:
        if self.settings.chroma_url:
            return self.settings.chroma_url
        return f"embedded {Path(self.settings.home) / 'chroma'}"

    @property
    def collection(self) -> Any:
        return self.store._collection

    # ------------------------------------------------------------------ manifest

    def records(self, where: dict[str, Any] | None = None) -> list[DocumentRecord]:
        """Manifest records, optionally filtered by Chroma metadata."""
        got = self._manifest.get(where=where, include=["metadatas"])
        out = [
            DocumentRecord.model_validate(m)
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            if i != _GENERATION_ID
        ]
        return sorted(out, key=lambda r: (r.source_path, r.doc_id))

    def record(self, doc_id: str) -> DocumentRecord | None:
        got = self._manifest.get(ids=[doc_id], include=["metadatas"])
        metas = got["metadatas"] or []
        return DocumentRecord.model_validate(metas[0]) if metas else None

    def records_for_file(self, file_path: str) -> list[DocumentRecord]:
        return self.records(where={"file_path": file_path})

    def _version_map(self, refresh: bool = False) -> dict[str, str]:
        if self._versions is None or refresh:
            got = self._manifest.get(include=["metadatas"])
            self._versions = {
                m["doc_id"]: m["content_hash"]
                for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
                if i != _GENERATION_ID
            }
        return self._versions

    def generation(self) -> str:
        """Changes whenever a document is published or removed (by any process)."""
        got = self._manifest.get(ids=[_GENERATION_ID], include=["metadatas"])
        metas = got["metadatas"] or []
        return str(metas[0]["generation"]) if metas else "empty"

    def _bump_generation(self, generation: str | None = None) -> None:
        self._manifest.upsert(
            ids=[_GENERATION_ID],
            embeddings=[[1.0]],
            metadatas=[{"generation": generation or uuid.uuid4().hex}],
        )

    def bump_generation(self) -> None:
        """Tell every reader (in any process) to rebuild what it derived from the manifest: the
        new generation has no change record, so no reader can follow to it incrementally."""
        self._bump_generation()

    # ------------------------------------------------------------------ change log

    def _log_change(self, added: dict[str, str] | None = None, removed: Sequence[str] = ()) -> str:
        """Record a change under a new generation (returned; the caller then makes it current)."""
        generation = uuid.uuid4().hex
        self._changes.upsert(
            ids=[generation],
            embeddings=[[1.0]],
            metadatas=[
                {
                    "previous": self.generation(),
                    "added": json.dumps(added or {}),
                    "removed": json.dumps(list(removed)),
                    "at": time.time(),
                }
            ],
        )
        return generation

    def changes_since(self, generation: str, current: str) -> list[Change] | None:
        """The changes that led from `generation` to `current`, oldest first ([] when equal);
        None when the chain is broken (a generation without a record: pruned, moved by
        `bump_generation`, or `generation` is not an ancestor of `current`)."""
        chain: list[Change] = []
        at = current
        # a fork (two writers published from `generation`'s ancestors) never reaches it: stop
        # at records much older than `generation`'s own instead of walking to the first one
        own = self._changes.get(ids=[generation], include=["metadatas"])["metadatas"] or []
        oldest = float(own[0]["at"]) - _CLOCK_SKEW_S if own else None
        while at != generation:
            if len(chain) >= _CHAIN_MAX:
                log.info("more than %d changes since generation %s", _CHAIN_MAX, generation)
                return None
            got = self._changes.get(ids=[at], include=["metadatas"])
            metas = got["metadatas"] or []
            if not metas:
                log.info("no change record of generation %s: the change log is broken", at)
                return None
            m = metas[0]
            if oldest is not None and float(m["at"]) < oldest:
                log.info("generation %s is not an ancestor of %s", generation, current)
                return None
            chain.append(
                Change(at, str(m["previous"]), json.loads(m["added"]), json.loads(m["removed"]))
            )
            at = chain[-1].previous
        return chain[::-1]

    def prune_changes(self, keep_s: float = CHANGE_LOG_KEEP_S) -> int:
        """Delete change records older than `keep_s` seconds; how many."""
        got = self._changes.get(where={"at": {"$lt": time.time() - keep_s}}, include=[])
        if got["ids"]:
            self._changes.delete(ids=list(got["ids"]))
        return len(got["ids"])

    def published_versions(self) -> dict[str, str]:
        """Document id -> published version (content hash), read from the manifest now."""
        return dict(self._version_map(refresh=True))

    def passages_of(
        self, versions: dict[str, str]
    ) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """(ids, stored texts, metadatas) of the passages of these document versions only."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        docs = sorted(versions)
        for start in range(0, len(docs), _IN_BATCH):
            part = docs[start : start + _IN_BATCH]
            where = {"doc_id": part[0]} if len(part) == 1 else {"doc_id": {"$in": part}}
            got = self.collection.get(where=where, include=["documents", "metadatas"])
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                if versions.get(m.get("doc_id")) == m.get("content_hash"):
                    ids.append(i)
                    texts.append(d)
                    metas.append(dict(m))
        return ids, texts, metas

    def iter_passage_metadata(self, page_size: int = 5000) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, metadata) of every stored passage, published or not, in pages."""
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=page_size, offset=offset)
            if not got["ids"]:
                return
            for i, m in zip(got["ids"], got["metadatas"], strict=True):
                yield i, dict(m or {})
            offset += len(got["ids"])

    def delete_passages(self, ids: Sequence[str], batch: int = 1000) -> None:
        """Delete passages by id (in batches; unknown ids are ignored)."""
        for start in range(0, len(ids), batch):
            self.collection.delete(ids=list(ids[start : start + batch]))

    def published_passages(
        self, page_size: int = 5000
    ) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """(ids, stored texts, metadatas) of every passage of a published document version."""
        versions = self._version_map(refresh=True)
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        offset = 0
        while True:
            got = self.collection.get(
                include=["documents", "metadatas"], limit=page_size, offset=offset
            )
            if not got["ids"]:
                break
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                if versions.get(m.get("doc_id")) == m.get("content_hash"):
                    ids.append(i)
                    texts.append(d)
                    metas.append(dict(m))
            offset += len(got["ids"])
        return ids, texts, metas

    # ------------------------------------------------------------------ writes

    def add(
        self,
        doc: SourceDocument,
        passages: Sequence[Passage],
        *,
        file_path: str,
        file_hash: str,
        progress: Progress | None = None,
    ) -> DocumentRecord:
        """Store a document's passages, then publish it in the manifest, then drop old ones
        (`add_many` with one document)."""
        pending = PendingDocument(doc, passages, file_path, file_hash)
        return self.add_many([pending], progress=progress)[0]

    def add_many(
        self,
        documents: Sequence[PendingDocument],
        *,
        batch: int = _UPSERT_BATCH,
        progress: Progress | None = None,
    ) -> list[DocumentRecord]:
        """Store and publish several documents with few writes; their records, in the order given.

        The module's order, for the whole call: every passage of every document is embedded and
        upserted first (`batch` at a time, shortest texts first, so one batch mixes documents),
        then the documents' manifest records and a new generation are written together, then
        passages of their previous versions are deleted. Nothing of the call is published until
        all of its passages are stored: a crash before that leaves the published versions as
        they were, and a failure also deletes what the call stored and raises `IndexError_`.

        Give whole files (the documents of one file are then published together) and a few
        hundred to a few thousand passages per call: they are all held in memory. Over
        _MANIFEST_BATCH documents, the records are written in several writes, each with its
        own new generation."""
        _check_pending(documents)
        if not documents:
            return []
        # Batches of similar length pad less in the encoder (measured: ingest/raw-encode
        # throughput 0.76 -> see bench/results/ingest.md); storage order does not matter.
        rows = sorted(
            ((embedding_text(p), p) for d in documents for p in d.passages),
            key=lambda row: len(row[0]),
        )
        stored_at = time.time()
        try:
            for start in range(0, len(rows), batch):
                texts = [text for text, _ in rows[start : start + batch]]
                chunk = [p for _, p in rows[start : start + batch]]
                self.collection.upsert(
                    ids=[p.id for p in chunk],
                    embeddings=self.embedder.embed_documents(texts),
                    documents=texts,
                    metadatas=[{**p.metadata(), STORED_AT: stored_at} for p in chunk],
                )
                if progress is not None:
                    progress(min(start + batch, len(rows)), len(rows))
        except Exception as exc:
            self._discard_unpublished(documents)
            raise IndexError_(
                f"{_names(documents)}: storing passages failed ({exc}); nothing was changed. "
                "Check disk space or the Chroma server and ingest again."
            ) from exc
        ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
        records = [_record(d, ingested_at) for d in documents]
        try:
            self._publish(records)
        except Exception as exc:
            self._discard_unpublished(documents)
            raise IndexError_(
                f"{_names(documents)}: publishing in the manifest failed ({exc}). Check the "
                "Chroma server or disk space and ingest again; `imr-assist index check "
                "--repair` removes anything left behind."
            ) from exc
        self._drop_stale({p.id for d in documents for p in d.passages}, [r.doc_id for r in records])
        versions = self._version_map()
        for record in records:
            versions[record.doc_id] = record.content_hash
        return records

    def _publish(self, records: Sequence[DocumentRecord]) -> None:
        """Manifest records and a new generation in one write (per _MANIFEST_BATCH records): a
        crash can never leave a published record under the old generation (BM25 side-stores
        would never notice it). The generation's change record is written just before."""
        for start in range(0, len(records), _MANIFEST_BATCH):
            part = records[start : start + _MANIFEST_BATCH]
            metas = [
                {k: v for k, v in r.model_dump(mode="json").items() if v is not None} for r in part
            ]
            generation = self._log_change(added={r.doc_id: r.content_hash for r in part})
            self._manifest.upsert(
                ids=[*(r.doc_id for r in part), _GENERATION_ID],
                embeddings=[[1.0]] * (len(part) + 1),
                metadatas=[*metas, {"generation": generation}],
            )

    def _drop_stale(self, keep: set[str], doc_ids: Sequence[str]) -> None:
        """Delete passages of these documents whose ids are not kept (their previous versions).
        Passage ids derive from the document id, so one set of kept ids serves all of them."""
        for start in range(0, len(doc_ids), _IN_BATCH):
            part = list(doc_ids[start : start + _IN_BATCH])
            where = {"doc_id": part[0]} if len(part) == 1 else {"doc_id": {"$in": part}}
            got = self.collection.get(where=where, include=[])
            self.delete_passages([i for i in got["ids"] if i not in keep])

    def _discard_unpublished(self, documents: Sequence[PendingDocument]) -> None:
        """After a failed write: delete what it stored, except versions the manifest publishes.
        Never raises (the caller reports the first failure); `repair` removes what is left."""
        for d in documents:
            try:
                self._discard(d.doc.doc_id, d.doc.content_hash, keep_published=True)
            except Exception as exc:  # the store is failing: keep the first error
                log.warning("could not delete unpublished passages of %s: %s", d.doc.doc_id, exc)

    def stored_count(self, doc_ids: Sequence[str]) -> int:
        """Passages stored for these documents, any version (one id-only read)."""
        if not doc_ids:
            return 0
        where = {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": list(doc_ids)}}
        return len(self.collection.get(where=where, include=[])["ids"])

    def drop_stale_versions(self, doc_id: str) -> int:
        """Delete passages of `doc_id` that are not of its published version (left by a crash
        between publishing a new version and deleting the old one); how many were deleted."""
        record = self.record(doc_id)
        got = self.collection.get(where={"doc_id": doc_id}, include=["metadatas"])
        stale = [
            i
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            if record is None or (m or {}).get("content_hash") != record.content_hash
        ]
        self.delete_passages(stale)
        return len(stale)

    def _discard(self, doc_id: str, content_hash: str, keep_published: bool) -> None:
        """Delete passages of one version unless the manifest publishes that version."""
        published = self.record(doc_id)
        if keep_published and published and published.content_hash == content_hash:
            return
        self.collection.delete(where={"$and": [{"doc_id": doc_id}, {"content_hash": content_hash}]})

    def remove(self, doc_id: str) -> DocumentRecord:
        """Remove a document: unpublish it first, then delete its passages."""
        record = self.record(doc_id)
        if record is None:
            known = ", ".join(r.doc_id for r in self.records()[:10]) or "none"
            raise DocumentNotFoundError(
                f"No document {doc_id!r} in the index. Known documents: {known}. "
                "See `imr-assist index status`."
            )
        # Bumped before and after: a crash between the delete and the second bump still leaves
        # the generation changed, so no side-store keeps showing the removed document.
        self._bump_generation(self._log_change(removed=[doc_id]))
        self._manifest.delete(ids=[doc_id])
        self._bump_generation(self._log_change(removed=[doc_id]))
        self.collection.delete(where={"doc_id": doc_id})
        self._version_map().pop(doc_id, None)
        from imr_assist.index.recommendations import RecommendationStore  # it imports this

        RecommendationStore(self).remove(doc_id)
        return record

    # ------------------------------------------------------------------ reads

    def search_vector(
        self, vector: list[float], k: int, filters: dict[str, str] | None = None
    ) -> list[Hit]:
        """Nearest passages of published document versions, best first."""
        where = build_where(filters)
        fetch = k + 10  # a few spare for passages of unpublished versions
        results = self.store.similarity_search_by_vector_with_relevance_scores(
            vector, k=fetch, filter=where
        )
        # One snapshot of the manifest for the whole result: refreshing it between hits could
        # show two versions of a document replaced meanwhile.
        versions = self._version_map(refresh=True)
        hits: list[Hit] = []
        for document, distance in results:
            passage = self._passage(document.id, document.page_content, document.metadata)
            if versions.get(passage.doc_id) != passage.content_hash:
                continue
            hits.append(
                Hit(passage=passage, score=round(1.0 - float(distance), 6), rank=len(hits) + 1)
            )
            if len(hits) == k:
                break
        return hits

    def search_vector_ids(
        self, vector: list[float], k: int, filters: dict[str, str] | None = None
    ) -> list[tuple[str, float]]:
        """(id, similarity) of the nearest passages, nothing else: Chroma's cost is reading
        stored data per result, not the HNSW search (measured at 100k: 1.75 ms for distances
        only, 9.9 ms with metadatas). The caller checks publication and reads metadata from
        the BM25 side-store of the current generation."""
        got = self.collection.query(
            query_embeddings=[vector],
            n_results=k,
            where=build_where(filters),
            include=["distances"],
        )
        return [
            (pid, round(1.0 - float(dist), 6))
            for pid, dist in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def get_passages(self, ids: Sequence[str]) -> list[Passage]:
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        return [
            self._passage(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    @staticmethod
    def _passage(pid: str | None, document: str, metadata: dict[str, Any]) -> Passage:
        """Rebuild a passage: the stored document is its heading line, then its text."""
        data = {k: v for k, v in metadata.items() if k in Passage.model_fields}
        heading = str(data.get("heading", ""))
        text = (
            document[len(heading) + 1 :]
            if heading and document.startswith(heading + "\n")
            else document
        )
        return Passage.model_validate({**data, "id": pid or data.get("id"), "text": text})

    def status(self) -> IndexStatus:
        records = self.records()
        by_tier: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        for r in records:
            by_tier[r.tier.value] = by_tier.get(r.tier.value, 0) + 1
            by_kind[r.kind.value] = by_kind.get(r.kind.value, 0) + 1
        return IndexStatus(
            home=str(self.settings.home),
            collection=self.settings.collection_name,
            index_hash=self.settings.index_hash,
            embedding_model=self.settings.embedding.model,
            chroma=self.location,
            documents=len(records),
            passages=sum(r.passages for r in records),
            by_tier=by_tier,
            by_kind=by_kind,
            records=records,
            other_collections=self.other_collections(),
        )

    def other_collections(self) -> list[str]:
        """Passage collections of this prefix built under other settings (e.g. an older parser)."""
        prefix = f"{self.settings.collection_prefix}-"
        try:
            names = [getattr(c, "name", str(c)) for c in self.client.list_collections()]
        except Exception:  # a server that refuses listing: nothing to report
            return []
        return sorted(
            n
            for n in names
            if n.startswith(prefix)
            and not n.endswith(("-manifest", _CHANGES_SUFFIX, "-recommendations", REBUILD_SUFFIX))
            and n != self.settings.collection_name
        )
