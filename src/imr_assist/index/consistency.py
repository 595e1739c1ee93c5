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
  normal (search rebuilds it) and not drift; built from the current generation but holding other
  passages than Chroma's published set is drift. `repair` rebuilds it from Chroma in every case,
  so a reviewer machine pointed at a shared server gets its side-store with one command.
- a missing generation record while documents are published (`repair` writes one).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from imr_assist.index.lexical import LexicalIndex, lexical_dir
from imr_assist.index.store import STORED_AT, PassageIndex

log = logging.getLogger(__name__)

DEFAULT_GRACE_S = 300.0
"""Unpublished passages younger than this are left by `repair` (an ingest may be running)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionDrift(_Model):
    """Passages of one document version that disagree with the manifest."""

    doc_id: str = Field(description="Document id")
    content_hash: str = Field(description="Document version (content hash)")
    expected: int = Field(description="Passages the manifest records for it (0: not published)")
    found: int = Field(description="Passages of this version stored in Chroma")
    youngest_age_s: float | None = Field(
        default=None, description="Age of its newest stored passage, seconds (None: unknown)"
    )
    file_path: str | None = Field(default=None, description="File the record was read from")


class ConsistencyReport(_Model):
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
        return out


def check(index: PassageIndex) -> ConsistencyReport:
    """Compare Chroma's passages, the manifest and this machine's BM25 side-store (read-only).

    Run it while no ingest writes to the same index: passages of an ingest in progress look
    like orphans until the ingest publishes them."""
    generation = index.generation()
    records = index.records()
    published = {r.doc_id: r for r in records}
    counts: Counter[tuple[str, str]] = Counter()
    newest: dict[tuple[str, str], float] = {}
    published_ids: set[str] = set()
    total = 0
    for pid, meta in index.iter_passage_metadata():
        total += 1
        key = (str(meta.get("doc_id", "")), str(meta.get("content_hash", "")))
        counts[key] += 1
        stored = meta.get(STORED_AT)
        if isinstance(stored, int | float):
            newest[key] = max(newest.get(key, 0.0), float(stored))
        record = published.get(key[0])
        if record is not None and record.content_hash == key[1]:
            published_ids.add(pid)
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
    )


def repair(index: PassageIndex, *, grace_s: float = DEFAULT_GRACE_S) -> ConsistencyReport:
    """Fix what `check` finds, then check again; running it twice changes nothing the second time.

    - duplicate records: the older ones are removed (record and passages);
    - incomplete records: dropped (record and remaining passages) so the next ingest of the
      file adds the document again;
    - orphan passages: deleted, unless stored less than `grace_s` seconds ago (an ingest may
      still be writing them; they are listed in `left`);
    - a missing generation is written; a drifted BM25 side-store moves to a new generation;
    - the BM25 side-store of this machine is rebuilt from Chroma's published passages.
    """
    before = check(index)
    actions: list[str] = []
    left: list[str] = []
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
    if before.generation_missing or before.bm25_state == "drifted":
        index.bump_generation()  # every process drops what it built at the old generation
        actions.append("moved the manifest to a new generation")
    count = rebuild_lexical(index)
    actions.append(f"rebuilt the BM25 side-store from Chroma ({count} passages)")
    after = check(index)
    return after.model_copy(update={"repaired": actions, "left": left})


def rebuild_lexical(index: PassageIndex, directory: Path | None = None) -> int:
    """Build this machine's BM25 side-store from Chroma's published passages; passage count."""
    directory = directory or lexical_dir(index.settings.home, index.settings.collection_name)
    generation = index.generation()
    ids, texts, metas = index.published_passages()
    LexicalIndex.build(ids, texts, metas, generation).save(directory)
    log.info("rebuilt BM25 side-store: %d passages, generation %s", len(ids), generation)
    return len(ids)


def _version_ids(index: PassageIndex, doc_id: str, content_hash: str) -> list[str]:
    where = {"$and": [{"doc_id": doc_id}, {"content_hash": content_hash}]}
    return list(index.collection.get(where=where, include=[])["ids"])
