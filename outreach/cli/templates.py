"""`outreach templates`: check the message templates and preview them before anything is sent."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import select

from outreach.clock import today_paris
from outreach.config import PROJECT_ROOT, var_dir
from outreach.errors import ConfigurationError
from outreach.rendering.renderer import Renderer

app = typer.Typer(help="Check and preview the e-mail, SMS and letter templates.", no_args_is_help=True)

_DIR_OPTION = typer.Option(None, "--dir", help="Templates folder (default: templates/ of the project).")


def _renderer(templates_dir: Path | None) -> Renderer:
    root = templates_dir or PROJECT_ROOT / "templates"
    if not root.is_dir():
        raise ConfigurationError(f"templates folder {root} not found (run from the project or pass --dir)")
    return Renderer(root)


@app.command()
def lint(templates_dir: Path | None = _DIR_OPTION) -> None:
    """Check syntax, variables, SMS lengths (printed per template, worst case), accents, accessibility
    and links of every template."""
    from outreach.rendering.lint import lint as lint_templates
    from outreach.rendering.lint import sms_costs

    renderer = _renderer(templates_dir)
    problems = lint_templates(renderer)
    for cost in sms_costs(renderer):
        typer.echo(str(cost))
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        raise ConfigurationError(f"{len(problems)} problem(s) in the templates under {renderer.root}")
    counts = ", ".join(f"{len(renderer.names(c))} {c}" for c in ("email", "sms", "letter"))
    typer.echo(f"templates ok: {counts}")


def _person_from_database(person_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `people` row of `person_id` and, if they have one, their latest complaint as `extra`."""
    from outreach.db import default_engine
    from outreach.models import Complaint, Person
    from outreach.population.columns import PERSON_FIELDS

    with default_engine().connect() as connection:
        row = (
            connection.execute(select(Person.__table__).where(Person.person_id == person_id))
            .mappings()
            .first()
        )
        if row is None:
            raise ConfigurationError(f"person {person_id!r} is not in the people table (check the id)")
        complaint = (
            connection.execute(
                select(Complaint.complaint_id, Complaint.opened_on)
                .where(Complaint.person_id == person_id)
                .order_by(Complaint.opened_on.desc())
            )
            .mappings()
            .first()
        )
    person = {column: row[column] for column in PERSON_FIELDS if column in row}
    extra = {}
    if complaint is not None:
        extra = {
            "complaint_reference": complaint["complaint_id"],
            "complaint_opened_on": complaint["opened_on"],
        }
    return person, extra


@app.command()
def preview(
    name: str = typer.Argument(..., help="Template name, e.g. career_statement_35 or ..._fragile."),
    person: str | None = typer.Option(None, "--person", help="Render for this person_id of the database."),
    sample: bool = typer.Option(
        False, "--sample", help="Render for the built-in synthetic people (default)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default: var/preview/NAME)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Date of the message, YYYY-MM-DD (default: today)."
    ),
    templates_dir: Path | None = _DIR_OPTION,
) -> None:
    """Write the e-mail (HTML, text), the SMS with its segment count and the letter PDF + PNG."""
    from outreach.rendering.preview import write_preview
    from outreach.rendering.samples import SAMPLE_EXTRA, SAMPLE_PEOPLE

    if person and sample:
        raise ConfigurationError("choose --person ID or --sample, not both")
    renderer = _renderer(templates_dir)
    extra: dict[str, Any] = dict(SAMPLE_EXTRA)
    if person:
        row, person_extra = _person_from_database(person)
        people, extra = [row], {**extra, **person_extra}
    else:
        people = list(SAMPLE_PEOPLE)
    try:
        day = date.fromisoformat(as_of) if as_of else today_paris()
    except ValueError as exc:
        raise ConfigurationError(f"--as-of {as_of!r} is not a date (use YYYY-MM-DD)") from exc
    out_dir = out or var_dir() / "preview" / name
    report = write_preview(renderer, name, people, out_dir, as_of=day, extra=extra)
    for path in report.written:
        typer.echo(f"wrote {path}")
    for sms_file in (p for p in report.written if p.name.endswith(".sms.txt")):
        typer.echo(f"{sms_file.name}: {sms_file.read_text(encoding='utf-8').rsplit('-- ', 1)[-1].strip()}")
    if report.errors:
        for error in report.errors:
            typer.echo(f"not rendered: {error}", err=True)
        raise ConfigurationError(f"{len(report.errors)} message(s) of {name!r} could not be rendered")
