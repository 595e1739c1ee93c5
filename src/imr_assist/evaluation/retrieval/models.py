"""Result types of `imr-assist eval retrieval`: per-query rows and the run summary.

Metric fields are named `ndcg_10` in Python and serialised as `ndcg@10`, the names used in
reports and in the JSON the CLI prints.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from imr_assist.models import StrictModel

METRIC_KEYS = ("ndcg@10", "recall@10", "recall@20", "recall@100", "mrr@10", "p@5", "hit@1")
"""Metric names as reported, in report order."""


class _Aliased(StrictModel):
    """Metric fields carry their report names as aliases ('ndcg@10'), used in and out."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )


class EvalQuery(_Aliased):
    """One line of a queries.jsonl file."""

    qid: str = Field(description="Query id, as in the qrels")
    query: str = Field(description="Query text as a reviewer would type it")
    style: str | None = Field(default=None, description="Phrasing style, e.g. 'abbrev_brand'")
    topic: str | None = Field(default=None, description="Topic, e.g. 'tens'")
    answerable: bool | None = Field(
        default=None,
        description="False when the corpus does not address the query; None = not stated "
        "(then a query is answerable when it has relevant qrels)",
    )


class Metrics(_Aliased):
    """Retrieval metrics of one query, or their mean over answerable queries."""

    ndcg_10: float = Field(alias="ndcg@10", description="nDCG@10, trec_eval ndcg_cut_10")
    recall_10: float = Field(alias="recall@10", description="Recall of relevant ids in top 10")
    recall_20: float = Field(alias="recall@20", description="Recall of relevant ids in top 20")
    recall_100: float = Field(alias="recall@100", description="Recall of relevant ids in top 100")
    mrr_10: float = Field(
        alias="mrr@10", description="Reciprocal rank of the first relevant id within the top 10"
    )
    p_5: float = Field(alias="p@5", description="Precision at 5")
    hit_1: float = Field(alias="hit@1", description="1 when the first id is relevant")

    def values(self) -> dict[str, float]:
        """Metric name (as reported) -> value."""
        return self.model_dump(by_alias=True, include=set(Metrics.model_fields))


class QueryRow(_Aliased):
    """One retriever on one query: metrics (answerable queries) and what the gate said."""

    retriever: str = Field(description="Retriever name")
    qid: str = Field(description="Query id")
    query: str = Field(description="Query text")
    style: str | None = Field(default=None, description="Phrasing style")
    topic: str | None = Field(default=None, description="Topic")
    answerable: bool = Field(description="The query has relevant qrels and is not marked false")
    metrics: Metrics | None = Field(
        default=None, description="Metrics; None for unanswerable queries"
    )
    relevant: bool = Field(description="The retriever's relevance gate said something is relevant")
    top_doc_id: str | None = Field(default=None, description="Document of the first hit")
    top_tier: str | None = Field(default=None, description="Authority tier of the first hit")
    hits: int = Field(description="Hits returned")
    judged_ids: int = Field(description="Ids in the run after mapping hits to the judged level")
    seconds: float = Field(description="Wall time of the search")


class RetrieverSummary(Metrics):
    """Mean metrics of one retriever over the answerable queries, plus its speed."""

    queries: int = Field(description="Answerable queries the means are over")
    ms_per_query: float = Field(
        description="Mean search wall time in milliseconds (after one untimed warm-up query)"
    )


class Abstention(_Aliased):
    """How one retriever's relevance gate behaved on unanswerable and answerable queries."""

    unanswerable: int = Field(description="Unanswerable queries")
    abstained_unanswerable: int = Field(description="Of them, where the gate said nothing relevant")
    abstention_recall: float | None = Field(
        description="abstained_unanswerable / unanswerable (None without unanswerable queries)"
    )
    answerable: int = Field(description="Answerable queries")
    abstained_answerable: int = Field(description="Of them, where the gate said nothing relevant")
    false_abstention_rate: float | None = Field(
        description="abstained_answerable / answerable (None without answerable queries)"
    )


class Significance(_Aliased):
    """Paired test of one retriever against the default on per-query nDCG@10."""

    retriever: str = Field(description="The retriever compared")
    baseline: str = Field(description="The default retriever it is compared with")
    queries: int = Field(description="Paired answerable queries")
    mean_diff: float = Field(description="Mean of (retriever - baseline) nDCG@10")
    wins: int = Field(description="Queries where the retriever scores higher")
    losses: int = Field(description="Queries where the retriever scores lower")
    p_randomization: float = Field(
        description="Two-sided p of the paired randomization (sign-flip permutation) test"
    )
    p_ttest: float | None = Field(
        description="Two-sided p of the paired t-test (scipy ttest_rel); 1.0 when identical"
    )
    rounds: int = Field(description="Randomization rounds")
    seed: int = Field(description="Random seed of the randomization test")


class StratumCell(_Aliased):
    """Mean nDCG@10 of one retriever over the answerable queries of one stratum."""

    queries: int = Field(description="Answerable queries in the stratum")
    ndcg_10: float = Field(alias="ndcg@10", description="Mean nDCG@10 in the stratum")


class EvalSummary(Metrics):
    """One `eval retrieval` run. The top-level metrics are those of the default retriever."""

    default_retriever: str = Field(description="Retriever whose metrics are at the top level")
    retrievers: dict[str, RetrieverSummary] = Field(description="Mean metrics per retriever")
    unanswerable: dict[str, Abstention] = Field(description="Gate behaviour per retriever")
    significance: dict[str, Significance] = Field(
        description="Each other retriever vs the default (per-query nDCG@10)"
    )
    strata: dict[str, dict[str, dict[str, StratumCell]]] = Field(
        description="by (style, topic, top_tier) -> stratum -> retriever -> mean nDCG@10. "
        "top_tier is the tier of that retriever's own first hit."
    )
    n_queries: int = Field(description="Queries evaluated")
    n_answerable: int = Field(description="Queries with relevant qrels")
    n_unanswerable: int = Field(description="Queries marked unanswerable or without qrels")
    level: str = Field(description="Judged unit: page, passage or document")
    k: int = Field(description="Hits requested per query")
    index_hash: str = Field(description="Index hash of the settings the index was built with")
    collection: str = Field(description="Chroma collection evaluated")
    index_documents: int = Field(description="Documents in the index")
    index_passages: int = Field(description="Passages in the index")
    settings: dict[str, dict[str, Any]] = Field(
        description="'index': what shapes the index (model, chunking, parser version); "
        "'retrieval': the hybrid retrieval settings in force"
    )
    queries_file: str = Field(description="Queries file, or the BEIR folder")
    qrels_file: str = Field(description="Qrels file")
    doc_aliases: dict[str, str] = Field(description="doc_id -> alias used in judged ids")
    split: str = Field(
        default="all",
        description="Queries evaluated: 'dev' (tune on), 'test' (report only) or 'all' "
        "(imr_assist.evaluation.split: sha256 of the qid)",
    )
    date: str = Field(description="UTC time of the run, ISO 8601")
    command: str = Field(description="The command line that produced the run")
    out_dir: str = Field(default="", description="Folder holding the outputs")
    files: dict[str, str] = Field(default_factory=dict, description="Output name -> path")
    warnings: list[str] = Field(default_factory=list, description="Data problems worth a look")
