"""imr-assist: cited guideline retrieval for California workers' comp UR/IMR reviewers."""

from imr_assist.api import (
    ask,
    build_demo,
    draft,
    ingest,
    load_settings,
    open_chain,
    open_index,
    open_retriever,
    parse_file,
    search,
    status,
)
from imr_assist.citations import CITATION_RE, extract_citation_ids, format_citation
from imr_assist.drafting.chain import make_chain
from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.errors import ImrAssistError, ReviewError
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.chunking import chunk, chunk_document
from imr_assist.ingest.determination import parse_determination
from imr_assist.models import (
    Decision,
    Determination,
    DocumentHits,
    Hit,
    Kind,
    Passage,
    SearchResult,
    SourceDocument,
    Tier,
)
from imr_assist.retrieval.authority import group_by_document, order_by_authority
from imr_assist.retrieval.hybrid import HybridRetriever
from imr_assist.retrieval.precedent import find_precedent
from imr_assist.review.export import export_review, to_docx, to_markdown
from imr_assist.review.ledger import Ledger, Review, accept_blockers, open_ledger
from imr_assist.settings import Settings
from imr_assist.verification.verify import verify

__all__ = [
    "CITATION_RE",
    "Answer",
    "Decision",
    "Determination",
    "DeterminationDraft",
    "DocumentHits",
    "Hit",
    "HybridRetriever",
    "ImrAssistError",
    "Kind",
    "Ledger",
    "Passage",
    "PassageIndex",
    "Review",
    "ReviewError",
    "SearchResult",
    "Settings",
    "SourceDocument",
    "Tier",
    "accept_blockers",
    "ask",
    "build_demo",
    "chunk",
    "chunk_document",
    "draft",
    "export_review",
    "extract_citation_ids",
    "find_precedent",
    "format_citation",
    "group_by_document",
    "ingest",
    "load_settings",
    "make_chain",
    "open_chain",
    "open_index",
    "open_ledger",
    "open_retriever",
    "order_by_authority",
    "parse_determination",
    "parse_file",
    "search",
    "status",
    "to_docx",
    "to_markdown",
    "verify",
]
