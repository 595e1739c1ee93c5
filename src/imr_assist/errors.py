"""Errors raised by imr-assist. The library never prints or exits; shells translate these.

    ImrAssistError
    ├── ConfigError            settings or environment are wrong (bad IMR_* value, missing model)
    ├── SourceError            one input file cannot be used; carries the path
    │   ├── UnreadableSourceError   missing, unreadable, a directory loop, not a regular file
    │   ├── UnsupportedSourceError  a type imr-assist does not read (binary junk, images, ...)
    │   ├── EmptySourceError        no text at all (empty file, zero-page or scanned PDF)
    │   ├── CorruptSourceError      damaged or encrypted PDF, undecodable text, too large
    │   ├── DeterminationParseError the text is not a determination letter imr-assist can parse
    │   └── UploadError             an upload's name, type or size is refused (ingest/uploads.py)
    ├── IndexError_            the index cannot be opened, is stale or inconsistent
    │   ├── DocumentNotFoundError   `index rm` of a document that is not indexed
    │   └── EmptyIndexError         ask, draft or search on a home with nothing indexed yet
    ├── QueryError             an empty, oversized or malformed query, filter or case summary
    ├── LLMError               the drafting model's server cannot be reached or fails a call
    │                          (drafting/llm.py)
    ├── EvaluationDataError    a queries/qrels/run/BEIR file cannot be used (evaluation/)
    ├── ReviewError            a review action is not allowed: Accept gate, closed review, no
    │                          reviewer name (review/ledger/)
    ├── LedgerError            the ledger cannot be opened, read or written: missing file or
    │   │                      key, damaged event (named by id and hash only) (review/ledger/)
    │   └── LedgerGoneError    the ledger was deleted (file or tables) while in use; `Ledger`
    │                          reports it as missing
    ├── ExportError            a determination cannot be exported (review/export.py)
    └── SessionError           the saved-sessions file cannot be used: corrupt, or written by a
                               newer imr-assist (ui/sessions.py)

Every message says what happened and what to do next.
"""

from __future__ import annotations

from pathlib import Path


class ImrAssistError(Exception):
    """Base of every error imr-assist raises on purpose."""


class ConfigError(ImrAssistError):
    """A setting or the environment is wrong."""


class SourceError(ImrAssistError):
    """One input file cannot be used. The message names the file and what to do."""

    def __init__(self, path: str | Path, problem: str, hint: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.hint = hint
        msg = f"{self.path}: {problem}"
        if hint:
            msg += f" {hint}"
        super().__init__(msg)


class UnreadableSourceError(SourceError):
    """The file is missing, unreadable, or not a regular file."""


class UnsupportedSourceError(SourceError):
    """The file type is not one imr-assist reads."""


class EmptySourceError(SourceError):
    """The file holds no extractable text."""


class CorruptSourceError(SourceError):
    """The file is damaged, encrypted, undecodable or too large."""


class DeterminationParseError(SourceError):
    """The text cannot be parsed as an IMR determination letter."""


class IndexError_(ImrAssistError):
    """The index cannot be opened, is stale, or is inconsistent."""


class DocumentNotFoundError(IndexError_):
    """A document named by the caller is not in the index."""


class EmptyIndexError(IndexError_):
    """Nothing is indexed in this home yet: an answer would be 'not addressed' for no reason."""


class QueryError(ImrAssistError):
    """A query, filter or case summary is empty, too long, or malformed."""


class LLMError(ImrAssistError):
    """The drafting model failed: its server is unreachable, refused the call or timed out."""


class UploadError(SourceError):
    """An uploaded file was refused; nothing was written. The message names the file."""

    def __init__(self, name: str, problem: str, hint: str = "") -> None:
        super().__init__(name, problem, hint)
        self.args = (f"Uploaded file '{name}': {problem}" + (f" {hint}" if hint else ""),)


class EvaluationDataError(ImrAssistError):
    """A queries, qrels, run or BEIR file cannot be used; the message names file and line."""


class ReviewError(ImrAssistError):
    """A review action is not allowed (gate, closed review, missing name); says what to do."""


class LedgerError(ImrAssistError):
    """The ledger cannot be opened, read or written (a missing file or key, a damaged event)."""


class LedgerGoneError(LedgerError):
    """The ledger was deleted (file or tables) while in use; `Ledger` reports it as missing."""


class ExportError(ImrAssistError):
    """The export file cannot be written."""


class SessionError(ImrAssistError):
    """The saved-sessions file cannot be used (corrupt, or written by a newer imr-assist)."""
