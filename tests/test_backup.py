"""`ikabot backup` / `ikabot restore`: a consistent copy while the bot writes, verified back."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from sqlmodel import col, select

from bot.domain.deadlines import Procedure
from storage.backup import BackupError, Manifest, backup, restore, verify
from storage.cases import add_document, case_documents, load_case
from storage.db import make_engine, session_factory
from storage.leader import AnotherInstance, sole_instance
from storage.migrate import upgrade
from storage.models import CaseRow
from storage.org import import_org
from tests.conftest import ORG_EXAMPLE, empty_postgres
from tests.test_cli import ikabot
from tests.test_storage_cases import Clock, Sessions, register, walk

STEPS = [None, "collect_input", "minit_cerai", "negotiate", "file_copy"]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[str, Sessions]]:
    """A SQLite database in tmp_path/live with the example org: its URL and sessions."""
    path = tmp_path / "live" / "ikabot.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    engine = make_engine(url)
    try:
        await upgrade(engine)
        await import_org(ORG_EXAMPLE, session_factory=session_factory(engine))
        yield url, session_factory(engine)
    finally:
        await engine.dispose()


async def _case_with_document(sessions: Sessions, procedure: Procedure, clock: Clock,
                              documents: Path, n: int) -> str:
    """A case walked some way through the SOP, with a document stored as the bot stores one."""
    case = (await register(sessions, procedure, clock)).case
    case = await walk(sessions, procedure, clock, case, STEPS[n % len(STEPS)])
    content = f"outcome of {case.ref} ".encode() * (50 + n)
    sha = hashlib.sha256(content).hexdigest()
    path = documents / case.ref / f"{sha[:16]}-outcome.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)  # the file first, then its row: as handlers/steps.py does
    async with sessions() as session, session.begin():
        await add_document(session=session, ref=case.ref, step="receive",
                           telegram_file_id=f"file-{n}", file_unique_id=f"u-{n}",
                           name="outcome.pdf", sha256=sha, uploaded_by=1001,
                           uploaded_at=clock(), stored_path=str(path))
    return case.ref


async def _refs(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        return list((await session.exec(select(CaseRow.ref).order_by(col(CaseRow.id)))).all())


async def test_a_backup_during_writes_restores_every_case_and_document(
        tmp_path: Path, procedure: Procedure, live: tuple[str, Sessions]) -> None:
    url, sessions = live
    documents = tmp_path / "live" / "documents"
    clock = Clock()
    for n in range(5):
        await _case_with_document(sessions, procedure, clock, documents, n)
    writing = asyncio.Event()
    stop = asyncio.Event()

    async def keep_writing() -> int:
        written = 0
        while not stop.is_set():
            await _case_with_document(sessions, procedure, clock, documents, 5 + written)
            written += 1
            writing.set()
        return written

    writer = asyncio.create_task(keep_writing())
    await writing.wait()
    outcome = await backup(database_url=url, documents_dir=documents, target=tmp_path / "bk")
    during = await _refs(sessions)
    await _case_with_document(sessions, procedure, clock, documents, 99)  # still writable
    stop.set()
    assert await writer >= 1
    backed_up = outcome.manifest.counts["cases"]
    assert 5 < backed_up <= len(during)  # cases written while it ran are in, or after it

    fresh_url = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'ikabot.db'}"
    restored = await restore(source=tmp_path / "bk", database_url=fresh_url,
                             documents_dir=tmp_path / "new" / "documents")
    assert restored.manifest.counts == outcome.manifest.counts
    engine = make_engine(fresh_url)
    try:
        fresh = session_factory(engine)
        refs = await _refs(fresh)
        all_refs = await _refs(sessions)
        assert refs == all_refs[:backed_up]  # a consistent prefix: no case half there
        for ref in refs:
            async with sessions() as old, fresh() as new:
                assert await load_case(session=new, ref=ref) == await load_case(
                    session=old, ref=ref)
                docs_new = await case_documents(session=new, ref=ref)
                docs_old = await case_documents(session=old, ref=ref)
            assert [(d.name, d.sha256) for d in docs_new] == [
                (d.name, d.sha256) for d in docs_old] != []
            for doc in docs_new:
                assert doc.stored_path is not None
                copy = tmp_path / "new" / "documents" / ref / Path(doc.stored_path).name
                assert hashlib.sha256(copy.read_bytes()).hexdigest() == doc.sha256
                assert copy.read_bytes() == Path(doc.stored_path).read_bytes()
    finally:
        await engine.dispose()


async def test_restore_refuses_a_damaged_backup_and_changes_nothing(
        tmp_path: Path, procedure: Procedure, live: tuple[str, Sessions]) -> None:
    url, sessions = live
    documents = tmp_path / "live" / "documents"
    ref = await _case_with_document(sessions, procedure, Clock(), documents, 1)
    await backup(database_url=url, documents_dir=documents, target=tmp_path / "bk")
    (stored,) = (tmp_path / "bk" / "documents" / ref).iterdir()
    stored.write_bytes(stored.read_bytes()[:-1] + b"!")  # one byte changed
    target = tmp_path / "new" / "ikabot.db"
    with pytest.raises(BackupError, match=rf"documents/{ref}/.* does not match its checksum"):
        await restore(source=tmp_path / "bk", database_url=f"sqlite:///{target}",
                      documents_dir=tmp_path / "new" / "documents")
    assert not target.exists() and not (tmp_path / "new" / "documents").exists()

    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    del manifest["files"][f"documents/{ref}/{stored.name}"]
    stored.unlink()
    (tmp_path / "bk" / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "bk" / "ikabot.db").write_bytes(b"not a database")
    with pytest.raises(BackupError, match="ikabot.db does not match its checksum"):
        verify(tmp_path / "bk")


async def test_restore_refuses_a_backup_from_a_newer_ikabot(
        tmp_path: Path, live: tuple[str, Sessions]) -> None:
    url, _ = live
    await backup(database_url=url, documents_dir=tmp_path / "documents", target=tmp_path / "bk")
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    manifest["schema_revision"], manifest["ikabot_version"] = "9999", "9.0.0"
    (tmp_path / "bk" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match=r"9999 is newer .* \(9.0.0\)"):
        verify(tmp_path / "bk")


async def test_restore_refuses_a_database_with_data_unless_forced(
        tmp_path: Path, procedure: Procedure, live: tuple[str, Sessions]) -> None:
    url, sessions = live
    documents = tmp_path / "live" / "documents"
    first = await _case_with_document(sessions, procedure, Clock(), documents, 1)
    await backup(database_url=url, documents_dir=documents, target=tmp_path / "bk")
    second = await _case_with_document(sessions, procedure, Clock(), documents, 2)
    with pytest.raises(BackupError, match="already holds data: pass --force"):
        await restore(source=tmp_path / "bk", database_url=url, documents_dir=tmp_path / "new")
    with pytest.raises(BackupError, match="DOCUMENTS_DIR .* is not empty: pass --force"):
        await restore(source=tmp_path / "bk", database_url=tmp_path.as_uri().replace(
            "file://", "sqlite+aiosqlite:///") + "/fresh.db", documents_dir=documents)
    assert await _refs(sessions) == [first, second]
    assert not (tmp_path / "fresh.db").exists() and not (tmp_path / "new").exists()

    await restore(source=tmp_path / "bk", database_url=url, documents_dir=documents, force=True)
    assert await _refs(sessions) == [first]  # the live engine reads the restored file


async def test_restore_waits_for_no_ikabot_on_the_file(
        tmp_path: Path, procedure: Procedure, live: tuple[str, Sessions]) -> None:
    url, _ = live
    await backup(database_url=url, documents_dir=tmp_path / "documents", target=tmp_path / "bk")
    fresh = f"sqlite:///{tmp_path / 'new' / 'ikabot.db'}"
    (tmp_path / "new").mkdir()
    with sole_instance(fresh), pytest.raises(AnotherInstance, match="already running"):
        await restore(source=tmp_path / "bk", database_url=fresh,
                      documents_dir=tmp_path / "new" / "documents")
    assert not (tmp_path / "new" / "ikabot.db").exists()


async def test_a_backup_needs_an_empty_directory(tmp_path: Path,
                                                 live: tuple[str, Sessions]) -> None:
    url, _ = live
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "old.txt").write_text("an earlier backup")
    with pytest.raises(BackupError, match="not an empty directory"):
        await backup(database_url=url, documents_dir=tmp_path / "documents",
                     target=tmp_path / "bk")


async def test_a_backup_missing_a_document_fails(tmp_path: Path, procedure: Procedure,
                                                 live: tuple[str, Sessions]) -> None:
    url, sessions = live
    documents = tmp_path / "documents"
    ref = await _case_with_document(sessions, procedure, Clock(), documents, 1)
    shutil.rmtree(documents / ref)  # lost from the disk, still in the database
    with pytest.raises(BackupError, match=f"outcome.pdf' of {ref} is not in DOCUMENTS_DIR"):
        await backup(database_url=url, documents_dir=documents, target=tmp_path / "bk")
    assert not (tmp_path / "bk" / "manifest.json").exists()


@pytest.fixture
def postgres_url(_postgres_database: URL) -> URL:
    """The session's PostgreSQL database, emptied."""
    empty_postgres(_postgres_database)
    return _postgres_database


@pytest.mark.postgres
async def test_on_postgresql_it_says_pg_dump_and_copies_the_documents(
        tmp_path: Path, procedure: Procedure, postgres_url: URL) -> None:
    url = postgres_url
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        await import_org(ORG_EXAMPLE, session_factory=sessions)
        documents = tmp_path / "documents"
        ref = await _case_with_document(sessions, procedure, Clock(), documents, 1)
        outcome = await backup(database_url=url, documents_dir=documents,
                               target=tmp_path / "bk")
        assert any("pg_dump" in note for note in outcome.notes)
        assert outcome.manifest.backend == "postgresql"
        assert outcome.manifest.counts["cases"] == 1
        assert [f for f in outcome.manifest.files if f.startswith(f"documents/{ref}/")]
        assert "ikabot.db" not in outcome.manifest.files
        shutil.rmtree(documents)
        done = await restore(source=tmp_path / "bk", database_url=url.render_as_string(
            hide_password=False), documents_dir=documents)
        assert any("pg_restore" in note for note in done.notes)
        async with sessions() as session:
            (doc,) = await case_documents(session=session, ref=ref)
        copy = documents / ref / Path(doc.stored_path or "").name
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == doc.sha256
        assert Manifest.read(tmp_path / "bk").counts == outcome.manifest.counts
    finally:
        await engine.dispose()


def test_the_commands_back_up_and_restore(tmp_path: Path) -> None:
    live, fresh = tmp_path / "live", tmp_path / "fresh"
    live.mkdir()
    fresh.mkdir()
    assert ikabot(live, "admin", "add", "424242", "Siti").returncode == 0
    (live / "documents" / "IKA-2026-001").mkdir(parents=True)
    (live / "documents" / "IKA-2026-001" / "note.txt").write_text("kept")
    made = ikabot(live, "backup", str(tmp_path / "bk"))
    assert made.returncode == 0, made.stderr
    assert "0 cases" in made.stdout and "1 documents" in made.stdout
    assert "schema revision" in made.stdout and "manifest.json" in made.stdout

    refused = ikabot(live, "restore", str(tmp_path / "bk"))
    assert refused.returncode == 1 and "pass --force" in refused.stderr
    restored = ikabot(fresh, "restore", str(tmp_path / "bk"))
    assert restored.returncode == 0, restored.stderr
    assert "every checksum verified" in restored.stdout
    assert (fresh / "documents" / "IKA-2026-001" / "note.txt").read_text() == "kept"
    assert "424242" in ikabot(fresh, "user", "list").stdout

    (tmp_path / "bk" / "documents" / "IKA-2026-001" / "note.txt").write_text("changed")
    damaged = ikabot(fresh, "restore", "--force", str(tmp_path / "bk"))
    assert damaged.returncode == 1
    assert "documents/IKA-2026-001/note.txt does not match its checksum" in damaged.stderr
    assert "Traceback" not in damaged.stderr
