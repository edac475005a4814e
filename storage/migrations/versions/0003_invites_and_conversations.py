"""Invitations (/invite) and the conversation state that must survive a restart.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model's column types: a migration must not change when models do.
JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add invites, conversation_states, user_data and chat_data."""
    op.create_table(
        "invites",
        sa.Column("id", SERIAL, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("division_code", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("expires_at", MOMENT, nullable=False),
        sa.Column("used_at", MOMENT, nullable=True),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["division_code"], ["divisions.code"],
                                name=op.f("fk_invites_division_code_divisions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invites_code_hash")),
    )
    op.create_table(
        "conversation_states",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("state", JSON_DATA, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name=op.f("pk_conversation_states")),
    )
    for table, key in (("user_data", "user_id"), ("chat_data", "chat_id")):
        op.create_table(
            table,
            sa.Column(key, sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("data", JSON_DATA, nullable=False),
            sa.Column("updated_at", MOMENT, nullable=False),
            sa.PrimaryKeyConstraint(key, name=op.f(f"pk_{table}")),
        )


def downgrade() -> None:
    """Drop them: pending invitations and half-done conversations are lost."""
    for table in ("chat_data", "user_data", "conversation_states", "invites"):
        op.drop_table(table)
