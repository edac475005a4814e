"""The organisation: divisions and users, imported from a TOML file and looked up by handlers.

The file format is documented in org.example.toml. An import is checked whole before anything
is written, and written in one transaction: a wrong file changes nothing and names its line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Role
from bot.tomlfile import TomlFileError, load_toml, locate
from storage.models import Division, DivisionKind, EventRow, Language, User

# --- the file ------------------------------------------------------------------------------


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class DivisionEntry(_Entry):
    """One ``[[division]]`` of the org file."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")
    kind: DivisionKind
    name_ms: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    chat_id: int | None = Field(default=None, lt=0)  # Telegram group chat ids are negative
    language: Language = Language.MS


class UserEntry(_Entry):
    """One ``[[user]]`` of the org file."""

    telegram_id: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=200)
    role: Role
    division: str | None = None
    language: Language | None = None
    active: bool = True


class OrgFile(_Entry):
    """The whole org file."""

    division: list[DivisionEntry] = Field(default_factory=list)
    user: list[UserEntry] = Field(default_factory=list)


@dataclass
class Counts:
    """How many records an import created, updated, or found as they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome: str) -> None:
        """Count one record's outcome: "created", "updated" or "unchanged"."""
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class OrgSummary:
    """What an import did to divisions and to users."""

    divisions: Counts = field(default_factory=Counts)
    users: Counts = field(default_factory=Counts)

    @property
    def changed(self) -> bool:
        """True when the import created or updated anything."""
        return any(c.created or c.updated for c in (self.divisions, self.users))

    def __str__(self) -> str:
        return "; ".join(
            f"{what}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
            for what, c in (("divisions", self.divisions), ("users", self.users))
        )


class _Checker:
    """Cross-record checks, each naming the line at fault as load_toml does for one record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = path.read_text(encoding="utf-8")

    def fail(self, loc: tuple[str | int, ...], reason: str) -> TomlFileError:
        where = ".".join(str(p) for p in loc)
        return TomlFileError(self.path, locate(self.text, loc), where, reason)

    def file_alone(self, org: OrgFile) -> None:
        """What the file must get right whatever the database holds."""
        for table, key, values in (
            ("division", "code", [d.code for d in org.division]),
            ("division", "chat_id", [d.chat_id for d in org.division]),
            ("user", "telegram_id", [u.telegram_id for u in org.user]),
        ):
            seen: Counter[Any] = Counter()
            for i, value in enumerate(values):
                seen[value] += 1
                if value is not None and seen[value] > 1:
                    raise self.fail((table, i, key), f"{key} {value} appears more than once")
        for i, user in enumerate(org.user):
            if user.role is Role.OFFICER and not user.division:
                raise self.fail(("user", i, "division"),
                                "an officer needs the division they report for")

    def against(self, org: OrgFile, stored: dict[str, Division]) -> None:
        """What the file must agree on with the divisions already stored."""
        known = set(stored) | {d.code for d in org.division}
        for i, user in enumerate(org.user):
            if user.division and user.division not in known:
                raise self.fail(("user", i, "division"),
                                f"no division {user.division} in this file or the database")
        in_file = {d.code for d in org.division}
        chats = {d.chat_id: d.code for d in stored.values()
                 if d.chat_id is not None and d.code not in in_file}
        for i, entry in enumerate(org.division):
            owner = chats.get(entry.chat_id) if entry.chat_id is not None else None
            if owner is not None:
                raise self.fail(("division", i, "chat_id"),
                                f"chat {entry.chat_id} already belongs to division {owner}")


# --- import --------------------------------------------------------------------------------


def _division_values(entry: DivisionEntry) -> dict[str, Any]:
    return {"kind": entry.kind.value, "name_ms": entry.name_ms, "name_en": entry.name_en,
            "chat_id": entry.chat_id, "language": entry.language.value}


def _user_values(entry: UserEntry) -> dict[str, Any]:
    return {"name": entry.name, "role": entry.role.value, "division_code": entry.division,
            "language": entry.language.value if entry.language else None,
            "active": entry.active}


def _upsert(row: Any, values: dict[str, Any]) -> str:
    """Set the differing values on ``row``; whether it was "updated" or "unchanged"."""
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    for name, value in changed.items():
        setattr(row, name, value)
    return "updated" if changed else "unchanged"


async def import_org(
    path: Path | str,
    *,
    session_factory: async_sessionmaker[AsyncSession],
    now: datetime | None = None,
) -> OrgSummary:
    """Create or update the divisions and users of an org file; TomlFileError when it is wrong.

    Idempotent: importing the same file again changes nothing. Records the file leaves out stay
    as they are (set ``active = false`` to retire a user).
    """
    path = Path(path)
    org = load_toml(path, OrgFile)
    checker = _Checker(path)
    checker.file_alone(org)
    summary = OrgSummary()
    async with session_factory() as session, session.begin():
        stored = {d.code: d for d in (await session.exec(
            select(Division).execution_options(populate_existing=True))).all()}
        checker.against(org, stored)

        # Two divisions may swap group chats in one file: free the moving chat ids first, or
        # the unique index would refuse the first of the two updates. (A moving chat counts
        # as an update anyway.)
        moving = [stored[d.code] for d in org.division
                  if d.code in stored and stored[d.code].chat_id not in (None, d.chat_id)]
        for row in moving:
            row.chat_id = None
        if moving:
            await session.flush()
        for entry in org.division:
            values = _division_values(entry)
            existing = stored.get(entry.code)
            if existing is None:
                session.add(Division(code=entry.code, **values))
                summary.divisions.add("created")
            else:
                summary.divisions.add(_upsert(existing, values))
        await session.flush()  # divisions first: users refer to them

        users = {u.telegram_id: u for u in (await session.exec(
            select(User).where(col(User.telegram_id).in_([u.telegram_id for u in org.user]))
            .execution_options(populate_existing=True))).all()}
        for person in org.user:
            values = _user_values(person)
            user = users.get(person.telegram_id)
            if user is None:
                session.add(User(telegram_id=person.telegram_id, **values))
                summary.users.add("created")
            else:
                summary.users.add(_upsert(user, values))
        if summary.changed:
            session.add(EventRow(
                case_id=None, at=now or datetime.now(UTC), actor_id=None, kind="org_imported",
                data={"file": path.name, "divisions": asdict(summary.divisions),
                      "users": asdict(summary.users)},
            ))
    return summary


# --- lookups -------------------------------------------------------------------------------


async def get_user(*, session: AsyncSession, telegram_id: int) -> User | None:
    """The registered user with this Telegram id (active or not), or None."""
    return await session.get(User, telegram_id, populate_existing=True)


async def get_division(*, session: AsyncSession, code: str) -> Division | None:
    """The division with this code, or None."""
    return await session.get(Division, code, populate_existing=True)


async def division_by_chat(*, session: AsyncSession, chat_id: int) -> Division | None:
    """The division whose group chat this is, or None."""
    statement = (select(Division).where(col(Division.chat_id) == chat_id)
                 .execution_options(populate_existing=True))
    return (await session.exec(statement)).first()


async def list_divisions(*, session: AsyncSession, kind: DivisionKind | None = None
                         ) -> list[Division]:
    """Divisions by code, optionally only those of one ``kind``."""
    statement = select(Division).order_by(col(Division.code))
    if kind is not None:
        statement = statement.where(col(Division.kind) == kind.value)
    return list((await session.exec(statement.execution_options(populate_existing=True))).all())


async def list_users(
    *,
    session: AsyncSession,
    role: Role | None = None,
    division: str | None = None,
    active: bool | None = True,
) -> list[User]:
    """Users by Telegram id, filtered by role, division and (by default) active ones only."""
    statement = select(User).order_by(col(User.telegram_id))
    if role is not None:
        statement = statement.where(col(User.role) == role.value)
    if division is not None:
        statement = statement.where(col(User.division_code) == division)
    if active is not None:
        statement = statement.where(col(User.active) == active)
    return list((await session.exec(statement.execution_options(populate_existing=True))).all())
