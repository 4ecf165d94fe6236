"""`outreach complaints import FILE.csv`: the fund's complaints file, with the population import's contract.

The file is checked as a whole first (UTF-8, a CSV, exactly the expected columns, by the population
import's own `check_encoding` / `read_rows`); rows are then validated and upserted by `complaint_id`
inside ONE transaction, so a file-level problem leaves the database as it was. Rejected rows and
warnings go to a report (line, complaint_id, person_id, outcome, field, reason) that never holds a
value of the row, only which field was wrong and why; the audit entry counts them by reason.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from outreach import audit
from outreach.clock import today_paris
from outreach.complaints.vocabulary import COMPLAINT_CHANNELS, COMPLAINT_OUTCOMES, SUBJECT_PATTERN
from outreach.errors import InputFileError
from outreach.models import Complaint, ImportRun, Person
from outreach.population.importer import check_encoding, read_rows
from outreach.population.validate import parse_date, reportable_person_id
from outreach.privacy.erasure import ERASED_REASON, load_guard

COLUMNS = ("complaint_id", "person_id", "received_on", "received_by", "subject", "closed_on", "outcome")
"""The header of a complaints file, in any order; `closed_on` and `outcome` are empty while open."""
REPORT_COLUMNS = ("line", "complaint_id", "person_id", "outcome", "field", "reason")
REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_/-]{0,31}$")
SUBJECT = re.compile(SUBJECT_PATTERN)
CHUNK_ROWS = 900  # one `person_id IN (...)` per chunk stays under SQLite's bound-parameter limit


@dataclass
class ComplaintsImportSummary:
    """What an import did; `as_dict()` is the CLI's `--json` line (counts and reasons, no value)."""

    source: str
    report: str
    imported: int = 0
    open: int = 0
    closed: int = 0
    rejected: int = 0
    warnings: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    warnings_by_reason: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "open": self.open,
            "closed": self.closed,
            "rejected": self.rejected,
            "warnings": self.warnings,
            "source": self.source,
            "report": self.report,
            "rejected_by_reason": dict(self.rejected_by_reason.most_common()),
            "warnings_by_reason": dict(self.warnings_by_reason.most_common()),
        }


@dataclass(frozen=True)
class _Finding:
    line: int
    complaint_id: str
    person_id: str
    field: str
    reason: str
    rejected: bool


def _validate(raw: dict[str, str], line: int, today: date) -> tuple[dict[str, Any] | None, list[_Finding]]:
    """The complaint row to store (None if refused) and what was wrong with it (fields and reasons only)."""
    reference = raw["complaint_id"] if REFERENCE.match(raw["complaint_id"]) else ""
    person_id = reportable_person_id(raw["person_id"])
    findings: list[_Finding] = []

    def refuse(name: str, reason: str) -> None:
        findings.append(_Finding(line, reference, person_id, name, reason, rejected=True))

    if not reference:
        refuse("complaint_id", "missing, or not a reference (letters, digits, - _ /, at most 32)")
    if not person_id:
        refuse("person_id", "missing, or not a person identifier")
    received_on = parse_date(raw["received_on"])
    if received_on is None:
        refuse("received_on", "missing, or not a date (YYYY-MM-DD)")
    elif received_on > today:
        refuse("received_on", "in the future")
    if raw["received_by"] not in COMPLAINT_CHANNELS:
        refuse("received_by", f"not one of {', '.join(COMPLAINT_CHANNELS)}")
    if not SUBJECT.match(raw["subject"]):
        refuse("subject", "missing, or not a category code (lower case, digits, _; at most 40)")
    closed_on = parse_date(raw["closed_on"]) if raw["closed_on"] else None
    if raw["closed_on"] and closed_on is None:
        refuse("closed_on", "not a date (YYYY-MM-DD)")
    elif closed_on is not None and closed_on > today:
        refuse("closed_on", "in the future")
    elif closed_on is not None and received_on is not None and closed_on < received_on:
        refuse("closed_on", "before received_on")
    outcome = raw["outcome"] or None
    if outcome is not None and outcome not in COMPLAINT_OUTCOMES:
        refuse("outcome", f"not one of {', '.join(COMPLAINT_OUTCOMES)}")
    elif outcome is not None and not raw["closed_on"]:
        refuse("outcome", "an outcome needs a closed_on date")
    if findings:
        return None, findings
    if closed_on is not None and outcome is None:
        findings.append(_Finding(line, reference, person_id, "outcome", "closed without an outcome", False))
    return {
        "complaint_id": reference,
        "person_id": person_id,
        "opened_on": received_on,
        "received_by": raw["received_by"],
        "subject": raw["subject"],
        "closed_on": closed_on,
        "outcome": outcome,
    }, findings


def _upsert(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or update by `complaint_id`: a later file closes a complaint an earlier one opened."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Complaint.__table__)
    updates = {name: statement.excluded[name] for name in COLUMNS[1:] if name != "received_on"}
    updates["opened_on"] = statement.excluded["opened_on"]
    connection.execute(statement.on_conflict_do_update(index_elements=["complaint_id"], set_=updates), rows)


def import_complaints(
    engine: Engine, path: Path, report_path: Path, today: date | None = None
) -> ComplaintsImportSummary:
    """Import `path`; write its rejects/warnings report to `report_path` (removed if nothing was read)."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    check_encoding(path)
    summary = ComplaintsImportSummary(source=str(path), report=str(report_path))
    report_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _run(engine, path, report_path, today or today_paris(), summary)
    except InputFileError:
        report_path.unlink(missing_ok=True)
        raise
    return summary


def _run(
    engine: Engine, path: Path, report_path: Path, today: date, summary: ComplaintsImportSummary
) -> None:
    started = datetime.now()
    seen: set[str] = set()
    pending: list[tuple[int, dict[str, Any]]] = []
    with report_path.open("w", encoding="utf-8", newline="") as report_file, engine.begin() as connection:
        report = csv.writer(report_file)
        report.writerow(REPORT_COLUMNS)
        erased = load_guard(connection)

        def record(finding: _Finding) -> None:
            outcome = "rejected" if finding.rejected else "warning"
            report.writerow(
                (
                    finding.line,
                    finding.complaint_id,
                    finding.person_id,
                    outcome,
                    finding.field,
                    finding.reason,
                )
            )
            if finding.rejected:
                summary.rejected_by_reason[finding.reason] += 1
            else:
                summary.warnings += 1
                summary.warnings_by_reason[f"{finding.field}: {finding.reason}"] += 1

        def flush() -> None:
            ids = {row["person_id"] for _, row in pending}
            known = set(connection.scalars(select(Person.person_id).where(Person.person_id.in_(ids))))
            rows = []
            for line, row in pending:
                if row["person_id"] in known:
                    rows.append(row)
                    continue
                summary.rejected += 1
                record(
                    _Finding(line, row["complaint_id"], row["person_id"], "person_id", "unknown person", True)
                )
            if rows:
                _upsert(connection, rows)
            summary.imported += len(rows)
            summary.closed += sum(1 for row in rows if row["closed_on"] is not None)
            pending.clear()

        for line, raw, count in read_rows(path, COLUMNS):
            if raw is None:
                summary.rejected += 1
                record(
                    _Finding(
                        line, "", "", "line", f"the line has {count} fields, expected {len(COLUMNS)}", True
                    )
                )
                continue
            row, findings = _validate(raw, line, today)
            if row is not None and row["complaint_id"] in seen:
                row, findings = (
                    None,
                    [
                        _Finding(
                            line,
                            row["complaint_id"],
                            row["person_id"],
                            "complaint_id",
                            "complaint_id already seen earlier in the file",
                            True,
                        )
                    ],
                )
            if row is not None and erased.is_erased(row["person_id"]):
                row, findings = None, [_Finding(line, "", "", "person_id", ERASED_REASON, True)]
            for finding in findings:
                record(finding)
            if row is None:
                summary.rejected += 1
                continue
            seen.add(row["complaint_id"])
            pending.append((line, row))
            if len(pending) >= CHUNK_ROWS:
                flush()
        flush()
        summary.open = summary.imported - summary.closed
        connection.execute(
            insert(ImportRun).values(
                source=str(path),
                started_at=started,
                finished_at=datetime.now(),
                imported=summary.imported,
                rejected=summary.rejected,
                warnings=summary.warnings,
                rejects_report=str(report_path),
            )
        )
        audit.record(connection, "complaints_import", path.name, summary.imported, summary.as_dict())
