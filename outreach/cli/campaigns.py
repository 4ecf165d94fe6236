"""`outreach campaigns`: list, validate, see the schedule, and run a step from the command line."""

from __future__ import annotations

import os
from datetime import datetime

import typer

from outreach.campaigns.library import load_campaigns
from outreach.campaigns.schedule import french_datetime, upcoming_runs
from outreach.cli.output import print_json
from outreach.clock import PARIS, today_paris

app = typer.Typer(
    help="Campaigns: files in campaigns/, their schedules, running a step.", no_args_is_help=True
)


@app.command("list")
def list_campaigns() -> None:
    """The campaigns, their journey, segment and steps."""
    library = load_campaigns()
    for campaign in library.campaigns.values():
        steps = " → ".join(f"{s.name} ({'/'.join(s.channels)})" for s in campaign.steps)
        typer.echo(f"{campaign.name}  [{campaign.journey}, segment {campaign.segment}]  {steps}")


@app.command()
def validate() -> None:
    """Check every campaign file, and the segments and templates they name."""
    library = load_campaigns()
    typer.echo(f"campaigns ok: {len(library.campaigns)} campaigns, {len(library.segments.names)} segments")


@app.command()
def schedule(
    count: int = typer.Option(3, min=1, max=50, help="How many upcoming runs per campaign."),
) -> None:
    """The next runs of every campaign, in French and Paris time, holidays and closed windows marked."""
    library = load_campaigns()
    now = datetime.now(PARIS)
    for campaign in library.campaigns.values():
        runs = upcoming_runs(campaign, now, count)
        if not runs:
            typer.echo(f"{campaign.name} : pas de planification (lancement manuel)")
            continue
        typer.echo(f"{campaign.name} ({campaign.schedule.cron if campaign.schedule else ''}):")
        for run in runs:
            notes = []
            if run.holiday:
                notes.append(f"jour férié : {run.holiday}")
            if run.closed_channels:
                closed = ", ".join(run.closed_channels)
                notes.append(f"attention : {closed} hors des créneaux d'envoi, ces messages attendront")
            typer.echo(f"  {french_datetime(run.at)}" + (f"  ({'; '.join(notes)})" if notes else ""))


@app.command()
def run(
    campaign: str = typer.Argument(..., help="The campaign's name (see `outreach campaigns list`)."),
    step: str | None = typer.Option(None, help="The step (default: the first)."),
    as_of: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Reference date (default: today)."
    ),
    send: bool = typer.Option(False, "--send", help="Really send (the default is a dry run)."),
    limit: int | None = typer.Option(None, min=1, help="Send at most this many messages."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line of counts."),
    now: datetime | None = typer.Option(
        None, formats=["%Y-%m-%dT%H:%M"], help="Simulated clock, UTC (simulations and tests only)."
    ),
) -> None:
    """Run one step of a campaign directly (no Prefect): a dry run unless --send."""
    from outreach.runtime import build_runtime  # builds channels: only when running

    runtime = build_runtime()
    definition = runtime.library.get(campaign)
    step_name = step or definition.steps[0].name
    day = as_of.date() if as_of else today_paris()
    report = runtime.runner(worker=f"cli-{os.getpid()}").run_step(
        campaign, step_name, day, dry_run=not send, limit=limit, now=now
    )
    for (status, channel, reason), number in sorted(report.counts.items(), key=lambda kv: -kv[1]):
        typer.echo(f"{number:>8}  {status:<9} {channel or '-':<7} {reason or '-'}")
    if report.previews:
        typer.echo(f"previews: {report.previews[0].parent}")
    for line in report.waiting_lines() if send else ():
        typer.echo(f"waiting: {line}")
    if as_json:
        print_json({"run_id": report.run_id, "step": step_name, "dry_run": not send, **report.by_status()})
