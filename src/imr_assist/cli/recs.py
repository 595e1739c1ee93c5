"""`imr-assist recs list`: the recommendation records read from the indexed guidelines."""

from __future__ import annotations

import json
from pathlib import Path

import click

from imr_assist import api
from imr_assist.cli.common import errors, home_option
from imr_assist.reasoning.models import Recommendation


@click.group("recs")
def recs_group() -> None:
    """Recommendation records read from the guidelines at ingest."""


@recs_group.command("list")
@click.option(
    "--guideline",
    default=None,
    help="Only this guideline (its short name, as `recs list` prints it).",
)
@click.option("--doc", "doc_id", default=None, help="Only this document (id, see `index status`).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per record).")
@home_option
@errors
def recs_list(guideline: str | None, doc_id: str | None, as_json: bool, home: Path | None) -> None:
    """Recommendations with direction, strength as printed, population, criteria and limits."""
    records = api.recommendations(guideline=guideline, doc_id=doc_id, home=home)
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return
    if not records:
        click.echo(
            "No recommendation records match. Ingest guidelines first (`imr-assist ingest "
            "PATH`); a guideline whose statements were not recognised is searchable as passages."
        )
        return
    current = None
    for rec in records:
        if rec.guideline != current:
            current = rec.guideline
            click.echo(f"\n{rec.guideline} ({rec.tier.value})")
        click.echo(_line(rec))


def _line(rec: Recommendation) -> str:
    pages = rec.page_start if rec.page_start == rec.page_end else f"{rec.page_start}-{rec.page_end}"
    head = f"  {rec.label} [{rec.direction.value}, {rec.strength_text}] p. {pages or '-'}"
    lines = [head, f"      {rec.statement[:200]}{'…' if len(rec.statement) > 200 else ''}"]
    phases = ", ".join(p.value for p in rec.phases)
    lines.append(f"      about: {'; '.join(rec.interventions)}  (phase: {phases})")
    lines += [f"      criterion: {c[:160]}" for c in rec.criteria]
    lines += [f"      limit: {x[:160]}" for x in rec.limits]
    return "\n".join(lines)
