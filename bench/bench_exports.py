"""A partner export of 500,000 people (CSV through pandas, streamed), timed; memory must stay flat.

    .venv/bin/python bench/bench_exports.py [--people 500000] [--db sqlite|postgres|both] [--postgres URL]

A fresh database gets `--people` people in the Vienne with full contact details and a recorded
membership of `pre_retirees` and `fragile` (set-based SQL, nothing row by row in Python), 2 % opted
out of partner sharing, 1 % deceased. Two exports are timed: an identified list with ten columns
(names, address, phone, segments, journeys) and a pseudonymised one (HMAC per row). Reported: rows,
seconds, rows/s, file size, and the process's peak memory before and after. Target: < 20 s each.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, text

from outreach import migrate
from outreach.db import make_engine, throwaway_postgres_database
from outreach.exports.export import export_partner_list
from outreach.exports.profile import PartnerProfile
from outreach.exports.pseudonyms import SECRET_VARIABLE
from outreach.segments.library import load_library

AS_OF = date(2026, 11, 26)
TARGET_SECONDS = 20.0
SEGMENTS = ["pre_retirees", "fragile"]
PEOPLE_SQL = {
    "sqlite": """
        WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < :last)
        INSERT INTO people (person_id, civility, first_name, last_name, birth_date, status, email,
                            mobile_phone, address_street, postal_code, city, receives_survivor_pension,
                            fragility_flags)
        SELECT printf('X%08d', n), 'Mme', 'Marie-Thérèse', 'de La Rochefoucauld-Lévis',
               date('1966-01-01', '+' || (n % 3000) || ' days'),
               CASE WHEN n % 100 = 0 THEN 'deceased' ELSE 'active' END,
               printf('assure.%d@orange.example.net', n), printf('+336%08d', n),
               printf('%d rue de l''Église', n % 90 + 1),
               '86000', 'Poitiers', 0, CASE WHEN n % 5 = 0 THEN 'rsa' ELSE '' END FROM seq""",
    "postgresql": """
        INSERT INTO people (person_id, civility, first_name, last_name, birth_date, status, email,
                            mobile_phone, address_street, postal_code, city, receives_survivor_pension,
                            fragility_flags)
        SELECT 'X' || lpad(n::text, 8, '0'), 'Mme', 'Marie-Thérèse', 'de La Rochefoucauld-Lévis',
               DATE '1966-01-01' + (n % 3000), CASE WHEN n % 100 = 0 THEN 'deceased' ELSE 'active' END,
               'assure.' || n || '@orange.example.net', '+336' || lpad(n::text, 8, '0'),
               (n % 90 + 1) || ' rue de l''Église', '86000', 'Poitiers', false,
               CASE WHEN n % 5 = 0 THEN 'rsa' ELSE '' END FROM generate_series(0, :last) AS n""",
}
PROFILES = [
    PartnerProfile(
        name="bench_identified", partner="France Services de la Vienne", description="banc d'essai",
        segments=SEGMENTS, legal_basis="Mission de service public (article 6.1.e du RGPD), banc d'essai.",
        columns=["person_id", "civility", "first_name", "last_name", "age_band", "address", "postal_code",
                 "city", "phone", "segment", "journey"],
        territory=["86"], filters={"departements": ["86"]},
    ),
    PartnerProfile(
        name="bench_pseudonymised", partner="France Travail Nouvelle-Aquitaine", description="banc d'essai",
        segments=SEGMENTS, legal_basis="Mission de service public (article 6.1.e du RGPD), banc d'essai.",
        columns=["pseudonym", "age_band", "postal_code", "segment", "fragile"], pseudonymise=True,
        territory=["86"],  # every bench person lives in Poitiers
    ),
]  # fmt: skip


def seed(engine: Engine, people: int) -> None:
    with engine.begin() as connection:
        connection.execute(text(PEOPLE_SQL[engine.dialect.name]), {"last": people - 1})
        connection.execute(
            text(
                "INSERT INTO opt_outs (person_id, channel, source) SELECT person_id, "
                "CASE WHEN CAST(substr(person_id, 2) AS INTEGER) % 2 = 0 THEN 'partner_sharing' "
                "ELSE 'all' END, "
                "'import' FROM people WHERE CAST(substr(person_id, 2) AS INTEGER) % 50 = 7"
            )
        )
        for segment, where in (("pre_retirees", "status = 'active'"), ("fragile", "fragility_flags <> ''")):
            connection.execute(
                text(
                    "INSERT INTO segment_refreshes (segment, version, as_of, refreshed_at, members, entered, "
                    "\"left\") VALUES (:s, 'bench', '2026-11-26', '2026-11-26 06:00:00', 0, 0, 0)"
                ),
                {"s": segment},
            )
            connection.execute(
                text(
                    "INSERT INTO segment_memberships (segment, person_id, entered_on, entered_refresh_id) "
                    f"SELECT :s, person_id, '2026-11-26', 1 FROM people WHERE {where}"
                ),
                {"s": segment},
            )
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(label: str, url: str, people: int, folder: Path) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    seed(engine, people)
    print(f"[{label}] seeded {people:,} people in {time.perf_counter() - started:.1f} s")
    library = load_library()
    for profile in PROFILES:
        before = peak_mb()
        started, cpu = time.perf_counter(), time.process_time()
        result = export_partner_list(engine, profile, library, AS_OF, folder / label)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        verdict = "ok" if elapsed < TARGET_SECONDS else "TOO SLOW"
        print(
            f"[{label}] {profile.name:<20} {result.rows:>9,} rows in {elapsed:5.1f} s "
            f"({result.rows / elapsed:,.0f} rows/s, {cpu:.1f} s CPU in this process), "
            f"{result.path.stat().st_size / 1e6:.1f} MB, "
            f"peak memory {before:.0f} -> {peak_mb():.0f} MB; target < {TARGET_SECONDS:.0f} s {verdict}"
        )
    print(f"[{label}] load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=500_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--postgres", default=os.environ.get("OUTREACH_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    os.environ.setdefault(SECRET_VARIABLE, "banc-d-essai-secret-pseudonymes")
    with tempfile.TemporaryDirectory() as folder:
        if args.db in ("sqlite", "both"):
            run("sqlite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", args.people, Path(folder))
        if args.db in ("postgres", "both"):
            if not args.postgres:
                raise SystemExit("--postgres URL (or OUTREACH_TEST_POSTGRES_URL) is needed for PostgreSQL")
            with throwaway_postgres_database(args.postgres, "outreach_bench_exports") as url:
                run("postgres", url, args.people, Path(folder))


if __name__ == "__main__":
    main()
