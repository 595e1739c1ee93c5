"""The main page: chat with the guidelines, draft a determination, check sources, edit, accept.

Left: the conversation (questions and drafted determinations, each with citation chips).
Right: the determination request form and the sources panel of the selected answer.
Below: the editor of the selected answer, re-verified on every edit, with Accept / Reject.
"""

from __future__ import annotations

import streamlit as st

from imr_assist.drafting.models import DeterminationDraft
from imr_assist.errors import ImrAssistError
from imr_assist.ui import review_panel
from imr_assist.ui.render import (
    best_check,
    chip_numbers,
    escape_md,
    highlighted,
    locator,
    passage_by_id,
    source_title,
    with_chips,
)
from imr_assist.ui.turns import Result, Turn, run_turn, turns
from imr_assist.ui.workspace import (
    EXAMPLES,
    REQUEST_REGIONS,
    Workspace,
    get_workspace,
    reviewer_name,
    sidebar_filters,
    sidebar_index,
)


def render(ws: Workspace | None = None) -> None:
    """Render the page; `ws` is injectable for tests."""
    st.title("Ask and draft")
    ws = ws or get_workspace()
    if ws is None:
        return
    reviewer = reviewer_name()
    filters = sidebar_filters("ask")
    sidebar_index(ws)
    history = turns()
    left, right = st.columns([3, 2], gap="large")
    with right:
        _request_form(ws, filters)
    with left:
        if not history:
            st.caption(
                "Ask about a requested treatment, or fill in the determination request. "
                "Every sentence cites the guideline page it rests on."
            )
            st.markdown("**Try one of these:**")
            for i, example in enumerate(EXAMPLES):
                if st.button(example, key=f"example-{i}"):
                    st.session_state["pending"] = ("ask", example, "")
        for n, turn in enumerate(history):
            _render_turn(n, turn)
        if st.session_state.get("last_error"):  # the last question failed: say why, not a trace
            st.error(st.session_state["last_error"])
    prompt = st.chat_input("Ask about a request, e.g. is a home exercise kit covered post-fusion?")
    if prompt:
        st.session_state["pending"] = ("ask", prompt, "")
    pending = st.session_state.pop("pending", None)
    if pending:
        with left:
            kind, query, summary = pending
            _answer(ws, kind, query, summary, filters=filters)
        st.rerun()
    if history:
        selected = _selected(history)
        with right:
            _sources_panel(history[selected])
        st.divider()
        review_panel.render(ws, history[selected], reviewer)


def _request_form(ws: Workspace, filters: dict[str, str]) -> None:
    with st.expander("Determination request", expanded=not turns()):
        with st.form("request-form", clear_on_submit=False):
            item = st.text_input("Requested item", placeholder="Lumbar spine home exercise kit")
            region = st.selectbox("Body region", REQUEST_REGIONS, key="form-region")
            summary = st.text_area(
                "Case summary",
                placeholder="39-year-old, injured 2006, lumbar fusion revision 07/2013, ...",
                height=120,
            )
            submitted = st.form_submit_button("Draft determination", type="primary")
        if submitted:
            if not item.strip():
                st.error("Enter the requested item (e.g. 'Lumbar spine home exercise kit').")
                return
            request = item.strip()
            if region and region.replace("_", " ") not in request.lower():
                request = f"{request} ({region.replace('_', ' ')})"
            st.session_state["pending"] = ("draft", request, summary.strip())


def _answer(ws: Workspace, kind: str, query: str, summary: str, filters: dict[str, str]) -> None:
    with st.chat_message("user"):
        st.markdown(escape_md(query))
    with st.chat_message("assistant"):
        placeholder = st.empty()
        streamed: list[str] = []

        def on_token(piece: str) -> None:
            streamed.append(piece)
            placeholder.markdown(escape_md("".join(streamed)) + " ▌")

        with st.spinner("Retrieving and drafting…"):
            try:
                turn = run_turn(ws, kind, query, summary, filters, on_token if ws.streams else None)
            except ImrAssistError as exc:
                st.session_state["last_error"] = str(exc)
                return
    turns().append(turn)
    st.session_state["selected"] = len(turns()) - 1
    st.session_state.pop("last_error", None)


def _render_turn(n: int, turn: Turn) -> None:
    with st.chat_message("user"):
        st.markdown(escape_md(turn.query))
        if turn.summary:
            st.caption(escape_md(turn.summary))
    with st.chat_message("assistant"):
        result = turn.result
        numbers = chip_numbers(result.citations)
        if isinstance(result, DeterminationDraft):
            st.markdown(f"**Item:** {escape_md(result.item)}")
            st.markdown(f"**Decision:** `{result.decision.value}`")
            if result.guideline_relied_on:
                st.markdown(
                    "**Guideline relied on:**\n"
                    + "\n".join(f"- {escape_md(g)}" for g in result.guideline_relied_on)
                )
        if result.abstained:
            st.warning("No loaded guideline addresses this request; nothing is asserted.")
        st.markdown(with_chips(turn.text, numbers))
        meta = [f"stance `{result.stance.value}`", f"drafter `{result.drafter}`"]
        if result.governing_tier is not None:
            meta.append(f"governing tier `{result.governing_tier.value}`")
        st.caption(" · ".join(meta) + f"  \n{escape_md(result.sequence_note)}")
        if result.fabricated_ids:
            st.error("Cites ids that are not in the evidence: " + ", ".join(result.fabricated_ids))
        if result.precedent is not None:
            _precedent(n, result)
        if turn.status != "drafted":
            st.caption(f"Review `{turn.review_id}` {turn.status}")


def _precedent(n: int, result: Result) -> None:
    p = result.precedent
    assert p is not None
    with st.expander(f"Precedent: {p.summary}"):
        for j, case in enumerate(p.cases):
            label = (
                f"{escape_md(case.get('item', ''))} — **{escape_md(case.get('decision', ''))}**"
                f" ({escape_md(case.get('doc_id', ''))})"
            )
            if st.button(f"Open determination {j + 1}", key=f"prec-{n}-{j}"):
                st.session_state["open_source"] = case.get("id")
                st.session_state["selected"] = n
            st.markdown(label)


def _selected(history: list[Turn]) -> int:
    current = int(st.session_state.get("selected", len(history) - 1))
    current = max(0, min(current, len(history) - 1))
    labels = [f"{i + 1}. {t.label}" for i, t in enumerate(history)]
    choice = st.sidebar.selectbox("Working on", labels, index=current, key=f"working-{current}")
    picked = labels.index(choice)
    st.session_state["selected"] = picked
    return picked


def _sources_panel(turn: Turn) -> None:
    st.subheader("Sources")
    result = turn.result
    passages = passage_by_id(turn.evidence)
    checks = review_panel.current_checks(turn)
    if not result.citations:
        st.info("Nothing cited: no passage addresses this request.")
    opened = st.session_state.get("open_source")
    for n, c in enumerate(result.citations, 1):
        check = best_check(checks, c.id)
        with st.expander(source_title(n, c, check), expanded=opened == c.id):
            st.caption(f"{escape_md(c.source_title)} · {escape_md(locator(c))} · id `{c.id}`")
            passage = passages.get(c.id)
            span = check.matched_span if check else ""
            if passage is not None:
                st.markdown(highlighted(passage.text, span))
            if check is not None:
                st.caption(f"Support score {check.score:.2f}. " + " ".join(check.notes))
    cited = chip_numbers(result.citations)
    if opened and opened not in cited and opened in passages:
        passage = passages[opened]
        title = f"Prior determination: {escape_md(passage.source_title)}"
        with st.expander(title, expanded=True):
            st.markdown(escape_md(passage.text))
