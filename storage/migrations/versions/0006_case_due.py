"""Cases carry their current step's due moment, indexed, so /status reads one page.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The current run is the newest round of the current step; every step starts at the case's round.
BACKFILL = """
UPDATE cases SET due_at = (
    SELECT s.due_at FROM step_records s
    WHERE s.case_id = cases.id AND s.step = cases.current_step AND s.round = cases.round)
WHERE status = 'open'
"""


def upgrade() -> None:
    """Add cases.due_at, fill it in for the open cases, and index the list's order."""
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    op.create_index("ix_cases_listing", "cases",
                    ["status", "phase", "due_at", "id", "current_step", "lead_division"])
    op.create_index("ix_cases_division_listing", "cases",
                    ["lead_division", "status", "phase", "due_at", "id", "current_step"])


def downgrade() -> None:
    """Drop the index and the column."""
    for name in ("ix_cases_division_listing", "ix_cases_listing"):
        op.drop_index(name, table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("due_at")
