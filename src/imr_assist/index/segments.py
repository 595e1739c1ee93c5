"""Segments of the BM25 side-store: immutable postings of some passages, saved once each.

A segment holds, for the passages given to it, term -> (rows, term frequencies) in CSC order,
each row's token count, the passage ids and metadata columns. It never changes once built:
`imr_assist.index.lexical.LexicalIndex` marks deleted rows beside it and merges segments into new
ones (`merge`). Arrays are saved as .npy files and memory-mapped when read.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from imr_assist.index.filters import FILTER_KEYS
from imr_assist.text.tokens import tokenize

COLUMNS = (*FILTER_KEYS, "content_hash")
"""Metadata kept per passage: the filter keys, and the document version (for following)."""
TMP_PREFIX = ".tmp-"
"""Temporary files and folders of a save in progress (or left by a crashed one)."""
_ARRAYS = ("indptr", "rows", "tf", "lengths")


class Segment:
    """Immutable postings of some passages: term -> (rows, term frequencies), row lengths, ids
    and metadata columns. Saved once, in its own folder; shared by every index state using it."""

    def __init__(
        self,
        name: str,
        ids: list[str],
        columns: dict[str, np.ndarray],
        terms: list[str],
        indptr: np.ndarray,
        rows: np.ndarray,
        tf: np.ndarray,
        lengths: np.ndarray,
    ) -> None:
        self.name = name
        self.ids = ids
        self.columns = columns
        self.terms = terms
        self.indptr = indptr
        self.rows = rows
        self.tf = tf
        self.lengths = lengths

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_passages(
        cls, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]]
    ) -> Segment:
        tokens = tokenize(list(texts)) if texts else []
        n = len(tokens)
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=n)
        vocab: dict[str, int] = {}
        term = np.fromiter(
            (vocab.setdefault(t, len(vocab)) for toks in tokens for t in toks),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        # one key per (term, row) occurrence; sorted unique keys are the postings in term
        # order, rows ascending within a term, and their counts the term frequencies
        keys, tf = np.unique(
            term * max(n, 1) + np.repeat(np.arange(n), lengths), return_counts=True
        )
        col = keys // max(n, 1)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(col, minlength=len(vocab)), out=indptr[1:])
        columns = {
            key: np.array([str(m.get(key, "") or "") for m in metadatas], dtype=object)
            for key in COLUMNS
        }
        return cls(
            name=f"s-{uuid.uuid4().hex}",
            ids=list(ids),
            columns=columns,
            terms=list(vocab),
            indptr=indptr,
            rows=(keys % max(n, 1)).astype(np.int32),
            tf=tf.astype(np.float32),
            lengths=lengths.astype(np.float64),
        )

    @cached_property
    def vocab(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.terms)}

    @cached_property
    def row_of(self) -> dict[str, int]:
        return {pid: i for i, pid in enumerate(self.ids)}

    @cached_property
    def rows_of_doc(self) -> dict[str, np.ndarray]:
        out: dict[str, list[int]] = {}
        for row, doc in enumerate(self.columns["doc_id"]):
            out.setdefault(str(doc), []).append(row)
        return {doc: np.asarray(rows, dtype=np.int64) for doc, rows in out.items()}

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        """Write into directory/<name> (a temporary folder renamed at the end); no-op if there."""
        final = directory / self.name
        if final.exists():
            return
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=directory))
        try:
            meta = {
                "ids": self.ids,
                "columns": {k: v.tolist() for k, v in self.columns.items()},
                "terms": self.terms,
            }
            (tmp / "meta.json").write_text(json.dumps(meta))
            for name in _ARRAYS:
                np.save(tmp / f"{name}.npy", getattr(self, name))
            tmp.rename(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> Segment:
        meta = json.loads((folder / "meta.json").read_text())
        arrays = {name: _load_array(folder / f"{name}.npy") for name in _ARRAYS}
        return cls(
            name=folder.name,
            ids=list(meta["ids"]),
            columns={k: np.array(meta["columns"].get(k, []), dtype=object) for k in COLUMNS},
            terms=list(meta["terms"]),
            **arrays,
        )


def _load_array(path: Path) -> np.ndarray:
    """Memory-mapped (pages are read when a query touches them); an empty array is read."""
    try:
        return np.load(path, mmap_mode="r")
    except ValueError:  # numpy cannot map a zero-length array
        return np.load(path)


def merge(segments: Sequence[Segment], deleted: Sequence[np.ndarray]) -> Segment:
    """One segment holding the live rows of these (in order), without their deleted rows."""
    vocab: dict[str, int] = {}
    cols, rows, tfs, lengths = [], [], [], []
    ids: list[str] = []
    columns: dict[str, list[np.ndarray]] = {k: [] for k in COLUMNS}
    offset = 0
    for seg, dead in zip(segments, deleted, strict=True):
        live = np.ones(len(seg), dtype=bool)
        live[dead] = False
        new_row = np.cumsum(live) - 1 + offset
        term_map = np.fromiter(
            (vocab.setdefault(t, len(vocab)) for t in seg.terms),
            dtype=np.int64,
            count=len(seg.terms),
        )
        seg_cols = np.repeat(term_map, np.diff(np.asarray(seg.indptr)))
        keep = live[seg.rows]
        cols.append(seg_cols[keep])
        rows.append(new_row[seg.rows[keep]])
        tfs.append(np.asarray(seg.tf)[keep])
        lengths.append(np.asarray(seg.lengths)[live])
        ids.extend(pid for pid, alive in zip(seg.ids, live, strict=True) if alive)
        for k in COLUMNS:
            columns[k].append(seg.columns[k][live])
        offset += int(live.sum())
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    # rows ascend within each segment and segments are in order: a stable sort by term keeps
    # every term's rows ascending
    order = np.argsort(col, kind="stable")
    indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(np.bincount(col, minlength=len(vocab)), out=indptr[1:])
    return Segment(
        name=f"s-{uuid.uuid4().hex}",
        ids=ids,
        columns={
            k: np.concatenate(v) if v else np.zeros(0, dtype=object) for k, v in columns.items()
        },
        terms=list(vocab),
        indptr=indptr,
        rows=np.concatenate(rows).astype(np.int32)[order] if rows else np.zeros(0, np.int32),
        tf=np.concatenate(tfs)[order] if tfs else np.zeros(0, np.float32),
        lengths=np.concatenate(lengths) if lengths else np.zeros(0, np.float64),
    )
