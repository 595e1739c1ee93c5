"""The accept gate and the checks on what a reviewer records (pure: no I/O).

`accept_blockers` says which sentences block Accept, `summarize` is what the ledger keeps of a
verification report, `text_diff` shows generated -> final one sentence a line. The private
helpers check reviewer names, required texts, and that a report is of the text being recorded.
"""

from __future__ import annotations

import difflib

from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.errors import ReviewError
from imr_assist.models import SentenceCheck, Verdict, VerificationReport
from imr_assist.review.ledger.models import VerificationSummary
from imr_assist.text.sentences import cited_sentences, split_paragraphs
from imr_assist.verification.verify import CONTRADICTS_DECISION


def accept_blockers(report: VerificationReport) -> list[str]:
    """One readable line per sentence that blocks Accept unless overridden with a reason:
    unsupported, an uncited factual claim, or citing unknown ids.

    Fabricated ids that no sentence accounts for get a line of their own. A text that
    contradicts its decision is not here: see `decision_blockers`, which no override lifts.
    """
    lines: list[str] = []
    named: set[str] = set()
    for n, check in enumerate(report.sentences, 1):
        if check.unknown_ids:
            named.update(check.unknown_ids)
            ids = ", ".join(f"[{i}]" for i in check.unknown_ids)
            noun = "id" if len(check.unknown_ids) == 1 else "ids"
            lines.append(f"Sentence {n} cites unknown {noun} {ids}: {_quote(check.text)}")
        elif check.verdict is Verdict.UNSUPPORTED:
            if _only_contradicts(check, report):
                continue  # decision_blockers names it, and no override lifts it
            notes = [x for x in check.notes if not x.startswith("lexical scoring only")]
            why = "; ".join(notes) or f"support score {check.score:.2f}"
            lines.append(f"Sentence {n} is unsupported ({why}): {_quote(check.text)}")
        elif check.verdict is Verdict.UNCITED:
            lines.append(
                f"Sentence {n} is a factual claim without a citation: {_quote(check.text)}"
            )
    for pid in report.fabricated_ids:
        if pid not in named:
            lines.append(f"The draft cites unknown id [{pid}]")
    return lines


def _only_contradicts(check: SentenceCheck, report: VerificationReport) -> bool:
    """An uncited conclusion unsupported only because it contradicts the decision."""
    return (
        bool(report.decision_conflicts)
        and not check.citation_ids
        and any(n.startswith(CONTRADICTS_DECISION) for n in check.notes)
    )


def decision_blockers(report: VerificationReport) -> list[str]:
    """Where the decision and the text's conclusion disagree (`verify_draft` reads them): Accept
    is refused while any is left, and no override reason lifts it, so an accepted, exported
    letter never contradicts itself."""
    return list(report.decision_conflicts)


def _quote(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= limit else text[: limit - 1] + "…"}"'


def summarize(report: VerificationReport) -> VerificationSummary:
    """Counts and blockers of a verification report, as recorded in the ledger."""
    return VerificationSummary(
        supported=report.supported,
        weak=report.weak,
        unsupported=report.unsupported,
        uncited=report.uncited,
        fabricated_ids=list(report.fabricated_ids),
        blockers=accept_blockers(report),
        decision=report.decision,
        decision_conflicts=decision_blockers(report),
    )


def text_diff(generated: str, final: str) -> str:
    """Readable unified diff, one sentence a line ('' when the texts are the same)."""
    if " ".join(generated.split()) == " ".join(final.split()):
        return ""
    lines = difflib.unified_diff(
        _lines(generated), _lines(final), "generated", "final", lineterm="", n=1
    )
    return "\n".join(lines)


def _lines(text: str) -> list[str]:
    """Cited sentences a line, paragraphs apart (a blank line between them)."""
    out: list[str] = []
    for paragraph in split_paragraphs(text):
        if out:
            out.append("")
        out.extend(cited_sentences(paragraph))
    return out


def _report_of(draft: Answer | DeterminationDraft) -> VerificationReport:
    checks = draft.sentences
    return VerificationReport.of(checks, draft.fabricated_ids)


def _same_text(text: str, report: VerificationReport) -> bool:
    verified = "".join("".join(s.text.split()) for s in report.sentences)
    return "".join(text.split()) == verified


def _name(reviewer: str) -> str:
    return _required(
        reviewer, "A reviewer name is required; set it in the sidebar or pass --reviewer."
    )


def _required(value: str | None, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ReviewError(message)
    return value


def _check_report(text: str, report: VerificationReport) -> None:
    if not _same_text(text, report):
        raise ReviewError(
            "The verification report is for another text; verify the text being recorded "
            "(verification.verify(text, evidence)) and pass that report."
        )
