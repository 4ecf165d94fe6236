"""The end-to-end demo on the embedded defaults: one campaign's whole loop, printed as it goes.

1. a synthetic population of the fund's territory in a fresh SQLite database;
2. every segment refreshed;
3. the local provider emulator and the tracking service started on 127.0.0.1, the emulator posting
   signed SendGrid events and Twilio callbacks to the tracking service;
4. the `retirement_claim` campaign through its Prefect flow: a dry run, then the first step for real,
   through the official SendGrid and Twilio SDKs to the emulator, letters into a print batch;
5. the emulated events ingested (deliveries, opens, clicks, bounces);
6. the follow-up step eleven simulated days later: an SMS for those who did not react;
7. what happened, in numbers.

Nothing leaves the machine and no credential is needed: the secrets are made up for the run.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, select

from outreach import migrate
from outreach.asgi import bind, serving_in_thread
from outreach.clock import today_paris
from outreach.db import default_engine
from outreach.delivery.windows import SMS_WINDOW
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.running import running_emulator
from outreach.models import CampaignRun, DeliveryEvent, Message
from outreach.population import generator
from outreach.tracking.app import create_app
from outreach.tracking.settings import TrackingSettings

CAMPAIGN = "retirement_claim"
Echo = Callable[[str], None]


def _print_step(echo: Echo, engine: Engine, step: str) -> None:
    """Who got what at `step` of the real (not dry) run, by status, channel and reason."""
    columns = (Message.status, Message.channel, Message.reason)
    query = (
        select(*columns, func.count())
        .join(CampaignRun, CampaignRun.id == Message.run_id)
        .where(Message.step == step, CampaignRun.dry_run.is_(False))
        .group_by(*columns)
        .order_by(func.count().desc())
    )
    with engine.connect() as connection:
        for status, channel, reason, count in connection.execute(query):
            echo(f"    {count:>6}  {status:<9} {channel or '-':<7} {reason or '-'}")


def run_demo(size: int, seed: int, as_of: date | None, echo: Echo) -> None:
    """Run the whole loop on the configured (embedded) database; see the module docstring."""
    as_of = as_of or today_paris()
    engine = default_engine()
    started = time.perf_counter()
    migrate.upgrade(engine)
    loaded = generator.load_database(engine, size, seed, as_of)
    echo(
        f"1. population: {loaded.people} synthetic people, {loaded.opt_outs} opt-outs, "
        f"{loaded.complaints} complaints ({loaded.warnings} unusable contact details left out)"
    )

    tracking_socket = bind()
    tracking_url = f"http://127.0.0.1:{tracking_socket.getsockname()[1]}"
    emulator_config = EmulatorConfig(
        seed=seed,
        sendgrid_webhook_url=f"{tracking_url}/webhooks/sendgrid",
        event_delay=0.2,
    )
    with running_emulator(emulator_config) as emulator:
        settings = TrackingSettings(
            secret=secrets.token_bytes(32),
            base_url=tracking_url,
            sendgrid_public_key=emulator.public_key,
            twilio_auth_token=emulator.auth_token,
        )
        os.environ.update(
            {
                "SENDGRID_API_KEY": emulator.api_key,
                "OUTREACH_SENDGRID_HOST": emulator.sendgrid_host,
                "OUTREACH_EMAIL_FROM": "ne-pas-repondre@carsat-centreouest.fr",
                "OUTREACH_EMAIL_FROM_NAME": "Carsat Centre-Ouest",
                "TWILIO_ACCOUNT_SID": emulator.account_sid,
                "TWILIO_AUTH_TOKEN": emulator.auth_token,
                "OUTREACH_TWILIO_BASE_URL": emulator.twilio_base,
                "OUTREACH_SMS_SENDER": "CARSAT CO",
                "OUTREACH_SMS_RATE": "500",
                "OUTREACH_TRACKING_SECRET": settings.secret.hex(),
                "OUTREACH_TRACKING_BASE_URL": tracking_url,
            }
        )
        with serving_in_thread(create_app(engine, settings), "tracking", tracking_socket):
            echo(f"2. provider emulator on {emulator.base_url}, tracking service on {tracking_url}")
            _campaign(engine, emulator, as_of, echo)
    echo(
        f"done in {time.perf_counter() - started:.0f} s. Outbox, print batches and previews: "
        f"{os.environ.get('OUTREACH_VAR_DIR', 'var')}"
    )


def _campaign(engine: Engine, emulator, as_of: date, echo: Echo) -> None:  # type: ignore[no-untyped-def]
    # Prefect starts its temporary server on first use; give it time on a busy two-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.campaigns import refresh_segments, run_campaign

    counts = refresh_segments(as_of)
    echo("3. segments refreshed: " + ", ".join(f"{n} {c['members']}" for n, c in sorted(counts.items())))

    rehearsal = run_campaign(CAMPAIGN, as_of=as_of, dry_run=True)
    echo(f"4. dry run of {CAMPAIGN}: {rehearsal['statuses']} (nothing sent; previews written)")

    # The SMS window is closed at night, at weekends and on holidays: the demo's clock starts at the
    # next opening (an hour in), so it shows the same thing whenever it is run.
    opening = SMS_WINDOW.next_opening(datetime.now(UTC)) + timedelta(hours=1)
    now = opening.astimezone(UTC).replace(tzinfo=None)
    first = run_campaign(CAMPAIGN, as_of=as_of, dry_run=False, now=now)
    echo(f"5. first step sent through the SDKs to the emulator: {first['statuses']}")
    _print_step(echo, engine, "claim_invitation")

    emulator.wait_for_events(timeout=60)
    time.sleep(1.0)  # the last webhook posts are being stored
    with engine.connect() as connection:
        events = dict(
            connection.execute(select(DeliveryEvent.event, func.count()).group_by(DeliveryEvent.event)).all()
        )
    echo(f"6. events back through the signed webhooks: {events}")

    later = now + timedelta(days=11)
    follow_up = run_campaign(CAMPAIGN, "sms_reminder", as_of, dry_run=False, now=later)
    echo(f"7. eleven days later, SMS reminder to those who did not react: {follow_up['statuses']}")
    _print_step(echo, engine, "sms_reminder")
