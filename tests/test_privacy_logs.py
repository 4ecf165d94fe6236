"""No personal data in logs: the demo's whole loop, its output and Prefect's stored logs and artifacts.

The demo runs in its own process (its own database, var folder and Prefect home) with INFO logs; then
everything it printed and everything Prefect stored (run logs, artifacts, run parameters, events) is
scanned for e-mail addresses, French mobile numbers, and the names, addresses and contact details of
the people in its database.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.config import PROJECT_ROOT
from outreach.db import make_engine
from outreach.models import Person
from tests.privacy_patterns import leaks

DEMO = "\n".join(
    (
        "from datetime import date",
        "from outreach.demo import run_demo",
        "run_demo(2000, 4, date(2026, 11, 26), print)",
    )
)
PREFECT_TABLES = {
    "log": "message",
    "artifact": "data || ' ' || coalesce(description, '')",
    "flow_run": "name || ' ' || parameters",
    "task_run": "name || ' ' || task_inputs",
    "events": "payload || ' ' || resource",
    "flow_run_input": "value",
}


def _needles(database_url: str) -> set[str]:
    """What would identify one of the demo's people: contact details, full names, street lines."""
    engine = make_engine(database_url)
    columns = (Person.first_name, Person.last_name, Person.email, Person.mobile_phone, Person.address_street)
    with engine.connect() as connection:
        rows = connection.execute(select(*columns)).all()
    engine.dispose()
    needles: set[str] = set()
    for first, last, email, mobile, street in rows:
        needles.update({f"{first} {last}".lower(), f"{last} {first}".lower()} if first else {last.lower()})
        needles.update(value.lower() for value in (email, street) if value)
        if mobile:
            needles.update({mobile, "0" + mobile.removeprefix("+33")})
    return needles


def _prefect_texts(home: Path) -> list[tuple[str, str]]:
    """Prefect's stored logs, artifacts, run parameters and events, and any persisted result file."""
    texts = []
    with sqlite3.connect(home / "prefect.db") as connection:
        for table, expression in PREFECT_TABLES.items():
            rows = connection.execute(f"SELECT {expression} FROM {table}").fetchall()
            texts += [(f"prefect {table}", str(value)) for (value,) in rows]
    texts += [
        (str(path), path.read_text(encoding="utf-8", errors="replace"))
        for path in home.rglob("*")
        if path.is_file() and not path.name.startswith("prefect.db")
    ]
    return texts


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], str, Path]:
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_API", "OUTREACH_"))
    }
    env.update(
        OUTREACH_VAR_DIR=str(folder / "var"),
        OUTREACH_DATABASE_URL=url,
        PREFECT_HOME=str(folder / "prefect"),
        PREFECT_LOGGING_LEVEL="INFO",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    result = subprocess.run(
        [sys.executable, "-c", DEMO], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result, url, folder / "prefect"


def test_the_demo_logs_no_personal_data(demo: tuple[subprocess.CompletedProcess[str], str, Path]) -> None:
    result, url, prefect_home = demo
    needles = _needles(url)
    texts = [("stdout", result.stdout), ("stderr", result.stderr), *_prefect_texts(prefect_home)]

    assert "7. eleven days later" in result.stdout and "Beginning flow run" in result.stderr  # INFO logs ran
    assert any(where == "prefect log" for where, _ in texts) and len(needles) > 4000
    assert leaks(texts, needles) == []


def test_the_scan_would_see_a_leak(demo: tuple[subprocess.CompletedProcess[str], str, Path]) -> None:
    """The scanner finds a name, an address and a number when they are there (a scan that cannot fail
    would prove nothing)."""
    _, url, _ = demo
    needles = _needles(url)
    some_email = next(n for n in needles if "@" in n)
    planted = [("planted", f"send failed for {some_email}"), ("planted", "rappel au 06 12 34 56 78")]
    assert len(leaks(planted, needles)) >= 3  # the address (pattern and person) and the number
