"""Reading ahead: the files of an ingest job are read (parsed) in a producer thread while the
caller embeds and stores the files read before them.

The producer reads files in order, at most `ahead` files before the one the caller is on (a
bounded hand-over: read files wait in memory). Its progress (a file started, PDF pages parsed)
is not sent to the job's listener from the producer thread: it is queued and replayed on the
caller's thread, when the caller waits for a file (`get`, `ready`) and whenever it reports
embedding progress (`pump`). A listener (a Streamlit page) so only ever hears the thread that
called `ingest_paths`, and `JobTracker` is only used from that thread.

The producer's work is a function of the file's place in the job; an exception escaping it
reaches the caller from `get` for that file, with a note naming the file (the pipeline's read
function turns expected failures into results itself: one bad file never stops the others).
When the caller stops early (an exception while storing), the producer is told to stop at the
next page or file and is joined.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

from imr_assist.ingest.progress import JobTracker

log = logging.getLogger(__name__)

T = TypeVar("T")

PageProgress = Callable[[int, int], None]
"""(pages parsed, pages of the file)."""
ReadAheadWork = Callable[[int, PageProgress], T]
"""The producer's work on the file at a place in the job, with its page progress callback."""

AHEAD = 2
"""Files read and waiting for the caller, at most (each is held in memory)."""


class _Stopped(BaseException):
    """Raised in the producer (from its page callback) when the caller has stopped: not an
    `Exception`, so that no per-file `except Exception` turns it into a failed file."""


class ReadAhead(Generic[T]):
    """`work(i, on_page)` for every file i of `paths`, in a thread, ahead of the caller.

    Use as a context manager; `get(i)` in order 0, 1, ... returns each file's result."""

    def __init__(
        self,
        paths: Sequence[Path],
        work: ReadAheadWork[T],
        tracker: JobTracker,
        ahead: int = AHEAD,
    ) -> None:
        self._paths = list(paths)
        self._work = work
        self._tracker = tracker
        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._room = threading.Semaphore(max(ahead, 1))
        self._stop = threading.Event()
        self._done: dict[int, tuple[bool, Any]] = {}
        """Read files not yet taken: place -> (ok, result or the exception)."""
        self._thread = threading.Thread(target=self._produce, name="imr-ingest-read", daemon=True)

    def __enter__(self) -> ReadAhead[T]:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._room.release()  # wakes a producer waiting for room; it sees the stop
        self._thread.join()

    # ------------------------------------------------------------------ the caller's side

    def get(self, i: int) -> T:
        """The result of file `i`, replaying progress while it is read. Raises what the
        producer's work raised for it, noted with the file."""
        while i not in self._done:
            self._handle(self._events.get())
        ok, value = self._done.pop(i)
        self._room.release()
        if not ok:
            value.add_note(f"while reading {self._paths[i]} (ingest read-ahead)")
            raise value
        return value

    def ready(self, i: int) -> bool:
        """Whether file `i` is read (after replaying the progress so far)."""
        self.pump()
        return i in self._done

    def pump(self) -> None:
        """Replay the producer's progress events so far on this thread."""
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            self._handle(event)

    def _handle(self, event: tuple[Any, ...]) -> None:
        kind, i, *rest = event
        if kind == "reading":
            self._tracker.reading(i)
        elif kind == "page":
            self._tracker.page(i, *rest)
        else:  # "read" or "raised"
            self._done[i] = (kind == "read", rest[0])

    # ------------------------------------------------------------------ the producer's side

    def _produce(self) -> None:
        for i in range(len(self._paths)):
            self._room.acquire()
            if self._stop.is_set():
                return
            self._events.put(("reading", i))
            try:
                result = self._work(i, self._page_callback(i))
            except _Stopped:
                return
            except BaseException as exc:  # the caller re-raises it for this file, then stops
                self._events.put(("raised", i, exc))
                return
            self._events.put(("read", i, result))

    def _page_callback(self, i: int) -> PageProgress:
        def on_page(done: int, total: int) -> None:
            if self._stop.is_set():
                raise _Stopped
            self._events.put(("page", i, done, total))

        return on_page


__all__ = ["AHEAD", "ReadAhead", "ReadAheadWork"]
