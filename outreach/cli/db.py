"""`outreach db`: create or migrate the database."""

from __future__ import annotations

import typer

from outreach import migrate
from outreach.db import default_engine

app = typer.Typer(help="Create, migrate and inspect the database.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision (default: the newest).")) -> None:
    """Create the database or migrate it to the newest schema (SQLite or PostgreSQL)."""
    engine = default_engine()
    now = migrate.upgrade(engine, revision)
    typer.echo(f"database {engine.url.render_as_string(hide_password=True)} is at revision {now}")


@app.command()
def current() -> None:
    """Show the database's schema revision and whether it is up to date."""
    engine = default_engine()
    now = migrate.current_revision(engine)
    head = migrate.head_revision()
    state = "up to date" if now == head else f"behind (newest is {head}): run `outreach db upgrade`"
    typer.echo(f"revision {now or 'none'}: {state}")
