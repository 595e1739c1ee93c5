"""Review ledger: every accepted or rejected draft, searchable; open one, see its diff, export.

The header shows the accepted decision (and the drafted one when the reviewer changed it);
exports are built from the accepted decision, text and the citations still in it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from imr_assist.errors import ImrAssistError
from imr_assist.review.ledger import LedgerCheck, Review, ReviewStatus
from imr_assist.ui.labels import label
from imr_assist.ui.render import escape_md
from imr_assist.ui.workspace import Workspace, get_workspace, reviewer_name

STATUSES = ("", *(s.value for s in ReviewStatus))


def render(ws: Workspace | None = None) -> None:
    st.title("Review ledger")
    ws = ws or get_workspace()
    if ws is None:
        return
    reviewer = reviewer_name()
    try:
        check = chain_check(ws)
    except ImrAssistError as exc:  # the ledger file, its key or head record is missing
        st.error(str(exc))
        return
    if check.ok:
        st.sidebar.success(f"Ledger verified: {check.events_checked} events, chain intact.")
    else:
        st.sidebar.error(f"Ledger check failed: {check.message}")
    c1, c2, c3 = st.columns([2, 1, 1])
    text = c1.text_input("Search (item, text, reviewer, citation)", key="ledger-text")
    status = c2.selectbox("Status", STATUSES, key="ledger-status")
    who = c3.text_input("Reviewer", key="ledger-reviewer")
    try:
        reviews = ws.ledger.reviews(
            status=status or None, reviewer=who.strip() or None, text=text.strip() or None
        )
    except ImrAssistError as exc:
        st.error(str(exc))
        return
    if not reviews:
        st.info("No reviews match. Accepted and rejected drafts from Ask and draft appear here.")
        return
    st.dataframe(
        [
            {
                "review": r.review_id,
                "status": r.status.value,
                "kind": r.kind,
                "item": r.item,
                "decision": label(r.decision) if r.decision else label(r.stance),
                "reviewer": r.reviewer,
                "updated": r.updated_at[:19],
                "edited": r.final_text != r.generated_text,
            }
            for r in reviews
        ],
        hide_index=True,
    )
    labels = {f"{r.review_id} · {r.status.value} · {r.item[:60]}": r for r in reviews}
    choice = st.selectbox("Open a review", list(labels), key="ledger-open")
    _show(ws, labels[choice], reviewer)


def chain_check(ws: Workspace) -> LedgerCheck:
    """The ledger's chain verified again only when the ledger changed since the last check.

    Every rerun of this page (each keystroke in the filters) would otherwise re-hash the whole
    chain; any write to the ledger, honest or not, on any machine, changes `Ledger.stamp()`."""
    stamp = ws.ledger.stamp()
    cached = st.session_state.get("ledger-check")
    if cached is not None and cached[0] == stamp:
        check: LedgerCheck = cached[1]
        return check
    check = ws.ledger.verify()
    st.session_state["ledger-check"] = (stamp, check)
    return check


def _show(ws: Workspace, review: Review, reviewer: str) -> None:
    st.subheader(escape_md(review.item))
    decided = f" on {review.decided_at[:19]}" if review.decided_at else ""
    st.markdown(
        f"**{review.status.value.capitalize()}** by {escape_md(review.reviewer)}{decided} · "
        f"drafter `{review.drafter}` · index `{review.settings_hash}`"
    )
    if review.decision is not None:
        changed = (
            f" (drafted as {label(review.drafted_decision)})"
            if review.drafted_decision and review.drafted_decision is not review.decision
            else ""
        )
        what = "Accepted decision" if review.status is ReviewStatus.ACCEPTED else "Decision"
        st.markdown(f"**{what}:** {escape_md(label(review.decision))}{escape_md(changed)}")
    if review.override_reason:
        st.warning(f"Accepted over verification findings: {escape_md(review.override_reason)}")
    if review.reject_reason:
        st.error(f"Rejected: {escape_md(review.reject_reason)}")
    final, generated, diff, evidence = st.tabs(["Final text", "Generated", "Diff", "Evidence"])
    with final:
        st.markdown(escape_md(review.final_text))
    with generated:
        st.markdown(escape_md(review.generated_text))
    with diff:
        if review.diff.strip():
            st.code(review.diff, language="diff")
        else:
            st.caption("Accepted as generated: no edits.")
    with evidence:
        st.dataframe(
            [
                {"id": e.id, "citation": e.citation, "text sha256": e.text_sha256}
                for e in review.evidence
            ],
            hide_index=True,
        )
    _exports(ws, review, reviewer)


def _exports(ws: Workspace, review: Review, reviewer: str) -> None:
    if review.status is not ReviewStatus.ACCEPTED:
        st.caption("Only accepted reviews are exported.")
        return
    export_buttons(ws, review, reviewer)
    if review.determination_id:
        _letter_of(ws, review, reviewer)


def _letter_of(ws: Workspace, review: Review, reviewer: str) -> None:
    """The whole letter this review is an item of, once every item is accepted."""
    det = review.determination_id
    items = sorted(
        (r for r in ws.ledger.reviews(text=det, limit=None) if r.determination_id == det),
        key=lambda r: r.item_number or 0,
    )
    st.markdown(
        f"**Item {review.item_number} of determination `{det}`** ({len(items)} items: "
        + escape_md("; ".join(f"{r.item_number}. {r.item} ({r.status.value})" for r in items))
        + ")"
    )
    if all(r.status is ReviewStatus.ACCEPTED for r in items):
        letter_buttons(ws, items, reviewer, name=f"determination-{det}", key=f"ledger-{det}")
    else:
        st.caption("The letter is exported once every item of the determination is accepted.")


def letter_buttons(
    ws: Workspace, reviews: list[Review], reviewer: str, *, name: str, key: str
) -> None:
    """Markdown and DOCX downloads of ONE letter holding every item (accepted reviews, in
    letter order); each download is recorded in the ledger on every item."""
    from imr_assist.review.export import letter_to_docx, letter_to_markdown

    if not reviewer:
        st.info("Enter your name in the sidebar to export (exports are recorded in the ledger).")
        return
    try:
        head, redact = ws.ledger.head(), ws.settings.ledger.redact_exports
        markdown = letter_to_markdown(reviews, head=head, redact=redact)
        with tempfile.TemporaryDirectory() as tmp:
            path = letter_to_docx(reviews, Path(tmp) / "letter.docx", head=head, redact=redact)
            docx_bytes = path.read_bytes()
    except ImrAssistError as exc:
        st.error(str(exc))
        return

    def record(fmt: str) -> None:
        for review in reviews:
            ws.ledger.exported(review.review_id, fmt, reviewer)

    _downloads(
        ("Export letter (Markdown)", "Export letter (DOCX)"), markdown, docx_bytes, name, record,
        (f"letter-md-{key}", f"letter-docx-{key}"),
    )  # fmt: skip
    with st.expander("Preview of the letter"):
        st.markdown(escape_md(markdown))


def export_buttons(ws: Workspace, review: Review, reviewer: str, key: str = "ledger") -> None:
    """Markdown and DOCX downloads of an accepted review, built from the accepted decision and
    text; each download is recorded in the ledger."""
    from imr_assist.review.export import to_markdown

    if not reviewer:
        st.info("Enter your name in the sidebar to export (exports are recorded in the ledger).")
        return

    def record(fmt: str) -> None:
        ws.ledger.exported(review.review_id, fmt, reviewer)

    head, redact = ws.ledger.head(), ws.settings.ledger.redact_exports
    _downloads(
        ("Export Markdown", "Export DOCX"),
        to_markdown(review, head=head, redact=redact),
        _docx_bytes(review, head, redact),
        f"determination-{review.review_id}",
        record,
        (f"export-md-{key}-{review.review_id}", f"export-docx-{key}-{review.review_id}"),
    )


_DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _downloads(
    labels: tuple[str, str],
    markdown: str,
    docx: bytes,
    name: str,
    record: Callable[[str], None],
    keys: tuple[str, str],
) -> None:
    """A Markdown and a DOCX download side by side; each download recorded by `record(fmt)`."""
    c1, c2 = st.columns(2)
    for column, caption, data, fmt, mime, key in (
        (c1, labels[0], markdown, "md", "text/markdown", keys[0]),
        (c2, labels[1], docx, "docx", _DOCX_MIME, keys[1]),
    ):
        column.download_button(
            caption, data, file_name=f"{name}.{fmt}", mime=mime, on_click=record, args=(fmt,),
            key=key,
        )  # fmt: skip


def _docx_bytes(review: Review, head: tuple[int, str], redact: bool) -> bytes:
    from imr_assist.review.export import to_docx

    with tempfile.TemporaryDirectory() as tmp:
        path = to_docx(review, Path(tmp) / "determination.docx", head=head, redact=redact)
        return path.read_bytes()
