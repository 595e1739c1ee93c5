"""Save a file uploaded through the app into a corpus folder, refusing what must not be stored.

An upload is hostile until checked: its name comes from the browser and its bytes from anywhere.
`save_upload` checks, in order: the name (sanitised to a safe base name: folders, drive letters,
control characters and leading dots are dropped; a name with nothing usable left is refused),
the type (extension AND content: a .pdf must start with %PDF, text must decode as text, a .csv
must be the DMHC export, a .jsonl must be a BEIR corpus.jsonl), the size and emptiness. The file
is written atomically (a hidden temporary file, then a hard link that fails if the name exists),
so a half-written upload is never ingested and an existing file is never overwritten: the same
bytes under the same name return the existing file, other bytes get a content-hash suffix.

After ingest, `UploadNames` names every saved upload in the report as the user uploaded it
(never the uploads folder's path or a hash-suffixed name), and `discard_failed` removes an
upload that failed and that the index does not hold, so the folder keeps only what is stored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from imr_assist.errors import SourceError, UploadError
from imr_assist.ingest.tabular import is_dmhc_header
from imr_assist.ingest.textfile import decode_bytes
from imr_assist.models import FileResult, IngestReport
from imr_assist.settings import Settings

log = logging.getLogger(__name__)

ALLOWED_UPLOAD_TYPES: tuple[str, ...] = ("pdf", "txt", "md", "markdown", "csv", "jsonl")
"""Extensions (without the dot) the corpus page's file_uploader accepts."""

_MAX_NAME_CHARS = 120
_UNSAFE_CHARS_RE = re.compile(r"[^\w.()+, -]+")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$", re.IGNORECASE)
_TYPES_HINT = "Upload a .pdf, .txt, .md, DMHC .csv or BEIR corpus.jsonl file."


def max_upload_bytes(settings: Settings) -> int:
    """The per-file upload limit: the same IMR_INGEST__MAX_FILE_MB that ingest enforces."""
    return int(settings.ingest.max_file_mb * 1024 * 1024)


def display_name(name: str) -> str:
    """The uploaded name as safe to show: control characters escaped, long names cut."""
    shown = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name)
    return shown if len(shown) <= 200 else shown[:197] + "..."


def safe_name(name: str) -> str:
    """A safe base name for an uploaded file name, or UploadError when nothing usable is left.

    Sanitised, not refused: browsers and scripts send paths ('C:\\Users\\me\\tens.pdf',
    '../../etc/cron.d/x.txt'); only the last component is kept, so nothing is ever written
    outside the corpus folder. NUL and other control characters are dropped, characters other than
    letters, digits and ``._ ()+,-`` become '_', leading dots are removed (a hidden file would
    be skipped by ingest), Windows device names are prefixed, the stem is cut to 120 characters.
    """
    text = unicodedata.normalize("NFKC", name or "")
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    base = re.split(r"[/\\]", _DRIVE_RE.sub("", text.strip()))[-1].strip()
    base = _UNSAFE_CHARS_RE.sub("_", base).strip(" .")
    base = base.lstrip("._ ")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem.strip(" ._")[:_MAX_NAME_CHARS].rstrip(" .")
    if not stem:
        raise UploadError(
            display_name(name),
            "has no usable file name (it is empty, a folder or only dots and separators).",
            "Rename the file (e.g. guideline.pdf) and upload it again.",
        )
    out = f"{stem}.{suffix}" if suffix else stem
    return f"_{out}" if _WINDOWS_RESERVED.match(out) else out


def check_upload(name: str, data: bytes, *, max_bytes: int) -> str:
    """The safe name for an upload whose type, content, size and emptiness are acceptable."""
    shown = display_name(name)
    base = safe_name(name)
    suffix = Path(base).suffix.lower().lstrip(".")
    if suffix not in ALLOWED_UPLOAD_TYPES:
        raise UploadError(
            shown, f"'.{suffix}' files are not accepted." if suffix else "has no extension.",
            _TYPES_HINT,
        )  # fmt: skip
    if suffix == "jsonl" and base != "corpus.jsonl":
        raise UploadError(
            shown,
            "is a .jsonl file other than a BEIR corpus.jsonl.",
            "Only BEIR corpus.jsonl files are read; name it corpus.jsonl if it is one.",
        )
    if len(data) > max_bytes:
        raise UploadError(
            shown,
            f"is {len(data) / 1024 / 1024:.1f} MB, over the {max_bytes / 1024 / 1024:g} MB limit.",
            "Split it, or raise IMR_INGEST__MAX_FILE_MB.",
        )
    if not data.strip():
        raise UploadError(shown, "is empty.", "Check the file and export it again.")
    if suffix == "pdf":
        if not data.lstrip()[:5].startswith(b"%PDF"):
            raise UploadError(
                shown,
                "is not a PDF (no %PDF header): it may be misnamed or damaged.",
                "Upload the original PDF, or give the file its real extension.",
            )
        return base
    try:
        text = decode_bytes(data, Path(shown))
    except SourceError as exc:
        raise UploadError(shown, exc.problem, exc.hint) from exc
    if not text.strip():
        raise UploadError(shown, "has no text (only spaces).", "Check the file content.")
    if suffix == "csv" and not is_dmhc_header(text.lstrip("\ufeff").split("\n", 1)[0]):
        raise UploadError(
            shown,
            "is a CSV without the DMHC IMR columns.",
            "Only the DMHC 'IMR Determinations' CSV (ReferenceID, ..., Findings) is read.",
        )
    return base


def save_upload(name: str, data: bytes, dest_dir: Path, *, max_bytes: int) -> Path:
    """Check an uploaded file and write it into `dest_dir`; the path written (or already there).

    Never overwrites: the same name with the same bytes returns the existing file; the same name
    with other bytes is saved as 'name-<first 8 hex of sha256>.ext' (BEIR: 'corpus-<hash>/
    corpus.jsonl', since only files named corpus.jsonl are read). Raises UploadError, naming the
    file and what to do; nothing is written then.
    """
    base = check_upload(name, data, max_bytes=max_bytes)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:8]
    stem, suffix = Path(base).stem, Path(base).suffix
    candidates = [dest / base]
    if base == "corpus.jsonl":
        candidates.append(dest / f"corpus-{digest}" / base)
    else:
        candidates.append(dest / f"{stem}-{digest}{suffix}")
    root = dest.resolve()
    for target in candidates:
        if not (target.parent.resolve() / target.name).is_relative_to(root):  # pragma: no cover
            raise UploadError(display_name(name), "would be written outside the corpus folder.", "")
        written = _write_new(target, data)
        if written:
            log.info("upload %s saved as %s", display_name(name), target)
            return target
        if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
            return target  # the same file uploaded again
    raise UploadError(  # the hashed name exists with other bytes: a sha256 prefix collision
        display_name(name),
        f"clashes with existing files {candidates[0].name} and {candidates[-1].name}.",
        "Rename the file and upload it again.",
    )


class UploadNames:
    """Saved uploads -> the names they were uploaded as, applied to ingest messages.

    Ingest reports name files by where they were read (the uploads folder, perhaps under a
    content-hash suffix); the reviewer knows them by the names they uploaded. Every way a
    message can name a saved upload (its path, its resolved path, its file name) becomes the
    uploaded name, and any other file in the uploads folder is named by its file name alone,
    in one pass (a replaced name is never replaced again)."""

    def __init__(self, folder: Path, saved: Mapping[Path, str]) -> None:
        self.folder = Path(folder)
        self.saved = {Path(p): display_name(n) for p, n in saved.items()}
        paths: dict[str, str] = {}
        for prefix in {str(self.folder), str(self.folder.resolve())}:
            paths[prefix + os.sep] = ""
        for path, shown in self.saved.items():
            for form in (str(path), str(path.resolve())):
                paths[form] = shown
        names = {path.name: shown for path, shown in self.saved.items()}
        self._forms = {**names, **paths}
        # paths (longest first), then bare file names as whole names only: not 'notes.md'
        # inside 'old-notes.md' or 'notes.md.bak'
        self._pattern = re.compile(
            f"{_alternatives(paths)}|(?<![\\w.-]){_alternatives(names)}(?![\\w-]|\\.\\w)"
        )

    def name(self, path: str | Path) -> str:
        """The uploaded name of a saved path (its file name if it is not a saved upload)."""
        return self.saved.get(Path(path), Path(path).name)

    def text(self, text: str) -> str:
        return self._pattern.sub(lambda m: self._forms[m.group(0)], text)

    def result(self, r: FileResult) -> FileResult:
        return r.model_copy(
            update={
                "path": self.name(r.path),
                "message": self.text(r.message),
                "warnings": [self.text(w) for w in r.warnings],
            }
        )

    def report(self, report: IngestReport) -> IngestReport:
        """The report with every file named as uploaded."""
        return report.model_copy(update={"files": [self.result(r) for r in report.files]})


def _alternatives(forms: Mapping[str, str]) -> str:
    """A regex group matching any of the strings, longest first (never empty)."""
    ordered = sorted(forms, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(f) for f in ordered) + ")" if ordered else "(?!)"


def discard_failed(failed: Iterable[Path], stored: Callable[[Path], bool]) -> list[Path]:
    """Remove each saved upload that failed to ingest, unless the index holds a version of it
    (`stored(path)`); the paths removed."""
    removed = []
    for path in failed:
        if stored(path):
            continue
        try:
            path.unlink(missing_ok=True)
            if path.parent.name.startswith("corpus-") and not any(path.parent.iterdir()):
                path.parent.rmdir()  # a BEIR upload's own folder
        except OSError as exc:  # the message already says it failed; the file stays
            log.warning("could not remove the failed upload %s: %s", path, exc)
            continue
        removed.append(path)
    return removed


def _write_new(target: Path, data: bytes) -> bool:
    """Write `data` to a new file `target` atomically; False when `target` already exists."""
    if target.exists() or target.is_symlink():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, target)  # atomic, and fails if another upload took the name meanwhile
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


__all__ = [
    "ALLOWED_UPLOAD_TYPES",
    "UploadError",
    "UploadNames",
    "check_upload",
    "discard_failed",
    "display_name",
    "max_upload_bytes",
    "safe_name",
    "save_upload",
]
