"""Erasure at a person's request, and the minimal record that keeps them from coming back.

Erasing deletes the person's row; every table about them follows by cascade (opt-outs, complaints,
segment stays, messages with their events and engagement, survey answers, outcomes). What remains is
one `erased_people` row: an HMAC of their identifier under `OUTREACH_ERASURE_SECRET` (or the Prefect
Secret block `outreach-erasure-secret`) and the date — enough for the import to recognise the id and
refuse it, useless to anyone without the secret. Suppressed contact points (a hard-bounced address, a
number that said STOP) are kept by value, as the law requires a "no" to keep being honoured.

The law lets the fund keep what it still needs: an open complaint (the file must be handled) or a
message in flight (the provider has it; its outcome must be settled) blocks the erasure, with the
reason, until they are closed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, select

from outreach import audit
from outreach.channels.credentials import block_name, prefect_secret
from outreach.clock import today_paris
from outreach.errors import ConfigurationError, OutreachError
from outreach.models import (
    CampaignRun,
    Complaint,
    DeliveryEvent,
    ErasedPerson,
    Message,
    OptOut,
    Person,
    SegmentMembership,
)

SECRET_VARIABLE = "OUTREACH_ERASURE_SECRET"
MINIMUM_SECRET_LENGTH = 16
IN_FLIGHT = ("planned", "queued", "sending", "ambiguous")
"""Message statuses whose outcome is not settled yet."""
ERASED = ErasedPerson.__table__
ERASED_REASON = "erased at the person's request"
"""The import's reason for refusing the row of an erased person."""


class ErasureRefused(OutreachError):
    """The law lets the fund keep this person's data for now; the message says why and until when."""


class UnknownPerson(OutreachError):
    """No person with this identifier (never imported, or already erased)."""


def erasure_secret() -> bytes:
    """The HMAC key; fails (before anything is written) when it is missing or too short."""
    value = os.environ.get(SECRET_VARIABLE) or prefect_secret(block_name(SECRET_VARIABLE)) or ""
    if len(value) < MINIMUM_SECRET_LENGTH:
        raise ConfigurationError(
            f"{SECRET_VARIABLE} must hold a secret of at least {MINIMUM_SECRET_LENGTH} characters (or "
            f"create the Prefect Secret block '{block_name(SECRET_VARIABLE)}'): erased people are recorded "
            "by a keyed hash of their identifier; keep it stable, changing it would let them be re-imported"
        )
    return value.encode()


def person_digest(person_id: str, secret: bytes) -> str:
    """The keyed hash that stands for an erased person's identifier."""
    return hmac.new(secret, f"erased-person:{person_id}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ErasureGuard:
    """Recognises erased identifiers; loaded once per import or load."""

    digests: frozenset[str]
    secret: bytes | None = field(default=None, repr=False)

    def is_erased(self, person_id: str) -> bool:
        return bool(self.digests) and person_digest(person_id, self.secret or b"") in self.digests


def load_guard(connection: Connection) -> ErasureGuard:
    """The erased identifiers' digests; the secret is only needed (and required) when there are any."""
    digests = frozenset(connection.scalars(select(ERASED.c.digest)))
    return ErasureGuard(digests, erasure_secret() if digests else None)


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure removed (rows per table) and the record left behind."""

    digest: str
    erased_on: date
    removed: dict[str, int]
    audit_id: int


def _blockers(connection: Connection, person_id: str) -> list[str]:
    """Why the person cannot be erased yet, in words the team can pass on (empty: nothing blocks)."""
    reasons = [
        f"réclamation {complaint_id} ouverte depuis le {opened_on:%d/%m/%Y} : le dossier doit être "
        "traité et clos avant l'effacement"
        for complaint_id, opened_on in connection.execute(
            select(Complaint.complaint_id, Complaint.opened_on).where(
                Complaint.person_id == person_id, Complaint.closed_on.is_(None)
            )
        )
    ]
    in_flight = connection.scalar(
        select(func.count())
        .select_from(Message)
        .join(CampaignRun, CampaignRun.id == Message.run_id)
        .where(Message.person_id == person_id, Message.status.in_(IN_FLIGHT), CampaignRun.dry_run.is_(False))
    )
    if in_flight:
        reasons.append(
            f"{in_flight} message(s) en cours d'envoi ou d'issue incertaine : attendre la fin de la "
            "campagne (ou son rapprochement avec le prestataire), puis recommencer"
        )
    return reasons


def _counts(connection: Connection, person_id: str) -> dict[str, int]:
    def count(condition: ColumnElement[bool]) -> int:
        return connection.scalar(select(func.count()).where(condition)) or 0

    messages = select(Message.id).where(Message.person_id == person_id)
    return {
        "people": 1,
        "opt_outs": count(OptOut.person_id == person_id),
        "complaints": count(Complaint.person_id == person_id),
        "segment_memberships": count(SegmentMembership.person_id == person_id),
        "messages": count(Message.person_id == person_id),
        "delivery_events": count(DeliveryEvent.message_id.in_(messages)),
    }


def erase(engine: Engine, person_id: str, today: date | None = None) -> ErasureResult:
    """Erase `person_id` and leave the suppression record, or refuse (`ErasureRefused`) saying why."""
    secret = erasure_secret()
    digest = person_digest(person_id, secret)
    today = today or today_paris()
    with engine.begin() as connection:
        if connection.scalar(select(Person.person_id).where(Person.person_id == person_id)) is None:
            erased_on = connection.scalar(select(ERASED.c.erased_on).where(ERASED.c.digest == digest))
            already = f" : déjà effacée le {erased_on:%d/%m/%Y}" if erased_on else ""
            raise UnknownPerson(f"aucune personne {person_id} dans la base{already}")
        blockers = _blockers(connection, person_id)
        if blockers:
            raise ErasureRefused(
                f"effacement de {person_id} impossible pour l'instant : " + " ; ".join(blockers)
            )
        removed = _counts(connection, person_id)
        connection.execute(delete(Person).where(Person.person_id == person_id))
        connection.execute(ERASED.insert().values(digest=digest, erased_on=today))
        audit_id = audit.record(
            connection, "erasure", f"erased:{digest[:16]}", sum(removed.values()), {"removed": removed}
        )
    return ErasureResult(digest, today, removed, audit_id)
