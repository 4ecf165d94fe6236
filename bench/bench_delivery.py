"""End-to-end delivery speed: a whole campaign step through `CampaignRunner` to the emulator.

    .venv/bin/python bench/bench_delivery.py [--size 100000] [--postgres URL] [--threads 8] [--concurrency 32]
        [--databases sqlite,postgresql]
    .venv/bin/python bench/bench_delivery.py --sizes 10000,100000,1000000     # memory flatness

For e-mail then SMS, on SQLite then PostgreSQL (a throwaway database, created and dropped), `--size`
people, all reachable on the measured channel, go through a one-channel campaign step: segment
refresh and audience, channel policy (the "prepare" phase), then claim, render, send through the real
SendGrid / Twilio SDK to the emulator in its own process, and record (the "send" phase).

Each step runs in a fresh child process, so its peak memory (ru_maxrss) is the campaign's own and
not the population generator's. After each step the emulator's store is compared with the `sent`
rows: exactly one message per row. The floor is the same number of bare SDK calls with pre-rendered
messages (`bench_channels.py`), measured against the same emulator.

`--sizes` runs only the e-mail step on SQLite, once per size, to see whether peak memory stays flat
as the population grows. `--profile DIR` writes a cProfile file per step, to see where time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import resource
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from multiprocessing import get_context
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from bench_channels import bare_sendgrid, bare_twilio, channel_sendgrid, email, sms
from process_cpu import children, cpu_seconds, database_backends
from sqlalchemy import make_url, select, text

from outreach import migrate
from outreach.campaigns.library import CampaignLibrary, load_campaigns
from outreach.campaigns.runner import CampaignRunner
from outreach.channels.base import Channel
from outreach.channels.credentials import DEFAULT_SMS_CONCURRENCY
from outreach.channels.sendgrid_email import SendGridChannel
from outreach.channels.twilio_sms import TwilioChannel
from outreach.db import make_engine, throwaway_postgres_database
from outreach.delivery.pipeline import message_key
from outreach.delivery.policy import PressureLimits
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.models import Message
from outreach.rendering.renderer import Renderer
from outreach.segments.library import load_library

REPOSITORY = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 30)
"""UTC: a Thursday, 10:30 in Paris, inside the SMS window (the clock is fixed, the run is not)."""
SEED = 42
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SENDER = ("ne-pas-repondre@carsat-centreouest.fr", "CARSAT Centre-Ouest")
SMS_SENDER = "CARSAT CO"
CALLBACK = "http://127.0.0.1:9/webhooks/twilio/status?m={message_key}"
"""Carries each SMS's key to the emulator, which keeps it: how received messages are matched to rows."""
STEP = "only"
CAMPAIGNS = {"email": "bench_email", "sms": "bench_sms"}
UNLIMITED = PressureLimits(caps={"email": 10**9, "sms": 10**9, "letter": 10**9})
"""The bench measures throughput, not contact pressure: nobody may be deferred by a cap."""
TARGETS = {"email": 3_000, "sms": 1_000}
MEMORY_TARGET_MB = 500

SEGMENT = """\
name: bench_everyone
description: Tout le monde (en vie), pour les bancs d'essai.
journey: follow_career
rule:
  field: status
  in: [active, retired]
"""

CAMPAIGN = """\
name: {name}
description: Banc d'essai, une seule étape, un seul canal ({channel}).
journey: follow_career
segment: bench_everyone
holdout: 0
journey_gap: null
steps:
  - name: {step}
    channels: [{channel}]
    template: career_statement_35
"""

REACHABLE = (
    # Everyone alive, reachable by e-mail and mobile, technophile and not fragile, with no opt-out or
    # suppression: the policy then picks the step's only channel for every member of the segment.
    "UPDATE people SET status = 'retired' WHERE status = 'deceased'",
    "UPDATE people SET email = 'assure.' || lower(person_id) || '@exemple.example.org' WHERE email IS NULL",
    "UPDATE people SET mobile_phone = '+336' || substr(person_id, 3) WHERE mobile_phone IS NULL",
    "UPDATE people SET digital_profile = 'technophile', fragility_flags = '', preferred_channel = NULL",
    "DELETE FROM opt_outs",
    "DELETE FROM suppressions",
)


def write_project(folder: Path, channels: tuple[str, ...] = ("email", "sms")) -> Path:
    """A project folder of the bench's own segment and campaigns, with the real templates linked in.

    Pointing OUTREACH_HOME at it makes the CLI and the flows read these campaigns too.
    """
    (folder / "segments").mkdir(parents=True, exist_ok=True)
    (folder / "campaigns").mkdir(exist_ok=True)
    (folder / "segments" / "bench_everyone.yaml").write_text(SEGMENT, encoding="utf-8")
    for channel in channels:
        name = CAMPAIGNS[channel]
        content = CAMPAIGN.format(name=name, channel=channel, step=STEP)
        (folder / "campaigns" / f"{name}.yaml").write_text(content, encoding="utf-8")
    if not (folder / "templates").exists():
        (folder / "templates").symlink_to(REPOSITORY / "templates")
    return folder


def bench_library(project: Path) -> CampaignLibrary:
    """The bench campaigns, validated like any campaign file."""
    segments = load_library(project / "segments")
    return load_campaigns(project / "campaigns", segments=segments, renderer=Renderer(project / "templates"))


@contextlib.contextmanager
def database(kind: str, folder: Path, postgres: str) -> Iterator[str]:
    """The URL of an empty database for one bench: a SQLite file, or a PostgreSQL database dropped after."""
    if kind == "sqlite":
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in folder.glob(f"{path.name}*"):  # -wal, -shm, and the workers' -leases folder
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
        return
    with throwaway_postgres_database(postgres, "outreach_bench") as url:
        yield url


def populate(url: str, size: int) -> float:
    """Migrate, load `size` generated people and make each reachable on every channel; returns seconds."""
    # Imported here: the steps' child processes re-import this module, and the generator's pandas and
    # numpy would then count in the campaign's memory although no campaign uses them.
    from outreach.population.generator import load_database

    started = time.perf_counter()
    engine = make_engine(url)
    migrate.upgrade(engine)
    load_database(engine, size, SEED, AS_OF)
    with engine.begin() as connection:
        for statement in REACHABLE:
            connection.execute(text(statement))
    with engine.begin() as connection:
        # A live database has statistics on its population. Not on `messages`: analysed while empty,
        # PostgreSQL would trust "0 rows" and plan the policy's per-chunk queries as nested loops over
        # the whole step (seen: ~50 s per 5,000-message chunk at 100,000).
        connection.execute(text("ANALYZE people"))
    engine.dispose()
    return time.perf_counter() - started


def max_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    `ru_maxrss` is not used for the step's child: Linux carries the parent's peak over `exec` into it
    (here the population generator's ~190 MB), so it would report the parent's memory, not the step's.
    VmHWM is the high-water mark of the child's own address space; ru_maxrss stays the fallback.
    """
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_channel(channel: str, emulator: EmulatorHandle, concurrency: int) -> Channel:
    """The production channel, pointed at the emulator; SMS pacing set far above what can be reached."""
    if channel == "email":
        return SendGridChannel(emulator.api_key, host=emulator.sendgrid_host, sender=SENDER)
    return TwilioChannel(
        emulator.account_sid,
        emulator.auth_token,
        sender=SMS_SENDER,
        base_url=emulator.twilio_base,
        status_callback=CALLBACK,
        rate_per_second=1_000_000,
        concurrency=concurrency,
    )


def run_step_alone(
    url: str, project: Path, channel: str, emulator: EmulatorHandle, concurrency: int, profile: Path | None
) -> dict[str, Any]:
    """One campaign step, timed by phase (runs in a fresh child process: its memory is the step's)."""
    engine = make_engine(url)
    runner = CampaignRunner(
        engine,
        bench_library(project),
        {channel: make_channel(channel, emulator, concurrency)},
        limits=UNLIMITED,
        worker=f"bench-{os.getpid()}",
        previews_dir=project / "previews",
    )
    baseline = max_rss_mb()
    database = make_url(url).database if url.startswith("postgresql") else None
    backends_before = cpu_seconds(database_backends(database)) if database else 0.0
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    started, started_cpu = time.perf_counter(), time.process_time()
    prepared = runner.prepare(CAMPAIGNS[channel], STEP, AS_OF, now=NOW)
    prepared_at, prepared_cpu = time.perf_counter(), time.process_time()
    runner.send(prepared)
    sent_at, sent_cpu = time.perf_counter(), time.process_time()
    report = runner.finish(prepared)
    finished = time.perf_counter()
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    # before the pool closes its connections: their server processes end with them
    backends = cpu_seconds(database_backends(database)) - backends_before if database else None
    engine.dispose()
    return {
        "prepare": prepared_at - started,
        "send": sent_at - prepared_at,
        "total": finished - started,
        "prepare_cpu": prepared_cpu - started_cpu,
        "send_cpu": sent_cpu - prepared_cpu,
        "database_cpu": backends,
        "statuses": dict(report.by_status()),
        "baseline_mb": baseline,
        "peak_mb": max_rss_mb(),
    }


def in_child(*args: Any) -> dict[str, Any]:
    """`run_step_alone` in a new interpreter: nothing of this process's memory or threads carries over."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_step_alone, *args).result()


def received_once(emulator: EmulatorHandle, url: str, channel: str) -> tuple[int, bool]:
    """How many messages the emulator received, and whether that is exactly one per `sent` row.

    The listing is read with a timeout for its size (a million e-mails take minutes to serialise), not
    the handle's 30 s.
    """
    response = httpx.get(f"{emulator.base_url}/_emulator/messages", timeout=600)
    response.raise_for_status()
    delivered = response.json()
    if channel == "email":
        keys = Counter(m["custom_args"]["outreach_message_id"] for m in delivered["sendgrid"])
    else:
        keys = Counter(parse_qs(urlsplit(m["status_callback"]).query)["m"][0] for m in delivered["twilio"])
    engine = make_engine(url)
    with engine.connect() as connection:
        ids = connection.scalars(
            select(Message.id).where(Message.status == "sent", Message.channel == channel)
        ).all()
    engine.dispose()
    sent = {message_key(i) for i in ids}
    return keys.total(), set(keys) == sent and max(keys.values(), default=1) == 1


@dataclass
class Measure:
    """One step on one database: its phases, outcome, memory and the emulator's count."""

    database: str
    channel: str
    size: int
    result: dict[str, Any]
    received: int
    exactly_once: bool

    @property
    def sent(self) -> int:
        return self.result["statuses"].get("sent", 0)

    def line(self) -> str:
        r = self.result
        database = "-" if r["database_cpu"] is None else f"{1000 * r['database_cpu'] / self.size:.3f}"
        return (
            f"{self.database:<10} {self.channel:<5} {self.size:>9,} {self.sent:>9,} "
            f"{r['prepare']:>8.1f} {r['send']:>7.1f} {r['total']:>7.1f} "
            f"{self.sent / r['total']:>9,.0f} {self.sent / r['send']:>9,.0f} "
            f"{r['baseline_mb']:>7.0f} {r['peak_mb']:>7.0f} "
            f"{1000 * r['prepare_cpu'] / self.size:>8.3f} {1000 * r['send_cpu'] / max(self.sent, 1):>8.3f} "
            f"{1000 * r['emulator_cpu'] / max(self.sent, 1):>7.3f} "
            f"{database:>7}  "
            f"{self.received:,} received, "
            f"{'exactly one per sent row' if self.exactly_once else 'MISMATCH with sent rows'}"
        )


HEADER = (
    f"{'database':<10} {'chan':<5} {'people':>9} {'sent':>9} {'prepare':>8} {'send':>7} {'total':>7} "
    f"{'e2e msg/s':>9} {'send/s':>9} {'base MB':>7} {'peak MB':>7} {'prep CPU':>8} {'send CPU':>8} "
    f"{'emu CPU':>7} {'db CPU':>7}  emulator"
)
"""CPU columns, in ms: `prep CPU` per person and `send CPU` per message sent, of the step's own process
(SQLite included); `emu CPU` of the emulator per message sent; `db CPU` of PostgreSQL's server processes
for the step's connections, per person. The figures to read when the machine is shared."""


def floor(emulator: EmulatorHandle, channel: str, count: int, threads: int) -> float:
    """Messages/s of bare SDK calls with pre-rendered messages: the most the client side could do."""
    emulator.reset()
    if channel == "email":
        seconds = bare_sendgrid(emulator.sendgrid_host, [email(i) for i in range(count)])
    else:
        texts = [sms(i) for i in range(count)]
        seconds = bare_twilio(emulator.twilio_base, emulator.account_sid, emulator.auth_token, texts, threads)
    emulator.reset()
    return count / seconds


def measure(
    emulator: EmulatorHandle,
    kind: str,
    url: str,
    project: Path,
    channel: str,
    size: int,
    concurrency: int,
    profile: Path | None,
) -> Measure:
    emulator.reset()
    profile_file = profile / f"{kind}-{channel}-{size}.prof" if profile else None
    emulator_processes = children(os.getpid(), "outreach.emulator")
    emulator_before = cpu_seconds(emulator_processes)
    result = in_child(url, project, channel, emulator, concurrency, profile_file)
    result["emulator_cpu"] = cpu_seconds(emulator_processes) - emulator_before
    received, once = received_once(emulator, url, channel)
    emulator.reset()
    measured = Measure(kind, channel, size, result, received, once)
    print(measured.line(), flush=True)
    return measured


def measure_floors(
    emulator: EmulatorHandle, channels: list[str], size: int, threads: int
) -> dict[str, float]:
    """The floor of each measured channel (only those: the SMS floor alone takes minutes at 100,000)."""
    floors = {}
    if "email" in channels:
        floors["email"] = floor(emulator, "email", size, threads)
        print(f"floor, e-mail: {size:,} bare SendGrid SDK sends, 1,000 per request: {floors['email']:,.0f}/s")
        channel_rate = size / channel_sendgrid(emulator.sendgrid_host, [email(i) for i in range(size)])
        emulator.reset()
        print(
            f"       e-mail: SendGridChannel on the same pre-rendered messages (exact bodies): "
            f"{channel_rate:,.0f}/s"
        )
    if "sms" in channels:
        floors["sms"] = floor(emulator, "sms", size, threads)
        print(f"floor, SMS: {size:,} bare Twilio SDK calls, {threads} threads: {floors['sms']:,.0f}/s")
    return floors


def verdicts(measures: list[Measure], floors: dict[str, float]) -> None:
    print("\ntargets (end to end, per step):")
    for m in measures:
        rate = m.sent / m.result["total"]
        target = TARGETS[m.channel]
        print(
            f"  {m.database:<10} {m.channel:<5} {rate:>7,.0f} msg/s vs {target:,}: "
            f"{'met' if rate >= target else 'MISSED'}; {100 * rate / floors[m.channel]:.0f}% of the floor "
            f"({floors[m.channel]:,.0f}/s); peak {m.result['peak_mb']:.0f} MB vs {MEMORY_TARGET_MB}: "
            f"{'met' if m.result['peak_mb'] < MEMORY_TARGET_MB else 'MISSED'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin URL ('' to skip PostgreSQL)")
    parser.add_argument("--threads", type=int, default=8, help="threads of the bare-SDK SMS floor")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_SMS_CONCURRENCY,
        help="SMS requests in flight in the step (default: OUTREACH_SMS_CONCURRENCY's default)",
    )
    parser.add_argument("--databases", default="sqlite,postgresql", help="which of sqlite,postgresql")
    parser.add_argument("--channels", default="email,sms", help="which of email,sms to send")
    parser.add_argument("--sizes", help="comma-separated sizes: e-mail on SQLite only, memory flatness")
    parser.add_argument("--profile", type=Path, help="write a cProfile file per step into this folder")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(
        f"delivery benchmark {datetime.now():%Y-%m-%d %H:%M} | {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} | emulator in its own process, events off",
        flush=True,
    )
    config = EmulatorConfig(events=False, store_content=False)
    with TemporaryDirectory(prefix="outreach-bench-") as tmp, running_emulator(config, process=True) as emu:
        folder = Path(tmp)
        project = write_project(folder / "project")
        if args.sizes:
            sizes = [int(s) for s in args.sizes.split(",")]
            print(HEADER, flush=True)
            peaks = []
            for size in sizes:
                with database("sqlite", folder, args.postgres) as url:
                    populate(url, size)
                    peaks.append(
                        measure(emu, "sqlite", url, project, "email", size, args.concurrency, args.profile)
                    )
            growth = peaks[-1].result["peak_mb"] - peaks[0].result["peak_mb"]
            print(f"\npeak memory from {sizes[0]:,} to {sizes[-1]:,} people: {growth:+.0f} MB")
            return
        channels = args.channels.split(",")
        floors = measure_floors(emu, channels, args.size, args.threads)
        kinds = [
            k for k in args.databases.split(",") if k == "sqlite" or (k == "postgresql" and args.postgres)
        ]
        measures: list[Measure] = []
        for kind in kinds:
            with database(kind, folder, args.postgres) as url:
                seconds = populate(url, args.size)
                print(
                    f"\n{kind}: {args.size:,} people generated and loaded in {seconds:.1f} s "
                    "(not timed below)"
                )
                print(HEADER, flush=True)
                for channel in channels:
                    measures.append(
                        measure(emu, kind, url, project, channel, args.size, args.concurrency, args.profile)
                    )
        verdicts(measures, floors)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
