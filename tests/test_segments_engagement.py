"""Segments that read engagement: who did not open the career-statement message within 7 days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from outreach.campaigns.library import CampaignErrors, load_campaigns
from outreach.campaigns.runner import CampaignRunner
from outreach.channels.outbox import OutboxChannel
from outreach.channels.print_batch import DropFolder, PrintChannel
from outreach.models import Message
from outreach.segments.compiler import segment_query
from outreach.segments.history import refresh
from outreach.segments.library import load_library
from outreach.tracking.events import EventType, TrackingEvent
from outreach.tracking.ingest import ingest
from tests.people import load, person

AS_OF = date(2026, 11, 26)
SENT = datetime(2026, 11, 26, 9, 30)
NON_OPENERS = "career_statement_35_non_openers"


@pytest.fixture
def sent(engine: Engine, tmp_path: Path) -> Iterator[dict[str, int]]:
    """The first step of career_statement_35 sent to 12 people (outbox channels); person -> message id."""
    load(engine, [person(i, date(1991, 11, 3)) for i in range(12)])
    library = load_campaigns()
    channels = {
        "email": OutboxChannel(tmp_path / "email", "email"),
        "sms": OutboxChannel(tmp_path / "sms", "sms"),
        "letter": PrintChannel(library.renderer, DropFolder(tmp_path / "drop"), tmp_path / "work"),
    }
    CampaignRunner(engine, library, channels).run_step(
        "career_statement_35", "first_contact", AS_OF, now=SENT
    )
    with engine.connect() as connection:
        rows = connection.execute(select(Message.person_id, Message.id).where(Message.status == "sent")).all()
    yield dict(rows)


def opened(engine: Engine, tmp_path: Path, message_id: int, at: datetime, machine: bool = False) -> None:
    event = TrackingEvent(
        "sendgrid",
        f"open-{message_id}-{at.isoformat()}",
        EventType.OPENED,
        at,
        raw="{}",
        message_key=f"m{message_id}",
        channel="email",
        machine=machine,
    )
    ingest(engine, [event], tmp_path / "spool")


def members(engine: Engine, day: date) -> set[str]:
    library = load_campaigns().segments
    with engine.connect() as connection:
        return set(connection.scalars(segment_query(library, NON_OPENERS, day)))


def test_non_openers_change_as_events_come_back(engine: Engine, tmp_path: Path, sent: dict[str, int]) -> None:
    early, late, robot = sorted(sent)[:3]
    assert members(engine, AS_OF) == set(sent)  # everyone received it, nobody opened yet

    opened(engine, tmp_path, sent[early], SENT + timedelta(days=2))
    opened(engine, tmp_path, sent[late], SENT + timedelta(days=10))
    opened(engine, tmp_path, sent[robot], SENT + timedelta(minutes=1), machine=True)  # a mail proxy

    assert members(engine, AS_OF) == set(sent)  # reactions after the as-of date do not exist yet
    assert members(engine, AS_OF + timedelta(days=3)) == set(sent) - {early}
    assert late in members(engine, AS_OF + timedelta(days=12))  # opened, but not within 7 days
    assert robot in members(engine, AS_OF + timedelta(days=3))  # a machine open is not a human one
    assert members(engine, AS_OF + timedelta(days=70)) == set()  # sent more than 2 months ago

    library = load_campaigns().segments
    with engine.begin() as connection:
        first = refresh(connection, library, NON_OPENERS, AS_OF)
        second = refresh(connection, library, NON_OPENERS, AS_OF + timedelta(days=3))
    assert (first.members, second.left, second.entered) == (len(sent), 1, 0)


def test_a_segment_naming_an_unknown_campaign_is_refused(tmp_path: Path) -> None:
    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / "typo.yaml").write_text(
        "name: typo\ndescription: test\njourney: follow_career\nrule:\n"
        "  engagement: {campaign: career_statment_35, event: clicked}\n",
        encoding="utf-8",
    )
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "reminder.yaml").write_text(
        "name: reminder\ndescription: test\njourney: follow_career\nsegment: typo\n"
        "steps:\n  - name: only\n    channels: [email]\n    template: career_statement_35\n",
        encoding="utf-8",
    )
    with pytest.raises(CampaignErrors, match=r"typo.yaml, line 5: no campaign named 'career_statment_35'"):
        load_campaigns(campaigns, segments=load_library(segments))
