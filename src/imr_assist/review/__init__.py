"""Review: what happens to a draft after it is written.

ledger/    the append-only, hash-chained audit trail (SQLite) and the accept gate
export.py  accepted determinations as Markdown or DOCX in the IMR layout
"""
