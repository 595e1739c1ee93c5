"""The lexical side of retrieval: BM25 over the published passages, in segments, persisted on disk.

The index is a list of immutable segments (postings of term frequencies, document lengths, the
passages' metadata columns) plus, per segment, which rows are deleted (tombstones). Scores are
computed at query time from the term frequencies with the collection-wide document frequency and
average length of the live rows, so a segmented index ranks exactly like one index built from the
same passages (bm25s' Lucene BM25, k1=1.5, b=0.75, the formula this side used before it was
segmented). Adding or removing a document writes one small segment and a tombstone list, not the
corpus; segments are merged when a newer one grows to a quarter of the one before it (so there
are O(log n) of them, and each passage is rewritten O(log n) times), and a segment is rewritten
alone when more than a third of its rows are deleted.

The index is a function of the manifest: it records the manifest generation it reflects and is
brought to the current generation whenever they differ (after an ingest or removal in this or
another process or machine), by `follow` (the change log: only the changed documents' passages
are fetched) or, when the log cannot take it there, by `rebuild` (every published passage). It
lives on each machine under IMR_HOME/bm25/<collection> even when Chroma is a shared server.
Filters are applied as a weight mask built from the same metadata the dense side filters on.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from imr_assist.index.filters import filter_mask
from imr_assist.index.segments import TMP_PREFIX, Segment, merge
from imr_assist.models import StrictModel
from imr_assist.text.tokens import tokenize

if TYPE_CHECKING:
    from imr_assist.index.store import PassageIndex

log = logging.getLogger(__name__)

K1 = 1.5
B = 0.75
"""BM25 parameters (bm25s' defaults, what this side always used)."""
MERGE_RATIO = 4
"""A segment is merged into the one before it once that one is under MERGE_RATIO times its size."""
MAX_DELETED_SHARE = 1 / 3
"""A segment with more deleted rows than this share is rewritten without them."""


class LexicalUpdate(StrictModel):
    """How the lexical index reached a generation (what `HybridRetriever.lexical()` did)."""

    kind: str = Field(
        description="'incremental' (changes applied), 'rebuilt' (every passage read), "
        "'loaded' (saved copy of this generation read from disk)"
    )
    generation: str = Field(description="Manifest generation reached")
    from_generation: str | None = Field(
        default=None, description="Generation it started from (None: nothing to start from)"
    )
    documents_added: int = Field(default=0, description="Documents whose passages were fetched")
    documents_removed: int = Field(
        default=0, description="Documents whose old passages were deleted (replaced or removed)"
    )
    passages_fetched: int = Field(default=0, description="Passages read from Chroma")
    passages_removed: int = Field(default=0, description="Passages deleted from the index")
    passages: int = Field(default=0, description="Passages in the index afterwards")
    seconds: float = Field(default=0.0, description="Wall time of the update")
    reason: str = Field(default="", description="Why a rebuild was needed")


# --------------------------------------------------------------------------- the index


class LexicalIndex:
    """BM25 over segments of passages, with per-passage metadata columns for filtering."""

    def __init__(
        self,
        segments: list[Segment],
        deleted: list[np.ndarray],
        generation: str,
    ) -> None:
        self.segments = segments
        self.deleted = [np.unique(np.asarray(d, dtype=np.int64)) for d in deleted]
        self.generation = generation
        self.live = []
        for seg, dead in zip(segments, self.deleted, strict=True):
            live = np.ones(len(seg), dtype=bool)
            live[dead] = False
            self.live.append(live)
        self._tfc_cache: dict[tuple[int, int], np.ndarray] = {}
        self._n = int(sum(int(v.sum()) for v in self.live))
        self._total_length = float(
            sum(
                float(np.asarray(s.lengths)[v].sum())
                for s, v in zip(segments, self.live, strict=True)
            )
        )

    @classmethod
    def build(
        cls,
        ids: list[str],
        texts: list[str],
        metadatas: list[dict[str, Any]],
        generation: str,
    ) -> LexicalIndex:
        segments = [Segment.from_passages(ids, texts, metadatas)] if ids else []
        return cls(segments, [np.zeros(0, np.int64)] * len(segments), generation)

    def __len__(self) -> int:
        return self._n

    @cached_property
    def ids(self) -> list[str]:
        """Ids of the live passages (segment order)."""
        return [
            pid
            for seg, live in zip(self.segments, self.live, strict=True)
            for pid, alive in zip(seg.ids, live, strict=True)
            if alive
        ]

    def _locate(self, passage_id: str) -> tuple[Segment, int] | None:
        for seg, live in zip(self.segments, self.live, strict=True):
            row = seg.row_of.get(passage_id)
            if row is not None and live[row]:
                return seg, row
        return None

    def has(self, passage_id: str) -> bool:
        """Is the passage published in this generation?"""
        return self._locate(passage_id) is not None

    def column(self, passage_id: str, key: str) -> str:
        """A metadata value of a passage ('' when unknown)."""
        found = self._locate(passage_id)
        return "" if found is None else str(found[0].columns[key][found[1]])

    def versions(self) -> dict[str, str]:
        """Document id -> content hash of the passages held (one version per document)."""
        out: dict[str, str] = {}
        for seg, live in zip(self.segments, self.live, strict=True):
            for doc, rows in seg.rows_of_doc.items():
                alive = rows[live[rows]]
                if len(alive):
                    out[doc] = str(seg.columns["content_hash"][alive[0]])
        return out

    def mask(self, filters: dict[str, str] | None) -> np.ndarray | None:
        """1.0 where a passage passes every filter (the same passages as `build_where` keeps);
        one entry per row of every segment, deleted rows included."""
        if not filters:
            return None
        parts = [filter_mask(seg.columns, filters) for seg in self.segments]
        return np.concatenate([p for p in parts if p is not None]) if parts else None

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 of every row of every segment (0 for deleted rows) for these query tokens; a
        token repeated in the query counts as often as it occurs (as in bm25s)."""
        if not self._n:
            return np.zeros(sum(len(s) for s in self.segments), dtype=np.float64)
        rows: list[list[np.ndarray]] = [[] for _ in self.segments]
        weights: list[list[np.ndarray]] = [[] for _ in self.segments]
        for term, count in Counter(tokens).items():
            spans = []
            for i, seg in enumerate(self.segments):
                col = seg.vocab.get(term)
                if col is not None:
                    spans.append((i, int(seg.indptr[col]), int(seg.indptr[col + 1])))
            df = sum(
                int(self.live[i][self.segments[i].rows[a:b]].sum())
                if len(self.deleted[i])
                else b - a
                for i, a, b in spans
            )
            if not df:
                continue
            idf = math.log(1 + (self._n - df + 0.5) / (df + 0.5)) * count
            for i, a, b in spans:
                rows[i].append(self.segments[i].rows[a:b])
                weights[i].append(idf * self._tfc(i, a, b))
        parts = []
        for i, seg in enumerate(self.segments):
            if rows[i]:
                part = np.bincount(
                    np.concatenate(rows[i]), weights=np.concatenate(weights[i]), minlength=len(seg)
                )
                if len(self.deleted[i]):
                    part *= self.live[i]
            else:
                part = np.zeros(len(seg), dtype=np.float64)
            parts.append(part)
        return np.concatenate(parts)

    def search(
        self, query: str, k: int, filters: dict[str, str] | None = None
    ) -> list[tuple[str, float]]:
        """(passage id, BM25 score) best first, ties by id; passages scoring 0 are left out."""
        if not self._n:
            return []
        tokens = tokenize([query])[0]
        if not tokens:
            return []
        scores = self.scores(tokens)
        weights = self.mask(filters)
        if weights is not None:
            scores *= weights
        k = min(k, len(scores))
        kth = np.partition(-scores, k - 1)[k - 1]
        # the k best and everything tied with the k-th, so that ties are cut by id
        top = np.flatnonzero((scores >= -kth) & (scores > 0))
        all_ids = self._all_ids
        ranked = sorted(
            ((all_ids[i], float(scores[i])) for i in top),
            key=lambda row: (-row[1], row[0]),
        )
        return ranked[:k]

    def _tfc(self, segment: int, start: int, end: int) -> np.ndarray:
        """The term-frequency part of BM25 of one term's postings in one segment, tf / (tf +
        k1 * (1 - b + b * length / average length)), float32 as bm25s stores its scores. It
        depends on the average length of this state's live rows, so it is computed per state,
        for the terms queried (cached): a new state costs nothing until a query touches it."""
        key = (segment, start)
        cached = self._tfc_cache.get(key)
        if cached is None:
            seg = self.segments[segment]
            tf = np.asarray(seg.tf[start:end], dtype=np.float64)
            norm = self._norms[segment][np.asarray(seg.rows[start:end])]
            cached = self._tfc_cache[key] = (tf / (tf + norm)).astype(np.float32)
        return cached

    @cached_property
    def _norms(self) -> list[np.ndarray]:
        """Per segment, k1 * (1 - b + b * length / average length) of each row."""
        avg = self._total_length / self._n if self._n else 1.0
        return [
            K1 * ((1 - B) + B * np.asarray(s.lengths, dtype=np.float64) / avg)
            for s in self.segments
        ]

    @cached_property
    def _all_ids(self) -> list[str]:
        return [pid for seg in self.segments for pid in seg.ids]

    # ------------------------------------------------------------------ changes

    def changed(
        self,
        doc_ids: Iterable[str],
        ids: list[str],
        texts: list[str],
        metadatas: list[dict[str, Any]],
        generation: str,
    ) -> tuple[LexicalIndex, int]:
        """A new index: every passage of `doc_ids` deleted, these passages added (one new
        segment), labelled `generation`; and how many passages were deleted. Segments are
        merged as the module says; this index is left as it was (readers may hold it)."""
        docs = set(doc_ids)
        deleted = [d.copy() for d in self.deleted]
        removed = 0
        for i, (seg, live) in enumerate(zip(self.segments, self.live, strict=True)):
            rows = [seg.rows_of_doc[d] for d in docs if d in seg.rows_of_doc]
            if rows:
                gone = np.concatenate(rows)
                gone = gone[live[gone]]
                removed += len(gone)
                deleted[i] = np.union1d(deleted[i], gone)
        segments = list(self.segments)
        if ids:
            segments.append(Segment.from_passages(ids, texts, metadatas))
            deleted.append(np.zeros(0, np.int64))
        segments, deleted = _compact(segments, deleted)
        return LexicalIndex(segments, deleted, generation), removed

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        """Write without ever exposing a half-written index, also with several writers (threads
        of one process, or processes sharing a home): segments not yet saved go to their own
        folders, then a state file (generation, segments, deleted rows) is written and the
        `CURRENT` pointer replaced atomically. A change writes one small segment and a state
        file, not the corpus. Older states are pruned (a few kept for readers that read the
        pointer just before it moved), and segments no kept state uses."""
        directory.mkdir(parents=True, exist_ok=True)
        for seg in self.segments:
            seg.save(directory)
        state = {
            "format": _FORMAT,
            "generation": self.generation,
            "segments": [
                {"name": s.name, "deleted": d.tolist()}
                for s, d in zip(self.segments, self.deleted, strict=True)
            ],
        }
        name = f"{_STATE_PREFIX}{uuid.uuid4().hex}.json"
        tmp = directory / f"{_TMP_PREFIX}{name}"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, directory / name)
        pointer = directory / f"{_TMP_PREFIX}{uuid.uuid4().hex}.ptr"
        pointer.write_text(name)
        os.replace(pointer, directory / _POINTER)
        _prune(directory, keep=name)

    @staticmethod
    def saved_generation(directory: Path) -> str | None:
        """The generation of the saved index (reads only its state file), None when unusable."""
        state = _read_state(directory)
        return None if state is None else str(state["generation"])

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex | None:
        """The saved index, or None when missing or unreadable (it is then rebuilt)."""
        state = _read_state(directory)
        if state is None:
            return None
        try:
            segments = [Segment.load(directory / s["name"]) for s in state["segments"]]
            deleted = [np.asarray(s["deleted"], dtype=np.int64) for s in state["segments"]]
            return cls(segments, deleted, str(state["generation"]))
        except (OSError, ValueError, KeyError, IndexError) as exc:
            log.info("BM25 index at %s not usable (%s); it will be rebuilt", directory, exc)
            return None


def _compact(
    segments: list[Segment], deleted: list[np.ndarray]
) -> tuple[list[Segment], list[np.ndarray]]:
    """Merge the newest segment into the one before it while that one is under MERGE_RATIO
    times its live size; rewrite any segment with more than MAX_DELETED_SHARE deleted rows."""

    def live(i: int) -> int:
        return len(segments[i]) - len(deleted[i])

    while len(segments) >= 2 and live(-2) < MERGE_RATIO * max(live(-1), 1):
        merged = merge(segments[-2:], deleted[-2:])
        segments[-2:] = [merged]
        deleted[-2:] = [np.zeros(0, np.int64)]
    for i, seg in enumerate(segments):
        if len(deleted[i]) > MAX_DELETED_SHARE * len(seg):
            segments[i] = merge([seg], [deleted[i]])
            deleted[i] = np.zeros(0, np.int64)
    keep = [i for i, s in enumerate(segments) if len(s)]
    return [segments[i] for i in keep], [deleted[i] for i in keep]


# --------------------------------------------------------------------------- following Chroma


def rebuild(index: PassageIndex, generation: str) -> tuple[LexicalIndex, LexicalUpdate]:
    """Every published passage read from Chroma, labelled `generation` (read before it)."""
    started = time.perf_counter()
    ids, texts, metas = index.published_passages()
    built = LexicalIndex.build(ids, texts, metas, generation)
    return built, LexicalUpdate(
        kind="rebuilt",
        generation=generation,
        passages_fetched=len(ids),
        passages=len(built),
        seconds=round(time.perf_counter() - started, 3),
    )


def follow(
    index: PassageIndex, lexical: LexicalIndex, generation: str
) -> tuple[LexicalIndex, LexicalUpdate] | None:
    """`lexical` brought to `generation` (read before this call) by applying the changes since
    its own generation: only the changed documents' passages are fetched from Chroma. None when
    the change log cannot take it there (a generation missing from the log, pruned, or moved by
    `bump_generation`): the caller rebuilds.

    The log says which documents changed; the manifest says which version of each is published
    now, and any document whose held version differs from it is brought in step too. Two
    writers that publish from the same generation each log a change from it, and only the
    last one's generation stays current, so the log alone would miss the first one's change.
    """
    started = time.perf_counter()
    chain = index.changes_since(lexical.generation, generation)
    if chain is None:
        return None
    logged = {doc for change in chain for doc in (*change.added, *change.removed)}
    published = index.published_versions()  # read after `generation`: content never older
    held = lexical.versions()
    differ = {d for d in published.keys() | held.keys() if published.get(d) != held.get(d)}
    unlogged = differ - logged
    if unlogged:
        log.warning(
            "BM25: %d document(s) changed without a change-log entry on the way to generation "
            "%s (two writers published from the same generation); taken from the manifest",
            len(unlogged),
            generation,
        )
    touched = logged | differ
    wanted = {d: published[d] for d in touched if d in published}
    ids, texts, metas = index.passages_of(wanted)
    updated, removed = lexical.changed(touched, ids, texts, metas, generation)
    return updated, LexicalUpdate(
        kind="incremental",
        generation=generation,
        from_generation=lexical.generation,
        documents_added=len(wanted),
        documents_removed=len(touched & held.keys()),
        passages_fetched=len(ids),
        passages_removed=removed,
        passages=len(updated),
        seconds=round(time.perf_counter() - started, 3),
    )


# --------------------------------------------------------------------------- the folder

_FORMAT = "segments-1"
_POINTER = "CURRENT"
_STATE_PREFIX = "state-"
_SEG_PREFIX = "s-"
_LEGACY_PREFIX = "g-"  # whole-index folders of the format before segments
_TMP_PREFIX = TMP_PREFIX
_KEEP = 3  # saved states kept besides the current one
_TMP_MAX_AGE_S = 3600.0  # a temporary folder this old was left by a crashed save
_YOUNG_S = 60.0  # an unreferenced segment younger than this may be a save in progress


def lexical_dir(home: Path | str, collection: str) -> Path:
    """Where the BM25 side-store of one collection lives: IMR_HOME/bm25/<collection>."""
    return Path(home) / "bm25" / collection


def _read_state(directory: Path) -> dict[str, Any] | None:
    try:
        name = (directory / _POINTER).read_text().strip()
        state = json.loads((directory / name).read_text()) if name.startswith(_STATE_PREFIX) else {}
        if state.get("format") != _FORMAT:
            raise ValueError(f"{name} is not a {_FORMAT} state (an older layout)")
        return dict(state)
    except (OSError, ValueError) as exc:
        log.info("BM25 index at %s not usable (%s); it will be rebuilt", directory, exc)
        return None


def _prune(directory: Path, keep: str) -> None:
    """Drop all but the newest states, segments none of them uses (unless just written: a save
    in progress), older layouts, and temporary leftovers of crashed saves."""
    try:
        entries = list(directory.iterdir())
        states = sorted(
            (d for d in entries if d.name.startswith(_STATE_PREFIX) and d.name != keep),
            key=lambda d: d.stat().st_mtime,
            reverse=True,
        )
        kept = [directory / keep, *states[:_KEEP]]
        used: set[str] = set()
        for state in kept:
            used.update(s["name"] for s in json.loads(state.read_text())["segments"])
        now = time.time()
        doomed = [
            *states[_KEEP:],
            *(
                d
                for d in entries
                if d.name.startswith(_SEG_PREFIX)
                and d.name not in used
                and now - d.stat().st_mtime > _YOUNG_S
            ),
            *(
                d
                for d in entries
                if d.name.startswith(_LEGACY_PREFIX) or d.name in ("bm25", "meta.json")
            ),
            *(
                d
                for d in entries
                if d.name.startswith(_TMP_PREFIX) and now - d.stat().st_mtime > _TMP_MAX_AGE_S
            ),
        ]
    except (OSError, ValueError, KeyError):  # another writer pruned at the same time
        return
    for old in doomed:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
