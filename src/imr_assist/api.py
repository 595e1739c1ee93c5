"""Library entry points used by the CLI and the app: settings in, models out.

Index handles are cached per (settings) so that a process loads the model and opens Chroma once.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.errors import ConfigError, DeterminationParseError, EmptyIndexError, QueryError
from imr_assist.index.consistency import ConsistencyReport
from imr_assist.index.filters import check_filters
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.pipeline import FileProgress, ingest_paths
from imr_assist.ingest.progress import JobListener
from imr_assist.ingest.reader import ReadOptions, read_source
from imr_assist.models import (
    Determination,
    DocumentRecord,
    IndexStatus,
    IngestReport,
    Kind,
    SearchResult,
)
from imr_assist.reasoning.models import Recommendation
from imr_assist.retrieval.hybrid import HybridRetriever
from imr_assist.settings import Settings

log = logging.getLogger(__name__)

DEMO_CORPUS = Path(str(resources.files("imr_assist") / "demo_corpus"))
"""The illustrative demo corpus, shipped as package data (guidelines/ and determinations/)."""


@functools.lru_cache(maxsize=8)
def _cached_chain(settings_json: str) -> Any:
    from imr_assist.drafting.chain import make_chain
    from imr_assist.drafting.llm import chat_model_for, describe_llm, redactor_for
    from imr_assist.drafting.llm_drafter import make_llm_drafter

    settings = Settings.model_validate_json(settings_json)
    model = chat_model_for(settings.llm)
    drafter = None
    if model is not None and settings.llm.model:
        name = describe_llm(settings.llm.model, settings.llm.base_url)
        drafter = make_llm_drafter(model, name, redactor=redactor_for(settings.llm))
    return make_chain(_cached_retriever(settings_json), drafter=drafter)


def open_chain(settings: Settings) -> Any:
    """The drafting chain (retrieve -> order by authority -> draft -> verify) for settings."""
    return _cached_chain(settings.cache_key())


def ask(
    question: str,
    *,
    home: Path | str | None = None,
    settings: Settings | None = None,
    filters: dict[str, str] | None = None,
) -> Answer:
    """A cited answer to a question (offline composer unless an LLM is configured)."""
    settings = settings or load_settings(home)
    require_documents(settings)
    result = open_chain(settings).invoke({"request": question, "kind": "ask", "filters": filters})
    assert isinstance(result, Answer)
    return result


def draft(
    request: str,
    summary: str = "",
    *,
    home: Path | str | None = None,
    settings: Settings | None = None,
    filters: dict[str, str] | None = None,
) -> DeterminationDraft:
    """A determination block for one requested item, given the case facts."""
    settings = settings or load_settings(home)
    require_documents(settings)
    payload = {"request": request, "summary": summary, "kind": "draft", "filters": filters}
    result = open_chain(settings).invoke(payload)
    assert isinstance(result, DeterminationDraft)
    return result


def read_batch(path: Path, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """JSONL lines with a qid and the given fields; a bad line is an error naming it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryError(f"{path}: cannot read the batch file ({exc}).") from exc
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            row = {"qid": str(obj["qid"]), **{f: str(obj.get(f) or "") for f in fields}}
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise QueryError(
                f"{path} line {n}: expected a JSON object with qid and {', '.join(fields)} ({exc})."
            ) from exc
        rows.append(row)
    return rows


def require_documents(settings: Settings) -> None:
    """EmptyIndexError when nothing is indexed under these settings: an answer drawn from an
    empty index would say 'not addressed' when nothing was looked at."""
    index = open_index(settings)
    if index.records():
        return
    others = index.other_collections()
    built = (
        f" This home holds indexes built with other settings or an older parser "
        f"({', '.join(others)}); ingest again to build one for the current settings."
        if others
        else ""
    )
    raise EmptyIndexError(
        f"Nothing is indexed yet in {settings.home}, so there is nothing to answer from.{built} "
        "Index the illustrative demo corpus with `imr-assist demo`, or your own guidelines and "
        "determinations with `imr-assist ingest PATH`."
    )


def load_settings(home: Path | str | None = None) -> Settings:
    """Settings from the environment, with `--home` taking precedence."""
    try:
        return Settings().with_home(home)
    except Exception as exc:  # pydantic ValidationError on a bad IMR_* value
        raise ConfigError(f"Invalid IMR_* setting: {exc}") from exc


@functools.lru_cache(maxsize=8)
def _cached_index(settings_json: str) -> PassageIndex:
    return PassageIndex(Settings.model_validate_json(settings_json))


def open_index(settings: Settings) -> PassageIndex:
    """The index for these settings (one per process and settings)."""
    return _cached_index(settings.cache_key())


@functools.lru_cache(maxsize=8)
def _cached_retriever(settings_json: str) -> HybridRetriever:
    return HybridRetriever(_cached_index(settings_json))


def open_retriever(settings: Settings) -> HybridRetriever:
    """The hybrid retriever over `open_index(settings)` (one per process and settings)."""
    return _cached_retriever(settings.cache_key())


def ingest(
    paths: Sequence[str | Path],
    *,
    home: Path | str | None = None,
    settings: Settings | None = None,
    kind: str = "auto",
    tier: str | None = None,
    guideline: str | None = None,
    progress: FileProgress | None = None,
    job_progress: JobListener | None = None,
    names: Callable[[Path], str] | None = None,
) -> IngestReport:
    """Ingest files and folders (`ingest_paths`); `job_progress` hears the whole job."""
    settings = settings or load_settings(home)
    return ingest_paths(
        paths,
        settings=settings,
        index=open_index(settings),
        kind=kind,
        tier=tier,
        guideline=guideline,
        progress=progress,
        job_progress=job_progress,
        names=names,
    )


def parse_file(path: Path) -> Determination:
    """Parse a determination letter file (.txt/.pdf)."""
    result = read_source(path, ReadOptions(kind=Kind.DETERMINATION.value))
    det = result.documents[0].determination
    if det is None:  # pragma: no cover - kind forces a parse
        raise DeterminationParseError(path, "no determination found.", "")
    return det


def parse_filters(pairs: Sequence[str]) -> dict[str, str]:
    """`key=value` strings into a dict (validated against the index's filter keys later)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise QueryError(f"Filter {pair!r} is not KEY=VALUE (e.g. tier=mtus).")
        out[key.strip()] = value.strip()
    return out


def search(
    query: str,
    *,
    home: Path | str | None = None,
    settings: Settings | None = None,
    k: int | None = None,
    filters: dict[str, str] | None = None,
    mode: str = "hybrid",
    per_document: bool = False,
) -> SearchResult:
    """The ranked hits for a query; with `per_document`, also `result.by_document`: each
    candidate document's best passages (up to 3), those that address the request first, in
    the order of authority, so every loaded guideline is heard however short it is."""
    from imr_assist.retrieval.hybrid import PER_DOCUMENT

    settings = settings or load_settings(home)
    check_filters(filters)
    require_documents(settings)
    return open_retriever(settings).search(
        query, k=k, filters=filters, mode=mode, per_document=PER_DOCUMENT if per_document else 0
    )


def search_batch(
    path: Path,
    *,
    home: Path | str | None = None,
    settings: Settings | None = None,
    k: int | None = None,
    filters: dict[str, str] | None = None,
    mode: str = "hybrid",
) -> Iterator[tuple[str, SearchResult]]:
    """Search every `{"qid","query"}` line of a JSONL file in one process.

    Bad filters refuse the whole batch before any search. A bad query (empty, too long, no
    words) does not stop the batch: its result has no hits, `relevant=False` and the reason
    in `gate_reason`."""
    check_filters(filters)
    settings = settings or load_settings(home)
    require_documents(settings)
    retriever = open_retriever(settings)
    for row in read_batch(path, ("query",)):
        try:
            result = retriever.search(row["query"], k=k, filters=filters, mode=mode)
        except QueryError as exc:
            log.warning("batch query %s refused: %s", row["qid"], exc)
            result = SearchResult(
                query=row["query"][:200],
                hits=[],
                mode=mode,
                index_hash=settings.index_hash,
                relevant=False,
                gate_reason=f"refused: {exc}",
            )
        yield row["qid"], result


def status(*, home: Path | str | None = None, settings: Settings | None = None) -> IndexStatus:
    settings = settings or load_settings(home)
    return open_index(settings).status()


def recommendations(
    *,
    guideline: str | None = None,
    doc_id: str | None = None,
    home: Path | str | None = None,
    settings: Settings | None = None,
) -> list[Recommendation]:
    """Recommendation records of the indexed guidelines (published versions), in document
    order; optionally of one guideline (short name) or one document."""
    from imr_assist.index.recommendations import RecommendationStore

    settings = settings or load_settings(home)
    return RecommendationStore(open_index(settings)).list(guideline=guideline, doc_id=doc_id)


def remove(
    doc_ids: Sequence[str], *, home: Path | str | None = None, settings: Settings | None = None
) -> list[DocumentRecord]:
    """Remove documents and their passages; the BM25 side follows at once."""
    settings = settings or load_settings(home)
    index = open_index(settings)
    removed = [index.remove(d) for d in doc_ids]
    open_retriever(settings).sync()
    return removed


def check_index(
    *,
    home: Path | str | None = None,
    settings: Settings | None = None,
    repair: bool = False,
    grace_s: float | None = None,
) -> ConsistencyReport:
    """Do Chroma, the manifest and this machine's BM25 side-store agree? `repair` fixes drift."""
    from imr_assist.index import consistency

    settings = settings or load_settings(home)
    index = open_index(settings)
    if not repair:
        return consistency.check(index)
    grace = consistency.DEFAULT_GRACE_S if grace_s is None else grace_s
    report = consistency.repair(index, grace_s=grace)
    open_retriever(settings).sync()
    return report


def build_demo(
    *,
    home: Path | str | None = None,
    settings: Settings | None = None,
    if_missing: bool = False,
    progress: FileProgress | None = None,
    job_progress: JobListener | None = None,
) -> IngestReport | None:
    """Index the illustrative demo corpus shipped with the package (None when already indexed)."""
    if not DEMO_CORPUS.is_dir():
        raise ConfigError(f"The demo corpus folder {DEMO_CORPUS} is missing; reinstall imr-assist.")
    settings = settings or load_settings(home)
    index = open_index(settings)
    if if_missing and any(r.file_path.startswith(str(DEMO_CORPUS)) for r in index.records()):
        return None
    paths = [DEMO_CORPUS / "guidelines", DEMO_CORPUS / "determinations"]
    report = ingest_paths(
        paths, settings=settings, index=index, progress=progress, job_progress=job_progress
    )
    open_retriever(settings).sync()
    return report
