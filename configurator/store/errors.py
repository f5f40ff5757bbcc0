"""What the store raises, and how to read a database failure: one classification that the API's
problems and the web's error pages both use."""
from __future__ import annotations

from sqlalchemy.exc import (DataError, DBAPIError, DisconnectionError, IntegrityError,
                            InterfaceError, OperationalError, SQLAlchemyError)
from sqlalchemy.exc import TimeoutError as PoolTimeout

# The database's failures as callers outside store/ name them (SQLAlchemy stays in store/):
DatabaseError = SQLAlchemyError        # any failure of the database or of a statement
ConcurrentChange = IntegrityError      # a write collided with a concurrent one (retry it)
UnstorableValue = DataError            # the database refused a value (out of range, untypable)


class NotFound(LookupError):
    """No such configuration, revision, proposal or content version."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# A database that cannot serve now (down, restarting, unreachable, out of connections, full):
# 503 (507 when full) with Retry-After, never 500. A DBAPIError of another kind is a 503 only
# when it cost the connection.
DATABASE_FAILURES = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout,
                     DBAPIError)
SQLITE_FULL = 13
PG_DISK_FULL = "53100"


def database_failure(exc: BaseException) -> tuple[int, str, str] | None:
    """(status, problem kind, detail) for a database that cannot serve now, or None when `exc`
    is not such a failure (a bug: 500). A full disk is 507, anything else 503."""
    if isinstance(exc, DBAPIError) and not isinstance(exc, (OperationalError, InterfaceError)) \
            and not exc.connection_invalidated:
        return None
    if not isinstance(exc, DATABASE_FAILURES):
        return None
    if storage_full(exc):
        return (507, "storage-full", "The database has no space left to store this; nothing was "
                                     "stored. Retry once an administrator has freed space.")
    return 503, "database-unavailable", "The database is unavailable; retry shortly."


def storage_full(exc: BaseException) -> bool:
    """SQLite's SQLITE_FULL (disk full, or max_page_count reached), PostgreSQL's disk_full.

    The error it caused counts too: SQLite rolls the whole transaction back on SQLITE_FULL, so
    the rollback to a savepoint that follows fails with "no such savepoint", raised while
    handling the full disk."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = getattr(current, "orig", None)
        if (getattr(orig, "sqlite_errorcode", None) == SQLITE_FULL
                or getattr(orig, "sqlstate", None) == PG_DISK_FULL):
            return True
        current = current.__cause__ or current.__context__
    return False
