"""Backups: a consistent copy of the database and the documents, with a manifest to verify it.

SQLite is copied with its online backup API (sqlite3's ``Connection.backup``), never as a file:
a live WAL database's file alone is not the database. PostgreSQL is backed up with ``pg_dump``,
its own tool; here only its documents are copied, and checked against the documents table.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Connection

from bot.version import ikabot_version
from storage.db import make_engine
from storage.leader import sole_instance, sqlite_file
from storage.migrate import head_revision, known_revision

MANIFEST = "manifest.json"
DATABASE_FILE = "ikabot.db"
DOCUMENTS = "documents"
FORMAT = 1  # the manifest's own version
_CHUNK = 1 << 20
# Tables that are bookkeeping, not data: left out of the counts and of "is it empty?".
_NOT_DATA = {"alembic_version"}


class BackupError(Exception):
    """A backup or restore that cannot be done; its message is the operator's one line."""


@dataclass
class Manifest:
    """What a backup holds: who made it, the schema, row counts, and each file's checksum."""

    ikabot_version: str
    created_at: str
    backend: str
    schema_revision: str | None
    counts: dict[str, int]
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    format: int = FORMAT

    def write(self, directory: Path) -> None:
        """Save as DIR/manifest.json."""
        body = json.dumps(self.__dict__, indent=2, sort_keys=True) + "\n"
        (directory / MANIFEST).write_text(body, encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """Load DIR/manifest.json; BackupError when it is missing or not one of ours."""
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise BackupError(f"{path} is a backup format ikabot does not know "
                                  f"({data.get('format')!r})")
            return cls(**data)
        except FileNotFoundError:
            raise BackupError(f"{directory} holds no ikabot backup (no {MANIFEST})") from None
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{path} is not a readable ikabot manifest: {exc}") from exc


@dataclass(frozen=True)
class Outcome:
    """What a backup or restore did, for the operator."""

    manifest: Manifest
    notes: list[str]


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(p for p in root.rglob("*") if p.is_file())


# --- reading a database: counts, revision, documents ------------------------------------------


def _counts(connection: Connection) -> dict[str, int]:
    tables = sorted(set(inspect(connection).get_table_names()) - _NOT_DATA)
    return {t: int(connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one())
            for t in tables}


def _revision(connection: Connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@dataclass(frozen=True)
class _StoredDocument:
    ref: str
    name: str
    sha256: str
    relative: str  # where it sits under DOCUMENTS_DIR: <ref>/<file>


def _documents(connection: Connection) -> list[_StoredDocument]:
    if "documents" not in inspect(connection).get_table_names():
        return []
    rows = connection.execute(text(
        "SELECT c.ref, d.name, d.sha256, d.stored_path FROM documents d "
        "JOIN cases c ON c.id = d.case_id WHERE d.stored_path IS NOT NULL ORDER BY d.id"))
    # Stored as DOCUMENTS_DIR/<ref>/<file> (handlers/steps.py): the last two parts are where
    # it sits whatever DOCUMENTS_DIR was, relative or not.
    return [_StoredDocument(ref, name, sha, "/".join(Path(stored).parts[-2:]))
            for ref, name, sha, stored in rows]


def _describe(connection: Connection) -> tuple[dict[str, int], str | None,
                                               list[_StoredDocument]]:
    return _counts(connection), _revision(connection), _documents(connection)


async def _read(url: str | URL) -> tuple[dict[str, int], str | None, list[_StoredDocument]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_describe)
    finally:
        await engine.dispose()


def _read_copy(path: Path) -> tuple[dict[str, int], str | None, list[_StoredDocument]]:
    """As _read, for a backup's copy: read-only, so that the file stays as its checksum says."""
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with engine.connect() as connection:
            return _describe(connection)
    finally:
        engine.dispose()


# --- backup -------------------------------------------------------------------------------------


def _copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup: one consistent snapshot while writers go on (WAL lets them)."""
    if not source.is_file():
        raise BackupError(f"there is no database file {source}")
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as live, \
                closing(sqlite3.connect(target)) as copy:
            live.backup(copy)
            # The copy stands alone: one file, no write-ahead log beside it.
            copy.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the database {source}: {exc}") from exc


def _copy_documents(source: Path, target: Path) -> dict[str, str]:
    """Copy every file under ``source``; their checksums by path relative to the backup."""
    sums: dict[str, str] = {}
    for path in _files(source):
        relative = path.relative_to(source)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        sums[f"{DOCUMENTS}/{relative.as_posix()}"] = sha256_of(destination)
    return sums


def _check_documents_copied(documents: list[_StoredDocument], sums: dict[str, str]) -> None:
    """Every document the database knows is in the backup, with the checksum it was stored with."""
    for doc in documents:
        got = sums.get(f"{DOCUMENTS}/{doc.relative}")
        if got is None:
            raise BackupError(f"document {doc.name!r} of {doc.ref} is not in DOCUMENTS_DIR "
                              f"({doc.relative}): the backup is incomplete")
        if got != doc.sha256:
            raise BackupError(f"document {doc.name!r} of {doc.ref} ({doc.relative}) does not "
                              "match the checksum it was received with: the backup is incomplete")


async def backup(*, database_url: str | URL, documents_dir: Path, target: Path) -> Outcome:
    """Write a backup into ``target`` (new or empty); the manifest is written last."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not an empty directory: give a new one for each backup")
    target.mkdir(parents=True, exist_ok=True)
    database = sqlite_file(database_url)
    notes: list[str] = []
    files: dict[str, str] = {}
    if database is not None:
        copy = target / DATABASE_FILE
        await asyncio.to_thread(_copy_sqlite, database, copy)
        counts, revision, documents = await asyncio.to_thread(_read_copy, copy)
        files[DATABASE_FILE] = sha256_of(copy)
        backend = "sqlite"
    else:
        counts, revision, documents = await _read(database_url)
        backend = "postgresql"
        notes.append("the database is PostgreSQL: back it up with pg_dump, e.g. "
                     f"`pg_dump --format=custom --file={target / 'ikabot.pgdump'} DATABASE`; "
                     "this backup holds the documents and the manifest only")
    # After the database: every document its snapshot knows was written before its row was.
    files.update(_copy_documents(documents_dir, target / DOCUMENTS))
    _check_documents_copied(documents, files)
    manifest = Manifest(ikabot_version=ikabot_version(),
                        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                        backend=backend, schema_revision=revision, counts=counts, files=files)
    manifest.write(target)
    return Outcome(manifest, notes)


# --- restore ------------------------------------------------------------------------------------


def verify(source: Path) -> Manifest:
    """The backup's manifest, once every file in it matches its checksum; BackupError if not."""
    manifest = Manifest.read(source)
    for relative, expected in sorted(manifest.files.items()):
        path = source / relative
        if not path.is_file():
            raise BackupError(f"the backup is damaged: {relative} is missing")
        if sha256_of(path) != expected:
            raise BackupError(f"the backup is damaged: {relative} does not match its checksum "
                              "in the manifest; nothing was restored")
    revision = manifest.schema_revision
    if revision is not None and not known_revision(revision):
        raise BackupError(f"the backup's schema revision {revision} is newer than this ikabot "
                          f"knows: install the version that made it ({manifest.ikabot_version}) "
                          "or newer")
    return manifest


def _has_data(path: Path) -> bool:
    if not path.is_file() or path.stat().st_size == 0:
        return False
    with closing(sqlite3.connect(path)) as connection:
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            if name not in _NOT_DATA]
        return any(connection.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() is not None
                   for t in tables)


def _same(manifest: Manifest, counts: dict[str, int], revision: str | None, *,
          restored: bool = False) -> None:
    """BackupError unless a database holds the rows and the schema the manifest says."""
    if counts != manifest.counts or revision != manifest.schema_revision:
        which = "the restored database" if restored else "the backup's database (nothing " \
                                                         "was restored)"
        raise BackupError(f"{which} does not hold what the manifest says "
                          f"({counts} != {manifest.counts})")


def _restore_sqlite(copy: Path, database: Path) -> None:
    """Write the backup's database over ``database`` with the backup API (WAL-safe)."""
    try:
        with closing(sqlite3.connect(copy)) as saved, \
                closing(sqlite3.connect(database)) as live:
            saved.backup(live)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot write the database {database}: {exc}") from exc


def _restore_documents(source: Path, documents_dir: Path, manifest: Manifest) -> int:
    copied = 0
    for relative in sorted(manifest.files):
        if not relative.startswith(f"{DOCUMENTS}/"):
            continue
        destination = documents_dir / relative.removeprefix(f"{DOCUMENTS}/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, destination)
        copied += 1
    return copied


async def restore(*, source: Path, database_url: str | URL, documents_dir: Path,
                  force: bool = False) -> Outcome:
    """Verify the backup in ``source`` and restore it; refuses a database with data unless
    ``force``. On SQLite no ikabot may be running on the file meanwhile."""
    manifest = verify(source)
    database = sqlite_file(database_url)
    notes: list[str] = []
    if (database is None) != (manifest.backend == "postgresql"):
        where = "PostgreSQL" if database is None else "SQLite"
        raise BackupError(f"this is a {manifest.backend} backup and DATABASE_URL is {where}: "
                          "restore it where it came from")
    if not force and any(_files(documents_dir)):
        raise BackupError(f"DOCUMENTS_DIR {documents_dir} is not empty: pass --force to "
                          "overwrite")
    if database is None:
        copied = _restore_documents(source, documents_dir, manifest)
        notes.append(f"{copied} documents restored into {documents_dir}; restore the "
                     "database itself with pg_restore from your pg_dump file")
        return Outcome(manifest, notes)
    # The copy holds what the manifest says before anything is written over.
    _same(manifest, *(await asyncio.to_thread(_read_copy, source / DATABASE_FILE))[:2])
    database.parent.mkdir(parents=True, exist_ok=True)
    with sole_instance(database_url):
        if not force and _has_data(database):
            raise BackupError(f"{database} already holds data: pass --force to overwrite it "
                              "with the backup")
        _restore_sqlite(source / DATABASE_FILE, database)
        counts, revision, _ = await asyncio.to_thread(_read_copy, database)
    _same(manifest, counts, revision, restored=True)
    copied = _restore_documents(source, documents_dir, manifest)
    notes.append(f"{sum(counts.values())} rows and {copied} documents restored")
    if revision != head_revision():
        notes.append(f"the backup's schema is revision {revision}: `ikabot db upgrade` (or "
                     "`ikabot run`) brings it up to date")
    return Outcome(manifest, notes)


def summary(manifest: Manifest) -> dict[str, Any]:
    """The manifest's headline figures, for a line of output."""
    return {"cases": manifest.counts.get("cases", 0), "events": manifest.counts.get("events", 0),
            "documents": sum(1 for f in manifest.files if f.startswith(f"{DOCUMENTS}/")),
            "schema": manifest.schema_revision}
