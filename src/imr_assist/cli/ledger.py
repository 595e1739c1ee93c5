"""`imr-assist ledger ...`: list, show, export and verify the review ledger (thin shell)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from imr_assist.api import load_settings
from imr_assist.cli.common import errors, home_option
from imr_assist.review.export import FORMATS, export_review
from imr_assist.review.ledger import Ledger, Review, ReviewStatus, open_ledger


def _ledger(home: Path | None) -> Ledger:
    return open_ledger(load_settings(home))


@click.group("ledger")
def ledger_group() -> None:
    """The review ledger: accepted and rejected drafts, export, tamper check."""


@ledger_group.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in ReviewStatus]),
    default=None,
    help="Only reviews with this status.",
)
@click.option("--reviewer", default=None, help="Only reviews this reviewer acted on.")
@click.option("--search", "text", default=None, help="Text in the item, texts or reasons.")
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True, help="At most.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per review).")
@home_option
@errors
def ledger_list(
    status: str | None,
    reviewer: str | None,
    text: str | None,
    limit: int,
    as_json: bool,
    home: Path | None,
) -> None:
    """Reviews, most recently active first."""
    reviews = _ledger(home).reviews(status=status, reviewer=reviewer, text=text, limit=limit)
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in reviews], indent=2))
        return
    if not reviews:
        click.echo("No reviews match. Drafts enter the ledger from the workspace's Accept page.")
        return
    for r in reviews:
        click.echo(
            f"{r.review_id}  {r.status.value:<8}  {r.updated_at}  {r.reviewer[:20]:<20}  "
            f"{r.item[:60]}"
        )


@ledger_group.command("show")
@click.argument("review_id")
@click.option("--json", "as_json", is_flag=True, help="Print the review and its events as JSON.")
@home_option
@errors
def ledger_show(review_id: str, as_json: bool, home: Path | None) -> None:
    """One review: who, when, texts, diff, evidence snapshot, verification, events."""
    ledger = _ledger(home)
    review = ledger.review(review_id)
    events = ledger.events(review_id)
    if as_json:
        data = {
            "review": review.model_dump(mode="json"),
            "events": [e.model_dump(mode="json") for e in events],
        }
        click.echo(json.dumps(data, indent=2))
        return
    _print_review(review)
    click.echo("\nEvents:")
    for e in events:
        click.echo(f"  #{e.seq:<5} {e.at}  {e.kind.value:<8}  {e.reviewer}  {e.hash[:16]}")


@ledger_group.command("export")
@click.argument("review_id")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), required=True, help="Markdown or Word."
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write."
)
@click.option(
    "--reviewer",
    default=None,
    help="Who exports (recorded in the ledger). Default: the reviewer who accepted it.",
)
@click.option(
    "--unaccepted", is_flag=True, help="Export an open or rejected review, marked as a draft."
)
@home_option
@errors
def ledger_export(
    review_id: str,
    fmt: str,
    out: Path,
    reviewer: str | None,
    unaccepted: bool,
    home: Path | None,
) -> None:
    """Export a determination in the IMR layout and record the export.

    Identifiers are removed from its texts unless IMR_LEDGER__REDACT_EXPORTS=false; the file
    carries the ledger's chain head (check it later with `ledger verify --head`)."""
    settings = load_settings(home)
    path = export_review(
        open_ledger(settings),
        review_id,
        fmt,
        out,
        reviewer=reviewer,
        allow_unaccepted=unaccepted,
        redact=settings.ledger.redact_exports,
    )
    click.echo(f"Wrote {path}.")


@ledger_group.command("verify")
@click.option(
    "--head",
    "head",
    default=None,
    metavar="HASH",
    help="A chain head recorded elsewhere (an export, an earlier verify): it must still be an "
    "event of the chain.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the check as JSON.")
@home_option
@errors
def ledger_verify(head: str | None, as_json: bool, home: Path | None) -> None:
    """Check the hash chain of every event, each event's MAC under the ledger key and the head
    record kept outside the ledger (the SQLite file in IMR_HOME, or the PostgreSQL ledger at
    IMR_LEDGER__URL). Exit 1, naming the first bad event, if tampered; a
    missing ledger file is an error, never a new empty ledger."""
    ledger = _ledger(home)
    check = ledger.verify(head=head)
    if as_json:
        click.echo(check.model_dump_json(indent=2))
    else:
        click.echo(f"Ledger: {ledger.where}")  # the file, or the shared URL (password hidden)
        click.echo(check.message, err=not check.ok)
        if check.ok:
            click.echo(f"Chain head: {check.head_hash}")
    if not check.ok:
        sys.exit(1)


def _print_review(r: Review) -> None:
    click.echo(f"Review {r.review_id}: {r.status.value.upper()} ({r.kind})")
    click.echo(f"Item:         {r.item}")
    if r.decision is not None:
        click.echo(f"Decision:     {r.decision.value.replace('_', ' ')}")
    click.echo(f"Reviewer:     {r.reviewer}")
    click.echo(f"Drafted:      {r.created_at} by {r.drafter}")
    if r.decided_at:
        click.echo(f"{r.status.value.capitalize() + ':':<13} {r.decided_at}")
    if r.override_reason:
        click.echo(f"Override:     {r.override_reason}")
    if r.reject_reason:
        click.echo(f"Rejected for: {r.reject_reason}")
    click.echo(f"Settings:     {r.settings_hash}")
    for line in r.guideline_relied_on:
        click.echo(f"Guideline relied on: {line}")
    click.echo(f"\nGenerated text:\n{r.generated_text}")
    click.echo(f"\nFinal text:\n{r.final_text}")
    click.echo(f"\nDiff (generated -> final):\n{r.diff or '(no changes)'}")
    if r.verification is not None:
        v = r.verification
        click.echo(
            f"\nVerification: {v.supported} supported, {v.weak} weak, {v.unsupported} "
            f"unsupported, {v.uncited} uncited"
        )
        for line in v.blockers:
            click.echo(f"  blocker: {line}")
    click.echo(f"\nEvidence snapshot ({len(r.evidence)} passages):")
    for e in r.evidence:
        click.echo(f"  [{e.id}] sha256 {e.text_sha256[:16]}  {e.citation}")
    if r.exports:
        click.echo(f"Exported: {', '.join(r.exports)}")
