"""Benchmark of the synthetic population: generate, write the CSV, load SQLite and PostgreSQL.

    .venv/bin/python bench/bench_population.py [--size N] [--seed S] [--postgres URL]

Each phase runs in its own process, so its peak memory (ru_maxrss) is its own and not the largest of
the phases before it. The PostgreSQL phase creates a throwaway database next to --postgres (default
postgresql://postgres@127.0.0.1:5432/postgres; pass --postgres '' to skip it) and drops it after.
Migrations are applied before the clock starts: the figures are for the population only.
The goal (issue 9): generating and loading 1,000,000 people in under 2 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from outreach import migrate
from outreach.db import make_engine, throwaway_postgres_database
from outreach.population import generator

AS_OF = date(2026, 11, 24)
GOAL_SECONDS = 120
PHASES = ("generate", "write_csv", "load_sqlite", "load_postgres")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _generate(size: int, seed: int) -> int:
    rows = 0
    for chunk in generator.generate_people(size, seed, AS_OF):
        rows += len(chunk)
    return rows


def _write_csv(size: int, seed: int) -> int:
    with tempfile.TemporaryDirectory() as directory:
        return generator.write_csv(Path(directory) / "population.csv", size, seed, AS_OF)


def _load(url: str, size: int, seed: int) -> tuple[int, float, generator.LoadSummary]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    summary = generator.load_database(engine, size, seed, AS_OF)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return summary.people, elapsed, summary


def run_phase(phase: str, size: int, seed: int, postgres: str) -> dict[str, object]:
    """Run one phase in this process and describe it (rows, seconds, peak memory)."""
    extra: dict[str, object] = {}
    started = time.perf_counter()
    if phase == "generate":
        rows = _generate(size, seed)
        elapsed = time.perf_counter() - started
    elif phase == "write_csv":
        rows = _write_csv(size, seed)
        elapsed = time.perf_counter() - started
    elif phase == "load_sqlite":
        with tempfile.TemporaryDirectory() as directory:
            rows, elapsed, summary = _load(f"sqlite:///{Path(directory) / 'bench.sqlite3'}", size, seed)
        extra = summary.__dict__
    else:
        with throwaway_postgres_database(postgres, "outreach_bench") as url:
            rows, elapsed, summary = _load(url, size, seed)
        extra = summary.__dict__
    return {"phase": phase, "rows": rows, "seconds": elapsed, "peak_mb": _peak_mb(), **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)  # one phase, in a child process
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.size, args.seed, args.postgres)))
        return

    print(
        f"population benchmark: size={args.size:,} seed={args.seed} as_of={AS_OF} | "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    print(f"{'phase':<14} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}  notes")
    phases = [p for p in PHASES if p != "load_postgres" or args.postgres]
    results = {}
    for phase in phases:
        command = [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--size",
            str(args.size),
            "--seed",
            str(args.seed),
        ]
        command += ["--postgres", args.postgres]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        results[phase] = result
        notes = ""
        if phase.startswith("load"):
            notes = (
                f"generate+load; {result['opt_outs']:,} opt-outs, {result['complaints']:,} complaints, "
                f"{result['warnings']:,} contact details left out"
            )
        rate = result["rows"] / result["seconds"]
        print(
            f"{phase:<14} {result['rows']:>10,} {result['seconds']:>8.1f} {rate:>9,.0f} "
            f"{result['peak_mb']:>8.0f}  {notes}"
        )
    for phase in ("load_sqlite", "load_postgres"):
        if phase in results:
            seconds = results[phase]["seconds"]
            verdict = "OK" if seconds < GOAL_SECONDS * args.size / 1_000_000 else "TOO SLOW"
            goal = f"goal: 1,000,000 in {GOAL_SECONDS} s"
            print(f"{phase}: {seconds:.1f} s for {args.size:,} people ({goal}) {verdict}")


if __name__ == "__main__":
    main()
