"""The command line as an operator uses it: a real process, its output and its exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer.main

from outreach.cli.main import app
from tests.population_files import person_row, write_extract


def outreach(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "OUTREACH_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "-m", "outreach", *args], capture_output=True, text=True, env=env, check=False
    )


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", _commands(typer.main.get_group(app)), ids=" ".join)
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "outreach", *command, "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_import_reports_counts_as_json_and_flags_rejected_rows(tmp_path: Path) -> None:
    assert outreach(tmp_path, "db", "upgrade").returncode == 0
    source = write_extract(
        tmp_path / "extract.csv",
        [
            person_row("P1"),
            person_row("P2", email="pas-une-adresse"),
            {**person_row("P3"), "status": "inconnu"},
        ],
    )
    result = outreach(tmp_path, "population", "import", str(source), "--json")

    assert result.returncode == 5, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert (counts["imported"], counts["rejected"], counts["warnings"]) == (2, 1, 1)
    assert Path(counts["report"]).is_file()

    again = outreach(
        tmp_path, "population", "import", str(write_extract(tmp_path / "b.csv", [person_row("P1")]))
    )
    assert again.returncode == 0
    assert "imported 1 people (0 new, 1 updated)" in again.stdout


def test_an_unusable_file_is_one_line_of_error_without_traceback(tmp_path: Path) -> None:
    outreach(tmp_path, "db", "upgrade")
    source = tmp_path / "extract.csv"
    source.write_text("nom;prenom\nMartin;Anne\n", encoding="utf-8")
    result = outreach(tmp_path, "population", "import", str(source))

    assert result.returncode == 3
    assert result.stderr.startswith("error: ")
    assert "missing column(s) person_id" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_database_that_was_never_migrated_says_how_to_fix_it(tmp_path: Path) -> None:
    source = write_extract(tmp_path / "extract.csv", [person_row("P1")])
    result = outreach(tmp_path, "population", "import", str(source))
    assert result.returncode == 4
    assert "run `outreach db upgrade` first" in result.stderr
