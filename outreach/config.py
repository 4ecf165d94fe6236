"""Settings read from the environment.

Only the environment (or Prefect blocks, for provider credentials) holds settings that differ between
machines; everything a communication team reviews lives in files under the project.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("OUTREACH_HOME", Path.cwd())).resolve()
"""Where the project's files (segments/, templates/, var/) are read from; the current directory by default."""

TIMEZONE = "Europe/Paris"


def var_dir() -> Path:
    """The folder for everything the tool writes (database, reports, outbox); created on demand."""
    path = Path(os.environ.get("OUTREACH_VAR_DIR", PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """`OUTREACH_DATABASE_URL`, or an embedded SQLite file under `var/`."""
    url = os.environ.get("OUTREACH_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{var_dir() / 'outreach.sqlite3'}"
