"""The org file: imported whole or not at all, idempotent, every mistake named by its line."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Actor, Role
from bot.tomlfile import TomlFileError
from storage.models import Division, DivisionKind, EventRow, User
from storage.org import (
    Counts,
    OrgSummary,
    division_by_chat,
    get_division,
    get_user,
    import_org,
    list_divisions,
    list_users,
)
from tests.conftest import ORG_EXAMPLE

Sessions = async_sessionmaker[AsyncSession]

GOOD_DIVISION = """\
[[division]]
code = "AB"
kind = "ab"
name_ms = "Bahagian Antarabangsa"
name_en = "International Division"
chat_id = -1001000000001
"""  # lines 1-6: each wrong file below starts with this valid record


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "org.toml"
    path.write_text(GOOD_DIVISION + dedent(body), encoding="utf-8")
    return path


async def stored(sessions: Sessions) -> tuple[int, int, int]:
    """How many divisions, users and events the database holds."""
    async with sessions() as session:
        return (
            (await session.exec(select(func.count()).select_from(Division))).one(),
            (await session.exec(select(func.count()).select_from(User))).one(),
            (await session.exec(select(func.count()).select_from(EventRow))).one(),
        )


async def test_the_example_file_imports_and_reimports_unchanged(sessions: Sessions) -> None:
    first = await import_org(ORG_EXAMPLE, session_factory=sessions)
    assert first == OrgSummary(divisions=Counts(created=5), users=Counts(created=9))
    assert str(first) == ("divisions: 5 created, 0 updated, 0 unchanged; "
                          "users: 9 created, 0 updated, 0 unchanged")
    again = await import_org(ORG_EXAMPLE, session_factory=sessions)
    assert again == OrgSummary(divisions=Counts(unchanged=5), users=Counts(unchanged=9))
    assert await stored(sessions) == (5, 9, 1)  # the unchanged re-import logs nothing

    async with sessions() as session:
        aminah = await get_user(session=session, telegram_id=1001)
        bkka = await division_by_chat(session=session, chat_id=-1001000000002)
        management = await list_users(session=session, role=Role.MANAGEMENT)
        led = await list_divisions(session=session, kind=DivisionKind.DIVISION)
        pt = await get_division(session=session, code="PT")
        event = (await session.exec(select(EventRow))).one()
    assert aminah is not None and aminah.actor() == Actor(1001, Role.AB, "AB")
    assert aminah.name == "Aminah binti Abdullah" and aminah.language == "ms"
    assert bkka is not None and bkka.code == "BKKA" and bkka.kind == "division"
    assert [u.telegram_id for u in management] == [3001, 3002]
    assert [d.code for d in led] == ["BDP", "BKKA", "BPI"]
    assert pt is not None and pt.chat_id is None and pt.language == "ms"
    assert (event.kind, event.case_id, event.data["users"]) == (
        "org_imported", None, {"created": 9, "updated": 0, "unchanged": 0})


async def test_a_changed_file_updates_only_what_changed(sessions: Sessions,
                                                       tmp_path: Path) -> None:
    await import_org(ORG_EXAMPLE, session_factory=sessions)
    text = ORG_EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('name = "Tan Mei Ling"', 'name = "Tan Mei Ling binti Abdullah"')
    # BKKA and BPI swap group chats: the unique chat ids must not get in each other's way
    text = text.replace("-1001000000002", "SWAP").replace("-1001000000003", "-1001000000002")
    text = text.replace("SWAP", "-1001000000003")
    text += dedent("""
        [[user]]
        telegram_id = 2004
        name = "Retired Officer"
        role = "officer"
        division = "BPI"
        active = false
        """)
    changed = tmp_path / "org.toml"
    changed.write_text(text, encoding="utf-8")

    summary = await import_org(changed, session_factory=sessions)

    assert summary == OrgSummary(divisions=Counts(updated=2, unchanged=3),
                                 users=Counts(created=1, updated=1, unchanged=8))
    async with sessions() as session:
        bkka = await get_division(session=session, code="BKKA")
        bpi_officers = await list_users(session=session, division="BPI")
        everyone_at_bpi = await list_users(session=session, division="BPI", active=None)
    assert bkka is not None and bkka.chat_id == -1001000000003
    assert [u.name for u in bpi_officers] == ["Tan Mei Ling binti Abdullah"]
    assert [u.telegram_id for u in everyone_at_bpi] == [2002, 2004]


async def test_a_user_may_belong_to_a_division_imported_before(sessions: Sessions,
                                                              tmp_path: Path) -> None:
    await import_org(ORG_EXAMPLE, session_factory=sessions)
    path = tmp_path / "more.toml"
    path.write_text(dedent("""\
        [[user]]
        telegram_id = 2005
        name = "New Officer"
        role = "officer"
        division = "BDP"
        """), encoding="utf-8")
    summary = await import_org(path, session_factory=sessions)
    assert summary == OrgSummary(users=Counts(created=1))


WRONG_FILES = {
    "not TOML": ("""
        [[user]]
        telegram_id = 1001
        name = "Aminah
        """, 10, None),
    "an unknown field": ("""
        [[division]]
        code = "BKKA"
        kind = "division"
        colour = "red"
        name_ms = "Bahagian Keselamatan dan Ketenteraman Awam"
        name_en = "Security and Public Order Division"
        """, 11, "division.1.colour"),
    "a misspelt table": ("""
        [[divison]]
        code = "BKKA"
        """, 8, "divison"),
    "an unknown kind": ("""
        [[division]]
        code = "BKKA"
        kind = "department"
        name_ms = "Bahagian Keselamatan dan Ketenteraman Awam"
        name_en = "Security and Public Order Division"
        """, 10, "division.1.kind"),
    "a lower-case code": ("""
        [[division]]
        code = "bkka"
        kind = "division"
        name_ms = "Bahagian Keselamatan dan Ketenteraman Awam"
        name_en = "Security and Public Order Division"
        """, 9, "division.1.code"),
    "a positive group chat id": ("""
        [[division]]
        code = "BKKA"
        kind = "division"
        name_ms = "Bahagian Keselamatan dan Ketenteraman Awam"
        name_en = "Security and Public Order Division"
        chat_id = 1001000000002
        """, 13, "division.1.chat_id"),
    "an unknown role": ("""
        [[user]]
        telegram_id = 1001
        name = "Aminah binti Abdullah"
        role = "boss"
        """, 11, "user.0.role"),
    "an unknown language": ("""
        [[user]]
        telegram_id = 1001
        name = "Aminah binti Abdullah"
        role = "ab"
        language = "fr"
        """, 12, "user.0.language"),
    "a duplicate division code": ("""
        [[division]]
        code = "AB"
        kind = "ab"
        name_ms = "Bahagian Antarabangsa"
        name_en = "International Division"
        """, 9, "division.1.code"),
    "a duplicate group chat": ("""
        [[division]]
        code = "BKKA"
        kind = "division"
        name_ms = "Bahagian Keselamatan dan Ketenteraman Awam"
        name_en = "Security and Public Order Division"
        chat_id = -1001000000001
        """, 13, "division.1.chat_id"),
    "a duplicate user": ("""
        [[user]]
        telegram_id = 1001
        name = "Aminah binti Abdullah"
        role = "ab"

        [[user]]
        name = "Aminah again"
        telegram_id = 1001
        role = "ab"
        """, 15, "user.1.telegram_id"),
    "an officer without a division": ("""
        [[user]]
        telegram_id = 1001
        name = "Aminah binti Abdullah"
        role = "ab"

        [[user]]
        telegram_id = 2001
        name = "Mohd Faizal bin Hassan"
        role = "officer"
        """, 13, "user.1.division"),
    "a division nobody knows": ("""
        [[user]]
        telegram_id = 2001
        name = "Mohd Faizal bin Hassan"
        role = "officer"
        division = "BKKA"
        """, 12, "user.0.division"),
}


@pytest.mark.parametrize(("body", "line", "field"), WRONG_FILES.values(), ids=WRONG_FILES.keys())
async def test_a_wrong_file_is_refused_whole_with_its_line(
    sessions: Sessions, tmp_path: Path, body: str, line: int, field: str | None
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(TomlFileError) as error:
        await import_org(path, session_factory=sessions)
    assert (error.value.line, error.value.field) == (line, field), str(error.value)
    assert str(error.value).startswith(f"{path}:{line}")
    assert await stored(sessions) == (0, 0, 0)  # the valid division before it was not written


async def test_a_chat_taken_by_a_stored_division_is_refused(sessions: Sessions,
                                                           tmp_path: Path) -> None:
    await import_org(ORG_EXAMPLE, session_factory=sessions)
    before = await stored(sessions)
    path = tmp_path / "org.toml"
    path.write_text(dedent("""\
        [[division]]
        code = "BKDN"
        kind = "division"
        name_ms = "Bahagian Baharu"
        name_en = "New Division"
        chat_id = -1001000000004
        """), encoding="utf-8")
    with pytest.raises(TomlFileError, match="already belongs to division BDP") as error:
        await import_org(path, session_factory=sessions)
    assert error.value.line == 6
    assert await stored(sessions) == before
