"""A turn of the conversation: what the reviewer asked, what the chain returned, its evidence.

A `Turn` is a pydantic model so a whole conversation is saved as JSON and restored after a
reload (see `ui/sessions.py`). Follow-up questions that name no item ("and for acute pain?")
keep the item of the turn before: `follow_up` rewrites them with the request parser's item.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import streamlit as st
from pydantic import Field

from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.models import Passage, StrictModel
from imr_assist.reasoning.models import Request
from imr_assist.reasoning.request import parse_request
from imr_assist.ui.workspace import Workspace

Result = Answer | DeterminationDraft


class Turn(StrictModel):
    """One exchange: what the reviewer asked or requested and what came back."""

    kind: str = Field(description="'ask' (a question) or 'draft' (a determination request)")
    query: str = Field(description="The question or request line sent to the chain")
    asked: str = Field(
        default="",
        description="What the reviewer typed when it differs from `query` (a follow-up "
        "question completed with the item under discussion); '' when they are the same",
    )
    summary: str = Field(default="", description="Case summary given with a draft request")
    result: Result = Field(description="What the chain returned")
    evidence: list[Passage] = Field(description="Passages the result was drafted from")
    review_id: str | None = Field(default=None, description="Ledger review, once started")
    status: str = Field(default="drafted", description="'drafted', 'accepted' or 'rejected'")
    uid: str = Field(
        default_factory=lambda: uuid4().hex[:10], description="Stable id of the turn (widget keys)"
    )

    @property
    def text(self) -> str:
        return self.result.text

    @property
    def label(self) -> str:
        head = "Draft" if self.kind == "draft" else "Q"
        return f"{head}: {(self.asked or self.query)[:70]}"

    @property
    def subject(self) -> str:
        """The item this turn is about ('' when none is recognisable): what a follow-up keeps."""
        if isinstance(self.result, DeterminationDraft):
            return self.result.item
        reasoning = self.result.reasoning
        return item_words(reasoning.request) if reasoning is not None else ""


def item_words(request: Request) -> str:
    """The requested item in words the request parser reads back as the same item."""
    if request.drugs:
        return "/".join(request.drugs)
    if request.concepts:
        return " and ".join(request.concepts)
    return ""


def follow_up(question: str, previous: Turn | None) -> str:
    """`question`, completed with the previous turn's item when it names none of its own.

    'and for acute pain?' after a question about a home exercise kit becomes
    'home exercise kit: and for acute pain?' (the parser reads the item before the colon)."""
    if previous is None:
        return question
    subject = previous.subject
    if not subject or item_words(parse_request(question)):
        return question
    return f"{subject}: {question}"


def turns() -> list[Turn]:
    return st.session_state.setdefault("turns", [])


def run_turn(
    ws: Workspace,
    kind: str,
    query: str,
    summary: str = "",
    filters: dict[str, str] | None = None,
    on_token: Any = None,
    asked: str = "",
) -> Turn:
    """Ask or draft through the library chain, keeping the evidence passages to re-verify edits."""
    payload: dict[str, Any] = {"request": query, "summary": summary, "kind": kind}
    if filters:
        payload["filters"] = filters
    result = ws.chain(on_token=on_token).invoke(payload)
    evidence = ws.index.get_passages(result.evidence_ids) if result.evidence_ids else []
    return Turn(
        kind=kind,
        query=query,
        asked=asked if asked != query else "",
        summary=summary,
        result=result,
        evidence=evidence,
    )
