"""Outputs of one evaluation: TREC runs, per-query CSV, summary.json, report.md, ndcg.png."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imr_assist.evaluation.retrieval.models import METRIC_KEYS, EvalSummary, QueryRow
from imr_assist.evaluation.trec import write_run

if TYPE_CHECKING:
    from imr_assist.evaluation.retrieval.run import EvalOutcome

_LABELS = {
    "ndcg@10": "nDCG@10",
    "recall@10": "R@10",
    "recall@20": "R@20",
    "recall@100": "R@100",
    "mrr@10": "MRR@10",
    "p@5": "P@5",
    "hit@1": "Hit@1",
}


_LEVEL_NOTES = {
    "page": "- Page level: a hit credits every printed page it spans (`alias:pN`), each page once, "
    "at its first rank; unpaged hits credit nothing. MRR@10, P@5 and Hit@1 count positions in "
    "that mapped list.",
    "passage": "- Passage level: the judged id is the passage's citation id.",
    "document": "- Document level: each document is credited once, at the rank of its first "
    "passage; MRR@10, P@5 and Hit@1 count positions in that list of documents.",
}


_SPLIT_NOTES = {
    "dev": " (the queries tuned on)",
    "test": " (held out: reported, never tuned on)",
    "all": " (dev and test together)",
}


def write_outputs(summary: EvalSummary, outcome: EvalOutcome, out: Path) -> EvalSummary:
    """Write every output into `out`; return the summary with `out_dir` and `files` filled."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for name, run in outcome.runs.items():
        path = out / f"run.{name}.trec"
        write_run(run, path, name)
        files[f"run.{name}"] = str(path)
    files["per_query"] = str(write_rows(outcome.rows, out / "per_query.csv"))
    files["chart"] = str(plot(summary, out / "ndcg.png"))
    files["report"] = str(out / "report.md")
    files["summary"] = str(out / "summary.json")
    summary = summary.model_copy(update={"out_dir": str(out), "files": files})
    (out / "report.md").write_text(render_markdown(summary, outcome.rows), encoding="utf-8")
    (out / "summary.json").write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return summary


def write_rows(rows: Sequence[QueryRow], path: Path) -> Path:
    """One CSV line per (retriever, query); metric cells empty for unanswerable queries."""
    head = ["retriever", "qid", "style", "topic", "answerable", *METRIC_KEYS]
    head += ["relevant", "top_doc_id", "top_tier", "hits", "judged_ids", "seconds", "query"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(head)
        for r in rows:
            values = r.metrics.values() if r.metrics else {}
            writer.writerow(
                [r.retriever, r.qid, r.style or "", r.topic or "", int(r.answerable)]
                + [f"{values[m]:.4f}" if m in values else "" for m in METRIC_KEYS]
                + [int(r.relevant), r.top_doc_id or "", r.top_tier or "", r.hits, r.judged_ids]
                + [f"{r.seconds:.4f}", r.query]
            )
    return path


# --------------------------------------------------------------------------- markdown


def render_markdown(summary: EvalSummary, rows: Sequence[QueryRow]) -> str:
    s = summary
    names = list(s.retrievers)
    lines = [
        "# Retrieval evaluation",
        "",
        f"- Date (UTC): {s.date}",
        f"- Command: `{s.command or '(library call)'}`",
        f"- Queries: {s.queries_file} ({s.n_queries}: {s.n_answerable} answerable, "
        f"{s.n_unanswerable} unanswerable); qrels: {s.qrels_file}",
        f"- Split: **{s.split}**{_SPLIT_NOTES.get(s.split, '')}",
        f"- Judged unit: {s.level}; hits requested per query: {s.k}",
        f"- Index: hash `{s.index_hash}`, collection `{s.collection}`, {s.index_documents} "
        f"documents, {s.index_passages} passages",
    ]
    lines += [
        f"- {group.capitalize()} settings: " + ", ".join(f"{k}={v}" for k, v in values.items())
        for group, values in s.settings.items()
    ]
    if s.doc_aliases:
        aliases = ", ".join(f"{k} -> {v}" for k, v in s.doc_aliases.items())
        lines.append(f"- Document aliases: {aliases}")
    lines += [
        f"- Default retriever: **{s.default_retriever}**",
        "",
        "## Summary (mean over answerable queries)",
        "",
        "| retriever | " + " | ".join(_LABELS[m] for m in METRIC_KEYS) + " | ms/query |",
        "|---|" + "---:|" * (len(METRIC_KEYS) + 1),
    ]
    for name, r in s.retrievers.items():
        v = r.values()
        cells = " | ".join(f"{v[m]:.3f}" for m in METRIC_KEYS)
        lines.append(f"| {_bold(name, s.default_retriever)} | {cells} | {r.ms_per_query:.1f} |")
    lines += ["", "![nDCG@10 and Recall@10 per retriever](ndcg.png)", ""]
    lines += _significance(s)
    lines += _unanswerable(s, rows, names)
    lines += _strata(s, names)
    lines += [
        "## Notes",
        "",
        "- nDCG@10 is trec_eval's `ndcg_cut_10` (pytrec_eval): linear gain (grade 2 counts "
        "twice grade 1), ideal ranking from all judgments of the query.",
        _LEVEL_NOTES[s.level],
        "- ms/query is the mean search wall time after one untimed warm-up query per "
        "retriever (model load, BM25 build); it is measured in this run, on this machine.",
        "- `top_tier` strata use each retriever's own first hit, so their sizes differ.",
        "- peer = LangChain EnsembleRetriever([BM25Retriever, Chroma retriever], weights "
        "[0.5, 0.5]) over the same passages and embedder; it has no relevance gate.",
    ]
    if s.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in s.warnings]
    lines += ["", "## Files", ""] + [f"- {k}: `{Path(v).name}`" for k, v in s.files.items()]
    return "\n".join(lines) + "\n"


def _significance(s: EvalSummary) -> list[str]:
    if not s.significance:
        return []
    rounds = next(iter(s.significance.values())).rounds
    lines = [
        f"## Significance vs {s.default_retriever} (per-query nDCG@10, paired)",
        "",
        f"| retriever | mean diff | wins / losses | p randomization ({rounds} rounds) | p t-test |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, sig in s.significance.items():
        t = "n/a" if sig.p_ttest is None else _p(sig.p_ttest)
        lines.append(
            f"| {name} | {sig.mean_diff:+.3f} | {sig.wins} / {sig.losses} | "
            f"{_p(sig.p_randomization)} | {t} |"
        )
    return [*lines, ""]


def _unanswerable(s: EvalSummary, rows: Sequence[QueryRow], names: list[str]) -> list[str]:
    lines = [
        "## Unanswerable queries and the relevance gate",
        "",
        "Abstention recall = share of unanswerable queries where the gate said nothing is "
        "relevant; false abstention = share of answerable queries where it said so.",
        "",
        "| retriever | abstained / unanswerable | abstention recall | abstained / answerable | "
        "false abstention |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, a in s.unanswerable.items():
        lines.append(
            f"| {name} | {a.abstained_unanswerable} / {a.unanswerable} | "
            f"{_pct(a.abstention_recall)} | {a.abstained_answerable} / {a.answerable} | "
            f"{_pct(a.false_abstention_rate)} |"
        )
    unanswerable = [r for r in rows if not r.answerable and r.retriever == names[0]]
    if unanswerable:
        gate = {(r.retriever, r.qid): r for r in rows if not r.answerable}
        lines += [
            "",
            "| qid | query | " + " | ".join(names) + " |",
            "|---|---|" + "---|" * len(names),
        ]
        for r in unanswerable:
            cells = []
            for n in names:
                g = gate[(n, r.qid)]
                cells.append("abstained" if not g.relevant else f"answered ({g.top_doc_id})")
            lines.append(f"| {r.qid} | {_cell(r.query)} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _strata(s: EvalSummary, names: list[str]) -> list[str]:
    lines = ["## nDCG@10 by stratum", ""]
    for by, groups in s.strata.items():
        if not groups or (by != "top_tier" and set(groups) == {"(none)"}):
            continue
        lines += [f"### By {by}", "", f"| {by} | " + " | ".join(names) + " |"]
        lines.append("|---|" + "---:|" * len(names))
        for value, cells in groups.items():
            shown = [f"{c.ndcg_10:.3f} ({c.queries})" if (c := cells.get(n)) else "" for n in names]
            lines.append(f"| {value} | " + " | ".join(shown) + " |")
        lines.append("")
    lines.insert(2, "Cells: mean nDCG@10 (answerable queries in the stratum).")
    lines.insert(3, "")
    return lines


def _bold(name: str, default: str) -> str:
    return f"**{name}**" if name == default else name


def _p(x: float) -> str:
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _cell(text: str, limit: int = 70) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- chart


def plot(summary: EvalSummary, path: Path) -> Path:
    """Bars of nDCG@10 and Recall@10 per retriever; nDCG@10 per style when styles are given."""
    from matplotlib.figure import Figure

    names = list(summary.retrievers)
    styles = [v for v in summary.strata.get("style", {}) if v != "(none)"]
    fig = Figure(figsize=(11 if styles else 6, 4.2), layout="constrained")
    axes = fig.subplots(1, 2 if styles else 1, squeeze=False)[0]
    ax = axes[0]
    width = 0.38
    xs = range(len(names))
    for offset, key, label in (
        (-width / 2, "ndcg@10", "nDCG@10"),
        (width / 2, "recall@10", "Recall@10"),
    ):
        values = [summary.retrievers[n].values()[key] for n in names]
        bars = ax.bar([x + offset for x in xs], values, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(list(xs), names)
    ax.set_ylim(0, 1.18)
    ax.set_title(f"{summary.n_answerable} answerable queries, {summary.level} level")
    ax.legend(loc="upper center", fontsize=8, ncols=2)
    if styles:
        ax2 = axes[1]
        width2 = 0.8 / max(len(names), 1)
        for i, n in enumerate(names):
            values = [
                c.ndcg_10 if (c := summary.strata["style"][st].get(n)) else 0.0 for st in styles
            ]
            ax2.bar(
                [j + (i - (len(names) - 1) / 2) * width2 for j in range(len(styles))],
                values,
                width2,
                label=n,
            )
        ax2.set_xticks(range(len(styles)), styles, rotation=20, fontsize=8)
        ax2.set_ylim(0, 1.18)
        ax2.set_title("nDCG@10 by query style")
        ax2.legend(loc="upper center", fontsize=8, ncols=len(names))
    fig.suptitle(f"Retrieval evaluation, index {summary.index_hash}", fontsize=10)
    fig.savefig(path, dpi=110)
    return path
