"""Small output helpers shared by the command groups."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import typer

from outreach.config import var_dir


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Print `error: message` on stderr and exit with `exit_code`."""
    typer.echo(f"error: {message}", err=True)
    sys.exit(exit_code)


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on one line (scripts read the last line)."""
    typer.echo(json.dumps(payload, ensure_ascii=False, default=str))


EXIT_ROWS_REJECTED = 5
"""An import that was done, but rejected some rows (see its report)."""


def import_report_path(file: Path, kind: str, given: Path | None) -> Path:
    """Where an import's rejects report goes: `given`, else var/imports/<file>-<time>.<kind>.csv."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return given or var_dir() / "imports" / f"{file.stem}-{stamp}.{kind}.csv"


def end_import(line: str, counts: dict[str, Any], rejected: int, as_json: bool) -> None:
    """Every import ends the same way: one line of counts, the JSON line if asked, exit 5 on rejects."""
    typer.echo(line)
    if as_json:
        print_json(counts)
    if rejected:
        raise typer.Exit(EXIT_ROWS_REJECTED)
