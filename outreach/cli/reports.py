"""`outreach report CAMPAIGN` (what a campaign did and whether it helped) and `outreach outcomes import`."""

from __future__ import annotations

from pathlib import Path

import typer

from outreach import migrate
from outreach.campaigns.library import load_campaigns
from outreach.cli.output import end_import, import_report_path
from outreach.config import var_dir
from outreach.db import default_engine
from outreach.reports.build import FORMATS, build_report, write_report
from outreach.reports.outcomes import import_outcomes
from outreach.reports.uplift import DEFAULT_WINDOW_DAYS

outcomes_app = typer.Typer(
    help="Outcomes (claims started, appointments booked...) that measure uplift.", no_args_is_help=True
)


def report_command(
    campaign: str = typer.Argument(..., help="The campaign's name (see `outreach campaigns list`)."),
    run: int | None = typer.Option(None, "--run", help="Only this run (default: every real run)."),
    format: str = typer.Option("html", "--format", help=f"One of {', '.join(FORMATS)}."),
    out: Path | None = typer.Option(None, help="Where to write (default: var/reports/CAMPAIGN.FORMAT)."),
    window_days: int = typer.Option(
        DEFAULT_WINDOW_DAYS, min=1, max=730, help="Days after a wave an outcome counts."
    ),
) -> None:
    """Campaign report: funnel, delivery times, satisfaction, cost, uplift against the holdout group."""
    if format not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    definition = load_campaigns().get(campaign)
    engine = default_engine()
    migrate.require_current(engine)
    report = build_report(engine, definition, run, window_days)
    suffix = f"-run{run}" if run else ""
    path = out or var_dir() / "reports" / f"{campaign}{suffix}.{format}"
    write_report(engine, report, format, path)
    totals = report.totals()
    typer.echo(
        f"{campaign}: {totals['targeted']} targeted, {totals['sent']} sent, {totals['clicked']} clicked "
        f"over {len(report.runs)} run(s); report: {path}"
    )


@outcomes_app.command("import")
def import_command(
    file: Path = typer.Argument(
        ..., help="CSV with person_id, outcome, occurred_on (and optionally source)."
    ),
    source: str | None = typer.Option(None, help="Where the outcomes come from (default: the file name)."),
    report: Path | None = typer.Option(None, help="Where to list rejected rows (default: var/imports/)."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line of counts."),
) -> None:
    """Import outcome events (a claim started, an appointment booked...) from the fund's systems.

    Exit code 0: done; 5: done, but some rows were rejected (see the report); 3: the file cannot be
    used and nothing was written.
    """
    engine = default_engine()
    migrate.require_current(engine)
    report = import_report_path(file, "outcomes-report", report)
    summary = import_outcomes(engine, file, report, source=source)
    end_import(
        f"imported {summary.imported} outcomes ({summary.already_known} already known); "
        f"{summary.rejected} rows rejected; report: {summary.report}",
        summary.as_dict(),
        summary.rejected,
        as_json,
    )
