"""A determination of several items: one case summary, 1-6 disputed items, ONE letter.

The reviewer enters the case summary once and the disputed items (add / remove), drafts them
all through the same chain as the Ask page (`turns.run_turn`), reviews each with the same panel
(decision beside the text, verification both ways, Accept / Reject with their shortcuts), and
exports one letter (Markdown, DOCX) holding every item's decision and rationale in the layout of
the real letters (`review.export.letter_layout`). The ledger keeps one review per item, each
linked to the determination's id and its item number (`link_to_determination`), so
`ledger.reviews(text=<determination id>)` lists a letter's items. The work in progress is
saved as it changes and restored on reload (`persistence.resolve_determination`, query param
`det`).
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import streamlit as st

from imr_assist.drafting.models import DeterminationDraft
from imr_assist.errors import ImrAssistError
from imr_assist.review.ledger.decision import link_to_determination
from imr_assist.ui import persistence, review_panel
from imr_assist.ui.labels import label
from imr_assist.ui.ledger_page import letter_buttons
from imr_assist.ui.render import chip_numbers, escape_md, with_chips
from imr_assist.ui.turns import Turn, run_turn
from imr_assist.ui.workspace import (
    Workspace,
    get_workspace,
    reviewer_name,
    sidebar_filters,
    sidebar_index,
)

MAX_ITEMS = 6
"""Real letters dispute one to six items."""
_STATE = "determination"


def _state() -> dict[str, Any]:
    """The determination being written: its id, the item slots and each slot's drafted turn."""
    state: dict[str, Any] = st.session_state.setdefault(
        _STATE, {"id": uuid4().hex[:12], "slots": [0], "next": 1, "turns": {}}
    )
    return state


def render(ws: Workspace | None = None) -> None:
    """Render the page; `ws` is injectable for tests."""
    st.title("Determination letter")
    ws = ws or get_workspace()
    if ws is None:
        return
    session = persistence.resolve_determination(ws)
    _page(ws)
    persistence.recent_work(ws, session, determinations=True)
    persistence.save_determination(ws, session)


def _page(ws: Workspace) -> None:
    reviewer = reviewer_name()
    filters = sidebar_filters("det")
    sidebar_index(ws)
    state = _state()
    st.caption(
        f"Determination `{state['id']}`: one case summary, up to {MAX_ITEMS} disputed items, "
        "each drafted, reviewed and accepted, then one letter with every decision."
    )
    summary = st.text_area(
        "Case summary",
        key="det-summary",
        height=130,
        placeholder="39-year-old, injured 2006, lumbar fusion revision 07/2013, ...",
    )
    _item_inputs(state)
    if st.button("Draft all items", type="primary", key="det-draft"):
        _draft_all(ws, state, summary.strip(), filters)
    items = _drafted(state)
    if not items:
        return
    st.divider()
    current = _pick(items)
    n, _, turn = next(x for x in items if x[1] == current)
    _start_and_link(ws, state, n, turn, reviewer)
    _show_draft(n, turn)
    review_panel.render(ws, turn, reviewer)
    st.divider()
    _letter(ws, state, items, reviewer)


def _item_inputs(state: dict[str, Any]) -> None:
    slots: list[int] = state["slots"]
    for n, slot in enumerate(slots, 1):
        c1, c2 = st.columns([9, 1], vertical_alignment="bottom")
        c1.text_input(
            f"Item {n}",
            key=f"det-item-{slot}",
            placeholder="Lumbar spine home exercise kit" if n == 1 else "",
        )
        if len(slots) > 1:
            c2.button("Remove", key=f"det-remove-{slot}", on_click=_remove, args=(slot,))
    if len(slots) < MAX_ITEMS:
        st.button("Add item", key="det-add", on_click=_add)


def _add() -> None:
    state = _state()
    state["slots"].append(state["next"])
    state["next"] += 1


def _remove(slot: int) -> None:
    state = _state()
    state["slots"].remove(slot)
    state["turns"].pop(slot, None)


def _item(slot: int) -> str:
    return str(st.session_state.get(f"det-item-{slot}", "")).strip()


def _draft_all(ws: Workspace, state: dict[str, Any], summary: str, filters: dict[str, str]) -> None:
    """Draft every item not drafted yet (or changed, or rejected) through the Ask page's chain."""
    wanted = [(slot, _item(slot)) for slot in state["slots"] if _item(slot)]
    if not wanted:
        st.error("Enter at least one disputed item (e.g. 'Lumbar spine home exercise kit').")
        return
    for n, (slot, item) in enumerate(wanted, 1):
        old: Turn | None = state["turns"].get(slot)
        if old and (old.query, old.summary) == (item, summary) and old.status != "rejected":
            continue
        with st.spinner(f"Drafting item {n} of {len(wanted)}: {item}…"):
            try:
                state["turns"][slot] = run_turn(ws, "draft", item, summary, filters)
            except ImrAssistError as exc:
                st.error(f"Item {n} ({item}): {exc}")
                return
    st.rerun()


def _drafted(state: dict[str, Any]) -> list[tuple[int, int, Turn]]:
    """(item number, slot, turn) of the items drafted as they now read, in letter order."""
    out: list[tuple[int, int, Turn]] = []
    for slot in state["slots"]:
        turn: Turn | None = state["turns"].get(slot)
        if turn is not None and turn.query == _item(slot):
            out.append((len(out) + 1, slot, turn))
    return out


def _pick(items: list[tuple[int, int, Turn]]) -> int:
    labels = {slot: f"{n}. {turn.query[:60]}" for n, slot, turn in items}
    if st.session_state.get("det-current") not in labels:
        st.session_state["det-current"] = items[0][1]
    picked = st.radio(
        "Reviewing item",
        list(labels),
        format_func=labels.__getitem__,
        key="det-current",
        horizontal=True,
    )
    st.caption(" · ".join(f"{n}. {_status(turn)}" for n, _, turn in items))
    return int(picked)


def _status(turn: Turn) -> str:
    decision = review_panel.current_decision(turn)
    words = label(decision) if decision else ""
    return f"{turn.status} ({words})" if turn.status != "drafted" else f"to review ({words})"


def _start_and_link(
    ws: Workspace, state: dict[str, Any], n: int, turn: Turn, reviewer: str
) -> None:
    """Start the item's review and record it as item `n` of this determination (while open)."""
    if not reviewer or turn.status != "drafted":
        return
    try:
        if turn.review_id is None:
            turn.review_id = ws.ledger.start(turn.result, reviewer, turn.evidence).review_id
        link_to_determination(ws.ledger, turn.review_id, state["id"], n, reviewer)
    except ImrAssistError as exc:
        st.error(str(exc))


def _show_draft(n: int, turn: Turn) -> None:
    result = turn.result
    assert isinstance(result, DeterminationDraft)
    st.subheader(f"Item {n}: {escape_md(result.item)}")
    st.markdown(f"**Drafted decision:** {escape_md(label(result.decision))}")
    if result.guideline_relied_on:
        st.markdown(
            "**Guideline relied on:**\n"
            + "\n".join(f"- {escape_md(g)}" for g in result.guideline_relied_on)
        )
    if result.abstained:
        st.warning("No loaded guideline addresses this item; nothing is asserted.")
    st.markdown(with_chips(turn.text, chip_numbers(result.citations)))


def _letter(
    ws: Workspace, state: dict[str, Any], items: list[tuple[int, int, Turn]], reviewer: str
) -> None:
    st.subheader("The letter")
    accepted = [t for _, _, t in items if t.status == "accepted" and t.review_id]
    waiting = [f"{n}. {t.query}" for n, _, t in items if t.status != "accepted"]
    if waiting:
        st.info(
            f"{len(accepted)} of {len(items)} items accepted. The letter is exported once every "
            "item is accepted (draft a rejected item again with Draft all items). Waiting: "
            + escape_md("; ".join(waiting))
        )
        return
    try:
        reviews = [ws.ledger.review(t.review_id) for t in accepted if t.review_id]
    except ImrAssistError as exc:
        st.error(str(exc))
        return
    st.success(f"All {len(reviews)} items accepted: export the letter.")
    det = state["id"]
    letter_buttons(ws, reviews, reviewer, name=f"determination-{det}", key=f"det-{det}")
