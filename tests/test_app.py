"""The Search page through AppTest, on a temporary home with the model-free embedder."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture
def app(app_home: Path) -> AppTest:
    return AppTest.from_string(
        "from imr_assist.ui import search_page\nsearch_page.render()\n", default_timeout=120
    )


def test_first_run_builds_demo_and_searches(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert "documents" in app.sidebar.markdown[0].value
    assert "0 documents" not in app.sidebar.markdown[0].value
    app.text_input(key="query").input("TENS unit one-month trial").run()
    assert not app.exception
    bodies = " ".join(m.value for m in app.markdown)
    assert "MTUS" in bodies or "Prior determination" in bodies
    assert any("TENS" in str(getattr(el, "value", "")) for el in app.main)


def test_tier_filter_applies(app: AppTest) -> None:
    app.run()
    app.sidebar.multiselect[0].select("prior_determination").run()
    app.text_input(key="query").input("home exercise kit").run()
    captions = [c.value for c in app.caption]
    hit_captions = [c for c in captions if " · score " in c]
    assert hit_captions and all(c.startswith("Prior determination") for c in hit_captions)


def test_empty_and_oversized_queries_are_guarded(app: AppTest) -> None:
    app.run()
    assert app.info  # prompt to type a question
    app.text_input(key="query").input("x" * 3000).run()
    assert app.error and "over the 2000 limit" in app.error[0].value


def test_gate_warning_and_authority_tier_shown(app: AppTest) -> None:
    app.run()
    app.text_input(key="query").input("Kyphoplasty T12 osteoporotic compression fracture").run()
    assert app.warning and "Nothing in the index appears to address" in app.warning[0].value
    app.text_input(key="query").input("TENS unit one-month home trial").run()
    assert app.success and "MTUS" in app.success[0].value
    assert "mtus" not in app.success[0].value  # the reader's words, not the token
