"""Evals: run the retrieval (and drafting) evals on a chosen set; show metrics and charts.

Each set is evaluated in its own home under IMR_HOME/eval-homes/<set>, so running an eval never
adds documents to the reviewer's own index. Above the tables, the results in a physician's
words ("For 71 of 83 questions ... the first 3 results"), computed from the same summaries.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st
from pydantic import ValidationError

from imr_assist.api import DEMO_CORPUS
from imr_assist.errors import ImrAssistError
from imr_assist.evaluation.drafting.models import DraftingSummary
from imr_assist.evaluation.drafting.run import run_drafting_eval
from imr_assist.evaluation.retrieval.models import EvalSummary
from imr_assist.evaluation.retrieval.run import RETRIEVER_NAMES, run_retrieval_eval
from imr_assist.settings import EvalSettings, Settings
from imr_assist.ui.labels import label
from imr_assist.ui.workspace import Workspace, get_workspace

log = logging.getLogger(__name__)

DEFAULT_RETRIEVERS = ("hybrid", "bm25", "dense", "peer")
"""Selected on the page: ours, each side alone, and the LangChain EnsembleRetriever peer."""
TOP = 3
"""'Among the first TOP results' in the plain-language line."""


@dataclass(frozen=True)
class EvalSet:
    """A labelled set in eval/ and the documents it is judged against."""

    key: str
    label: str
    queries: Path
    qrels: Path
    level: str
    ingest: tuple[Path, ...]
    results: Path  # the recorded results (eval/results/), committed with the code
    aliases: dict[str, str] = field(default_factory=dict)
    cases: Path | None = None  # the drafting cases over the same documents

    def missing(self) -> list[Path]:
        return [p for p in (self.queries, self.qrels, *self.ingest) if not p.exists()]


def eval_sets(where: EvalSettings) -> tuple[EvalSet, ...]:
    """The labelled sets, at the locations the settings give (IMR_EVAL__*)."""
    root = where.dir
    return (
        EvalSet(
            key="demo",
            label="Demo corpus (document level, 38 queries)",
            queries=root / "demo" / "queries.jsonl",
            qrels=root / "demo" / "qrels.txt",
            level="document",
            ingest=(DEMO_CORPUS / "guidelines", DEMO_CORPUS / "determinations"),
            results=root / "results",
            cases=root / "drafting" / "demo.jsonl",
        ),
        EvalSet(
            key="vadod",
            label="VA/DoD low back pain CPG (page level, 93 queries)",
            queries=root / "vadod" / "queries.jsonl",
            qrels=root / "vadod" / "qrels.txt",
            level="page",
            ingest=(where.vadod_pdf,),
            aliases={"va-department_of_defense": "vadod-lbp-cpg"},
            results=root / "results",
            cases=root / "drafting" / "vadod.jsonl",
        ),
    )


def eval_settings(ws: Workspace, s: EvalSet) -> Settings:
    """The workspace settings pointed at the set's own home."""
    return ws.settings.model_copy(update={"home": Path(ws.settings.home) / "eval-homes" / s.key})


def render(ws: Workspace | None = None) -> None:
    st.title("Evals")
    ws = ws or get_workspace()
    if ws is None:
        return
    st.caption(
        "How well search finds the guideline page that answers a question, and how often a draft "
        "reaches the expected decision, on the labelled sets in eval/. The tables below hold the "
        "engineering measures (nDCG@10, recall, MRR), each retriever against the LangChain "
        "EnsembleRetriever peer."
    )
    labels = {s.label: s for s in eval_sets(ws.settings.eval)}
    chosen = labels[st.selectbox("Labelled set", list(labels), key="eval-set")]
    retrievers = st.multiselect(
        "Retrievers",
        list(RETRIEVER_NAMES),
        default=[n for n in DEFAULT_RETRIEVERS if n in RETRIEVER_NAMES],
        key="eval-ret",
    )
    missing = chosen.missing()
    if missing:
        st.warning(
            "This set needs files that are not on this machine: "
            + ", ".join(str(p) for p in missing)
            + ". Licensed or third-party documents live in ../shared (IMR_EVAL__VADOD_PDF and "
            "IMR_EVAL__DIR say where); see eval/README.md."
        )
    c1, c2 = st.columns(2)
    run = c1.button(
        "Run retrieval eval", type="primary", disabled=bool(missing) or "hybrid" not in retrievers
    )
    run_drafting = c2.button(
        "Run drafting eval", disabled=bool(missing) or chosen.cases is None, key="run-drafting"
    )
    if "hybrid" not in retrievers:
        st.info("Keep hybrid selected: it is the default retriever the others are compared with.")
    if run:
        _run(ws, chosen, retrievers)
    if run_drafting:
        _run_drafting(ws, chosen)
    summary = st.session_state.get(f"eval-summary-{chosen.key}")
    drafting = st.session_state.get(f"eval-drafting-{chosen.key}")
    if summary is None and drafting is None:
        _recorded_lines(chosen)
    if summary is not None:
        show_summary(summary[0], summary[1])
    if drafting is not None:
        show_drafting(drafting[0], drafting[1])
    _recorded(chosen)


Progress = Callable[[str, int, int], None]


def _bars() -> tuple[Any, Progress, Progress]:
    """One progress bar, and its callbacks for indexing and for the eval's items."""
    bar = st.progress(0.0, text="Indexing the set's documents…")

    def ingest_progress(name: str, done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Indexing {name}…")

    def progress(name: str, done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"{name}: {done}/{total}")

    return bar, ingest_progress, progress


def _execute(ws: Workspace, s: EvalSet, state_key: str, name: str, run: Any) -> None:
    """Run one eval of set `s` in its own home with a progress bar; keep (summary, out dir)."""
    settings = eval_settings(ws, s)
    out = Path(settings.home) / "eval" / datetime.now(UTC).strftime(f"{name}%Y%m%dT%H%M%SZ")
    bar, ingest_progress, progress = _bars()
    try:
        summary = run(settings, out, progress, ingest_progress)
    except ImrAssistError as exc:
        st.error(str(exc))
        return
    finally:
        bar.empty()
    st.session_state[f"{state_key}-{s.key}"] = (summary, out)


def _run(ws: Workspace, s: EvalSet, retrievers: list[str]) -> None:
    _execute(
        ws,
        s,
        "eval-summary",
        "",
        lambda settings, out, progress, ingest_progress: run_retrieval_eval(
            settings=settings,
            queries_path=s.queries,
            qrels_path=s.qrels,
            level=s.level,
            doc_aliases=s.aliases,
            ingest=s.ingest,
            retrievers=retrievers,
            out_dir=out,
            command=f"workspace: retrieval eval on {s.key}",
            rounds=2000,
            progress=progress,
            ingest_progress=ingest_progress,
        ),
    )


def _run_drafting(ws: Workspace, s: EvalSet) -> None:
    assert s.cases is not None
    cases = s.cases
    _execute(
        ws,
        s,
        "eval-drafting",
        "drafting-",
        lambda settings, out, progress, ingest_progress: run_drafting_eval(
            settings=settings,
            cases_path=cases,
            corpus=s.ingest,
            out_dir=out,
            command=f"workspace: drafting eval on {s.key}",
            progress=progress,
            ingest_progress=ingest_progress,
        ),
    )


def drafting_rows(summary: DraftingSummary) -> list[dict[str, object]]:
    """The drafting metrics beside the majority-class baseline."""
    b = summary.baseline

    def cell(x: float | None) -> float | None:  # one type per column: a float, or empty
        return None if x is None else round(x, 3)

    return [
        {
            "metric": "citation validity",
            "drafter": cell(summary.citation_validity),
            "baseline": None,
        },
        {"metric": "verified support", "drafter": cell(summary.support_rate), "baseline": None},
        {
            "metric": "stance agreement",
            "drafter": cell(summary.stance_agreement),
            "baseline": cell(b.stance_agreement),
        },
        {
            "metric": "decision agreement",
            "drafter": cell(summary.decision_agreement),
            "baseline": cell(b.decision_agreement),
        },
        {
            "metric": "abstention precision",
            "drafter": cell(summary.abstention_precision),
            "baseline": cell(b.abstention_precision),
        },
        {
            "metric": "abstention recall",
            "drafter": cell(summary.abstention_recall),
            "baseline": cell(b.abstention_recall),
        },
    ]


def show_drafting(summary: DraftingSummary, out: Path) -> None:
    st.subheader("Drafting, this run")
    st.info(drafting_sentence(summary))
    st.caption(
        f"{summary.n} cases · baseline: always '{label(summary.baseline.stance_label)}' / "
        f"'{label(summary.baseline.decision_label)}', {summary.baseline.abstention_rule} · "
        f"written to {out}"
    )
    rows = drafting_rows(summary)
    st.dataframe(rows, hide_index=True)
    chart = {
        str(r["metric"]): {"drafter": r["drafter"], "majority baseline": r["baseline"]}
        for r in rows
        if isinstance(r["drafter"], float) and isinstance(r["baseline"], float)
    }
    if chart:
        st.bar_chart(
            [{"metric": m, **v} for m, v in chart.items()],
            x="metric",
            y=["drafter", "majority baseline"],
            stack=False,
        )


def metrics_rows(summary: EvalSummary) -> list[dict[str, object]]:
    """One row per retriever: the headline metrics, rounded for reading."""
    rows: list[dict[str, object]] = []
    for name, r in summary.retrievers.items():
        gate = summary.unanswerable.get(name)
        rows.append(
            {
                "retriever": name + (" (default)" if name == summary.default_retriever else ""),
                "nDCG@10": round(r.ndcg_10, 3),
                "Recall@10": round(r.recall_10, 3),
                "Recall@100": round(r.recall_100, 3),
                "MRR@10": round(r.mrr_10, 3),
                "P@5": round(r.p_5, 3),
                "Hit@1": round(r.hit_1, 3),
                "gate said nothing relevant (unanswerable)": (
                    f"{gate.abstained_unanswerable}/{gate.unanswerable}" if gate else "—"
                ),
                "false abstentions (answerable)": (
                    f"{gate.abstained_answerable}/{gate.answerable}" if gate else "—"
                ),
            }
        )
    return rows


def show_summary(summary: EvalSummary, out: Path) -> None:
    st.subheader("This run")
    st.info(retrieval_sentence(summary, out / "per_query.csv"))
    st.caption(
        f"{summary.n_answerable} answerable + {summary.n_unanswerable} unanswerable queries · "
        f"level {summary.level} · index {summary.index_hash} · written to {out}"
    )
    st.dataframe(metrics_rows(summary), hide_index=True)
    chart = out / "ndcg.png"
    if chart.exists():
        st.image(str(chart), caption="nDCG@10 per retriever")


def _count(rate: float | None, n: int) -> int:
    return round((rate or 0.0) * n)


def _top_counts(per_query: Path | None, retriever: str) -> dict[str, int] | None:
    """From a per_query.csv: answerable queries of `retriever`, and how many had a relevant id
    first and among the first TOP (reciprocal rank >= 1/TOP). None when it cannot be read."""
    if per_query is None or not per_query.is_file():
        return None
    counts = {"answerable": 0, "first": 0, "top": 0}
    try:
        with per_query.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["retriever"] != retriever or row["answerable"] not in {"1", "True"}:
                    continue
                rr = float(row["mrr@10"] or 0)
                counts["answerable"] += 1
                counts["first"] += rr >= 1.0
                # reciprocal ranks are 1/k, written rounded (0.3333): compare between 1/TOP
                # and 1/(TOP + 1)
                counts["top"] += rr > (1 / TOP + 1 / (TOP + 1)) / 2
    except (OSError, KeyError, ValueError, csv.Error) as exc:
        log.warning("%s cannot be read for the summary line: %s", per_query, exc)
        return None
    return counts if counts["answerable"] else None


def retrieval_sentence(summary: EvalSummary, per_query: Path | None = None) -> str:
    """The retrieval eval in a physician's words, from the summary (and per_query.csv for the
    first-3 count): 'For 71 of 83 questions the guideline answers, a page judged relevant was
    among the first 3 results (the first result for 70). ...'."""
    unit = {"page": "page", "document": "document"}.get(summary.level, "passage")
    default = summary.default_retriever
    n = summary.n_answerable
    counts = _top_counts(per_query, default)
    mean = summary.retrievers.get(default, summary)
    first = counts["first"] if counts else _count(mean.hit_1, n)
    if counts and counts["answerable"] == n:
        found = (
            f"For {counts['top']:,} of {n:,} questions the guidelines answer, a {unit} judged "
            f"relevant was among the first {TOP} search results (the very first result for "
            f"{first:,})."
        )
    else:
        found = (
            f"For {first:,} of {n:,} questions the guidelines answer, the first search result "
            f"was a {unit} judged relevant."
        )
    lines = [found]
    gate = summary.unanswerable.get(default)
    if gate is not None and gate.unanswerable:
        lines.append(
            f"For {gate.abstained_unanswerable:,} of {gate.unanswerable:,} questions they do not "
            "answer, search said nothing relevant was found"
            + (
                f" (it also said so, wrongly, for {gate.abstained_answerable:,} of "
                f"{gate.answerable:,} questions they do answer)."
                if gate.abstained_answerable
                else "."
            )
        )
    peer = summary.retrievers.get("peer")
    if peer is not None and default != "peer":
        peer_first = _count(peer.hit_1, peer.queries)
        lines.append(
            f"The LangChain peer put a relevant {unit} first for {peer_first:,} of "
            f"{peer.queries:,}."
        )
    return " ".join(lines)


def drafting_sentence(summary: DraftingSummary) -> str:
    """The drafting eval in a physician's words: 'The draft's decision matched the expected one
    in 18 of 19 requests (always answering ... would match 11). ...'."""
    lines = []
    if summary.decision.n:
        right = _count(summary.decision.accuracy, summary.decision.n)
        base = _count(summary.baseline.decision_agreement, summary.decision.n)
        lines.append(
            f"The draft's decision matched the expected one in {right:,} of "
            f"{summary.decision.n:,} requests (always answering "
            f"'{label(summary.baseline.decision_label)}' would match {base:,})."
        )
    if summary.stance.n:
        right = _count(summary.stance.accuracy, summary.stance.n)
        base = _count(summary.baseline.stance_agreement, summary.stance.n)
        lines.append(
            f"The answer's stance matched the expected one for {right:,} of "
            f"{summary.stance.n:,} questions (always answering "
            f"'{label(summary.baseline.stance_label)}' would match {base:,})."
        )
    c = summary.citations
    if c.get("cited_sentences"):
        lines.append(
            f"{c.get('supported', 0):,} of {c['cited_sentences']:,} cited sentences were verified "
            f"as supported by their source; {c.get('valid_ids', 0):,} of {c.get('cited_ids', 0):,} "
            "citations point to a passage the drafter was given."
        )
    a = summary.abstention
    if a.unanswerable or a.abstained:
        lines.append(
            f"It declined to decide {a.abstained:,} time{'s' if a.abstained != 1 else ''}; "
            f"{a.correct:,} of those were among the {a.unanswerable:,} cases the guidelines do "
            "not address."
        )
    return " ".join(lines) or f"{summary.n} cases; nothing to compare."


def _read_summary(path: Path, model: type[EvalSummary] | type[DraftingSummary]) -> Any:
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError) as exc:
        log.warning("recorded summary %s cannot be read: %s", path, exc)
        return None


def _recorded_lines(s: EvalSet) -> None:
    """The plain-language lines of the recorded results (eval/results), above their tables."""
    retrieval = s.results / s.key / "summary.json"
    drafting = s.results / f"drafting-{s.key}" / "summary.json"
    lines = []
    found = _read_summary(retrieval, EvalSummary) if retrieval.is_file() else None
    if found is not None:
        lines.append(f"**Search**: {retrieval_sentence(found, retrieval.parent / 'per_query.csv')}")
    drafted = _read_summary(drafting, DraftingSummary) if drafting.is_file() else None
    if drafted is not None:
        lines.append(f"**Drafts**: {drafting_sentence(drafted)}")
    dated = found or drafted
    if dated is not None:
        st.info(f"**Recorded results ({dated.date[:10]})**\n\n" + "\n\n".join(lines))


def _recorded(s: EvalSet) -> None:
    for folder, title in ((s.key, "retrieval"), (f"drafting-{s.key}", "drafting")):
        results = s.results / folder
        report = results / "report.md"
        if not report.exists():
            continue
        with st.expander(f"Recorded {title} results (eval/results, committed with the code)"):
            chart = results / "ndcg.png"
            if chart.exists():
                st.image(str(chart))
            st.markdown(report.read_text(encoding="utf-8"))
