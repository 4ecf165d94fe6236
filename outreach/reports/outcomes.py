"""Import of outcome events (a claim started, an appointment booked...) from the fund's systems, as CSV.

Checked like the population extract: a file that cannot be used at all (not UTF-8, not CSV, wrong
columns) is one readable error and nothing is written; a bad row (unknown person or outcome, a date
that is not one or lies in the future) is reported in a rejects file with its line and reason and the
others are imported. Like the population import's, the report names the field and the reason, never
the value: a person_id that is not shaped like an identifier is left blank (it is often an e-mail
address or a phone number in the wrong column), and a header that looks like data is not quoted.
Everything happens in one transaction, with an audit entry. Importing the same
file twice adds nothing: an outcome is unique per person, kind and day.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach import audit
from outreach.clock import today_paris, utcnow
from outreach.errors import InputFileError
from outreach.models import OUTCOMES, OutcomeEvent, Person
from outreach.population.importer import check_encoding, read_rows
from outreach.population.validate import PERSON_ID, PERSON_ID_RULE, reportable_person_id

COLUMNS = ("person_id", "outcome", "occurred_on")
OPTIONAL_COLUMNS = ("source",)
CHUNK_ROWS = 5_000
EVENTS = OutcomeEvent.__table__
PEOPLE = Person.__table__


@dataclass
class OutcomeImport:
    """What an import did (counts only: it is printed and audited)."""

    source: str
    report: str
    imported: int = 0
    already_known: int = 0
    rejected: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "already_known": self.already_known,
            "rejected": self.rejected,
            "source": self.source,
            "report": self.report,
            "rejected_by_reason": dict(self.rejected_by_reason.most_common()),
        }


def _parse_day(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _insert(connection: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert, skipping outcomes already recorded; returns how many were new."""
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(EVENTS).on_conflict_do_nothing(
        index_elements=["person_id", "outcome", "occurred_on"]
    )
    # RETURNING rather than rowcount: psycopg reports -1 for a batch; each returned id is a new row.
    return len(connection.execute(statement.returning(EVENTS.c.id), rows).all()) if rows else 0


def import_outcomes(
    engine: Engine,
    path: Path,
    report_path: Path,
    source: str | None = None,
    today: date | None = None,
    actor: str | None = None,
) -> OutcomeImport:
    """Import `path`; rejected rows go to `report_path` (line, person_id, field, reason)."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    check_encoding(path)
    today = today or today_paris()
    summary = OutcomeImport(str(path), str(report_path))
    default_source = (source or path.stem)[:64]
    report_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with report_path.open("w", encoding="utf-8", newline="") as handle, engine.begin() as connection:
            report = csv.writer(handle)
            report.writerow(("line", "person_id", "field", "reason"))
            pending: list[tuple[int, dict[str, Any]]] = []

            def reject(line: int, person_id: str, field_name: str, reason: str) -> None:
                report.writerow((line, person_id, field_name, reason))
                summary.rejected += 1
                summary.rejected_by_reason[reason] += 1

            def flush() -> None:
                identifiers = {row["person_id"] for _, row in pending}
                known = set(
                    connection.scalars(select(PEOPLE.c.person_id).where(PEOPLE.c.person_id.in_(identifiers)))
                )
                rows = []
                for line, row in pending:
                    if row["person_id"] in known:
                        rows.append(row)
                    else:
                        reject(line, reportable_person_id(row["person_id"]), "person_id", "unknown person")
                new = _insert(connection, rows)
                summary.imported += new
                summary.already_known += len(rows) - new
                pending.clear()

            imported_at = utcnow()
            for line, row, _ in read_rows(path, COLUMNS, OPTIONAL_COLUMNS):
                if row is None:
                    reject(line, "", "line", f"wrong number of fields (expected {len(COLUMNS)} or 4)")
                    continue
                problem = _check(row, today)
                if problem:
                    reject(line, reportable_person_id(row["person_id"]), *problem)
                    continue
                pending.append(
                    (
                        line,
                        {
                            "person_id": row["person_id"],
                            "outcome": row["outcome"],
                            "occurred_on": _parse_day(row["occurred_on"]),
                            "source": (row.get("source") or default_source)[:64],
                            "imported_at": imported_at,
                        },
                    )
                )
                if len(pending) >= CHUNK_ROWS:
                    flush()
            flush()
            audit.record(
                connection,
                "outcomes_import",
                path.name,
                summary.imported,
                {k: v for k, v in summary.as_dict().items() if k != "report"},
                actor=actor,
            )
    except InputFileError:
        report_path.unlink(missing_ok=True)  # nothing was imported: a report would only mislead
        raise
    return summary


def _check(row: dict[str, str], today: date) -> tuple[str, str] | None:
    """(field, reason) of the first problem of a row, or None."""
    if not row["person_id"]:
        return "person_id", "missing person_id"
    if not PERSON_ID.match(row["person_id"]):
        return "person_id", PERSON_ID_RULE
    if row["outcome"] not in OUTCOMES:
        return "outcome", f"unknown outcome (use one of: {', '.join(OUTCOMES)})"
    day = _parse_day(row["occurred_on"])
    if day is None:
        return "occurred_on", "not a date (write 2026-11-26 or 26/11/2026)"
    if day > today:
        return "occurred_on", "date in the future"
    return None
