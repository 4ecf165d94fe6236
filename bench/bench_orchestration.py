"""What orchestration costs: one e-mail step run directly, through the Prefect flow, and by two workers.

    .venv/bin/python bench/bench_orchestration.py [--size 100000] [--postgres URL]

1. On SQLite, the same `--size`-person e-mail step (the bench campaign of `bench_delivery.py`) is run
   (a) by `CampaignRunner.run_step` directly and (b) by the `run_campaign` Prefect flow, each on a
   freshly loaded database, with the channels the flows build from the environment (SendGrid SDK to
   the emulator in its own process). The flow runs on a temporary Prefect server of its own
   (PREFECT_HOME in a temporary folder); a trivial flow runs first so that the server's start-up is
   not counted. Both run in a fresh child process with the same settings, and the overhead is
   (flow - direct) / direct.
2. On PostgreSQL, the step is sent by one worker, then (on a fresh database) by two: real
   `python -m outreach campaigns run ... --send` processes, as in production and in
   tests/test_delivery_safety.py, sharing the step by claiming batches with FOR UPDATE SKIP LOCKED.
   The wall time runs from starting the processes to the last one's exit.

Every run ends with the emulator's check: exactly one message received per `sent` row.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench_delivery import (
    AS_OF,
    CAMPAIGNS,
    DEFAULT_POSTGRES,
    NOW,
    SENDER,
    STEP,
    database,
    populate,
    received_once,
    write_project,
)
from sqlalchemy import func, select

from outreach.db import make_engine
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.models import Message

CAMPAIGN = CAMPAIGNS["email"]
OVERHEAD_TARGET = 20.0


def settings(project: Path, url: str, emulator: EmulatorHandle, prefect_home: Path) -> dict[str, str]:
    """The environment a worker reads (as tests/test_flows.py sets it), pointed at the bench project."""
    return {
        "OUTREACH_HOME": str(project),
        "OUTREACH_VAR_DIR": str(project / "var"),
        "OUTREACH_DATABASE_URL": url,
        "SENDGRID_API_KEY": emulator.api_key,
        "OUTREACH_SENDGRID_HOST": emulator.sendgrid_host,
        "OUTREACH_EMAIL_FROM": SENDER[0],
        "OUTREACH_EMAIL_FROM_NAME": SENDER[1],
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "DO_NOT_TRACK": "1",
    }


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the block: a spawned child inherits them and reads them at its first import."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def direct_step() -> dict[str, Any]:
    """The step through `CampaignRunner.run_step`, built like a worker builds it (child process)."""
    from flows.runtime import runtime  # after the environment is set: OUTREACH_HOME is read at import

    runner = runtime().runner()
    started = time.perf_counter()
    report = runner.run_step(CAMPAIGN, STEP, AS_OF, now=NOW)
    return {"seconds": time.perf_counter() - started, "statuses": dict(report.by_status())}


def flow_step() -> dict[str, Any]:
    """The step through the `run_campaign` flow, after a trivial flow has started the Prefect server."""
    from prefect import flow

    from flows.campaigns import run_campaign
    from flows.runtime import runtime

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        """Starts the temporary server and Prefect's machinery, so neither is timed."""

    started = time.perf_counter()
    warm_up()
    server_start = time.perf_counter() - started
    runtime()  # the direct path builds its runtime before timing too
    started = time.perf_counter()
    result = run_campaign(CAMPAIGN, STEP, AS_OF, dry_run=False, now=NOW)
    return {
        "seconds": time.perf_counter() - started,
        "statuses": result["statuses"],
        "server_start": server_start,
    }


def in_child(values: dict[str, str], function: Any) -> dict[str, Any]:
    """Run `function` in a new interpreter started with `values` in its environment."""
    with environment(values), ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function).result()


def workers(values: dict[str, str], count: int) -> tuple[float, list[str]]:
    """Send the step with `count` CLI worker processes at once; returns wall seconds and their outputs."""
    command = [sys.executable, "-m", "outreach", "campaigns", "run", CAMPAIGN, "--step", STEP, "--send"]
    command += ["--as-of", AS_OF.isoformat(), "--now", NOW.strftime("%Y-%m-%dT%H:%M")]
    env = {**os.environ, **values}
    started = time.perf_counter()
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    outputs = []
    for process in processes:
        out, errors = process.communicate(timeout=3600)
        if process.returncode != 0:
            raise RuntimeError(f"worker failed ({process.returncode}): {errors[-2000:]}")
        outputs.append(out)
    return time.perf_counter() - started, outputs


def sent_by_worker(url: str) -> dict[str, int]:
    """How many messages each worker sent: both must have done a share.

    `claimed_by` holds the lease of one send call, `<worker>.<pid>.<nonce>`; a worker is its pid.
    """
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.claimed_by, func.count())
            .where(Message.status == "sent")
            .group_by(Message.claimed_by)
        ).all()
    engine.dispose()
    workers: Counter[str] = Counter()
    for lease, count in rows:
        workers[str(lease).rsplit(".", 1)[0].rsplit(".", 1)[-1]] += count
    return dict(workers)


def check(emulator: EmulatorHandle, url: str) -> str:
    received, once = received_once(emulator, url, "email")
    emulator.reset()
    return f"emulator: {received:,} received, {'exactly one per sent row' if once else 'MISMATCH'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin URL ('' to skip PostgreSQL)")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"orchestration benchmark {datetime.now():%Y-%m-%d %H:%M} | {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} | {args.size:,}-person e-mail step, emulator in its "
        "own process, events off",
        flush=True,
    )
    config = EmulatorConfig(events=False, store_content=False)
    with TemporaryDirectory(prefix="outreach-bench-") as tmp, running_emulator(config, process=True) as emu:
        folder = Path(tmp)
        project = write_project(folder / "project", channels=("email",))
        prefect_home = folder / "prefect"
        results = {}
        for label, function in (
            ("direct (CampaignRunner.run_step)", direct_step),
            ("flow (run_campaign)", flow_step),
        ):
            with database("sqlite", folder, args.postgres) as url:
                populate(url, args.size)
                emu.reset()
                result = in_child(settings(project, url, emu, prefect_home), function)
                results[label] = result
                sent = result["statuses"].get("sent", 0)
                extra = (
                    f" (server start-up before it, not timed: {result['server_start']:.1f} s)"
                    if "server_start" in result
                    else ""
                )
                print(
                    f"sqlite  {label:<33} {sent:>8,} sent in {result['seconds']:6.1f} s = "
                    f"{sent / result['seconds']:6,.0f} msg/s | {check(emu, url)}"
                    f"{extra}",
                    flush=True,
                )
        direct, flowed = (r["seconds"] for r in results.values())
        overhead = 100 * (flowed - direct) / direct
        verdict = "met" if overhead < OVERHEAD_TARGET else "MISSED"
        print(f"flow overhead: {overhead:+.1f}% (target < {OVERHEAD_TARGET:.0f}%: {verdict})", flush=True)

        if args.postgres:
            times = {}
            for count in (1, 2):
                with database("postgresql", folder, args.postgres) as url:
                    populate(url, args.size)
                    emu.reset()
                    seconds, _ = workers(settings(project, url, emu, prefect_home), count)
                    times[count] = seconds
                    shares = sent_by_worker(url)
                    sent = sum(shares.values())
                    print(
                        f"postgresql {count} worker process{'es' if count > 1 else ''}: {sent:,} sent in "
                        f"{seconds:6.1f} s = {sent / seconds:6,.0f} msg/s | per worker "
                        f"{sorted(shares.values(), reverse=True)} | {check(emu, url)}",
                        flush=True,
                    )
            print(f"speed-up of two workers over one: {times[1] / times[2]:.2f}x", flush=True)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
