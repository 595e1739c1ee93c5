"""Per-query retrieval metrics through pytrec_eval (trec_eval's code), plus MRR@10; gate
abstention rates and per-stratum means.

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

from imr_assist.evaluation.retrieval.models import (
    METRIC_KEYS,
    Abstention,
    Metrics,
    QueryRow,
    StratumCell,
)

STRATA = ("style", "topic", "top_tier")
"""Per-stratum tables: query style, query topic, tier of the retriever's first hit."""
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


def abstention(rows: Sequence[QueryRow]) -> Abstention:
    """Gate behaviour of one retriever: abstentions on unanswerable and answerable rows."""
    un = [r for r in rows if not r.answerable]
    ans = [r for r in rows if r.answerable]
    un_abst = sum(not r.relevant for r in un)
    ans_abst = sum(not r.relevant for r in ans)
    return Abstention(
        unanswerable=len(un),
        abstained_unanswerable=un_abst,
        abstention_recall=un_abst / len(un) if un else None,
        answerable=len(ans),
        abstained_answerable=ans_abst,
        false_abstention_rate=ans_abst / len(ans) if ans else None,
    )


def strata(
    rows: Sequence[QueryRow], names: Sequence[str]
) -> dict[str, dict[str, dict[str, StratumCell]]]:
    """by -> stratum -> retriever -> mean nDCG@10 over that retriever's answerable rows."""
    out: dict[str, dict[str, dict[str, StratumCell]]] = {}
    for by in STRATA:
        groups: dict[str, dict[str, list[float]]] = {}
        for r in rows:
            if r.metrics is None:
                continue
            value = getattr(r, by) or ("(no hits)" if by == "top_tier" else "(none)")
            groups.setdefault(value, {}).setdefault(r.retriever, []).append(r.metrics.ndcg_10)
        out[by] = {
            value: {
                n: StratumCell(queries=len(v), ndcg_10=sum(v) / len(v))
                for n in names
                if (v := per.get(n))
            }
            for value, per in sorted(groups.items())
        }
    return out
