"""Dev/test split of every labelled set, fixed before any result is looked at.

An item's split is a function of its id alone (sha256 of the qid): adding items never moves
old ones, and nobody chooses which items are "easy". About 60% of items are `dev` (tune on
them), 40% `test` (report them, never tune on them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

Split = Literal["dev", "test"]
SPLITS: tuple[str, ...] = ("dev", "test", "all")
DEV_SHARE = 0.6

T = TypeVar("T")


def split_of(qid: str) -> Split:
    """'dev' or 'test' for one labelled item, from its id."""
    digest = hashlib.sha256(f"imr-assist-split\x1f{qid}".encode()).digest()
    return "dev" if int.from_bytes(digest[:4], "big") / 2**32 < DEV_SHARE else "test"


def keep(items: Iterable[T], split: str, qid_of: Callable[[T], str] | None = None) -> list[T]:
    """The items of one split ('all' keeps everything)."""
    qid_of = qid_of or (lambda item: str(item.qid))  # type: ignore[attr-defined]
    if split == "all":
        return list(items)
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}: use dev, test or all.")
    return [item for item in items if split_of(qid_of(item)) == split]
