"""The main page: ask the guidelines, draft a determination, check its sources, edit, accept.

The determination request form sits open at the top (it keeps its fields for the next item).
Below, the conversation: each answer opens with its conclusion, carries its own numbered sources
(chips that open the cited page, with the passage highlighted) and, for the answer under review
(the latest by default, or the one whose "Review this answer" was pressed), the editor with
Accept / Reject. Everything is saved as it changes and restored on reload (`persistence.py`).
"""

from __future__ import annotations

import streamlit as st

from imr_assist.drafting.models import DeterminationDraft
from imr_assist.errors import ImrAssistError
from imr_assist.models import DraftDecision
from imr_assist.ui import persistence, review_panel, source_view
from imr_assist.ui.labels import label
from imr_assist.ui.render import (
    chip_numbers,
    conclusion_first,
    escape_md,
    with_chips,
)
from imr_assist.ui.turns import Result, Turn, follow_up, run_turn, turns
from imr_assist.ui.workspace import (
    EXAMPLES,
    REQUEST_REGIONS,
    Workspace,
    get_workspace,
    region_label,
    reviewer_name,
    sidebar_filters,
    sidebar_index,
)

DECISION_BADGE = {
    DraftDecision.MEDICALLY_NECESSARY: "green-badge",
    DraftDecision.NOT_MEDICALLY_NECESSARY: "red-badge",
    DraftDecision.INSUFFICIENT_INFORMATION: "orange-badge",
}


def render(ws: Workspace | None = None) -> None:
    """Render the page; `ws` is injectable for tests."""
    st.title("Ask and draft")
    ws = ws or get_workspace()
    if ws is None:
        return
    session = persistence.resolve(ws)
    reviewer = reviewer_name()
    filters = sidebar_filters("ask")
    persistence.recent_work(ws, session)
    sidebar_index(ws)
    _request_form()
    history = turns()
    if not history:
        st.caption(
            "Ask about a requested treatment, or fill in the determination request. "
            "Every sentence cites the guideline page it rests on."
        )
        st.markdown("**Try one of these:**")
        for i, example in enumerate(EXAMPLES):
            if st.button(example, key=f"example-{i}"):
                st.session_state["pending"] = ("ask", example, "", example)
    reviewing = _reviewing(history)
    for n, turn in enumerate(history):
        _render_turn(ws, n, turn, reviewing == turn.uid, reviewer)
    if st.session_state.get("last_error"):  # the last question failed: say why, not a trace
        st.error(st.session_state["last_error"])
    prompt = st.chat_input("Ask about a request, e.g. is a home exercise kit covered post-fusion?")
    if prompt:
        previous = history[-1] if history else None
        st.session_state["pending"] = ("ask", follow_up(prompt, previous), "", prompt)
    pending = st.session_state.pop("pending", None)
    if pending:
        kind, query, summary, asked = pending
        _answer(ws, kind, query, summary, asked, filters=filters)
        persistence.save(ws, session)
        st.rerun()
    persistence.save(ws, session)


def _request_form() -> None:
    with st.expander("Determination request", expanded=True):
        with st.form("request-form", clear_on_submit=False, border=False):
            col_item, col_summary = st.columns([2, 3])
            with col_item:
                item = st.text_input(
                    "Requested item", placeholder="Lumbar spine home exercise kit", key="form-item"
                )
                region = st.selectbox(
                    "Body region", REQUEST_REGIONS, key="form-region", format_func=region_label
                )
            with col_summary:
                summary = st.text_area(
                    "Case summary",
                    placeholder="39-year-old, injured 2006, lumbar fusion revision 07/2013, ...",
                    height=120,
                    key="form-summary",
                )
            submitted = st.form_submit_button(
                "Draft determination", type="primary", key="form-submit"
            )
        if submitted:
            if not item.strip():
                st.error("Enter the requested item (e.g. 'Lumbar spine home exercise kit').")
                return
            request = item.strip()
            if region and region.replace("_", " ") not in request.lower():
                request = f"{request} ({region.replace('_', ' ')})"
            st.session_state["pending"] = ("draft", request, summary.strip(), request)


def _answer(
    ws: Workspace, kind: str, query: str, summary: str, asked: str, filters: dict[str, str]
) -> None:
    with st.chat_message("user"):
        st.markdown(escape_md(asked))
    with st.chat_message("assistant"):
        placeholder = st.empty()
        streamed: list[str] = []

        def on_token(piece: str) -> None:
            streamed.append(piece)
            placeholder.markdown(escape_md("".join(streamed)) + " ▌")

        with st.spinner("Retrieving and drafting…"):
            try:
                turn = run_turn(
                    ws,
                    kind,
                    query,
                    summary,
                    filters,
                    on_token if ws.streams else None,
                    asked=asked,
                )
            except ImrAssistError as exc:
                st.session_state["last_error"] = str(exc)
                return
    turns().append(turn)
    st.session_state["reviewing"] = turn.uid
    st.session_state["scroll_to"] = (turn.uid, 2)
    st.session_state.pop("viewer", None)
    st.session_state.pop("last_error", None)


def _reviewing(history: list[Turn]) -> str | None:
    """uid of the answer under review: the one chosen, else the latest."""
    uids = [t.uid for t in history]
    chosen = st.session_state.get("reviewing")
    if chosen not in uids:
        chosen = uids[-1] if uids else None
        st.session_state["reviewing"] = chosen
    return chosen


def _review_this(uid: str) -> None:
    st.session_state["reviewing"] = uid


def _render_turn(ws: Workspace, n: int, turn: Turn, reviewing: bool, reviewer: str) -> None:
    with st.container(key=f"turn-{turn.uid}"):
        with st.chat_message("user"):
            st.markdown(escape_md(turn.asked or turn.query))
            if turn.asked:
                st.caption(f"Asked as: {escape_md(turn.query)} (the item under discussion kept)")
            if turn.summary:
                st.caption(escape_md(turn.summary))
        with st.chat_message("assistant"):
            _answer_body(turn)
            source_view.sources(ws, turn, active=reviewing)
            if turn.result.precedent is not None:
                _precedent(n, turn)
            if reviewing:
                with st.container(border=True, key=f"review-{turn.uid}"):
                    review_panel.render(ws, turn, reviewer)
            else:
                state = "" if turn.status == "drafted" else f" ({turn.status})"
                st.button(
                    f"Review this answer{state}",
                    key=f"review-this-{turn.uid}",
                    on_click=_review_this,
                    args=(turn.uid,),
                    icon=":material/edit_note:",
                )
    target = st.session_state.get("scroll_to")
    if target and target[0] == turn.uid:
        # emitted on two runs: a run cut short by another event may never have shown it
        runs_left = target[1] - 1
        if runs_left:
            st.session_state["scroll_to"] = (turn.uid, runs_left)
        else:
            st.session_state.pop("scroll_to")
        _scroll_to_start(turn.uid)


def _answer_body(turn: Turn) -> None:
    result = turn.result
    numbers = chip_numbers(result.citations)
    if isinstance(result, DeterminationDraft):
        badge = DECISION_BADGE.get(result.decision, "gray-badge")
        st.markdown(f":{badge}[{label(result.decision)}] **{escape_md(result.item)}**")
    if result.abstained:
        st.warning("No loaded guideline addresses this request; nothing is asserted.")
    first = result.sentences[0].text if result.sentences else ""
    opening, rest = conclusion_first(turn.text, first)
    if opening:
        st.markdown(f"##### {with_chips(opening, numbers)}")
    if rest:
        st.markdown(with_chips(rest, numbers))
    if isinstance(result, DeterminationDraft) and result.guideline_relied_on:
        st.markdown(
            "**Guideline relied on:**\n"
            + "\n".join(f"- {escape_md(g)}" for g in result.guideline_relied_on)
        )
    st.caption(_meta(result))
    if result.fabricated_ids:
        st.error("Cites ids that are not in the evidence: " + ", ".join(result.fabricated_ids))


def _meta(result: Result) -> str:
    meta = [f"Guidelines say: {label(result.stance)}"]
    if result.governing_tier is not None:
        meta.append(f"governing authority: {label(result.governing_tier)}")
    meta.append(f"drafted by the {result.drafter}")
    note = f"  \n{escape_md(result.sequence_note)}" if result.sequence_note else ""
    return " · ".join(meta) + note


def _precedent(n: int, turn: Turn) -> None:
    p = turn.result.precedent
    assert p is not None
    with st.expander(f"Precedent: {p.summary}"):
        for j, case in enumerate(p.cases):
            decision = case.get("decision", "")
            st.markdown(
                f"{escape_md(case.get('item', ''))} — **{escape_md(label(decision))}**"
                f" ({escape_md(case.get('doc_id', ''))})"
            )
            if case.get("id") and st.button(f"Open determination {j + 1}", key=f"prec-{n}-{j}"):
                st.session_state["viewer"] = (turn.uid, case["id"])


def _scroll_to_start(uid: str) -> None:
    """Show a new answer from its start: the page sticks to its bottom as the answer's sources
    and editor render (which scrolls past the answer's first line), or stays where it was
    (the answer below the fold). Until the reviewer scrolls, types or clicks (at most 20 s),
    whenever the answer's top is above the view or low in it, scroll it to the top."""
    st.html(
        "<script>(() => {"
        "window.__imrKept = window.__imrKept || {};"
        f"if (window.__imrKept['{uid}']) return;"
        f"window.__imrKept['{uid}'] = true;"
        "const started = Date.now(); let done = false; let hooked = false;"
        "const stop = () => { done = true; };"
        "['wheel', 'touchstart', 'keydown', 'mousedown'].forEach("
        "  (e) => window.addEventListener(e, stop, {once: true, capture: true}));"
        "const keep = () => {"
        "  if (done || Date.now() - started > 20000) return false;"
        f"  const el = document.querySelector('.st-key-turn-{uid}');"
        "  const box = document.querySelector('[data-testid=stAppScrollToBottomContainer]');"
        "  if (el && box) {"
        "    const above = el.getBoundingClientRect().top - box.getBoundingClientRect().top;"
        "    if (above < 0 || above > box.clientHeight * 0.6) box.scrollTop += above - 8;"
        "    if (!hooked) { hooked = true; box.addEventListener('scroll', keep, {passive: true}); }"
        "  }"
        "  return true;"
        "};"
        "const tick = () => { if (keep()) setTimeout(tick, 100); };"
        "setTimeout(tick, 100);"
        "})();</script>",
        unsafe_allow_javascript=True,
    )
