"""The ask page's state saved as it changes and restored on reload (Streamlit side).

The session id is the `session` query parameter, so reloading the same URL restores the
conversation, the drafts being edited, the reviewer's name and the filters; "Recent work" in
the sidebar reopens earlier sessions. The store itself (SQLite in IMR_HOME) is `ui/sessions.py`.

The determination letter page has its own session in the same store, named by its own query
parameter `det` (`resolve_determination` / `save_determination`) and stored under the id
`det-<id>`, so it never mixes with the Ask page's and is not listed in its "Recent work": the
case summary, items, filters, each item's drafted turn (a saved turn) with its edits and
decision, the item being reviewed and the determination id come back on reload.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import streamlit as st

from imr_assist.ui.sessions import (
    DeterminationSlots,
    SessionError,
    SessionState,
    SessionStore,
    open_sessions,
)
from imr_assist.ui.turns import Turn, turns
from imr_assist.ui.workspace import FILTER_FIELDS, FILTER_WIDGETS, Workspace

PARAM = "session"
_ID = re.compile(r"^[0-9a-f]{12}$")
_NOT_DRAFT = ("recorded-",)  # str-valued per-turn keys that are bookkeeping, not typed fields


@st.cache_resource(show_spinner=False)
def _store(home: str) -> SessionStore:
    return open_sessions(home)


def store(ws: Workspace) -> SessionStore:
    return _store(str(ws.settings.home))


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def resolve(ws: Workspace, prefix: str = "ask") -> str:
    """The session of this page view: the URL's (restored once), else the one in progress,
    else a new one; the URL is kept pointing at it. Call before any widget is drawn."""
    return _resolve(ws, PARAM, "session_id", lambda sessions, sid: _restore(sessions, sid, prefix))


def _resolve(
    ws: Workspace,
    param: str,
    state_key: str,
    restore: Callable[[SessionStore, str], None],
) -> str:
    """What `resolve` and `resolve_determination` share: the id in the URL parameter `param`
    restored once through `restore`, else the one in `state_key`, else a new one."""
    sessions = store(ws)
    if sessions.notice and not st.session_state.get("_sessions_notice"):
        st.session_state["_sessions_notice"] = True
        st.warning(sessions.notice)
    url = str(st.query_params.get(param, ""))
    current = st.session_state.get(state_key)
    if _ID.match(url) and url != current:
        restore(sessions, url)
        current = url
    elif current is None:
        current = new_id()
        st.session_state[state_key] = current
    if st.query_params.get(param) != current:
        st.query_params[param] = current
    return str(current)


def _restore(sessions: SessionStore, session_id: str, prefix: str) -> None:
    st.session_state["session_id"] = session_id
    st.session_state["_saved"] = {}
    try:
        saved = sessions.load(session_id)
    except SessionError as exc:
        st.warning(str(exc))
        saved = None
    st.session_state["turns"] = list(saved.turns) if saved else []
    st.session_state.pop("reviewing", None)
    st.session_state.pop("viewer", None)
    if saved is None:
        return
    if saved.problems:
        st.warning("Some saved work could not be read back: " + "; ".join(saved.problems))
    state = saved.state
    st.session_state["_reviewer"] = state.reviewer
    st.session_state["reviewer"] = state.reviewer
    for key, value in state.filters.items():
        if key in FILTER_WIDGETS and key.startswith(f"{prefix}-"):
            st.session_state[key] = value
    known = {t.uid for t in saved.turns}
    for uid, fields in state.drafts.items():
        if uid in known:
            for key, value in fields.items():
                st.session_state[key] = value
    if state.reviewing in known:
        st.session_state["reviewing"] = state.reviewing
    st.session_state["_saved"] = {"state": _state(prefix).model_dump_json()}
    st.session_state["_saved"].update({t.uid: _turn_mark(t) for t in saved.turns})


def _turn_mark(turn: Turn) -> str:
    return f"{turn.status}|{turn.review_id}"


def _draft_fields(uid: str) -> dict[str, str]:
    suffix = f"-{uid}"
    return {
        str(k): str(v)
        for k, v in st.session_state.items()
        if str(k).endswith(suffix) and isinstance(v, str) and not str(k).startswith(_NOT_DRAFT)
    }


def _state(prefix: str) -> SessionState:
    filters: dict[str, Any] = {}
    for key in FILTER_WIDGETS:
        if key.startswith(f"{prefix}-") and key in st.session_state:
            value = st.session_state[key]
            filters[key] = list(value) if isinstance(value, list | tuple) else str(value or "")
    history = turns()
    return SessionState(
        reviewer=str(st.session_state.get("_reviewer", "")),
        filters=filters,
        drafts={t.uid: f for t in history if (f := _draft_fields(t.uid))},
        reviewing=st.session_state.get("reviewing"),
    )


def save(ws: Workspace, session_id: str, prefix: str = "ask") -> None:
    """Write what changed since the last save (new or closed turns, the state); errors shown."""
    saved: dict[str, str] = st.session_state.setdefault("_saved", {})
    sessions = store(ws)
    history = turns()
    try:
        for seq, turn in enumerate(history):
            mark = _turn_mark(turn)
            if saved.get(turn.uid) != mark:
                sessions.save_turn(session_id, seq, turn)
                saved[turn.uid] = mark
        state = _state(prefix)
        dumped = state.model_dump_json()
        if saved.get("state") != dumped:
            title = (history[0].asked or history[0].query) if history else ""
            sessions.save_state(session_id, state, title=title)
            saved["state"] = dumped
    except SessionError as exc:
        st.error(str(exc))


def start_new() -> None:
    """A new conversation (callback): same reviewer and filters, no turns."""
    st.session_state["session_id"] = new_id()
    st.session_state["turns"] = []
    st.session_state["_saved"] = {}
    st.session_state.pop("reviewing", None)
    st.session_state.pop("viewer", None)
    st.query_params[PARAM] = st.session_state["session_id"]


def _open(param: str, session_id: str) -> None:
    st.query_params[param] = session_id


def recent_work(ws: Workspace, current: str, *, determinations: bool = False) -> None:
    """'Recent work' in the sidebar: earlier conversations (Ask page) or earlier
    determinations (letter page), and a button to start a new one."""
    st.sidebar.header("Recent work")
    if determinations:
        new, param, prefix = ("New determination", start_new_determination), DET_PARAM, DET_STORE
    else:
        new, param, prefix = ("New conversation", start_new), PARAM, ""
    st.sidebar.button(new[0], key=f"new-{param}", on_click=new[1], icon="➕")
    if not store(ws).writable:
        st.sidebar.caption("This work is not being saved: " + store(ws).notice)
    try:
        listed = store(ws).recent(9, prefix=prefix, exclude="" if determinations else DET_STORE)
        recent = [s for s in listed if s.id != prefix + current][:8]
    except SessionError as exc:
        st.sidebar.caption(str(exc))
        return
    if not recent:
        what = "determinations" if determinations else "conversations"
        st.sidebar.caption(f"Earlier {what} appear here.")
    for s in recent:
        when = s.updated_at[:16].replace("T", " ")
        st.sidebar.button(
            f"{s.title[:60] or 'Untitled'}",
            key=f"recent-{s.id}",
            help=f"{s.turns} item(s), last saved {when} UTC",
            on_click=_open,
            args=(param, s.id.removeprefix(prefix)),
            width="stretch",
        )


# ---------------------------------------------------------------- the determination letter page

DET_PARAM = "det"
DET_STORE = "det-"
"""Prefix of the determination page's session ids in the store."""
_DET_KEY = "determination"  # the page's own st.session_state key (determination_page._STATE)


def _det_form_keys(slots: list[int]) -> list[str]:
    return [
        "det-summary",
        "det-current",
        *(f"det-item-{slot}" for slot in slots),
        *(f"det-{name}" for name in FILTER_FIELDS),
    ]


def resolve_determination(ws: Workspace) -> str:
    """The determination page's session: the URL's `det` (restored once), else the one in
    progress, else a new one; the URL is kept pointing at it. Call before any widget."""
    return _resolve(ws, DET_PARAM, "det_session_id", _restore_determination)


def start_new_determination() -> None:
    """A new determination (callback): same reviewer, an empty form."""
    keep = {f"det-{name}" for name in FILTER_FIELDS}
    for key in [k for k in st.session_state if str(k).startswith("det-") and k not in keep]:
        del st.session_state[key]
    st.session_state.pop(_DET_KEY, None)
    st.session_state["det_session_id"] = new_id()
    st.session_state["_det_saved"] = {}
    st.query_params[DET_PARAM] = st.session_state["det_session_id"]


def _restore_determination(sessions: SessionStore, session_id: str) -> None:
    st.session_state["det_session_id"] = session_id
    st.session_state["_det_saved"] = {}
    try:
        saved = sessions.load(DET_STORE + session_id)
    except SessionError as exc:
        st.warning(str(exc))
        saved = None
    st.session_state.pop(_DET_KEY, None)
    if saved is None or saved.state.determination is None:
        return
    if saved.problems:
        st.warning("Some saved work could not be read back: " + "; ".join(saved.problems))
    state = saved.state
    det = state.determination
    assert det is not None
    by_uid = {t.uid: t for t in saved.turns}
    slot_turns = {slot: by_uid[uid] for slot, uid in det.turns.items() if uid in by_uid}
    st.session_state[_DET_KEY] = {
        "id": det.id,
        "slots": list(det.slots),
        "next": det.next,
        "turns": slot_turns,
    }
    if state.reviewer:
        st.session_state["_reviewer"] = state.reviewer
        st.session_state["reviewer"] = state.reviewer
    for key, value in state.form.items():
        if key not in _det_form_keys(det.slots):
            continue
        if key == "det-current":
            if isinstance(value, str) and value.isdigit():
                st.session_state[key] = int(value)
            continue
        st.session_state[key] = value
    for uid, fields in state.drafts.items():
        if uid in {t.uid for t in slot_turns.values()}:
            for key, value in fields.items():
                st.session_state[key] = value
    saved_marks: dict[str, str] = {"state": _det_state().model_dump_json()}
    saved_marks.update({t.uid: _turn_mark(t) for t in saved.turns})
    st.session_state["_det_saved"] = saved_marks


def _det_state() -> SessionState:
    det: dict[str, Any] | None = st.session_state.get(_DET_KEY)
    if det is None:
        return SessionState(reviewer=str(st.session_state.get("_reviewer", "")))
    slots: list[int] = list(det["slots"])
    form: dict[str, list[str] | str] = {}
    for key in _det_form_keys(slots):
        if key in st.session_state:
            value = st.session_state[key]
            form[key] = list(value) if isinstance(value, list | tuple) else str(value or "")
    slot_turns: dict[int, Turn] = det["turns"]
    return SessionState(
        reviewer=str(st.session_state.get("_reviewer", "")),
        drafts={t.uid: f for t in slot_turns.values() if (f := _draft_fields(t.uid))},
        form=form,
        determination=DeterminationSlots(
            id=str(det["id"]),
            slots=slots,
            next=int(det["next"]),
            turns={slot: t.uid for slot, t in slot_turns.items()},
        ),
    )


def save_determination(ws: Workspace, session_id: str) -> None:
    """Write what changed on the determination page since the last save; errors shown."""
    saved: dict[str, str] = st.session_state.setdefault("_det_saved", {})
    det: dict[str, Any] | None = st.session_state.get(_DET_KEY)
    if det is None:
        return
    sessions = store(ws)
    key = DET_STORE + session_id
    slot_turns: dict[int, Turn] = det["turns"]
    try:
        for seq, slot in enumerate(det["slots"]):
            turn = slot_turns.get(slot)
            if turn is None:
                continue
            mark = _turn_mark(turn)
            if saved.get(turn.uid) != mark:
                sessions.save_turn(key, seq, turn)
                saved[turn.uid] = mark
        state = _det_state()
        dumped = state.model_dump_json()
        if saved.get("state") != dumped:
            summary = str(st.session_state.get("det-summary", "")).strip()
            title = f"Determination {det['id']}: {summary[:60]}" if summary else ""
            sessions.save_state(key, state, title=title)
            saved["state"] = dumped
    except SessionError as exc:
        st.error(str(exc))
