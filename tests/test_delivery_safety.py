"""Sending survives faults, crashes and concurrency: everyone gets exactly one message, nobody is lost.

Real parts only: the official SDKs over HTTP to the emulator (with injected faults), real databases,
and real worker processes (the `outreach` command) killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from outreach.campaigns.library import CampaignLibrary, load_campaigns
from outreach.campaigns.runner import CampaignRunner
from outreach.channels.base import Channel
from outreach.delivery.policy import PressureLimits
from outreach.emulator.config import EmulatorConfig, Faults
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.models import Message
from tests.emulated import CALLBACK, emulated_channels
from tests.people import load, person

AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 30)  # 10:30 in Paris, a Thursday: every window is open
BORN = date(1991, 11, 14)  # in career_statement_35 this month


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig(seed=20, events=False)) as handle:
        yield handle


def channels(emulator: EmulatorHandle, tmp_path: Path, library: CampaignLibrary) -> dict[str, Channel]:
    """Short timeouts, so injected timeouts turn into ambiguous outcomes quickly."""
    return emulated_channels(emulator, library.renderer, tmp_path, timeout=1.0)


def received_keys(emulator: EmulatorHandle) -> Counter[str]:
    """How many times the emulator received each of our message keys, over both providers."""
    messages = emulator.messages()
    keys = Counter(m["custom_args"]["outreach_message_id"] for m in messages["sendgrid"])
    keys.update(m["status_callback"].rsplit("=", 1)[1] for m in messages["twilio"])
    return keys


def statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as connection:
        return Counter(
            dict(connection.execute(select(Message.status, func.count()).group_by(Message.status)).all())
        )


def sent_keys(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        ids = connection.scalars(
            select(Message.id).where(Message.status == "sent", Message.channel.in_(("email", "sms")))
        )
        return {f"m{i}" for i in ids}


def test_faults_at_20_percent_end_with_exactly_one_message_each(
    engine: Engine, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    people = [person(i, BORN) for i in range(120)]
    for index in range(0, 120, 3):
        people[index].update(preferred_channel="sms")
    load(engine, people)
    faults = Faults.spread(0.2, retry_after=0.01, hold_seconds=2.0)
    emulator.configure(sendgrid_faults=faults, twilio_faults=faults, seed=20)
    library = load_campaigns()
    runner = CampaignRunner(engine, library, channels(emulator, tmp_path, library))

    clock = NOW
    for _ in range(10):  # each rerun recovers what the previous left in doubt
        runner.run_step("career_statement_35", "first_contact", AS_OF, now=clock)
        if not {"queued", "sending", "ambiguous"} & set(+statuses(engine)):
            break
        clock += timedelta(minutes=11)  # past the lease of a claim left 'sending'
    assert sum(n for name, n in emulator.stats().items() if "_fault_" in name) > 0  # faults were injected

    final = statuses(engine)
    assert set(final) <= {"sent", "holdout"}, final
    received = received_keys(emulator)
    assert set(received) == sent_keys(engine)  # nobody lost...
    assert max(received.values()) == 1  # ...and nobody twice


def _worker(tmp_path: Path, url: str, emulator: EmulatorHandle, *extra: str) -> subprocess.Popen[str]:
    """A real `outreach campaigns run --send` process, configured like a production worker."""
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_VAR_DIR": str(tmp_path / "var"),
        "SENDGRID_API_KEY": emulator.api_key,
        "OUTREACH_SENDGRID_HOST": emulator.sendgrid_host,
        "OUTREACH_EMAIL_FROM": "ne-pas-repondre@carsat-centreouest.fr",
        "TWILIO_ACCOUNT_SID": emulator.account_sid,
        "TWILIO_AUTH_TOKEN": emulator.auth_token,
        "OUTREACH_TWILIO_BASE_URL": emulator.twilio_base,
        "OUTREACH_SMS_SENDER": "CARSAT CO",
        "OUTREACH_SMS_STATUS_CALLBACK": CALLBACK,
        "OUTREACH_SMS_RATE": "2000",
    }
    command = [sys.executable, "-m", "outreach", "campaigns", "run", "career_statement_35", "--send"]
    command += ["--as-of", AS_OF.isoformat(), "--now", NOW.strftime("%Y-%m-%dT%H:%M"), *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_a_worker_killed_mid_campaign_resumes_without_duplicate_or_loss(
    engine: Engine, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    load(engine, [person(i, BORN) for i in range(2_600)])  # three SendGrid batches of up to 1,000
    emulator.configure(sendgrid_faults=Faults(slow=1.0, slow_seconds=1.5))
    worker = _worker(tmp_path, _url(engine), emulator)
    deadline = time.monotonic() + 120
    while emulator.stats().get("sendgrid_accepted", 0) < 1_000:  # the first batch is in: kill it mid-campaign
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        assert time.monotonic() < deadline, "the worker sent nothing"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    # The killed worker may have had its next request in flight, held 1.5 s by the slow fault before
    # the emulator accepts it. The recovery below fakes a clock 11 minutes on, past the 10-minute
    # staleness window: let real time pass too, or it would ask the emulator before that request lands.
    time.sleep(2)
    interrupted = statuses(engine)
    assert interrupted["sent"] < 2_600 - interrupted["holdout"]  # it really stopped half-way

    emulator.configure(sendgrid_faults=Faults())
    library = load_campaigns()
    runner = CampaignRunner(engine, library, channels(emulator, tmp_path, library))
    runner.run_step("career_statement_35", "first_contact", AS_OF, now=NOW + timedelta(minutes=11))

    final = statuses(engine)
    assert set(final) == {"sent", "holdout"}, final
    received = received_keys(emulator)
    assert set(received) == sent_keys(engine)
    assert max(received.values()) == 1


@pytest.mark.postgres
def test_two_workers_share_a_campaign_on_postgresql(
    postgres_engine: Engine, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    # six batches, each held 1 s by the emulator: the first worker to start cannot have sent them all
    # before the second is ready (a worker keeps two batches claimed at most)
    load(postgres_engine, [person(i, BORN) for i in range(6_000)])
    emulator.configure(sendgrid_faults=Faults(slow=1.0, slow_seconds=1.0))
    workers = [_worker(tmp_path, _url(postgres_engine), emulator) for _ in range(2)]
    for worker in workers:
        _, errors = worker.communicate(timeout=300)
        assert worker.returncode == 0, errors

    final = statuses(postgres_engine)
    assert set(final) == {"sent", "holdout"}, final
    received = received_keys(emulator)
    assert set(received) == sent_keys(postgres_engine)
    assert max(received.values()) == 1
    with postgres_engine.connect() as connection:
        claimers = set(connection.scalars(select(Message.claimed_by).where(Message.status == "sent")))
    assert len(claimers) == 2  # both workers really sent part of the campaign


def _campaign_file(folder: Path, name: str, journey: str, channels: str, priority: int) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(
        f"name: {name}\n"
        f"description: Campagne de test {name}\n"
        f"journey: {journey}\n"
        "segment: career_statement_35\n"
        f"priority: {priority}\n"
        "steps:\n"
        "  - name: only\n"
        f"    channels: [{channels}]\n"
        "    template: career_statement_35\n",
        encoding="utf-8",
    )


def test_contact_pressure_counts_across_campaigns(
    engine: Engine, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    load(engine, [person(i, BORN) for i in range(10)])
    folder = tmp_path / "campaigns"
    _campaign_file(folder, "first_news", "follow_career", "email", 80)
    _campaign_file(folder, "second_news", "prepare_retirement", "email, sms", 40)
    _campaign_file(folder, "third_news", "apply_for_retirement", "email", 30)
    library = load_campaigns(folder)
    runner = CampaignRunner(
        engine,
        library,
        channels(emulator, tmp_path, library),
        limits=PressureLimits(caps={"email": 1, "sms": 1}),
    )
    runner.run_step("first_news", "only", AS_OF, now=NOW)
    second = runner.run_step("second_news", "only", AS_OF, now=NOW + timedelta(hours=1))
    third = runner.run_step("third_news", "only", AS_OF, now=NOW + timedelta(hours=2))

    assert second.decisions == Counter({"pressure_fallback": 10})  # e-mail budget spent: SMS instead
    assert second.by_status() == Counter({"sent": 10})
    assert third.decisions == Counter({"pressure_cap": 10})  # e-mail only, budget spent: wait
    assert third.by_status() == Counter({"deferred": 10})

    week_later = runner.run_step("third_news", "only", AS_OF, now=NOW + timedelta(days=8))
    assert week_later.by_status() == Counter({"sent": 10})  # deferred people get their turn


def test_sms_outside_its_window_waits_and_is_not_dropped(
    engine: Engine, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    load(engine, [person(i, BORN, preferred_channel="sms") for i in range(6)])
    library = load_campaigns()
    runner = CampaignRunner(engine, library, channels(emulator, tmp_path, library))
    saturday = datetime(2026, 11, 28, 10, 0)
    report = runner.run_step("career_statement_35", "first_contact", AS_OF, now=saturday)
    assert report.sending is not None and "sms" in report.sending.waiting
    assert report.sending.waiting["sms"].isoformat() == "2026-11-30T08:00:00+01:00"
    assert emulator.messages()["twilio"] == []
    queued = report.by_status()["queued"]
    assert queued + report.by_status()["holdout"] == 6

    monday = datetime(2026, 11, 30, 8, 30)
    after = runner.run_step("career_statement_35", "first_contact", AS_OF, now=monday)
    assert after.by_status()["sent"] == queued
    assert len(emulator.messages()["twilio"]) == queued
