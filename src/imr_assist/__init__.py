"""imr-assist: cited guideline retrieval for California workers' comp UR/IMR reviewers."""

from imr_assist.api import (
    build_demo,
    ingest,
    load_settings,
    open_index,
    parse_file,
    search,
    status,
)
from imr_assist.chunking import chunk, chunk_document
from imr_assist.citations import CITATION_RE, extract_citation_ids, format_citation
from imr_assist.errors import ImrAssistError
from imr_assist.index import PassageIndex
from imr_assist.models import (
    Decision,
    Determination,
    Hit,
    Kind,
    Passage,
    SearchResult,
    SourceDocument,
    Tier,
)
from imr_assist.settings import Settings
from imr_assist.sources.determination import parse_determination

__all__ = [
    "CITATION_RE",
    "Decision",
    "Determination",
    "Hit",
    "ImrAssistError",
    "Kind",
    "Passage",
    "PassageIndex",
    "SearchResult",
    "Settings",
    "SourceDocument",
    "Tier",
    "build_demo",
    "chunk",
    "chunk_document",
    "extract_citation_ids",
    "format_citation",
    "ingest",
    "load_settings",
    "open_index",
    "parse_determination",
    "parse_file",
    "search",
    "status",
]
