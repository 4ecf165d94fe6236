"""The Prefect flows, run for real on Prefect's test server, with the emulator behind the real SDKs."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run
from sqlalchemy import Engine, select

from flows.campaigns import refresh_segments, run_campaign
from flows.deployments import deployments
from flows.runtime import runtime
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.models import Message
from outreach.tracking.events import EventType, TrackingEvent
from outreach.tracking.ingest import ingest
from tests.people import load, person

AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 30)  # 10:30 in Paris, a Thursday
BORN_NOVEMBER_1991 = date(1991, 11, 14)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig(seed=5, events=False)) as handle:
        yield handle


@pytest.fixture
def engine(flow_database: Engine, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The flows' embedded database, with provider settings pointing at the emulator."""
    settings = {
        "SENDGRID_API_KEY": emulator.api_key,
        "OUTREACH_SENDGRID_HOST": emulator.sendgrid_host,
        "OUTREACH_EMAIL_FROM": "ne-pas-repondre@carsat-centreouest.fr",
        "TWILIO_ACCOUNT_SID": emulator.account_sid,
        "TWILIO_AUTH_TOKEN": emulator.auth_token,
        "OUTREACH_TWILIO_BASE_URL": emulator.twilio_base,
        "OUTREACH_SMS_SENDER": "CARSAT CO",
        "OUTREACH_SMS_RATE": "1000",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    emulator.reset()
    return flow_database


def sent_people(engine: Engine, step: str) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.person_id, Message.channel).where(Message.step == step, Message.status == "sent")
        ).all()
    return dict(rows)


def message_id(engine: Engine, person_id: str, step: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(
            select(Message.id).where(Message.person_id == person_id, Message.step == step)
        )


def engage(engine: Engine, tmp_path: Path, message: int, event: EventType, at: datetime) -> None:
    """What the tracking service stores when SendGrid reports an open or a click."""
    event_id = f"evt-{message}-{event.value}"
    ingest(
        engine,
        [
            TrackingEvent(
                "sendgrid", event_id, event, at, raw="{}", message_key=f"m{message}", channel="email"
            )
        ],
        tmp_path / "spool",
    )


def test_dry_run_then_run_then_rerun(prefect_server: None, engine: Engine, emulator: EmulatorHandle) -> None:
    load(engine, [person(i, BORN_NOVEMBER_1991) for i in range(40)])

    rehearsal = run_campaign("career_statement_35", as_of=AS_OF, dry_run=True, now=NOW)
    assert rehearsal["dry_run"] and rehearsal["statuses"]["queued"] > 30
    assert emulator.messages() == {"sendgrid": [], "twilio": []}

    first = run_campaign("career_statement_35", as_of=AS_OF, dry_run=False, now=NOW, parallel=2)
    sent = first["statuses"]["sent"]
    assert sent == rehearsal["statuses"]["queued"]
    assert sent + first["statuses"].get("holdout", 0) == 40
    assert len(emulator.messages()["sendgrid"]) == sent

    again = run_campaign("career_statement_35", as_of=AS_OF, dry_run=False, now=NOW)
    assert again["statuses"] == first["statuses"]
    assert len(emulator.messages()["sendgrid"]) == sent  # nobody got a second message


def _answer_when_paused(wave: str, answer: dict[str, bool]) -> dict:
    """Run a wave with approval in a thread, answer its pause like an operator, return its result."""
    result: dict = {}
    flow = threading.Thread(
        target=lambda: result.update(
            run_campaign(
                "career_statement_35", as_of=AS_OF, dry_run=False, wave=wave, now=NOW, require_approval=True
            )
        )
    )
    flow.start()
    paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 60
        while not (waiting := client.read_flow_runs(flow_run_filter=paused)):
            assert time.monotonic() < deadline and flow.is_alive(), "the flow never paused for approval"
            time.sleep(0.2)
    [run] = waiting
    resume_flow_run(run.id, run_input=answer)
    flow.join(timeout=60)
    assert not flow.is_alive()
    return result


def test_a_run_waits_for_approval_and_sends_only_when_approved(
    prefect_server: None, engine: Engine, emulator: EmulatorHandle
) -> None:
    load(engine, [person(i, BORN_NOVEMBER_1991) for i in range(20)])

    refused = _answer_when_paused("novembre", {"approve": False})
    assert refused["approved"] is False
    assert emulator.messages() == {"sendgrid": [], "twilio": []}  # nothing left while it waited
    with engine.connect() as connection:
        decisions = connection.execute(
            select(Message.status, Message.reason).where(Message.run_id == refused["run_id"])
        ).all()
    held_back = decisions.count(("excluded", "not_approved"))
    assert held_back > 0 and all(status != "sent" for status, _ in decisions)

    # After a fix, a new wave: everyone the refusal held back is reached (the holdout stays held out).
    approved = _answer_when_paused("novembre-corrigee", {"approve": True})
    assert approved["statuses"] == {"sent": held_back}
    assert len(emulator.messages()["sendgrid"]) + len(emulator.messages()["twilio"]) == held_back


def test_a_journey_over_simulated_days(
    prefect_server: None, engine: Engine, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    people = [person(i, BORN_NOVEMBER_1991) for i in range(60)]
    load(engine, people)
    run_campaign("career_statement_35", as_of=AS_OF, dry_run=False, now=NOW)
    emailed = sorted(p for p, channel in sent_people(engine, "first_contact").items() if channel == "email")
    opener, clicker, silent = emailed[0], emailed[1], emailed[2:]
    engage(
        engine,
        tmp_path,
        message_id(engine, opener, "first_contact"),
        EventType.OPENED,
        NOW + timedelta(hours=2),
    )
    engage(
        engine,
        tmp_path,
        message_id(engine, clicker, "first_contact"),
        EventType.CLICKED,
        NOW + timedelta(days=1),
    )

    too_early = run_campaign(
        "career_statement_35", "sms_reminder", AS_OF, dry_run=False, now=NOW + timedelta(days=6)
    )
    assert too_early["statuses"] == {}  # nobody's 7 days are over yet

    day_8 = NOW + timedelta(days=8)
    run_campaign("career_statement_35", "sms_reminder", AS_OF, dry_run=False, now=day_8)
    reminded = sent_people(engine, "sms_reminder")
    assert set(reminded) == set(silent)  # non-openers get the SMS; the opener and the clicker do not
    assert set(reminded.values()) == {"sms"}

    day_23 = day_8 + timedelta(days=15)
    run_campaign("career_statement_35", "letter_reminder", AS_OF, dry_run=False, now=day_23)
    assert set(sent_people(engine, "letter_reminder")) == set(silent)
    assert clicker not in sent_people(engine, "letter_reminder")  # a click ends the journey


def test_refresh_segments_records_every_segment(prefect_server: None, engine: Engine) -> None:
    load(engine, [person(i, BORN_NOVEMBER_1991) for i in range(5)])
    counts = refresh_segments(AS_OF)
    assert counts["career_statement_35"] == {"members": 5, "entered": 5, "left": 0}
    assert set(counts) == set(runtime().library.segments.names)


def test_every_flow_is_deployed_with_its_schedule(prefect_server: None, engine: Engine) -> None:
    for deployment in deployments(runtime().library):
        deployment.apply()
    with get_client(sync_client=True) as client:
        flows = {f.id: f.name for f in client.read_flows()}
        listed = {(flows[d.flow_id], d.name): d for d in client.read_deployments()}
    expected = {
        ("dispatch-due-campaigns", "toutes-les-5-minutes"),
        ("refresh-segments", "chaque-matin"),
        ("ingest-events", "toutes-les-10-minutes"),
        ("purge", "chaque-nuit"),
        ("purge", "manuel"),
        ("run-campaign", "manuel"),
        ("export-partner-list", "manuel"),
        ("campaign-report", "manuel"),
        *(("run-campaign", name.replace("_", "-")) for name in runtime().library.campaigns),
    }
    assert expected <= set(listed)
    morning = listed[("refresh-segments", "chaque-matin")].schedules[0].schedule
    assert (morning.cron, morning.timezone) == ("0 6 * * *", "Europe/Paris")
    every_five = listed[("dispatch-due-campaigns", "toutes-les-5-minutes")].schedules[0].schedule
    assert every_five.interval == timedelta(minutes=5)
    career = listed[("run-campaign", "career-statement-35")]
    assert career.parameters == {"campaign": "career_statement_35", "dry_run": True}
    assert os.environ["OUTREACH_DATABASE_URL"].startswith("sqlite")
