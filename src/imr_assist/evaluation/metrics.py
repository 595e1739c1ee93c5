"""Per-query retrieval metrics through pytrec_eval (trec_eval's code), plus MRR@10.

Conventions, as in trec_eval:
- nDCG@10 (`ndcg_cut_10`) uses LINEAR gain: a document of grade g adds g / log2(rank + 1), and
  the ideal ranking sorts all judged grades of the query. (Not 2^g - 1.)
- a judged id is relevant when its grade is >= 1 (recall, P@5, hit@1, MRR@10).
- recall@k is the share of the query's relevant ids found in the first k ids of the run.
MRR@10 is computed here (trec_eval's `recip_rank` has no cutoff). A query whose run is empty
scores 0 everywhere (pytrec_eval would silently leave it out of its output).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from imr_assist.evaluation.models import METRIC_KEYS, Metrics

_MEASURES = {"ndcg_cut.10", "recall.10,20,100", "P.5", "success.1"}
_FROM_PYTREC = {
    "ndcg@10": "ndcg_cut_10",
    "recall@10": "recall_10",
    "recall@20": "recall_20",
    "recall@100": "recall_100",
    "p@5": "P_5",
    "hit@1": "success_1",
}


def mrr_at(ranked: Sequence[str], judged: Mapping[str, int], cutoff: int = 10) -> float:
    """1 / rank of the first relevant id within the first `cutoff` ids, else 0."""
    for rank, docid in enumerate(ranked[:cutoff], 1):
        if judged.get(docid, 0) >= 1:
            return 1.0 / rank
    return 0.0


def per_query(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Sequence[str]]
) -> dict[str, Metrics]:
    """Metrics of every query in `qrels` (answerable queries only should be passed)."""
    import pytrec_eval

    judged = {qid: dict(j) for qid, j in qrels.items()}
    scored = {
        qid: {docid: float(len(ids) - i) for i, docid in enumerate(ids)}
        for qid, ids in run.items()
        if qid in judged and ids
    }
    evaluator = pytrec_eval.RelevanceEvaluator(judged, _MEASURES)
    raw = evaluator.evaluate(scored) if scored else {}
    out: dict[str, Metrics] = {}
    for qid, j in judged.items():
        got = raw.get(qid, {})
        values = {key: float(got.get(name, 0.0)) for key, name in _FROM_PYTREC.items()}
        values["mrr@10"] = mrr_at(run.get(qid, []), j)
        out[qid] = Metrics.model_validate(values)
    return out


def mean(metrics: Iterable[Metrics]) -> Metrics:
    """Mean of each metric (all zeros for no queries)."""
    items = [m.values() for m in metrics]
    if not items:
        return Metrics.model_validate(dict.fromkeys(METRIC_KEYS, 0.0))
    return Metrics.model_validate(
        {key: sum(v[key] for v in items) / len(items) for key in METRIC_KEYS}
    )
