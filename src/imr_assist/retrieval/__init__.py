"""Retrieval: find the passages that govern a request.

validation.py         query cleaning and filter checks, shared by every search path
hybrid.py             `HybridRetriever`: dense + BM25, reciprocal rank fusion, the relevance gate
authority.py          order evidence by the medical evidence search sequence (8 CCR 9792.21.1)
precedent.py          similar prior determinations and how they were decided
langchain_adapter.py  the hybrid retriever as a LangChain `BaseRetriever`
"""
