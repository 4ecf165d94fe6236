"""The audit trail: an entry for each act, append-only in the database, listed and filtered by the CLI."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from outreach.campaigns.library import load_campaigns
from outreach.config import PROJECT_ROOT
from outreach.models import AuditEntry
from outreach.population.generator import load_database
from outreach.population.importer import import_population
from outreach.privacy.config_versions import record_config_changes
from tests.people import load, person
from tests.population_files import person_row, write_extract
from tests.privacy_support import SECRET, outbox_runner

AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 30)


def _trail(engine: Engine) -> list[tuple[str, str, int | None, dict]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditEntry.action, AuditEntry.target, AuditEntry.count, AuditEntry.details).order_by(
                AuditEntry.id
            )
        )
        return [(action, target, count, json.loads(details)) for action, target, count, details in rows]


def test_an_import_records_its_counts(engine: Engine, tmp_path: Path) -> None:
    rows = [person_row("1790586111222"), person_row("2801186333444", birth_date="pas une date")]
    source = write_extract(tmp_path / "extrait-novembre.csv", rows)
    import_population(engine, source, tmp_path / "report.csv", today=AS_OF)

    [(action, target, count, details)] = _trail(engine)
    assert (action, target, count) == ("import", "extrait-novembre.csv", 1)
    assert (details["created"], details["rejected"]) == (1, 1)
    with engine.connect() as connection:
        assert connection.scalar(select(AuditEntry.actor)) == getpass.getuser()


def test_a_synthetic_load_is_recorded_like_an_import(engine: Engine) -> None:
    summary = load_database(engine, 300, seed=7, as_of=AS_OF)

    [(action, target, count, details)] = _trail(engine)
    assert (action, target, count) == ("import", "synthetic population (seed 7)", summary.people)
    assert (details["size"], details["opt_outs"], details["as_of"]) == (300, summary.opt_outs, "2026-11-26")


def test_each_step_run_and_each_dry_run_records_its_counts_by_status(engine: Engine, tmp_path: Path) -> None:
    load(engine, [person(i, date(1991, 11, 14)) for i in range(10)], opt_outs=[("P00003", "all")])
    runner = outbox_runner(engine, load_campaigns(), tmp_path)

    rehearsal = runner.run_step("career_statement_35", "first_contact", AS_OF, dry_run=True, now=NOW)
    runner.run_step("career_statement_35", "first_contact", AS_OF, dry_run=True, now=NOW)
    real = runner.run_step("career_statement_35", "first_contact", AS_OF, now=NOW)
    runner.finish(runner.resume("career_statement_35", "first_contact", AS_OF))  # counted again: same counts

    trail = _trail(engine)
    assert [action for action, *_ in trail] == ["dry_run", "dry_run", "campaign_run"]
    _, target, count, details = trail[-1]
    assert target == f"career_statement_35/first_contact/run {real.run_id}"
    assert count == 10 and details["statuses"] == dict(sorted(real.by_status().items()))
    assert details["statuses"]["excluded"] == 1
    assert trail[0][3]["statuses"] == dict(sorted(rehearsal.by_status().items()))


def test_a_changed_configuration_file_is_recorded_once(engine: Engine, tmp_path: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "campaigns", tmp_path / "campaigns")
    names = sorted(f"campaigns/{p.name}" for p in (tmp_path / "campaigns").glob("*.yaml"))

    assert record_config_changes(engine, tmp_path, ["campaigns"]) == names
    assert record_config_changes(engine, tmp_path, ["campaigns"]) == []
    edited = tmp_path / "campaigns" / "retirement_claim.yaml"
    with edited.open("a", encoding="utf-8") as handle:
        handle.write("# relu par l'équipe communication le 26/11/2026\n")
    assert record_config_changes(engine, tmp_path, ["campaigns"]) == ["campaigns/retirement_claim.yaml"]

    first, last = [e for e in _trail(engine) if e[1] == "campaigns/retirement_claim.yaml"]
    assert last[3]["previous"] == first[3]["sha256"] != last[3]["sha256"]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'quelqu_un'", "DELETE FROM audit_log"])
def test_the_database_refuses_to_change_or_delete_an_entry(
    engine: Engine, tmp_path: Path, statement: str
) -> None:
    load(engine, [person(1, date(1991, 11, 14))])
    record_config_changes(engine, PROJECT_ROOT, ["segments"])
    before = _trail(engine)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    assert _trail(engine) == before


def _outreach(tmp_path: Path, *args: str, secret: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "OUTREACH_VAR_DIR": str(tmp_path / "var"),
        "OUTREACH_ERASURE_SECRET": SECRET if secret else "",
        "PREFECT_API_URL": "http://127.0.0.1:9/api",  # an unreachable server: no block lookup can hang
    }
    return subprocess.run(
        [sys.executable, "-m", "outreach", *args], capture_output=True, text=True, env=env, check=False
    )


def test_the_privacy_commands_from_the_command_line(tmp_path: Path) -> None:
    source = write_extract(
        tmp_path / "extrait.csv",
        [person_row("1790586111222"), person_row("2620712555666", first_name="Gérard", last_name="Dupuis")],
    )
    assert _outreach(tmp_path, "db", "upgrade").returncode == 0
    assert _outreach(tmp_path, "population", "import", str(source)).returncode == 0

    objected = _outreach(tmp_path, "person", "object", "1790586111222", "--channel", "all")
    assert (
        objected.returncode == 0
        and "opposition de 1790586111222 enregistrée : tous les canaux" in objected.stdout
    )
    shown = _outreach(tmp_path, "person", "show", "1790586111222")
    assert "Oppositions" in shown.stdout and "tous les canaux (origine : objection" in shown.stdout
    erased = _outreach(tmp_path, "person", "erase", "2620712555666")
    assert erased.returncode == 0 and "effacé(e)" in erased.stdout
    unknown = _outreach(tmp_path, "person", "show", "2620712555666")
    assert unknown.returncode == 1 and "aucune personne 2620712555666" in unknown.stderr

    listed = _outreach(tmp_path, "audit", "--json")
    actions = [json.loads(line)["action"] for line in listed.stdout.splitlines()]
    assert actions == ["erasure", "person_view", "objection", "import"]  # newest first
    only = _outreach(tmp_path, "audit", "--action", "objection", "--since", "2000-01-01", "--json")
    [entry] = [json.loads(line) for line in only.stdout.splitlines()]
    assert (entry["target"], entry["details"]["channel"]) == ("1790586111222", "all")

    dry = _outreach(tmp_path, "purge", "--dry-run", "--json")
    assert dry.returncode == 0 and json.loads(dry.stdout.splitlines()[-1])["dry_run"] is True
    assert [
        json.loads(line)["action"] for line in _outreach(tmp_path, "audit", "--json").stdout.splitlines()
    ] == actions
