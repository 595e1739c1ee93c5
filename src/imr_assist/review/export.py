"""Export reviews as a determination letter in the IMR layout: Markdown and DOCX.

    to_markdown(review, head=None) -> str      # pure
    to_docx(review, path, head=None) -> Path   # python-docx, written atomically
    export_review(ledger, review_id, "md" | "docx", out, reviewer=None) -> Path
                                               # writes the file, then records `exported`
    letter_to_markdown(reviews, head=None) / letter_to_docx(reviews, path, head=None)
    export_letter(ledger, review_ids, "md" | "docx", out, reviewer=None) -> Path
                                               # ONE letter of several items (1-6 in practice)

A letter is built from what was accepted, never from the draft: the accepted decision (the one
the accepted text was verified against, see `review.ledger.fold`), the accepted text, and only
the citations still present in it. In the text each citation marker becomes the letter's
reference style, "(MTUS ACOEM, Chapter 12, pp. 287-289)": guideline, section or recommendation,
pages; a run of markers becomes one parenthesis, placed before the sentence's full stop. An id
that resolves to no evidence stays visible ("(unknown source ffffffffffff)"), never stripped.
"Guideline relied on" lists only guidelines the accepted text still cites (the drafted
"Decision based on ..." line when one names that citation, else one built from it; prior
determinations are precedent, not guidelines relied on).

Layout of one item (from one `layout(review)`): title; clinical case summary (when given); item;
decision; guideline relied on; decision rationale; references (optional, `references=True` by
default: every source the accepted text cites, in order of citation); the review block
(reviewer, acceptance time, override reason, review id, settings hash, drafter, evidence count,
and the ledger's chain head at export when `head=(seq, hash)` is given: `export_review` always
gives it, so every exported file anchors the ledger, and `imr-assist ledger verify --head HASH`
later checks that the ledger still holds that event). An answer to a question exports as
question / stance / answer. A letter of several items (`letter_layout`) follows the real
letters (../shared/seeds/): clinical case summary, "IMR issues, decisions and rationales", then
per item "Item N: <item>: Upheld" (or Overturned; the letters' "<item>: Upheld" header), the
decision in words, the guidelines relied on and the decision rationale, labelled as the letters
label them (the determination parser reads the letter back); then the references of all items
and one review block per item.

With `redact=True` (the default; `IMR_LEDGER__REDACT_EXPORTS`) the case summary, item or
question, texts and override reason pass through `drafting.redaction.redact` first: an export
is a text that leaves the process, and identifiers are never needed to read a determination.

Only accepted reviews are exported unless `allow_unaccepted=True`; such an export is titled
"DRAFT - NOT ACCEPTED" so it cannot pass for a determination.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import Field

from imr_assist.citations import CITATION_RE, extract_citation_ids
from imr_assist.drafting.redaction import redact_together
from imr_assist.errors import ExportError, ReviewError
from imr_assist.models import DraftDecision, ResolvedCitation, StrictModel, Tier
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


_LETTER_TOKEN = {
    DraftDecision.NOT_MEDICALLY_NECESSARY: "Upheld",
    DraftDecision.MEDICALLY_NECESSARY: "Overturned",
}
_RELIED_LABEL = "Medical Treatment Guideline(s) Relied Upon by the Expert Reviewer:"
_SET_FORTH = (
    "The Final Determination was based on decisions for the disputed items/services set forth "
    "below:"
)


class Section(StrictModel):
    """One heading of the exported determination."""

    heading: str = Field(description="Section heading")
    level: int = Field(default=1, description="1: a section; 2: an item within a section")
    paragraphs: list[str] = Field(default_factory=list, description="Body paragraphs")
    bullets: list[str] = Field(default_factory=list, description="Bulleted lines")
    numbered: list[str] = Field(default_factory=list, description="Numbered lines")


class Layout(StrictModel):
    """The determination as a title and sections, rendered by each format."""

    title: str = Field(description="Document title")
    sections: list[Section] = Field(description="Sections in letter order")


def references(review: Review) -> list[str]:
    """'citation with pages. Title.' for every source the accepted text cites, in order of
    citation (resolved from the draft's citations, then from the evidence snapshot; an id found
    in neither is listed as an unknown source)."""
    return [_reference(review, pid) for pid in extract_citation_ids(review.final_text)]


def _reference(review: Review, pid: str) -> str:
    resolved = {c.id: c for c in review.citations}
    snapshot = {e.id: e for e in review.evidence}
    if pid in resolved:
        c = resolved[pid]
        return f"{c.citation}. {c.source_title}."
    if pid in snapshot:
        return f"{snapshot[pid].citation}."
    return f"Unknown source {pid}: not in the evidence this draft was made from."


def _in_text(review: Review, pid: str) -> str:
    resolved = {c.id: c for c in review.citations}
    snapshot = {e.id: e for e in review.evidence}
    if pid in resolved:
        return resolved[pid].citation
    if pid in snapshot:
        return snapshot[pid].citation
    return f"unknown source {pid}"


_MARKERS_RE = re.compile(
    r"(?P<stop>[.!?])?(?P<quote>[\"”']?)[ \t]*(?P<ids>(?:\[[0-9a-f]{12}\][ \t]*)+)"
)


def letter_text(review: Review, text: str | None = None) -> str:
    """`text` (default: the review's final text) with its citation markers in the letter's
    reference style: "... can be useful (MTUS ACOEM, pp. 287-289)." A run of markers becomes
    one parenthesis before the sentence's full stop; unknown ids stay visible."""
    text = review.final_text if text is None else text

    def cite(m: re.Match[str]) -> str:
        ids = list(dict.fromkeys(CITATION_RE.findall(m.group("ids"))))
        refs = "; ".join(_in_text(review, pid) for pid in ids)
        tail = m.group("ids")[len(m.group("ids").rstrip()) :]
        stop = m.group("stop") or ""
        return f"{m.group('quote')} ({refs}){stop}{' ' if tail else ''}"

    out = _MARKERS_RE.sub(cite, text)
    return re.sub(r"[ \t]+\n", "\n", out).rstrip()


def cited_citations(review: Review) -> list[ResolvedCitation]:
    """The drafted citations the accepted text still cites, in order of citation."""
    resolved = {c.id: c for c in review.citations}
    return [resolved[pid] for pid in extract_citation_ids(review.final_text) if pid in resolved]


def relied_on(review: Review) -> list[str]:
    """'Decision based on ...' lines for the guidelines the accepted text still cites."""
    lines: list[str] = []
    for c in cited_citations(review):
        if c.tier is Tier.PRIOR_DETERMINATION:
            continue
        line = next((x for x in review.guideline_relied_on if _names(x, c)), None)
        line = line or _relied_line(c)
        lines.append(f"Decision based on {line.rstrip('.')}.")
    return list(dict.fromkeys(lines))


def _names(line: str, c: ResolvedCitation) -> bool:
    """Does a drafted 'Decision based on' line name this citation (guideline and pages)?"""
    name = c.guideline or c.source_title
    pages = c.page_start if c.page_end in ("", c.page_start) else f"{c.page_start}-{c.page_end}"
    return name in line and (not pages or f"Page(s): {pages}" in line)


def _relied_line(c: ResolvedCitation) -> str:
    name = c.guideline or c.source_title
    head = (
        (name if name.upper().startswith("MTUS") else f"MTUS {name}")
        if c.tier is Tier.MTUS
        else f"Non-MTUS Citation {name}"
    )
    if c.recommendation:
        head += f", Recommendation {c.recommendation}"
    elif c.section:
        head += f", {c.section}"
    pages = c.page_start if c.page_end in ("", c.page_start) else f"{c.page_start}-{c.page_end}"
    return f"{head} Page(s): {pages}" if pages else head


def layout(
    review: Review,
    *,
    allow_unaccepted: bool = False,
    head: tuple[int, str] | None = None,
    redact: bool = True,
    with_references: bool = True,
) -> Layout:
    """The sections of the export; refuses a review that is not accepted unless allowed.

    `head` is the ledger's (seq, hash) at export; `redact` removes identifiers from the texts;
    `with_references` adds the references list at the end.
    """
    _check_accepted(review, allow_unaccepted)
    accepted = review.status is ReviewStatus.ACCEPTED
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
            Section(heading="Answer", paragraphs=_paragraphs(letter_text(review))),
        ]
    else:
        sections += [
            Section(heading="Item", paragraphs=[review.item]),
            Section(heading="Decision", paragraphs=[_decision_words(review)]),
            Section(heading="Guideline relied on", bullets=_relied_bullets(review)),
            Section(heading="Decision rationale", paragraphs=_paragraphs(letter_text(review))),
        ]
    if with_references:
        sections.append(_references_section(references(review)))
    block = _review_block(review)
    if head is not None:
        block.append(f"Ledger head at export: event {head[0]}, hash {head[1]}")
    sections.append(Section(heading="Review", bullets=block))
    return Layout(title=title, sections=sections)


def letter_layout(
    reviews: Sequence[Review],
    *,
    allow_unaccepted: bool = False,
    head: tuple[int, str] | None = None,
    redact: bool = True,
    with_references: bool = True,
) -> Layout:
    """ONE letter for a determination of several items (one review each, in letter order):
    case summary, then per item its decision and rationale, then the references of all items
    and a review block per item. Every review must be accepted unless allowed."""
    if not reviews:
        raise ReviewError("A letter needs at least one item; draft and accept an item first.")
    for review in reviews:
        _check_accepted(review, allow_unaccepted)
        if review.kind != "draft":
            raise ReviewError(
                f"Review {review.review_id} answers a question, not a disputed item: only "
                "drafted determinations go into a letter."
            )
    accepted = all(r.status is ReviewStatus.ACCEPTED for r in reviews)
    title = "Independent Medical Review: Final Determination"
    if not accepted:
        title = f"DRAFT - NOT ACCEPTED: {title}"
    items = [_redacted(r) if redact else r for r in reviews]
    summary = next((r.case_summary for r in items if r.case_summary), "")
    sections: list[Section] = []
    if summary:
        sections.append(Section(heading="Clinical case summary", paragraphs=[summary]))
    issues = Section(heading="IMR issues, decisions and rationales", paragraphs=[_SET_FORTH])
    sections.append(issues)
    refs: list[str] = []
    for n, review in enumerate(items, 1):
        token = _LETTER_TOKEN.get(review.decision) if review.decision else None
        relied = _relied_bullets(review)
        sections.append(
            Section(
                heading=f"Item {n}: {review.item}" + (f": {token}" if token else ""),
                level=2,
                paragraphs=[
                    _decision_words(review),
                    f"{_RELIED_LABEL} {' '.join(relied)}",
                    *_rationale(letter_text(review)),
                ],
            )
        )
        refs += references(review)
    if with_references:
        sections.append(_references_section(list(dict.fromkeys(refs))))
    block: list[str] = []
    for n, review in enumerate(items, 1):
        block += [f"Item {n}: {line}" for line in _review_block(review)]
    if head is not None:
        block.append(f"Ledger head at export: event {head[0]}, hash {head[1]}")
    sections.append(Section(heading="Review", bullets=block))
    return Layout(title=title, sections=sections)


def _check_accepted(review: Review, allow_unaccepted: bool) -> None:
    if review.status is not ReviewStatus.ACCEPTED and not allow_unaccepted:
        raise ReviewError(
            f"Review {review.review_id} is {review.status.value}, not accepted: only accepted "
            "reviews are exported. Accept it first, or export it as a marked draft "
            "(allow_unaccepted / --unaccepted)."
        )


def _decision_words(review: Review) -> str:
    return _DECISIONS[review.decision] if review.decision else "No decision drafted."


def _relied_bullets(review: Review) -> list[str]:
    return relied_on(review) or ["No guideline is cited in the accepted text."]


def _rationale(text: str) -> list[str]:
    paragraphs = _paragraphs(text) or [""]
    return [f"Decision rationale: {paragraphs[0]}".rstrip(), *paragraphs[1:]]


def _references_section(refs: list[str]) -> Section:
    return Section(
        heading="References",
        numbered=refs,
        paragraphs=[] if refs else ["The text cites no passage."],
    )


def _review_block(review: Review) -> list[str]:
    when = review.decided_at if review.status is ReviewStatus.ACCEPTED else None
    block = [
        f"Reviewer: {review.reviewer}",
        f"Accepted: {when}" if when else f"Status: {review.status.value} (not accepted)",
    ]
    if review.override_reason:
        block.append(f"Accepted over verification findings; reason: {review.override_reason}")
    return [
        *block,
        f"Review id: {review.review_id}",
        f"Settings hash: {review.settings_hash}",
        f"Drafted by: {review.drafter}",
        f"Evidence snapshot: {len(review.evidence)} passages (ids and text hashes in the ledger)",
    ]


def render_markdown(doc: Layout) -> str:
    """A layout as Markdown."""
    lines = [f"# {doc.title}", ""]
    for s in doc.sections:
        lines += [f"{'#' * (s.level + 1)} {s.heading}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        if s.bullets:
            lines += [f"- {b}" for b in s.bullets] + [""]
        if s.numbered:
            lines += [f"{n}. {b}" for n, b in enumerate(s.numbered, 1)] + [""]
    return "\n".join(lines).rstrip() + "\n"


def render_docx(doc_layout: Layout, path: Path | str, author: str) -> Path:
    """A layout as a Word document at `path` (replaced atomically)."""
    import docx

    document = docx.Document()
    document.core_properties.title = doc_layout.title
    document.core_properties.author = author
    document.add_heading(doc_layout.title, level=0)
    for s in doc_layout.sections:
        document.add_heading(s.heading, level=s.level)
        for p in s.paragraphs:
            document.add_paragraph(p)
        for b in s.bullets:
            document.add_paragraph(b, style="List Bullet")
        for b in s.numbered:
            document.add_paragraph(b, style="List Number")
    target = Path(path)
    _atomic(target, document.save)
    return target


def to_markdown(
    review: Review,
    *,
    allow_unaccepted: bool = False,
    head: tuple[int, str] | None = None,
    redact: bool = True,
    with_references: bool = True,
) -> str:
    """The determination as Markdown."""
    return render_markdown(
        layout(
            review,
            allow_unaccepted=allow_unaccepted,
            head=head,
            redact=redact,
            with_references=with_references,
        )
    )


def to_docx(
    review: Review,
    path: Path | str,
    *,
    allow_unaccepted: bool = False,
    head: tuple[int, str] | None = None,
    redact: bool = True,
    with_references: bool = True,
) -> Path:
    """The determination as a Word document at `path` (replaced atomically)."""
    doc = layout(
        review,
        allow_unaccepted=allow_unaccepted,
        head=head,
        redact=redact,
        with_references=with_references,
    )
    return render_docx(doc, path, review.reviewer)


def letter_to_markdown(
    reviews: Sequence[Review],
    *,
    allow_unaccepted: bool = False,
    head: tuple[int, str] | None = None,
    redact: bool = True,
    with_references: bool = True,
) -> str:
    """The letter of several items as Markdown."""
    return render_markdown(
        letter_layout(
            reviews,
            allow_unaccepted=allow_unaccepted,
            head=head,
            redact=redact,
            with_references=with_references,
        )
    )


def letter_to_docx(
    reviews: Sequence[Review],
    path: Path | str,
    *,
    allow_unaccepted: bool = False,
    head: tuple[int, str] | None = None,
    redact: bool = True,
    with_references: bool = True,
) -> Path:
    """The letter of several items as a Word document at `path` (replaced atomically)."""
    doc = letter_layout(
        reviews,
        allow_unaccepted=allow_unaccepted,
        head=head,
        redact=redact,
        with_references=with_references,
    )
    authors = ", ".join(dict.fromkeys(r.reviewer for r in reviews))
    return render_docx(doc, path, authors)


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
    return export_letter(
        ledger,
        [review_id],
        fmt,
        out,
        reviewer=reviewer,
        allow_unaccepted=allow_unaccepted,
        redact=redact,
        single=True,
    )


def export_letter(
    ledger: Ledger,
    review_ids: Sequence[str],
    fmt: str,
    out: Path | str,
    *,
    reviewer: str | None = None,
    allow_unaccepted: bool = False,
    redact: bool = True,
    single: bool = False,
) -> Path:
    """Write ONE letter of the reviews' items to `out` as 'md' or 'docx', then record an
    `exported` event on each review (`single=True`: the one-item layout of `layout`)."""
    if fmt not in FORMATS:
        raise ReviewError(f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}.")
    reviews = [ledger.review(rid) for rid in review_ids]
    head = ledger.head()
    target = Path(out)
    opts = {"allow_unaccepted": allow_unaccepted, "head": head, "redact": redact}
    if single:
        [review] = reviews
        if fmt == "md":
            text = to_markdown(review, **opts)  # type: ignore[arg-type]
            _atomic(target, lambda p: Path(p).write_text(text, encoding="utf-8"))
        else:
            to_docx(review, target, **opts)  # type: ignore[arg-type]
    elif fmt == "md":
        text = letter_to_markdown(reviews, **opts)  # type: ignore[arg-type]
        _atomic(target, lambda p: Path(p).write_text(text, encoding="utf-8"))
    else:
        letter_to_docx(reviews, target, **opts)  # type: ignore[arg-type]
    for review in reviews:
        ledger.exported(review.review_id, fmt, reviewer or review.reviewer)
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
