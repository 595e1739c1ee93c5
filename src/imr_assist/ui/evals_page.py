"""Evals: run the retrieval (and drafting) evals on a chosen set; show metrics and charts.

Each set is evaluated in its own home under IMR_HOME/eval-homes/<set>, so running an eval never
adds documents to the reviewer's own index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st

from imr_assist.api import DEMO_CORPUS
from imr_assist.errors import ImrAssistError
from imr_assist.evaluation.drafting.models import DraftingSummary
from imr_assist.evaluation.drafting.run import run_drafting_eval
from imr_assist.evaluation.retrieval.models import EvalSummary
from imr_assist.evaluation.retrieval.run import RETRIEVER_NAMES, run_retrieval_eval
from imr_assist.settings import EvalSettings, Settings
from imr_assist.ui.workspace import Workspace, get_workspace


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
        "Retrieval quality on the labelled sets in eval/ (nDCG@10, recall, MRR; answerable and "
        "unanswerable queries apart), each retriever against the LangChain EnsembleRetriever peer."
    )
    labels = {s.label: s for s in eval_sets(ws.settings.eval)}
    chosen = labels[st.selectbox("Labelled set", list(labels), key="eval-set")]
    retrievers = st.multiselect(
        "Retrievers", list(RETRIEVER_NAMES), default=["hybrid", "bm25", "dense"], key="eval-ret"
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
    if summary is not None:
        show_summary(summary[0], summary[1])
    drafting = st.session_state.get(f"eval-drafting-{chosen.key}")
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

    def cell(x: float | None) -> object:
        return "—" if x is None else round(x, 3)

    return [
        {
            "metric": "citation validity",
            "drafter": cell(summary.citation_validity),
            "baseline": "—",
        },
        {"metric": "verified support", "drafter": cell(summary.support_rate), "baseline": "—"},
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
    st.caption(
        f"{summary.n} cases · baseline: always '{summary.baseline.stance_label}' / "
        f"'{summary.baseline.decision_label}', {summary.baseline.abstention_rule} · "
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
    st.caption(
        f"{summary.n_answerable} answerable + {summary.n_unanswerable} unanswerable queries · "
        f"level {summary.level} · index {summary.index_hash} · written to {out}"
    )
    st.dataframe(metrics_rows(summary), hide_index=True)
    chart = out / "ndcg.png"
    if chart.exists():
        st.image(str(chart), caption="nDCG@10 per retriever")


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
