"""The drafting eval: labelled ask/draft cases in, agreement against baselines out.

run.py      the `eval drafting` orchestration
metrics.py  citation validity, support, stance and decision agreement, abstention
models.py   cases, rows and summaries
report.py   report.md and summary.json
"""
