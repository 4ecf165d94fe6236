"""Small output helpers shared by the command groups."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Print `error: message` on stderr and exit with `exit_code`."""
    typer.echo(f"error: {message}", err=True)
    sys.exit(exit_code)


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on one line (scripts read the last line)."""
    typer.echo(json.dumps(payload, ensure_ascii=False, default=str))
