"""Export a review as a determination in the IMR layout: Markdown and DOCX.

    to_markdown(review) -> str                 # pure
    to_docx(review, path) -> Path              # python-docx, written atomically
    export_review(ledger, review_id, "md" | "docx", out, reviewer=None) -> Path
                                               # writes the file, then records `exported`

Layout (both formats, from one `layout(review)`): title; clinical case summary (when given);
item; decision; guideline relied on; decision rationale (the final text, citation markers kept);
references with pages (every id the final text cites, resolved from the draft's citations, then
from the evidence snapshot; an id found in neither is listed as unknown); the review block
(reviewer, acceptance time, override reason, review id, settings hash, drafter, evidence count).
An answer to a question exports as question / stance / answer.

Only accepted reviews are exported unless `allow_unaccepted=True`; such an export is titled
"DRAFT - NOT ACCEPTED" so it cannot pass for a determination.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from imr_assist.citations import extract_citation_ids
from imr_assist.errors import ExportError, ReviewError
from imr_assist.models import DraftDecision
from imr_assist.review.ledger import Ledger, Review, ReviewStatus

FORMATS = ("md", "docx")


_DECISIONS = {
    DraftDecision.NOT_MEDICALLY_NECESSARY: "Upheld: the request is not medically necessary.",
    DraftDecision.MEDICALLY_NECESSARY: "Overturned: the request is medically necessary.",
    DraftDecision.INSUFFICIENT_INFORMATION: (
        "No decision drafted: the loaded guidelines do not address the item (insufficient "
        "information)."
    ),
}


class Section(BaseModel):
    """One heading of the exported determination."""

    model_config = ConfigDict(extra="forbid")
    heading: str = Field(description="Section heading")
    paragraphs: list[str] = Field(default_factory=list, description="Body paragraphs")
    bullets: list[str] = Field(default_factory=list, description="Bulleted lines")
    numbered: list[str] = Field(default_factory=list, description="Numbered lines")


class Layout(BaseModel):
    """The determination as a title and sections, rendered by each format."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(description="Document title")
    sections: list[Section] = Field(description="Sections in letter order")


def references(review: Review) -> list[str]:
    """'[id] citation with pages' for every id the final text cites, in order of citation."""
    resolved = {c.id: c for c in review.citations}
    snapshot = {e.id: e for e in review.evidence}
    out: list[str] = []
    for pid in extract_citation_ids(review.final_text):
        if pid in resolved:
            c = resolved[pid]
            out.append(f"[{pid}] {c.citation}. {c.source_title}.")
        elif pid in snapshot:
            out.append(f"[{pid}] {snapshot[pid].citation}.")
        else:
            out.append(f"[{pid}] Unknown id: not in the evidence this draft was made from.")
    return out


def layout(review: Review, *, allow_unaccepted: bool = False) -> Layout:
    """The sections of the export; refuses a review that is not accepted unless allowed."""
    accepted = review.status is ReviewStatus.ACCEPTED
    if not accepted and not allow_unaccepted:
        raise ReviewError(
            f"Review {review.review_id} is {review.status.value}, not accepted: only accepted "
            "reviews are exported. Accept it first, or export it as a marked draft "
            "(allow_unaccepted / --unaccepted)."
        )
    title = (
        "Independent Medical Review: Final Determination"
        if review.kind == "draft"
        else "Reviewer question: cited answer"
    )
    if not accepted:
        title = f"DRAFT - NOT ACCEPTED ({review.status.value}): {title}"
    sections: list[Section] = []
    if review.case_summary:
        sections.append(Section(heading="Clinical case summary", paragraphs=[review.case_summary]))
    if review.kind == "ask":
        stance = review.stance.value.replace("_", " ").capitalize() + "."
        sections += [
            Section(heading="Question", paragraphs=[review.item]),
            Section(heading="Stance of the governing evidence", paragraphs=[stance]),
            Section(heading="Answer", paragraphs=_paragraphs(review.final_text)),
        ]
    else:
        decision = _DECISIONS[review.decision] if review.decision else "No decision drafted."
        relied = [f"Decision based on {line.rstrip('.')}." for line in review.guideline_relied_on]
        sections += [
            Section(heading="Item", paragraphs=[review.item]),
            Section(heading="Decision", paragraphs=[decision]),
            Section(
                heading="Guideline relied on",
                bullets=relied or ["No guideline relied on was recorded."],
            ),
            Section(heading="Decision rationale", paragraphs=_paragraphs(review.final_text)),
        ]
    refs = references(review)
    sections.append(
        Section(
            heading="References",
            numbered=refs,
            paragraphs=[] if refs else ["The text cites no passage."],
        )
    )
    when = review.decided_at if accepted else None
    block = [
        f"Reviewer: {review.reviewer}",
        f"Accepted: {when}" if when else f"Status: {review.status.value} (not accepted)",
    ]
    if review.override_reason:
        block.append(f"Accepted over verification findings; reason: {review.override_reason}")
    block += [
        f"Review id: {review.review_id}",
        f"Settings hash: {review.settings_hash}",
        f"Drafted by: {review.drafter}",
        f"Evidence snapshot: {len(review.evidence)} passages (ids and text hashes in the ledger)",
    ]
    sections.append(Section(heading="Review", bullets=block))
    return Layout(title=title, sections=sections)


def to_markdown(review: Review, *, allow_unaccepted: bool = False) -> str:
    """The determination as Markdown."""
    doc = layout(review, allow_unaccepted=allow_unaccepted)
    lines = [f"# {doc.title}", ""]
    for s in doc.sections:
        lines += [f"## {s.heading}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        if s.bullets:
            lines += [f"- {b}" for b in s.bullets] + [""]
        if s.numbered:
            lines += [f"{n}. {b}" for n, b in enumerate(s.numbered, 1)] + [""]
    return "\n".join(lines).rstrip() + "\n"


def to_docx(review: Review, path: Path | str, *, allow_unaccepted: bool = False) -> Path:
    """The determination as a Word document at `path` (replaced atomically)."""
    import docx

    doc_layout = layout(review, allow_unaccepted=allow_unaccepted)
    document = docx.Document()
    document.core_properties.title = doc_layout.title
    document.core_properties.author = review.reviewer
    document.add_heading(doc_layout.title, level=0)
    for s in doc_layout.sections:
        document.add_heading(s.heading, level=1)
        for p in s.paragraphs:
            document.add_paragraph(p)
        for b in s.bullets:
            document.add_paragraph(b, style="List Bullet")
        for b in s.numbered:
            document.add_paragraph(b, style="List Number")
    target = Path(path)
    _atomic(target, document.save)
    return target


def export_review(
    ledger: Ledger,
    review_id: str,
    fmt: str,
    out: Path | str,
    *,
    reviewer: str | None = None,
    allow_unaccepted: bool = False,
) -> Path:
    """Write the review to `out` as 'md' or 'docx', then record an `exported` event.

    `reviewer` is who exports; default: the reviewer who accepted (or last acted on) it.
    """
    if fmt not in FORMATS:
        raise ReviewError(f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}.")
    review = ledger.review(review_id)
    target = Path(out)
    if fmt == "md":
        text = to_markdown(review, allow_unaccepted=allow_unaccepted)
        _atomic(target, lambda p: Path(p).write_text(text, encoding="utf-8"))
    else:
        to_docx(review, target, allow_unaccepted=allow_unaccepted)
    ledger.exported(review_id, fmt, reviewer or review.reviewer)
    return target


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def _atomic(target: Path, write: Callable[[str], object]) -> None:
    """Write through a temporary file in the same folder, then rename over the target."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        try:
            write(tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise ExportError(f"Cannot write {target} ({exc}); choose another --out path.") from exc
