"""Ingest files and folders into the index; failures reported per file.

Files are read and chunked one at a time. The documents of several small files are stored
together (`PassageIndex.add_many`: one embedding call and one Chroma write per group instead of
several per file), in the index's order: the group's passages first, then its records and a new
generation, then stale versions. The documents of one file are always published together. When
a group's write fails, its files are stored again one by one, so that one file's failure never
fails another.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from imr_assist.errors import ImrAssistError, IndexError_, SourceError, UnreadableSourceError
from imr_assist.index.embedding import Progress
from imr_assist.index.store import PassageIndex, PendingDocument
from imr_assist.ingest.chunking import chunk_document
from imr_assist.ingest.reader import (
    SUPPORTED_SUFFIXES,
    ReadOptions,
    file_hash,
    read_bytes,
    read_source,
)
from imr_assist.models import DocumentRecord, FileResult, IngestReport, Tier
from imr_assist.settings import Settings

log = logging.getLogger(__name__)

FileProgress = Callable[[str, int, int], None]
"""(file name, passages done, passages total) after each stored batch."""

GROUP_PASSAGES = 256
"""Files are stored together until the group holds this many passages (one upsert batch)."""


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Files under the given paths: (path, given explicitly). Folders are walked without
    following symlinks (no loops); hidden files and folders are skipped."""
    for path in paths:
        if path.is_dir():
            found = False
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        found = True
                        yield Path(root) / name, False
            if not found:
                yield path, False  # reported as an empty folder, never silently nothing
        else:
            yield path, True


@dataclass
class _ReadFile:
    """A file read and chunked, waiting to be stored with the rest of its group."""

    path: Path
    abs_path: str
    file_hash: str
    existing: list[DocumentRecord]
    documents: list[PendingDocument]
    warnings: list[str]
    slot: int
    """Its place in the report."""

    @property
    def passages(self) -> int:
        return sum(len(d.passages) for d in self.documents)


def ingest_paths(
    paths: Iterable[str | Path],
    *,
    settings: Settings,
    index: PassageIndex,
    kind: str = "auto",
    tier: Tier | str | None = None,
    guideline: str | None = None,
    progress: FileProgress | None = None,
) -> IngestReport:
    """Ingest every file; one bad file never stops the others or changes what is stored."""
    started = time.perf_counter()
    options = ReadOptions(
        kind=kind,
        tier=Tier(tier) if tier else None,
        guideline=guideline,
        max_file_mb=settings.ingest.max_file_mb,
        max_pdf_pages=settings.ingest.max_pdf_pages,
    )
    results: list[FileResult | None] = []
    group: list[_ReadFile] = []

    def flush() -> None:
        for slot, result in _store(group, index, progress):
            results[slot] = result
        group.clear()

    for path, explicit in iter_files(Path(p) for p in paths):
        if path.is_dir():
            results.append(
                FileResult(
                    path=str(path),
                    status="skipped",
                    message=f"{path}: is a folder with no files to ingest. Give a file, or a "
                    "folder of .pdf/.txt/.md/.csv/corpus.jsonl files.",
                )
            )
            continue
        if not explicit and path.suffix.lower() not in SUPPORTED_SUFFIXES:
            results.append(
                FileResult(
                    path=str(path),
                    status="skipped",
                    message=f"{path}: not a supported type; skipped.",
                )
            )
            continue
        if os.path.realpath(path) in {f.abs_path for f in group}:
            flush()  # the same file twice: the second time sees the first one published
        claimed = {d.doc.doc_id: f.abs_path for f in group for d in f.documents}
        read = _read_file(path, options, settings, index, claimed, slot=len(results))
        if isinstance(read, FileResult):
            results.append(read)
            continue
        results.append(None)
        group.append(read)
        if sum(f.passages for f in group) >= GROUP_PASSAGES:
            flush()
    flush()
    return IngestReport(
        files=[r for r in results if r is not None],
        index_hash=settings.index_hash,
        seconds=round(time.perf_counter() - started, 3),
    )


def _read_file(
    path: Path,
    options: ReadOptions,
    settings: Settings,
    index: PassageIndex,
    claimed: Mapping[str, str],
    slot: int,
) -> _ReadFile | FileResult:
    """The file's documents and passages, or its result when there is nothing to store
    (unchanged, failed). `claimed`: doc ids of files waiting in the group -> their paths."""
    try:
        if not path.exists():  # False for dangling and looping symlinks too
            broken = " (a broken or looping symlink)." if path.is_symlink() else "."
            raise UnreadableSourceError(path, "does not exist" + broken, "Check the path.")
        abs_path = str(path.resolve())
        # read_bytes checks type, size, emptiness and permissions before reading anything
        data_hash = file_hash(read_bytes(path, options.max_file_mb)) if path.is_file() else ""
        existing = index.records_for_file(abs_path)
        if existing and data_hash and all(r.file_hash == data_hash for r in existing):
            # A crash between publishing a version and deleting the previous one leaves the
            # old passages behind; an unchanged file is the last chance a re-run has to see them.
            if index.stored_count([r.doc_id for r in existing]) != sum(
                r.passages for r in existing
            ):
                for r in existing:
                    index.drop_stale_versions(r.doc_id)
            return FileResult(
                path=str(path),
                status="unchanged",
                doc_ids=[r.doc_id for r in existing],
                message=f"{path}: unchanged since last ingest; nothing to do.",
            )
        read = read_source(path, options)
        documents: dict[str, PendingDocument] = {}  # a repeated id: the last one wins
        for doc in read.documents:
            clash = index.record(doc.doc_id)
            owner = claimed.get(doc.doc_id, abs_path)
            if (clash is not None and clash.file_path != abs_path) or owner != abs_path:
                doc = doc.model_copy(update={"doc_id": f"{doc.doc_id}-{data_hash[:6]}"})
            passages = chunk_document(doc, settings.chunking.size, settings.chunking.overlap)
            if passages:
                documents[doc.doc_id] = PendingDocument(doc, passages, abs_path, data_hash)
        return _ReadFile(
            path=path,
            abs_path=abs_path,
            file_hash=data_hash,
            existing=existing,
            documents=list(documents.values()),
            warnings=read.warnings,
            slot=slot,
        )
    except SourceError as exc:
        return FileResult(path=str(path), status="failed", message=str(exc))
    except (ImrAssistError, OSError) as exc:
        return FileResult(path=str(path), status="failed", message=f"{path}: {exc}")


def _store(
    group: list[_ReadFile], index: PassageIndex, progress: FileProgress | None
) -> list[tuple[int, FileResult]]:
    """Store and publish the group's documents, then remove documents its files no longer
    hold; (report slot, result) per file."""
    if not group:
        return []
    cb: Progress | None = None
    if progress is not None:
        name = group[0].path.name
        if len(group) > 1:
            name += f" and {len(group) - 1} more file(s)"
        cb = _file_progress(progress, name)
    try:
        index.add_many([d for f in group for d in f.documents], progress=cb)
    except IndexError_ as exc:
        if len(group) > 1:  # which file? each one alone: the others are stored
            log.warning("storing %d files together failed (%s); storing one by one", len(group), exc)
            return [out for f in group for out in _store([f], index, progress)]
        f = group[0]
        return [(f.slot, FileResult(path=str(f.path), status="failed", message=f"{f.path}: {exc}"))]
    return [(f.slot, _finish(f, index)) for f in group]


def _finish(f: _ReadFile, index: PassageIndex) -> FileResult:
    """Remove the file's documents that its new version no longer holds; its result."""
    stored_ids = [d.doc.doc_id for d in f.documents]
    try:
        for old in f.existing:
            if old.doc_id not in stored_ids:
                index.remove(old.doc_id)
    except (ImrAssistError, OSError) as exc:
        return FileResult(path=str(f.path), status="failed", message=f"{f.path}: {exc}")
    status = "replaced" if f.existing else "ingested"
    return FileResult(
        path=str(f.path),
        status=status,
        doc_ids=stored_ids,
        passages=f.passages,
        message=f"{f.path}: {status}, {len(stored_ids)} document(s), {f.passages} passages.",
        warnings=f.warnings,
    )


def _file_progress(progress: FileProgress, name: str) -> Progress:
    def report(done: int, total: int) -> None:
        progress(name, done, total)

    return report
