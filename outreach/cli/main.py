"""Entry point of the `outreach` command.

Errors an operator can fix are printed as one line (`error: ...`) with a meaningful exit code; the
traceback appears only with `--debug`. Exit codes: 0 ok, 1 error, 2 configuration, 3 input file,
4 database, 130 interrupted.
"""

from __future__ import annotations

import sys

import click
import typer

from outreach.cli import campaigns as campaign_commands
from outreach.cli import complaints as complaints_commands
from outreach.cli import db as db_commands
from outreach.cli import emulator as emulator_commands
from outreach.cli import exports as export_commands
from outreach.cli import letters as letter_commands
from outreach.cli import population as population_commands
from outreach.cli import privacy as privacy_commands
from outreach.cli import reports as report_commands
from outreach.cli import segments as segments_commands
from outreach.cli import templates as templates_commands
from outreach.cli import tracking as tracking_commands
from outreach.cli.demo import demo_command
from outreach.cli.output import fail
from outreach.cli.serve import serve_command, worker_command
from outreach.errors import OutreachError

app = typer.Typer(
    help="Proactive outreach campaigns for CARSAT Centre-Ouest.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(emulator_commands.app, name="emulator")
app.add_typer(population_commands.app, name="population")
app.add_typer(complaints_commands.app, name="complaints")
app.add_typer(templates_commands.app, name="templates")
app.add_typer(segments_commands.app, name="segments")
app.add_typer(tracking_commands.app, name="tracking")
app.add_typer(campaign_commands.app, name="campaigns")
app.add_typer(export_commands.app, name="export")
app.add_typer(letter_commands.app, name="letters")
app.add_typer(report_commands.outcomes_app, name="outcomes")
app.command("report")(report_commands.report_command)
app.command("audit")(privacy_commands.audit_command)
app.command("purge")(privacy_commands.purge_command)
app.add_typer(privacy_commands.person_app, name="person")
app.command("demo")(demo_command)
app.command("serve")(serve_command)
app.command("worker")(worker_command)

_state = {"debug": False}


@app.callback()
def main(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error."),
) -> None:
    """Segments, campaigns, delivery and tracking for the fund's insured people."""
    _state["debug"] = debug


def run() -> None:
    """Run the CLI, turning known errors into one readable line and a meaningful exit code."""
    try:
        result = app(standalone_mode=False)
    except click.ClickException as exc:  # usage errors: click's own message and exit code
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        fail("interrupted", 130)
    except OutreachError as exc:
        if _state["debug"]:
            raise
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:
        if _state["debug"] or "--debug" in sys.argv:
            raise
        fail(f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)", 1)
    sys.exit(result if isinstance(result, int) else 0)
