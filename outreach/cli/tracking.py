"""`outreach tracking`: run the public tracking service, replay its spool, refresh digital affinity."""

from __future__ import annotations

import typer

from outreach import migrate
from outreach.cli.output import print_json
from outreach.clock import utcnow
from outreach.db import default_engine
from outreach.tracking.feedback import refresh_affinity
from outreach.tracking.ingest import replay_spool
from outreach.tracking.settings import TrackingSettings

app = typer.Typer(
    help="Tracking: provider webhooks, our own links, engagement feedback.", no_args_is_help=True
)


@app.command()
def serve(
    host: str = typer.Option(
        "127.0.0.1", help="Interface to listen on (a reverse proxy faces the internet)."
    ),
    port: int = typer.Option(8026, help="Port to listen on."),
    workers: int = typer.Option(
        1, min=1, help="Processes: 2 or more on PostgreSQL; 1 on SQLite, which has one writer."
    ),
) -> None:
    """Serve the webhooks, the pixel, click redirects, letter responses, unsubscribe and survey pages."""
    import uvicorn

    migrate.require_current(default_engine())
    TrackingSettings.from_env()  # fail here, with the fix, rather than in every worker
    uvicorn.run(
        "outreach.tracking.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@app.command()
def replay() -> None:
    """Store the batches spooled while the database was unavailable (safe to run at any time)."""
    engine = default_engine()
    migrate.require_current(engine)
    settings = TrackingSettings.from_env()
    result = replay_spool(engine, settings.spool)
    print_json(
        {
            "files": result.files,
            "stored": result.stored,
            "unmatched": result.unmatched,
            "duplicates": result.duplicates,
            "left": result.left,
        }
    )
    if result.left:
        raise typer.Exit(4)


@app.command()
def affinity() -> None:
    """Recompute everyone's digital affinity (run daily: ignored e-mails count only after 14 days)."""
    engine = default_engine()
    migrate.require_current(engine)
    with engine.begin() as connection:
        written = refresh_affinity(connection, utcnow())
    print_json({"people": written})
