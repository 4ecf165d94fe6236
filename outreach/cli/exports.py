"""`outreach export`: partner lists (files in partners/), their manifest and audit entry."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from outreach import migrate
from outreach.cli.output import print_json
from outreach.clock import today_paris
from outreach.db import default_engine
from outreach.exports.export import export_partner_list
from outreach.exports.profile import load_profile, load_profiles
from outreach.segments.library import load_library

app = typer.Typer(
    help="Partner exports: lists limited to what each partner profile allows.", no_args_is_help=True
)


@app.command()
def validate() -> None:
    """Check every partner profile (columns, segments, territory) without exporting anything."""
    profiles = load_profiles(load_library())
    typer.echo(f"partner profiles ok: {len(profiles)}")


@app.command("list")
def list_profiles() -> None:
    """The partner profiles, their segments and columns."""
    for loaded in load_profiles(load_library()):
        profile = loaded.profile
        typer.echo(
            f"{profile.name}  [{profile.format}{', pseudonymised' if profile.pseudonymise else ''}]  "
            f"segments: {', '.join(profile.segments)}  columns: {', '.join(profile.columns)}"
        )


@app.command()
def partner(
    name: str = typer.Argument(..., help="The profile's name (a file partners/NAME.yaml)."),
    as_of: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Membership date (default: today in Paris)."
    ),
    out: Path | None = typer.Option(None, help="Folder for the list (default: var/exports/NAME/)."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line of counts."),
) -> None:
    """Write a partner's list, its manifest (rows, columns, SHA-256, segment versions) and an audit entry."""
    library = load_library()
    loaded = load_profile(name, library)  # checked before anything is read or written
    engine = default_engine()
    migrate.require_current(engine)
    day = as_of.date() if as_of else today_paris()
    result = export_partner_list(engine, loaded.profile, library, day, out, public_key=loaded.public_key_path)
    typer.echo(f"exported {result.rows} people to {result.path} (sha256 {result.sha256[:16]}…)")
    typer.echo(f"manifest: {result.manifest_path}")
    if as_json:
        print_json(
            {
                "profile": result.profile,
                "rows": result.rows,
                "file": str(result.path),
                "manifest": str(result.manifest_path),
                "sha256": result.sha256,
                "audit_id": result.audit_id,
            }
        )
