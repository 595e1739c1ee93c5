"""The retrieval eval: judged queries in, metrics, significance and reports out.

run.py      the `eval retrieval` orchestration
metrics.py  trec_eval metrics via pytrec_eval, plus MRR@10
peer.py     the LangChain EnsembleRetriever baseline
beir.py     BEIR folders, ingested into their own index
report.py   report.md, ndcg.png, per-query CSV, summary.json
models.py   the eval's rows and summaries
"""
