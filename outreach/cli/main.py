"""Entry point of the `outreach` command.

Errors an operator can fix are printed as one line (`error: ...`) with a meaningful exit code; the
traceback appears only with `--debug`. Exit codes: 0 ok, 1 error, 2 configuration, 3 input file,
4 database, 130 interrupted.
"""

from __future__ import annotations

import sys

import click
import typer

from outreach.cli import db as db_commands
from outreach.cli import population as population_commands
from outreach.cli.output import fail
from outreach.errors import OutreachError

app = typer.Typer(
    help="Proactive outreach campaigns for CARSAT Centre-Ouest.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(population_commands.app, name="population")

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
