"""The initial schema: organisation, cases and their history, the event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model's column types: a migration must not change when models do.
JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)

# The event log is append-only: the database itself refuses to change or delete a row.
_PG_APPEND_ONLY = """
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
"""
_SQLITE_APPEND_ONLY = [
    f"""
    CREATE TRIGGER events_no_{what.lower()} BEFORE {what} ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END
    """
    for what in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    """The initial schema."""
    op.create_table(
        "divisions",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name_ms", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_divisions")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_divisions_chat_id")),
    )
    op.create_table(
        "ref_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_ref_counters")),
    )
    op.create_table(
        "users",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("division_code", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["division_code"], ["divisions.code"],
                                name=op.f("fk_users_division_code_divisions")),
        sa.PrimaryKeyConstraint("telegram_id", name=op.f("pk_users")),
    )
    op.create_index(op.f("ix_users_division_code"), "users", ["division_code"])
    op.create_table(
        "cases",
        sa.Column("id", SERIAL, nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("countries", JSON_DATA, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("lead_division", sa.String(length=16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_step", sa.String(length=32), nullable=True),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(["lead_division"], ["divisions.code"],
                                name=op.f("fk_cases_lead_division_divisions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("ref", name=op.f("uq_cases_ref")),
    )
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_table(
        "step_records",
        sa.Column("id", SERIAL, nullable=False),
        sa.Column("case_id", SERIAL, nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("started_at", MOMENT, nullable=False),
        sa.Column("due_at", MOMENT, nullable=False),
        sa.Column("done_at", MOMENT, nullable=True),
        sa.Column("done_by", sa.BigInteger(), nullable=True),
        sa.Column("data", JSON_DATA, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_step_records_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_records")),
        sa.UniqueConstraint("case_id", "step", "round",
                            name=op.f("uq_step_records_case_id_step_round")),
    )
    op.create_index(
        "ix_step_records_open_due", "step_records", ["due_at"],
        postgresql_where=sa.text("done_at IS NULL"), sqlite_where=sa.text("done_at IS NULL"),
    )
    op.create_table(
        "approvals",
        sa.Column("id", SERIAL, nullable=False),
        sa.Column("case_id", SERIAL, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=False),
        sa.Column("decided_at", MOMENT, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_approvals_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("case_id", "round", name=op.f("uq_approvals_case_id_round")),
    )
    op.create_table(
        "input_requests",
        sa.Column("id", SERIAL, nullable=False),
        sa.Column("case_id", SERIAL, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("asked_at", MOMENT, nullable=False),
        sa.Column("received_at", MOMENT, nullable=True),
        sa.Column("received_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_input_requests_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_input_requests")),
        sa.UniqueConstraint("case_id", "round", "code",
                            name=op.f("uq_input_requests_case_id_round_code")),
    )
    op.create_table(
        "documents",
        sa.Column("id", SERIAL, nullable=False),
        sa.Column("case_id", SERIAL, nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("telegram_file_id", sa.Text(), nullable=False),
        sa.Column("file_unique_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=200), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_path", sa.Text(), nullable=True),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_documents_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(op.f("ix_documents_case_id"), "documents", ["case_id"])
    op.create_table(
        "events",
        sa.Column("id", SERIAL, nullable=False),
        sa.Column("case_id", SERIAL, nullable=True),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column("data", JSON_DATA, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_events_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_case_id_id", "events", ["case_id", "id"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    """Drop everything (the event log with it)."""
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
    for table in ("events", "documents", "input_requests", "approvals", "step_records", "cases",
                  "users", "ref_counters", "divisions"):
        op.drop_table(table)  # their indexes go with them
