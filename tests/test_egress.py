"""What leaves the process (issue 15, defect 4): with an external model configured, the
question of `ask`, the request line and case summary of a draft, and the evidence all reach the
model's server redacted. Checked at the process edge: a real HTTP server (OpenAI-compatible)
records every request body, and no identifier of the case may be in any of them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from helpers import ingest_demo
from imr_assist import api
from imr_assist.settings import Settings
from test_llm import _FakeServer, _openai_reply

PHI = ("Maria", "Lopez", "Ana-Lucía", "Pérez", "123-45-6789", "01/02/1970", "91234567A")
CASE = (
    "Pt: Maria G. Lopez, DOB 01/02/1970, SSN 123-45-6789, Medi-Cal ID: 91234567A. "
    "52-year-old with chronic low back pain since 2019; TENS helped in clinic."
)


@pytest.fixture
def external(settings: Settings) -> Iterator[tuple[Settings, _FakeServer]]:
    ingest_demo(settings)
    server = _FakeServer(_openai_reply)
    llm = {"model": "openai:x", "base_url": f"{server.url}/v1", "max_tokens": 32}
    yield settings.model_copy(update={"llm": settings.llm.model_copy(update=llm)}), server
    server.close()


def _sent(server: _FakeServer) -> str:
    assert server.requests, "nothing was sent: the drafter was not called"
    return "\n".join(json.dumps(body, ensure_ascii=False) for _, _, body in server.requests)


def test_ask_sends_the_question_redacted(external: tuple[Settings, _FakeServer]) -> None:
    settings, server = external
    api.ask(
        "Is a one-month home TENS trial recommended for Ana-Lucía Pérez, 47, "
        "SSN 123-45-6789, with chronic low back pain?",
        settings=settings,
    )
    sent = _sent(server)
    assert not [p for p in PHI if p in sent], sent
    assert "[NAME]" in sent and "[SSN]" in sent and "TENS" in sent


def test_draft_sends_request_line_and_case_redacted(external: tuple[Settings, _FakeServer]) -> None:
    settings, server = external
    api.draft("TENS unit one-month home trial for Maria Lopez, 52,", CASE, settings=settings)
    sent = _sent(server)
    assert not [p for p in PHI if p in sent], sent
    assert "52-year-old" in sent and "2019" in sent  # the clinical facts still go


def test_redaction_off_is_the_users_choice(
    external: tuple[Settings, _FakeServer],
) -> None:
    settings, server = external
    off = settings.model_copy(update={"llm": settings.llm.model_copy(update={"redact": False})})
    api.ask("Is a one-month home TENS trial recommended for Maria Lopez, 52?", settings=off)
    assert "Maria Lopez" in _sent(server)  # IMR_LLM__REDACT=false is the user's explicit choice
