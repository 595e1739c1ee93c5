"""The command line: thin shells over the library (`imr-assist ...`).

commands.py  the `imr-assist` group and the core commands (ingest, search, ask, draft, index...)
eval.py      `imr-assist eval retrieval|drafting`
ledger.py    `imr-assist ledger list|show|export|verify`
common.py    shared options and the error translation
"""
