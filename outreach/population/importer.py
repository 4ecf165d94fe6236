"""Import of the fund's population extract (CSV) into the database.

The file is checked as a whole before anything is trusted (UTF-8, a CSV, exactly the expected
columns); then rows stream through validation into bulk upserts, all inside ONE transaction, so a
file-level problem found half-way leaves the database exactly as it was. Rejected rows and warnings go
to a report file (line, person_id, field, reason) — never the values themselves, so the report can be
shared with whoever fixes the extract without spreading contact details; the audit entry counts them
by reason, which holds no value either.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from outreach import audit
from outreach.clock import today_paris
from outreach.errors import InputFileError
from outreach.models import ImportRun
from outreach.population import store
from outreach.population.columns import CSV_COLUMNS, OPTIONAL_COLUMNS
from outreach.population.validate import Finding, validate_row
from outreach.privacy.erasure import ERASED_REASON, load_guard

CHUNK_ROWS = 5_000
REQUIRED_COLUMNS = tuple(c for c in CSV_COLUMNS if c not in OPTIONAL_COLUMNS)
REPORT_COLUMNS = ("line", "person_id", "outcome", "field", "reason")


@dataclass
class ImportSummary:
    """What an import did; `as_dict()` is the CLI's `--json` line."""

    source: str
    report: str
    created: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    warnings_by_reason: Counter[str] = field(default_factory=Counter)

    @property
    def imported(self) -> int:
        return self.created + self.updated

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "rejected": self.rejected,
            "warnings": self.warnings,
            "created": self.created,
            "updated": self.updated,
            "source": self.source,
            "report": self.report,
            "rejected_by_reason": dict(self.rejected_by_reason.most_common()),
            "warnings_by_reason": dict(self.warnings_by_reason.most_common()),
        }


def check_encoding(path: Path) -> None:
    """Fail before any write if the file is not UTF-8 text (e.g. Latin-1, or a spreadsheet)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if b"\x00" in chunk:
                raise InputFileError(
                    f"{path}: contains binary data, not a CSV text file: export the extract as CSV (UTF-8)"
                )
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    f"{path}: not UTF-8 text (invalid byte at offset {offset + exc.start}): "
                    "save the file as 'CSV UTF-8' and import it again"
                ) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputFileError(f"{path}: not UTF-8 text (truncated character at the end)") from None


def _delimiter(header_line: str) -> str:
    """',' as agreed; ';' too, since French spreadsheets export with it."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def check_header(
    path: Path, header: list[str], columns: tuple[str, ...] = CSV_COLUMNS, optional: tuple[str, ...] = ()
) -> list[str]:
    """The header's column names; raises naming what is wrong, but never quotes a row of data.

    Every CSV the fund sends us is checked this way (the population extract, the outcomes file).
    Fields that are not column names are quoted only when the line is clearly a header (it holds at
    least half of the required columns): otherwise the file's header row is probably missing, its first
    line is a person, and their values must not be repeated in an error that is printed and may be
    logged.
    """
    names = [name.strip().lower() for name in header]
    missing = [c for c in columns if c not in names]
    unknown = [n for n in names if n not in columns and n not in optional]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    quotable = len(columns) - len(missing) >= len(columns) / 2
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown and quotable:
        problems.append(f"unexpected column(s) {', '.join(unknown)}")
    elif unknown:
        problems.append(
            f"{len(unknown)} field(s) of the first line are not column names (not quoted: if that line is "
            "a person, the header row is missing)"
        )
    if duplicated and quotable:
        problems.append(f"repeated column(s) {', '.join(duplicated)}")
    if problems:
        expected = ", ".join(columns) + (f" (and optionally {', '.join(optional)})" if optional else "")
        raise InputFileError(
            f"{path}: {'; '.join(problems)}. The header must name exactly these columns: {expected}"
        )
    return names


def read_rows(
    path: Path, columns: tuple[str, ...] = CSV_COLUMNS, optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str] | None, int]]:
    """Yield (line, row, field_count) for each record; row is None when the field count is wrong.

    `columns` must all be in the header, `optional` ones may be (see `check_header`).
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        if not first.strip():
            raise InputFileError(f"{path}: the file is empty; expected a header row then one row per record")
        delimiter = _delimiter(first)
        header = next(csv.reader(io.StringIO(first), delimiter=delimiter))
        names = check_header(path, header, columns, optional)
        reader = csv.reader(handle, delimiter=delimiter)
        line = 1
        try:
            for record in reader:
                start, line = line + 1, reader.line_num + 1
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                if len(record) != len(names):
                    yield start, None, len(record)
                else:
                    yield start, {n: v.strip() for n, v in zip(names, record, strict=True)}, len(record)
        except csv.Error as exc:
            raise InputFileError(f"{path}, line {line + 1}: not a readable CSV ({exc})") from None


def import_population(
    engine: Engine, path: Path, report_path: Path, today: date | None = None
) -> ImportSummary:
    """Import `path` into the database; write the rejects/warnings report to `report_path`."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    check_encoding(path)
    today = today or today_paris()
    summary = ImportSummary(source=str(path), report=str(report_path))
    started = datetime.now()
    report_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _run(engine, path, report_path, today, summary, started)
    except InputFileError:
        report_path.unlink(missing_ok=True)  # nothing was imported: a report would only mislead
        raise
    return summary


def _run(
    engine: Engine, path: Path, report_path: Path, today: date, summary: ImportSummary, started: datetime
) -> None:
    seen: set[str] = set()
    people: list[dict[str, Any]] = []
    opt_outs: list[dict[str, str]] = []

    def flush(connection: Any) -> None:
        store.clear_moved_addresses(connection, people)
        created, updated = store.upsert_people(connection, people)
        store.add_opt_outs(connection, opt_outs)
        summary.created += created
        summary.updated += updated
        people.clear()
        opt_outs.clear()

    with report_path.open("w", encoding="utf-8", newline="") as report_file, engine.begin() as connection:
        report = csv.writer(report_file)
        report.writerow(REPORT_COLUMNS)
        erased = load_guard(connection)

        def record(finding: Finding) -> None:
            outcome = "rejected" if finding.rejected else "warning"
            report.writerow((finding.line, finding.person_id, outcome, finding.field, finding.reason))
            counter = summary.rejected_by_reason if finding.rejected else summary.warnings_by_reason
            counter[finding.reason if finding.rejected else f"{finding.field}: {finding.reason}"] += 1

        for line, raw, count in read_rows(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS):
            if raw is None:
                reason = f"the line has {count} fields, expected {len(CSV_COLUMNS)}"
                record(Finding(line, "", "line", reason, rejected=True))
                summary.rejected += 1
                continue
            result = validate_row(raw, line, today)
            person_id = raw["person_id"]
            if result.person is not None and person_id in seen:
                reason = "person_id already seen earlier in the file"
                result.findings.insert(0, Finding(line, person_id, "person_id", reason, rejected=True))
                result.person = None
            if result.person is not None and erased.is_erased(person_id):
                # The line locates the row; the erased person's identifier is not written again.
                result.findings = [Finding(line, "", "person_id", ERASED_REASON, rejected=True)]
                result.person = None
            for finding in result.findings:
                if result.person is None and not finding.rejected:
                    continue  # a refused row's minor problems would only hide the reason it was refused
                record(finding)
            if result.person is None:
                summary.rejected += 1
                continue
            seen.add(person_id)
            summary.warnings += len(result.findings)
            people.append(result.person)
            opt_outs.extend(
                {"person_id": person_id, "channel": c, "source": "import"} for c in result.opt_outs
            )
            if len(people) >= CHUNK_ROWS:
                flush(connection)
        flush(connection)
        store.refresh_statistics(connection)
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
        audit.record(
            connection,
            "import",
            path.name,
            summary.imported,
            summary.as_dict(),
        )
