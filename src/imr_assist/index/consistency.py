"""Do Chroma's passages, the manifest and the BM25 side-store agree? `check` says; `repair` fixes.

What can drift (a crash, a killed process, two machines sharing a server):

- orphan passages: stored passages whose document version is not the published one (a crash
  mid-store, or between publishing a new version and deleting the old one). Search never shows
  them; they only take space and dense candidates. Re-running the ingest removes those of files
  it sees again; `repair` deletes the rest, except passages younger than a grace period, which
  may belong to an ingest still running.
- incomplete documents: a manifest record whose published version has fewer (or more) passages
  in Chroma than it says. `repair` drops the record and what is left of its passages, so the next
  ingest of that file adds it again (the file no longer looks "unchanged").
- duplicate documents: two manifest records for the same file and the same content. `repair`
  keeps the newest.
- BM25 side-store (per machine, under IMR_HOME): missing or built from an older generation is
  normal (search brings it forward by the change log, or rebuilds it) and not drift; built from
  the current generation but holding other passages than Chroma's published set is drift.
  `repair` rebuilds it from Chroma in every case, so a reviewer machine pointed at a shared
  server gets its side-store with one command, and prunes change records older than
  `CHANGE_LOG_KEEP_S` (a machine further behind rebuilds at its next search).
- a missing generation record while documents are published (`repair` writes one).
- the dense side (Chroma's vector index): a sample of published passages must each find itself
  (or a passage with the same vector) as the top hit of its own stored vector, and that vector must
  match a fresh embedding of its stored text. Thousands of identical vectors (a file of one
  repeated letter, ingested before the ingest screen refused such files) leave the graph unable
  to reach other passages, and removing them does not mend it. `repair` re-creates the collection
  from the stored passages: copying their vectors, or re-embedding every text when stored
  vectors disagree with the model. Processes holding the old collection (the app, another
  machine on a shared server) must be restarted afterwards.
- degenerate documents: a published document most of whose passages repeat one another or have
  no words (what the ingest screen refuses now). `repair` removes them; their files are refused
  if ingested again.
- a rebuild of the dense side that was interrupted (`repair` finishes or discards it).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from imr_assist.errors import IndexError_
from imr_assist.index.lexical import LexicalIndex, lexical_dir, rebuild
from imr_assist.index.store import REBUILD_SUFFIX, STORED_AT, PassageIndex
from imr_assist.ingest.chunking import MAX_REPEATED_SHARE, has_words, passage_key
from imr_assist.models import StrictModel

log = logging.getLogger(__name__)

DEFAULT_GRACE_S = 300.0
"""Unpublished passages younger than this are left by `repair` (an ingest may be running)."""
DENSE_PROBES = 1000
"""Published passages whose own vectors `check` searches with (spread over the documents)."""
VECTOR_PROBES = 32
"""Of those, passages whose stored vector is compared with a fresh embedding of their text."""
_QUERY_BATCH = 250
SAME_VECTOR = 0.99
"""Cosine at which two vectors count as the same (a stored vector and a fresh embedding of its
text; a probe and its top hit)."""
_REBUILD_OF = "imr_rebuild_of"
"""Collection metadata of a rebuild in progress: how many passages it must end up with."""
_PAGE = 1000


class DenseHealth(StrictModel):
    """The dense side's probe: can stored passages still be found by their own vectors?"""

    probed: int = Field(default=0, description="Published passages searched by their vectors")
    compared: int = Field(
        default=0, description="Probed passages whose vector was compared with a fresh embedding"
    )
    unreachable: list[str] = Field(
        default_factory=list,
        description="Probed passage ids whose own stored vector does not return them (or a "
        "passage with the same vector) as the top hit: the vector index is damaged",
    )
    stale: list[str] = Field(
        default_factory=list,
        description=f"Probed passage ids whose stored vector differs from a fresh embedding of "
        f"their stored text (cosine under {SAME_VECTOR})",
    )

    @property
    def healthy(self) -> bool:
        return not (self.unreachable or self.stale)


class DegenerateDocument(StrictModel):
    """A published document whose passages are mostly repeats or have no words."""

    doc_id: str = Field(description="Document id")
    passages: int = Field(description="Its published passages")
    repeated: int = Field(description="Passages near-identical to another of the document")
    wordless: int = Field(description="Passages without words")
    file_path: str | None = Field(default=None, description="File the record was read from")


class VersionDrift(StrictModel):
    """Passages of one document version that disagree with the manifest."""

    doc_id: str = Field(description="Document id")
    content_hash: str = Field(description="Document version (content hash)")
    expected: int = Field(description="Passages the manifest records for it (0: not published)")
    found: int = Field(description="Passages of this version stored in Chroma")
    youngest_age_s: float | None = Field(
        default=None, description="Age of its newest stored passage, seconds (None: unknown)"
    )
    file_path: str | None = Field(default=None, description="File the record was read from")


class ConsistencyReport(StrictModel):
    """What `imr-assist index check` reports."""

    collection: str = Field(description="Chroma collection checked")
    chroma: str = Field(description="'embedded <path>' or the server URL")
    generation: str = Field(description="Manifest generation at the time of the check")
    documents: int = Field(description="Documents in the manifest")
    passages: int = Field(description="Passages stored in Chroma (published or not)")
    published_passages: int = Field(description="Passages of published document versions")
    orphans: list[VersionDrift] = Field(
        default_factory=list, description="Stored versions that are not published"
    )
    incomplete: list[VersionDrift] = Field(
        default_factory=list,
        description="Published versions whose stored passage count differs from the manifest",
    )
    duplicates: list[str] = Field(
        default_factory=list,
        description="Doc ids of manifest records repeating another record's file and content",
    )
    generation_missing: bool = Field(
        default=False, description="Documents are published but no generation is recorded"
    )
    bm25_dir: str = Field(description="BM25 side-store folder on this machine")
    bm25_state: str = Field(
        description="'current' (built from this generation), 'behind' (older generation: "
        "rebuilt at the next search), 'missing' or 'drifted' (this generation, other passages)"
    )
    bm25_missing: int = Field(default=0, description="Published passages absent from BM25")
    bm25_extra: int = Field(default=0, description="BM25 passages not published in Chroma")
    bm25_duplicates: int = Field(default=0, description="Passage ids repeated in BM25")
    dense: DenseHealth = Field(
        default_factory=DenseHealth, description="Probe of the dense side (Chroma's vectors)"
    )
    degenerate: list[DegenerateDocument] = Field(
        default_factory=list,
        description="Published documents whose passages are mostly repeats or word-less",
    )
    rebuild_interrupted: bool = Field(
        default=False, description="A rebuild of the dense side was left unfinished"
    )
    repaired: list[str] = Field(
        default_factory=list, description="What `repair` changed, one line per action"
    )
    left: list[str] = Field(
        default_factory=list, description="Drift `repair` deliberately left, and why"
    )

    @property
    def clean(self) -> bool:
        """No drift (a BM25 side-store that is behind or missing is not drift)."""
        return not (
            self.orphans
            or self.incomplete
            or self.duplicates
            or self.generation_missing
            or self.bm25_state == "drifted"
            or not self.dense.healthy
            or self.degenerate
            or self.rebuild_interrupted
        )

    def problems(self) -> list[str]:
        """One human line per kind of drift found."""
        out = []
        if self.orphans:
            n = sum(o.found for o in self.orphans)
            out.append(f"{n} orphan passage(s) of {len(self.orphans)} unpublished version(s)")
        for d in self.incomplete:
            out.append(
                f"{d.doc_id}: the manifest records {d.expected} passages, "
                f"{d.found} are stored for its version"
            )
        if self.duplicates:
            out.append(f"duplicate manifest records: {', '.join(self.duplicates)}")
        if self.generation_missing:
            out.append("no manifest generation recorded")
        if self.bm25_state == "drifted":
            out.append(
                f"BM25 side-store disagrees with Chroma at this generation: "
                f"{self.bm25_missing} missing, {self.bm25_extra} extra, "
                f"{self.bm25_duplicates} duplicate passage(s)"
            )
        if self.dense.unreachable:
            out.append(
                f"dense search is damaged: {len(self.dense.unreachable)} of {self.dense.probed} "
                "probed passages are not found by their own vectors"
            )
        if self.dense.stale:
            out.append(
                f"{len(self.dense.stale)} of {self.dense.compared} probed passages have stored "
                "vectors that differ from the embedding model's"
            )
        for g in self.degenerate:
            out.append(
                f"{g.doc_id}: {g.repeated + g.wordless} of its {g.passages} passages repeat "
                "one another or have no words"
            )
        if self.rebuild_interrupted:
            out.append("a rebuild of the dense side was interrupted")
        return out


def check(index: PassageIndex, *, probes: int = DENSE_PROBES) -> ConsistencyReport:
    """Compare Chroma's passages, the manifest and this machine's BM25 side-store (read-only),
    and probe the dense side with `probes` published passages.

    Run it while no ingest writes to the same index: passages of an ingest in progress look
    like orphans until the ingest publishes them."""
    generation = index.generation()
    records = index.records()
    published = {r.doc_id: r for r in records}
    counts: Counter[tuple[str, str]] = Counter()
    newest: dict[tuple[str, str], float] = {}
    published_ids: set[str] = set()
    by_doc: dict[str, list[str]] = {}
    screens: dict[str, _Screen] = {}
    total = 0
    for pid, text, meta in _iter_passages(index):
        total += 1
        key = (str(meta.get("doc_id", "")), str(meta.get("content_hash", "")))
        counts[key] += 1
        stored = meta.get(STORED_AT)
        if isinstance(stored, int | float):
            newest[key] = max(newest.get(key, 0.0), float(stored))
        record = published.get(key[0])
        if record is not None and record.content_hash == key[1]:
            published_ids.add(pid)
            by_doc.setdefault(key[0], []).append(pid)
            screens.setdefault(key[0], _Screen()).add(text, str(meta.get("heading") or ""))
    now = time.time()

    def age(key: tuple[str, str]) -> float | None:
        return round(now - newest[key], 1) if key in newest else None

    orphans = [
        VersionDrift(
            doc_id=doc_id, content_hash=h, expected=0, found=n, youngest_age_s=age((doc_id, h))
        )
        for (doc_id, h), n in sorted(counts.items())
        if (doc_id not in published or published[doc_id].content_hash != h)
    ]
    incomplete = [
        VersionDrift(
            doc_id=r.doc_id,
            content_hash=r.content_hash,
            expected=r.passages,
            found=counts[(r.doc_id, r.content_hash)],
            youngest_age_s=age((r.doc_id, r.content_hash)),
            file_path=r.file_path,
        )
        for r in records
        if counts[(r.doc_id, r.content_hash)] != r.passages
    ]
    seen: dict[tuple[str, str], str] = {}
    duplicates: list[str] = []
    for r in sorted(records, key=lambda r: r.ingested_at, reverse=True):
        key = (r.file_path, r.content_hash)
        if key in seen:
            duplicates.append(r.doc_id)
        else:
            seen[key] = r.doc_id
    directory = lexical_dir(index.settings.home, index.settings.collection_name)
    lexical = LexicalIndex.load(directory)
    state, missing, extra, dups = "missing", 0, 0, 0
    if lexical is not None:
        if lexical.generation != generation:
            state = "behind"
        else:
            ids = set(lexical.ids)
            missing = len(published_ids - ids)
            extra = len(ids - published_ids)
            dups = len(lexical.ids) - len(ids)
            state = "drifted" if missing or extra or dups else "current"
    return ConsistencyReport(
        collection=index.settings.collection_name,
        chroma=index.location,
        generation=generation,
        documents=len(records),
        passages=total,
        published_passages=len(published_ids),
        orphans=orphans,
        incomplete=incomplete,
        duplicates=sorted(duplicates),
        generation_missing=bool(records) and generation == "empty",
        bm25_dir=str(directory),
        bm25_state=state,
        bm25_missing=missing,
        bm25_extra=extra,
        bm25_duplicates=dups,
        dense=probe_dense(index, _spread(by_doc, probes)),
        degenerate=[
            DegenerateDocument(
                doc_id=doc_id,
                passages=sc.total,
                repeated=sc.repeated,
                wordless=sc.wordless,
                file_path=published[doc_id].file_path,
            )
            for doc_id, sc in sorted(screens.items())
            if sc.degenerate
        ],
        rebuild_interrupted=_rebuild_leftover(index) is not None,
    )


def repair(index: PassageIndex, *, grace_s: float = DEFAULT_GRACE_S) -> ConsistencyReport:
    """Fix what `check` finds, then check again; running it twice changes nothing the second time.

    - duplicate records: the older ones are removed (record and passages);
    - incomplete records: dropped (record and remaining passages) so the next ingest of the
      file adds the document again;
    - orphan passages: deleted, unless stored less than `grace_s` seconds ago (an ingest may
      still be writing them; they are listed in `left`);
    - a missing generation is written; a drifted BM25 side-store moves to a new generation;
    - degenerate documents are removed (record and passages);
    - the dense side is re-created from the stored passages when the probe finds it damaged
      (vectors copied) or its vectors stale (texts re-embedded), and after degenerate documents
      were removed (their deleted vectors stay in the old graph); an interrupted re-creation is
      finished first;
    - the BM25 side-store of this machine is rebuilt from Chroma's published passages.
    """
    actions: list[str] = []
    left: list[str] = []
    finished = _finish_rebuild(index)
    if finished:
        actions.append(finished)
    before = check(index)
    for doc_id in before.duplicates:
        index.remove(doc_id)
        actions.append(f"removed duplicate record {doc_id} and its passages")
    dropped = set(before.duplicates)
    for d in before.incomplete:
        if d.doc_id in dropped:
            continue
        # Every record of the file goes: with one left, the file would look "unchanged".
        for r in index.records_for_file(d.file_path or ""):
            index.remove(r.doc_id)
            dropped.add(r.doc_id)
        actions.append(
            f"dropped record {d.doc_id} ({d.found} of {d.expected} passages stored) and the "
            f"other records of its file; ingest {d.file_path} again to add it"
        )
    doomed: list[str] = []
    for o in before.orphans:
        if o.youngest_age_s is not None and o.youngest_age_s < grace_s:
            left.append(
                f"{o.found} unpublished passage(s) of {o.doc_id} stored {o.youngest_age_s:.0f} s "
                f"ago (under the {grace_s:.0f} s grace: an ingest may be running)"
            )
            continue
        doomed.extend(_version_ids(index, o.doc_id, o.content_hash))
    if doomed:
        index.delete_passages(doomed)
        actions.append(f"deleted {len(doomed)} orphan passage(s)")
    for g in before.degenerate:
        if g.doc_id in dropped:
            continue
        index.remove(g.doc_id)
        actions.append(
            f"removed {g.doc_id}: {g.repeated + g.wordless} of its {g.passages} passages repeat "
            f"one another or have no words (ingesting {g.file_path} again refuses it)"
        )
    if not before.dense.healthy or before.degenerate:
        reembed = bool(before.dense.stale)
        count = rebuild_dense(index, reembed=reembed)
        how = "re-embedding every text" if reembed else "copying the stored vectors"
        actions.append(
            f"re-created the dense side from {count} stored passages ({how}); restart other "
            "processes using this index (the app, other machines)"
        )
    if before.generation_missing or before.bm25_state == "drifted":
        index.bump_generation()  # every process drops what it built at the old generation
        actions.append("moved the manifest to a new generation")
    count = rebuild_lexical(index)
    actions.append(f"rebuilt the BM25 side-store from Chroma ({count} passages)")
    pruned = index.prune_changes()
    if pruned:
        actions.append(f"pruned {pruned} change-log record(s) older than 30 days")
    after = check(index)
    return after.model_copy(update={"repaired": actions, "left": left})


def rebuild_lexical(index: PassageIndex, directory: Path | None = None) -> int:
    """Build this machine's BM25 side-store from Chroma's published passages; passage count."""
    directory = directory or lexical_dir(index.settings.home, index.settings.collection_name)
    built, update = rebuild(index, index.generation())
    built.save(directory)
    log.info("rebuilt BM25 side-store: %s", update.model_dump_json())
    return len(built)


def _version_ids(index: PassageIndex, doc_id: str, content_hash: str) -> list[str]:
    where = {"$and": [{"doc_id": doc_id}, {"content_hash": content_hash}]}
    return list(index.collection.get(where=where, include=[])["ids"])


# --------------------------------------------------------------------------- the dense side


class _Screen:
    """Counts of repeated and word-less passages of one document (ingest's screen, replayed)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.total = self.repeated = self.wordless = 0

    def add(self, stored: str, heading: str) -> None:
        self.total += 1
        body = (
            stored[len(heading) + 1 :] if heading and stored.startswith(heading + "\n") else stored
        )
        if not has_words(body):
            self.wordless += 1
            return
        key = passage_key(stored)
        if key in self.keys:
            self.repeated += 1
        self.keys.add(key)

    @property
    def degenerate(self) -> bool:
        dropped = self.repeated + self.wordless
        return dropped == self.total or dropped > MAX_REPEATED_SHARE * self.total


def _iter_passages(index: PassageIndex) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(id, stored text, metadata) of every stored passage, published or not, in pages."""
    offset = 0
    while True:
        got = index.collection.get(
            include=["documents", "metadatas"], limit=_PAGE * 5, offset=offset
        )
        if not got["ids"]:
            return
        for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            yield i, str(d or ""), dict(m or {})
        offset += len(got["ids"])


def _spread(by_doc: dict[str, list[str]], n: int) -> list[str]:
    """Up to n passage ids, taken from every document in turn (a document of thousands of
    passages gets no more probes than one of three); the same ones every time."""
    columns = [sorted(ids) for _, ids in sorted(by_doc.items())]
    out: list[str] = []
    for depth in range(max(map(len, columns), default=0)):
        row = [ids[depth] for ids in columns if depth < len(ids)]
        if len(out) == n:
            break
        if len(out) + len(row) > n:  # more documents than probes left: spread over them
            step = len(row) / (n - len(out))
            return out + [row[int(i * step)] for i in range(n - len(out))]
        out += row
    return out


def probe_dense(
    index: PassageIndex, sample: list[str], compare: int = VECTOR_PROBES
) -> DenseHealth:
    """Probe the dense side with these passage ids: each one's stored vector must return it
    (or a passage with the same vector) first; the first `compare` of them must also have a
    stored vector that matches a fresh embedding of their stored text."""
    if not sample:
        return DenseHealth()
    pids: list[str] = []
    compared: list[str] = []
    unreachable: list[str] = []
    stale: list[str] = []
    for start in range(0, len(sample), _QUERY_BATCH):
        got = index.collection.get(
            ids=sample[start : start + _QUERY_BATCH], include=["embeddings", "documents"]
        )
        stored = np.asarray(got["embeddings"], dtype=float)
        hits = index.collection.query(
            query_embeddings=stored.tolist(), n_results=1, include=["distances"]
        )
        for row, pid in enumerate(got["ids"]):
            top = hits["ids"][row][:1]
            # another passage with the same vector (identical text, or only words the embedder
            # ignores) ties with the probe: as good a hit, not damage
            tie = bool(top) and 1.0 - float(hits["distances"][row][0]) >= SAME_VECTOR
            if not top or not (top[0] == pid or tie):
                unreachable.append(pid)
        n = min(compare - len(compared), len(got["ids"]))
        if n > 0:
            docs = [str(d or "") for d in got["documents"][:n]]
            fresh = np.asarray(index.embedder.embed_documents(docs), dtype=float)
            for row in range(n):
                if _cosine(stored[row], fresh[row]) < SAME_VECTOR:
                    stale.append(got["ids"][row])
            compared.extend(got["ids"][:n])
        pids.extend(got["ids"])
    if unreachable or stale:
        log.warning(
            "dense probe: %d of %d unreachable, %d of %d stale",
            len(unreachable),
            len(pids),
            len(stale),
            len(compared),
        )
    return DenseHealth(
        probed=len(pids), compared=len(compared), unreachable=unreachable, stale=stale
    )


def _cosine(a: Any, b: Any) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm else 0.0


def _rebuild_leftover(index: PassageIndex) -> Any | None:
    """The collection of an unfinished rebuild, if there is one."""
    name = index.settings.collection_name + REBUILD_SUFFIX
    try:
        names = {getattr(c, "name", str(c)) for c in index.client.list_collections()}
    except Exception:  # a server that refuses listing: nothing to report
        return None
    return index.client.get_collection(name) if name in names else None


def rebuild_dense(index: PassageIndex, *, reembed: bool, batch: int = 256) -> int:
    """Re-create the passage collection from its stored passages (ids, texts, metadata), with
    their stored vectors or, when `reembed`, fresh embeddings of their texts; passage count.

    Built beside the live collection, which is replaced only once the copy is complete (a crash
    before that leaves the live one as it was; after it, `repair` finishes the swap). Handles
    to the old collection in other processes stop working: restart them."""
    client = index.client
    name = index.settings.collection_name
    temp = name + REBUILD_SUFFIX
    old = index.collection
    if _rebuild_leftover(index) is not None:
        client.delete_collection(temp)
    expected = old.count()
    new = client.create_collection(temp, metadata={**(old.metadata or {}), _REBUILD_OF: expected})
    include = ["documents", "metadatas"] + ([] if reembed else ["embeddings"])
    offset = 0
    try:
        while True:
            got = old.get(include=include, limit=batch, offset=offset)
            if not got["ids"]:
                break
            texts = [str(d or "") for d in got["documents"]]
            vectors = index.embedder.embed_documents(texts) if reembed else got["embeddings"]
            new.add(ids=got["ids"], embeddings=vectors, documents=texts, metadatas=got["metadatas"])
            offset += len(got["ids"])
        if new.count() != expected:
            raise IndexError_(f"the rebuilt collection holds {new.count()} of {expected} passages")
    except Exception as exc:
        client.delete_collection(temp)
        raise IndexError_(
            f"Rebuilding the dense side of {name} failed ({exc}); the index is as it was. "
            "Check disk space or the Chroma server and run `imr-assist index check --repair` "
            "again."
        ) from exc
    client.delete_collection(name)
    new.modify(name=name)
    index.reopen()
    log.info("rebuilt the dense side of %s: %d passages (re-embedded: %s)", name, expected, reembed)
    return expected


def _finish_rebuild(index: PassageIndex) -> str | None:
    """After a crash during `rebuild_dense`: swap in a complete copy whose live collection is
    gone (then empty), else drop the copy; what was done."""
    leftover = _rebuild_leftover(index)
    if leftover is None:
        return None
    complete = leftover.count() == (leftover.metadata or {}).get(_REBUILD_OF)
    if complete and index.collection.count() == 0:
        index.client.delete_collection(index.settings.collection_name)
        leftover.modify(name=index.settings.collection_name)
        index.reopen()
        return f"finished an interrupted rebuild of the dense side ({leftover.count()} passages)"
    index.client.delete_collection(leftover.name)
    return "deleted the copy left by an interrupted rebuild of the dense side"
