"""An answer's sources beside it: numbered chips, the viewer of the cited page, source cards.

A chip opens the viewer inside the same answer: the cited PDF page as an image with the passage
highlighted (`page_view.render_page`) and the passage text, or for a text source the passage
among its neighbours. Previous / Next step through the answer's sources (keys P and N, ignored
while typing in a field). One viewer is open at a time; which one is `st.session_state.viewer`.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from imr_assist.errors import SourceError
from imr_assist.models import Passage
from imr_assist.ui import review_panel
from imr_assist.ui.labels import label
from imr_assist.ui.page_view import in_context, neighbour_ids, pages_of, render_page
from imr_assist.ui.render import (
    best_check,
    chip_label,
    escape_md,
    highlighted,
    locator,
    passage_by_id,
    source_title,
)
from imr_assist.ui.turns import Turn
from imr_assist.ui.workspace import Workspace

NEXT_SHORTCUT = "N"
PREVIOUS_SHORTCUT = "P"


def _open(uid: str, pid: str) -> None:
    st.session_state["viewer"] = (uid, pid)


def _close() -> None:
    st.session_state.pop("viewer", None)


def opened(turn: Turn) -> str | None:
    """Id of the passage open in this turn's viewer, if any."""
    viewer = st.session_state.get("viewer")
    return str(viewer[1]) if viewer and viewer[0] == turn.uid else None


def sources(ws: Workspace, turn: Turn, *, active: bool) -> None:
    """The turn's chips, its open viewer, and one card per source. `active` (the answer under
    review) gets the keyboard shortcut that opens its first source."""
    citations = turn.result.citations
    passages = passage_by_id(turn.evidence)
    pid = opened(turn)
    if not citations:
        st.caption("Nothing cited: no passage addresses this request.")
    else:
        with st.container(horizontal=True, key=f"chips-{turn.uid}"):
            for n, c in enumerate(citations, 1):
                st.button(
                    chip_label(n, c),
                    key=f"chip-{turn.uid}-{n}",
                    on_click=_open,
                    args=(turn.uid, c.id),
                    type="primary" if c.id == pid else "secondary",
                    help=f"Show {c.citation}",
                    icon=":material/description:",
                )
            if active and pid is None:
                st.button(
                    "Step through sources",
                    key=f"chip-step-{turn.uid}",
                    on_click=_open,
                    args=(turn.uid, citations[0].id),
                    type="tertiary",
                    shortcut=NEXT_SHORTCUT,
                    help=f"Open the first source; then {NEXT_SHORTCUT} / {PREVIOUS_SHORTCUT} "
                    "for the next and previous",
                )
    if pid is not None:
        _viewer(ws, turn, pid, passages)
    checks = review_panel.current_checks(turn)
    for n, c in enumerate(citations, 1):
        check = best_check(checks, c.id)
        with st.expander(source_title(n, c, check)):
            st.caption(f"{escape_md(c.source_title)} · {escape_md(locator(c))} · id `{c.id}`")
            passage = passages.get(c.id)
            if passage is not None:
                st.markdown(highlighted(passage.text, check.matched_span if check else ""))
            if check is not None:
                st.caption(f"Support score {check.score:.2f}. " + " ".join(check.notes))


def _viewer(ws: Workspace, turn: Turn, pid: str, passages: dict[str, Passage]) -> None:
    ids = [c.id for c in turn.result.citations]
    pos = ids.index(pid) if pid in ids else None
    passage = passages.get(pid)
    with st.container(border=True, key=f"pageviewer-{turn.uid}"):
        if pos is not None:
            cited = escape_md(turn.result.citations[pos].citation)
            title = f"**Source {pos + 1} of {len(ids)}** · {cited}"
        else:
            title = f"**{escape_md(passage.source_title if passage else pid)}**"
        st.markdown(title)
        with st.container(horizontal=True):
            st.button(
                "Previous",
                key=f"viewer-prev-{turn.uid}",
                icon=":material/chevron_left:",
                disabled=not pos,
                on_click=_open,
                args=(turn.uid, ids[(pos or 1) - 1]),
                shortcut=PREVIOUS_SHORTCUT,
            )
            st.button(
                "Next",
                key=f"viewer-next-{turn.uid}",
                icon=":material/chevron_right:",
                disabled=pos is None or pos + 1 >= len(ids),
                on_click=_open,
                args=(turn.uid, ids[min((pos or 0) + 1, len(ids) - 1)]),
                shortcut=NEXT_SHORTCUT,
            )
            st.button(
                "Close", key=f"viewer-close-{turn.uid}", icon=":material/close:", on_click=_close
            )
        if passage is None:
            st.warning("This source's passage was not kept with the answer; ask again to see it.")
            return
        check = best_check(review_panel.current_checks(turn), pid)
        span = check.matched_span if check else ""
        _page_or_context(ws, turn, passage, span)


@st.cache_data(max_entries=48, show_spinner="Rendering the page…")
def _page_png(path: str, page: int, text: str, mtime: float) -> tuple[bytes, bool, int]:
    """PNG of the page with the passage highlighted, whether it was found, the page count
    (`mtime` is part of the cache key: a replaced file is rendered again)."""
    import io

    view = render_page(Path(path), page, text)
    buf = io.BytesIO()
    view.image.save(buf, format="PNG")
    return buf.getvalue(), view.found, view.page_count


def _page_or_context(ws: Workspace, turn: Turn, passage: Passage, span: str) -> None:
    record = ws.index.record(passage.doc_id)
    pages = pages_of(passage)
    if record is not None and pages and Path(record.file_path).suffix.lower() == ".pdf":
        page = pages[0]
        if len(pages) > 1:
            page = (
                st.segmented_control(
                    "Page",
                    pages,
                    default=pages[0],
                    key=f"viewer-page-{turn.uid}-{passage.id}",
                    format_func=lambda p: f"PDF page {p}",
                )
                or pages[0]
            )
        path = Path(record.file_path)
        if not path.is_file():
            st.warning(
                f"The PDF {record.source_path} is no longer at {record.file_path} (moved or "
                "deleted), so its page cannot be shown. Put it back or ingest it again; the "
                "passage text is below."
            )
        else:
            try:
                png, found, count = _page_png(str(path), page, passage.text, os.stat(path).st_mtime)
            except SourceError as exc:
                st.warning(f"The cited page cannot be shown: {exc}")
            else:
                printed = (
                    f" (printed page {passage.page_start})"
                    if page == pages[0] and passage.page_start
                    else ""
                )
                st.image(
                    png,
                    caption=f"{record.source_path}, page {page} of {count} in the PDF{printed}",
                    width="stretch",
                )
                if not found:
                    st.caption(
                        "The passage's words were not found on this page (a scanned page or "
                        "a table laid out differently); its text is below."
                    )
        st.markdown("**The cited passage**")
        st.markdown(highlighted(passage.text, span))
        return
    _context(ws, passage, span)


def _context(ws: Workspace, passage: Passage, span: str) -> None:
    """A text source: the passage between its neighbours in the same document."""
    try:
        neighbours = ws.index.get_passages(neighbour_ids(ws.index, passage))
    except Exception as exc:  # an index that changed under the app: the passage alone
        st.caption(f"The passages around it cannot be read ({type(exc).__name__}).")
        neighbours = []
    st.caption(
        f"{escape_md(passage.source_title)} · {label(passage.tier)} · "
        "the cited passage (framed) with the passages before and after it"
    )
    for p, text in in_context(passage, neighbours):
        if p.id == passage.id:
            with st.container(border=True, key=f"cited-{passage.id}"):
                st.markdown(highlighted(text, span))
        elif text:
            st.markdown(f":gray[{escape_md(text)}]")
