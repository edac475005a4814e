"""Storage: the database behind ikabot (SQLModel tables, Alembic migrations, repositories).

Everything a handler or the CLI needs is importable from here; see each module for details.
"""

from storage.cases import (
    ConcurrentChange,
    Sessions,
    StorageError,
    UnknownCase,
    UnknownDivision,
    add_document,
    case_documents,
    case_events,
    change_case,
    create_case,
    list_open_cases,
    load_case,
    next_ref,
    save_outcome,
)
from storage.db import make_engine, session_factory
from storage.migrate import (
    current_revision,
    downgrade,
    head_revision,
    run_migration,
    upgrade,
    upgrade_sync,
)
from storage.org import (
    OrgSummary,
    division_by_chat,
    get_division,
    get_user,
    import_org,
    list_divisions,
    list_users,
)

__all__ = [
    "ConcurrentChange",
    "OrgSummary",
    "Sessions",
    "StorageError",
    "UnknownCase",
    "UnknownDivision",
    "add_document",
    "case_documents",
    "case_events",
    "change_case",
    "create_case",
    "current_revision",
    "division_by_chat",
    "downgrade",
    "get_division",
    "get_user",
    "head_revision",
    "import_org",
    "list_divisions",
    "list_open_cases",
    "list_users",
    "load_case",
    "make_engine",
    "next_ref",
    "run_migration",
    "save_outcome",
    "session_factory",
    "upgrade",
    "upgrade_sync",
]
