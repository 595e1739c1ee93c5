"""`imr-assist eval ...`: a thin shell over imr_assist.evaluation (evals are not unit tests).

Registered in cli.py with `main.add_command(eval_group)`. This module does not import cli.py
(cli.py imports it), so the `--home` option and the error wrapper are declared here too.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from imr_assist.api import load_settings
from imr_assist.cli.common import errors, home_option, progress_bars
from imr_assist.evaluation.drafting.models import DraftingSummary
from imr_assist.evaluation.drafting.run import run_drafting_eval
from imr_assist.evaluation.retrieval.models import METRIC_KEYS, EvalSummary
from imr_assist.evaluation.retrieval.run import RETRIEVER_NAMES, run_retrieval_eval
from imr_assist.evaluation.split import SPLITS
from imr_assist.evaluation.trec import parse_aliases


@click.group("eval")
def eval_group() -> None:
    """Evaluate retrieval or drafting on labelled cases and write reports (see eval/README.md)."""


split_option = click.option(
    "--split",
    type=click.Choice(SPLITS),
    default="all",
    show_default=True,
    help="Items to run: dev (~60%, tune on these), test (~40%, report only, never tune on "
    "them) or all. An item's split is fixed by a hash of its qid.",
)


@eval_group.command("retrieval")
@click.option(
    "--queries",
    "queries_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help='JSONL of {"qid","query", optional "style","topic","answerable"}.',
)
@click.option(
    "--qrels",
    "qrels_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="TREC qrels `qid 0 docid grade` (graded: 2 governing, 1 relevant).",
)
@click.option(
    "--level",
    type=click.Choice(["page", "passage", "document"]),
    default=None,
    help="What the qrels judge: page (`alias:pN`, default), passage id, or document "
    "(BEIR: document).",
)
@click.option(
    "--doc-alias",
    "doc_aliases",
    multiple=True,
    metavar="DOC_ID=ALIAS",
    help="Judged name of an indexed document, e.g. va-department_of_defense=vadod-lbp-cpg "
    "(repeatable; default: the doc_id).",
)
@click.option(
    "--ingest",
    "ingest",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Ingest these files or folders into --home first (unchanged files are skipped).",
)
@click.option(
    "--beir",
    "beir_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv); its corpus is indexed "
    "in HOME/beir-<name>.",
)
@click.option(
    "--retrievers",
    default=",".join(RETRIEVER_NAMES),
    show_default=True,
    help="Comma list of retrievers to compare; the default (top-level) one is hybrid.",
)
@click.option(
    "--k",
    "k",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="Hits requested per query.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output folder. Default: HOME/eval/<UTC timestamp>.",
)
@click.option(
    "--rounds",
    type=click.IntRange(100, 1_000_000),
    default=10_000,
    show_default=True,
    help="Rounds of the paired randomization test.",
)
@click.option(
    "--seed", type=int, default=20261128, show_default=True, help="Seed of the randomization test."
)
@split_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@home_option
@click.pass_context
@errors
def retrieval(
    ctx: click.Context,
    queries_path: Path | None,
    qrels_path: Path | None,
    level: str | None,
    doc_aliases: tuple[str, ...],
    ingest: tuple[Path, ...],
    beir_dir: Path | None,
    retrievers: str,
    k: int,
    out_dir: Path | None,
    rounds: int,
    seed: int,
    split: str,
    as_json: bool,
    home: Path | None,
) -> None:
    """Score dense, bm25, hybrid and the LangChain peer on judged queries.

    Writes run.<name>.trec, per_query.csv, report.md, ndcg.png and summary.json.
    """
    if beir_dir is None and (queries_path is None or qrels_path is None):
        raise click.UsageError(
            "Nothing to evaluate: give --queries FILE.jsonl and --qrels FILE, or --beir DIR."
        )
    names = [n.strip() for n in retrievers.split(",") if n.strip()]
    summary = run_retrieval_eval(
        settings=load_settings(home),
        queries_path=queries_path,
        qrels_path=qrels_path,
        beir_dir=beir_dir,
        level=level,
        doc_aliases=parse_aliases(doc_aliases),
        ingest=list(ingest),
        retrievers=names,
        k=k,
        out_dir=out_dir,
        command=_command_line(ctx),
        rounds=rounds,
        seed=seed,
        split=split,
        progress=None if as_json else progress_bars("query"),
        ingest_progress=None if as_json else progress_bars("passage", 200),
    )
    if as_json:
        click.echo(summary.model_dump_json(indent=2))
        return
    _print_summary(summary)


@eval_group.command("drafting")
@click.option(
    "--cases",
    "cases_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help='JSONL of {"qid","kind":"ask","query","expected_stance"} or '
    '{"qid","kind":"draft","request","summary","expected_decision"}, optional "answerable".',
)
@click.option(
    "--corpus",
    "corpus",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Ingest these files or folders into --home first (repeatable; default: use the "
    "current index as it is).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output folder. Default: HOME/eval/drafting-<UTC timestamp>.",
)
@split_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@home_option
@click.pass_context
@errors
def drafting(
    ctx: click.Context,
    cases_path: Path,
    corpus: tuple[Path, ...],
    out_dir: Path | None,
    split: str,
    as_json: bool,
    home: Path | None,
) -> None:
    """Score cited answers and drafts: citation validity, verified support, stance and
    decision agreement, abstention, each against the majority-class baseline.

    Writes report.md, summary.json and cases.csv.
    """
    summary = run_drafting_eval(
        settings=load_settings(home),
        cases_path=cases_path,
        corpus=list(corpus),
        out_dir=out_dir,
        command=_command_line(ctx),
        split=split,
        progress=None if as_json else progress_bars("case"),
        ingest_progress=None if as_json else progress_bars("passage", 200),
    )
    if as_json:
        click.echo(summary.model_dump_json(indent=2))
        return
    _print_drafting(summary)


# --------------------------------------------------------------------------- rendering


def _print_summary(s: EvalSummary) -> None:
    click.echo(
        f"{s.split} split: {s.n_queries} queries ({s.n_answerable} answerable, "
        f"{s.n_unanswerable} unanswerable), {s.level} level, index {s.index_hash} "
        f"({s.index_documents} documents, {s.index_passages} passages)"
    )
    header = "".join(f"{m:>11}" for m in METRIC_KEYS)
    click.echo(f"{'retriever':<10}{header}{'ms/q':>9}")
    for name, r in s.retrievers.items():
        v = r.values()
        mark = "*" if name == s.default_retriever else " "
        cells = "".join(f"{v[m]:>11.3f}" for m in METRIC_KEYS)
        click.echo(f"{name + mark:<10}{cells}{r.ms_per_query:>9.1f}")
    for name, sig in s.significance.items():
        t = "n/a" if sig.p_ttest is None else f"{sig.p_ttest:.2g}"
        click.echo(
            f"{name} vs {sig.baseline}: nDCG@10 {sig.mean_diff:+.3f}, "
            f"p={sig.p_randomization:.2g} (randomization), p={t} (t-test)"
        )
    for name, a in s.unanswerable.items():
        if a.unanswerable:
            click.echo(
                f"{name}: abstained on {a.abstained_unanswerable}/{a.unanswerable} unanswerable, "
                f"{a.abstained_answerable}/{a.answerable} answerable"
            )
    for warning in s.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"* default retriever. Report: {s.files.get('report', s.out_dir)}")


def _print_drafting(s: DraftingSummary) -> None:
    b = s.baseline

    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    click.echo(
        f"{s.split} split: {s.n} cases ({s.n_ask} ask, {s.n_draft} draft), "
        f"settings {s.settings_hash}, drafter {s.drafter}"
    )
    click.echo(f"citation validity     {f(s.citation_validity)}")
    click.echo(f"verified support      {f(s.support_rate)} (weak {f(s.weak_rate)})")
    click.echo(
        f"stance agreement      {f(s.stance_agreement)}  baseline {f(b.stance_agreement)} "
        f"(always {b.stance_label})"
    )
    click.echo(
        f"decision agreement    {f(s.decision_agreement)}  baseline {f(b.decision_agreement)} "
        f"(always {b.decision_label})"
    )
    click.echo(
        f"abstention P / R      {f(s.abstention_precision)} / {f(s.abstention_recall)}  "
        f"baseline {f(b.abstention_precision)} / {f(b.abstention_recall)} ({b.abstention_rule})"
    )
    click.echo(f"Report: {s.files.get('report', s.out_dir)}")


def _command_line(ctx: click.Context) -> str:
    """The command as typed (or, under a test runner, rebuilt from the given options)."""
    if Path(sys.argv[0]).name == "imr-assist":
        return shlex.join(["imr-assist", *sys.argv[1:]])
    parts = ["imr-assist", "eval", ctx.command.name or ""]
    for param in ctx.command.params:
        name = param.name or ""
        if ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[name]
        flag = param.opts[0] if param.opts else name
        if isinstance(value, bool):
            parts.append(flag)
            continue
        for v in value if isinstance(value, tuple) else (value,):
            parts += [flag, str(v)]
    return shlex.join(parts)
