"""Edit, re-verify, accept or reject the selected answer; every action goes to the ledger.

A determination's decision is a field beside its text: changing either verifies them against
each other both ways (`verify_draft` reads the text's conclusion and compares it with the
decision chosen). While they disagree Accept is refused and no override reason lifts that. On
every edit the text is verified again against the evidence it was drafted from and against the
case summary (a restatement of the record is marked as record, not as an uncited claim). Accept
stays disabled while any sentence is unsupported, uncited or cites an unknown id, unless the
reviewer writes an override reason; the ledger enforces the same rules. Accept and Reject have
keyboard shortcuts (Alt+A, Alt+J) on the panel that has focus of the page.
"""

from __future__ import annotations

import streamlit as st

from imr_assist.drafting.models import DeterminationDraft
from imr_assist.errors import ImrAssistError
from imr_assist.models import DraftDecision, SentenceCheck, VerificationReport
from imr_assist.review.ledger import accept_blockers
from imr_assist.review.ledger.decision import accept_decided, record_decision
from imr_assist.review.ledger.gate import decision_blockers
from imr_assist.ui.labels import label
from imr_assist.ui.render import VERDICT_BADGE, escape_md
from imr_assist.ui.turns import Turn
from imr_assist.ui.workspace import Workspace
from imr_assist.verification.verify import verify_draft

DECISIONS = tuple(DraftDecision)
ACCEPT_SHORTCUT = "Alt+A"
REJECT_SHORTCUT = "Alt+J"
RECORD_BADGE = ":blue-badge[record]"


def _verified_key(turn: Turn) -> str:
    return f"verified-{turn.uid}"


def _chosen_key(turn: Turn) -> str:
    """The decision the reviewer chose: plain state (not a widget's), saved with the drafts."""
    return f"chosen-{turn.uid}"


def _decision_widget_key(turn: Turn, decision: DraftDecision) -> str:
    # named after the value it shows: a change of decision draws a new radio whose default IS
    # the decision chosen, so a radio the browser draws afresh can never show another value
    return f"decision-{turn.uid}-{decision.value}"


def current_checks(turn: Turn) -> list[SentenceCheck]:
    """Checks of the text as it stands now (edited or as drafted)."""
    got = st.session_state.get(_verified_key(turn))
    return got[1].sentences if got else turn.result.sentences


def current_decision(turn: Turn) -> DraftDecision | None:
    """The decision the reviewer has chosen (the drafted one until changed); None for an
    answer to a question."""
    result = turn.result
    if not isinstance(result, DeterminationDraft):
        return None
    chosen = st.session_state.get(_chosen_key(turn))
    return DraftDecision(chosen) if chosen else result.decision


def reverify(
    ws: Workspace, turn: Turn, text: str, decision: DraftDecision | None = None
) -> VerificationReport:
    """Verify `text` against the turn's evidence, its decision (default: the one chosen) and
    its case summary; cached per (text, decision) so reruns cost nothing."""
    decision = decision or current_decision(turn)
    got = st.session_state.get(_verified_key(turn))
    if got and got[0] == (text, decision):
        report: VerificationReport = got[1]
        return report
    result = turn.result
    report = verify_draft(
        text,
        turn.evidence,
        embedder=ws.index.embedder,
        decision=decision,
        governing=result.governing_tier,
        record=turn.summary or None,
    )
    st.session_state[_verified_key(turn)] = ((text, decision), report)
    return report


def _ensure_started(ws: Workspace, turn: Turn, reviewer: str) -> str:
    if turn.review_id is None:
        review = ws.ledger.start(turn.result, reviewer, turn.evidence)
        turn.review_id = review.review_id
    return turn.review_id


def render(ws: Workspace, turn: Turn, reviewer: str, *, shortcuts: bool = True) -> None:
    """The editor for `turn`, its decision, its verification, and the Accept / Reject actions.

    `shortcuts=False` leaves the keyboard shortcuts to another panel of the same page."""
    st.subheader("Edit and accept")
    closed = turn.status in ("accepted", "rejected")
    is_draft = isinstance(turn.result, DeterminationDraft)
    if is_draft:
        col_decision, col_text = st.columns([1, 3])
        with col_decision:
            _decision_field(turn, closed)
        with col_text:
            text = _editor(turn, closed)
    else:
        text = _editor(turn, closed)
    report = reverify(ws, turn, text)
    _record_edit(ws, turn, text, reviewer, report)
    conflicts = decision_blockers(report)
    if conflicts:
        st.error(
            "**The decision and the text disagree.** Change the decision or the conclusion; "
            "Accept stays blocked until they agree (no override can accept a letter that "
            "contradicts itself):\n" + "\n".join(f"- {escape_md(c)}" for c in conflicts)
        )
    _verification_table(report)
    blockers = accept_blockers(report)
    if closed:
        st.success(f"This draft was {turn.status} (review `{turn.review_id}`). See Review ledger.")
        if turn.status == "accepted" and turn.review_id and is_draft:
            from imr_assist.ui.ledger_page import export_buttons

            export_buttons(ws, ws.ledger.review(turn.review_id), reviewer, key=turn.uid)
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
        can_accept = bool(reviewer) and not conflicts and (not blockers or bool(override.strip()))
        if st.button(
            "Accept",
            type="primary",
            disabled=not can_accept,
            key=f"accept-{turn.uid}",
            shortcut=ACCEPT_SHORTCUT if shortcuts else None,
            help=f"Accept this text and decision ({ACCEPT_SHORTCUT})" if shortcuts else None,
        ):
            _accept(ws, turn, text, reviewer, report, override.strip() or None)
    with col_reject:
        reason = st.text_input("Reject reason", key=f"reject-reason-{turn.uid}")
        can_reject = bool(reviewer) and bool(reason.strip())
        if st.button(
            "Reject",
            disabled=not can_reject,
            key=f"reject-{turn.uid}",
            shortcut=REJECT_SHORTCUT if shortcuts else None,
            help=f"Reject this draft ({REJECT_SHORTCUT})" if shortcuts else None,
        ):
            _reject(ws, turn, reason.strip(), reviewer)


def _editor(turn: Turn, closed: bool) -> str:
    return st.text_area(
        "Draft text (citation markers like [3f2a9c1b0d4e] point at the sources)",
        value=turn.text,
        height=220,
        key=f"edit-{turn.uid}",
        disabled=closed,
    )


def _decision_field(turn: Turn, closed: bool) -> None:
    """The decision radio, drawn from the decision chosen on every run.

    The radio's default is the chosen decision and its key names that decision. A radio
    preset through session state and left at default index 0 showed "Medically necessary" when
    the browser redrew it while the session held another decision (seen under load)."""
    result = turn.result
    assert isinstance(result, DeterminationDraft)
    now = current_decision(turn)
    assert now is not None
    options = [d.value for d in DECISIONS]
    key = _decision_widget_key(turn, now)
    st.radio(
        "Decision",
        options,
        index=options.index(now.value),
        format_func=label,
        key=key,
        on_change=_choose,
        args=(turn, key),
        disabled=closed,
        help="Checked against the text's conclusion: Accept waits until they agree.",
    )
    if now is not result.decision:
        st.caption(f"Drafted as: {label(result.decision)}")


def _choose(turn: Turn, key: str) -> None:
    st.session_state[_chosen_key(turn)] = st.session_state[key]


def _record_edit(
    ws: Workspace, turn: Turn, text: str, reviewer: str, report: VerificationReport
) -> None:
    last_key = f"recorded-{turn.uid}"
    drafted = getattr(turn.result, "decision", None)
    now = (text, report.decision)
    if now == st.session_state.get(last_key, (turn.text, drafted)):
        return
    if not reviewer:
        st.caption("Edits are recorded in the ledger once your name is in the sidebar.")
        return
    try:
        review_id = _ensure_started(ws, turn, reviewer)
        record_decision(ws.ledger, review_id, text, reviewer, report)
    except ImrAssistError as exc:
        st.error(str(exc))
        return
    st.session_state[last_key] = now


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
        accept_decided(ws.ledger, review_id, text, reviewer, report, override_reason=override)
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
    records = sum(c.restates_record for c in report.sentences)
    counts = (
        f"{report.supported} supported · {report.weak} weak · {report.unsupported} unsupported"
        f" · {report.uncited} uncited · {records} from the record"
    )
    if report.fabricated_ids:
        counts += f" · unknown ids: {', '.join(report.fabricated_ids)}"
    if report.decision is not None:
        said = label(report.conclusion) if report.conclusion else "no conclusion"
        counts += f" · conclusion: {said}"
    with st.expander(f"Verification: {counts}", expanded=not report.ok):
        for n, check in enumerate(report.sentences, 1):
            badge = RECORD_BADGE if check.restates_record else VERDICT_BADGE[check.verdict]
            line = f"{n}. {badge} {escape_md(check.text)}"
            if check.unknown_ids:
                line += f" — unknown id {', '.join(check.unknown_ids)}"
            st.markdown(line)
            if check.notes:
                st.caption(escape_md("; ".join(check.notes)))
