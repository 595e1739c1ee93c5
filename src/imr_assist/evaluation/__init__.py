"""Evaluation: judged queries and labelled cases in, metrics and reports out.

trec.py          queries.jsonl, graded TREC qrels, run files, hits -> judged ids, JSONL readers
significance.py  paired randomization test and t-test
retrieval/       the retrieval eval (pytrec_eval metrics, the LangChain peer, BEIR, reports)
drafting/        the drafting eval (stance, decision, citations, support)
"""

from imr_assist.errors import EvaluationDataError
from imr_assist.evaluation.retrieval.models import (
    METRIC_KEYS,
    Abstention,
    EvalQuery,
    EvalSummary,
    Metrics,
    QueryRow,
    RetrieverSummary,
    Significance,
)
from imr_assist.evaluation.retrieval.run import (
    DEFAULT_RETRIEVER,
    RETRIEVER_NAMES,
    EvalOutcome,
    RetrieverFn,
    build_retrievers,
    evaluate,
    run_retrieval_eval,
)

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
