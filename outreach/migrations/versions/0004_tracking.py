"""tracking: delivery events, unmatched events, engagement facts, digital affinity, satisfaction

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 19:00:30.544670
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

EVENT_CHECK = (
    "event IN ('queued', 'sent', 'delivered', 'deferred', 'bounced', 'dropped', 'opened', 'clicked', "
    "'complained', 'unsubscribed', 'replied', 'responded', 'failed', 'unknown')"
)


def upgrade() -> None:
    op.create_table(
        "unmatched_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_event_id", sa.String(length=100), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=True),
        sa.Column("provider_message_id", sa.String(length=100), nullable=True),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.CheckConstraint(
            EVENT_CHECK,
            name=op.f("ck_unmatched_events_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmatched_events")),
        sa.UniqueConstraint("provider", "provider_event_id", name="uq_unmatched_events_provider_event"),
    )
    op.create_table(
        "person_engagement",
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("digital_affinity", sa.Integer(), server_default="0", nullable=False),
        sa.Column("clicked_messages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("letter_responses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ignored_emails", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_person_engagement_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_engagement")),
    )
    op.create_table(
        "delivery_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_event_id", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("machine", sa.Boolean(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("bounce", sa.String(length=8), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "bounce IS NULL OR bounce IN ('hard', 'soft')", name=op.f("ck_delivery_events_bounce")
        ),
        sa.CheckConstraint(
            EVENT_CHECK,
            name=op.f("ck_delivery_events_event"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_delivery_events_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_events")),
        sa.UniqueConstraint("provider", "provider_event_id", name="uq_delivery_events_provider_event"),
    )
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_events_message_id_event", ["message_id", "event"], unique=False)

    op.create_table(
        "message_engagement",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("first_open_at", sa.DateTime(), nullable=True),
        sa.Column("last_open_at", sa.DateTime(), nullable=True),
        sa.Column("human_opens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("machine_opens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_click_at", sa.DateTime(), nullable=True),
        sa.Column("clicks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bounce", sa.String(length=8), nullable=True),
        sa.Column("bounced_at", sa.DateTime(), nullable=True),
        sa.Column("failed_at", sa.DateTime(), nullable=True),
        sa.Column("complained_at", sa.DateTime(), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("responded_at", sa.DateTime(), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "bounce IS NULL OR bounce IN ('hard', 'soft')", name=op.f("ck_message_engagement_bounce")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_engagement_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message_engagement")),
    )
    op.create_table(
        "satisfaction_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("journey", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_satisfaction_answers_score")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_satisfaction_answers_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_satisfaction_answers_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_answers")),
        sa.UniqueConstraint("message_id", name=op.f("uq_satisfaction_answers_message_id")),
    )
    with op.batch_alter_table("satisfaction_answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_satisfaction_answers_journey_answered_at", ["journey", "answered_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_satisfaction_answers_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("satisfaction_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_satisfaction_answers_person_id"))
        batch_op.drop_index("ix_satisfaction_answers_journey_answered_at")

    op.drop_table("satisfaction_answers")
    op.drop_table("message_engagement")
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_events_message_id_event")

    op.drop_table("delivery_events")
    op.drop_table("person_engagement")
    op.drop_table("unmatched_events")
