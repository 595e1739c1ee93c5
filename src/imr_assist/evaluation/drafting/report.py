"""Outputs of `eval drafting`: report.md, summary.json (what --json prints) and cases.csv."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from imr_assist.evaluation.drafting.models import (
    Agreement,
    CaseResult,
    DraftingCase,
    DraftingSummary,
)


def write_outputs(
    summary: DraftingSummary,
    results: Sequence[CaseResult],
    cases: Sequence[DraftingCase],
    out: Path,
) -> DraftingSummary:
    """Write every output into `out`; return the summary with `out_dir` and `files` filled."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report": str(out / "report.md"),
        "summary": str(out / "summary.json"),
        "cases": str(out / "cases.csv"),
    }
    summary = summary.model_copy(update={"out_dir": str(out), "files": files})
    write_rows(results, out / "cases.csv")
    (out / "report.md").write_text(render_markdown(summary, results, cases), encoding="utf-8")
    (out / "summary.json").write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return summary


def write_rows(results: Sequence[CaseResult], path: Path) -> Path:
    head = [
        "qid", "kind", "expected", "predicted", "agree", "answerable", "abstained",
        "cited_ids", "valid_ids", "cited_sentences", "supported", "weak", "unsupported",
        "uncited_claims", "sentences", "chars", "governing_tier", "seconds", "text",
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(head)
        for r in results:
            writer.writerow(
                [
                    *(r.qid, r.kind, r.expected, r.predicted, int(r.expected == r.predicted)),
                    *(int(r.answerable), int(r.abstained), len(r.cited_ids), len(r.valid_ids)),
                    *(r.cited_sentences, r.supported, r.weak, r.unsupported, r.uncited_claims),
                    *(r.sentences, r.chars, r.governing_tier or "", f"{r.seconds:.4f}", r.text),
                ]
            )
    return path


def render_markdown(
    s: DraftingSummary, results: Sequence[CaseResult], cases: Sequence[DraftingCase]
) -> str:
    b = s.baseline
    c = s.citations
    lines = [
        "# Drafting evaluation",
        "",
        f"- Date (UTC): {s.date}",
        f"- Command: `{s.command or '(library call)'}`",
        f"- Cases: {s.cases_file} ({s.n}: {s.n_ask} ask, {s.n_draft} draft; "
        f"{s.abstention.unanswerable} not answerable); split: **{s.split}**",
        f"- Settings hash: `{s.settings_hash}`; index: {s.index_documents} documents, "
        f"{s.index_passages} passages",
        "- Index settings: " + ", ".join(f"{k}={v}" for k, v in s.settings["index"].items()),
        f"- Drafter: {s.drafter} (LLM setting: {s.settings.get('llm')})",
        "",
        "## Summary",
        "",
        "| metric | chain | baseline | counts |",
        "|---|---:|---:|---|",
        f"| citation validity | {_f(s.citation_validity)} | | {c['valid_ids']} / {c['cited_ids']} "
        "cited ids in the evidence |",
        f"| verified-support rate | {_f(s.support_rate)} | | {c['supported']} / "
        f"{c['cited_sentences']} cited sentences supported |",
        f"| weak rate | {_f(s.weak_rate)} | | {c['weak']} weak |",
        f"| unsupported rate | {_f(s.unsupported_rate)} | | {c['unsupported']} unsupported; "
        f"{c['uncited_claims']} uncited claims |",
        f"| stance agreement (ask) | {_f(s.stance_agreement)} | {_f(b.stance_agreement)} | "
        f"n={s.stance.n}; baseline always `{b.stance_label}` |",
        f"| stance macro F1 | {_f(s.stance.macro_f1)} | {_f(b.stance_macro_f1)} | |",
        f"| decision agreement (draft) | {_f(s.decision_agreement)} | "
        f"{_f(b.decision_agreement)} | n={s.decision.n}; baseline always `{b.decision_label}` |",
        f"| decision macro F1 | {_f(s.decision.macro_f1)} | {_f(b.decision_macro_f1)} | |",
        f"| abstention precision | {_f(s.abstention_precision)} | "
        f"{_f(b.abstention_precision)} | {s.abstention.correct} / {s.abstention.abstained} "
        f"abstentions were on not-answerable cases; baseline: {b.abstention_rule} |",
        f"| abstention recall | {_f(s.abstention_recall)} | {_f(b.abstention_recall)} | "
        f"{s.abstention.correct} / {s.abstention.unanswerable} not-answerable cases |",
        f"| abstention accuracy | {_f(s.abstention.accuracy)} | {_f(b.abstention_accuracy)} | |",
        "",
        f"Length of the drafted text: mean {s.length['sentences_mean']:.1f} sentences "
        f"(max {s.length['sentences_max']:.0f}), mean {s.length['chars_mean']:.0f} characters "
        f"(max {s.length['chars_max']:.0f}). Chain time per case (first case excluded): "
        f"p50 {s.ms_per_case['p50']:.0f} ms, p95 {s.ms_per_case['p95']:.0f} ms.",
        "",
    ]
    if s.stance.n:
        lines += _agreement("Stance (ask cases)", s.stance)
    if s.decision.n:
        lines += _agreement("Decision (draft cases)", s.decision)
    lines += _disagreements(results, cases)
    lines += [
        "## Per case",
        "",
        "| qid | kind | expected | got | abstained | cited ids (valid) | supported / weak / "
        "unsupported | sentences | chars |",
        "|---|---|---|---|---|---:|---|---:|---:|",
    ]
    for r in results:
        mark = "" if r.expected == r.predicted else " ✗"
        lines.append(
            f"| {r.qid} | {r.kind} | {r.expected} | {r.predicted}{mark} | "
            f"{'yes' if r.abstained else ''} | {len(r.cited_ids)} ({len(r.valid_ids)}) | "
            f"{r.supported} / {r.weak} / {r.unsupported} | {r.sentences} | {r.chars} |"
        )
    lines += [
        "",
        "## Notes",
        "",
        "- Citation validity: distinct ids cited per case, pooled; valid = among the ids the "
        "drafter was given (`evidence_ids`).",
        "- Support: verdicts of `imr_assist.verification.verify` on sentences that cite an id "
        "(pooled over cases); weak is counted separately, not as supported.",
        "- Agreement counts every case of the kind, answerable or not; macro F1 averages the "
        "labels that occur (expected or predicted), a label never right scoring 0.",
        "- Baselines: the most frequent expected label given to every case; for abstention, "
        "never or always abstaining, whichever is right on more cases (said in the table). "
        "Never abstaining has no precision (n/a).",
        "- Times are wall time on this machine during this run, shared with other work.",
    ]
    return "\n".join(lines) + "\n"


def _agreement(title: str, a: Agreement) -> list[str]:
    labels = [r.label for r in a.per_class]
    lines = [
        f"## {title}",
        "",
        "| label | support | predicted | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in a.per_class:
        lines.append(
            f"| {r.label} | {r.support} | {r.predicted} | {_f(r.precision)} | {_f(r.recall)} | "
            f"{_f(r.f1)} |"
        )
    lines += ["", "Confusion (rows expected, columns predicted):", ""]
    lines += ["| expected \\ predicted | " + " | ".join(labels) + " |"]
    lines += ["|---|" + "---:|" * len(labels)]
    for e in labels:
        lines.append(f"| {e} | " + " | ".join(str(a.confusion[e][p]) for p in labels) + " |")
    return [*lines, ""]


def _disagreements(results: Sequence[CaseResult], cases: Sequence[DraftingCase]) -> list[str]:
    by_qid = {c.qid: c for c in cases}
    wrong = [r for r in results if r.expected != r.predicted or r.problems]
    if not wrong:
        return []
    lines = ["## Disagreements and verification problems", ""]
    for r in wrong:
        note = by_qid[r.qid].notes if r.qid in by_qid else ""
        head = f"- **{r.qid}** {_cell(r.text)}: expected `{r.expected}`, got `{r.predicted}`"
        lines.append(head + (f" (label: {_cell(note)})" if note else ""))
        lines += [f"  - {_cell(p, 220)}" for p in r.problems]
    return [*lines, ""]


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _cell(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"
