"""A turn of the conversation: what the reviewer asked, what the chain returned, its evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import streamlit as st

from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.models import Passage
from imr_assist.ui.workspace import Workspace

Result = Answer | DeterminationDraft


@dataclass
class Turn:
    """One exchange: what the reviewer asked or requested and what came back."""

    kind: str  # "ask" or "draft"
    query: str
    summary: str
    result: Result
    evidence: list[Passage]
    review_id: str | None = None
    status: str = "drafted"
    uid: str = field(default_factory=lambda: uuid4().hex[:10])

    @property
    def text(self) -> str:
        return self.result.text

    @property
    def label(self) -> str:
        head = "Draft" if self.kind == "draft" else "Q"
        return f"{head}: {self.query[:70]}"


def turns() -> list[Turn]:
    return st.session_state.setdefault("turns", [])


def run_turn(
    ws: Workspace,
    kind: str,
    query: str,
    summary: str = "",
    filters: dict[str, str] | None = None,
    on_token: Any = None,
) -> Turn:
    """Ask or draft through the library chain, keeping the evidence passages to re-verify edits."""
    payload: dict[str, Any] = {"request": query, "summary": summary, "kind": kind}
    if filters:
        payload["filters"] = filters
    result = ws.chain(on_token=on_token).invoke(payload)
    evidence = ws.index.get_passages(result.evidence_ids) if result.evidence_ids else []
    return Turn(kind=kind, query=query, summary=summary, result=result, evidence=evidence)
