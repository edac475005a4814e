"""Sent cards: the bot's messages about a case that it edits later (approvers' Ya/Tidak cards).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add sent_cards."""
    op.create_table(
        "sent_cards",
        sa.Column("id", SERIAL, nullable=False),
        sa.Column("case_id", SERIAL, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_sent_cards_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_cards")),
    )
    op.create_index("ix_sent_cards_case_id_kind_round", "sent_cards",
                    ["case_id", "kind", "round"])


def downgrade() -> None:
    """Drop sent_cards."""
    op.drop_index("ix_sent_cards_case_id_kind_round", table_name="sent_cards")
    op.drop_table("sent_cards")
