"""Metadata filters: one vocabulary, one check, and the two ways the index applies them.

A filter is ``{key: "value"}`` or ``{key: "A|B"}`` (either). `check_filters` refuses unknown
keys, empty values, invisible characters and values that can never match (``tier=gold``) with
a message saying what to type; `build_where` turns checked filters into a Chroma ``where`` and
`filter_mask` into the BM25 side's weight mask, so both retrievers keep the same passages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from imr_assist.errors import QueryError
from imr_assist.models import Decision, Kind, Tier
from imr_assist.text.clean import preview, strip_invisible

Filters = Mapping[str, str]
"""Passage metadata key -> value, or 'A|B' for either."""

FILTER_KEYS = ("kind", "tier", "guideline", "body_region", "decision", "doc_id", "source_path")
"""The passage metadata keys a search can filter on (stored on every passage and in BM25)."""

FILTER_CHOICES: dict[str, tuple[str, ...]] = {
    "tier": tuple(t.value for t in Tier),
    "kind": tuple(k.value for k in Kind),
    "decision": tuple(d.value for d in Decision),
}
"""Filter keys whose values are a closed set; any other value can never match."""


def filter_values(filters: Filters | None) -> dict[str, list[str]]:
    """{key: [accepted values]} of checked filters ({} for none); see `check_filters`."""
    if not filters:
        return {}
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise QueryError(
            f"Unknown filter key(s): {', '.join(map(repr, unknown))}. "
            f"Use one of: {', '.join(FILTER_KEYS)}."
        )
    out: dict[str, list[str]] = {}
    for key, value in filters.items():
        values = [v.strip() for v in str(value).split("|") if v.strip()]
        if not values:
            raise QueryError(f"Filter {key}= has no value. Write {key}=VALUE (or A|B for either).")
        if any(strip_invisible(v) != v for v in values):
            raise QueryError(
                f"Filter {key}={preview(str(value))} contains control or invisible characters. "
                "Retype the value."
            )
        choices = FILTER_CHOICES.get(key)
        bad = [v for v in values if choices is not None and v not in choices]
        if bad and choices is not None:
            raise QueryError(
                f"Filter {key}={'|'.join(bad)} can never match: {key} is one of "
                f"{', '.join(choices)}."
            )
        out[key] = values
    return out


def check_filters(filters: Filters | None) -> None:
    """Refuse unknown keys, empty values, invisible characters and values that can never match
    (tier=gold), each with a message saying what to type. Values may be 'A|B' (either)."""
    filter_values(filters)


def build_where(filters: Filters | None) -> dict[str, Any] | None:
    """Chroma `where` from checked filters (None when there are none)."""
    values = filter_values(filters)
    clauses: list[dict[str, Any]] = [
        {key: vs[0]} if len(vs) == 1 else {key: {"$in": vs}} for key, vs in values.items()
    ]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def filter_mask(columns: Mapping[str, np.ndarray], filters: Filters | None) -> np.ndarray | None:
    """1.0 where a row of the metadata `columns` passes every filter, else 0.0 (None: no
    filters). The same passages as `build_where` keeps on the Chroma side."""
    values = filter_values(filters)
    if not values:
        return None
    keep = np.ones(len(next(iter(columns.values()), ())), dtype=bool)
    for key, accepted in values.items():
        keep &= np.isin(columns[key], accepted)
    return keep.astype(np.float32)


__all__ = [
    "FILTER_CHOICES",
    "FILTER_KEYS",
    "Filters",
    "build_where",
    "check_filters",
    "filter_mask",
    "filter_values",
]
