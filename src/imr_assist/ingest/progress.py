"""Progress of a whole ingest job: which step, which file, and the job's fraction done.

An ingest reads files one at a time (a PDF page by page), then embeds the passages of several
files together (`PassageIndex.add_many`). `JobTracker` turns those events into `JobProgress`
values whose `fraction` covers the whole job: it only grows, and it reaches 1.0 only with the
final `done` event (a bar that is full while work remains is a lie).

How the fraction is weighed (the sizes of the work are not known before a file is read): each
file counts in proportion to its size in bytes (at least `_MIN_WEIGHT`, so a small file still
moves the bar); within a file, reading counts `_READ_SHARE` (a PDF: `_PDF_READ_SHARE`, since
its text extraction is slow) and embedding the rest. Measured in one run on a loaded 2-core
machine with the bundled model: the 141-page VA/DoD PDF took 37 s to parse of 248 s; the demo
corpus's 34 text files 3.6 s to read of 86 s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Step = Literal["reading", "parsing", "embedding", "done"]

_MIN_WEIGHT = 4096
_READ_SHARE = 0.05
_PDF_READ_SHARE = 0.2
_BEFORE_END = 0.99
"""The highest fraction reported before the final event."""


@dataclass(frozen=True)
class JobProgress:
    """One progress event of an ingest job."""

    step: Step
    """reading (a file is read and chunked), parsing (a PDF, page by page), embedding, done."""
    file: str
    """The current file's name (embedding: the first file of the group, 'and N more')."""
    file_index: int
    """1-based place of the current file in the job (embedding: of the group's last file)."""
    files: int
    """Files in the job."""
    done: int
    """Pages parsed (parsing) or passages embedded (embedding) so far; files (done)."""
    total: int
    """Pages of the PDF (parsing) or passages to embed (embedding); files (done)."""
    fraction: float
    """The whole job's fraction done, 0..1: never decreases, 1.0 only when done."""

    def describe(self) -> str:
        """The step in words: 'File 2 of 5 · Parsing guideline.pdf: page 40 of 141'."""
        where = f"File {self.file_index:,} of {self.files:,}"
        if self.step == "parsing":
            return f"{where} · Parsing {self.file}: page {self.done:,} of {self.total:,}"
        if self.step == "embedding":
            return f"Embedding {self.file}: {self.done:,} of {self.total:,} passages"
        if self.step == "done":
            return f"Done: {self.files:,} file{'s' if self.files != 1 else ''}"
        return f"{where} · Reading {self.file}"


JobListener = Callable[[JobProgress], None]


class JobTracker:
    """Keeps each file's share done and reports `JobProgress` to a listener.

    `names` map a file to the name reported (an upload's own name rather than where it was
    saved). A listener that raises is logged and dropped: progress never fails an ingest."""

    def __init__(
        self,
        paths: Sequence[Path],
        listener: JobListener | None,
        names: Callable[[Path], str] | None = None,
    ) -> None:
        self._listener = listener
        self._names = names or (lambda p: p.name)
        self._paths = list(paths)
        self._weights = [_weight(p) for p in self._paths]
        self._read_share = [
            _PDF_READ_SHARE if p.suffix.lower() == ".pdf" else _READ_SHARE for p in self._paths
        ]
        self._read = [0.0] * len(self._paths)
        self._embedded = [0.0] * len(self._paths)
        self._last = 0.0

    @property
    def files(self) -> int:
        return len(self._paths)

    def name(self, i: int) -> str:
        return self._names(self._paths[i])

    def reading(self, i: int) -> None:
        """File `i` (0-based) is being read."""
        self._emit("reading", self.name(i), i, 0, 0)

    def page(self, i: int, done: int, total: int) -> None:
        """`done` of `total` pages of file `i` (a PDF) are parsed."""
        self._read[i] = max(self._read[i], done / max(total, 1))
        self._emit("parsing", self.name(i), i, done, total)

    def read(self, i: int) -> None:
        """File `i` is read and chunked; its passages wait to be embedded."""
        self._read[i] = 1.0

    def finished(self, i: int) -> None:
        """File `i` needs no more work (stored, unchanged, skipped or failed)."""
        self._read[i] = self._embedded[i] = 1.0
        self._emit(None, self.name(i), i, 0, 0)

    def embedding(self, group: Sequence[int], done: int, total: int) -> None:
        """`done` of `total` passages of the files `group` are embedded and stored."""
        if not group:
            return
        share = done / max(total, 1)
        for i in group:
            self._embedded[i] = max(self._embedded[i], share)
        name = self.name(group[0])
        if len(group) > 1:
            name += f" and {len(group) - 1} more"
        self._emit("embedding", name, max(group), done, total)

    def close(self) -> None:
        """The job is over: the final event, fraction 1.0."""
        self._last = 1.0
        self._send(JobProgress("done", "", self.files, self.files, self.files, self.files, 1.0))

    def fraction(self) -> float:
        total = sum(self._weights) or 1
        done = sum(
            w * (r * s + e * (1 - s))
            for w, r, e, s in zip(
                self._weights, self._read, self._embedded, self._read_share, strict=True
            )
        )
        return min(done / total, _BEFORE_END)

    def _emit(self, step: Step | None, name: str, i: int, done: int, total: int) -> None:
        self._last = max(self._last, self.fraction())
        if step is not None:
            self._send(JobProgress(step, name, i + 1, self.files, done, total, self._last))

    def _send(self, event: JobProgress) -> None:
        if self._listener is None:
            return
        try:
            self._listener(event)
        except Exception:  # a broken bar must not cost the ingest
            log.exception("the progress listener failed; progress is no longer reported")
            self._listener = None


def _weight(path: Path) -> int:
    try:
        size = path.stat().st_size if path.is_file() else 0
    except OSError:
        size = 0
    return max(size, _MIN_WEIGHT)


__all__ = ["JobListener", "JobProgress", "JobTracker", "Step"]
