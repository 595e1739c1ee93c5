"""The ask page through AppTest: sources beside each answer, the cited page on screen, the
answer under review chosen per answer, follow-ups, and sessions that survive a reload.

The demo corpus is indexed once per module (model-free hashing embedder) and each test works on
a copy of that home, as a reviewer's fresh data directory would be.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from helpers import HASHING_ENV, hashing_settings, text_pdf, write
from imr_assist import api
from imr_assist.drafting.chain import _resolved
from imr_assist.drafting.models import Answer
from imr_assist.models import Stance
from imr_assist.ui.turns import Turn
from imr_assist.verification.verify import verify

SCRIPT = "from imr_assist.ui import ask_page\nask_page.render()\n"
RAW_TOKENS = ("not_medically_necessary", "other_guideline", "governing tier", "`mtus`")
KIT = "Is a home exercise kit covered after lumbar fusion?"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ask-demo") / "home"
    report = api.build_demo(settings=hashing_settings(home))
    assert report is not None and not report.failed
    return home


@pytest.fixture
def home(demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    copy = tmp_path / "home"
    shutil.copytree(demo_home, copy)
    monkeypatch.setenv("IMR_HOME", str(copy))
    for key, value in HASHING_ENV.items():
        monkeypatch.setenv(key, value)
    yield copy


def _app(session: str | None = None) -> AppTest:
    app = AppTest.from_string(SCRIPT, default_timeout=120)
    if session:
        app.query_params["session"] = session
    return app


def _texts(app: AppTest) -> list[str]:
    return [str(e.value) for kind in ("markdown", "caption") for e in getattr(app, kind)]


def _turns(app: AppTest) -> list[Turn]:
    return list(app.session_state["turns"])


def _keys(app: AppTest, kind: str) -> set[str]:
    return {str(e.key) for e in getattr(app, kind) if e.key}


def test_each_answer_carries_its_sources_and_the_review_is_explicit(home: Path) -> None:
    app = _app().run()
    assert not app.exception
    app.button(key="example-0").click().run()
    app.chat_input[0].set_value("TENS unit purchase for chronic low back pain").run()
    assert not app.exception
    first, second = _turns(app)
    buttons = _keys(app, "button")
    for turn in (first, second):  # every answer has its own numbered chips
        assert turn.result.citations
        chips = {f"chip-{turn.uid}-{n}" for n in range(1, len(turn.result.citations) + 1)}
        assert chips <= buttons
    assert not [s for s in app.selectbox if s.label == "Working on"]  # no hidden selector
    # the latest answer is under review; the earlier one offers "Review this answer"
    assert f"edit-{second.uid}" in _keys(app, "text_area")
    assert f"edit-{first.uid}" not in _keys(app, "text_area")
    app.button(key=f"review-this-{first.uid}").click().run()
    assert f"edit-{first.uid}" in _keys(app, "text_area")
    assert f"edit-{second.uid}" not in _keys(app, "text_area")
    assert f"review-this-{second.uid}" in _keys(app, "button")


def test_answer_opens_with_its_conclusion_in_plain_words(home: Path) -> None:
    app = _app().run()
    app.text_input(key="reviewer").input("Dr. Rivera").run()
    app.text_input(key="form-item").input("Lumbar spine home exercise kit")
    app.text_area(key="form-summary").input("39-year-old, lumbar fusion revision 07/2013.")
    app.button(key="form-submit").click().run()
    assert not app.exception
    (turn,) = _turns(app)
    opening = turn.result.sentences[0].text
    headings = [m.value for m in app.markdown if m.value.startswith("##### ")]
    assert headings and headings[0].startswith("##### " + opening.split(" [")[0][:30])
    shown = " ".join(_texts(app))
    for token in RAW_TOKENS:
        assert token not in shown, token
    assert "Guidelines say:" in shown
    # the form stays open with its fields for the next item
    assert app.expander[0].label == "Determination request"
    assert app.text_input(key="form-item").value == "Lumbar spine home exercise kit"


def test_chip_opens_a_text_source_in_context_and_steps_through_sources(home: Path) -> None:
    app = _app().run()
    app.button(key="example-0").click().run()
    (turn,) = _turns(app)
    cited = turn.result.citations
    app.button(key=f"chip-{turn.uid}-1").click().run()
    assert not app.exception
    shown = " ".join(_texts(app))
    assert f"**Source 1 of {len(cited)}**" in shown
    assert "the cited passage (framed) with the passages before and after it" in shown
    framed = app.get_by_key(f"cited-{cited[0].id}")
    assert framed is not None
    assert app.button(key=f"viewer-prev-{turn.uid}").disabled
    if len(cited) > 1:
        app.button(key=f"viewer-next-{turn.uid}").click().run()
        assert f"**Source 2 of {len(cited)}**" in " ".join(_texts(app))
    app.button(key=f"viewer-close-{turn.uid}").click().run()
    assert "**Source" not in " ".join(_texts(app))


def _pdf_turn(home: Path, tmp_path: Path) -> tuple[Turn, Path]:
    """A PDF guideline ingested into the home and an answer citing one of its passages."""
    pdf = write(
        tmp_path / "taping-guide.pdf",
        text_pdf(
            [
                ["Illustrative taping guideline", "Contents and scope of this test guide."],
                [
                    "Kinesiology taping for chronic low back pain",
                    "We suggest against kinesiology taping for chronic",
                    "low back pain because trials showed no benefit.",
                ],
            ]
        ),
    )
    settings = hashing_settings(home)
    report = api.ingest([pdf], settings=settings, tier="other_guideline", kind="guideline")
    assert not report.failed, report.failed
    index = api.open_index(settings)
    (record,) = [r for r in index.records() if r.source_path == pdf.name]
    ids = index.collection.get(where={"doc_id": record.doc_id}, include=[])["ids"]
    passage = next(p for p in index.get_passages(ids) if "kinesiology taping" in p.text.lower())
    assert passage.page_number is not None
    text = f"Kinesiology taping is not recommended for chronic low back pain. [{passage.id}]"
    checked = verify(text, [passage])
    answer = Answer(
        query="Is kinesiology taping recommended?",
        answer=text,
        stance=Stance.NOT_RECOMMENDED,
        governing_tier=passage.tier,
        sequence_note="",
        sentences=checked.sentences,
        citations=[_resolved(passage)],
        fabricated_ids=[],
        abstained=False,
        precedent=None,
        settings_hash=settings.index_hash,
        drafter="test",
    )
    return Turn(kind="ask", query=answer.query, result=answer, evidence=[passage]), pdf


def test_chip_of_a_pdf_source_shows_the_page_image_then_says_when_the_file_is_gone(
    home: Path, tmp_path: Path
) -> None:
    turn, pdf = _pdf_turn(home, tmp_path)
    app = _app()
    app.session_state["turns"] = [turn]
    app.run()
    assert not app.exception
    assert not app.get("image")
    app.button(key=f"chip-{turn.uid}-1").click().run()
    assert not app.exception
    images: list[Any] = app.get("image")
    assert len(images) == 1
    assert "**The cited passage**" in " ".join(_texts(app))
    pdf.unlink()  # the PDF is moved away after ingest
    app.run()
    assert not app.get("image")
    warnings = " ".join(w.value for w in app.warning)
    assert "taping-guide.pdf is no longer at" in warnings


def test_follow_up_question_keeps_the_item_under_discussion(home: Path) -> None:
    app = _app().run()
    app.button(key="example-0").click().run()
    app.chat_input[0].set_value("and for acute pain?").run()
    assert not app.exception
    first, second = _turns(app)
    assert first.subject == "home exercise kit"
    assert second.asked == "and for acute pain?"
    assert second.query == "home exercise kit: and for acute pain?"
    assert second.result.reasoning is not None
    assert second.result.reasoning.request.concepts == ["home exercise kit"]
    assert any("Asked as: home exercise kit" in c.value for c in app.caption)
    # a question that names its own item is sent as typed
    app.chat_input[0].set_value("TENS unit purchase for chronic low back pain").run()
    third = _turns(app)[2]
    assert third.query == "TENS unit purchase for chronic low back pain" and not third.asked


def test_reload_restores_conversation_edited_draft_reviewer_and_filters(home: Path) -> None:
    app = _app().run()
    session = app.session_state["session_id"]
    assert app.query_params["session"] in (session, [session])  # the URL names the session
    app.text_input(key="reviewer").input("Dr. Rivera").run()
    app.multiselect(key="ask-tier").select("mtus").select("guideline").run()
    app.button(key="example-0").click().run()
    (turn,) = _turns(app)
    edited = app.text_area(key=f"edit-{turn.uid}").value + " The reviewer read the full record."
    app.text_area(key=f"edit-{turn.uid}").input(edited).run()
    assert not app.exception

    reloaded = _app(session).run()  # the same URL in a new browser session
    assert not reloaded.exception
    (back,) = _turns(reloaded)
    assert back == turn
    assert reloaded.text_area(key=f"edit-{turn.uid}").value == edited
    assert reloaded.text_input(key="reviewer").value == "Dr. Rivera"
    assert reloaded.multiselect(key="ask-tier").value == ["mtus", "guideline"]
    assert f"chip-{turn.uid}-1" in _keys(reloaded, "button")

    fresh = _app().run()  # no session in the URL: a new, empty conversation
    assert not fresh.session_state["turns"]
    assert fresh.session_state["session_id"] != session


def test_recent_work_reopens_an_earlier_session(home: Path) -> None:
    app = _app().run()
    app.button(key="example-0").click().run()
    first_session = app.session_state["session_id"]
    (kit,) = _turns(app)
    app.button(key="new-session").click().run()
    assert not _turns(app) and app.session_state["session_id"] != first_session
    app.button(key="example-1").click().run()
    assert f"recent-{first_session}" in _keys(app, "button")
    app.button(key=f"recent-{first_session}").click().run()
    assert not app.exception
    assert [t.uid for t in _turns(app)] == [kit.uid]
    assert app.session_state["session_id"] == first_session


def test_corrupt_sessions_file_gives_a_message_and_a_fresh_session(home: Path) -> None:
    (home / "sessions.sqlite3").write_bytes(b"garbage, not SQLite " * 100)
    app = _app().run()
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "could not be read" in warnings and "sessions.sqlite3" in warnings
    app.button(key="example-0").click().run()
    assert not app.exception and len(_turns(app)) == 1
    session = app.session_state["session_id"]
    reloaded = _app(session).run()
    assert len(_turns(reloaded)) == 1  # the fresh file saves


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and for acute pain?", "Lumbar spine home exercise kit: and for acute pain?"),
        (
            "What about 6 more sessions?",
            "Lumbar spine home exercise kit: What about 6 more sessions?",
        ),
        ("Is a TENS unit covered?", "Is a TENS unit covered?"),  # names its own item
    ],
)
def test_follow_up_after_a_draft_uses_its_requested_item(question: str, expected: str) -> None:
    from helpers import make_draft, passages
    from imr_assist.ui.turns import follow_up

    previous = Turn(kind="draft", query="x", result=make_draft(), evidence=passages())
    assert follow_up(question, previous) == expected
    assert follow_up(question, None) == question


def test_sessions_file_from_a_newer_version_is_left_alone_and_work_goes_on(home: Path) -> None:
    import sqlite3

    path = home / "sessions.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE later (x)")
        conn.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    app = _app().run()
    assert not app.exception
    assert any("newer imr-assist" in w.value for w in app.warning)
    assert any("not being saved" in c.value for c in app.sidebar.caption)
    app.button(key="example-0").click().run()
    assert not app.exception and len(_turns(app)) == 1
    assert path.read_bytes() == before
