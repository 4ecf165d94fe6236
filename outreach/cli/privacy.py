"""`outreach audit`, `outreach purge` and `outreach person show / object / erase`: privacy at the desk."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

import typer
from sqlalchemy import Engine

from outreach import migrate
from outreach.cli.output import print_json
from outreach.db import default_engine
from outreach.privacy.audit_log import AuditFilter, list_entries
from outreach.privacy.erasure import erase
from outreach.privacy.objection import OBJECTION_CHANNELS, record_objection
from outreach.privacy.person import show_person
from outreach.privacy.person_text import CHANNEL_LABELS, render_text
from outreach.privacy.purge import purge
from outreach.privacy.retention import DEFAULT_FILE, load_policy

person_app = typer.Typer(help="A person's rights: see everything held, object, erase.", no_args_is_help=True)
ObjectionChannel = StrEnum("ObjectionChannel", {name: name for name in OBJECTION_CHANNELS})  # type: ignore[misc]


def _engine() -> Engine:
    engine = default_engine()
    migrate.require_current(engine)
    return engine


def audit_command(
    action: str | None = typer.Option(None, help="Only this action (import, export, campaign_run, ...)."),
    since: datetime | None = typer.Option(None, formats=["%Y-%m-%d"], help="Only entries from this day on."),
    actor: str | None = typer.Option(None, help="Only entries by this actor."),
    target: str | None = typer.Option(None, help="Only entries about this target (e.g. a person id)."),
    limit: int = typer.Option(100, min=1, help="At most this many entries, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """List the audit trail: who did what, when, and how many (newest first)."""
    with _engine().connect() as connection:
        entries = list_entries(connection, AuditFilter(action, actor, target, since, limit))
    for entry in entries:
        if as_json:
            print_json(entry)
        else:
            count = "-" if entry["count"] is None else entry["count"]
            typer.echo(
                f"{entry['at']:%Y-%m-%d %H:%M:%S}  {entry['actor']:<16} {entry['action']:<14} "
                f"{entry['target']}  ({count})  {json.dumps(entry['details'], ensure_ascii=False)}"
            )
    if not entries and not as_json:
        typer.echo("no audit entry matches")


def purge_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be deleted; delete nothing."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line of counts."),
) -> None:
    """Delete what is older than its retention period (retention.yaml), keeping aggregate counts."""
    report = purge(_engine(), load_policy(DEFAULT_FILE), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for kind, count in report.counts.items():
        typer.echo(f"{kind:<20} {count:>8}  {verb}")
    if report.aggregated_runs:
        typer.echo(f"runs counted into message_aggregates: {', '.join(map(str, report.aggregated_runs))}")
    if as_json:
        print_json({"dry_run": dry_run, "counts": report.counts, "aggregated_runs": report.aggregated_runs})


@person_app.command("show")
def show(
    person_id: str = typer.Argument(..., help="The person's fund identifier."),
    as_json: bool = typer.Option(False, "--json", help="Everything as one JSON object."),
) -> None:
    """Everything held about a person: fields, opt-outs, complaints, segments, messages, exports, audit."""
    held = show_person(_engine(), person_id)
    if as_json:
        print_json(held)
    else:
        typer.echo(render_text(held))


@person_app.command("object")
def object_(
    person_id: str = typer.Argument(..., help="The person's fund identifier."),
    channel: ObjectionChannel = typer.Option(..., help="What the person objects to."),  # type: ignore[valid-type]
) -> None:
    """Record an objection: every campaign (and partner export) honours it from the next step on."""
    result = record_objection(_engine(), person_id, channel.value)
    label = CHANNEL_LABELS[result.channel]
    if result.recorded:
        typer.echo(f"opposition de {person_id} enregistrée : {label}")
    else:
        typer.echo(f"{person_id} était déjà opposé(e) : {label} (origine : {result.earlier_source})")


@person_app.command("erase")
def erase_command(person_id: str = typer.Argument(..., help="The person's fund identifier.")) -> None:
    """Erase a person at their request, where the law allows; keep only a keyed hash of the id."""
    result = erase(_engine(), person_id)
    removed = ", ".join(f"{table} {count}" for table, count in result.removed.items() if count)
    typer.echo(
        f"{person_id} effacé(e) le {result.erased_on:%d/%m/%Y} ({removed}) ; "
        f"ne sera plus importé(e) (empreinte {result.digest[:16]}…)"
    )
