"""Export a review as a determination in the IMR layout: Markdown and DOCX.

    to_markdown(review, head=None) -> str      # pure
    to_docx(review, path, head=None) -> Path   # python-docx, written atomically
    export_review(ledger, review_id, "md" | "docx", out, reviewer=None) -> Path
                                               # writes the file, then records `exported`

Layout (both formats, from one `layout(review)`): title; clinical case summary (when given);
item; decision; guideline relied on; decision rationale (the final text, citation markers kept);
references with pages (every id the final text cites, resolved from the draft's citations, then
from the evidence snapshot; an id found in neither is listed as unknown); the review block
(reviewer, acceptance time, override reason, review id, settings hash, drafter, evidence count,
and the ledger's chain head at export when `head=(seq, hash)` is given: `export_review` always
gives it, so every exported file anchors the ledger, and `imr-assist ledger verify --head HASH`
later checks that the ledger still holds that event). An answer to a question exports as
question / stance / answer.

With `redact=True` (the default; `IMR_LEDGER__REDACT_EXPORTS`) the case summary, item or
question, texts and override reason pass through `drafting.redaction.redact` first: an export
is a text that leaves the process, and identifiers are never needed to read a determination.

Only accepted reviews are exported unless `allow_unaccepted=True`; such an export is titled
"DRAFT - NOT ACCEPTED" so it cannot pass for a determination.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import Field

from imr_assist.citations import extract_citation_ids
from imr_assist.drafting.redaction import redact_together
from imr_assist.errors import ExportError, ReviewError
from imr_assist.models import DraftDecision, StrictModel
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


class Section(StrictModel):
    """One heading of the exported determination."""

    heading: str = Field(description="Section heading")
    paragraphs: list[str] = Field(default_factory=list, description="Body paragraphs")
    bullets: list[str] = Field(default_factory=list, description="Bulleted lines")
    numbered: list[str] = Field(default_factory=list, description="Numbered lines")


class Layout(StrictModel):
    """The determination as a title and sections, rendered by each format."""

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


def layout(
    review: Review,
    *,
    allow_unaccepted: bool = False,
    head: tuple[int, str] | None = None,
    redact: bool = True,
) -> Layout:
    """The sections of the export; refuses a review that is not accepted unless allowed.

    `head` is the ledger's (seq, hash) at export; `redact` removes identifiers from the texts.
    """
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
    if redact:
        review = _redacted(review)
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
    if head is not None:
        block.append(f"Ledger head at export: event {head[0]}, hash {head[1]}")
    sections.append(Section(heading="Review", bullets=block))
    return Layout(title=title, sections=sections)


def to_markdown(
    review: Review,
    *,
    allow_unaccepted: bool = False,
    head: tuple[int, str] | None = None,
    redact: bool = True,
) -> str:
    """The determination as Markdown."""
    doc = layout(review, allow_unaccepted=allow_unaccepted, head=head, redact=redact)
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


def to_docx(
    review: Review,
    path: Path | str,
    *,
    allow_unaccepted: bool = False,
    head: tuple[int, str] | None = None,
    redact: bool = True,
) -> Path:
    """The determination as a Word document at `path` (replaced atomically)."""
    import docx

    doc_layout = layout(review, allow_unaccepted=allow_unaccepted, head=head, redact=redact)
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
    redact: bool = True,
) -> Path:
    """Write the review to `out` as 'md' or 'docx', then record an `exported` event.

    `reviewer` is who exports; default: the reviewer who accepted (or last acted on) it. The
    file carries the ledger's chain head at the time of export.
    """
    if fmt not in FORMATS:
        raise ReviewError(f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}.")
    review = ledger.review(review_id)
    head = ledger.head()
    target = Path(out)
    if fmt == "md":
        text = to_markdown(review, allow_unaccepted=allow_unaccepted, head=head, redact=redact)
        _atomic(target, lambda p: Path(p).write_text(text, encoding="utf-8"))
    else:
        to_docx(review, target, allow_unaccepted=allow_unaccepted, head=head, redact=redact)
    ledger.exported(review_id, fmt, reviewer or review.reviewer)
    return target


def _redacted(review: Review) -> Review:
    """The review with identifiers removed from every free text an export prints, together: a
    name found in the case summary is removed from the rationale too."""
    fields = ("case_summary", "item", "final_text", "override_reason", "reject_reason")
    texts = [getattr(review, f) or "" for f in fields]
    clean = redact_together(texts)
    return review.model_copy(
        update={
            f: (c if getattr(review, f) is not None else None)
            for f, c in zip(fields, clean, strict=True)
        }
    )


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
