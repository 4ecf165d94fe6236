"""Tracking flows: store what the webhooks spooled during a database outage, refresh digital affinity."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import runtime
from outreach.clock import utcnow
from outreach.tracking.feedback import refresh_affinity
from outreach.tracking.ingest import replay_spool
from outreach.tracking.settings import TrackingSettings


@flow(name="ingest-events")
def ingest_events() -> dict[str, Any]:
    """Replay spooled webhook batches (idempotent), then recompute people's digital affinity."""
    engine = runtime().engine
    settings = TrackingSettings.from_env()
    replayed = replay_spool(engine, settings.spool)
    with engine.begin() as connection:
        refresh_affinity(connection, utcnow())
    result = {
        "files": replayed.files,
        "stored": replayed.stored,
        "unmatched": replayed.unmatched,
        "left": replayed.left,
    }
    get_run_logger().info("spool replayed: %s", result)
    return result
