"""`outreach segments ...` as an operator runs it: output, formats, history and error lines."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from outreach.cli import segments as segments_cli
from outreach.db import default_engine
from outreach.population.columns import PERSON_FIELDS
from outreach.population.store import upsert_people

REPO_SEGMENTS = str(Path(__file__).resolve().parent.parent / "segments")
runner = CliRunner()


def _person(person_id: str, first: str, last: str, birth: date, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(PERSON_FIELDS)
    row.update(
        person_id=person_id,
        civility="Mme",
        first_name=first,
        last_name=last,
        birth_date=birth,
        status="active",
        receives_survivor_pension=False,
        digital_profile="technophile",
        fragility_flags="",
    )
    row.update(overrides)
    return row


@pytest.fixture
def database(sqlite_url: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated SQLite database that the CLI's default engine points at, with three people."""
    monkeypatch.setenv("OUTREACH_DATABASE_URL", sqlite_url)
    default_engine.cache_clear()
    with sqlite_engine.begin() as connection:
        upsert_people(
            connection,
            [
                _person("A001", "Élodie", "Bérénger", date(1991, 11, 3)),
                _person("A002", "Françoise", "Dupré", date(1991, 11, 28), fragility_flags="rsa"),
                _person("A003", "Hélène", "Marchand", date(1991, 12, 2)),
            ],
        )
    yield sqlite_engine
    default_engine.cache_clear()


def invoke(*args: str) -> Any:
    result = runner.invoke(segments_cli.app, [*args, "--dir", REPO_SEGMENTS], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_list_and_validate_the_repository_library() -> None:
    listed = invoke("list").output.splitlines()
    assert any(line.startswith("career_statement_35\tfollow_career\t") for line in listed)
    validated = invoke("validate").output
    assert "segments valid" in validated and "survivors_55plus" in validated
    assert "preparetraite.fr" in validated


def test_count_and_members_in_csv_and_json(database: Engine) -> None:
    assert invoke("count", "career_statement_35", "--as-of", "2026-11-26").output == (
        "career_statement_35 as of 2026-11-26: 2\n"
    )
    table = list(
        csv.DictReader(io.StringIO(invoke("members", "career_statement_35", "--as-of", "2026-11-26").output))
    )
    assert [row["person_id"] for row in table] == ["A001", "A002"]
    assert table[0]["last_name"] == "Bérénger" and table[0]["birth_date"] == "1991-11-03"
    as_json = json.loads(
        invoke("members", "career_statement_35", "--as-of", "2026-12-01", "--format", "json").output
    )
    assert as_json == [
        {
            "person_id": "A003",
            "civility": "Mme",
            "first_name": "Hélène",
            "last_name": "Marchand",
            "birth_date": "1991-12-02",
            "status": "active",
        }
    ]
    assert json.loads(invoke("members", "fragile", "--format", "json").output)[0]["person_id"] == "A002"


def test_members_csv_of_an_empty_segment_still_has_its_header(database: Engine) -> None:
    output = invoke("members", "complainants", "--as-of", "2026-11-26").output
    assert output.splitlines() == ["person_id,civility,first_name,last_name,birth_date,status"]


def test_refresh_then_recorded_and_new_members(database: Engine) -> None:
    first = invoke("refresh", "career_statement_35", "--as-of", "2026-11-26").output
    assert first.startswith("career_statement_35 as of 2026-11-26: 2 members (+2 entered, -0 left)")
    second = invoke("refresh", "career_statement_35", "--as-of", "2026-12-01").output
    assert second.startswith("career_statement_35 as of 2026-12-01: 1 members (+1 entered, -2 left)")
    new = invoke("members", "career_statement_35", "--new").output.splitlines()
    assert [line.split(",")[0] for line in new] == ["person_id", "A003"]
    recorded = invoke(
        "members", "career_statement_35", "--recorded", "--as-of", "2026-11-30"
    ).output.splitlines()
    assert [line.split(",")[0] for line in recorded] == ["person_id", "A001", "A002"]
    everything = invoke("refresh", "--as-of", "2026-12-01").output.splitlines()
    shipped = len(list(Path(__file__).resolve().parent.parent.joinpath("segments").glob("*.yaml")))
    assert len(everything) == shipped and everything[0].startswith("apply_for_retirement as of 2026-12-01")


def test_as_of_defaults_to_today_in_paris(database: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments_cli, "today_paris", lambda: date(2026, 12, 15))
    assert invoke("count", "career_statement_35").output == "career_statement_35 as of 2026-12-15: 1\n"


def test_explain_shows_the_rule_the_sql_and_a_person_verdict(database: Engine) -> None:
    shown = invoke("explain", "career_statement_35", "--as-of", "2026-11-26").output
    assert "turns 35 during 2026-11 (born from 1991-11-01 to 1991-11-30)  [line 10]" in shown
    assert "people.birth_date BETWEEN '1991-11-01' AND '1991-11-30'" in shown
    verdict = invoke("explain", "career_statement_35", "--as-of", "2026-11-26", "--person", "A003").output
    assert "NO    turns 35 during 2026-11" in verdict and "<- keeps them out" in verdict
    assert verdict.splitlines()[-1] == "A003 is not a member of career_statement_35 as of 2026-11-26"


def _outreach(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    return subprocess.run(
        [sys.executable, "-m", "outreach", "segments", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=tmp_path,
    )


def test_validate_reports_each_problem_with_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "segments"
    folder.mkdir()
    (folder / "seniors.yaml").write_text(
        "name: seniors\ndescription: Séniors\njourney: follow_retirement\nrule:\n"
        "  all:\n    - field: statut\n      is: retired\n    - segment: aidants\n",
        encoding="utf-8",
    )
    result = _outreach(tmp_path, "validate")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: segments/seniors.yaml:6: unknown field 'statut' (did you mean 'status'?); use one of: "
        "status, worker_type, civility, digital_profile, preferred_channel, fragility_flags, "
        "receives_survivor_pension, birth_date, retirement_date, spouse_death_date, legal_retirement_date, "
        "postal_code, city, country, email, mobile_phone",
        "1 problem(s) found; nothing is valid until all are fixed",
    ]


def test_operator_errors_are_one_line_with_an_exit_code(tmp_path: Path) -> None:
    (tmp_path / "segments").mkdir()
    result = _outreach(tmp_path, "count", "fragile", "--dir", REPO_SEGMENTS)
    assert result.returncode == 4
    assert "run `outreach db upgrade` first" in result.stderr
    result = _outreach(tmp_path, "count", "fragiles", "--dir", REPO_SEGMENTS)
    assert result.returncode == 2 and "no segment named 'fragiles'" in result.stderr
    result = _outreach(tmp_path, "count", "fragile", "--as-of", "26/11/2026", "--dir", REPO_SEGMENTS)
    assert result.returncode == 2 and "write it YYYY-MM-DD" in result.stderr
