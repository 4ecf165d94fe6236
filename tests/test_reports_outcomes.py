"""Outcome events import: one readable error for an unusable file, bad rows reported, reimport idempotent."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from outreach.errors import InputFileError
from outreach.models import AuditEntry, OutcomeEvent
from outreach.reports.outcomes import import_outcomes
from tests.people import load, person

TODAY = date(2026, 11, 26)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def people(engine: Engine) -> Engine:
    load(engine, [person(i, date(1964, 5, 2)) for i in range(3)])
    return engine


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(OutcomeEvent))


def test_good_rows_are_imported_and_bad_rows_reported_with_line_and_reason(
    people: Engine, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "resultats-novembre.csv",
        "person_id;outcome;occurred_on;source\n"
        "P00000;online_claim_started;2026-11-10;demande-en-ligne\n"
        "P00001;appointment_booked;12/11/2026;\n"
        "P99999;appointment_booked;2026-11-12;rdv\n"
        "P00002;claim_started;2026-11-12;rdv\n"
        "P00002;appointment_booked;2026-13-40;rdv\n"
        "P00002;appointment_booked;2026-12-24;rdv\n"
        "P00002;appointment_booked\n",
    )
    report = tmp_path / "rejets.csv"
    summary = import_outcomes(people, source, report, today=TODAY)

    assert (summary.imported, summary.already_known, summary.rejected) == (2, 0, 5)
    with report.open(encoding="utf-8") as handle:
        rejected = {(r["line"], r["field"]) for r in csv.DictReader(handle)}
    assert rejected == {
        ("4", "person_id"),
        ("5", "outcome"),
        ("6", "occurred_on"),
        ("7", "occurred_on"),
        ("8", "line"),
    }
    with people.connect() as connection:
        rows = connection.execute(
            select(OutcomeEvent.person_id, OutcomeEvent.source, OutcomeEvent.occurred_on)
        ).all()
        entry = connection.execute(select(AuditEntry).where(AuditEntry.action == "outcomes_import")).one()
    assert sorted(rows) == [
        ("P00000", "demande-en-ligne", date(2026, 11, 10)),
        ("P00001", "resultats-novembre", date(2026, 11, 12)),  # no source given: the file's name
    ]
    assert (entry.action, entry.target, entry.count) == ("outcomes_import", "resultats-novembre.csv", 2)
    assert "P0000" not in entry.details and json.loads(entry.details)["rejected"] == 5


def test_importing_the_same_file_twice_counts_nothing_twice(people: Engine, tmp_path: Path) -> None:
    source = write(
        tmp_path / "r.csv", "person_id,outcome,occurred_on\nP00000,survivor_pension_claimed,2026-11-03\n"
    )
    import_outcomes(people, source, tmp_path / "a.csv", today=TODAY)
    again = import_outcomes(people, source, tmp_path / "b.csv", today=TODAY)
    assert (again.imported, again.already_known) == (0, 1)
    assert count(people) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"nom;prenom\nMartin;Anne\n", "must name exactly these columns: person_id, outcome, occurred_on"),
        (b"person_id;outcome;date\nP00000;claim_filed;2026-11-03\n", "unexpected column.s. date"),
        # no header: the first line is data, counted but never quoted (it may be an e-mail address)
        (b"P00000,claim_filed,2026-11-03\n", r"3 field.s. of the first line are not column names \(not"),
        (b"person_id;outcome;occurred_on\nP00000;appointment_booked;2026-11-03\xe9\n", "not UTF-8 text"),
        (b"", "the file is empty"),
    ],
)
def test_an_unusable_file_is_one_readable_error_and_nothing_is_written(
    people: Engine, tmp_path: Path, content: bytes, message: str
) -> None:
    source = tmp_path / "resultats.csv"
    source.write_bytes(content)
    report = tmp_path / "rejets.csv"
    with pytest.raises(InputFileError, match=message):
        import_outcomes(people, source, report, today=TODAY)
    assert count(people) == 0 and not report.exists()
