"""`imr-assist eval retrieval`: run several retrievers over judged queries, score and compare them.

A retriever is any `(query, k) -> SearchResult` callable in a dict name -> callable; the built-in
ones are the HybridRetriever's three modes (dense, bm25, hybrid) and the LangChain peer recipe.
Answerable queries (relevant qrels, not marked `answerable: false`) get trec_eval metrics;
unanswerable ones score the relevance gate (`SearchResult.relevant`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from imr_assist.errors import EvaluationDataError, QueryError
from imr_assist.evaluation.retrieval import metrics as M
from imr_assist.evaluation.retrieval.beir import beir_settings, ingest_beir, load_beir
from imr_assist.evaluation.retrieval.models import (
    Abstention,
    EvalQuery,
    EvalSummary,
    Metrics,
    QueryRow,
    RetrieverSummary,
    Significance,
    StratumCell,
)
from imr_assist.evaluation.significance import DEFAULT_ROUNDS, DEFAULT_SEED, compare
from imr_assist.evaluation.split import SPLITS, keep
from imr_assist.evaluation.trec import (
    LEVELS,
    Qrels,
    Run,
    judged_ids,
    read_qrels,
    read_queries,
    relevant_qids,
)
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.pipeline import FileProgress, ingest_paths
from imr_assist.models import IngestReport, SearchResult
from imr_assist.settings import Settings

RetrieverFn = Callable[[str, int], SearchResult]
"""A retriever under evaluation: (query, k) -> SearchResult, best first."""
EvalProgress = Callable[[str, int, int], None]
"""(retriever name, queries done, queries total)."""

RETRIEVER_NAMES = ("dense", "bm25", "hybrid", "peer")
DEFAULT_RETRIEVER = "hybrid"
DEFAULT_K = 100


@dataclass
class EvalOutcome:
    """Everything one evaluation produced, before it is stamped and written."""

    queries: list[EvalQuery]
    default: str
    rows: list[QueryRow]
    runs: dict[str, Run]
    retrievers: dict[str, RetrieverSummary]
    unanswerable: dict[str, Abstention]
    significance: dict[str, Significance]
    strata: dict[str, dict[str, dict[str, StratumCell]]]
    answerable: list[str]
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- retrievers


HybridFactory = Callable[[PassageIndex, Settings], Any]
"""Makes the object whose `.search(query, k=, filters=, mode=)` serves dense, bm25 and hybrid."""


def build_retrievers(
    index: PassageIndex,
    settings: Settings,
    names: Sequence[str] = RETRIEVER_NAMES,
    *,
    hybrid_factory: HybridFactory | None = None,
) -> dict[str, RetrieverFn]:
    """Named retrievers over one index. dense, bm25 and hybrid are the modes of one
    HybridRetriever (or of what `hybrid_factory` makes); peer is the LangChain recipe."""
    _check_names(names)
    out: dict[str, RetrieverFn] = {}
    hybrid: Any = None
    for name in dict.fromkeys(names):
        if name == "peer":
            from imr_assist.evaluation.retrieval.peer import PeerRetriever

            out[name] = PeerRetriever(index)
            continue
        if hybrid is None:
            hybrid = (hybrid_factory or _make_hybrid)(index, settings)
        out[name] = partial(_mode_search, hybrid, name)
    return out


def _check_names(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in RETRIEVER_NAMES]
    if unknown or not names:
        raise QueryError(
            f"Unknown retriever(s): {', '.join(unknown) or 'none given'}. "
            f"Use a comma list of {', '.join(RETRIEVER_NAMES)}."
        )


def _make_hybrid(index: PassageIndex, settings: Settings) -> Any:
    from imr_assist.retrieval.hybrid import HybridRetriever

    return HybridRetriever(index, settings)


def _mode_search(retriever: Any, mode: str, query: str, k: int) -> SearchResult:
    result: SearchResult = retriever.search(query, k=k, filters=None, mode=mode)
    return result


# --------------------------------------------------------------------------- evaluation


def evaluate(
    queries: Sequence[EvalQuery],
    qrels: Qrels,
    retrievers: Mapping[str, RetrieverFn],
    *,
    level: str = "page",
    aliases: Mapping[str, str] | None = None,
    k: int = DEFAULT_K,
    default: str | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    progress: EvalProgress | None = None,
) -> EvalOutcome:
    """Run every retriever on every query; score, compare and stratify."""
    if level not in LEVELS:
        raise EvaluationDataError(f"Unknown level {level!r}; use one of {', '.join(LEVELS)}.")
    if not retrievers:
        raise QueryError("No retrievers to evaluate.")
    baseline = default if default and default in retrievers else _default_name(retrievers)
    answerable, warnings = _answerable(queries, qrels)
    judged = {qid: qrels[qid] for qid in answerable}
    rows: list[QueryRow] = []
    runs: dict[str, Run] = {}
    per_query: dict[str, dict[str, Metrics]] = {}
    summaries: dict[str, RetrieverSummary] = {}
    for name, fn in retrievers.items():
        run, results, seconds = _run_one(name, fn, queries, k, level, aliases, progress)
        runs[name] = run
        per_query[name] = M.per_query(judged, run)
        for q in queries:
            rows.append(
                _row(
                    name, q, results[q.qid], run[q.qid], per_query[name].get(q.qid), seconds[q.qid]
                )
            )
        mean = M.mean(per_query[name][qid] for qid in answerable)
        summaries[name] = RetrieverSummary.model_validate(
            {
                **mean.values(),
                "queries": len(answerable),
                "ms_per_query": round(1000 * sum(seconds.values()) / max(len(queries), 1), 2),
            }
        )
    ndcg = {n: [per_query[n][qid].ndcg_10 for qid in answerable] for n in retrievers}
    significance = {
        n: compare(n, baseline, ndcg[n], ndcg[baseline], rounds=rounds, seed=seed)
        for n in retrievers
        if n != baseline and answerable
    }
    return EvalOutcome(
        queries=list(queries),
        default=baseline,
        rows=rows,
        runs=runs,
        retrievers=summaries,
        unanswerable={n: M.abstention([r for r in rows if r.retriever == n]) for n in retrievers},
        significance=significance,
        strata=M.strata(rows, list(retrievers)),
        answerable=answerable,
        warnings=warnings,
    )


def _default_name(retrievers: Mapping[str, RetrieverFn]) -> str:
    return DEFAULT_RETRIEVER if DEFAULT_RETRIEVER in retrievers else next(iter(retrievers))


def _answerable(queries: Sequence[EvalQuery], qrels: Qrels) -> tuple[list[str], list[str]]:
    """Answerable qids in query order, and warnings about inconsistent data."""
    relevant = relevant_qids(qrels)
    known = {q.qid for q in queries}
    warnings = [
        f"qrels judge {qid}, which is not in the queries file; ignored."
        for qid in sorted(set(qrels) - known)
    ]
    answerable: list[str] = []
    for q in queries:
        if q.answerable is False:
            if q.qid in relevant:
                warnings.append(
                    f"{q.qid} is marked answerable=false but has relevant qrels; "
                    "scored as unanswerable."
                )
            continue
        if q.qid not in relevant:
            if q.answerable:
                warnings.append(
                    f"{q.qid} is marked answerable but has no relevant qrels; "
                    "scored as unanswerable."
                )
            continue
        answerable.append(q.qid)
    return answerable, warnings


def _run_one(
    name: str,
    fn: RetrieverFn,
    queries: Sequence[EvalQuery],
    k: int,
    level: str,
    aliases: Mapping[str, str] | None,
    progress: EvalProgress | None,
) -> tuple[Run, dict[str, SearchResult], dict[str, float]]:
    run: Run = {}
    results: dict[str, SearchResult] = {}
    seconds: dict[str, float] = {}
    for n, q in enumerate(queries, 1):
        try:
            if n == 1:  # untimed warm-up: model load, BM25 index build, caches
                fn(q.query, k)
            started = time.perf_counter()
            result = fn(q.query, k)
        except QueryError as exc:
            raise EvaluationDataError(f"Query {q.qid} ({name}): {exc}") from exc
        seconds[q.qid] = time.perf_counter() - started
        results[q.qid] = result
        run[q.qid] = judged_ids(result.hits[:k], level, aliases)
        if progress is not None:
            progress(name, n, len(queries))
    return run, results, seconds


def _row(
    name: str,
    q: EvalQuery,
    result: SearchResult,
    ids: list[str],
    metrics: Metrics | None,
    seconds: float,
) -> QueryRow:
    top = result.hits[0].passage if result.hits else None
    return QueryRow(
        retriever=name,
        qid=q.qid,
        query=q.query,
        style=q.style,
        topic=q.topic,
        answerable=metrics is not None,
        metrics=metrics,
        relevant=result.relevant,
        top_doc_id=top.doc_id if top else None,
        top_tier=top.tier.value if top else None,
        hits=len(result.hits),
        judged_ids=len(ids),
        seconds=round(seconds, 4),
    )


# --------------------------------------------------------------------------- the command


def run_retrieval_eval(
    *,
    settings: Settings,
    queries_path: Path | None = None,
    qrels_path: Path | None = None,
    beir_dir: Path | None = None,
    level: str | None = None,
    doc_aliases: Mapping[str, str] | None = None,
    ingest: Sequence[Path] = (),
    retrievers: Sequence[str] = RETRIEVER_NAMES,
    k: int = DEFAULT_K,
    out_dir: Path | None = None,
    command: str = "",
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    index: PassageIndex | None = None,
    hybrid_factory: HybridFactory | None = None,
    progress: EvalProgress | None = None,
    ingest_progress: FileProgress | None = None,
    split: str = "all",
) -> EvalSummary:
    """Ingest (optional), evaluate the named retrievers, write the outputs, return the summary.

    Give `queries_path` + `qrels_path` (level page|passage|document, default page), or
    `beir_dir` (its corpus goes into HOME/beir-<name>; document level). `split` keeps the
    queries of one split (`dev` to tune on, `test` to report; `imr_assist.evaluation.split`).
    """
    from imr_assist.evaluation.retrieval.report import write_outputs

    started = datetime.now(UTC)
    warnings: list[str] = []
    _check_names(retrievers)
    if beir_dir is not None:
        if queries_path or qrels_path or ingest:
            raise QueryError(
                "Give either --beir DIR or --queries/--qrels (with --ingest), not both."
            )
        if level not in (None, "document"):
            raise QueryError("BEIR is judged per document; drop --level or use --level document.")
        level = "document"
        beir = load_beir(beir_dir)
        eval_settings = beir_settings(settings, beir_dir)
        index = index or PassageIndex(eval_settings)
        _check_ingest(
            ingest_beir(beir, settings=eval_settings, index=index, progress=ingest_progress)
        )
        queries, qrels, warnings = beir.queries, beir.qrels, list(beir.warnings)
        source, qrels_file = str(beir_dir), str(beir.qrels_path)
    else:
        if queries_path is None or qrels_path is None:
            raise QueryError(
                "Nothing to evaluate: give --queries FILE.jsonl and --qrels FILE "
                "(TREC `qid 0 docid grade`), or --beir DIR."
            )
        level = level or "page"
        eval_settings = settings
        index = index or PassageIndex(eval_settings)
        if ingest:
            _check_ingest(
                ingest_paths(list(ingest), settings=settings, index=index, progress=ingest_progress)
            )
        queries, qrels = read_queries(queries_path), read_qrels(qrels_path)
        source, qrels_file = str(queries_path), str(qrels_path)
    queries, qrels = _split(queries, qrels, split)
    status = index.status()
    if status.passages == 0:
        raise EvaluationDataError(
            f"The index in {index.location} is empty. Ingest the judged documents first "
            "(--ingest PATH, or `imr-assist ingest PATH` with the same --home)."
        )
    fns = build_retrievers(index, eval_settings, retrievers, hybrid_factory=hybrid_factory)
    outcome = evaluate(
        queries,
        qrels,
        fns,
        level=level,
        aliases=doc_aliases,
        k=k,
        rounds=rounds,
        seed=seed,
        progress=progress,
    )
    default = outcome.retrievers[outcome.default]
    summary = EvalSummary.model_validate(
        {
            **default.model_dump(by_alias=True, include=set(Metrics.model_fields)),
            "default_retriever": outcome.default,
            "retrievers": outcome.retrievers,
            "unanswerable": outcome.unanswerable,
            "significance": outcome.significance,
            "strata": outcome.strata,
            "n_queries": len(queries),
            "n_answerable": len(outcome.answerable),
            "n_unanswerable": len(queries) - len(outcome.answerable),
            "level": level,
            "k": k,
            "index_hash": eval_settings.index_hash,
            "collection": eval_settings.collection_name,
            "index_documents": status.documents,
            "index_passages": status.passages,
            "settings": {
                "index": eval_settings.index_fingerprint(),
                "retrieval": eval_settings.retrieval.model_dump(mode="json"),
            },
            "queries_file": source,
            "qrels_file": qrels_file,
            "doc_aliases": dict(doc_aliases or {}),
            "split": split,
            "date": started.isoformat(timespec="seconds"),
            "command": command,
            "warnings": warnings + outcome.warnings,
        }
    )
    out = out_dir or Path(settings.home) / "eval" / started.strftime("%Y%m%dT%H%M%SZ")
    return write_outputs(summary, outcome, out)


def _split(queries: list[EvalQuery], qrels: Qrels, split: str) -> tuple[list[EvalQuery], Qrels]:
    """The queries of one split and the qrels of those queries ('all' keeps everything)."""
    if split not in SPLITS:
        raise QueryError(f"Unknown split {split!r}: use {', '.join(SPLITS)}.")
    kept = keep(queries, split)
    qids = {q.qid for q in kept}
    if split != "all":
        qrels = {qid: judged for qid, judged in qrels.items() if qid in qids}
    if not kept:
        raise EvaluationDataError(f"No query falls in the {split} split; nothing to evaluate.")
    return kept, qrels


def _check_ingest(report: IngestReport) -> None:
    if report.failed:
        detail = "; ".join(f.message for f in report.failed)
        raise EvaluationDataError(f"Ingest failed, nothing was evaluated: {detail}")
