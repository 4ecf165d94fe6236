"""An objection stops the next step of a running campaign, through the real SDKs to the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from outreach.campaigns.library import load_campaigns
from outreach.campaigns.runner import CampaignRunner
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.models import AuditEntry, Message, OptOut
from outreach.privacy.objection import record_objection
from tests.emulated import emulated_channels
from tests.people import load, person

AS_OF = date(2026, 11, 26)  # a Thursday
NOW = datetime(2026, 11, 26, 9, 30)  # 10:30 in Paris
LATER = NOW + timedelta(days=8)  # the SMS reminder's 7 days have passed (a Friday)
BORN_NOVEMBER_1991 = date(1991, 11, 14)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig(seed=11, events=False)) as handle:
        yield handle


@pytest.fixture
def runner(engine: Engine, emulator: EmulatorHandle, tmp_path: Path) -> CampaignRunner:
    emulator.reset()
    library = load_campaigns()
    channels = emulated_channels(emulator, library.renderer, tmp_path)
    return CampaignRunner(engine, library, channels, previews_dir=tmp_path / "previews")


def _reminders(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.person_id, Message.status, Message.reason).where(Message.step == "sms_reminder")
        )
        return {person_id: (status, reason) for person_id, status, reason in rows}


def test_an_objection_excludes_the_person_from_the_follow_up_step(
    engine: Engine, runner: CampaignRunner, emulator: EmulatorHandle
) -> None:
    load(engine, [person(i, BORN_NOVEMBER_1991) for i in range(16)])
    first = runner.run_step("career_statement_35", "first_contact", AS_OF, now=NOW)
    with engine.connect() as connection:
        emailed = sorted(
            connection.scalars(
                select(Message.person_id).where(Message.status == "sent", Message.channel == "email")
            )
        )
    assert first.by_status()["sent"] == len(emailed) >= 3
    objector, sms_objector, others = emailed[0], emailed[1], emailed[2:]

    assert record_objection(engine, objector, "all").recorded
    assert record_objection(engine, sms_objector, "sms").recorded
    texts_before = len(emulator.messages()["twilio"])
    runner.run_step("career_statement_35", "sms_reminder", AS_OF, now=LATER)

    reminders = _reminders(engine)
    assert reminders[objector] == ("excluded", "opted_out")
    assert reminders[sms_objector][0] == "excluded" and reminders[sms_objector][1].startswith("opted_out")
    assert all(reminders[p] == ("sent", "campaign_channel") for p in others)  # nobody opened: all reminded
    texts = emulator.messages()["twilio"][texts_before:]
    assert len(texts) == len(others)
    with engine.connect() as connection:
        sources = dict(connection.execute(select(OptOut.person_id, OptOut.source)).all())
        audited = connection.scalars(select(AuditEntry.target).where(AuditEntry.action == "objection")).all()
    assert sources == {objector: "objection", sms_objector: "objection"}
    assert sorted(audited) == sorted([objector, sms_objector])


def test_an_earlier_opt_out_is_kept_with_its_origin(engine: Engine) -> None:
    load(engine, [person(1, BORN_NOVEMBER_1991)], opt_outs=[("P00001", "email")])
    result = record_objection(engine, "P00001", "email")
    assert (result.recorded, result.earlier_source) == (False, "import")
    with engine.connect() as connection:
        assert connection.execute(select(OptOut.channel, OptOut.source)).all() == [("email", "import")]
