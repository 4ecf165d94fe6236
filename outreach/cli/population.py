"""`outreach population`: import the fund's extract, or generate a synthetic population."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer

from outreach import migrate
from outreach.cli.output import end_import, import_report_path
from outreach.db import default_engine
from outreach.population import generator
from outreach.population.importer import import_population

app = typer.Typer(help="Import or generate the insured population.", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="The extract: UTF-8 CSV with a header row (see README)."),
    report: Path | None = typer.Option(
        None, help="Where to write rejected rows and warnings (default: var/imports/)."
    ),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line of counts."),
) -> None:
    """Import (or update) people from the fund's CSV extract.

    Rows without a usable identity are rejected and listed in the report; unusable contact details are
    left out with a warning. Exit code 0: done; 5: done, but some rows were rejected; 3: the file
    cannot be used and nothing was written.
    """
    engine = default_engine()
    migrate.require_current(engine)
    report = import_report_path(file, "report", report)
    summary = import_population(engine, file, report)
    end_import(
        f"imported {summary.imported} people ({summary.created} new, {summary.updated} updated); "
        f"{summary.rejected} rows rejected, {summary.warnings} warnings; report: {summary.report}",
        summary.as_dict(),
        summary.rejected,
        as_json,
    )


@app.command()
def generate(
    size: int = typer.Option(10_000, min=1, help="How many people."),
    seed: int = typer.Option(42, help="Same seed, same people."),
    as_of: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Reference date for ages (default: today in Paris)."
    ),
    csv_path: Path | None = typer.Option(
        None, "--csv", help="Write the extract CSV here instead of loading the database."
    ),
) -> None:
    """Generate a synthetic French population in the fund's territory (never real people)."""
    reference: date | None = as_of.date() if as_of else None
    if csv_path:
        rows = generator.write_csv(csv_path, size, seed, reference)
        typer.echo(f"wrote {rows} people to {csv_path}")
        return
    engine = default_engine()
    migrate.require_current(engine)
    loaded = generator.load_database(engine, size, seed, reference)
    typer.echo(
        f"loaded {loaded.people} people, {loaded.opt_outs} opt-outs, {loaded.complaints} complaints "
        f"({loaded.warnings} unusable contact details left out)"
    )
