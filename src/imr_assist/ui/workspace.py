"""What every page of the workspace shares: the library objects, the reviewer, the sidebar.

The library objects (retriever with its index and model, the chat model if one is configured,
the ledger) live once per server process in `st.cache_resource`; pages receive them as a
`Workspace` so tests can build one over a temporary home and a fake embedder or chat model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from imr_assist import api
from imr_assist.drafting.chain import DRAFTER_NAME, make_chain
from imr_assist.drafting.llm import chat_model_for, describe_llm, is_external, redactor_for
from imr_assist.errors import ImrAssistError
from imr_assist.index.filters import FILTER_KEYS
from imr_assist.index.store import PassageIndex
from imr_assist.ingest.progress import JobProgress
from imr_assist.models import Kind, Tier
from imr_assist.retrieval.hybrid import HybridRetriever
from imr_assist.review.ledger import Ledger, open_ledger
from imr_assist.settings import Settings
from imr_assist.text import regions
from imr_assist.ui.labels import label

EXAMPLES = (
    "Is a home exercise kit covered after lumbar fusion?",
    "TENS unit purchase for chronic low back pain",
    "12 sessions of chiropractic manipulation",
)
BODY_REGIONS = ("", *regions.BODY_REGIONS)
"""The region filter's choices: the vocabulary readers assign ('' = any region)."""
REQUEST_REGIONS = ("", *regions.SPECIFIC_REGIONS)
"""The request form's choices: regions a request can name."""
FILTER_FIELDS = ("tier", "kind", "guideline", "region")
FILTER_WIDGETS = tuple(f"{page}-{name}" for page in ("ask", "search") for name in FILTER_FIELDS)
"""Widget keys of the sidebar filters of each page (saved with a session)."""


def region_label(region: str) -> str:
    """'low_back' -> 'Low back'; '' -> 'Any region'."""
    return label(region) if region else "Any region"


# The seam for the chat model: tests replace it with a queued fake, exactly where the real
# model would come from.
ChatModelFactory = Callable[[Settings], Any]
chat_model_factory: ChatModelFactory = lambda settings: chat_model_for(settings.llm)  # noqa: E731


@dataclass
class Workspace:
    """The library objects a page works with."""

    settings: Settings
    retriever: HybridRetriever
    ledger: Ledger
    chat_model: Any | None = None
    drafter_name: str = DRAFTER_NAME

    @property
    def index(self) -> PassageIndex:
        return self.retriever.index

    def chain(self, on_token: Callable[[str], None] | None = None) -> Any:
        """The drafting chain; `on_token` receives streamed text when the drafter streams."""
        if self.chat_model is None:
            return make_chain(self.retriever)
        from imr_assist.drafting.llm_drafter import make_llm_drafter

        drafter = make_llm_drafter(
            self.chat_model,
            self.drafter_name,
            redactor=redactor_for(self.settings.llm),
            on_token=on_token,
        )
        return make_chain(self.retriever, drafter=drafter)

    @property
    def streams(self) -> bool:
        return self.chat_model is not None


@st.cache_resource(show_spinner=False)
def _workspace(settings_json: str) -> Workspace:
    settings = Settings.model_validate_json(settings_json)
    retriever = api.open_retriever(settings)
    model = chat_model_factory(settings) if settings.llm.model else None
    name = describe_llm(settings.llm.model or "", settings.llm.base_url) if model else DRAFTER_NAME
    return Workspace(
        settings=settings,
        retriever=retriever,
        ledger=open_ledger(settings),
        chat_model=model,
        drafter_name=name,
    )


def get_workspace(settings: Settings | None = None) -> Workspace | None:
    """The shared workspace, building the demo index on an empty home; None after an error shown."""
    try:
        settings = settings or api.load_settings()
        ws = _workspace(settings.cache_key())
        ensure_demo(ws.settings, ws.index)
    except ImrAssistError as exc:
        st.error(str(exc))
        return None
    return ws


def ensure_demo(settings: Settings, index: PassageIndex) -> None:
    """On an empty home, build the demo index with a visible progress bar."""
    if index.records():
        return
    first = "First run: indexing the illustrative demo corpus"
    bar = st.progress(0.0, text=f"{first}. Loading the embedding model…")
    index.embedder.embed_documents(["warm up"])  # loads the passage encoder: seconds, said

    def progress(event: JobProgress) -> None:  # the whole job: never full before the end
        bar.progress(event.fraction, text=f"{first}. {event.describe()}")

    report = api.build_demo(settings=settings, job_progress=progress)
    bar.empty()
    if report is not None and report.failed:
        st.warning("Some demo files failed: " + "; ".join(f.message for f in report.failed))


def reviewer_name() -> str:
    """The logged-in user when Streamlit auth is configured, else the sidebar field."""
    user = _logged_in_user()
    if user:
        st.sidebar.markdown(f"Reviewer: **{user}** (signed in)")
        return user
    # Widget state is dropped when a page without the widget runs; keep the name in a plain key
    # so it follows the reviewer from page to page.
    if "reviewer" not in st.session_state:
        st.session_state["reviewer"] = st.session_state.get("_reviewer", "")
    name = st.sidebar.text_input("Reviewer name", key="reviewer").strip()
    st.session_state["_reviewer"] = name
    return name


def _logged_in_user() -> str:
    try:
        if st.user.is_logged_in:
            return str(st.user.get("name") or st.user.get("email") or "")
    except (AttributeError, KeyError, RuntimeError, ImportError):
        return ""
    return ""


def sidebar_filters(prefix: str = "f") -> dict[str, str]:
    """Guideline, tier, kind and body-region filters, applied to both retrieval sides."""
    st.sidebar.header("Filters")
    filters: dict[str, str] = {}
    tiers = st.sidebar.multiselect(
        "Authority tier", [t.value for t in Tier], key=f"{prefix}-tier", format_func=label
    )
    kinds = st.sidebar.multiselect(
        "Kind", [k.value for k in Kind], key=f"{prefix}-kind", format_func=label
    )
    guideline = st.sidebar.text_input("Guideline name (exact)", key=f"{prefix}-guideline")
    region = st.sidebar.selectbox(
        "Body region", BODY_REGIONS, key=f"{prefix}-region", format_func=region_label
    )
    if tiers:
        filters["tier"] = "|".join(tiers)
    if kinds:
        filters["kind"] = "|".join(kinds)
    if guideline.strip():
        filters["guideline"] = guideline.strip()
    if region:
        filters["body_region"] = region
    assert set(filters) <= set(FILTER_KEYS)
    return filters


def sidebar_index(ws: Workspace) -> None:
    """Which index and drafter the page is using."""
    status = ws.index.status()
    external = ""
    if ws.chat_model is not None and is_external(ws.settings.llm.model or ""):
        external = " (external: the redacted case summary and the evidence are sent to it)"
    st.sidebar.markdown(
        f"**Index** `{status.collection}`  \n{status.documents} documents, "
        f"{status.passages} passages  \nModel: `{status.embedding_model}`  \n"
        f"Drafter: `{ws.drafter_name}`{external}"
    )
