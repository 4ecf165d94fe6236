"""Import of returned letters (plis non distribués) from the print house's / La Poste's return file.

A returned letter is the letter channel's hard bounce. Each row names the reference printed on the
letter (`CO-m<message id>`), the day it came back and La Poste's reason. For every new return:

- a `bounced` (hard) delivery event is stored for the letter through the tracking service's own
  ingestion, so the letter's engagement row, the message's status (`failed`, `hard_bounce`) and the
  reports see it exactly as they see an e-mail's bounce;
- the person's current address is marked invalid (`people.address_invalid_on`): kept, never deleted,
  no letter goes there any more (the channel policy moves the person to another channel with the
  reason `address_invalid`), until a population import brings a different address;
- a "décédé" return changes nothing about the person or the address: it is kept in `letter_returns`
  with `action = 'review'` for an operator, since a postal mention is no proof of a death.

The file is checked like every import (see `outreach.population.importer`): UTF-8, `,` or `;`, the
header, then every row; rejected rows go to a report (line, reference, person_id, field, reason),
never a value that could be personal; everything happens in one transaction, with an audit entry that
holds counts only. Importing the same file twice adds nothing: a letter has at most one return.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach import audit
from outreach.clock import today_paris, utcnow
from outreach.errors import InputFileError
from outreach.models import LetterReturn, Message, Person
from outreach.population.importer import check_encoding, read_rows
from outreach.population.validate import parse_date, reportable_person_id
from outreach.tracking.events import EventType, TrackingEvent
from outreach.tracking.ingest import Batch, store

COLUMNS = ("reference", "returned_on", "reason")
REPORT_COLUMNS = ("line", "reference", "person_id", "field", "reason")
CHUNK_ROWS = 2_000
PROVIDER = "letter_returns"
"""The `delivery_events.provider` of returns: the event id is the letter's, so a letter returns once."""
AUDIT_ACTION = "letter_returns_import"
REFERENCE = re.compile(r"^CO-m([0-9]{1,18})$", re.IGNORECASE)
REFERENCE_RULE = "not a letter reference (expected CO-m followed by digits, as printed on the letter)"
DATE_RULE = "not a date (write 2026-11-26 or 26/11/2026)"

REASON_CODES = {
    "npai": "npai",
    "n_habite_pas_a_l_adresse_indiquee": "npai",
    "inconnu": "unknown",
    "destinataire_inconnu": "unknown",
    "destinataire_inconnu_a_l_adresse": "unknown",
    "adresse_incomplete": "incomplete",
    "adresse_insuffisante": "incomplete",
    "refuse": "refused",
    "decede": "deceased",
}
"""La Poste's mentions, written as the print house writes them (case, accents and spacing aside)."""
REVIEW_REASONS = frozenset({"deceased"})
REASON_RULE = "unknown return reason (use one of: NPAI, inconnu, adresse incomplète, refusé, décédé)"
RETURNABLE = ("sent", "failed")
"""A letter handed to the print house; `failed` is one whose return was already recorded."""


@dataclass
class ReturnsImport:
    """What an import did (counts only: it is printed and audited)."""

    source: str
    report: str
    imported: int = 0
    addresses_invalidated: int = 0
    for_review: int = 0
    already_known: int = 0
    rejected: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "addresses_invalidated": self.addresses_invalidated,
            "for_review": self.for_review,
            "already_known": self.already_known,
            "rejected": self.rejected,
            "source": self.source,
            "report": self.report,
            "by_reason": dict(self.by_reason.most_common()),
            "rejected_by_reason": dict(self.rejected_by_reason.most_common()),
        }


@dataclass(frozen=True)
class _Row:
    line: int
    reference: str
    message_id: int
    returned_on: date
    reason: str


def reason_code(text: str) -> str | None:
    """The return reason for La Poste's mention ("NPAI", "Refusé", "décédé"...), or None."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return REASON_CODES.get(re.sub(r"[^a-z]+", "_", plain).strip("_"))


def _parse_day(text: str) -> date | None:
    if "/" in text:
        try:
            return datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            return None
    return parse_date(text)


def import_returns(
    engine: Engine,
    path: Path,
    report_path: Path,
    today: date | None = None,
    actor: str | None = None,
) -> ReturnsImport:
    """Import the return file `path`; rejected rows go to `report_path`."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    check_encoding(path)
    today = today or today_paris()
    summary = ReturnsImport(str(path), str(report_path))
    report_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with report_path.open("w", encoding="utf-8", newline="") as handle, engine.begin() as connection:
            report = csv.writer(handle)
            report.writerow(REPORT_COLUMNS)

            def reject(line: int, reference: str, person_id: str, field_name: str, reason: str) -> None:
                report.writerow((line, reference, reportable_person_id(person_id), field_name, reason))
                summary.rejected += 1
                summary.rejected_by_reason[reason] += 1

            pending: list[_Row] = []
            seen: set[int] = set()
            for line, raw, _ in read_rows(path, COLUMNS):
                if raw is None:
                    reject(line, "", "", "line", f"wrong number of fields (expected {len(COLUMNS)})")
                    continue
                match = REFERENCE.match(raw["reference"])
                if not raw["reference"]:
                    reject(line, "", "", "reference", "missing reference")
                    continue
                if match is None:
                    reject(line, "", "", "reference", REFERENCE_RULE)
                    continue
                message_id = int(match.group(1))
                reference = f"CO-m{message_id}"
                returned_on = _parse_day(raw["returned_on"])
                code = reason_code(raw["reason"])
                if message_id in seen:
                    reject(line, reference, "", "reference", "reference already seen earlier in the file")
                elif returned_on is None:
                    reject(line, reference, "", "returned_on", DATE_RULE)
                elif returned_on > today:
                    reject(line, reference, "", "returned_on", "date in the future")
                elif code is None:
                    reject(line, reference, "", "reason", REASON_RULE)
                else:
                    seen.add(message_id)
                    pending.append(_Row(line, reference, message_id, returned_on, code))
                if len(pending) >= CHUNK_ROWS:
                    _apply(connection, pending, path.name, summary, reject)
                    pending.clear()
            _apply(connection, pending, path.name, summary, reject)
            audit.record(
                connection,
                AUDIT_ACTION,
                path.name,
                summary.imported,
                {k: v for k, v in summary.as_dict().items() if k != "report"},
                actor=actor,
            )
    except InputFileError:
        report_path.unlink(missing_ok=True)  # nothing was imported: a report would only mislead
        raise
    return summary


def _apply(
    connection: Connection, rows: list[_Row], source: str, summary: ReturnsImport, reject: Any
) -> None:
    """Check each row against its letter, then record the chunk's new returns and their effects."""
    if not rows:
        return
    letters = {
        r.id: r
        for r in connection.execute(
            select(Message.id, Message.person_id, Message.channel, Message.status, Message.sent_at).where(
                Message.id.in_([row.message_id for row in rows])
            )
        )
    }
    now = utcnow()
    accepted: list[tuple[_Row, str]] = []
    for row in rows:
        letter = letters.get(row.message_id)
        if letter is None:
            reject(row.line, row.reference, "", "reference", "unknown letter (no such message is held)")
        elif letter.channel != "letter" or letter.status not in RETURNABLE or letter.sent_at is None:
            reject(row.line, row.reference, letter.person_id, "reference", "not a letter that was sent")
        elif row.returned_on < letter.sent_at.date():
            reject(row.line, row.reference, letter.person_id, "returned_on", "before the letter was sent")
        else:
            accepted.append((row, letter.person_id))
    if not accepted:
        return
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(LetterReturn.__table__).on_conflict_do_nothing(index_elements=["message_id"])
    new = set(
        connection.scalars(
            statement.returning(LetterReturn.__table__.c.message_id),
            [
                {
                    "message_id": row.message_id,
                    "person_id": person_id,
                    "returned_on": row.returned_on,
                    "reason": row.reason,
                    "action": "review" if row.reason in REVIEW_REASONS else "address_invalid",
                    "source": source[:128],
                    "imported_at": now,
                }
                for row, person_id in accepted
            ],
        )
    )
    summary.already_known += len(accepted) - len(new)
    fresh = [(row, person_id) for row, person_id in accepted if row.message_id in new]
    if not fresh:
        return
    store(connection, [Batch([_event(row) for row, _ in fresh], now)])
    for row, person_id in fresh:
        summary.imported += 1
        summary.by_reason[row.reason] += 1
        if row.reason in REVIEW_REASONS:
            summary.for_review += 1
            continue
        # The earliest return stands: a mark already there keeps its date and reason.
        summary.addresses_invalidated += connection.execute(
            update(Person)
            .where(Person.person_id == person_id, Person.address_invalid_on.is_(None))
            .values(address_invalid_on=row.returned_on, address_invalid_reason=row.reason)
        ).rowcount


def _event(row: _Row) -> TrackingEvent:
    """The return as the letter's hard bounce, in the tracking service's vocabulary."""
    return TrackingEvent(
        provider=PROVIDER,
        provider_event_id=f"return:{row.message_id}",
        event=EventType.BOUNCED,
        occurred_at=datetime.combine(row.returned_on, time(12, 0)),
        raw=json.dumps(
            {"reference": row.reference, "returned_on": row.returned_on.isoformat(), "reason": row.reason}
        ),
        message_key=f"m{row.message_id}",
        channel="letter",
        reason=row.reason,
        bounce="hard",
    )


def pending_reviews(connection: Connection) -> list[dict[str, Any]]:
    """The "décédé" returns no operator has reviewed yet, oldest first (fund identifiers only)."""
    rows = connection.execute(
        select(LetterReturn.id, LetterReturn.message_id, LetterReturn.person_id, LetterReturn.returned_on)
        .where(LetterReturn.action == "review", LetterReturn.reviewed_at.is_(None))
        .order_by(LetterReturn.returned_on, LetterReturn.id)
    )
    return [
        {
            "return_id": r.id,
            "reference": f"CO-m{r.message_id}",
            "person_id": r.person_id,
            "returned_on": r.returned_on,
        }
        for r in rows
    ]


def mark_reviewed(engine: Engine, reference: str, actor: str | None = None) -> bool:
    """An operator checked a "décédé" return (`reference` CO-m…): messages may go to the person again.

    A confirmed death is recorded the way every death is, by the fund's next extract (status
    `deceased`); until then, or when the return was a mistake, this lifts `death_reported`. Returns
    False when no return of that reference waits for review. The audit entry names the reference only.
    """
    match = re.fullmatch(r"CO-m(\d+)", reference.strip(), flags=re.IGNORECASE)
    if match is None:
        return False
    with engine.begin() as connection:
        changed = connection.execute(
            update(LetterReturn)
            .where(
                LetterReturn.message_id == int(match.group(1)),
                LetterReturn.action == "review",
                LetterReturn.reviewed_at.is_(None),
            )
            .values(reviewed_at=utcnow())
        ).rowcount
        if changed:
            audit.record(connection, "letter_return_reviewed", f"CO-m{match.group(1)}", 1, {}, actor=actor)
    return bool(changed)
