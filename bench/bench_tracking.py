"""Post N SendGrid events in signed batches to the running tracking service; measure ingestion.

    .venv/bin/python bench/bench_tracking.py [--events N] [--batch 1000] [--clients 4]
                                              [--workers W] [--db sqlite|postgres|both] [--postgres URL]

For each back end: a fresh database is migrated and seeded (one person and one sent e-mail per five
events, as a campaign would leave it; on PostgreSQL the tables are then analysed, as autovacuum
does in production: without statistics the planner scans all messages for every batch),
`outreach tracking serve --workers W` is started on a free port of 127.0.0.1 exactly as in
production (uvicorn), and `--clients` threads post the events
as SendGrid does: JSON arrays of `--batch` events, ECDSA-signed, with our `outreach_message_id` at
the top level. Each message gets processed, delivered, a machine or human open and sometimes a
click; 1 % of events name an unknown message (they must be set aside), and 1 % of batches are
posted twice (a provider retry: nothing may be stored twice).

Reported: events/s ingested (events stored or set aside / wall time, client included), the
end-to-end lag of a batch (event creation to stored and acknowledged: ingestion is synchronous),
the check "events in = stored + set aside" read back from the database, the CPU time spent per
event while posting by the client (this process), the service (its process tree) and PostgreSQL
(the backends serving the bench database; WAL writer and checkpointer not included), read from
/proc, and the load average: on a shared machine the wall rate alone says little.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from process_cpu import children, cpu_seconds, database_backends
from sqlalchemy import Engine, func, insert, select, text

from outreach import migrate
from outreach.clock import utcnow
from outreach.db import make_engine, throwaway_postgres_database
from outreach.models import CampaignRun, DeliveryEvent, Message, UnmatchedEvent
from outreach.population.columns import PERSON_FIELDS
from outreach.population.store import upsert_people

EVENTS_PER_MESSAGE = 5
SQLITE_WORKERS = 1
"""SQLite takes one writer at a time: a second process adds no throughput, and when both write in
turn each commit empties the other's page cache. Which process takes each client's kept-alive
connection decides it: two workers gave 9,969/s (113 µs of service CPU per event) in one run and
11,123/s (77 µs, as with one) in another; one worker gave 10,199-10,857/s (78-83 µs)."""
POSTGRES_WORKERS = 2
PARTS = ("client", "service", "postgres")
"""Where CPU time is counted: this process, the service's process tree, the database's backends."""
ROOT = Path(__file__).resolve().parent.parent


def seed(engine: Engine, messages: int) -> int:
    """`messages` people, each with one sent e-mail of one campaign run; returns the first message id."""
    now = utcnow()
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(CampaignRun)
            .values(campaign="releve_carriere", wave="bench", as_of=date(2026, 11, 26), started_at=now)
            .returning(CampaignRun.id)
        ).scalar_one()
    for start in range(0, messages, 10_000):
        people = []
        for index in range(start, min(start + 10_000, messages)):
            row: dict[str, Any] = dict.fromkeys(PERSON_FIELDS)
            row.update(
                person_id=f"B{index:08d}",
                last_name="Martin",
                first_name="Claire",
                birth_date=date(1988, 5, 17),
                status="active",
                email=f"claire.martin{index}@example.fr",
                receives_survivor_pension=False,
                fragility_flags="",
            )
            people.append(row)
        with engine.begin() as connection:
            upsert_people(connection, people)
            connection.execute(
                insert(Message),
                [
                    {
                        "run_id": run_id,
                        "step": "annonce",
                        "person_id": p["person_id"],
                        "journey": "follow_career",
                        "status": "sent",
                        "channel": "email",
                        "sent_at": now,
                    }
                    for p in people
                ],
            )
    if engine.dialect.name == "postgresql":  # as autovacuum would have long before the events come back
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    with engine.connect() as connection:
        return connection.scalar(select(func.min(Message.id)))


def batches(first_id: int, events: int, size: int, seed_value: int) -> list[list[dict[str, Any]]]:
    """Every batch's events, as plain dicts (cheap); bodies are serialised by the posting thread."""
    rng = random.Random(seed_value)
    messages = max(1, events // EVENTS_PER_MESSAGE)
    out: list[dict[str, Any]] = []
    for index in range(events):
        message = first_id + index % messages
        kind = ("processed", "delivered", "open", "open", "click")[index // messages % EVENTS_PER_MESSAGE]
        key = f"m{message}" if rng.random() >= 0.01 else f"m{10**9 + index}"
        event = {
            "email": f"claire.martin{message - first_id}@example.fr",
            "timestamp": 0,
            "event": kind,
            "sg_event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "sg_message_id": f"bench{message}.filterdrecv-1.0",
            "outreach_message_id": key,
            "category": ["releve_carriere"],
        }
        if kind == "open":
            event["sg_machine_open"] = rng.random() < 0.4
        if kind == "click":
            event["url"] = (
                "https://www.lassuranceretraite.fr/portail-info/home/actif/mon-releve-de-carriere.html"
            )
        out.append(event)
    rng.shuffle(out)  # providers report out of order
    return [out[i : i + size] for i in range(0, len(out), size)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(url: str, events: int, size: int, clients: int, workers: int) -> dict[str, Any]:
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    migrate.upgrade(engine)
    started = time.perf_counter()
    first_id = seed(engine, max(1, events // EVENTS_PER_MESSAGE))
    seeding = time.perf_counter() - started
    work = batches(first_id, events, size, seed_value=2026)
    retried = set(random.Random(7).sample(range(len(work)), max(1, len(work) // 100)))

    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    port = free_port()
    var = tempfile.mkdtemp(prefix="bench-tracking-var-")
    env = os.environ | {
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_VAR_DIR": var,
        "OUTREACH_TRACKING_SECRET": base64.b64encode(os.urandom(32)).decode(),
        "OUTREACH_TRACKING_BASE_URL": f"http://127.0.0.1:{port}",
        "OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY": public,
    }
    outreach = str(Path(sys.executable).with_name("outreach"))
    server = subprocess.Popen(
        [outreach, "tracking", "serve", "--port", str(port), "--workers", str(workers)], env=env, cwd=ROOT
    )
    endpoint = f"http://127.0.0.1:{port}/webhooks/sendgrid"
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/health")
        lags: list[float] = []
        totals = {"received": 0, "stored": 0, "unmatched": 0, "duplicates": 0, "spooled": 0, "errors": 0}
        lock = threading.Lock()
        queue = iter(enumerate(work))

        def poster() -> None:
            with httpx.Client(timeout=120) as client:
                while True:
                    with lock:
                        item = next(queue, None)
                    if item is None:
                        return
                    index, batch = item
                    for attempt in range(2 if index in retried else 1):
                        created = time.time()
                        for event in batch:
                            event["timestamp"] = int(created)
                        body = orjson.dumps(batch)  # SendGrid's work, not ours: keep it cheap here
                        stamp = str(int(created))
                        signature = base64.b64encode(
                            key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
                        )
                        response = client.post(
                            endpoint,
                            content=body,
                            headers={
                                "Content-Type": "application/json",
                                "X-Twilio-Email-Event-Webhook-Signature": signature.decode(),
                                "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
                            },
                        )
                        done = time.time()
                        with lock:
                            if response.status_code != 200:
                                totals["errors"] += 1
                                continue
                            summary = response.json()
                            for name in ("received", "stored", "unmatched", "duplicates"):
                                totals[name] += summary[name]
                            totals["spooled"] += summary["spooled"]
                            if attempt == 0:
                                lags.append(done - created)

        service = [server.pid, *children(server.pid, "")]  # uvicorn and its workers
        backends = set(database_backends(engine.url.database or "")) if postgres else set()
        cpu_before = (time.process_time(), cpu_seconds(service), cpu_seconds(backends))
        wall = time.perf_counter()
        threads = [threading.Thread(target=poster) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - wall
        if postgres:  # the service's connections, opened while posting (one that left took its CPU time)
            backends |= set(database_backends(engine.url.database or ""))
        cpu_after = (time.process_time(), cpu_seconds(service), cpu_seconds(backends))
        load = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(var, ignore_errors=True)
    with engine.connect() as connection:
        stored = connection.scalar(select(func.count()).select_from(DeliveryEvent))
        aside = connection.scalar(select(func.count()).select_from(UnmatchedEvent))
        if postgres:
            size_bytes = connection.scalar(text("SELECT pg_database_size(current_database())"))
    engine.dispose()  # on SQLite the last connection to close checkpoints the write-ahead log into the file
    if not postgres:
        size_bytes = Path(engine.url.database or "").stat().st_size
    lags.sort()
    return {
        "events": events,
        "service_workers": workers,
        "batches": len(work),
        "retried_batches": len(retried),
        "seeding_s": round(seeding, 1),
        "wall_s": round(wall, 2),
        "events_per_s": round(events / wall),
        "lag_p50_ms": round(1000 * _pct(lags, 0.50)),
        "lag_p95_ms": round(1000 * _pct(lags, 0.95)),
        "lag_max_ms": round(1000 * lags[-1]),
        "stored": stored,
        "set_aside": aside,
        "duplicates_refused": totals["duplicates"],
        "http_errors": totals["errors"],
        "spooled_batches": totals["spooled"],
        "db_mb": round(size_bytes / 2**20),
        **{
            f"cpu_us_per_event_{part}": round(1e6 * (after - before) / events, 1)
            for part, before, after in zip(PARTS, cpu_before, cpu_after, strict=True)
            if part != "postgres" or postgres
        },
        "load_average_1min": round(load, 2),
        "check_in_equals_stored_plus_set_aside": stored + aside == events,
    }


def _pct(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 180  # two workers importing on a loaded machine: 20-60 s seen
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the tracking service did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--workers",
        type=int,
        help="uvicorn processes of the service (default: as deployed, 1 on SQLite, 2 on PostgreSQL)",
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("OUTREACH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    print(
        f"bench_tracking: {args.events:,} SendGrid events, batches of {args.batch}, {args.clients} clients, "
        f"service workers {args.workers or 'as deployed'}, {os.cpu_count()} CPUs"
    )
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-tracking-") as folder:
            print(
                "sqlite     ",
                json.dumps(
                    run(
                        f"sqlite:///{folder}/bench.sqlite3",
                        args.events,
                        args.batch,
                        args.clients,
                        args.workers or SQLITE_WORKERS,
                    )
                ),
            )
    if args.db in ("postgres", "both"):
        with throwaway_postgres_database(args.postgres, "outreach_bench_tracking") as url:
            result = run(url, args.events, args.batch, args.clients, args.workers or POSTGRES_WORKERS)
            print("postgresql ", json.dumps(result))


if __name__ == "__main__":
    main()
