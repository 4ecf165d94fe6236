"""`outreach complaints import`: the population import's contract, for the complaints file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from outreach.complaints.importer import COLUMNS, import_complaints
from outreach.errors import InputFileError
from outreach.models import Complaint
from tests.people import load, person

TODAY = date(2026, 11, 26)


def row(reference: str, person_id: str, **values: str) -> dict[str, str]:
    base = {
        "complaint_id": reference,
        "person_id": person_id,
        "received_on": "2026-11-24",
        "received_by": "letter",
        "subject": "pension_not_paid",
        "closed_on": "",
        "outcome": "",
    }
    return {**base, **values}


def write(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_valid_rows_are_upserted_and_bad_ones_reported_without_their_values(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, [person(1, date(1958, 3, 14)), person(2, date(1961, 5, 2))])
    source = write(
        tmp_path / "reclamations.csv",
        [
            row("REC-2026-0000101", "P00001", received_by="france_services"),
            row("REC-2026-0000102", "P00002", closed_on="2026-11-25", outcome="upheld", received_by="online"),
            row("REC-2026-0000103", "camille.lefevre@orange.fr"),
            row("REC-2026-0000104", "P00001", received_on="24/11/2026"),
            row("REC-2026-0000105", "P00001", received_by="pigeon"),
            row("REC-2026-0000106", "P00001", closed_on="2026-11-20", outcome="upheld"),
            row("REC-2026-0000107", "P00099"),
            row("REC-2026-0000101", "P00001"),
            row("REC-2026-0000108", "P00002", closed_on="2026-11-25"),
        ],
    )
    report = tmp_path / "report.csv"

    summary = import_complaints(engine, source, report, today=TODAY)

    assert summary.as_dict()["imported"] == 3
    assert (summary.open, summary.closed, summary.rejected, summary.warnings) == (1, 2, 6, 1)
    with engine.connect() as connection:
        stored = {c.complaint_id: c for c in connection.execute(select(Complaint)).all()}
    assert set(stored) == {"REC-2026-0000101", "REC-2026-0000102", "REC-2026-0000108"}
    assert stored["REC-2026-0000101"].received_by == "france_services"
    assert stored["REC-2026-0000102"].outcome == "upheld"
    assert stored["REC-2026-0000102"].closed_on == date(2026, 11, 25)
    text = report.read_text(encoding="utf-8")
    assert "camille.lefevre" not in text and "24/11/2026" not in text and "pigeon" not in text
    reasons = [line["reason"] for line in csv.DictReader(text.splitlines())]
    assert "unknown person" in reasons and "before received_on" in reasons
    assert "complaint_id already seen earlier in the file" in reasons
    assert "closed without an outcome" in reasons

    closing = write(
        tmp_path / "reclamations-2.csv",
        [row("REC-2026-0000101", "P00001", closed_on="2026-11-26", outcome="partly_upheld")],
    )
    import_complaints(engine, closing, tmp_path / "report-2.csv", today=TODAY)
    with engine.connect() as connection:
        closed = connection.execute(
            select(Complaint).where(Complaint.complaint_id == "REC-2026-0000101")
        ).one()
    assert (closed.closed_on, closed.outcome) == (date(2026, 11, 26), "partly_upheld")


def test_a_file_with_a_wrong_header_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    load(engine, [person(1, date(1958, 3, 14))])
    source = write(tmp_path / "bad.csv", [row("REC-2026-0000101", "P00001")], columns=COLUMNS[:-1])
    with pytest.raises(InputFileError, match="missing column"):
        import_complaints(engine, source, tmp_path / "report.csv", today=TODAY)
    with engine.connect() as connection:
        assert connection.execute(select(Complaint)).all() == []
    assert not (tmp_path / "report.csv").exists()


def test_the_command_prints_a_json_summary_and_exits_5_on_rejected_rows(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "OUTREACH_VAR_DIR": str(tmp_path / "var"),
    }

    def outreach(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "outreach", *args], capture_output=True, text=True, env=env, check=False
        )

    assert outreach("db", "upgrade").returncode == 0
    assert outreach("population", "generate", "--size", "5", "--seed", "7").returncode == 0
    source = write(tmp_path / "reclamations.csv", [row("REC-2026-0000901", "P9999")])
    result = outreach("complaints", "import", str(source), "--json")
    assert result.returncode == 5, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["imported"] == 0 and summary["rejected_by_reason"] == {"unknown person": 1}
    assert Path(summary["report"]).is_file()
