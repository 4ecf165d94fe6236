"""After a crash, recovery settles at once, never races, and keeps every reason.

Real parts only: a real `outreach campaigns run --send` process killed with SIGKILL mid-send, the
official SDKs over HTTP to the emulator with 20% faults, real databases. The rerun is two workers at
once, one of which takes a slow time to ask the providers (as real Twilio paging or SendGrid's
activity API do): the other must neither wait for it nor settle the same messages.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from outreach.campaigns.dispatcher import due_work
from outreach.campaigns.library import load_campaigns
from outreach.campaigns.runner import CampaignRunner
from outreach.channels.base import Channel, HandedOver, OutgoingMessage, Reconciliation, SendResult
from outreach.clock import PARIS
from outreach.delivery import leases
from outreach.emulator.config import EmulatorConfig, Faults
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.models import CampaignRun, Message
from tests.people import load, person
from tests.test_delivery_safety import AS_OF, BORN, NOW, _url, _worker, channels, received_keys, sent_keys

CAMPAIGN, STEP = "career_statement_35", "first_contact"
PEOPLE = 3_000


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig(seed=20, events=False)) as handle:
        yield handle


class SlowReconcile:
    """A real channel whose provider lookups take `delay` seconds more; says when one has started."""

    def __init__(self, channel: Channel, delay: float, started: threading.Event) -> None:
        self._channel, self._delay, self._started = channel, delay, started
        self.name, self.max_batch, self.settle_seconds = (
            channel.name,
            channel.max_batch,
            channel.settle_seconds,
        )
        self.reconciles_by_content = channel.reconciles_by_content

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        return self._channel.send(batch)

    def reconcile(
        self, message_keys: Sequence[str], handed: Mapping[str, HandedOver] | None = None
    ) -> Reconciliation:
        self._started.set()
        time.sleep(self._delay)
        return self._channel.reconcile(message_keys, handed)


def _statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as connection:
        rows = connection.execute(select(Message.status, func.count()).group_by(Message.status)).all()
    return Counter(dict(rows))


def _wave_status(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.scalar(select(CampaignRun.status).where(CampaignRun.dry_run.is_(False)))


KILL_WHEN = {"email": ("sendgrid_accepted", 1_000), "sms": ("twilio_accepted", 100)}
"""When to kill the worker: once the provider holds this many of its messages (e-mails go first)."""


def _kill_mid_send(engine: Engine, emulator: EmulatorHandle, tmp_path: Path, phase: str = "email") -> None:
    counter, enough = KILL_WHEN[phase]
    worker = _worker(tmp_path, _url(engine), emulator)
    deadline = time.monotonic() + 180
    while True:
        stats = emulator.stats()
        # the provider has some of the phase's messages and the worker holds claims: it is mid-send
        if stats.get(counter, 0) >= enough and _statuses(engine)["sending"]:
            break
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        assert time.monotonic() < deadline, f"the worker sent too little: {stats}"
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)


@pytest.mark.parametrize("phase", ["email", "sms"])
def test_a_crash_then_two_workers_one_slow_end_with_everyone_settled_exactly_once(
    engine: Engine, emulator: EmulatorHandle, tmp_path: Path, phase: str
) -> None:
    people = [person(i, BORN, preferred_channel="sms" if i % 3 == 0 else None) for i in range(PEOPLE)]
    load(engine, people)
    faults = Faults.spread(0.2, retry_after=0.01, hold_seconds=2.0, slow_seconds=1.5)
    emulator.configure(sendgrid_faults=faults, twilio_faults=faults, seed=20)
    _kill_mid_send(engine, emulator, tmp_path, phase)
    crashed = _statuses(engine)
    assert crashed["sending"] > 0, crashed  # the kill left claims behind
    assert _wave_status(engine) != "done"

    library = load_campaigns()
    started = threading.Event()
    slow_channels = {
        name: SlowReconcile(channel, 5.0, started)
        for name, channel in channels(emulator, tmp_path / "slow", library).items()
    }
    slow = CampaignRunner(engine, library, slow_channels, worker="slow")
    fast = CampaignRunner(engine, library, channels(emulator, tmp_path / "fast", library), worker="fast")
    errors: list[BaseException] = []

    def run_slow() -> None:
        try:
            slow.run_step(CAMPAIGN, STEP, AS_OF, now=NOW)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    slow_worker = threading.Thread(target=run_slow)
    slow_worker.start()
    assert started.wait(60), "the slow worker never asked the providers about the crashed claims"
    begun = time.monotonic()
    fast.run_step(CAMPAIGN, STEP, AS_OF, now=NOW)
    fast_took = time.monotonic() - begun
    slow_worker.join(120)
    assert not errors, errors

    for _ in range(3):  # transient faults may have left some queued: plain reruns finish them
        if set(_statuses(engine)) <= {"sent", "holdout", "failed"}:
            break
        assert _wave_status(engine) != "done"  # never done while anyone waits or is in doubt
        fast.run_step(CAMPAIGN, STEP, AS_OF, now=NOW + timedelta(minutes=1))

    final = _statuses(engine)
    assert set(final) <= {"sent", "holdout", "failed"}, final
    assert final["sent"] > 0.8 * PEOPLE
    received = received_keys(emulator)
    assert set(received) == sent_keys(engine)  # nobody lost...
    assert max(received.values()) == 1, [k for k, n in received.items() if n > 1]  # ...nobody twice
    with engine.connect() as connection:
        without_reason = connection.scalar(
            select(func.count()).select_from(Message).where(Message.reason.is_(None))
        )
        reconciled = Counter(
            dict(
                connection.execute(
                    select(Message.detail, func.count())
                    .where(Message.detail.like("reconciled%"))
                    .group_by(Message.detail)
                ).all()
            )
        )
    assert without_reason == 0  # every person ends with a decision and a reason
    assert reconciled["reconciled_found"] > 0  # what the dead worker had handed over is sent, not resent
    assert _wave_status(engine) == "done"
    assert fast_took < 60, fast_took


def test_a_wave_left_in_doubt_stays_due_until_settled(
    engine: Engine, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    load(engine, [person(i, BORN) for i in range(2_600)])
    # every e-mail batch held 3 s before it is stored: the kill lands while one is in flight
    emulator.configure(sendgrid_faults=Faults(slow=1.0, slow_seconds=3.0))
    _kill_mid_send(engine, emulator, tmp_path)
    assert _statuses(engine)["sending"] > 0  # the kill left claims behind
    library = load_campaigns()
    assert library.get(CAMPAIGN).schedule is not None  # a scheduled campaign: the dispatcher owns its waves
    two_days_later = (NOW + timedelta(days=2)).replace(tzinfo=PARIS)  # past the dispatcher's look-back
    due = due_work(engine, library, two_days_later)
    assert [(w.campaign, w.step, w.wave) for w in due if w.step == STEP] == [
        (CAMPAIGN, STEP, AS_OF.isoformat())
    ]

    emulator.configure(sendgrid_faults=Faults())
    runner = CampaignRunner(engine, library, channels(emulator, tmp_path, library))
    report = runner.run_step(CAMPAIGN, STEP, AS_OF, now=NOW)
    assert report.waiting() == Counter()
    assert _wave_status(engine) == "done"
    assert not [w for w in due_work(engine, library, two_days_later) if w.step == STEP]


HOLDER = """
import sys, time
from outreach.db import make_engine
from outreach.delivery import leases
with leases.hold(make_engine(sys.argv[1]), "holder") as lease:
    print(lease.id, flush=True)
    time.sleep(120)
"""


def test_a_lease_is_held_while_its_process_lives_and_gone_the_moment_it_is_killed(engine: Engine) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, _url(engine)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        lease_id = holder.stdout.readline().strip()
        with engine.connect() as connection:
            assert leases.held(connection, [lease_id, "gone.1.000000000000"]) == {lease_id}
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    deadline = time.monotonic() + 10  # PostgreSQL ends the session as soon as it sees the socket close
    while True:
        with engine.connect() as connection:
            if not leases.held(connection, [lease_id]):
                break
        assert time.monotonic() < deadline, "the killed worker's lease is still held"
        time.sleep(0.05)
