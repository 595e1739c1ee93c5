"""Search: the index as it is, each passage with its citation (no drafting)."""

from __future__ import annotations

import streamlit as st

from imr_assist.errors import ImrAssistError
from imr_assist.ui.labels import label
from imr_assist.ui.workspace import (
    EXAMPLES,
    Workspace,
    get_workspace,
    sidebar_filters,
    sidebar_index,
)


def render(ws: Workspace | None = None) -> None:
    """Render the search page; `ws` is injectable for tests."""
    st.title("Search")
    st.caption(
        "Search the guidelines and prior determinations you loaded. Every passage shows the "
        "guideline, recommendation and page it comes from."
    )
    ws = ws or get_workspace()
    if ws is None:
        return
    settings, retriever = ws.settings, ws.retriever
    filters = sidebar_filters("search")
    sidebar_index(ws)
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
        st.success(f"Highest authority addressing it: {label(result.highest_tier)}")
    st.caption(f"{len(result.hits)} passages · hybrid · index {result.index_hash}")
    for hit in result.hits:
        p = hit.passage
        grade = f" — **{p.recommendation_grade}**" if p.recommendation_grade else ""
        with st.container(border=True):
            st.markdown(f"**{hit.rank}. {hit.citation}**{grade}")
            st.caption(
                f"{label(p.tier)} · {label(p.kind)} · {p.source_path} · score {hit.score:.3f} · "
                f"id `{p.id}`"
            )
            st.write(p.text)
