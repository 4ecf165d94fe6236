"""The spool: batches acknowledged while the database was unavailable, one JSON file each.

A file is written atomically (temporary file, fsync, rename), so a crash leaves no half file; it
keeps the batch's original reception time. `ingest.replay_spool` stores and removes the files.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from outreach.tracking.events import EventType, TrackingEvent


def write(spool_dir: Path, events: Sequence[TrackingEvent], received_at: datetime) -> Path:
    """Write one batch to its own file in `spool_dir`; its path."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    name = f"{received_at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}.json"
    temporary = spool_dir / f".{name}.tmp"
    document = {"received_at": received_at.isoformat(), "events": [_to_json(e) for e in events]}
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    path = spool_dir / name
    os.replace(temporary, path)
    return path


def files(spool_dir: Path) -> list[Path]:
    """The spooled batches, oldest first."""
    return sorted(spool_dir.glob("*.json")) if spool_dir.is_dir() else []


def read(path: Path) -> tuple[list[TrackingEvent], datetime]:
    """A spooled batch and its reception time."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [_from_json(item) for item in document["events"]], datetime.fromisoformat(document["received_at"])


def _to_json(event: TrackingEvent) -> dict[str, Any]:
    data = asdict(event)
    data["event"] = event.event.value
    data["occurred_at"] = event.occurred_at.isoformat()
    return data


def _from_json(data: dict[str, Any]) -> TrackingEvent:
    return TrackingEvent(
        **{
            **data,
            "event": EventType(data["event"]),
            "occurred_at": datetime.fromisoformat(data["occurred_at"]),
        }
    )
