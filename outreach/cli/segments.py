"""`outreach segments`: list, validate, count, list members, refresh history, explain."""

from __future__ import annotations

import csv
import json
import sys
import time
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer
from sqlalchemy import Engine, Select, select

from outreach import migrate
from outreach.clock import today_paris
from outreach.db import default_engine
from outreach.errors import ConfigurationError
from outreach.segments import explain as explaining
from outreach.segments import history
from outreach.segments.compiler import PEOPLE, count_query, segment_query
from outreach.segments.errors import SegmentErrors
from outreach.segments.library import load_library
from outreach.segments.retirement_ages import legal_age_table

app = typer.Typer(help="Segments: who a campaign talks to (YAML rules in segments/).", no_args_is_help=True)

MEMBER_COLUMNS = ("person_id", "civility", "first_name", "last_name", "birth_date", "status")
"""What `members` prints: enough to recognise people in a preview, no contact details."""

AS_OF_HELP = "Reference date YYYY-MM-DD (default: today in Europe/Paris)."
DIR_HELP = "Folder of segment files (default: segments/ of the project)."


class Format(StrEnum):
    """Output formats of `members`."""

    csv = "csv"
    json = "json"


def _as_of(value: str | None) -> date:
    if value is None:
        return today_paris()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(
            f"--as-of {value!r} is not a date; write it YYYY-MM-DD, e.g. 2026-11-26"
        ) from None


def _engine() -> Engine:
    engine = default_engine()
    migrate.require_current(engine)
    return engine


def _with_person_columns(ids: Select) -> Select:
    """The member listing's columns for the people selected by `ids` (a SELECT of person_id)."""
    chosen = ids.order_by(None).subquery()
    return (
        select(*(PEOPLE.c[name] for name in MEMBER_COLUMNS))
        .join_from(chosen, PEOPLE, chosen.c.person_id == PEOPLE.c.person_id)
        .order_by(PEOPLE.c.person_id)
    )


@app.command("list")
def list_segments(directory: Path = typer.Option(None, "--dir", help=DIR_HELP)) -> None:
    """List the segments: name, journeys, description."""
    library = load_library(directory)
    for segment in library.segments.values():
        summary = " ".join(segment.description.split())
        typer.echo(f"{segment.name}\t{','.join(segment.journeys)}\t{summary}")


@app.command()
def validate(directory: Path = typer.Option(None, "--dir", help=DIR_HELP)) -> None:
    """Check every segment file (and the legal-age table); print each problem with its file and line."""
    try:
        library = load_library(directory)
        table = legal_age_table()
    except SegmentErrors as errors:
        for problem in errors.problems:
            typer.echo(f"error: {problem}", err=True)
        typer.echo(f"{len(errors.problems)} problem(s) found; nothing is valid until all are fixed", err=True)
        raise typer.Exit(errors.exit_code) from None
    typer.echo(f"{len(library.segments)} segments valid: {', '.join(library.segments)}")
    typer.echo(f"legal retirement ages: {table.source} (recorded {table.recorded_on})")


@app.command()
def count(
    name: str,
    as_of: str = typer.Option(None, "--as-of", help=AS_OF_HELP),
    directory: Path = typer.Option(None, "--dir", help=DIR_HELP),
) -> None:
    """How many people are in segment NAME on the as-of date (computed now, not from history)."""
    library, day = load_library(directory), _as_of(as_of)
    library.get(name)
    with _engine().connect() as connection:
        total = connection.execute(count_query(library, name, day)).scalar_one()
    typer.echo(f"{name} as of {day}: {total}")


@app.command()
def members(
    name: str,
    as_of: str = typer.Option(None, "--as-of", help=AS_OF_HELP),
    output: Format = typer.Option(Format.csv, "--format", help="csv (with a header) or json (an array)."),
    recorded: bool = typer.Option(False, "--recorded", help="Who the history says was in on the as-of date."),
    new: bool = typer.Option(False, "--new", help="Only those who entered at the latest refresh."),
    directory: Path = typer.Option(None, "--dir", help=DIR_HELP),
) -> None:
    """Print the members of segment NAME, streamed (memory does not grow with the segment)."""
    library, day = load_library(directory), _as_of(as_of)
    library.get(name)
    if recorded and new:
        raise ConfigurationError("--recorded and --new cannot be combined; choose one")
    with _engine().connect() as connection:
        if recorded:
            ids = history.members_on(connection, name, day)
        elif new:
            ids = history.new_members(connection, name)
        else:
            ids = segment_query(library, name, day)
        rows = connection.execution_options(yield_per=5000).execute(_with_person_columns(ids))
        if output is Format.csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(MEMBER_COLUMNS)
            for row in rows:
                writer.writerow(["" if value is None else value for value in row])
            return
        typer.echo("[")
        first = True
        for row in rows:
            item = json.dumps(dict(zip(MEMBER_COLUMNS, row, strict=True)), ensure_ascii=False, default=str)
            typer.echo(("" if first else ",") + item)
            first = False
        typer.echo("]")


@app.command()
def refresh(
    name: str = typer.Argument(None, help="Segment to refresh (default: all of them)."),
    as_of: str = typer.Option(None, "--as-of", help=AS_OF_HELP),
    directory: Path = typer.Option(None, "--dir", help=DIR_HELP),
) -> None:
    """Evaluate segments at the as-of date and record who entered and who left since the last refresh."""
    library, day = load_library(directory), _as_of(as_of)
    names = [library.get(name).name] if name else library.names
    engine = _engine()
    for segment in names:
        started = time.perf_counter()
        with engine.begin() as connection:
            result = history.refresh(connection, library, segment, day)
        typer.echo(
            f"{segment} as of {day}: {result.members} members "
            f"(+{result.entered} entered, -{result.left} left) in {time.perf_counter() - started:.2f} s"
        )


@app.command()
def explain(
    name: str,
    as_of: str = typer.Option(None, "--as-of", help=AS_OF_HELP),
    person: str = typer.Option(None, "--person", help="A person_id: show which condition keeps them out."),
    directory: Path = typer.Option(None, "--dir", help=DIR_HELP),
) -> None:
    """Show the rule of NAME in words and its SQL; with --person, each condition's verdict for them."""
    library, day = load_library(directory), _as_of(as_of)
    segment = library.get(name)
    typer.echo(f"{segment.name} ({', '.join(segment.journeys)}), {segment.path}, as of {day}")
    if person is None:
        for line in explaining.rule_lines(library, name, day):
            typer.echo(f"  {line}")
        engine = default_engine()
        typer.echo(f"\nSQL ({engine.dialect.name}):")
        typer.echo(explaining.sql_text(library, name, day, engine.dialect))
        return
    with _engine().connect() as connection:
        verdicts = explaining.explain_person(connection, library, name, day, person)
    for verdict in verdicts:
        mark = "yes" if verdict.passed else "NO "
        where = f"  [line {verdict.line}]" if verdict.line else ""
        blame = "   <- keeps them out" if verdict.blocking else ""
        typer.echo(f"  {mark} {'  ' * verdict.depth}{verdict.text}{where}{blame}")
    inside = not any(v.blocking for v in verdicts)
    typer.echo(f"{person} is {'a member' if inside else 'not a member'} of {name} as of {day}")
