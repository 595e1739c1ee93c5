"""The index: passages stored with their vectors and a lexical side-store.

store.py        `PassageIndex`: Chroma collection + manifest of documents
embedding.py    the bundled MiniLM encoder (torch, and ONNX for queries)
lexical.py      the BM25 side-store (bm25s), rebuilt from Chroma when it drifts
consistency.py  `index check [--repair]`: Chroma, manifest and BM25 agree
filters.py      the filter keys and check, the Chroma `where` and the BM25 mask
"""
