"""Edit, re-verify, accept or reject the selected answer; every action goes to the ledger.

On every edit the text is verified again against the evidence it was drafted from, by the
same `verify_draft` the chain runs (conclusion vs decision and the source's authority
included). Accept stays disabled while any sentence is unsupported or cites an unknown id,
unless the reviewer writes an override reason; the ledger enforces the same rule.
"""

from __future__ import annotations

import streamlit as st

from imr_assist.errors import ImrAssistError
from imr_assist.models import SentenceCheck, VerificationReport
from imr_assist.review.ledger import accept_blockers
from imr_assist.ui.render import VERDICT_BADGE, escape_md
from imr_assist.ui.turns import Turn
from imr_assist.ui.workspace import Workspace
from imr_assist.verification.verify import verify_draft


def _verified_key(turn: Turn) -> str:
    return f"verified-{turn.uid}"


def current_checks(turn: Turn) -> list[SentenceCheck]:
    """Checks of the text as it stands now (edited or as drafted)."""
    got = st.session_state.get(_verified_key(turn))
    return got[1].sentences if got else turn.result.sentences


def reverify(ws: Workspace, turn: Turn, text: str) -> VerificationReport:
    """Verify `text` against the turn's evidence; cached per text so reruns cost nothing."""
    got = st.session_state.get(_verified_key(turn))
    if got and got[0] == text:
        report: VerificationReport = got[1]
        return report
    result = turn.result
    report = verify_draft(
        text,
        turn.evidence,
        embedder=ws.index.embedder,
        decision=getattr(result, "decision", None),
        governing=result.governing_tier,
    )
    st.session_state[_verified_key(turn)] = (text, report)
    return report


def _ensure_started(ws: Workspace, turn: Turn, reviewer: str) -> str:
    if turn.review_id is None:
        review = ws.ledger.start(turn.result, reviewer, turn.evidence)
        turn.review_id = review.review_id
    return turn.review_id


def render(ws: Workspace, turn: Turn, reviewer: str) -> None:
    """The editor for `turn`, its verification, and the Accept / Reject actions."""
    st.subheader("Edit and accept")
    closed = turn.status in ("accepted", "rejected")
    text = st.text_area(
        "Draft text (citation markers like [3f2a9c1b0d4e] point at the sources)",
        value=turn.text,
        height=220,
        key=f"edit-{turn.uid}",
        disabled=closed,
    )
    report = reverify(ws, turn, text)
    _record_edit(ws, turn, text, reviewer, report)
    _verification_table(report)
    blockers = accept_blockers(report)
    if closed:
        st.success(f"This draft was {turn.status} (review `{turn.review_id}`). See Review ledger.")
        return
    if not reviewer:
        st.info("Enter your name in the sidebar to accept or reject this draft.")
    override = ""
    if blockers:
        st.error("Accept is blocked:\n" + "\n".join(f"- {escape_md(b)}" for b in blockers))
        override = st.text_input(
            "Override reason (accept despite the findings above)", key=f"override-{turn.uid}"
        )
    col_accept, col_reject = st.columns(2)
    with col_accept:
        can_accept = bool(reviewer) and (not blockers or bool(override.strip()))
        if st.button("Accept", type="primary", disabled=not can_accept, key=f"accept-{turn.uid}"):
            _accept(ws, turn, text, reviewer, report, override.strip() or None)
    with col_reject:
        reason = st.text_input("Reject reason", key=f"reject-reason-{turn.uid}")
        can_reject = bool(reviewer) and bool(reason.strip())
        if st.button("Reject", disabled=not can_reject, key=f"reject-{turn.uid}"):
            _reject(ws, turn, reason.strip(), reviewer)


def _record_edit(
    ws: Workspace, turn: Turn, text: str, reviewer: str, report: VerificationReport
) -> None:
    last_key = f"recorded-{turn.uid}"
    last = st.session_state.get(last_key, turn.text)
    if text == last:
        return
    if not reviewer:
        st.caption("Edits are recorded in the ledger once your name is in the sidebar.")
        return
    try:
        review_id = _ensure_started(ws, turn, reviewer)
        ws.ledger.edit(review_id, text, reviewer, report)
    except ImrAssistError as exc:
        st.error(str(exc))
        return
    st.session_state[last_key] = text


def _accept(
    ws: Workspace,
    turn: Turn,
    text: str,
    reviewer: str,
    report: VerificationReport,
    override: str | None,
) -> None:
    try:
        review_id = _ensure_started(ws, turn, reviewer)
        ws.ledger.accept(review_id, text, reviewer, report, override_reason=override)
    except ImrAssistError as exc:
        st.error(str(exc))
        return
    turn.status = "accepted"
    st.rerun()


def _reject(ws: Workspace, turn: Turn, reason: str, reviewer: str) -> None:
    try:
        review_id = _ensure_started(ws, turn, reviewer)
        ws.ledger.reject(review_id, reason, reviewer)
    except ImrAssistError as exc:
        st.error(str(exc))
        return
    turn.status = "rejected"
    st.rerun()


def _verification_table(report: VerificationReport) -> None:
    counts = (
        f"{report.supported} supported · {report.weak} weak · {report.unsupported} unsupported"
        f" · {report.uncited} uncited"
    )
    if report.fabricated_ids:
        counts += f" · unknown ids: {', '.join(report.fabricated_ids)}"
    with st.expander(f"Verification: {counts}", expanded=not report.ok):
        for n, check in enumerate(report.sentences, 1):
            line = f"{n}. {VERDICT_BADGE[check.verdict]} {escape_md(check.text)}"
            if check.unknown_ids:
                line += f" — unknown id {', '.join(check.unknown_ids)}"
            st.markdown(line)
            if check.notes:
                st.caption(escape_md("; ".join(check.notes)))
