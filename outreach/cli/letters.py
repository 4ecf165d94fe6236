"""`outreach letters returns ...`: letters that La Poste brought back (plis non distribués)."""

from __future__ import annotations

from pathlib import Path

import typer

from outreach import migrate
from outreach.cli.output import end_import, import_report_path, print_json
from outreach.db import default_engine
from outreach.errors import OutreachError
from outreach.letters.returns import import_returns, mark_reviewed, pending_reviews

app = typer.Typer(help="Postal letters after they leave.", no_args_is_help=True)
returns_app = typer.Typer(help="Returned letters (plis non distribués).", no_args_is_help=True)
app.add_typer(returns_app, name="returns")


@returns_app.command("import")
def import_command(
    file: Path = typer.Argument(
        ..., help="The return file: UTF-8 CSV with reference (CO-m…), returned_on and reason columns."
    ),
    report: Path | None = typer.Option(None, help="Where to list rejected rows (default: var/imports/)."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line of counts."),
) -> None:
    """Import returned letters: each marks its address invalid, as a hard bounce of the letter.

    "Décédé" returns are listed for an operator (`outreach letters returns review`), never applied.
    Exit code 0: done; 5: done, but some rows were rejected (see the report); 3: the file cannot be
    used and nothing was written.
    """
    engine = default_engine()
    migrate.require_current(engine)
    report = import_report_path(file, "returns-report", report)
    summary = import_returns(engine, file, report)
    end_import(
        f"imported {summary.imported} returned letters ({summary.addresses_invalidated} addresses marked "
        f"invalid, {summary.for_review} for review, {summary.already_known} already known); "
        f"{summary.rejected} rows rejected; report: {summary.report}",
        summary.as_dict(),
        summary.rejected,
        as_json,
    )


@returns_app.command("review")
def review_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON line per return."),
    done: str | None = typer.Option(
        None,
        "--done",
        metavar="CO-m…",
        help="Mark this return checked: messages may go to the person again (record a confirmed death "
        "through the population extract, status deceased).",
    ),
) -> None:
    """List the "décédé" returns waiting for an operator (nothing is sent to these people meanwhile)."""
    engine = default_engine()
    migrate.require_current(engine)
    if done is not None:
        if not mark_reviewed(engine, done):
            raise OutreachError(
                f"{done}: no returned letter of this reference waits for review (see the list)"
            )
        typer.echo(f"{done.strip()}: reviewed; messages may reach this person again")
        return
    with engine.connect() as connection:
        pending = pending_reviews(connection)
    for item in pending:
        if as_json:
            print_json(item)
        else:
            typer.echo(f"{item['reference']}  {item['person_id']}  returned {item['returned_on']}  (décédé)")
    if not as_json:
        typer.echo(f"{len(pending)} returned letter(s) marked 'décédé' waiting for review")
