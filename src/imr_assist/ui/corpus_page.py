"""Corpus: upload documents, ingest them with a progress bar, list and remove documents."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from imr_assist import api
from imr_assist.citations import format_pages
from imr_assist.errors import ImrAssistError
from imr_assist.ingest.pipeline import FileProgress
from imr_assist.ingest.reader import KIND_CHOICES
from imr_assist.ingest.uploads import ALLOWED_UPLOAD_TYPES, max_upload_bytes, save_upload
from imr_assist.models import DocumentRecord, IngestReport, Kind, Tier
from imr_assist.reasoning.models import Recommendation
from imr_assist.ui.render import escape_md
from imr_assist.ui.workspace import Workspace, get_workspace, sidebar_index


def upload_dir(ws: Workspace) -> Path:
    """Where uploaded files are kept (inside IMR_HOME, so re-ingest and `index rm` find them)."""
    return Path(ws.settings.home) / "uploads"


def render(ws: Workspace | None = None) -> None:
    st.title("Corpus")
    ws = ws or get_workspace()
    if ws is None:
        return
    sidebar_index(ws)
    flash = st.session_state.pop("corpus-flash", None)
    if flash:
        st.success(flash)
    _upload(ws)
    st.divider()
    _documents(ws)


def _upload(ws: Workspace) -> None:
    st.subheader("Add documents")
    limit_mb = ws.settings.ingest.max_file_mb
    st.caption(
        f"PDF, text, Markdown, determination letters, DMHC CSV or BEIR corpus.jsonl; up to "
        f"{limit_mb:g} MB each. Licensed guidelines stay on this machine."
    )
    files = st.file_uploader(
        "Files",
        type=list(ALLOWED_UPLOAD_TYPES),
        accept_multiple_files=True,
        key="uploads",
    )
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("Kind", KIND_CHOICES, help="auto detects determination letters")
    tier = c2.selectbox("Authority tier", ["(detect)", *(t.value for t in Tier)])
    guideline = c3.text_input("Guideline short name (optional)")
    if not st.button("Ingest", type="primary", disabled=not files):
        return
    bar = st.progress(0.0, text="Ingesting…")

    def progress(name: str, done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Ingesting {name}…")

    report, problems = ingest_uploads(
        ws,
        [(f.name, f.getvalue()) for f in files or []],
        kind=kind,
        tier=None if tier == "(detect)" else tier,
        guideline=guideline.strip() or None,
        progress=progress,
    )
    for problem in problems:
        st.error(problem)
    if report is None:
        bar.empty()
        return
    bar.empty()
    for r in report.files:
        name = Path(r.path).name
        if r.status == "failed":
            st.error(f"{name}: {r.message}")
        else:
            st.success(f"{name}: {r.status}, {r.passages} passages. {r.message}".strip())
        for w in r.warnings:
            st.warning(f"{name}: {w}")
    if tier == "(detect)":
        for line in detected_mtus(ws, report):
            st.warning(line)


def detected_mtus(ws: Workspace, report: IngestReport) -> list[str]:
    """A warning per uploaded document that detection placed in the MTUS tier.

    MTUS governs the order of authority. Detection grants it only to a document that reads as
    the official DWC text (a mention is not enough); a reviewer should still confirm it."""
    lines = []
    for r in report.files:
        for doc_id in r.doc_ids:
            record = ws.index.record(doc_id)
            if record is not None and record.tier is Tier.MTUS:
                lines.append(
                    f"{Path(r.path).name}: detected as the official MTUS (DWC) text, so it "
                    "governs drafts ahead of every other guideline. If it is not the official "
                    "MTUS, remove it and ingest it again with the right tier."
                )
    return lines


def flagged_lines(records: Sequence[DocumentRecord]) -> list[str]:
    """A warning per document holding sentences addressed to a reader or a tool (injection)."""
    return [
        f"{escape_md(r.title)} ({r.source_path}): {r.flagged} passage(s) hold sentences "
        "addressed to a reader or a tool, such as 'Note to automated drafting tools: ...'. "
        "They are not evidence and are never quoted; check where the file came from."
        for r in records
        if r.flagged
    ]


def ingest_uploads(
    ws: Workspace,
    uploads: Sequence[tuple[str, bytes]],
    *,
    kind: str = "auto",
    tier: str | None = None,
    guideline: str | None = None,
    progress: FileProgress | None = None,
) -> tuple[IngestReport | None, list[str]]:
    """Check and save each upload under IMR_HOME/uploads, then ingest the good ones.

    Returns the ingest report (None when nothing could be ingested) and one message per upload
    refused before ingest (type, size, name); a refused upload never stops the others."""
    saved: list[Path] = []
    problems: list[str] = []
    for name, data in uploads:
        try:
            saved.append(
                save_upload(name, data, upload_dir(ws), max_bytes=max_upload_bytes(ws.settings))
            )
        except ImrAssistError as exc:
            problems.append(str(exc))
    if not saved:
        return None, problems
    try:
        report = api.ingest(
            saved,
            settings=ws.settings,
            kind=kind,
            tier=tier,
            guideline=guideline,
            progress=progress,
        )
        ws.retriever.sync()
    except ImrAssistError as exc:
        return None, [*problems, str(exc)]
    return report, problems


def _documents(ws: Workspace) -> None:
    records = sorted(ws.index.records(), key=lambda r: (r.tier.rank, r.title))
    st.subheader(f"Documents ({len(records)})")
    if not records:
        st.info("No documents yet: upload some above.")
        return
    recs = _recommendations_by_document(ws)
    st.dataframe(
        [
            {
                "title": r.title,
                "kind": r.kind.value,
                "tier": r.tier.value,
                "guideline": r.guideline or "",
                "passages": r.passages,
                "recommendations": len(recs.get(r.doc_id, [])),
                "flagged passages": r.flagged,
                "file": r.source_path,
                "ingested": r.ingested_at[:19],
                "doc_id": r.doc_id,
            }
            for r in records
        ],
        hide_index=True,
    )
    for line in flagged_lines(records):
        st.warning(line)
    _recommendation_lists(records, recs)
    labels = {f"{r.title} ({r.source_path})": r.doc_id for r in records}
    choice = st.selectbox("Remove a document", ["", *labels], key="remove-choice")
    confirm = st.checkbox("I understand its passages leave the index", key="remove-confirm")
    if st.button("Remove", disabled=not (choice and confirm)):
        try:
            [removed] = api.remove([labels[choice]], settings=ws.settings)
        except ImrAssistError as exc:
            st.error(str(exc))
            return
        st.session_state["corpus-flash"] = (
            f"Removed {escape_md(removed.title)} ({removed.passages} passages)."
        )
        st.rerun()


def _recommendations_by_document(ws: Workspace) -> dict[str, list[Recommendation]]:
    try:
        found = api.recommendations(settings=ws.settings)
    except ImrAssistError as exc:
        st.error(str(exc))
        return {}
    by_doc: dict[str, list[Recommendation]] = {}
    for rec in found:
        by_doc.setdefault(rec.doc_id, []).append(rec)
    return by_doc


def _recommendation_lists(
    records: Sequence[DocumentRecord], recs: dict[str, list[Recommendation]]
) -> None:
    """Per guideline, an expander listing its recommendation records (or saying none was
    recognised: the guideline is then searchable as passages only)."""
    for r in records:
        if r.kind is not Kind.GUIDELINE:
            continue
        found = recs.get(r.doc_id, [])
        with st.expander(f"{r.title}: {len(found)} recommendations", expanded=False):
            if not found:
                st.caption(
                    "No recommendation statements were recognised; the guideline is searchable "
                    "as passages."
                )
                continue
            st.dataframe(
                [
                    {
                        "label": rec.label,
                        "direction": rec.direction.value,
                        "strength": rec.strength_text,
                        "interventions": "; ".join(rec.interventions),
                        "phases": ", ".join(p.value for p in rec.phases),
                        "pages": format_pages(rec.page_start, rec.page_end),
                        "statement": rec.statement,
                        "criteria": len(rec.criteria),
                        "limits": "; ".join(rec.limits),
                    }
                    for rec in found
                ],
                hide_index=True,
            )
