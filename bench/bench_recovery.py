"""After a crash: how long until every message is settled, and how long a step takes to start.

    .venv/bin/python bench/bench_recovery.py [--size 40000] [--postgres URL] [--databases sqlite,postgresql]

For SQLite then PostgreSQL (a throwaway database), a synthetic population of `--size` people is
generated (with the shipped campaigns, segments and templates), and the `prepare_retirement` step —
e-mails, SMS and letters — is sent by a real `outreach campaigns run --send` process to the emulator
at 20% faults. The process is killed with SIGKILL once the emulator holds its first e-mails; then one
worker sends the step again at once. Printed, per database:

- `start`: seconds from `run_step` to the first batch handed to a channel (segment refresh, audience,
  policy, rendering), on a freshly loaded database of its own;
- `settled`: seconds from the kill to the end of the rerun (a new process: recovery of what the kill
  left in doubt, with its wait of `OUTREACH_RECONCILE_SETTLE_SECONDS` for "not found", then the rest
  of the step), after which no message may be left `sending` or `ambiguous`;
- duplicates and lost messages counted at the emulator by our message key (both must be 0).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import func, select

from outreach import migrate
from outreach.campaigns.library import load_campaigns
from outreach.campaigns.runner import CampaignRunner
from outreach.channels.factory import build_channels
from outreach.db import make_engine, throwaway_postgres_database
from outreach.emulator.config import EmulatorConfig, Faults
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.models import Message
from outreach.population.generator import load_database

REPOSITORY = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 30)  # UTC: a Thursday, 10:30 in Paris, every window open
CAMPAIGN, STEP = "prepare_retirement", "invitation"
SEED = 2026
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
CALLBACK = "http://127.0.0.1:9/webhooks/twilio/status?m={message_key}"
SETTLE_SECONDS = "3"


def provider_env(url: str, var: Path, emulator: EmulatorHandle) -> dict[str, str]:
    """The environment of a production worker pointed at the emulator."""
    return {
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_VAR_DIR": str(var),
        "OUTREACH_HOME": str(REPOSITORY),
        "SENDGRID_API_KEY": emulator.api_key,
        "OUTREACH_SENDGRID_HOST": emulator.sendgrid_host,
        "OUTREACH_EMAIL_FROM": "ne-pas-repondre@carsat-centreouest.fr",
        "TWILIO_ACCOUNT_SID": emulator.account_sid,
        "TWILIO_AUTH_TOKEN": emulator.auth_token,
        "OUTREACH_TWILIO_BASE_URL": emulator.twilio_base,
        "OUTREACH_SMS_SENDER": "CARSAT CO",
        "OUTREACH_SMS_STATUS_CALLBACK": CALLBACK,
        "OUTREACH_SMS_RATE": "2000",
        "OUTREACH_RECONCILE_SETTLE_SECONDS": SETTLE_SECONDS,
    }


def received(emulator: EmulatorHandle) -> Counter[str]:
    messages = emulator.messages()
    keys = Counter(m["custom_args"]["outreach_message_id"] for m in messages["sendgrid"])
    keys.update(m["status_callback"].rsplit("=", 1)[1] for m in messages["twilio"])
    return keys


def time_to_first_call(url: str, size: int, folder: Path) -> float:
    """Seconds from `run_step` to the first batch handed to a provider, on a freshly loaded database."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    load_database(engine, size, SEED, AS_OF)
    library = load_campaigns(REPOSITORY / "campaigns")
    os.environ["OUTREACH_VAR_DIR"] = str(folder)
    channels = build_channels(library.renderer)  # outboxes: the provider's speed is not measured here
    first: list[float] = []
    runner = CampaignRunner(engine, library, channels, previews_dir=folder / "previews")
    started = time.perf_counter()
    prepared = runner.prepare(CAMPAIGN, STEP, AS_OF, now=NOW)
    runner.send(prepared, limit=1, before_send=lambda _c, _n: first.append(time.perf_counter()))
    engine.dispose()
    return (first[0] if first else time.perf_counter()) - started


def crash_and_settle(url: str, size: int, folder: Path) -> dict[str, float]:
    """Kill a real worker mid-send at 20% faults, rerun at once; seconds until nothing is in doubt."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    load_database(engine, size, SEED, AS_OF)
    with running_emulator(EmulatorConfig(seed=20, events=False)) as emulator:
        faults = Faults.spread(0.2, retry_after=0.01, hold_seconds=2.0, slow_seconds=1.5)
        emulator.configure(sendgrid_faults=faults, twilio_faults=faults, seed=20)
        env = {**os.environ, **provider_env(url, folder / "var", emulator)}
        command = [sys.executable, "-m", "outreach", "campaigns", "run", CAMPAIGN, "--send"]
        command += ["--as-of", AS_OF.isoformat(), "--now", NOW.strftime("%Y-%m-%dT%H:%M")]
        worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while emulator.stats().get("sendgrid_accepted", 0) < 1:
            if worker.poll() is not None:
                raise RuntimeError(worker.stderr.read().decode() if worker.stderr else "worker ended")
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed = time.perf_counter()
        with engine.connect() as connection:
            left = connection.scalar(
                select(func.count()).select_from(Message).where(Message.status.in_(("sending", "ambiguous")))
            )
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        settled = time.perf_counter() - killed
        if rerun.returncode != 0:
            raise RuntimeError(rerun.stderr)
        with engine.connect() as connection:
            statuses = Counter(
                dict(connection.execute(select(Message.status, func.count()).group_by(Message.status)).all())
            )
            sent = {
                f"m{i}"
                for i in connection.scalars(
                    select(Message.id).where(Message.status == "sent", Message.channel.in_(("email", "sms")))
                )
            }
        keys = received(emulator)
    engine.dispose()
    return {
        "left_by_the_kill": left,
        "settled_seconds": settled,
        "in_doubt_after": statuses["sending"] + statuses["ambiguous"],
        "duplicates": sum(n - 1 for n in keys.values() if n > 1),
        "lost": len(sent - set(keys)),
        "sent": statuses["sent"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=40_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin URL ('' to skip PostgreSQL)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    kinds = [k for k in args.databases.split(",") if k == "sqlite" or args.postgres]
    print(f"{args.size:,} people, {CAMPAIGN}/{STEP}, settle wait {SETTLE_SECONDS} s")
    for kind in kinds:
        with TemporaryDirectory(prefix="bench-recovery-") as tmp:
            folder = Path(tmp)
            for label, work in (("start", time_to_first_call), ("crash", crash_and_settle)):
                sub = folder / label
                sub.mkdir()
                if kind == "sqlite":
                    result = work(f"sqlite:///{sub / 'outreach.sqlite3'}", args.size, sub)
                else:
                    with throwaway_postgres_database(args.postgres, "bench_recovery") as url:
                        result = work(url, args.size, sub)
                if label == "start":
                    print(f"{kind:<10} start: first provider call after {result:.2f} s")
                else:
                    figures = ", ".join(
                        f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()
                    )
                    print(f"{kind:<10} crash: {figures}")


if __name__ == "__main__":
    main()
