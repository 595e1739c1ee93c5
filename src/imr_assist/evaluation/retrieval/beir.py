"""BEIR benchmark folders: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.

The corpus is ingested as study documents into its own data directory and Chroma collection
(HOME/beir-<folder name>), so a benchmark never mixes with the reviewer's guidelines. BEIR is
judged per document: the judged id is the corpus `_id`, which is the passage's doc_id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from imr_assist.errors import EvaluationDataError
from imr_assist.evaluation.retrieval.models import EvalQuery
from imr_assist.evaluation.trec import Qrels, read_lines
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.pipeline import FileProgress, ingest_paths
from imr_assist.models import IngestReport
from imr_assist.settings import Settings


@dataclass
class BeirSet:
    """A BEIR folder read into memory (the corpus stays on disk until it is ingested)."""

    folder: Path
    corpus: Path
    qrels_path: Path
    queries: list[EvalQuery]
    qrels: Qrels
    warnings: list[str] = field(default_factory=list)


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    """The queries of one split that have judgments, and that split's qrels."""
    corpus = folder / "corpus.jsonl"
    queries_path = folder / "queries.jsonl"
    qrels_path = folder / "qrels" / f"{split}.tsv"
    for need in (corpus, queries_path, qrels_path):
        if not need.is_file():
            raise EvaluationDataError(
                f"{folder} is not a BEIR folder: {need.relative_to(folder)} is missing "
                "(expected corpus.jsonl, queries.jsonl and qrels/test.tsv)."
            )
    qrels = read_beir_qrels(qrels_path)
    texts = _beir_queries(queries_path)
    warnings: list[str] = []
    queries: list[EvalQuery] = []
    for qid in qrels:
        if qid not in texts:
            warnings.append(f"{qrels_path.name}: query {qid} has judgments but no text; skipped.")
            continue
        queries.append(EvalQuery(qid=qid, query=texts[qid]))
    if not queries:
        raise EvaluationDataError(f"{folder}: no query of {qrels_path.name} is in queries.jsonl.")
    judged = {q.qid for q in queries}
    return BeirSet(
        folder=folder,
        corpus=corpus,
        qrels_path=qrels_path,
        queries=queries,
        qrels={qid: j for qid, j in qrels.items() if qid in judged},
        warnings=warnings,
    )


def read_beir_qrels(path: Path) -> Qrels:
    """BEIR qrels: a header `query-id corpus-id score`, then one judgment per line."""
    qrels: Qrels = {}
    lines = read_lines(path)
    for n, line in enumerate(lines, 1):
        parts = line.split("\t") if "\t" in line else line.split()
        parts = [p.strip() for p in parts]
        if not any(parts) or (n == 1 and parts[0].lower() in {"query-id", "query_id", "qid"}):
            continue
        if len(parts) != 3:
            raise EvaluationDataError(
                f"{path} line {n}: expected `query-id corpus-id score`, got {len(parts)} columns."
            )
        try:
            qrels.setdefault(parts[0], {})[parts[1]] = int(float(parts[2]))
        except ValueError as exc:
            raise EvaluationDataError(
                f"{path} line {n}: score {parts[2]!r} is not a number."
            ) from exc
    if not qrels:
        raise EvaluationDataError(f"{path}: no judgments.")
    return qrels


def _beir_queries(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            out[str(obj["_id"])] = str(obj["text"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvaluationDataError(
                f'{path} line {n}: expected a BEIR query {{"_id", "text"}} ({exc}).'
            ) from exc
    return out


def beir_settings(settings: Settings, folder: Path) -> Settings:
    """Settings of the benchmark's own index: HOME/beir-<name>, collection <prefix>-beir-<name>."""
    name = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-")[:40] or "set"
    return settings.model_copy(
        update={
            "home": Path(settings.home) / f"beir-{name}",
            "collection_prefix": f"{settings.collection_prefix}-beir-{name}",
        }
    )


def ingest_beir(
    beir: BeirSet, *, settings: Settings, index: PassageIndex, progress: FileProgress | None = None
) -> IngestReport:
    """Ingest corpus.jsonl as study documents (a no-op when it is unchanged)."""
    return ingest_paths(
        [beir.corpus], settings=settings, index=index, kind="study", progress=progress
    )
