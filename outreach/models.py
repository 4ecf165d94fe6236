"""The data model: what the fund knows about people, as SQLAlchemy 2 ORM classes.

`people` is deliberately one wide table: segments filter a million rows on these columns in one SQL
statement, and a join per attribute would cost more than it saves. Lists that grow by events (opt-outs,
complaints) get their own tables so their history and source are kept.

Later capabilities add their tables (segment membership, campaigns, messages, events) in their own
modules and migrations.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from outreach.vocabulary import CHANNELS, DIGITAL_PROFILES, OPT_OUT_SOURCES, STATUSES, WORKER_TYPES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints the same everywhere."""

    metadata = MetaData(naming_convention=NAMING)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Person(Base):
    """An insured person, as the fund's extract describes them (one row per `person_id`)."""

    __tablename__ = "people"

    person_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    civility: Mapped[str | None] = mapped_column(String(8))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    worker_type: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    mobile_phone: Mapped[str | None] = mapped_column(String(16))
    address_complement: Mapped[str | None] = mapped_column(String(100))
    address_building: Mapped[str | None] = mapped_column(String(100))
    address_street: Mapped[str | None] = mapped_column(String(100))
    address_locality: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(60))
    retirement_date: Mapped[date | None] = mapped_column(Date)
    spouse_death_date: Mapped[date | None] = mapped_column(Date)
    receives_survivor_pension: Mapped[bool] = mapped_column(Boolean, default=False)
    digital_profile: Mapped[str | None] = mapped_column(String(16))
    fragility_flags: Mapped[str] = mapped_column(
        String(120),
        default="",
        doc="Sorted, ';'-separated flags; '' when none (never NULL, so SQL stays simple).",
    )
    preferred_channel: Mapped[str | None] = mapped_column(String(8))
    legal_representative: Mapped[str | None] = mapped_column(
        String(48),
        doc="'ORGANISATION:measure' (e.g. 'UDAF87:tutelle') when a guardianship organisation represents "
        "the person (outreach.population.representation); the only fact that lets an export reach them.",
    )
    address_invalid_on: Mapped[date | None] = mapped_column(
        Date,
        doc="When a letter to the current address came back (returned letters); the address is kept, "
        "and a different address in a later import clears the mark.",
    )
    address_invalid_reason: Mapped[str | None] = mapped_column(String(16), doc="the return's reason code")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())

    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(f"worker_type IS NULL OR {_in('worker_type', WORKER_TYPES)}", name="worker_type"),
        CheckConstraint(
            f"digital_profile IS NULL OR {_in('digital_profile', DIGITAL_PROFILES)}", name="digital_profile"
        ),
        CheckConstraint(
            f"preferred_channel IS NULL OR {_in('preferred_channel', CHANNELS)}", name="preferred_channel"
        ),
        Index("ix_people_status_birth_date", "status", "birth_date"),
        Index("ix_people_spouse_death_date", "spouse_death_date"),
        Index("ix_people_retirement_date", "retirement_date"),
    )


class OptOut(Base):
    """A person's "no" for one channel (or for sharing with partners). Opt-outs always win.

    Import only ever adds opt-outs: removing one is a deliberate act, never a side effect of a file.
    """

    __tablename__ = "opt_outs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())

    __table_args__ = (
        UniqueConstraint("person_id", "channel", name="uq_opt_outs_person_channel"),
        CheckConstraint(_in("channel", (*CHANNELS, "partner_sharing", "all")), name="channel"),
        CheckConstraint(_in("source", OPT_OUT_SOURCES), name="source"),
    )


class Complaint(Base):
    """A complaint (réclamation); open while `closed_on` is empty."""

    __tablename__ = "complaints"

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id", ondelete="CASCADE"), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(40))
    received_by: Mapped[str | None] = mapped_column(String(16), doc="how it reached us (COMPLAINT_CHANNELS)")
    outcome: Mapped[str | None] = mapped_column(
        String(24), doc="the answer given at closure (COMPLAINT_OUTCOMES)"
    )


class ImportRun(Base):
    """One population import: what file, when, and what became of its rows."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    rejects_report: Mapped[str | None] = mapped_column(Text)


class SegmentRefresh(Base):
    """One evaluation of a segment at an as-of date, with what changed since the previous one.

    `version` hashes the segment's file (and the files it references), so a jump in `entered` can be
    traced to an edited rule rather than to the population.
    """

    __tablename__ = "segment_refreshes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    segment: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[date] = mapped_column(Date)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    members: Mapped[int] = mapped_column(Integer, default=0)
    entered: Mapped[int] = mapped_column(Integer, default=0)
    left: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_segment_refreshes_segment_as_of", "segment", "as_of"),)


class SegmentMembership(Base):
    """One stay of a person in a segment: [entered_on, left_on), `left_on` empty while still a member.

    Dates are the as-of dates of the refreshes that saw the person enter and leave, so "who was in on
    day D" is the state of the latest refresh on or before D. The partial unique index allows one open
    stay per person and segment, and serves the refresh's anti-joins and "new members" (open stays by
    definition); the person_id index serves erasure (the cascade from `people`).
    """

    __tablename__ = "segment_memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    segment: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id", ondelete="CASCADE"))
    entered_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    # Refresh ids without foreign keys: refreshes are written first in the same transaction and never
    # deleted, and the per-row checks doubled the time of a refresh on PostgreSQL (bench/results).
    entered_refresh_id: Mapped[int] = mapped_column(Integer)
    left_refresh_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index(
            "uq_segment_memberships_open",
            "segment",
            "person_id",
            unique=True,
            sqlite_where=left_on.column.is_(None),
            postgresql_where=left_on.column.is_(None),
        ),
        Index("ix_segment_memberships_person_id", "person_id"),
    )


class CampaignRun(Base):
    """One wave of a campaign (e.g. the career-statement campaign of 2026-11-26).

    A rerun of the same wave reuses its row, and with it every message already planned or sent: that
    is what makes "run it again" safe. Dry runs have their own rows and never count as contacts.
    """

    __tablename__ = "campaign_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(String(64))
    wave: Mapped[str] = mapped_column(String(32))
    as_of: Mapped[date] = mapped_column(Date)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="running")
    triggered_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("campaign", "wave", "dry_run", name="uq_campaign_runs_wave"),)


MESSAGE_STATUSES = (
    "planned",  # the person is in the audience; no decision yet
    "queued",  # a channel and a template were chosen; waiting to be sent
    "sending",  # claimed by a worker, provider call in progress
    "sent",  # the provider accepted it (or the letter batch was handed over)
    "failed",  # refused for good (bad address, render error) — reason kept
    "ambiguous",  # the request may have left, no answer: reconciled, never blindly resent
    "excluded",  # not contacted, for a reason (opt-out, unreachable, deceased...)
    "deferred",  # not now (contact pressure, journey gap): a later run reconsiders
    "holdout",  # in the control group: deliberately not contacted, to measure uplift
)


class Message(Base):
    """One person at one step of one campaign wave: the decision, then what became of the message.

    The unique key (run, step, person) is written before any provider call; it is the guard that makes
    a second worker, a retry or a rerun unable to send twice. Everyone of the audience gets a row,
    including those not contacted, so nobody disappears silently from the reports.
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id", ondelete="CASCADE"))
    journey: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="planned")
    channel: Mapped[str | None] = mapped_column(String(8))
    template: Mapped[str | None] = mapped_column(String(64))
    variant: Mapped[str | None] = mapped_column(String(16), doc="'standard' or 'fragile' wording")
    arm: Mapped[str | None] = mapped_column(String(16), doc="the A/B arm, when the step has several")
    reason: Mapped[str | None] = mapped_column(String(48))
    detail: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sms_segments: Mapped[int | None] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    content_digest: Mapped[str | None] = mapped_column(
        String(64), doc="SHA-256 of the body handed to a provider that reconciles by content (SMS)"
    )
    planned_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("run_id", "step", "person_id", name="uq_messages_run_step_person"),
        CheckConstraint(_in("status", MESSAGE_STATUSES), name="status"),
        Index("ix_messages_run_step_id", "run_id", "step", "id"),
        Index("ix_messages_person_sent_at", "person_id", "sent_at"),
        Index("ix_messages_provider_id", "provider_id"),
        # Signed links carry the message id: on SQLite, AUTOINCREMENT so that the id of a deleted
        # (erased, purged) message is never given to another person's (PostgreSQL never reuses one).
        {"sqlite_autoincrement": True},
    )


class ComplaintMessage(Base):
    """Which complaint a message is about: the complaint journey's messages are per complaint.

    Messages stay unique per (run, step, person) — the guard against sending twice — and this link
    says which complaint each complaint message carries. An acknowledgement is due for every complaint
    without a link to a reached acknowledgement, so a person's second complaint is acknowledged too,
    and the template's `extra.complaint_*` values are read from the linked complaint, never guessed.
    """

    __tablename__ = "complaint_messages"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(
        ForeignKey("complaints.complaint_id", ondelete="CASCADE"), index=True
    )


class Suppression(Base):
    """A contact point that must not be used again: a hard bounce, a spam report, an SMS "STOP".

    Kept by value (the address or number), not by person: a number that said STOP stays silenced
    even if a later import attaches it to someone else.
    """

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())

    __table_args__ = (UniqueConstraint("channel", "value", name="uq_suppressions_channel_value"),)


EVENT_TYPES = (
    "queued",
    "sent",
    "delivered",
    "deferred",
    "bounced",
    "dropped",
    "opened",
    "clicked",
    "complained",
    "unsubscribed",
    "replied",
    "responded",
    "failed",
    "unknown",
)
"""The normalised event vocabulary (documented one by one in `outreach.tracking.events`)."""


class DeliveryEvent(Base):
    """One provider (or own-service) event about a message: the full, deduplicated history.

    `(provider, provider_event_id)` is unique, so a provider's retry or a replayed spool stores
    nothing twice. `message_id` is empty only for events about a contact point rather than a message
    (an inbound STOP from a number we know but never texted). `raw` keeps the payload as received.
    """

    __tablename__ = "delivery_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_event_id: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    machine: Mapped[bool] = mapped_column(Boolean, default=False)
    url: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    bounce: Mapped[str | None] = mapped_column(String(8))
    raw: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("provider", "provider_event_id", name="uq_delivery_events_provider_event"),
        CheckConstraint(_in("event", EVENT_TYPES), name="event"),
        CheckConstraint("bounce IS NULL OR bounce IN ('hard', 'soft')", name="bounce"),
        Index("ix_delivery_events_message_id_event", "message_id", "event"),
    )


RETURN_REASONS = ("npai", "unknown", "incomplete", "refused", "deceased")
"""Why La Poste returned a letter (plis non distribués): n'habite pas à l'adresse indiquée, destinataire
inconnu, adresse incomplète, refusé, décédé."""
RETURN_ACTIONS = ("address_invalid", "review")
"""What a return did: marked the address invalid, or waits for an operator ("décédé" is never applied)."""


class LetterReturn(Base):
    """A letter that came back to the fund (one per letter), as the print house's return file says.

    A return is the letter's hard bounce: it is also stored as a `delivery_events` row. "Décédé" returns
    are kept for an operator's review (`action` = 'review', `reviewed_at` empty until then): a death is
    never recorded on a person from a postal return.
    """

    __tablename__ = "letter_returns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id", ondelete="CASCADE"), index=True)
    returned_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(128))
    imported_at: Mapped[datetime] = mapped_column(DateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint(_in("reason", RETURN_REASONS), name="reason"),
        CheckConstraint(_in("action", RETURN_ACTIONS), name="action"),
    )


class UnmatchedEvent(Base):
    """An event that names no message we know: kept aside with what it carried, never dropped.

    Same dedup key as `delivery_events`; `message_key` and `provider_message_id` are what the event
    said, so a later investigation (or a re-match) can find the message.
    """

    __tablename__ = "unmatched_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_event_id: Mapped[str] = mapped_column(String(100))
    message_key: Mapped[str | None] = mapped_column(String(64))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    raw: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("provider", "provider_event_id", name="uq_unmatched_events_provider_event"),
        CheckConstraint(_in("event", EVENT_TYPES), name="event"),
    )


class MessageEngagement(Base):
    """What became of one message and what its reader did, folded from its events (one row per message).

    Times are the earliest (or latest) event time, whatever order events arrive in. Opens count human
    opens only in `first_open_at`/`last_open_at`/`human_opens`; machine opens (Apple Mail Privacy
    Protection, scanners) are counted apart. This is the table segment engagement conditions read.
    """

    __tablename__ = "message_engagement"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_open_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_open_at: Mapped[datetime | None] = mapped_column(DateTime)
    human_opens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    machine_opens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_click_at: Mapped[datetime | None] = mapped_column(DateTime)
    clicks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bounce: Mapped[str | None] = mapped_column(String(8))
    bounced_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)
    complained_at: Mapped[datetime | None] = mapped_column(DateTime)
    replied_at: Mapped[datetime | None] = mapped_column(DateTime)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (CheckConstraint("bounce IS NULL OR bounce IN ('hard', 'soft')", name="bounce"),)


class PersonEngagement(Base):
    """A person's digital affinity: how well e-mail and links work for them (the channel policy reads it).

    Recomputed from `message_engagement` by `outreach.tracking.feedback.refresh_affinity`, never
    incremented, so replays and late events cannot drift it. The counts behind the score are kept so
    the score can be explained.
    """

    __tablename__ = "person_engagement"

    person_id: Mapped[str] = mapped_column(
        ForeignKey("people.person_id", ondelete="CASCADE"), primary_key=True
    )
    digital_affinity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    clicked_messages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    letter_responses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ignored_emails: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_updated: Mapped[datetime] = mapped_column(DateTime)


class SatisfactionAnswer(Base):
    """An answer to the short satisfaction survey linked from a post-contact message (one per message).

    Journey, channel and campaign are copied from the message so the answers can be read by journey
    without joins; a second answer for the same message replaces the first.
    """

    __tablename__ = "satisfaction_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id", ondelete="CASCADE"), index=True)
    journey: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(8))
    campaign: Mapped[str] = mapped_column(String(64))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        Index("ix_satisfaction_answers_journey_answered_at", "journey", "answered_at"),
    )


class AuditEntry(Base):
    """One act that took people's data somewhere or summarised it: an export, a report, an import.

    Append-only: nothing in the code updates or deletes a row, so the log answers "who sent what to
    whom, and when" long after the fact. `details` is JSON without personal data (counts, file names,
    checksums, versions).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(128))
    count: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)


OUTCOMES = (
    "online_claim_started",  # a retirement claim started online (demande de retraite en ligne)
    "claim_filed",  # a retirement claim completed and filed
    "appointment_booked",  # an appointment (agency, phone, video) booked
    "survivor_pension_claimed",  # a survivor's pension claim filed (pension de réversion)
    "career_regularised",  # a career statement corrected (régularisation de carrière)
    "workshop_attended",  # a workshop or webinar attended
    "online_account_created",  # a personal online space created
)
"""What a campaign hopes people will do: the outcomes its uplift is measured on."""


class OutcomeEvent(Base):
    """Something a person did that a campaign aims at (a claim started, an appointment booked).

    Imported from the fund's business systems as CSV; unique per person, outcome and day so that
    importing the same file twice counts nothing twice.
    """

    __tablename__ = "outcome_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(32))
    occurred_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("person_id", "outcome", "occurred_on", name="uq_outcome_events_person_outcome_day"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        Index("ix_outcome_events_outcome_occurred_on", "outcome", "occurred_on"),
    )


class MessageAggregate(Base):
    """The counts that outlive a purged wave: one row per group of its messages, no person in it.

    When retention removes an old wave's per-person messages (and with them their events and
    engagement), these rows are written first, in the same transaction, grouped by every dimension the
    reports split a funnel by, so the wave's funnel, breakdowns and reasons can still be shown.
    """

    __tablename__ = "message_aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    journey: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(8))
    variant: Mapped[str | None] = mapped_column(String(16))
    arm: Mapped[str | None] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(48))
    messages: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[int] = mapped_column(Integer)
    opened: Mapped[int] = mapped_column(Integer, doc="human opens only, as in the reports")
    clicked: Mapped[int] = mapped_column(Integer)
    responded: Mapped[int] = mapped_column(Integer, doc="replied or answered a letter")
    bounced: Mapped[int] = mapped_column(Integer)
    opted_out: Mapped[int] = mapped_column(Integer)
    sms_segments: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", doc="billed SMS parts (a message without a count counts one)"
    )
    aggregated_at: Mapped[datetime] = mapped_column(DateTime)


class ErasedPerson(Base):
    """What remains of a person erased at their request: a keyed hash of their id and the date.

    Never the id itself: without the secret (`OUTREACH_ERASURE_SECRET`) the row says nothing about
    anyone, yet the import can recognise the id and refuse to bring the person back.
    """

    __tablename__ = "erased_people"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_on: Mapped[date] = mapped_column(Date)
