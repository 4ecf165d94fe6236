"""`outreach complaints`: import the fund's complaints file (réclamations)."""

from __future__ import annotations

from pathlib import Path

import typer

from outreach import migrate
from outreach.cli.output import end_import, import_report_path
from outreach.complaints.importer import import_complaints
from outreach.db import default_engine

app = typer.Typer(
    help="Import the complaints (réclamations) the complaint journey follows.", no_args_is_help=True
)


@app.command("import")
def import_command(
    file: Path = typer.Argument(
        ...,
        help="UTF-8 CSV: complaint_id, person_id, received_on, received_by, "
        "subject, closed_on, outcome (see README).",
    ),
    report: Path | None = typer.Option(
        None, help="Where to write rejected rows and warnings (default: var/imports/)."
    ),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line of counts."),
) -> None:
    """Import (or update, by complaint_id) complaints: a later file closes what an earlier one opened.

    Exit code 0: done; 5: done, but some rows were rejected (see the report); 3: the file cannot be
    used and nothing was written.
    """
    engine = default_engine()
    migrate.require_current(engine)
    report = import_report_path(file, "report", report)
    summary = import_complaints(engine, file, report)
    end_import(
        f"imported {summary.imported} complaints ({summary.open} open, {summary.closed} closed); "
        f"{summary.rejected} rows rejected, {summary.warnings} warnings; report: {summary.report}",
        summary.as_dict(),
        summary.rejected,
        as_json,
    )
