"""A campaign report over a large wave: 1,000,000 messages and 5,000,000 delivery events by default.

    .venv/bin/python bench/bench_reports.py [--messages 1000000] [--events-per-message 5]
                                            [--db sqlite|postgres|both] [--postgres URL]

A fresh database is migrated and filled with set-based SQL (recursive CTE on SQLite,
generate_series on PostgreSQL; nothing goes through Python row by row): people, one wave of
`career_statement_35` (first contact for everyone, SMS and letter reminders for some, 10 % holdout,
A/B arms, exclusions), folded engagement, `--events-per-message` delivery events per message,
outcome events, satisfaction answers and segment membership. Then the report is built (every query)
and rendered to HTML with its charts, timed separately. Target: build + HTML under 30 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from outreach import migrate
from outreach.campaigns.definition import Campaign
from outreach.campaigns.library import load_campaigns
from outreach.db import make_engine, throwaway_postgres_database
from outreach.reports import funnel, satisfaction, timing, uplift
from outreach.reports.build import build_report, render
from outreach.reports.costs import Prices
from outreach.reports.scope import ReportScope, resolve_scope

CAMPAIGN = "career_statement_35"
TARGET_SECONDS = 30.0

SQLITE_SEQUENCE = "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < :last) "
SEEDS = {
    "sqlite": {
        "people": SQLITE_SEQUENCE
        + """
            INSERT INTO people (person_id, civility, first_name, last_name, birth_date, status, postal_code,
                                city, receives_survivor_pension, fragility_flags)
            SELECT printf('B%08d', n), 'Mme', 'Camille', 'Lefèvre',
                   date('1991-11-01', '-' || (n % 3000) || ' days'), 'active', '86000', 'Poitiers', 0,
                   CASE WHEN n % 7 = 0 THEN 'rsa' ELSE '' END FROM seq""",
        "memberships": """
            INSERT INTO segment_memberships (segment, person_id, entered_on, entered_refresh_id)
            SELECT 'career_statement_35', person_id, '2026-11-02', 1 FROM people
            UNION ALL SELECT 'fragile', person_id, '2026-10-01', 1 FROM people WHERE fragility_flags <> ''""",
        "seconds": "datetime('2026-11-02 09:00:00', '+' || ({n}) || ' seconds')",
        "number": "CAST(substr(person_id, 2) AS INTEGER)",
        "event_id": "CAST(m.id AS TEXT) || '-' || CAST(k.k AS TEXT)",
        "steps": "SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
        "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9",
        "outcome_day": "date('2026-11-02', '+' || (id % 60) || ' days')",
    },
    "postgresql": {
        "people": """
            INSERT INTO people (person_id, civility, first_name, last_name, birth_date, status, postal_code,
                                city, receives_survivor_pension, fragility_flags)
            SELECT 'B' || lpad(n::text, 8, '0'), 'Mme', 'Camille', 'Lefèvre', DATE '1991-11-01' - (n % 3000),
                   'active', '86000', 'Poitiers', false, CASE WHEN n % 7 = 0 THEN 'rsa' ELSE '' END
            FROM generate_series(0, :last) AS n""",
        "memberships": """
            INSERT INTO segment_memberships (segment, person_id, entered_on, entered_refresh_id)
            SELECT 'career_statement_35', person_id, DATE '2026-11-02', 1 FROM people
            UNION ALL SELECT 'fragile', person_id, DATE '2026-10-01', 1 FROM people
            WHERE fragility_flags <> ''""",
        "seconds": "TIMESTAMP '2026-11-02 09:00:00' + ({n}) * INTERVAL '1 second'",
        "number": "CAST(substr(person_id, 2) AS INTEGER)",
        "event_id": "m.id::text || '-' || k.k::text",
        "steps": "SELECT generate_series(0, 9) AS k",
        "outcome_day": "DATE '2026-11-02' + (id % 60)",
    },
}


def seed(engine: Engine, messages: int, events_per_message: int) -> dict[str, int]:
    """Fill the database with one large wave; returns row counts."""
    sql = SEEDS[engine.dialect.name]
    people = int(messages / 1.4)
    at = sql["seconds"]
    number = sql["number"]
    with engine.begin() as connection:
        connection.execute(text(sql["people"]), {"last": people - 1})
        connection.execute(text(sql["memberships"]))
        connection.execute(
            text(
                "INSERT INTO campaign_runs (campaign, wave, as_of, dry_run, status, started_at) "
                "VALUES (:c, '2026-11-02', '2026-11-02', false, 'done', '2026-11-02 09:00:00')"
            ),
            {"c": CAMPAIGN},
        )
        run_id = connection.execute(text("SELECT max(id) FROM campaign_runs")).scalar_one()
        status = (
            f"CASE WHEN {number} % 100 < 3 THEN 'excluded' WHEN {number} % 100 < 13 THEN 'holdout' "
            f"WHEN {number} % 100 = 13 THEN 'deferred' WHEN {number} % 100 = 14 THEN 'failed' ELSE 'sent' END"
        )
        channel = f"CASE WHEN {number} % 100 < 3 THEN NULL WHEN {number} % 10 < 6 THEN 'email' " \
                  f"WHEN {number} % 10 < 9 THEN 'sms' ELSE 'letter' END"  # fmt: skip
        for step, where in (("first_contact", "1 = 1"), ("sms_reminder", f"{number} % 10 < 3"),
                            ("letter_reminder", f"{number} % 10 = 3")):  # fmt: skip
            connection.execute(
                text(
                    "INSERT INTO messages (run_id, step, person_id, journey, status, channel, variant, arm, "
                    "reason, sms_segments, planned_at, sent_at) "
                    f"SELECT :run, :step, person_id, 'follow_career', {status}, {channel}, "
                    "CASE WHEN fragility_flags <> '' THEN 'fragile' ELSE 'standard' END, "
                    f"CASE WHEN {number} % 2 = 0 THEN 'A' ELSE 'B' END, "
                    f"CASE WHEN {number} % 100 < 3 THEN 'opted_out' ELSE NULL END, 1 + {number} % 2, "
                    f"{at.format(n='0')}, {at.format(n=f'{number} % 3600')} FROM people WHERE {where}"
                ),
                {"run": run_id, "step": step},
            )
        connection.execute(
            text(
                "INSERT INTO message_engagement (message_id, delivered_at, first_open_at, human_opens, "
                "machine_opens, first_click_at, clicks, bounce, replied_at, unsubscribed_at, updated_at) "
                "SELECT id, CASE WHEN id % 50 = 0 THEN NULL ELSE "
                f"{at.format(n='id % 3600 + 5 + id % 300')} END, "
                f"CASE WHEN id % 5 < 2 THEN {at.format(n='id % 86400 + 600')} END, id % 3, id % 2, "
                f"CASE WHEN id % 10 = 0 THEN {at.format(n='id % 86400 + 900')} END, "
                "CASE WHEN id % 10 = 0 THEN 1 ELSE 0 END, "
                "CASE WHEN id % 50 = 0 THEN 'hard' END, "
                f"CASE WHEN id % 97 = 0 THEN {at.format(n='id % 172800 + 3600')} END, "
                f"CASE WHEN id % 211 = 0 THEN {at.format(n='id % 172800 + 7200')} END, {at.format(n='0')} "
                "FROM messages WHERE status = 'sent'"
            )
        )
        connection.execute(
            text(
                "INSERT INTO delivery_events (provider, provider_event_id, message_id, event, occurred_at, "
                "received_at, machine, raw) "
                f"SELECT 'sendgrid', {sql['event_id']}, m.id, "
                "CASE k.k % 5 WHEN 0 THEN 'queued' WHEN 1 THEN 'sent' WHEN 2 THEN 'delivered' "
                "WHEN 3 THEN 'opened' ELSE 'clicked' END, "
                f"{at.format(n='m.id % 86400 + k.k * 60')}, {at.format(n='m.id % 86400 + k.k * 60')}, "
                f"k.k = 3, '{{}}' FROM messages m CROSS JOIN ({sql['steps']}) k WHERE k.k < :per"
            ),
            {"per": events_per_message},
        )
        connection.execute(
            text(
                "INSERT INTO outcome_events (person_id, outcome, occurred_on, source, imported_at) "
                f"SELECT person_id, 'online_claim_started', {sql['outcome_day']}, 'bench', '2026-11-26' "
                "FROM messages WHERE step = 'first_contact' AND "
                "((status = 'holdout' AND id % 5 = 0) OR (status <> 'holdout' AND id % 4 = 0))"
            )
        )
        connection.execute(
            text(
                "INSERT INTO satisfaction_answers (message_id, person_id, journey, channel, campaign, "
                "score, answered_at) SELECT id, person_id, journey, channel, :c, 1 + id % 5, "
                f"{at.format(n='86400')} "
                "FROM messages WHERE status = 'sent' AND id % 100 = 0"
            ),
            {"c": CAMPAIGN},
        )
        counts = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("people", "messages", "message_engagement", "delivery_events", "outcome_events")
        }
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return counts


def section_times(engine: Engine, campaign: Campaign) -> str:
    """Each query of the report timed on its own, to show where the time goes."""
    sections: dict[str, Callable[[Connection, ReportScope], object]] = {
        "funnel and breakdowns": funnel.funnel_and_breakdowns,
        "segments": funnel.segment_breakdown,
        "reasons": funnel.reasons,
        "delivery times": timing.delivery_times,
        "daily engagement": timing.daily_engagement,
        "satisfaction": satisfaction.satisfaction,
        "uplift": lambda c, s: uplift.holdout_uplift(c, s, uplift.DEFAULT_WINDOW_DAYS),
        "A/B": lambda c, s: uplift.ab_tests(c, s, uplift.DEFAULT_WINDOW_DAYS),
    }
    timings = []
    with engine.connect() as connection:
        scope = resolve_scope(connection, campaign)
        for name, section in sections.items():
            started = time.perf_counter()
            section(connection, scope)
            timings.append(f"{name} {time.perf_counter() - started:.1f} s")
    return ", ".join(timings)


def run(label: str, url: str, messages: int, events: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    counts = seed(engine, messages, events)
    seeded = time.perf_counter() - started
    print(f"[{label}] seeded in {seeded:.1f} s: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    campaign = load_campaigns().get(CAMPAIGN)
    started, cpu = time.perf_counter(), time.process_time()
    report = build_report(engine, campaign, prices=Prices(0.001, 0.05, 0.95))
    built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    html = render(report, "html")
    rendered = time.perf_counter() - started
    total = built + rendered
    totals = report.totals()
    verdict = "ok" if total < TARGET_SECONDS else "TOO SLOW"
    print(
        f"[{label}] report built in {built:.1f} s (all SQL; {built_cpu:.1f} s CPU in this process, which "
        f"includes SQLite's work), HTML with 4 charts in {rendered:.1f} s "
        f"({len(html) / 1e6:.1f} MB): total {total:.1f} s, target < {TARGET_SECONDS:.0f} s {verdict}"
    )
    print(
        f"[{label}] funnel: targeted {totals['targeted']:,}, sent {totals['sent']:,}, delivered "
        f"{totals['delivered']:,}, opened {totals['opened']:,}, clicked {totals['clicked']:,}"
    )
    for c in report.uplift:
        interval = f"[{100 * c.low:+.2f}; {100 * c.high:+.2f}]"
        print(f"[{label}] uplift {c.measure}: {100 * c.difference:+.2f} points {interval}")
    print(f"[{label}] time per part (run again, one by one): " + section_times(engine, campaign))
    print(f"[{label}] load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--events-per-message", type=int, default=5, choices=range(1, 11))
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--postgres", default=os.environ.get("OUTREACH_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            run(
                "sqlite",
                f"sqlite:///{Path(folder) / 'bench.sqlite3'}",
                args.messages,
                args.events_per_message,
            )
    if args.db in ("postgres", "both"):
        if not args.postgres:
            raise SystemExit("--postgres URL (or OUTREACH_TEST_POSTGRES_URL) is needed for PostgreSQL")
        with throwaway_postgres_database(args.postgres, "outreach_bench_reports") as url:
            run("postgres", url, args.messages, args.events_per_message)


if __name__ == "__main__":
    main()
