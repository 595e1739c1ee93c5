"""The `imr-assist` command: a thin shell over the library.

Each command reads its input, calls one library function, renders the returned model, and
turns library errors into click errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from imr_assist import api
from imr_assist.cli.common import errors, home_option, job_bar
from imr_assist.index.consistency import DEFAULT_GRACE_S
from imr_assist.index.filters import FILTER_KEYS
from imr_assist.ingest.reader import KIND_CHOICES
from imr_assist.models import Hit, IngestReport, SearchResult, Tier
from imr_assist.text.regions import BODY_REGIONS


@click.group()
@click.version_option(package_name="imr-assist")
def main() -> None:
    """imr-assist: cited guideline search for California UR/IMR reviewers."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(KIND_CHOICES),
    default="auto",
    show_default=True,
    help="What the files are; auto detects letters.",
)
@click.option(
    "--tier",
    type=click.Choice([t.value for t in Tier]),
    default=None,
    help="Authority tier for all files (default: front matter, then detection).",
)
@click.option("--guideline", default=None, help="Guideline short name used in citations.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@home_option
@errors
def ingest(
    paths: tuple[Path, ...],
    kind: str,
    tier: str | None,
    guideline: str | None,
    as_json: bool,
    home: Path | None,
) -> None:
    """Read, chunk, embed and store files or folders. Exit 1 if any file failed."""
    report = api.ingest(
        list(paths),
        home=home,
        kind=kind,
        tier=tier,
        guideline=guideline,
        job_progress=None if as_json else job_bar(),
    )
    _print_ingest(report, as_json)
    if report.failed:
        sys.exit(1)


@main.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the parsed letter as JSON.")
@home_option
@errors
def parse(file: Path, as_json: bool, home: Path | None) -> None:
    """Parse an IMR determination letter (.txt or .pdf).

    What could not be read (an item without a decision, a block without an item, decisions that
    disagree) is listed with its line, under "Not read" (JSON: "warnings").
    """
    det = api.parse_file(file)
    if as_json:
        click.echo(det.model_dump_json(indent=2, exclude={"format"}))
        return
    cs = det.case_summary
    click.echo(
        f"Case: {cs.age or '?'}-year-old {cs.sex or '?'}, injured {cs.date_of_injury or '?'}"
    )
    if cs.surgeries:
        click.echo(f"Surgeries: {'; '.join(cs.surgeries)}")
    if cs.diagnoses:
        click.echo(f"Diagnoses: {'; '.join(cs.diagnoses)}")
    if cs.requested:
        click.echo(f"Requested: {'; '.join(cs.requested)}")
    click.echo(f"Reviewer specialty: {det.reviewer_specialty or '?'}")
    for n, item in enumerate(det.items, 1):
        click.echo(f"\n{n}. {item.item}: {item.decision.value.upper()}")
        for g in item.claims_administrator_guidelines:
            click.echo(f"   Claims administrator: {g.text}")
        for g in item.reviewer_guidelines:
            click.echo(f"   Reviewer: {g.text}")
        click.echo(f"   Rationale: {item.rationale}")
    if det.warnings:
        click.echo(f"\nNot read ({len(det.warnings)}); check these lines of the letter:")
        for warning in det.warnings:
            click.echo(f"   line {warning.line}: {warning.problem}")
            click.echo(f"      {warning.text}")


@main.command()
@click.argument("query", required=False)
@click.option("--k", "k", type=click.IntRange(1, 1000), default=None, help="Number of hits.")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help=f"Filter on {', '.join(FILTER_KEYS)} (repeatable; VALUE may be A|B; body_region is "
    f"one of {', '.join(BODY_REGIONS)}).",
)
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "dense", "bm25"]),
    default="hybrid",
    show_default=True,
    help="Retrieval: dense + BM25 fused (hybrid), or one side alone.",
)
@click.option(
    "--batch",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help='JSONL file of {"qid","query"} lines; prints one JSON line per query.',
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@home_option
@errors
def search(
    query: str | None,
    k: int | None,
    filters: tuple[str, ...],
    mode: str,
    batch: Path | None,
    as_json: bool,
    home: Path | None,
) -> None:
    """Search the index and print passages with their citations."""
    parsed = api.parse_filters(filters)
    if batch is not None:
        for qid, result in api.search_batch(batch, home=home, k=k, filters=parsed, mode=mode):
            hits = [_hit_json(h) for h in result.hits] if result else []
            row: dict[str, Any] = {"qid": qid, "hits": hits}
            if result is not None and result.gate_reason.startswith("refused: "):
                row["error"] = result.gate_reason.removeprefix("refused: ")
            click.echo(json.dumps(row))
        return
    if not query:
        raise click.UsageError("Give a QUERY or --batch FILE.")
    result = api.search(query, home=home, k=k, filters=parsed, mode=mode)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "query": result.query,
                    "mode": result.mode,
                    "index_hash": result.index_hash,
                    "relevant": result.relevant,
                    "gate_reason": result.gate_reason,
                    "highest_tier": result.highest_tier.value if result.highest_tier else None,
                    "hits": [_hit_json(h) for h in result.hits],
                },
                indent=2,
            )
        )
        return
    _print_hits(result)


@main.command()
@click.argument("question", required=False)
@click.option(
    "--batch",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help='JSONL of {"qid","query"} lines; prints one JSON line per question.',
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@home_option
@errors
def ask(question: str | None, batch: Path | None, as_json: bool, home: Path | None) -> None:
    """Answer a question with cited, verified sentences (or say nothing addresses it)."""
    if batch is not None:
        for row in api.read_batch(batch, ("query",)):
            answer = api.ask(row["query"], home=home)
            click.echo(json.dumps({"qid": row["qid"], **answer.model_dump(mode="json")}))
        return
    if not question:
        raise click.UsageError("Give a QUESTION or --batch FILE.")
    answer = api.ask(question, home=home)
    if as_json:
        click.echo(answer.model_dump_json(indent=2))
        return
    click.echo(f"Stance: {answer.stance.value}   ({answer.sequence_note})\n")
    _print_checked(answer.sentences, answer.citations, answer.fabricated_ids)
    if answer.precedent:
        click.echo(f"\nPrecedent: {answer.precedent.summary}")


@main.command()
@click.option("--request", "request_", default=None, help="The item as requested.")
@click.option("--summary", default="", help="Case facts (age, injury date, surgery, records).")
@click.option(
    "--batch",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help='JSONL of {"qid","request","summary"} lines; one JSON line per input.',
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@home_option
@errors
def draft(
    request_: str | None, summary: str, batch: Path | None, as_json: bool, home: Path | None
) -> None:
    """Draft the determination block for a requested item: decision, guideline relied on,
    cited rationale, verification."""
    if batch is not None:
        for row in api.read_batch(batch, ("request", "summary")):
            result = api.draft(row["request"], row["summary"], home=home)
            click.echo(json.dumps({"qid": row["qid"], **result.model_dump(mode="json")}))
        return
    if not request_:
        raise click.UsageError("Give --request ITEM (and --summary FACTS), or --batch FILE.")
    result = api.draft(request_, summary, home=home)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
        return
    decision = result.decision.value.replace("_", " ").upper()
    click.echo(f"{result.item}:  {decision}\n")
    for line in result.guideline_relied_on:
        click.echo(f"Guideline relied on: Decision based on {line}.")
    click.echo(f"Order of authority: {result.sequence_note}\n")
    click.echo("Decision rationale:")
    _print_checked(result.sentences, result.citations, result.fabricated_ids)
    if result.missing_documentation:
        click.echo(
            "\nDocumentation that would change the outcome: "
            + "; ".join(result.missing_documentation)
        )
    if result.precedent:
        click.echo(f"Precedent: {result.precedent.summary}")


@main.group()
def index() -> None:
    """Inspect and maintain the index."""


@index.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@home_option
@errors
def index_status(as_json: bool, home: Path | None) -> None:
    """Documents, passages, model and collection of the index."""
    status = api.status(home=home)
    if as_json:
        click.echo(status.model_dump_json(indent=2))
        return
    click.echo(f"Home:        {status.home}")
    click.echo(f"Chroma:      {status.chroma}")
    click.echo(f"Collection:  {status.collection} (index hash {status.index_hash})")
    click.echo(f"Model:       {status.embedding_model}")
    click.echo(f"Documents:   {status.documents}  Passages: {status.passages}")
    click.echo("By tier:     " + ", ".join(f"{k} {v}" for k, v in sorted(status.by_tier.items())))
    if status.other_collections:
        click.echo(
            "Other indexes in this home (built with other settings or an older parser; "
            f"re-ingest to use the current ones): {', '.join(status.other_collections)}"
        )
    for r in status.records:
        click.echo(f"  {r.doc_id:<50} {r.tier.value:<20} {r.passages:>5}  {r.title[:60]}")


@index.command("check")
@click.option(
    "--repair",
    is_flag=True,
    help="Fix the drift: delete orphan passages, drop incomplete or duplicate records (the "
    "next ingest re-adds them), remove degenerate documents, re-create a damaged dense side "
    "from the stored passages, rebuild this machine's BM25 side-store from Chroma.",
)
@click.option(
    "--grace",
    type=click.FloatRange(0),
    default=DEFAULT_GRACE_S,
    show_default=True,
    help="Seconds: --repair leaves unpublished passages younger than this (an ingest may be "
    "running).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@home_option
@errors
def index_check(repair: bool, grace: float, as_json: bool, home: Path | None) -> None:
    """Check that Chroma, the manifest and the BM25 side-store agree. Exit 1 when drift is
    found and not repaired."""
    report = api.check_index(home=home, repair=repair, grace_s=grace)
    if as_json:
        click.echo(json.dumps({**report.model_dump(mode="json"), "clean": report.clean}, indent=2))
    else:
        click.echo(f"Collection:  {report.collection} ({report.chroma})")
        click.echo(
            f"Documents:   {report.documents}  Passages: {report.passages} stored, "
            f"{report.published_passages} published"
        )
        click.echo(f"BM25:        {report.bm25_state} ({report.bm25_dir})")
        dense = report.dense
        state = "healthy" if dense.healthy else "damaged"
        click.echo(
            f"Dense:       {state} ({dense.probed - len(dense.unreachable)} of {dense.probed} "
            f"probed passages found by their own vectors; {dense.compared - len(dense.stale)} "
            f"of {dense.compared} vectors match the model)"
        )
        for line in report.repaired:
            click.echo(f"repaired: {line}")
        for line in report.left:
            click.echo(f"left: {line}")
        for line in report.problems():
            click.echo(f"drift: {line}", err=True)
        click.echo("Consistent." if report.clean else "Drift found; run with --repair to fix it.")
    if not report.clean:
        sys.exit(1)


@index.command("rm")
@click.argument("doc_ids", nargs=-1, required=True)
@home_option
@errors
def index_rm(doc_ids: tuple[str, ...], home: Path | None) -> None:
    """Remove documents (by id, see `index status`) and their passages."""
    for record in api.remove(list(doc_ids), home=home):
        click.echo(f"Removed {record.doc_id} ({record.passages} passages).")


@main.command()
@home_option
@click.option("--if-missing", is_flag=True, help="Do nothing when the demo corpus is indexed.")
@errors
def demo(home: Path | None, if_missing: bool) -> None:
    """Index the bundled illustrative demo corpus (imr_assist/demo_corpus)."""
    report = api.build_demo(home=home, if_missing=if_missing, job_progress=job_bar())
    if report is None:
        click.echo("Demo corpus already indexed.")
        return
    _print_ingest(report, as_json=False)


# --------------------------------------------------------------------------- rendering


def _print_ingest(report: IngestReport, as_json: bool) -> None:
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    for f in report.files:
        line = f"[{f.status}] {f.message}"
        click.echo(line, err=f.status == "failed")
        for w in f.warnings:
            click.echo(f"    warning: {w}", err=True)
    ok = sum(f.status in {"ingested", "replaced", "unchanged"} for f in report.files)
    click.echo(
        f"{ok} of {len(report.files)} files indexed, {report.passages} passages stored, "
        f"{len(report.failed)} failed ({report.seconds:.1f} s, index {report.index_hash})."
    )


def _hit_json(hit: Hit) -> dict[str, Any]:
    p = hit.passage
    return {
        "id": p.id,
        "rank": hit.rank,
        "score": hit.score,
        "citation": hit.citation,
        "text": p.text,
        "source_path": p.source_path,
        "source_title": p.source_title,
        "doc_id": p.doc_id,
        "kind": p.kind.value,
        "tier": p.tier.value,
        "guideline": p.guideline,
        "page_start": p.page_start,
        "page_end": p.page_end,
        "page_number": p.page_number,
        "section": p.section,
        "recommendation": p.recommendation,
        "recommendation_grade": p.recommendation_grade,
        "decision": p.decision.value if p.decision else None,
    }


def _print_checked(sentences: list[Any], citations: list[Any], fabricated: list[str]) -> None:
    marks = {"supported": "✓", "weak": "~", "unsupported": "✗", "uncited": "?", "not_checked": " "}
    for check in sentences:
        click.echo(f" {marks.get(check.verdict.value, ' ')} {check.text}")
    if citations:
        click.echo("\nSources:")
        for c in citations:
            click.echo(f"  [{c.id}] {c.citation} ({c.tier.value})")
    if fabricated:
        click.echo(f"\nUNKNOWN citation ids (not in the evidence): {', '.join(fabricated)}")


def _print_hits(result: SearchResult) -> None:
    if not result.hits:
        click.echo(
            "No passages found. Ingest documents first (`imr-assist ingest PATH`) "
            "or relax the filters."
        )
        return
    if not result.relevant:
        click.echo(
            "Nothing in the index appears to address this request "
            f"({result.gate_reason}). Closest passages, for context only:"
        )
    elif result.highest_tier is not None:
        click.echo(f"Highest authority tier addressing it: {result.highest_tier.value}")
    for hit in result.hits:
        p = hit.passage
        grade = f" [{p.recommendation_grade}]" if p.recommendation_grade else ""
        click.echo(
            f"{hit.rank:>2}. {hit.citation}{grade}  ({p.tier.value}, score {hit.score:.3f}, "
            f"id {p.id})"
        )
        text = " ".join(p.text.split())
        click.echo(f"    {text[:300]}{'…' if len(text) > 300 else ''}")


from imr_assist.cli.eval import eval_group  # noqa: E402  (cli_eval reuses nothing from here)

main.add_command(eval_group)

from imr_assist.cli.ledger import ledger_group  # noqa: E402

main.add_command(ledger_group)

from imr_assist.cli.recs import recs_group  # noqa: E402

main.add_command(recs_group)

if __name__ == "__main__":  # pragma: no cover
    main()
