"""Ingest files and folders into the index; failures reported per file.

Files are read (parsed) in order by a read-ahead thread (ingest/readahead.py) while this thread
embeds and stores the files read before them: when the next file is not read yet and the files
waiting hold at least one model batch of passages, they are stored meanwhile. Everything that
consults or changes the index (unchanged? a copy? which doc id? storing) still happens here,
file by file and in order; the read-ahead thread only parses, and skips files that look
unchanged. (One PDF is parsed whole before any of it is chunked: its cleanup looks at every
page, so the overlap is between files.)

The documents of several small files are stored together (`PassageIndex.add_many`: one
embedding call and one Chroma write per group instead of several per file), in the index's
order: the group's passages first, then its records and a new generation, then stale versions.
The documents of one file are always published together. When a group's write fails, its files
are stored again one by one, so that one file's failure never fails another.

Progress: `progress` (name, passages done, passages total) per stored group, as before; and
`job_progress` hears `JobProgress` events over the whole job (the step, the file, PDF pages
parsed, passages embedded, the job's fraction: ingest/progress.py), all on the calling thread.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from imr_assist.errors import (
    CorruptSourceError,
    ImrAssistError,
    IndexError_,
    SourceError,
    UnreadableSourceError,
)
from imr_assist.index.embedding import Progress, reporting_documents
from imr_assist.index.recommendations import RecommendationStore
from imr_assist.index.store import PassageIndex, PendingDocument, usable_doc_id
from imr_assist.ingest.chunking import chunk_document, screen_passages
from imr_assist.ingest.progress import JobListener, JobTracker
from imr_assist.ingest.readahead import PageProgress, ReadAhead
from imr_assist.ingest.reader import (
    SUPPORTED_SUFFIXES,
    ReadOptions,
    ReadResult,
    file_hash,
    read_bytes,
    read_source,
)
from imr_assist.models import DocumentRecord, FileResult, IngestReport, Kind, Tier
from imr_assist.reasoning.models import Recommendation
from imr_assist.reasoning.recommendations import NO_RECOMMENDATIONS, extract_recommendations
from imr_assist.settings import Settings

log = logging.getLogger(__name__)

FileProgress = Callable[[str, int, int], None]
"""(file name, passages done, passages total) after each stored batch."""

Reader = Callable[[Path, ReadOptions], ReadResult]
"""Reads one file into documents (`read_source`)."""

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
    recommendations: dict[str, list[Recommendation]] = field(default_factory=dict)
    """Recommendation records of its guideline documents, by doc id (set when stored)."""

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
    job_progress: JobListener | None = None,
    names: Callable[[Path], str] | None = None,
    reader: Reader | None = None,
) -> IngestReport:
    """Ingest every file; one bad file never stops the others or changes what is stored.

    `job_progress` hears the whole job's progress; `names` gives the name it reports for a
    file (default: the file's name); `reader` reads one file into documents (default
    `read_source`; the seam for fakes)."""
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
    files = list(iter_files(Path(p) for p in paths))
    tracker = JobTracker([path for path, _ in files], job_progress, names)
    idle_flush = max(settings.embedding.batch_size, 1)  # a group worth one model batch

    def flush() -> None:
        for slot, result in _store(group, index, progress, tracker, ahead.pump):
            results[slot] = result
            tracker.finished(slot)
        group.clear()

    pre_read = partial(_pre_read, files, options, index, reader)
    with ReadAhead([path for path, _ in files], pre_read, tracker) as ahead:
        for slot, (path, explicit) in enumerate(files):
            if sum(f.passages for f in group) >= idle_flush and not ahead.ready(slot):
                flush()  # the next file is still being read: embed meanwhile
            early = ahead.get(slot)
            if path.is_dir():
                results.append(
                    FileResult(
                        path=str(path),
                        status="skipped",
                        message=f"{path}: is a folder with no files to ingest. Give a file, or "
                        "a folder of .pdf/.txt/.md/.csv/corpus.jsonl files.",
                    )
                )
                tracker.finished(slot)
                continue
            if not explicit and path.suffix.lower() not in SUPPORTED_SUFFIXES:
                results.append(
                    FileResult(
                        path=str(path),
                        status="skipped",
                        message=f"{path}: not a supported type; skipped.",
                    )
                )
                tracker.finished(slot)
                continue
            if os.path.realpath(path) in {f.abs_path for f in group}:
                flush()  # the same file twice: the second time sees the first one published
            claimed = {d.doc.doc_id: f.abs_path for f in group for d in f.documents}
            claimed.update({_CONTENT + f.file_hash: str(f.path) for f in group})
            file_options = replace(options, on_page=partial(tracker.page, slot))
            read = _read_file(
                path, file_options, settings, index, claimed, slot=slot, early=early, reader=reader
            )
            if isinstance(read, FileResult):
                results.append(read)
                tracker.finished(slot)
                continue
            results.append(None)
            tracker.read(slot)
            group.append(read)
            if sum(f.passages for f in group) >= GROUP_PASSAGES:
                flush()
        flush()
    tracker.close()
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
    early: _EarlyRead | None = None,
    reader: Reader | None = None,
) -> _ReadFile | FileResult:
    """The file's documents and passages, or its result when there is nothing to store
    (unchanged, a copy of another file, failed). `claimed`: doc ids of files waiting in the
    group -> their paths, and _CONTENT + file hash -> the path of the file holding those bytes.
    `early`: what the read-ahead thread read of these bytes, used instead of reading again."""
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
        copy_of = None if existing else _copy_of(data_hash, abs_path, index, claimed)
        if copy_of is not None:
            return FileResult(
                path=str(path),
                status="skipped",
                message=f"{path}: the same content as {copy_of}, already ingested; skipped "
                "(one copy is enough). Edit or remove one of them to change this.",
            )
        read = (
            early.result()
            if early and early.file_hash == data_hash
            else _read(reader, path, options)
        )
        documents: dict[str, PendingDocument] = {}
        refused: list[str] = []
        for doc in read.documents:
            doc = doc.model_copy(
                update={"doc_id": _free_doc_id(doc.doc_id, abs_path, data_hash, index, claimed)}
            )
            if doc.doc_id in documents:
                read.warnings.append(f"{path.name}: a second document {doc.doc_id} left out.")
                continue
            screened = screen_passages(
                chunk_document(doc, settings.chunking.size, settings.chunking.overlap)
            )
            if screened.refused:
                refused.append(f"document {doc.doc_id}: {screened.problem()}")
                continue
            if screened.dropped:
                read.warnings.append(
                    f"{path.name}: {doc.doc_id}: left out {screened.problem()} (the rest stored)."
                )
            if doc.determination is not None:  # what the letter parser could not read
                read.warnings.extend(
                    f"{path.name}: line {w.line}: {w.problem}" for w in doc.determination.warnings
                )
            documents[doc.doc_id] = PendingDocument(doc, screened.kept, abs_path, data_hash)
        if refused and not documents:
            raise CorruptSourceError(
                path,
                f"not ingested, its text is mostly repeated or has no words ({refused[0]}); "
                "near-identical passages by the thousand spoil dense search for every document.",
                "Check the file (filler, or a broken export?) and export it again.",
            )
        read.warnings.extend(f"{path.name}: {r}; that document skipped." for r in refused)
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
    except Exception as exc:  # a failure no reader foresaw: it costs this file, not the others
        log.exception("reading %s failed", path)
        return FileResult(path=str(path), status="failed", message=_unforeseen(path, exc))


def _read(reader: Reader | None, path: Path, options: ReadOptions) -> ReadResult:
    return (reader or read_source)(path, options)


@dataclass(frozen=True)
class _EarlyRead:
    """A file read by the read-ahead thread: the hash of the bytes it read, and what reading
    gave (documents, or the exception to raise in their place)."""

    file_hash: str
    read: ReadResult | None
    error: Exception | None

    def result(self) -> ReadResult:
        if self.error is not None:
            raise self.error
        assert self.read is not None
        return self.read


def _pre_read(
    files: Sequence[tuple[Path, bool]],
    options: ReadOptions,
    index: PassageIndex,
    reader: Reader | None,
    slot: int,
    on_page: PageProgress,
) -> _EarlyRead | None:
    """In the read-ahead thread: read file `slot` (the slow part of `_read_file`: parsing),
    unless it will not be read (a folder, an unsupported type, unchanged since its last ingest,
    unreadable bytes): None, and `_read_file` decides on the caller's thread, as it always does.
    A failure of the reader is kept for `_read_file` to raise."""
    path, explicit = files[slot]
    if path.is_dir() or (not explicit and path.suffix.lower() not in SUPPORTED_SUFFIXES):
        return None
    try:
        data_hash = file_hash(read_bytes(path, options.max_file_mb))
        existing = index.records_for_file(str(path.resolve()))
    except Exception:  # _read_file meets it again and reports it
        return None
    if existing and all(r.file_hash == data_hash for r in existing):
        return None
    try:
        return _EarlyRead(data_hash, _read(reader, path, replace(options, on_page=on_page)), None)
    except Exception as exc:
        return _EarlyRead(data_hash, None, exc)


_CONTENT = "\x00content:"
"""Key prefix in `claimed` for file contents (never a document id: ids have no NUL)."""


def _unforeseen(path: Path, exc: BaseException) -> str:
    """The message for a failure no reader or store foresaw (its detail cut short)."""
    detail = " ".join(str(exc).split())[:200]
    return (
        f"{path}: failed ({type(exc).__name__}: {detail}); nothing of it was stored, the other "
        "files went on. Check this file or export it again; the log has the details."
    )


def _copy_of(
    data_hash: str, abs_path: str, index: PassageIndex, claimed: Mapping[str, str]
) -> str | None:
    """The path of another file with the same bytes, ingested or waiting in the group (a file
    recorded by the index but gone from this machine does not count: it was moved)."""
    if not data_hash:
        return None
    waiting = claimed.get(_CONTENT + data_hash)
    if waiting is not None:
        return waiting
    for record in index.records(where={"file_hash": data_hash}):
        if record.file_path != abs_path and os.path.exists(record.file_path):
            return record.file_path
    return None


def _free_doc_id(
    doc_id: str, abs_path: str, data_hash: str, index: PassageIndex, claimed: Mapping[str, str]
) -> str:
    """`doc_id`, or it with a suffix from the content then the path, that no other file holds
    in the index or in the group (ids from file names repeat across folders)."""
    path_hash = file_hash(abs_path.encode())
    for candidate in (
        doc_id,
        f"{doc_id}-{data_hash[:6]}",
        f"{doc_id}-{path_hash[:6]}",
        f"{doc_id}-{path_hash[:12]}",
    ):
        if not usable_doc_id(candidate):  # a file named '__generation__.md'
            continue
        clash = index.record(candidate)
        if (clash is None or clash.file_path == abs_path) and claimed.get(
            candidate, abs_path
        ) == abs_path:
            return candidate
    return f"{doc_id}-{path_hash}"


def _store(
    group: list[_ReadFile],
    index: PassageIndex,
    progress: FileProgress | None,
    tracker: JobTracker,
    pump: Callable[[], None] = lambda: None,
) -> list[tuple[int, FileResult]]:
    """Store and publish the group's documents, then remove documents its files no longer
    hold; (report slot, result) per file. `pump` runs before each progress report (the
    read-ahead's progress replayed on this thread)."""
    if not group:
        return []
    name = group[0].path.name
    if len(group) > 1:
        name += f" and {len(group) - 1} more file(s)"
    slots = [f.slot for f in group]
    cb = _group_progress(progress, name, tracker, slots, pump)
    passages = sum(f.passages for f in group)
    tracker.embedding(slots, 0, passages)  # the step is named before the model loads
    try:
        _store_recommendations(group, index)
        with reporting_documents(_EmbeddingCounter(tracker, slots, passages, pump)):
            index.add_many([d for f in group for d in f.documents], progress=cb)
        _drop_stale_recommendations(group, index)
    except Exception as exc:  # IndexError_ from the store; anything else still costs one file
        if len(group) > 1:  # which file? each one alone: the others are stored
            log.warning(
                "storing %d files together failed (%s); storing one by one", len(group), exc
            )
            return [out for f in group for out in _store([f], index, progress, tracker, pump)]
        f = group[0]
        if not isinstance(exc, IndexError_):
            log.exception("storing %s failed", f.path)
        message = f"{f.path}: {exc}" if isinstance(exc, IndexError_) else _unforeseen(f.path, exc)
        return [(f.slot, FileResult(path=str(f.path), status="failed", message=message))]
    return [(f.slot, _finish(f, index)) for f in group]


def _store_recommendations(group: list[_ReadFile], index: PassageIndex) -> None:
    """Read the recommendation records of the group's guidelines and store them, before the
    manifest publishes their version (index/recommendations.py)."""
    store: RecommendationStore | None = None
    for f in group:
        for d in f.documents:
            if d.doc.meta.kind is not Kind.GUIDELINE:
                continue
            f.recommendations[d.doc.doc_id] = found = extract_recommendations(d.doc, d.passages)
            store = store or RecommendationStore(index)
            store.add(d.doc, found)


def _drop_stale_recommendations(group: list[_ReadFile], index: PassageIndex) -> None:
    """After publishing: records of the documents' previous versions go."""
    doc_ids = [doc_id for f in group for doc_id in f.recommendations]
    if doc_ids:
        store = RecommendationStore(index)
        for doc_id in doc_ids:
            store.drop_stale(doc_id)


def _recommendations_note(f: _ReadFile) -> str:
    """', 39 recommendations recognised' (or that none were) for a file with guidelines."""
    if not f.recommendations:
        return ""
    found = sum(len(r) for r in f.recommendations.values())
    return f", {found} recommendations recognised" if found else f"; {NO_RECOMMENDATIONS}"


def _finish(f: _ReadFile, index: PassageIndex) -> FileResult:
    """Remove the file's documents that its new version no longer holds; its result."""
    stored_ids = [d.doc.doc_id for d in f.documents]
    try:
        for old in f.existing:
            if old.doc_id not in stored_ids:
                index.remove(old.doc_id)
    except (ImrAssistError, OSError) as exc:
        return FileResult(path=str(f.path), status="failed", message=f"{f.path}: {exc}")
    except Exception as exc:
        log.exception("removing the old documents of %s failed", f.path)
        detail = " ".join(str(exc).split())[:200]
        message = (
            f"{f.path}: stored, but removing documents its old version held failed "
            f"({type(exc).__name__}: {detail}). Ingest it again."
        )
        return FileResult(path=str(f.path), status="failed", message=message)
    status = "replaced" if f.existing else "ingested"
    return FileResult(
        path=str(f.path),
        status=status,
        doc_ids=stored_ids,
        passages=f.passages,
        recommendations=sum(len(r) for r in f.recommendations.values()),
        message=f"{f.path}: {status}, {len(stored_ids)} document(s), {f.passages} passages"
        f"{_recommendations_note(f)}.",
        warnings=f.warnings,
    )


class _EmbeddingCounter:
    """The model's (done, total) per `embed_documents` call, summed over the calls of one
    `add_many` (one per write batch) into the group's passages embedded."""

    def __init__(
        self, tracker: JobTracker, slots: list[int], passages: int, pump: Callable[[], None]
    ) -> None:
        self.tracker, self.slots, self.passages, self.pump = tracker, slots, passages, pump
        self.before = 0

    def __call__(self, done: int, total: int) -> None:
        self.pump()
        self.tracker.embedding(self.slots, min(self.before + done, self.passages), self.passages)
        if done >= total:
            self.before += total


def _group_progress(
    progress: FileProgress | None,
    name: str,
    tracker: JobTracker,
    slots: list[int],
    pump: Callable[[], None],
) -> Progress:
    """The store's (done, total) callback: to the per-group callback and the job tracker."""

    def report(done: int, total: int) -> None:
        pump()
        if progress is not None:
            progress(name, done, total)
        tracker.embedding(slots, done, total)

    return report
