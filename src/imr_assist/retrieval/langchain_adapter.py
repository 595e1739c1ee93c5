"""LangChain adapters: the hybrid retriever as a `BaseRetriever` (a Runnable for LCEL)."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from imr_assist.models import Hit


def hit_to_document(hit: Hit) -> Document:
    """A LangChain Document carrying the passage text and every locator as metadata."""
    meta = hit.passage.metadata()
    meta.update(score=hit.score, rank=hit.rank, citation=hit.citation)
    return Document(page_content=hit.passage.text, metadata=meta, id=hit.passage.id)


class ImrRetriever(BaseRetriever):
    """`invoke(query)` -> Documents from `HybridRetriever.search` (mode, k, filters fixed here).

    The last SearchResult (with the relevance gate's verdict) is kept on `last_result`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any = Field(description="The HybridRetriever to call")
    k: int = Field(default=10, description="Number of documents returned")
    mode: str = Field(default="hybrid", description="dense, bm25 or hybrid")
    filters: dict[str, str] | None = Field(default=None, description="Metadata filters")
    last_result: Any = Field(default=None, description="SearchResult of the last call")

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.retriever.search(query, k=self.k, filters=self.filters, mode=self.mode)
        self.last_result = result
        return [hit_to_document(h) for h in result.hits]
