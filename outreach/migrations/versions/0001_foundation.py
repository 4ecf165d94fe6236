"""people, opt-outs, complaints, import runs

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 18:49:15.071769
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("rejects_report", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_table(
        "people",
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("civility", sa.String(length=8), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("worker_type", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("mobile_phone", sa.String(length=16), nullable=True),
        sa.Column("address_complement", sa.String(length=100), nullable=True),
        sa.Column("address_building", sa.String(length=100), nullable=True),
        sa.Column("address_street", sa.String(length=100), nullable=True),
        sa.Column("address_locality", sa.String(length=100), nullable=True),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=60), nullable=True),
        sa.Column("retirement_date", sa.Date(), nullable=True),
        sa.Column("spouse_death_date", sa.Date(), nullable=True),
        sa.Column("receives_survivor_pension", sa.Boolean(), nullable=False),
        sa.Column("digital_profile", sa.String(length=16), nullable=True),
        sa.Column("fragility_flags", sa.String(length=120), nullable=False),
        sa.Column("preferred_channel", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.CheckConstraint(
            "digital_profile IS NULL OR digital_profile IN ('technophile', 'non_technophile')",
            name=op.f("ck_people_digital_profile"),
        ),
        sa.CheckConstraint(
            "preferred_channel IS NULL OR preferred_channel IN ('email', 'sms', 'letter')",
            name=op.f("ck_people_preferred_channel"),
        ),
        sa.CheckConstraint("status IN ('active', 'retired', 'deceased')", name=op.f("ck_people_status")),
        sa.CheckConstraint(
            "worker_type IS NULL OR worker_type IN ('salaried', 'self_employed')",
            name=op.f("ck_people_worker_type"),
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index("ix_people_retirement_date", ["retirement_date"], unique=False)
        batch_op.create_index("ix_people_spouse_death_date", ["spouse_death_date"], unique=False)
        batch_op.create_index("ix_people_status_birth_date", ["status", "birth_date"], unique=False)

    op.create_table(
        "complaints",
        sa.Column("complaint_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("received_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_complaints_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaints")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_person_id"), ["person_id"], unique=False)

    op.create_table(
        "opt_outs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'letter', 'partner_sharing', 'all')",
            name=op.f("ck_opt_outs_channel"),
        ),
        sa.CheckConstraint(
            "source IN ('import', 'sms_stop', 'unsubscribe', 'objection')", name=op.f("ck_opt_outs_source")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.person_id"], name=op.f("fk_opt_outs_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_outs")),
        sa.UniqueConstraint("person_id", "channel", name="uq_opt_outs_person_channel"),
    )


def downgrade() -> None:
    op.drop_table("opt_outs")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_person_id"))

    op.drop_table("complaints")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index("ix_people_status_birth_date")
        batch_op.drop_index("ix_people_spouse_death_date")
        batch_op.drop_index("ix_people_retirement_date")

    op.drop_table("people")
    op.drop_table("import_runs")
