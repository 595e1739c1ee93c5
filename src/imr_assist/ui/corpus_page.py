"""Corpus: upload documents, ingest them with a progress bar, list and remove documents.

One click of Ingest sends the files in the uploader once: afterwards the uploader is emptied and
the page reruns, so the results, the document list and the sidebar's counts are those after the
ingest. Messages name each file as it was uploaded; an upload that failed leaves the folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import streamlit as st

from imr_assist import api
from imr_assist.citations import format_pages
from imr_assist.errors import ImrAssistError
from imr_assist.ingest.pipeline import FileProgress
from imr_assist.ingest.progress import JobListener, JobProgress
from imr_assist.ingest.reader import KIND_CHOICES
from imr_assist.ingest.uploads import (
    ALLOWED_UPLOAD_TYPES,
    UploadNames,
    discard_failed,
    max_upload_bytes,
    save_upload,
)
from imr_assist.models import DocumentRecord, IngestReport, Kind, Tier
from imr_assist.reasoning.models import Recommendation
from imr_assist.ui.labels import label
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
    for level, text in st.session_state.pop("corpus-results", []):
        {"error": st.error, "warning": st.warning, "success": st.success}[level](text)
    st.divider()
    _documents(ws)


def _upload(ws: Workspace) -> None:
    st.subheader("Add documents")
    limit_mb = ws.settings.ingest.max_file_mb
    st.caption(
        f"PDF, text, Markdown, determination letters, DMHC CSV or BEIR corpus.jsonl; up to "
        f"{limit_mb:g} MB each. Licensed guidelines stay on this machine."
    )
    # a new key after each ingest empties the uploader: a file is sent once per click
    files = st.file_uploader(
        "Files",
        type=list(ALLOWED_UPLOAD_TYPES),
        accept_multiple_files=True,
        key=f"uploads-{st.session_state.get('uploads-round', 0)}",
    )
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox(
        "Kind",
        KIND_CHOICES,
        format_func=lambda k: "Detect" if k == "auto" else label(k),
        help="Detect recognises determination letters",
    )
    tier = c2.selectbox(
        "Authority tier",
        ["(detect)", *(t.value for t in Tier)],
        format_func=lambda t: "Detect" if t == "(detect)" else label(Tier(t)),
    )
    guideline = c3.text_input("Guideline short name (optional)")
    if not st.button("Ingest", type="primary", disabled=not files):
        return
    bar = st.progress(0.0, text="Starting…")

    def progress(event: JobProgress) -> None:
        bar.progress(event.fraction, text=escape_md(event.describe()))

    report, problems = ingest_uploads(
        ws,
        [(f.name, f.getvalue()) for f in files or []],
        kind=kind,
        tier=None if tier == "(detect)" else tier,
        guideline=guideline.strip() or None,
        job_progress=progress,
    )
    bar.empty()
    results: list[tuple[Literal["error", "warning", "success"], str]] = [
        ("error", escape_md(p)) for p in problems
    ]
    for r in report.files if report is not None else []:
        results.append(("error" if r.status == "failed" else "success", escape_md(r.message)))
        for w in r.warnings:
            shown = w if w.startswith(f"{r.path}:") else f"{r.path}: {w}"
            results.append(("warning", escape_md(shown)))
    if report is not None and tier == "(detect)":
        results += [("warning", escape_md(line)) for line in detected_mtus(ws, report)]
    st.session_state["corpus-results"] = results
    st.session_state["uploads-round"] = st.session_state.get("uploads-round", 0) + 1
    st.rerun()  # the sidebar's counts, the document list and an empty uploader


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
                    f"{r.path}: detected as the official MTUS (DWC) text, so it "
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
    job_progress: JobListener | None = None,
) -> tuple[IngestReport | None, list[str]]:
    """Check and save each upload under IMR_HOME/uploads, then ingest the good ones.

    Returns the ingest report (None when nothing could be ingested) and one message per upload
    refused before ingest (type, size, name); a refused upload never stops the others. The
    report names each file as uploaded (`path` too); an upload that failed and that the index
    does not hold is removed from the folder."""
    folder = upload_dir(ws)
    saved: dict[Path, str] = {}
    problems: list[str] = []
    for name, data in uploads:
        try:
            path = save_upload(name, data, folder, max_bytes=max_upload_bytes(ws.settings))
        except ImrAssistError as exc:
            problems.append(str(exc))
            continue
        saved.setdefault(path, name)  # the same file twice in one click is ingested once
    if not saved:
        return None, problems
    names = UploadNames(folder, saved)

    def stored(path: Path) -> bool:
        return bool(ws.index.records_for_file(str(path.resolve())))

    try:
        report = api.ingest(
            list(saved),
            settings=ws.settings,
            kind=kind,
            tier=tier,
            guideline=guideline,
            progress=progress,
            job_progress=job_progress,
            names=names.name,
        )
        ws.retriever.sync()
    except ImrAssistError as exc:
        discard_failed(list(saved), stored)
        return None, [*problems, names.text(str(exc))]
    discard_failed([Path(r.path) for r in report.failed], stored)
    return names.report(report), problems


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
                "Title": r.title,
                "Kind": label(r.kind),
                "Authority tier": label(r.tier),
                "Guideline": r.guideline or "",
                "Passages": r.passages,
                "Recommendations": len(recs.get(r.doc_id, [])),
                "Flagged passages": r.flagged,
                "File": r.source_path,
                "Ingested": r.ingested_at[:19].replace("T", " "),
                "Document id": r.doc_id,
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
                        "Recommendation": rec.label,
                        "Direction": label(rec.direction),
                        "Strength": rec.strength_text,
                        "Interventions": "; ".join(rec.interventions),
                        "Phases": ", ".join(label(p) for p in rec.phases),
                        "Pages": format_pages(rec.page_start, rec.page_end),
                        "Statement": rec.statement,
                        "Criteria": len(rec.criteria),
                        "Limits": "; ".join(rec.limits),
                    }
                    for rec in found
                ],
                hide_index=True,
            )
