"""Retention: a purge removes detail past its period, keeps the counts, and a dry run changes nothing."""

from __future__ import annotations

import html
import json
import os
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from outreach.campaigns.library import load_campaigns
from outreach.campaigns.runner import StepReport
from outreach.errors import ConfigurationError
from outreach.models import AuditEntry, DeliveryEvent, Message, MessageAggregate, MessageEngagement
from outreach.privacy.purge import purge
from outreach.privacy.retention import RetentionPolicy, load_policy
from outreach.reports.build import build_report, render
from outreach.reports.funnel import funnel_and_breakdowns
from outreach.reports.scope import resolve_scope
from outreach.tracking.events import EventType
from tests.people import load, person
from tests.privacy_support import engage, message_ids, outbox_runner

CAMPAIGN = "career_statement_35"
OLD = date(2024, 1, 15)  # a Monday, almost three years before TODAY: past the 24 months of messages
RECENT = date(2026, 4, 20)  # a Monday, seven months before TODAY: past the 6 months of click details
TODAY = datetime(2026, 11, 26, 12, 0)
SITE = "https://www.lassuranceretraite.fr/portail-info/home/actif/mon-releve-de-carriere.html"


def _wave(engine: Engine, runner, tmp_path: Path, as_of: date) -> StepReport:  # type: ignore[no-untyped-def]
    """A first step sent on `as_of`; every e-mail delivered, two opened, one clicked the next day."""
    report = runner.run_step(
        CAMPAIGN, "first_contact", as_of, now=datetime(as_of.year, as_of.month, as_of.day, 9)
    )
    emailed = sorted(
        message
        for message in message_ids(engine, "first_contact").values()
        if _run_of(engine, message) == report.run_id and _channel(engine, message) == "email"
    )
    assert len(emailed) >= 3
    day_after = datetime(as_of.year, as_of.month, as_of.day + 1, 8)
    for message in emailed:
        engage(engine, tmp_path / "spool", message, EventType.DELIVERED, day_after)
    for message in emailed[:2]:
        engage(engine, tmp_path / "spool", message, EventType.OPENED, day_after)
    engage(engine, tmp_path / "spool", emailed[0], EventType.CLICKED, day_after, url=SITE)
    return report


def _run_of(engine: Engine, message: int) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(Message.run_id).where(Message.id == message))


def _channel(engine: Engine, message: int) -> str:
    with engine.connect() as connection:
        return connection.scalar(select(Message.channel).where(Message.id == message))


def _funnel(engine: Engine, run_id: int) -> dict[str, dict[str, int]]:
    """The report's funnel of one run, per step (summed over channels), as `outreach report` computes it."""
    with engine.connect() as connection:
        scope = resolve_scope(connection, load_campaigns().get(CAMPAIGN), run_id)
        rows, _ = funnel_and_breakdowns(connection, scope)
    steps: dict[str, dict[str, int]] = {}
    for row in rows:
        total = steps.setdefault(row.step, dict.fromkeys(row.counts, 0))
        for measure, count in row.counts.items():
            total[measure] += count
    return steps


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            model.__tablename__: connection.scalar(select(func.count()).select_from(model))
            for model in (Message, DeliveryEvent, MessageEngagement, MessageAggregate, AuditEntry)
        }


def _old_file(path: Path, body: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    moment = datetime(2026, 9, 1).timestamp()  # three months before TODAY
    os.utime(path, (moment, moment))
    return path


@pytest.fixture
def waves(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[StepReport, StepReport]:
    monkeypatch.setenv("OUTREACH_VAR_DIR", str(tmp_path / "var"))
    load(
        engine,
        [person(i, date(1989, 1, 9)) for i in range(12)]
        + [person(i, date(1991, 4, 8)) for i in range(20, 32)],
    )
    runner = outbox_runner(engine, load_campaigns(), tmp_path)
    return _wave(engine, runner, tmp_path, OLD), _wave(engine, runner, tmp_path, RECENT)


def test_a_dry_run_counts_what_would_go_and_deletes_nothing(
    engine: Engine, waves: tuple[StepReport, StepReport], tmp_path: Path
) -> None:
    export = _old_file(tmp_path / "var" / "exports" / "france_services" / "france_services_2026-09-01.csv")
    before = _counts(engine)

    report = purge(engine, RetentionPolicy(), dry_run=True, now=TODAY)

    old, _ = waves
    assert report.counts["messages"] == sum(old.by_status().values())
    assert (
        report.counts["delivery_events"] > 0 and report.counts["open_click_details"] == 3
    )  # 2 opens, 1 click
    assert report.counts["export_files"] == 1 and export.exists()
    assert _counts(engine) == before  # not even an audit entry
    assert report.aggregated_runs == []


def test_a_purge_removes_old_detail_and_keeps_the_funnel_of_old_campaigns(
    engine: Engine, waves: tuple[StepReport, StepReport], tmp_path: Path
) -> None:
    old, recent = waves
    funnel_before = _funnel(engine, old.run_id)
    assert funnel_before["first_contact"]["clicked"] == 1 and funnel_before["first_contact"]["opened"] == 2
    recent_funnel = _funnel(engine, recent.run_id)
    folder = tmp_path / "var" / "exports" / "france_services"
    export = _old_file(folder / "france_services_2026-09-01.csv", "identifiant;nom\r\nP00001;Lefèvre\r\n")
    manifest = _old_file(folder / "france_services_2026-09-01.csv.manifest.json", "{}")
    fresh_report = tmp_path / "var" / "imports" / "extrait-2026-11-20.report.csv"
    fresh_report.parent.mkdir(parents=True)
    fresh_report.write_text("line,person_id,outcome,field,reason\n", encoding="utf-8")

    report = purge(engine, RetentionPolicy(), now=TODAY)

    with engine.connect() as connection:
        old_messages = connection.scalar(select(func.count()).where(Message.run_id == old.run_id))
        recent_clicks = connection.execute(
            select(DeliveryEvent.url, DeliveryEvent.raw).where(DeliveryEvent.event == "clicked")
        ).all()
        count, details = connection.execute(
            select(AuditEntry.count, AuditEntry.details).where(AuditEntry.action == "purge")
        ).one()
    assert old_messages == 0 and report.aggregated_runs == [old.run_id]
    assert _funnel(engine, old.run_id) == funnel_before  # the old wave still has its funnel
    assert recent_clicks == [(None, "{}")]  # the recent wave keeps its click, without URL or payload
    assert _funnel(engine, recent.run_id) == recent_funnel  # and its whole funnel
    assert not export.exists() and manifest.exists() and fresh_report.exists()
    assert count == report.total and json.loads(details)["deleted"]["export_files"] == 1
    assert purge(engine, RetentionPolicy(), now=TODAY).total == 0  # nothing left to purge


def test_the_report_of_a_purged_wave_keeps_its_counts_and_says_what_detail_is_gone(
    engine: Engine, waves: tuple[StepReport, StepReport]
) -> None:
    old, _ = waves
    campaign = load_campaigns().get(CAMPAIGN)
    before, whole_before = build_report(engine, campaign, old.run_id), build_report(engine, campaign)
    assert before.breakdowns["segment"] and before.delivery_times and not before.runs[0].purged

    purge(engine, RetentionPolicy(), now=TODAY)

    after, whole_after = build_report(engine, campaign, old.run_id), build_report(engine, campaign)
    assert after.runs[0].purged and [run.purged for run in whole_after.runs] == [True, False]
    assert after.funnel == before.funnel and after.totals()["clicked"] == 1
    assert after.reasons == before.reasons and after.costs == before.costs
    for name in ("journey", "variant", "arm", "age_band"):
        assert after.breakdowns[name] == before.breakdowns[name], name
    # What needs one row per person is gone for that wave, and the report says so.
    assert after.breakdowns["segment"] == () and after.delivery_times == () and after.engagement == ()
    assert whole_after.totals() == whole_before.totals() and whole_after.costs == whole_before.costs
    markdown = render(after, "md")
    assert f"(n° {old.run_id}, détail purgé)" in markdown and "comptes conservés" in markdown
    assert "vagues purgées n'y figurent pas" in html.unescape(render(whole_after, "html"))


def test_the_shipped_retention_file_reads_and_an_unreadable_period_is_refused(tmp_path: Path) -> None:
    shipped = load_policy()
    assert (shipped.delivery_events, shipped.open_click_details, shipped.export_files) == (
        "13 months",
        "6 months",
        "1 month",
    )
    broken = tmp_path / "retention.yaml"
    broken.write_text("delivery_events: toujours\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"retention\.yaml.*'toujours' is not a period"):
        load_policy(broken)


def test_the_purge_runs_every_night_from_its_deployment() -> None:
    from flows.deployments import deployments  # imported here: Prefect is slow to import

    [nightly] = [d for d in deployments(load_campaigns()) if d.name == "chaque-nuit"]
    schedule = nightly.schedules[0].schedule
    assert (nightly.flow_name, schedule.cron, schedule.timezone) == ("purge", "30 3 * * *", "Europe/Paris")


def test_letters_of_a_purged_wave_still_count_as_delivered(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fragile people get a letter; a letter handed to the printer and not returned counts as delivered
    monkeypatch.setenv("OUTREACH_VAR_DIR", str(tmp_path / "var"))
    load(engine, [person(i, date(1989, 1, 9), fragility_flags="aah") for i in range(8)])
    runner = outbox_runner(engine, load_campaigns(), tmp_path)
    old = runner.run_step(CAMPAIGN, "first_contact", OLD, now=datetime(OLD.year, OLD.month, OLD.day, 9))
    before = _funnel(engine, old.run_id)["first_contact"]
    assert before["sent"] > 0 and before["delivered"] == before["sent"]

    purge(engine, RetentionPolicy(), now=TODAY)

    assert _funnel(engine, old.run_id)["first_contact"] == before
