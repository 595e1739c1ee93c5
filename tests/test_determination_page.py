"""The determination letter page keeps its work across a reload (same URL, same IMR_HOME)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from imr_assist.models import DraftDecision
from imr_assist.ui import persistence
from imr_assist.ui.labels import label

TIMEOUT = 60
SUMMARY = "39-year-old, lumbar fusion revision 07/2013, unable to attend physical therapy."
ITEMS = ["Lumbar spine home exercise kit", "TENS unit purchase for chronic low back pain"]
APP = "from imr_assist.ui import determination_page\ndetermination_page.render()\n"


def _page() -> AppTest:
    return AppTest.from_string(APP, default_timeout=TIMEOUT)


def test_a_determination_in_progress_is_restored_on_reload(app_home: Path) -> None:
    at = _page()
    at.run()
    assert not at.exception, at.exception
    at.sidebar.text_input(key="reviewer").input("Dr. Rivera")
    at.text_area(key="det-summary").input(SUMMARY)
    at.button(key="det-add").click().run()
    for slot, item in enumerate(ITEMS):
        at.text_input(key=f"det-item-{slot}").input(item)
    at.button(key="det-draft").click().run()
    assert not at.exception, at.exception
    assert len(at.radio(key="det-current").options) == 2
    at.radio(key="det-current").set_value(1).run()
    [editor] = [t for t in at.text_area if t.key and t.key.startswith("edit-")]
    edited = editor.value + " Reviewed against the treating physician's note."
    editor.input(edited).run()
    assert not at.exception, at.exception
    session = at.query_params[persistence.DET_PARAM]
    session = session[0] if isinstance(session, list) else session
    det_id = at.session_state["determination"]["id"]

    again = _page()  # a reload: a new browser session on the same URL
    again.query_params[persistence.DET_PARAM] = session
    again.run()
    assert not again.exception, again.exception
    assert not again.warning, [w.value for w in again.warning]
    assert again.text_area(key="det-summary").value == SUMMARY
    assert [again.text_input(key=f"det-item-{s}").value for s in range(2)] == ITEMS
    assert again.sidebar.text_input(key="reviewer").value == "Dr. Rivera"
    assert again.session_state["determination"]["id"] == det_id
    assert len(again.radio(key="det-current").options) == 2
    assert again.radio(key="det-current").value == 1
    [restored] = [t for t in again.text_area if t.key and t.key.startswith("edit-")]
    assert restored.key == editor.key and restored.value == edited
    assert any(f"Determination `{det_id}`" in c.value for c in again.caption)
    again.radio(key="det-current").set_value(0).run()
    assert not again.exception, again.exception
    assert any(ITEMS[0] in s.value for s in again.subheader)


def _decision_radio(at: AppTest) -> object:
    [radio] = [r for r in at.radio if r.key and r.key.startswith("decision-")]
    return radio


def _shown(radio: object) -> str:
    """What a browser drawing this radio afresh shows: its default option, not session state."""
    return str(radio.options[radio.proto.default])  # type: ignore[attr-defined]


def test_the_decision_radio_always_draws_the_decision_held(app_home: Path) -> None:
    at = _page()
    at.run()
    at.sidebar.text_input(key="reviewer").input("Dr. Rivera")
    at.text_area(key="det-summary").input(SUMMARY)
    at.text_input(key="det-item-0").input(ITEMS[1])
    at.button(key="det-draft").click().run()
    assert not at.exception, at.exception
    drafted = at.session_state["determination"]["turns"][0].result.decision
    radio = _decision_radio(at)
    assert radio.value == drafted.value  # type: ignore[attr-defined]
    assert _shown(radio) == label(drafted)
    for other in [d for d in DraftDecision if d is not drafted]:
        _decision_radio(at).set_value(other.value).run()  # type: ignore[attr-defined]
        assert not at.exception, at.exception
        at.text_area(key="det-summary").input(SUMMARY + " ").run()  # an unrelated rerun
        radio = _decision_radio(at)
        assert radio.value == other.value  # type: ignore[attr-defined]
        assert _shown(radio) == label(other)
        assert any(label(drafted) in c.value for c in at.caption)  # "Drafted as: ..."
    session = at.query_params[persistence.DET_PARAM]
    again = _page()  # a reload keeps the decision chosen last, and draws it
    again.query_params[persistence.DET_PARAM] = session[0] if isinstance(session, list) else session
    again.run()
    assert not again.exception, again.exception
    assert not again.warning, [w.value for w in again.warning]
    assert _shown(_decision_radio(again)) == label(other)


def test_recent_work_reopens_an_earlier_determination(app_home: Path) -> None:
    at = _page()
    at.run()
    at.text_area(key="det-summary").input(SUMMARY)
    at.text_input(key="det-item-0").input(ITEMS[0])
    at.button(key="det-draft").click().run()
    assert not at.exception, at.exception
    first = at.session_state["determination"]["id"]
    assert not [b for b in at.sidebar.button if b.key and b.key.startswith("recent-")]
    at.sidebar.button(key="new-det").click().run()  # a new determination: an empty form
    assert not at.exception, at.exception
    assert at.text_area(key="det-summary").value == ""
    assert at.session_state["determination"]["id"] != first
    [earlier] = [b for b in at.sidebar.button if b.key and b.key.startswith("recent-")]
    assert ITEMS[0] in earlier.label  # named by its first item
    earlier.click().run()
    assert not at.exception, at.exception
    assert at.session_state["determination"]["id"] == first
    assert at.text_area(key="det-summary").value == SUMMARY
    assert at.text_input(key="det-item-0").value == ITEMS[0]
