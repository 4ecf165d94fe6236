"""Events feeding back into people and segments: digital affinity, and a follow-up audience."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, and_, insert, or_, select
from test_tracking_support import (
    SendGridKey,
    client_for,
    post_sendgrid,
    rows,
    seed,
    sendgrid_event,
    settings_for,
)

from outreach.clock import utcnow
from outreach.models import CampaignRun, Message, MessageEngagement, PersonEngagement
from outreach.tracking.feedback import refresh_affinity


def affinity(engine: Engine, person_id: str) -> tuple[int, int, int]:
    found = rows(
        engine,
        select(
            PersonEngagement.digital_affinity,
            PersonEngagement.clicked_messages,
            PersonEngagement.ignored_emails,
        ).where(PersonEngagement.person_id == person_id),
    )
    return tuple(found[0])  # type: ignore[return-value]


def test_ignored_emails_lower_affinity_and_a_click_raises_it(engine: Engine, tmp_path: Path) -> None:
    seeded = seed(engine, sent_days_ago=30)
    with engine.begin() as connection:
        run_id = connection.scalar(select(Message.run_id).where(Message.id == seeded.email["P0001"]))
        extra = [
            connection.execute(
                insert(Message)
                .values(
                    run_id=run_id,
                    step=step,
                    person_id="P0001",
                    journey="follow_career",
                    status="sent",
                    channel="email",
                    sent_at=seeded.sent_at,
                )
                .returning(Message.id)
            ).scalar_one()
            for step in ("relance_1", "relance_2")
        ]
    emails = [seeded.email["P0001"], *extra]
    key = SendGridKey()
    client = client_for(engine, settings_for(tmp_path, key))
    delivered = [sendgrid_event("delivered", m, f"ev-d-{m}", seeded.sent_at) for m in emails]
    machine = sendgrid_event("open", emails[0], "ev-mpp", seeded.sent_at, sg_machine_open=True)
    post_sendgrid(client, key, [*delivered, machine])

    with engine.begin() as connection:
        refresh_affinity(connection, utcnow())
    assert affinity(engine, "P0001") == (-2, 0, 3)  # three ignored (a machine open is no open): 1 - 3

    click = sendgrid_event("click", emails[1], "ev-click", utcnow(), url="https://www.lassuranceretraite.fr/")
    post_sendgrid(client, key, [click])  # refreshed at once: +2 for the click, one ignored fewer
    assert affinity(engine, "P0001") == (1, 1, 2)


def did_not_open_within(engine: Engine, campaign: str, days: int, now: datetime) -> set[str]:
    """The follow-up audience "did not open the career statement e-mail within 7 days", as SQL.

    This is the query shape the segment grammar's engagement condition compiles to.
    """
    sent = rows(engine, select(Message.sent_at).join(CampaignRun).where(CampaignRun.campaign == campaign))[0][
        0
    ]
    deadline = sent + timedelta(days=days)
    statement = (
        select(Message.person_id)
        .join(CampaignRun, CampaignRun.id == Message.run_id)
        .outerjoin(MessageEngagement, MessageEngagement.message_id == Message.id)
        .where(
            CampaignRun.campaign == campaign,
            Message.channel == "email",
            Message.status == "sent",
            Message.sent_at <= now - timedelta(days=days),
            or_(MessageEngagement.first_open_at.is_(None), MessageEngagement.first_open_at > deadline),
            and_(MessageEngagement.bounce.is_(None)),
        )
    )
    return {r.person_id for r in rows(engine, statement)}


def test_a_follow_up_audience_changes_because_of_the_events(engine: Engine, tmp_path: Path) -> None:
    seeded = seed(engine, sent_days_ago=10)
    now = utcnow()
    assert did_not_open_within(engine, "releve_carriere", 7, now) == {"P0001", "P0002", "P0003"}

    key = SendGridKey()
    client = client_for(engine, settings_for(tmp_path, key))
    t = seeded.sent_at
    post_sendgrid(
        client,
        key,
        [
            sendgrid_event("open", seeded.email["P0001"], "e1", t + timedelta(days=2), sg_machine_open=False),
            sendgrid_event("open", seeded.email["P0002"], "e2", t + timedelta(hours=1), sg_machine_open=True),
            sendgrid_event("open", seeded.email["P0003"], "e3", t + timedelta(days=9), sg_machine_open=False),
        ],
    )
    # P0001 opened in time; P0002's only open was Apple's proxy; P0003 opened too late.
    assert did_not_open_within(engine, "releve_carriere", 7, now) == {"P0002", "P0003"}
