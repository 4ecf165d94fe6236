"""A journey ends when the person has acted or left the segment: the reminder is not sent, and the
step's rows say why (`stopped_outcome`, `left_segment`), on both databases."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from outreach.campaigns.definition import Campaign
from outreach.campaigns.runner import CampaignRunner
from outreach.cli.main import app
from outreach.db import default_engine
from outreach.models import Message, OutcomeEvent, Person
from outreach.segments.history import refresh
from outreach.yamlfiles import ConfigFileError, load_model
from tests.people import load, person

AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 30)  # 10:30 in Paris, a Thursday: every window is open
LATER = datetime(2026, 12, 8, 9, 30)  # 12 days on, a Tuesday: after the 10-day wait
BORN_AUGUST_1964 = date(1964, 8, 10)  # legal age 62 y 9 m on 10 May 2027: 5 months ahead


def rows(engine: Engine, step: str) -> dict[str, tuple[str, str | None]]:
    with engine.connect() as connection:
        found = connection.execute(
            select(Message.person_id, Message.status, Message.reason).where(Message.step == step)
        ).all()
    return {r.person_id: (r.status, r.reason) for r in found}


def test_a_filed_claim_or_leaving_the_segment_stops_the_reminder_with_its_reason(
    engine: Engine, runner: CampaignRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, [person(i, BORN_AUGUST_1964, preferred_channel="email") for i in range(4)])
    first = runner.run_step("retirement_claim", "claim_invitation", AS_OF, now=NOW)
    assert first.by_status()["sent"] == 4

    # P00000 files the claim on 1 December (the business systems' export, imported by the CLI)
    outcomes = tmp_path / "demandes.csv"
    outcomes.write_text("person_id,outcome,occurred_on\nP00000,claim_filed,2026-12-01\n", encoding="utf-8")
    monkeypatch.setenv("OUTREACH_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    default_engine.cache_clear()
    imported = CliRunner().invoke(app, ["outcomes", "import", str(outcomes)])
    default_engine.cache_clear()
    assert imported.exit_code == 0, imported.output
    # P00001 has retired early: the next refresh of the segment sees them leave
    with engine.begin() as connection:
        connection.execute(update(Person).where(Person.person_id == "P00001").values(status="retired"))
        refresh(connection, runner.library.segments, "apply_for_retirement_in_time", date(2026, 12, 7))

    reminder = runner.run_step("retirement_claim", "sms_reminder", AS_OF, now=LATER)

    decided = rows(engine, "sms_reminder")
    assert decided["P00000"] == ("excluded", "stopped_outcome")
    assert decided["P00001"] == ("excluded", "left_segment")
    assert decided["P00002"][0] == decided["P00003"][0] == "sent"
    assert reminder.by_status() == {"excluded": 2, "sent": 2}  # everyone has a row and a reason
    assert reminder.decisions["stopped_outcome"] == reminder.decisions["left_segment"] == 1


def test_an_outcome_from_before_the_wave_does_not_stop_it(engine: Engine, runner: CampaignRunner) -> None:
    """Only what the person did since the wave's date ends it: an old appointment is another story."""
    load(engine, [person(i, BORN_AUGUST_1964, preferred_channel="email") for i in range(2)])
    with engine.begin() as connection:
        connection.execute(
            OutcomeEvent.__table__.insert().values(
                person_id="P00000",
                outcome="appointment_booked",
                occurred_on=date(2025, 3, 4),
                source="agences",
                imported_at=datetime(2025, 3, 5),
            )
        )
    runner.run_step("retirement_claim", "claim_invitation", AS_OF, now=NOW)
    runner.run_step("retirement_claim", "sms_reminder", AS_OF, now=LATER)
    assert rows(engine, "sms_reminder")["P00000"][0] == "sent"


def test_opting_out_of_a_default_stop_needs_a_reason(tmp_path: Path) -> None:
    base = (Path(__file__).parents[1] / "campaigns" / "retirement_claim.yaml").read_text(encoding="utf-8")
    silent = tmp_path / "retirement_claim.yaml"
    silent.write_text(base + "opt_out_of_stops:\n  left_segment: ''\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="needs its reason"):
        load_model(silent, Campaign)

    reasoned = tmp_path / "reasoned.yaml"
    reasoned.write_text(
        base + "opt_out_of_stops:\n  workshop_attended: un atelier ne remplace pas la demande\n",
        encoding="utf-8",
    )
    campaign, _ = load_model(reasoned, Campaign)
    assert "workshop_attended" not in campaign.stop_outcomes
    assert {"claim_filed", "online_claim_started"} <= campaign.stop_outcomes
    assert campaign.stops_on_leaving_segment
