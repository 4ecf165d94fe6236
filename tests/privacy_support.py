"""Shared helpers of the privacy tests: a campaign runner on outbox channels, and events as stored."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select

from outreach.campaigns.library import CampaignLibrary
from outreach.campaigns.runner import CampaignRunner
from outreach.channels.outbox import OutboxChannel
from outreach.channels.print_batch import DropFolder, PrintChannel
from outreach.models import Message
from outreach.tracking.events import EventType, TrackingEvent
from outreach.tracking.ingest import ingest

SECRET = "erasure-secret-for-tests-only-0123456789"


def outbox_runner(engine: Engine, library: CampaignLibrary, folder: Path) -> CampaignRunner:
    """A runner whose e-mails and SMS land in files and whose letters go to a print batch."""
    channels = {
        "email": OutboxChannel(folder / "outbox" / "email", "email"),
        "sms": OutboxChannel(folder / "outbox" / "sms", "sms"),
        "letter": PrintChannel(library.renderer, DropFolder(folder / "drop"), folder / "work"),
    }
    return CampaignRunner(engine, library, channels, previews_dir=folder / "previews")


def message_ids(engine: Engine, step: str, status: str = "sent") -> dict[str, int]:
    """person_id -> message id of the step's messages in `status`."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.person_id, Message.id).where(Message.step == step, Message.status == status)
        )
        return dict(rows.all())


def engage(
    engine: Engine,
    spool: Path,
    message: int,
    event: EventType,
    at: datetime,
    url: str | None = None,
) -> None:
    """What the tracking service stores when SendGrid reports `event` about `message` at `at`."""
    raw = '{"email": "assure@orange.example.net", "useragent": "Mozilla/5.0"}'
    stored = TrackingEvent(
        "sendgrid", f"evt-{message}-{event.value}", event, at, raw=raw, message_key=f"m{message}",
        channel="email", url=url,
    )  # fmt: skip
    ingest(engine, [stored], spool, received_at=at)
