"""The command line: thin shells over the library (`imr-assist ...`).

commands.py  the `imr-assist` group and the core commands (ingest, search, ask, draft, index...)
eval.py      `imr-assist eval retrieval|drafting`
ledger.py    `imr-assist ledger list|show|export|verify`
recs.py      `imr-assist recs list`: recommendation records of the indexed guidelines
common.py    shared options and the error translation
"""
