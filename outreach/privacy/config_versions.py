"""Configuration changes in the audit trail: a new entry whenever a reviewed file's content changed.

Campaigns, segments and partner profiles decide who is contacted and what leaves the fund; the
trail must show which version was in force when. Each file's SHA-256 is compared with the last one
recorded for it, so an unchanged file costs one read and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine

from outreach import audit
from outreach.config import PROJECT_ROOT

ACTION = "config_change"
FOLDERS = ("campaigns", "segments", "partners")


def _files(root: Path, folders: Iterable[str]) -> list[Path]:
    return sorted(path for folder in folders for path in (root / folder).glob("*.yaml"))


def record_config_changes(
    engine: Engine, root: Path = PROJECT_ROOT, folders: Iterable[str] = FOLDERS
) -> list[str]:
    """Audit each configuration file whose content differs from its last recorded version.

    Returns the files recorded (relative paths), e.g. `["campaigns/retirement_claim.yaml"]`.
    """
    changed = []
    with engine.begin() as connection:
        for path in _files(root, folders):
            target = path.relative_to(root).as_posix()
            version = hashlib.sha256(path.read_bytes()).hexdigest()
            last = audit.latest(connection, ACTION, target)
            previous = json.loads(last.details).get("sha256") if last is not None else None
            if previous == version:
                continue
            audit.record(connection, ACTION, target, None, {"sha256": version, "previous": previous})
            changed.append(target)
    return changed
