"""Retention periods, per kind of data, read from `retention.yaml` at the project root.

The durations are data a data-protection officer reviews, not code: the file names each kind, its
period and why. A missing file means the documented defaults below; an unknown kind or an unreadable
period is a configuration error naming the file and the line, so a typo never keeps data forever.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, field_validator

from outreach.config import PROJECT_ROOT
from outreach.yamlfiles import load_model

DEFAULT_FILE = PROJECT_ROOT / "retention.yaml"
PERIOD = re.compile(r"^\s*(\d+)\s*(day|days|month|months)\s*$")


def _check_period(value: str) -> str:
    match = PERIOD.match(str(value))
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"'{value}' is not a period: write e.g. '30 days' or '13 months'")
    return value


class RetentionPolicy(BaseModel):
    """How long each kind of data is kept (the defaults are the fund's documented choices)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delivery_events: str = "13 months"
    open_click_details: str = "6 months"
    unmatched_events: str = "3 months"
    messages: str = "24 months"
    dry_runs: str = "1 month"
    previews: str = "1 month"
    outbox: str = "1 month"
    print_batches: str = "3 months"
    import_reports: str = "3 months"
    export_files: str = "1 month"
    spool_files: str = "1 month"

    @field_validator("*")
    @classmethod
    def _period(cls, value: str) -> str:
        return _check_period(value)

    def cutoff(self, kind: str, now: datetime) -> datetime:
        """The moment before which data of `kind` is too old to keep."""
        match = PERIOD.match(getattr(self, kind))
        assert match is not None  # checked when the policy was read
        amount, unit = int(match.group(1)), match.group(2)
        return now - (relativedelta(days=amount) if unit.startswith("day") else relativedelta(months=amount))


def load_policy(path: Path = DEFAULT_FILE) -> RetentionPolicy:
    """The policy in `path`, or the defaults when the file does not exist."""
    if not path.is_file():
        return RetentionPolicy()
    return load_model(path, RetentionPolicy)[0]
