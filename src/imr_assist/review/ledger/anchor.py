"""What anchors the ledger's chain outside the ledger file: the key and the head record.

    IMR_HOME/keys/            0700
        ledger.key            0600  32 random bytes, hex; written once (IMR_LEDGER__KEY_FILE
                                    puts it elsewhere, e.g. on a volume the ledger's backups
                                    do not include)
        ledger.head           0600  the `HeadRecord` of the last event, MACed with the key
        ledger.head.lock            serialises head updates between processes

A shared PostgreSQL ledger is anchored in the home of every machine that uses it: the same key
on each (copied there; a machine without it is refused), and each machine's own head record
(`keys/ledger-postgresql-<hash of server and database>.head`) naming the last event that
machine appended, so it catches any cut of the events up to it. A machine that first opens a
shared ledger holding events checks its key signs them and anchors at the head it finds.

The head record is also the marker that a ledger was created in this home: a ledger file that
is missing while its head record exists is reported as missing, never recreated empty.

Files are created whole or not at all (written to a temporary file, then hard-linked into
place, which fails if another process got there first), so concurrent first opens agree on one
key. The head only moves forward: `advance` takes a lock, and an update that lost a race to a
later event is dropped. Storage backends share this module; the chain logic is in `chain.py`.

Limits: whoever can read the key can re-sign a rewritten chain, and whoever can replace the head
record with an older copy of it can cut the events written since. Keep heads elsewhere too
(every export prints one; `imr-assist ledger verify --head HASH` checks it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from imr_assist.errors import LedgerError
from imr_assist.review.ledger.chain import make_head
from imr_assist.review.ledger.models import HeadRecord

try:  # POSIX; elsewhere head updates are not serialised between processes
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

KEYS_DIR = "keys"
KEY_FILE = "ledger.key"
_KEY_BYTES = 32


def private_dir(path: Path) -> None:
    """Create `path` (and its parents) readable by the owner only, when it does not exist yet."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)  # mkdir's mode is masked by the umask


class LedgerAnchor:
    """The key and head record of one ledger (its file, or a shared ledger's anchor path)."""

    def __init__(self, ledger_path: Path, key_path: Path | None = None) -> None:
        keys = ledger_path.parent / KEYS_DIR
        self.key_path = Path(key_path) if key_path is not None else keys / KEY_FILE
        self.head_path = keys / f"{ledger_path.stem}.head"
        self._lock_path = keys / f"{ledger_path.stem}.head.lock"

    # ------------------------------------------------------------------ key

    def read_key(self) -> bytes | None:
        """The key, or None when its file does not exist."""
        try:
            text = self.key_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(
                f"Cannot read the ledger key {self.key_path} ({type(exc).__name__}); check "
                "its permissions (it should be readable by this user only)."
            ) from exc
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) < 16:
            raise LedgerError(
                f"The ledger key {self.key_path} is damaged (not a hex key); restore it from "
                "your backup."
            )
        return key

    def create_key(self) -> tuple[bytes, bool]:
        """The key, created now if it does not exist; (key, created)."""
        key = self.read_key()
        if key is not None:
            return key, False
        created = _create_once(self.key_path, secrets.token_bytes(_KEY_BYTES).hex() + "\n")
        key = self.read_key()
        assert key is not None
        if created:
            log.info("created the ledger key %s", self.key_path)
        return key, created

    # ------------------------------------------------------------------ head record

    def read_head(self) -> HeadRecord | None:
        """The head record, or None when it does not exist. A damaged one is an error."""
        try:
            text = self.head_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(
                f"Cannot read the ledger head record {self.head_path} ({type(exc).__name__}); "
                "check its permissions."
            ) from exc
        try:
            return HeadRecord.model_validate(json.loads(text))
        except (ValueError, ValidationError):
            raise LedgerError(
                f"The ledger head record {self.head_path} is damaged; restore it from your "
                "backup, or run `imr-assist ledger verify` against a head you kept elsewhere."
            ) from None

    def create_head(self, record: HeadRecord) -> bool:
        """Write the first head record; False when one exists already (nothing is written)."""
        return _create_once(self.head_path, record.model_dump_json() + "\n")

    def advance(self, key: bytes, seq: int, digest: str) -> None:
        """Record event `seq` as the head, unless the record names a later event already.

        Called after the event is committed: a crash in between leaves the record one event
        behind, which `verify()` accepts (it checks the events after it by their MACs)."""
        with self._locked():
            head = self.read_head()
            if head is None or head.seq >= seq:
                return  # a missing record stays missing: verify() reports it
            record = make_head(key, seq, digest, head.keyed_from)
            _replace(self.head_path, record.model_dump_json() + "\n")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _create_once(target: Path, text: str) -> bool:
    """Create `target` (0600) holding `text`, whole, unless it exists; True when created."""
    private_dir(target.parent)
    tmp = _write_temp(target, text, sync=True)
    try:
        os.link(tmp, target)
        return True
    except FileExistsError:
        return False
    except OSError:  # pragma: no cover  (a file system without hard links)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return True
    finally:
        os.unlink(tmp)


def _replace(target: Path, text: str) -> None:
    tmp = _write_temp(target, text, sync=False)  # a lost update only leaves the head behind
    try:
        os.replace(tmp, target)
    except OSError:
        os.unlink(tmp)
        raise


def _write_temp(target: Path, text: str, *, sync: bool) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)  # 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())
    return tmp
