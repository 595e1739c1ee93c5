"""Ingest files and folders into the index, one file at a time, failures reported per file."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from imr_assist.chunking import chunk_document
from imr_assist.embedding import Progress
from imr_assist.errors import ImrAssistError, SourceError, UnreadableSourceError
from imr_assist.index import PassageIndex
from imr_assist.models import FileResult, IngestReport, Tier
from imr_assist.settings import Settings
from imr_assist.sources.reader import (
    SUPPORTED_SUFFIXES,
    ReadOptions,
    file_hash,
    read_bytes,
    read_source,
)

log = logging.getLogger(__name__)

FileProgress = Callable[[str, int, int], None]
"""(file name, passages done, passages total) after each stored batch."""


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
    results: list[FileResult] = []
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
        results.append(_ingest_file(path, options, settings, index, progress))
    return IngestReport(
        files=results,
        index_hash=settings.index_hash,
        seconds=round(time.perf_counter() - started, 3),
    )


def _ingest_file(
    path: Path,
    options: ReadOptions,
    settings: Settings,
    index: PassageIndex,
    progress: FileProgress | None,
) -> FileResult:
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
        stored_ids: list[str] = []
        total = 0
        for doc in read.documents:
            clash = index.record(doc.doc_id)
            if clash is not None and clash.file_path != abs_path:
                doc = doc.model_copy(update={"doc_id": f"{doc.doc_id}-{data_hash[:6]}"})
            passages = chunk_document(doc, settings.chunking.size, settings.chunking.overlap)
            if not passages:
                continue
            cb: Progress | None = None
            if progress is not None:
                cb = _file_progress(progress, path.name, total)
            index.add(doc, passages, file_path=abs_path, file_hash=data_hash, progress=cb)
            stored_ids.append(doc.doc_id)
            total += len(passages)
        for old in existing:
            if old.doc_id not in stored_ids:
                index.remove(old.doc_id)
        status = "replaced" if existing else "ingested"
        return FileResult(
            path=str(path),
            status=status,
            doc_ids=stored_ids,
            passages=total,
            message=f"{path}: {status}, {len(stored_ids)} document(s), {total} passages.",
            warnings=read.warnings,
        )
    except SourceError as exc:
        return FileResult(path=str(path), status="failed", message=str(exc))
    except (ImrAssistError, OSError) as exc:
        return FileResult(path=str(path), status="failed", message=f"{path}: {exc}")


def _file_progress(progress: FileProgress, name: str, offset: int) -> Progress:
    def report(done: int, total: int) -> None:
        progress(name, offset + done, offset + total)

    return report
