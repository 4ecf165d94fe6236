"""The complaint journey, through the campaign runner: every complaint is acknowledged, whatever the date.

Two defects seen in production are reproduced here: a person's second complaint was never acknowledged
(the first step's audience was "new people", not "new complaints"), and running the step with an as-of
date before a complaint's closure halted the whole batch (the template variables were looked up among
complaints open *today*, not at the as-of date of the run).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from outreach.campaigns.library import CampaignErrors, load_campaigns
from outreach.campaigns.runner import CampaignRunner
from outreach.emulator.running import EmulatorHandle
from outreach.models import ComplaintMessage, Message
from outreach.population.store import upsert_complaints
from tests.people import load, person

BORN = date(1958, 3, 14)


def complaint(reference: str, person_id: str, opened: date, closed: date | None = None, **more: str) -> dict:
    return {
        "complaint_id": reference,
        "person_id": person_id,
        "opened_on": opened,
        "closed_on": closed,
        "subject": more.get("subject", "pension_not_paid"),
        "received_by": more.get("received_by", "phone"),
    }


def add_complaints(engine: Engine, *rows: dict) -> None:
    with engine.begin() as connection:
        upsert_complaints(connection, list(rows))


def acknowledged(engine: Engine) -> dict[str, tuple[str, str, str | None]]:
    """Complaint reference -> (person, status, channel) of its acknowledgement."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(ComplaintMessage.complaint_id, Message.person_id, Message.status, Message.channel)
            .join(Message, Message.id == ComplaintMessage.message_id)
            .where(Message.step == "acknowledgement")
        ).all()
    return {r.complaint_id: (r.person_id, r.status, r.channel) for r in rows}


def texts(emulator: EmulatorHandle) -> list[str]:
    return [m["body"] for m in emulator.messages()["twilio"]]


def test_a_second_complaint_after_a_closed_one_is_acknowledged_too(
    engine: Engine, runner: CampaignRunner, emulator: EmulatorHandle
) -> None:
    load(engine, [person(1, BORN, status="retired")])
    add_complaints(engine, complaint("REC-2026-0000101", "P00001", date(2026, 10, 1), date(2026, 10, 20)))
    runner.run_step("complaint_follow_up", "acknowledgement", date(2026, 10, 2), now=datetime(2026, 10, 2, 9))
    assert "REC-2026-0000101" in texts(emulator)[0]

    add_complaints(engine, complaint("REC-2026-0000202", "P00001", date(2026, 11, 25), subject="documents"))
    report = runner.run_step(
        "complaint_follow_up", "acknowledgement", date(2026, 11, 26), now=datetime(2026, 11, 26, 9)
    )

    assert report.new_in_audience == 1
    assert acknowledged(engine) == {
        "REC-2026-0000101": ("P00001", "sent", "sms"),
        "REC-2026-0000202": ("P00001", "sent", "sms"),
    }
    assert "REC-2026-0000202" in texts(emulator)[1]
    again = runner.run_step(
        "complaint_follow_up", "acknowledgement", date(2026, 11, 27), now=datetime(2026, 11, 27, 9)
    )
    assert again.new_in_audience == 0  # each complaint is acknowledged once, not once a day
    assert len(texts(emulator)) == 2


def test_an_as_of_date_before_a_closure_does_not_halt_the_letter_batch(
    engine: Engine, runner: CampaignRunner, tmp_path: Path
) -> None:
    letter_only = {"email": None, "mobile_phone": None}
    load(engine, [person(2, BORN, **letter_only), person(3, BORN, **letter_only)])
    add_complaints(
        engine,
        complaint("REC-2026-0000303", "P00002", date(2026, 11, 2), date(2026, 11, 30), received_by="letter"),
        complaint("REC-2026-0000404", "P00003", date(2026, 11, 24), received_by="letter"),
    )

    report = runner.run_step(
        "complaint_follow_up", "acknowledgement", date(2026, 11, 26), now=datetime(2026, 11, 26, 9)
    )

    assert report.by_status()["sent"] == 2
    assert acknowledged(engine) == {
        "REC-2026-0000303": ("P00002", "sent", "letter"),
        "REC-2026-0000404": ("P00003", "sent", "letter"),
    }
    manifest = next((tmp_path / "drop").glob("*.csv")).read_text(encoding="utf-8")
    assert "P00002" in manifest and "P00003" in manifest


def test_the_acknowledgement_says_how_the_complaint_was_received(
    engine: Engine, runner: CampaignRunner, emulator: EmulatorHandle
) -> None:
    load(engine, [person(4, BORN, mobile_phone=None)])
    add_complaints(
        engine, complaint("REC-2026-0000505", "P00004", date(2026, 11, 25), received_by="france_services")
    )
    runner.run_step(
        "complaint_follow_up", "acknowledgement", date(2026, 11, 26), now=datetime(2026, 11, 26, 9)
    )
    (email,) = [m["text"] for m in emulator.messages()["sendgrid"]]
    assert "réclamation du 25 novembre 2026, transmise dans un espace France Services, enregistrée" in email
    assert "REC-2026-0000505" in email


def test_campaigns_validate_refuses_a_template_reading_values_its_journey_does_not_supply(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "welcome_complaint.yaml").write_text(
        "name: welcome_complaint\n"
        "description: Bienvenue à la retraite\n"
        "journey: follow_retirement\n"
        "segment: new_retirees\n"
        "steps:\n"
        "  - name: first_contact\n"
        "    channels: [letter]\n"
        "    template: complaint_acknowledgement\n",
        encoding="utf-8",
    )
    with pytest.raises(CampaignErrors) as error:
        load_campaigns(folder)
    message = str(error.value)
    assert "welcome_complaint.yaml, line 8" in message
    assert "letter template 'complaint_acknowledgement_fragile' reads extra.complaint_opened_on" in message
    assert "follow_retirement journey does not supply" in message


def test_news_go_to_complaints_still_open_and_carry_their_own_reference(
    engine: Engine, runner: CampaignRunner, emulator: EmulatorHandle
) -> None:
    load(engine, [person(i, BORN, status="retired") for i in (1, 2)])
    add_complaints(
        engine,
        complaint("REC-2026-0000301", "P00001", date(2026, 11, 2)),
        complaint("REC-2026-0000302", "P00002", date(2026, 11, 2), date(2026, 11, 10)),  # closed since
    )
    wave = date(2026, 11, 3)
    runner.run_step("complaint_follow_up", "acknowledgement", wave, now=datetime(2026, 11, 3, 9))
    assert len(texts(emulator)) == 2

    news = runner.run_step("complaint_follow_up", "news", wave, now=datetime(2026, 11, 19, 9))

    assert news.by_status()["sent"] == 1  # the closed complaint gets no news
    with engine.connect() as connection:
        rows = connection.execute(
            select(ComplaintMessage.complaint_id, Message.person_id)
            .join(Message, Message.id == ComplaintMessage.message_id)
            .where(Message.step == "news")
        ).all()
    assert [tuple(r) for r in rows] == [("REC-2026-0000301", "P00001")]
