"""Evaluation data in TREC form: queries.jsonl, graded qrels, run files, and hits -> judged ids.

A run here is `qid -> judged ids, best first`. Written run files use the standard six columns
`qid Q0 docid rank score run_name`, with a score derived from the rank (n, n-1, ... 1) so that
ties never reorder the list when trec_eval or pytrec_eval sorts by score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from imr_assist.errors import EvaluationDataError
from imr_assist.evaluation.retrieval.models import EvalQuery
from imr_assist.models import Hit

_M = TypeVar("_M", bound=BaseModel)

Qrels = dict[str, dict[str, int]]
"""qid -> judged id -> grade (0 = judged not relevant)."""
Run = dict[str, list[str]]
"""qid -> judged ids, best first, no duplicates."""

LEVELS = ("page", "passage", "document")
_PAGE_RE = re.compile(r"^\d+$")
_MAX_PAGE_SPAN = 200


# --------------------------------------------------------------------------- queries


def read_jsonl_models(path: Path, model: type[_M], expected: str, what: str) -> list[_M]:
    """One pydantic model per JSONL line, qids as strings and unique; blank lines skipped.

    A bad line is an error naming the file, the line, what is wrong and what was expected."""
    items: list[_M] = []
    seen: set[str] = set()
    for n, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise TypeError("not a JSON object")
            if "qid" in obj:
                obj["qid"] = str(obj["qid"])
            item = model.model_validate(obj)
        except (json.JSONDecodeError, TypeError, ValidationError) as exc:
            raise EvaluationDataError(
                f"{path} line {n}: {describe_error(exc)}. Expected {expected}."
            ) from exc
        qid = str(getattr(item, "qid", ""))
        if qid in seen:
            raise EvaluationDataError(f"{path} line {n}: duplicate qid {qid!r}.")
        seen.add(qid)
        items.append(item)
    if not items:
        raise EvaluationDataError(f"{path}: no {what}. Write one JSON object per line.")
    return items


def describe_error(exc: Exception) -> str:
    """A parse or validation error in a few words: 'qid: Field required', 'not valid JSON'."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(x) for x in err["loc"])
            parts.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
        return "; ".join(parts)
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg}, column {exc.colno})"
    return str(exc)


def read_queries(path: Path) -> list[EvalQuery]:
    """Queries from a JSONL file of {"qid","query", optional "style","topic","answerable"}."""
    queries = read_jsonl_models(
        path,
        EvalQuery,
        '{"qid", "query"}, optional "style", "topic", "answerable"',
        "queries",
    )
    for n, query in enumerate(queries, 1):
        if not query.qid or not query.query.strip():
            raise EvaluationDataError(f"{path} query {n}: qid and query must not be empty.")
    return queries


def write_queries(queries: Iterable[EvalQuery], path: Path) -> None:
    path.write_text(
        "".join(q.model_dump_json(exclude_none=True) + "\n" for q in queries), encoding="utf-8"
    )


# --------------------------------------------------------------------------- qrels


def read_qrels(path: Path) -> Qrels:
    """TREC qrels `qid 0 docid grade` (whitespace separated; '#' lines and blanks ignored)."""
    qrels: Qrels = {}
    for n, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) != 4:
            raise EvaluationDataError(
                f"{path} line {n}: expected 4 columns `qid 0 docid grade`, got {len(parts)}."
            )
        qid, _, docid, grade = parts
        try:
            value = int(grade)
        except ValueError as exc:
            raise EvaluationDataError(
                f"{path} line {n}: grade {grade!r} is not an integer."
            ) from exc
        judged = qrels.setdefault(qid, {})
        if docid in judged and judged[docid] != value:
            raise EvaluationDataError(
                f"{path} line {n}: {qid} {docid} judged twice with different grades."
            )
        judged[docid] = value
    if not qrels:
        raise EvaluationDataError(f"{path}: no judgments. Lines are `qid 0 docid grade`.")
    return qrels


def write_qrels(qrels: Mapping[str, Mapping[str, int]], path: Path) -> None:
    lines = [
        f"{qid} 0 {docid} {grade}\n"
        for qid, judged in qrels.items()
        for docid, grade in judged.items()
    ]
    path.write_text("".join(lines), encoding="utf-8")


def relevant_qids(qrels: Mapping[str, Mapping[str, int]]) -> set[str]:
    """Queries with at least one judgment above grade 0."""
    return {qid for qid, judged in qrels.items() if any(g > 0 for g in judged.values())}


# --------------------------------------------------------------------------- runs


def write_run(run: Mapping[str, Sequence[str]], path: Path, name: str) -> None:
    """Six-column TREC run file; score = n - rank + 1 (rank order is the truth)."""
    out: list[str] = []
    for qid, ids in run.items():
        n = len(ids)
        out.extend(f"{qid} Q0 {docid} {r} {n - r + 1} {name}\n" for r, docid in enumerate(ids, 1))
    path.write_text("".join(out), encoding="utf-8")


def read_run(path: Path) -> tuple[Run, str]:
    """A six-column TREC run file: (qid -> ids ordered by score, then rank), run name."""
    rows: dict[str, list[tuple[float, int, str]]] = {}
    name = ""
    for n, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6:
            raise EvaluationDataError(
                f"{path} line {n}: expected 6 columns `qid Q0 docid rank score name`."
            )
        qid, _, docid, rank, score, name = parts
        try:
            rows.setdefault(qid, []).append((float(score), int(rank), docid))
        except ValueError as exc:
            raise EvaluationDataError(f"{path} line {n}: rank or score is not a number.") from exc
    run = {
        qid: _dedupe(d for _, _, d in sorted(items, key=lambda t: (-t[0], t[1])))
        for qid, items in rows.items()
    }
    return run, name


# --------------------------------------------------------------------------- hits -> judged ids


def page_numbers(start: str, end: str) -> list[int]:
    """Printed page numbers a passage covers; non-numeric or empty labels give nothing."""
    first = int(start) if _PAGE_RE.match(start or "") else None
    last = int(end) if _PAGE_RE.match(end or "") else None
    if first is None:
        return [last] if last is not None else []
    if last is None or last < first or last - first > _MAX_PAGE_SPAN:
        return [first]
    return list(range(first, last + 1))


def judged_ids(
    hits: Sequence[Hit], level: str, aliases: Mapping[str, str] | None = None
) -> list[str]:
    """Map hits (best first) to the ids judged in the qrels, keeping the first occurrence.

    page:     `{alias}:p{N}` for every printed page N the passage spans (unpaged: nothing)
    passage:  the passage id
    document: the alias of the document (default: its doc_id)
    """
    aliases = aliases or {}
    out: list[str] = []
    for hit in hits:
        p = hit.passage
        alias = aliases.get(p.doc_id, p.doc_id)
        if level == "page":
            out.extend(f"{alias}:p{n}" for n in page_numbers(p.page_start, p.page_end))
        elif level == "passage":
            out.append(p.id)
        elif level == "document":
            out.append(alias)
        else:
            raise EvaluationDataError(f"Unknown level {level!r}; use one of {', '.join(LEVELS)}.")
    return _dedupe(out)


def parse_aliases(pairs: Iterable[str]) -> dict[str, str]:
    """`DOC_ID=ALIAS` strings into a mapping."""
    out: dict[str, str] = {}
    for pair in pairs:
        doc_id, sep, alias = pair.partition("=")
        if not sep or not doc_id.strip() or not alias.strip():
            raise EvaluationDataError(
                f"--doc-alias {pair!r} is not DOC_ID=ALIAS "
                "(e.g. va-department_of_defense=vadod-lbp-cpg)."
            )
        out[doc_id.strip()] = alias.strip()
    return out


def _dedupe(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 file; unreadable files become an EvaluationDataError."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationDataError(f"{path}: cannot read ({exc}).") from exc
