"""Shared fixtures: the SOP procedure, and a real, migrated database on SQLite and PostgreSQL.

A test that asks for ``database_url`` (or ``engine``, ``sessions``, ``org``) runs twice: once on
a fresh SQLite file and once on PostgreSQL. PostgreSQL is the server at IKABOT_TEST_PG_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/test); each test session creates its own
database there, migrates it once, empties its tables before every test and drops it at the end.
When the server is unreachable those runs are skipped, except under CI=true, where they fail.

    async def test_something(sessions, org, procedure):
        async with sessions() as session, session.begin():
            ...
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.calendar import OfficeCalendar
from bot.domain.deadlines import Procedure
from bot.domain.sop import load_sop
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.org import OrgSummary, import_org

ROOT = Path(__file__).resolve().parent.parent
ORG_EXAMPLE = ROOT / "org.example.toml"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- the domain ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def procedure() -> Procedure:
    """The shipped SOP on the default (Putrajaya) office calendar."""
    return Procedure(load_sop(), OfficeCalendar())


# --- PostgreSQL ------------------------------------------------------------------------------


def _libpq(url: URL) -> str:
    """A SQLAlchemy URL as psycopg's own connection string."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_admin(url: URL) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_libpq(url), autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_server() -> URL:
    """The PostgreSQL server's URL, once it answers; skip (or fail under CI) when it does not."""
    url = make_url(os.environ.get("IKABOT_TEST_PG_URL", DEFAULT_PG_URL))
    try:
        with _pg_admin(url) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        shown = url.render_as_string(hide_password=True)
        why = " ".join(str(exc).split())  # libpq's message spans lines
        reason = f"PostgreSQL is unreachable at {shown} (IKABOT_TEST_PG_URL): {why}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true, so the PostgreSQL tests must run", pytrace=False)
        pytest.skip(reason)
    return url


def _create_database(server: URL) -> URL:
    name = f"ikabot_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin(server) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server.set(database=name)


def _drop_database(server: URL, database: URL) -> None:
    with _pg_admin(server) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database.database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _postgres_database(postgres_server: URL) -> Iterator[URL]:
    """One migrated database for the whole test session, dropped at its end."""
    url = _create_database(postgres_server)
    try:
        asyncio.run(upgrade(url))
        yield url
    finally:
        _drop_database(postgres_server, url)


def empty_postgres(url: URL) -> None:
    """Every table of the test database emptied, its sequences restarted."""
    tables = ", ".join(f'"{t}"' for t in SQLModel.metadata.tables)
    with _pg_admin(url) as connection:
        connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


# --- SQLite --------------------------------------------------------------------------------


def _sqlite_url(path: Path) -> URL:
    return make_url(f"sqlite+aiosqlite:///{path}")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: migrating once keeps the tests fast."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(upgrade(_sqlite_url(path)))
    # Fold the write-ahead log into the file, so that copying the file alone copies it all.
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


# --- the database fixtures -----------------------------------------------------------------

BOTH = [pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BOTH)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    """A migrated database of its own for this test, with empty tables: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "ikabot.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return _sqlite_url(path)
    url: URL = request.getfixturevalue("_postgres_database")
    empty_postgres(url)
    return url


@pytest.fixture(params=BOTH)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    """A database that was never migrated, for migration tests: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path / "blank.db")
        return
    server: URL = request.getfixturevalue("postgres_server")
    url = _create_database(server)
    try:
        yield url
    finally:
        _drop_database(server, url)


@pytest.fixture
async def engine(database_url: URL) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's database, disposed after it."""
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory on this test's database: ``async with sessions() as session``."""
    return session_factory(engine)


@pytest.fixture
async def org(sessions: async_sessionmaker[AsyncSession]) -> OrgSummary:
    """org.example.toml imported: divisions AB, BKKA, BPI, BDP, PT and their users.

    Users: 9001 admin; 1001, 1002 AB; 2001 BKKA, 2002 BPI, 2003 BDP officers; 3001 (KSU) and
    3002 (TKSU) management; 4001 viewer.
    """
    return await import_org(ORG_EXAMPLE, session_factory=sessions)
