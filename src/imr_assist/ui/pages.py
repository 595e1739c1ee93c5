"""The workspace's pages and their navigation (app.py only calls `navigation().run()`)."""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from imr_assist.ui import (
    ask_page,
    corpus_page,
    determination_page,
    evals_page,
    ledger_page,
    search_page,
)


def navigation() -> StreamlitPage:
    """Ask and draft (default), Determination letter (several items), Search, Review ledger;
    Corpus and Evals for the index keeper."""
    return st.navigation(
        {
            "Review": [
                st.Page(ask_page.render, title="Ask and draft", url_path="ask", default=True),
                st.Page(determination_page.render, title="Determination letter", url_path="letter"),
                st.Page(search_page.render, title="Search", url_path="search"),
                st.Page(ledger_page.render, title="Review ledger", url_path="ledger"),
            ],
            "Index": [
                st.Page(corpus_page.render, title="Corpus", url_path="corpus"),
                st.Page(evals_page.render, title="Evals", url_path="evals"),
            ],
        }
    )
