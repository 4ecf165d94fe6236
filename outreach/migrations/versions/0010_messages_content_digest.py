"""delivery: the digest of what each SMS said when it was handed over, so any worker can reconcile it

Twilio keeps nothing of ours in a Message resource: after a crash, a message is recognised among
those listed for the number by its exact body. The worker that claims a batch records each body's
SHA-256 with the claim, before the request leaves; the worker that recovers it (another process,
another machine) then knows what to look for. A digest, never the text.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 02:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("content_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("content_digest")
