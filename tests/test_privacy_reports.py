"""No personal data in what an import and an export leave behind: reports, manifests, the audit trail.

An extract puts e-mail addresses, phone numbers and names where they do not belong, in every column;
it is imported, segments are refreshed, a campaign step is rehearsed and a partner list is exported,
with the command line as an operator does. Then everything these leave is scanned as the log scan
does (`tests/privacy_patterns.py`): every file under `var/imports/` and `var/exports/` but the list
itself (personal data by design, for the partner), every audit entry (target and details, which the
database keeps forever) and everything the commands printed.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select

from outreach.config import PROJECT_ROOT
from outreach.models import AuditEntry
from outreach.population.columns import CSV_COLUMNS
from tests.people import load, person
from tests.population_files import person_row, write_extract
from tests.privacy_patterns import leaks

AS_OF = "2026-11-26"
FIRST, LAST = "Marie-Claire", "Dupuis-Lambert"
EMAIL = "marie-claire.dupuis@orange.example.net"
HOSTILE = (
    EMAIL, "06 12 34 56 78", "+33 7 81 23 45 67", "0033698765432", f"{FIRST} {LAST}", f"{LAST};{FIRST}"
)  # fmt: skip
"""What lands in the wrong column: contact details in all their forms, full names (and a ';' list)."""
NEEDLES = {value.lower() for value in (FIRST, LAST, EMAIL, *HOSTILE)} | {"0612345678", "+33612345678"}


def _row(index: int, column: str | None = None, value: str = "") -> dict[str, str]:
    """A valid pre-retiree of Poitiers with our synthetic person's name and contact details, and `value`
    in `column` (any column, person_id included)."""
    row = person_row(
        f"1680386{index:06d}", first_name=FIRST, last_name=LAST, email=EMAIL, birth_date="1968-03-10"
    )
    return {**row, column: value} if column else row


def _hostile_extract(path: Path) -> Path:
    """Each hostile value in each column, then a repeated row and a line with too few fields."""
    pairs = [(column, value) for column in CSV_COLUMNS for value in HOSTILE]
    rows = [_row(index, column, value) for index, (column, value) in enumerate(pairs, start=1)]
    write_extract(path, [_row(0), *rows, _row(0)])
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"1680386999999,Mme,{FIRST},{LAST},1968-03-10,active,salaried,{EMAIL}\n")
    return path


def _outreach(
    engine: Engine, var: Path, *args: str, exit_codes: tuple[int, ...] = (0, 5)
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OUTREACH_HOME": str(PROJECT_ROOT),
        "OUTREACH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "OUTREACH_VAR_DIR": str(var),
        "PREFECT_API_URL": "http://127.0.0.1:9/api",  # an unreachable server: no block lookup can hang
    }
    result = subprocess.run(
        [sys.executable, "-m", "outreach", *args], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode in exit_codes, result.stderr  # 5: imported, some rows rejected
    return result


def _audit_texts(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        entries = connection.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.details)).all()
    return [(f"audit {action}", f"{target} {details}") for action, target, details in entries]


def test_import_reports_export_manifests_and_the_audit_trail_hold_no_personal_data(
    engine: Engine, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    source = _hostile_extract(tmp_path / "extrait-novembre.csv")
    printed = [
        _outreach(engine, var, "population", "import", str(source), "--json"),
        _outreach(engine, var, "segments", "refresh", "--as-of", AS_OF),
        _outreach(engine, var, "campaigns", "run", "prepare_retirement", "--as-of", AS_OF, "--json"),
        _outreach(engine, var, "export", "partner", "france_services_vienne", "--as-of", AS_OF, "--json"),
    ]

    summary = json.loads(printed[0].stdout.splitlines()[-1])
    assert summary["rejected"] >= len(HOSTILE) and summary["warnings"] > 50  # every hostile value was seen
    manifests = list((var / "exports").rglob("*.manifest.json"))
    lists = {path.parent / json.loads(path.read_text(encoding="utf-8"))["file"] for path in manifests}
    assert len(manifests) == 1 and all(path.is_file() for path in lists)
    scanned = [
        (str(path.relative_to(var)), path.read_text(encoding="utf-8"))
        for folder in ("imports", "exports")
        for path in sorted((var / folder).rglob("*"))
        if path.is_file() and path not in lists
    ]
    assert any(where.endswith(".report.csv") for where, _ in scanned)
    texts = [
        *scanned,
        *_audit_texts(engine),
        *((f"output of {' '.join(r.args[3:5])}", r.stdout + r.stderr) for r in printed),
    ]
    audited = {where.split()[1] for where, _ in texts if where.startswith("audit")}
    assert audited >= {"import", "dry_run", "export"}

    assert leaks(texts, NEEDLES) == []
    # the scan sees personal data where it is meant to be: in the partner's list
    [partner_list] = lists
    assert len(leaks([("list", partner_list.read_text(encoding="utf-8-sig"))], NEEDLES)) >= 3


OUTCOME_COLUMNS = ("person_id", "outcome", "occurred_on", "source")
OUTCOME_HOSTILE = (*HOSTILE, LAST)
"""A surname alone has an identifier's characters: it must not pass for one in the report."""


def _hostile_outcomes(path: Path) -> Path:
    """A good outcome, then each hostile value in each column, then a line with too few fields."""
    good = {
        "person_id": "P00000",
        "outcome": "appointment_booked",
        "occurred_on": "2026-11-20",
        "source": "rdv",
    }
    rows = [{**good, column: value} for column in OUTCOME_COLUMNS for value in OUTCOME_HOSTILE]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTCOME_COLUMNS)
        writer.writerows([list(good.values()), *(list(row.values()) for row in rows)])
        writer.writerow((EMAIL, "06 12 34 56 78"))
    return path


def test_an_outcomes_import_reports_and_audits_no_personal_data(engine: Engine, tmp_path: Path) -> None:
    load(engine, [person(0, date(1964, 5, 2))])
    var = tmp_path / "var"
    source = _hostile_outcomes(tmp_path / "resultats-novembre.csv")
    headerless = tmp_path / "resultats-sans-entete.csv"
    headerless.write_text(f"{EMAIL},claim_filed,2026-11-20\n{FIRST} {LAST},claim_filed,2026-11-20\n")
    printed = [
        _outreach(engine, var, "outcomes", "import", str(source), "--json"),
        _outreach(engine, var, "outcomes", "import", str(headerless), exit_codes=(3,)),
    ]

    summary = json.loads(printed[0].stdout.splitlines()[-1])
    # a hostile source is no reason to refuse a row (the good one's duplicate); anywhere else it is
    expected = (1, len(OUTCOME_HOSTILE), 3 * len(OUTCOME_HOSTILE) + 1)
    assert (summary["imported"], summary["already_known"], summary["rejected"]) == expected
    [report] = (var / "imports").glob("*.outcomes-report.csv")
    assert len(report.read_text(encoding="utf-8").splitlines()) == 1 + summary["rejected"]
    assert "header row is missing" in printed[1].stderr
    texts = [
        (report.name, report.read_text(encoding="utf-8")),
        *_audit_texts(engine),
        *((f"output of {' '.join(r.args[3:6])}", r.stdout + r.stderr) for r in printed),
    ]
    assert leaks(texts, NEEDLES) == []
