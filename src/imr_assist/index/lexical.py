"""The lexical side of retrieval: a bm25s index over the published passages, persisted on disk.

The BM25 index is a function of the manifest: it records the manifest generation it was built
from, and is rebuilt from Chroma whenever the generation differs (after an ingest or removal in
this or another process, or after a crash between the two stores). It is never silently stale.
It lives on each machine under IMR_HOME/bm25/<collection> even when Chroma is a shared server:
every machine rebuilds its own from the server (`imr-assist index check --repair` does it now).
Filters are applied as a weight mask built from the same metadata the dense side filters on.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from imr_assist.index.filters import FILTER_KEYS, filter_mask
from imr_assist.text.tokens import tokenize

log = logging.getLogger(__name__)


class LexicalIndex:
    """bm25s over passages, with per-passage metadata columns for filtering."""

    def __init__(
        self,
        ids: list[str],
        columns: dict[str, np.ndarray],
        model: Any,
        generation: str,
    ) -> None:
        self.ids = ids
        self.columns = columns
        self.model = model
        self.generation = generation
        self._rows: dict[str, int] | None = None

    def _row(self, passage_id: str) -> int | None:
        if self._rows is None:
            self._rows = {pid: i for i, pid in enumerate(self.ids)}
        return self._rows.get(passage_id)

    def has(self, passage_id: str) -> bool:
        """Is the passage published in this generation?"""
        return self._row(passage_id) is not None

    def column(self, passage_id: str, key: str) -> str:
        """A metadata value of a passage ('' when unknown)."""
        row = self._row(passage_id)
        return "" if row is None else str(self.columns[key][row])

    @classmethod
    def build(
        cls,
        ids: list[str],
        texts: list[str],
        metadatas: list[dict[str, Any]],
        generation: str,
    ) -> LexicalIndex:
        import bm25s

        model = bm25s.BM25()
        if ids:
            model.index(tokenize(texts), show_progress=False)
        columns = {
            key: np.array([str(m.get(key, "")) for m in metadatas], dtype=object)
            for key in FILTER_KEYS
        }
        return cls(ids, columns, model, generation)

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, filters: dict[str, str] | None) -> np.ndarray | None:
        """1.0 where a passage passes every filter (the same passages as `build_where` keeps)."""
        return filter_mask(self.columns, filters)

    def search(
        self, query: str, k: int, filters: dict[str, str] | None = None
    ) -> list[tuple[str, float]]:
        """(passage id, BM25 score) best first; passages scoring 0 are left out."""
        if not self.ids:
            return []
        tokens = tokenize([query])[0]
        if not tokens:
            return []
        weights = self.mask(filters)
        scores = self.model.get_scores(tokens, weight_mask=weights)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        """Write without ever exposing a half-written index, also with several writers (threads
        of one process, or processes sharing a home): each save goes to a new folder inside
        `directory`, then the `CURRENT` pointer file is replaced atomically. Older folders are
        pruned, keeping a few for readers that read the pointer just before it moved."""
        directory.mkdir(parents=True, exist_ok=True)
        _remove_legacy_layout(directory)
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=directory))
        try:
            if self.ids:
                self.model.save(str(tmp / "bm25"), show_progress=False)
            meta = {
                "generation": self.generation,
                "ids": self.ids,
                "columns": {k: v.tolist() for k, v in self.columns.items()},
            }
            (tmp / "meta.json").write_text(json.dumps(meta))
            final = directory / f"{_GEN_PREFIX}{uuid.uuid4().hex}"
            tmp.rename(final)
            pointer = directory / f"{_TMP_PREFIX}{uuid.uuid4().hex}.ptr"
            pointer.write_text(final.name)
            os.replace(pointer, directory / _POINTER)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _prune(directory, keep=final.name)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex | None:
        """The saved index, or None when missing or unreadable (it is then rebuilt)."""
        import bm25s

        try:
            current = directory / (directory / _POINTER).read_text().strip()
            meta = json.loads((current / "meta.json").read_text())
            ids = list(meta["ids"])
            model = (
                bm25s.BM25.load(str(current / "bm25"), show_progress=False) if ids else bm25s.BM25()
            )
            columns = {k: np.array(v, dtype=object) for k, v in meta["columns"].items()}
            return cls(ids, columns, model, str(meta["generation"]))
        except (OSError, ValueError, KeyError) as exc:
            log.info("BM25 index at %s not usable (%s); it will be rebuilt", directory, exc)
            return None


_POINTER = "CURRENT"
_GEN_PREFIX = "g-"
_TMP_PREFIX = ".tmp-"
_KEEP = 3  # saved folders kept besides the current one
_TMP_MAX_AGE_S = 3600.0  # a temporary folder this old was left by a crashed save


def lexical_dir(home: Path | str, collection: str) -> Path:
    """Where the BM25 side-store of one collection lives: IMR_HOME/bm25/<collection>."""
    return Path(home) / "bm25" / collection


def _remove_legacy_layout(directory: Path) -> None:
    """Before the pointer layout, the index files sat in `directory` itself."""
    for name in ("meta.json",):
        (directory / name).unlink(missing_ok=True)
    if (directory / "bm25").is_dir():
        shutil.rmtree(directory / "bm25", ignore_errors=True)


def _prune(directory: Path, keep: str) -> None:
    """Drop all but the newest saved folders and temporary leftovers of crashed saves."""
    try:
        saved = sorted(
            (d for d in directory.iterdir() if d.name.startswith(_GEN_PREFIX) and d.name != keep),
            key=lambda d: d.stat().st_mtime,
            reverse=True,
        )
        now = time.time()
        stale_tmp = [
            d
            for d in directory.iterdir()
            if d.name.startswith(_TMP_PREFIX) and now - d.stat().st_mtime > _TMP_MAX_AGE_S
        ]
    except OSError:  # another writer pruned at the same time
        return
    for old in saved[_KEEP:] + stale_tmp:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
