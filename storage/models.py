"""The database tables, as SQLModel models.

Stored states are the domain enums' string values, never positions, so reordering an enum or the
SOP cannot corrupt saved cases. Every moment is an aware UTC datetime.
"""

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from bot.domain.case import Actor, Role

# Deterministic constraint names: Alembic can only alter or drop a constraint it can name, and
# SQLite's batch mode rebuilds tables by these names.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as UTC and always read back as aware UTC.

    PostgreSQL keeps the offset (timestamptz); SQLite has no such type, so the value is
    written as naive UTC and given its zone back on reading.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store aware ones in UTC."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: ikabot stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC datetime whatever the driver returned."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONData = JSON().with_variant(JSONB(), "postgresql")

# Autoincrementing keys: SQLite only autoincrements INTEGER PRIMARY KEY, PostgreSQL gets BIGINT.
SerialKey = BigInteger().with_variant(Integer(), "sqlite")

KEY = 32  # step keys (the SOP allows 32 characters)
CODE = 16  # division and BJA codes
NAME = 200


class DivisionKind(StrEnum):
    """What a division is in the procedure."""

    AB = "ab"  # Bahagian Antarabangsa: registers, conveys and files
    DIVISION = "division"  # a division that may lead cases
    MANAGEMENT = "management"  # Pengurusan Tinggi: decides Ya / Tidak


class Language(StrEnum):
    """The languages ikabot speaks."""

    MS = "ms"
    EN = "en"


# --- organisation --------------------------------------------------------------------------


class Division(SQLModel, table=True):
    """A division, the AB, or the management group, with its group chat."""

    __tablename__ = "divisions"

    code: str = Field(primary_key=True, max_length=CODE)
    kind: str = Field(max_length=CODE)  # a DivisionKind value
    name_ms: str = Field(max_length=NAME)
    name_en: str = Field(max_length=NAME)
    # A Telegram group chat id (negative, beyond 32 bits); one chat belongs to one division.
    chat_id: int | None = Field(default=None, sa_type=BigInteger, unique=True)
    language: str = Field(default=Language.MS.value, max_length=2)


class User(SQLModel, table=True):
    """A registered Telegram user."""

    __tablename__ = "users"

    telegram_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    name: str = Field(max_length=NAME)
    role: str = Field(max_length=CODE)  # a bot.domain.case.Role value
    division_code: str | None = Field(default=None, foreign_key="divisions.code",
                                      max_length=CODE, index=True)
    language: str | None = Field(default=None, max_length=2)  # None: the chat's language
    active: bool = True

    def actor(self) -> Actor:
        """The user as the case rules see them."""
        return Actor(self.telegram_id, Role(self.role), self.division_code)


# --- cases -------------------------------------------------------------------------------


class CaseRow(SQLModel, table=True):
    """A case and where it stands; its history lives in the tables below."""

    __tablename__ = "cases"
    __table_args__ = (
        # /status lists open cases; the weekly digest and the reminder sweep start there too.
        Index("ix_cases_status", "status"),
        # A page of /status is counted and ordered from these alone (overdue first, then by
        # due), a division's list (and its /done) from the second; the step and the division
        # ride along so that filtering on them needs no row.
        Index("ix_cases_listing", "status", "phase", "due_at", "id", "current_step",
              "lead_division"),
        Index("ix_cases_division_listing", "lead_division", "status", "phase", "due_at", "id",
              "current_step"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    ref: str = Field(max_length=KEY, unique=True)  # IKA-2026-001
    title: str = Field(max_length=300)
    instrument: str = Field(max_length=KEY)
    level: str = Field(max_length=KEY)
    countries: list[str] = Field(default_factory=list, sa_type=JSONData)  # ISO 3166 codes
    source: str = Field(max_length=KEY)
    lead_division: str = Field(foreign_key="divisions.code", max_length=CODE)
    received_on: date
    status: str = Field(max_length=CODE)
    current_step: str | None = Field(default=None, max_length=KEY)
    phase: str = Field(max_length=KEY)
    round: int = 1
    classification: str = Field(default="open", max_length=KEY)  # a Classification value
    # The current step's due moment (None once closed), kept with the row so that a list of
    # cases is ordered and counted from this table alone.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Optimistic lock: every save is UPDATE … WHERE version = the version that was read.
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CaseCountry(SQLModel, table=True):
    """A country a case is with, a row each (the row's JSON list is what is shown): what
    ``/status Jepun`` and the export's country filter find cases by, from an index."""

    __tablename__ = "case_countries"
    __table_args__ = (Index("ix_case_countries_country", "country", "case_id"),)

    case_id: int = Field(primary_key=True, foreign_key="cases.id", sa_type=SerialKey,
                         sa_column_kwargs={"autoincrement": False})
    country: str = Field(primary_key=True, max_length=2)  # ISO 3166 alpha-2


class StepRecord(SQLModel, table=True):
    """One run of one step of one case (a revision after Tidak starts a new round)."""

    __tablename__ = "step_records"
    __table_args__ = (
        UniqueConstraint("case_id", "step", "round"),
        # The reminder sweep asks for open steps by due date; done steps never need it.
        Index(
            "ix_step_records_open_due",
            "due_at",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    case_id: int = Field(foreign_key="cases.id", sa_type=SerialKey)
    step: str = Field(max_length=KEY)
    round: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who acted is kept as history, not as a reference: no foreign key to users.
    done_by: int | None = Field(default=None, sa_type=BigInteger)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONData)


class Approval(SQLModel, table=True):
    """Top management's Ya or Tidak on one round; the unique key makes the first one final."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("case_id", "round"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    case_id: int = Field(foreign_key="cases.id", sa_type=SerialKey)
    round: int
    approved: bool
    decided_by: int = Field(sa_type=BigInteger)
    decided_at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, sa_type=Text)
    # An acting approver's decision names the approver they decided for.
    on_behalf_of: int | None = Field(default=None, sa_type=BigInteger)


class InputRequest(SQLModel, table=True):
    """One BJA asked for input in one round, and whether its input is in."""

    __tablename__ = "input_requests"
    __table_args__ = (UniqueConstraint("case_id", "round", "code"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    case_id: int = Field(foreign_key="cases.id", sa_type=SerialKey)
    round: int
    code: str = Field(max_length=CODE)
    asked_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_by: int | None = Field(default=None, sa_type=BigInteger)


class Document(SQLModel, table=True):
    """A file received on a case, as Telegram described it."""

    __tablename__ = "documents"

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    case_id: int = Field(foreign_key="cases.id", sa_type=SerialKey, index=True)
    step: str = Field(max_length=KEY)
    telegram_file_id: str = Field(sa_type=Text)
    file_unique_id: str = Field(max_length=NAME)
    name: str = Field(max_length=255)
    mime_type: str | None = Field(default=None, max_length=NAME)
    size: int | None = Field(default=None, sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    stored_path: str | None = Field(default=None, sa_type=Text)  # None until downloaded
    uploaded_by: int = Field(sa_type=BigInteger)
    uploaded_at: datetime = Field(sa_type=UTCDateTime)


class EventRow(SQLModel, table=True):
    """One change, as the append-only log records it: who, when and what."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_case_id_id", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    # None for changes that belong to no case (an org import).
    case_id: int | None = Field(default=None, foreign_key="cases.id", sa_type=SerialKey)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, sa_type=BigInteger)
    kind: str = Field(max_length=KEY)
    step: str | None = Field(default=None, max_length=KEY)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONData)


class RefCounter(SQLModel, table=True):
    """The last case number given in a year: IKA-<year>-<last>."""

    __tablename__ = "ref_counters"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int


# --- what the bot has sent ---------------------------------------------------------------------


class SentCard(SQLModel, table=True):
    """A message the bot sent about a case that it may edit later (an approver's Ya/Tidak card)."""

    __tablename__ = "sent_cards"
    __table_args__ = (Index("ix_sent_cards_case_id_kind_round", "case_id", "kind", "round"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    case_id: int = Field(foreign_key="cases.id", sa_type=SerialKey)
    kind: str = Field(max_length=KEY)  # "approval", …
    round: int
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int = Field(sa_type=BigInteger)
    sent_at: datetime = Field(sa_type=UTCDateTime)


class Board(SQLModel, table=True):
    """The live board a group chat has pinned: which message it is and what it shows."""

    __tablename__ = "boards"

    chat_id: int = Field(primary_key=True, sa_type=BigInteger,
                         sa_column_kwargs={"autoincrement": False})
    message_id: int = Field(sa_type=BigInteger)
    shown: str = Field(max_length=64)  # sha256 of the text it shows
    pinned: bool = True  # False when the bot may not pin in that chat
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- who may join ------------------------------------------------------------------------------


class Invite(SQLModel, table=True):
    """A one-time invitation to register with a role (and a division), made with /invite."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    # SHA-256 of the link's code, never the code itself: a copy of the database (a backup)
    # must not hand out working invitations. The code is random enough that no salt is needed.
    code_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=CODE)  # a bot.domain.case.Role value
    division_code: str | None = Field(default=None, foreign_key="divisions.code",
                                      max_length=CODE)
    name: str = Field(max_length=NAME)
    created_by: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by: int | None = Field(default=None, sa_type=BigInteger)


# --- conversation state (python-telegram-bot's persistence, storage/persistence.py) ------------


class ConversationState(SQLModel, table=True):
    """Where one chat and user stand in one named conversation (an /invite half done)."""

    __tablename__ = "conversation_states"

    name: str = Field(primary_key=True, max_length=KEY)  # the ConversationHandler's name
    key: str = Field(primary_key=True, max_length=NAME)  # its key as JSON: [chat_id, user_id]
    state: Any = Field(sa_type=JSONData)  # a string state, as the handler returned it
    updated_at: datetime = Field(sa_type=UTCDateTime)


class UserData(SQLModel, table=True):
    """A Telegram user's ``context.user_data`` (a conversation's draft answers)."""

    __tablename__ = "user_data"

    user_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONData)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ChatData(SQLModel, table=True):
    """A chat's ``context.chat_data``."""

    __tablename__ = "chat_data"

    chat_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONData)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- reminders ---------------------------------------------------------------------------------


class NudgeRow(SQLModel, table=True):
    """A message owed to one chat (a reminder, a card, a decision told): the outbox's row,
    planned with the change that makes it due, sent once.

    ``key`` is (case, step, round, kind, day, chat) as text, unique: planning the same nudge
    twice, or after a restart, finds the row already there.
    """

    __tablename__ = "nudges"
    __table_args__ = (
        # The sweep's one query: pending rows by due time. Partial, so sent rows cost nothing.
        Index("ix_nudges_pending_due_at", "due_at",
              sqlite_where=text("sent_at IS NULL AND dropped_at IS NULL AND failed_at IS NULL"),
              postgresql_where=text(
                  "sent_at IS NULL AND dropped_at IS NULL AND failed_at IS NULL")),
        Index("ix_nudges_case_id_step", "case_id", "step"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    key: str = Field(max_length=NAME, unique=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", sa_type=SerialKey)
    step: str | None = Field(default=None, max_length=KEY)
    round: int = 0
    kind: str = Field(max_length=KEY)  # a NudgeKind value
    day: date
    seq: int = 0
    note: str | None = Field(default=None, sa_type=Text)  # what the change said (a reason)
    target: str = Field(max_length=NAME)  # "division:BKKA" or "user:3001"
    due_at: datetime = Field(sa_type=UTCDateTime)
    planned_at: datetime = Field(sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=NAME)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    dropped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)


# --- target dates ------------------------------------------------------------------------------


class CaseTarget(SQLModel, table=True):
    """A date a case should finish by (a state visit), and the late bound last warned about."""

    __tablename__ = "case_targets"

    case_id: int = Field(primary_key=True, foreign_key="cases.id", sa_type=SerialKey,
                         sa_column_kwargs={"autoincrement": False})
    target_on: date
    set_by: int = Field(sa_type=BigInteger)
    set_at: datetime = Field(sa_type=UTCDateTime)
    # The forecast's late bound when a slip past the target was last warned; None until the
    # next slip (cleared when the case is back on target, or the target is moved).
    warned_late: date | None = None
    warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The forecast reads each step's most recent done runs; declared here, beside the table that
# needs it, so the step table's own arguments stay as they are.
Index("ix_step_records_step_done_at", StepRecord.__table__.c.step,  # type: ignore[attr-defined]
      StepRecord.__table__.c.done_at)  # type: ignore[attr-defined]


# --- the gazette and absences ------------------------------------------------------------------


class GazettedDay(SQLModel, table=True):
    """A day the government gazetted that the holidays package does not know: a one-off public
    holiday (``name``), or a package holiday moved away from this day (``holiday`` False)."""

    __tablename__ = "gazetted_days"

    day: date = Field(primary_key=True)
    holiday: bool = True
    name: str = Field(max_length=NAME)
    added_by: int | None = Field(default=None, sa_type=BigInteger)
    added_at: datetime = Field(sa_type=UTCDateTime)


class AbsenceRow(SQLModel, table=True):
    """An approver away from ``start`` to ``end`` (inclusive), and who acts for them."""

    __tablename__ = "absences"
    __table_args__ = (Index("ix_absences_end", "end"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=SerialKey)
    user_id: int = Field(sa_type=BigInteger)
    start: date
    end: date
    acting_id: int = Field(sa_type=BigInteger)
    set_by: int = Field(sa_type=BigInteger)
    set_at: datetime = Field(sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
