"""`imr-assist eval drafting`: run labelled cases through the drafting chain and score them.

Each case goes through the library chain (`api.ask` for kind ask, `api.draft` for kind draft)
with the settings given, so the offline composer is evaluated unless an LLM is configured. The
outputs are reduced to `CaseResult`s and scored by the pure functions of `drafting_metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.errors import EvaluationDataError
from imr_assist.evaluation.drafting import metrics as M
from imr_assist.evaluation.drafting.models import CaseResult, DraftingCase, DraftingSummary
from imr_assist.evaluation.split import SPLITS, keep
from imr_assist.evaluation.trec import read_jsonl_models
from imr_assist.ingest.pipeline import FileProgress
from imr_assist.models import DraftDecision, Stance, Verdict
from imr_assist.settings import Settings

CaseRunner = Callable[[DraftingCase], Answer | DeterminationDraft]
"""Runs one case through a drafting chain."""
CaseProgress = Callable[[str, int, int], None]
"""(name, cases done, cases total)."""

STANCES = [s.value for s in Stance]
DECISIONS = [d.value for d in DraftDecision]


def read_cases(path: Path) -> list[DraftingCase]:
    """Cases from a JSONL file; a bad line is an error naming the file, line and problem."""
    return read_jsonl_models(
        path,
        DraftingCase,
        '{"qid", "kind": "ask", "query", "expected_stance"} or '
        '{"qid", "kind": "draft", "request", "summary", "expected_decision"}, '
        'optional "answerable", "notes"',
        "cases",
    )


def case_result(
    case: DraftingCase, out: Answer | DeterminationDraft, seconds: float = 0.0
) -> CaseResult:
    """Reduce the chain's output on a case to what the metrics need."""
    predicted = out.stance.value if isinstance(out, Answer) else out.decision.value
    text = out.text
    cited = list(dict.fromkeys(i for s in out.sentences for i in s.citation_ids))
    with_ids = [s for s in out.sentences if s.citation_ids]
    known = set(out.evidence_ids)
    problems = [f"id {i} is not in the evidence" for i in cited if i not in known]
    problems += [
        f"unsupported ({'; '.join(s.notes) or f'score {s.score:.2f}'}): {s.text[:160]}"
        for s in with_ids
        if s.verdict is Verdict.UNSUPPORTED
    ]
    return CaseResult(
        qid=case.qid,
        kind=case.kind,
        text=case.text,
        expected=case.expected_label,
        predicted=predicted,
        answerable=bool(case.answerable),
        abstained=out.abstained,
        cited_ids=cited,
        evidence_ids=list(out.evidence_ids),
        cited_sentences=len(with_ids),
        supported=sum(s.verdict is Verdict.SUPPORTED for s in with_ids),
        weak=sum(s.verdict is Verdict.WEAK for s in with_ids),
        unsupported=sum(s.verdict is Verdict.UNSUPPORTED for s in with_ids),
        uncited_claims=sum(s.verdict is Verdict.UNCITED for s in out.sentences),
        sentences=len(out.sentences),
        chars=len(text),
        governing_tier=out.governing_tier.value if out.governing_tier else None,
        drafter=out.drafter,
        seconds=round(seconds, 4),
        problems=problems,
    )


def run_cases(
    cases: Sequence[DraftingCase], runner: CaseRunner, progress: CaseProgress | None = None
) -> list[CaseResult]:
    """Every case through the runner, timed."""
    results = []
    for n, case in enumerate(cases, 1):
        started = time.perf_counter()
        out = runner(case)
        results.append(case_result(case, out, time.perf_counter() - started))
        if progress is not None:
            progress("cases", n, len(cases))
    return results


def summarize(results: Sequence[CaseResult], **stamp: object) -> DraftingSummary:
    """Score the results; `stamp` fills the provenance fields (file, hash, date, command...)."""
    asks = [r for r in results if r.kind == "ask"]
    drafts = [r for r in results if r.kind == "draft"]
    stance = M.agreement([r.expected for r in asks], [r.predicted for r in asks], STANCES)
    decision = M.agreement([r.expected for r in drafts], [r.predicted for r in drafts], DECISIONS)
    rates = M.support_rates(results)
    abst = M.abstention(results)
    timed = [r.seconds * 1000 for r in results[1:]] or [r.seconds * 1000 for r in results]
    sizes = {"sentences": [r.sentences for r in results], "chars": [r.chars for r in results]}
    return DraftingSummary.model_validate(
        {
            "citation_validity": M.citation_validity(results),
            "support_rate": rates["supported"],
            "weak_rate": rates["weak"],
            "unsupported_rate": rates["unsupported"],
            "stance_agreement": stance.accuracy,
            "decision_agreement": decision.accuracy,
            "abstention_precision": abst.precision,
            "abstention_recall": abst.recall,
            "baseline": M.baseline(results),
            "n": len(results),
            "stance": stance,
            "decision": decision,
            "abstention": abst,
            "citations": M.citation_counts(results),
            "length": {
                f"{k}_{f}": (fn(v) if v else 0.0)
                for k, v in sizes.items()
                for f, fn in (("mean", lambda x: sum(x) / len(x)), ("max", max))
            },
            "ms_per_case": {
                "p50": round(M.percentile(timed, 50), 1) if timed else 0.0,
                "p95": round(M.percentile(timed, 95), 1) if timed else 0.0,
                "mean": round(sum(timed) / len(timed), 1) if timed else 0.0,
            },
            "n_ask": len(asks),
            "n_draft": len(drafts),
            "drafter": ", ".join(sorted({r.drafter for r in results})),
            **stamp,
        }
    )


def api_runner(settings: Settings) -> CaseRunner:
    """Cases through `api.ask` / `api.draft` with these settings."""
    from imr_assist import api

    def run(case: DraftingCase) -> Answer | DeterminationDraft:
        if case.kind == "ask":
            return api.ask(case.query, settings=settings)
        return api.draft(case.request, case.summary, settings=settings)

    return run


def run_drafting_eval(
    *,
    settings: Settings,
    cases_path: Path,
    corpus: Sequence[Path] = (),
    out_dir: Path | None = None,
    command: str = "",
    runner: CaseRunner | None = None,
    progress: CaseProgress | None = None,
    ingest_progress: FileProgress | None = None,
    split: str = "all",
) -> DraftingSummary:
    """Ingest `corpus` (optional), run every case of `split` (dev, test or all), write
    report.md, summary.json and cases.csv into `out_dir` (default HOME/eval/drafting-<UTC
    time>), return the summary."""
    from imr_assist import api
    from imr_assist.evaluation.drafting.report import write_outputs

    started = datetime.now(UTC)
    if split not in SPLITS:
        raise EvaluationDataError(f"Unknown split {split!r}: use {', '.join(SPLITS)}.")
    cases = keep(read_cases(cases_path), split)
    if not cases:
        raise EvaluationDataError(f"No case of {cases_path} falls in the {split} split.")
    if corpus:
        report = api.ingest(list(corpus), settings=settings, progress=ingest_progress)
        if report.failed:
            detail = "; ".join(f.message for f in report.failed)
            raise EvaluationDataError(f"Ingest failed, nothing was evaluated: {detail}")
        api.open_retriever(settings).sync()
    status = api.status(settings=settings)
    if status.passages == 0:
        raise EvaluationDataError(
            f"The index in {settings.home} is empty. Ingest the guidelines first "
            "(--corpus PATH, or `imr-assist ingest PATH` / `imr-assist demo` with the same --home)."
        )
    results = run_cases(cases, runner or api_runner(settings), progress)
    summary = summarize(
        results,
        cases_file=str(cases_path),
        split=split,
        settings_hash=settings.index_hash,
        index_documents=status.documents,
        index_passages=status.passages,
        settings={"index": settings.index_fingerprint(), "llm": settings.llm.model or "(none)"},
        date=started.isoformat(timespec="seconds"),
        command=command,
    )
    out = out_dir or Path(settings.home) / "eval" / f"drafting-{started:%Y%m%dT%H%M%SZ}"
    return write_outputs(summary, results, cases, out)
