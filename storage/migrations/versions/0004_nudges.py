"""Nudges: reminders owed, planned with the change that makes them due, each sent once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)
PENDING = "sent_at IS NULL AND dropped_at IS NULL AND failed_at IS NULL"


def upgrade() -> None:
    """Add nudges."""
    op.create_table(
        "nudges",
        sa.Column("id", SERIAL, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("case_id", SERIAL, nullable=True),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("due_at", MOMENT, nullable=False),
        sa.Column("planned_at", MOMENT, nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", MOMENT, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("dropped_at", MOMENT, nullable=True),
        sa.Column("failed_at", MOMENT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_nudges_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudges")),
        sa.UniqueConstraint("key", name=op.f("uq_nudges_key")),
    )
    op.create_index("ix_nudges_pending_due_at", "nudges", ["due_at"],
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    op.create_index("ix_nudges_case_id_step", "nudges", ["case_id", "step"])


def downgrade() -> None:
    """Drop nudges."""
    op.drop_index("ix_nudges_case_id_step", table_name="nudges")
    op.drop_index("ix_nudges_pending_due_at", table_name="nudges")
    op.drop_table("nudges")
