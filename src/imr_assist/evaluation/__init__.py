"""Evaluation: judged queries in, metrics, significance and reports out.

trec.py            queries.jsonl, graded TREC qrels, run files, hits -> judged ids
metrics.py         trec_eval metrics via pytrec_eval, plus MRR@10
significance.py    paired randomization test and t-test
peer.py            the LangChain EnsembleRetriever baseline
beir.py            BEIR folders, ingested into their own index
report.py          report.md, ndcg.png, per-query CSV, summary.json
retrieval_eval.py  the `eval retrieval` orchestration
"""

from imr_assist.evaluation.models import (
    METRIC_KEYS,
    Abstention,
    EvalQuery,
    EvalSummary,
    Metrics,
    QueryRow,
    RetrieverSummary,
    Significance,
)
from imr_assist.evaluation.retrieval_eval import (
    DEFAULT_RETRIEVER,
    RETRIEVER_NAMES,
    EvalOutcome,
    RetrieverFn,
    build_retrievers,
    evaluate,
    run_retrieval_eval,
)
from imr_assist.evaluation.trec import EvaluationDataError

__all__ = [
    "DEFAULT_RETRIEVER",
    "METRIC_KEYS",
    "RETRIEVER_NAMES",
    "Abstention",
    "EvalOutcome",
    "EvalQuery",
    "EvalSummary",
    "EvaluationDataError",
    "Metrics",
    "QueryRow",
    "RetrieverFn",
    "RetrieverSummary",
    "Significance",
    "build_retrievers",
    "evaluate",
    "run_retrieval_eval",
]
