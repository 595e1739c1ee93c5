"""The first page: search the index and show each passage with its citation."""

from __future__ import annotations

from typing import Any

import streamlit as st

from imr_assist import api
from imr_assist.errors import ImrAssistError
from imr_assist.index import FILTER_KEYS, PassageIndex
from imr_assist.models import Kind, Tier
from imr_assist.retrieval import HybridRetriever
from imr_assist.settings import Settings

EXAMPLES = (
    "Is a home exercise kit covered after lumbar fusion?",
    "TENS unit purchase for chronic low back pain",
    "12 sessions of chiropractic manipulation",
)


@st.cache_resource(show_spinner=False)
def _retriever(settings_json: str) -> HybridRetriever:
    return api.open_retriever(Settings.model_validate_json(settings_json))


def get_retriever(settings: Settings) -> HybridRetriever:
    """One retriever (index, model, BM25) per settings for the whole server process."""
    return _retriever(settings.model_dump_json())


def ensure_demo(settings: Settings, index: PassageIndex) -> None:
    """On an empty home, build the demo index with a visible progress bar."""
    if index.records():
        return
    bar = st.progress(0.0, text="First run: indexing the illustrative demo corpus…")

    def progress(name: str, done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Indexing {name}…")

    report = api.build_demo(settings=settings, progress=progress)
    bar.empty()
    if report is not None and report.failed:
        st.warning("Some demo files failed: " + "; ".join(f.message for f in report.failed))


def _sidebar_filters() -> dict[str, str]:
    st.sidebar.header("Filters")
    filters: dict[str, str] = {}
    tiers = st.sidebar.multiselect("Authority tier", [t.value for t in Tier])
    kinds = st.sidebar.multiselect("Kind", [k.value for k in Kind])
    guideline = st.sidebar.text_input("Guideline name (exact)")
    region = st.sidebar.text_input("Body region (e.g. low_back)")
    if tiers:
        filters["tier"] = "|".join(tiers)
    if kinds:
        filters["kind"] = "|".join(kinds)
    if guideline.strip():
        filters["guideline"] = guideline.strip()
    if region.strip():
        filters["body_region"] = region.strip()
    assert set(filters) <= set(FILTER_KEYS)
    return filters


def render(settings: Settings | None = None, retriever: Any | None = None) -> None:
    """Render the search page. `retriever` is injectable for tests."""
    st.title("imr-assist — guideline search")
    st.caption(
        "Search the guidelines and prior determinations you loaded. Every passage shows the "
        "guideline, recommendation and page it comes from."
    )
    try:
        settings = settings or api.load_settings()
        if retriever is None:
            retriever = get_retriever(settings)
            ensure_demo(settings, retriever.index)
    except ImrAssistError as exc:
        st.error(str(exc))
        return
    status = retriever.index.status()
    st.sidebar.markdown(
        f"**Index** `{status.collection}`  \n{status.documents} documents, "
        f"{status.passages} passages  \nModel: `{status.embedding_model}`"
    )
    filters = _sidebar_filters()
    k = st.sidebar.slider("Results", 1, 30, settings.search.k)

    st.write("Try:", " · ".join(f"*{e}*" for e in EXAMPLES))
    example = st.selectbox("Example questions", ("", *EXAMPLES), index=0)
    query = st.text_input("Question or requested treatment", value=example, key="query")
    if not query.strip():
        st.info("Type a question or a request, e.g. *Lumbar spine home exercise kit*.")
        return
    try:
        result = retriever.search(query, k=k, filters=filters or None)
    except ImrAssistError as exc:
        st.error(str(exc))
        return
    if not result.hits:
        st.warning("No passages found. Relax the filters or ingest more documents.")
        return
    if not result.relevant:
        st.warning(
            "Nothing in the index appears to address this request "
            f"({result.gate_reason}). The closest passages are shown for context only."
        )
    elif result.highest_tier is not None:
        st.success(f"Highest authority tier addressing it: {result.highest_tier.value}")
    st.caption(f"{len(result.hits)} passages · hybrid · index {result.index_hash}")
    for hit in result.hits:
        p = hit.passage
        grade = f" — **{p.recommendation_grade}**" if p.recommendation_grade else ""
        with st.container(border=True):
            st.markdown(f"**{hit.rank}. {hit.citation}**{grade}")
            st.caption(
                f"{p.tier.value} · {p.kind.value} · {p.source_path} · score {hit.score:.3f} · "
                f"id `{p.id}`"
            )
            st.write(p.text)
