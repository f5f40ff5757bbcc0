"""The database adapter: engines and sessions (the session per request: store/flaskdb.py).

SQLite (the default) gets WAL, foreign keys and a busy timeout, and SQLAlchemy emits BEGIN itself
so that savepoints and transactional DDL work. A write transaction on SQLite starts with
`BEGIN IMMEDIATE` (see `begin_write`): it takes the write lock up front, so two writers queue on
the busy timeout instead of failing when one's read snapshot goes stale.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .. import jsontext

log = logging.getLogger(__name__)

WRITE_OPTION = "configurator_write"
SQLITE_BUSY_TIMEOUT_S = 30
# Seconds to wait for a PostgreSQL server to accept a connection (libpq's connect_timeout).
CONNECT_TIMEOUT_S = 5


def shown_url(url: str) -> str:
    """A database URL as it may be shown or logged: without its password."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def session_for(url: str) -> Iterator[Session]:
    """A session on the database at `url`, outside any app (the CLI); the caller commits."""
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; creates the folder of a SQLite file.

    A server database gets `pool_pre_ping` (a pooled connection that died with a database
    restart is replaced, not used) and, with psycopg, a connect timeout (`connect_timeout` in
    the URL wins): a database that accepts connections but never answers makes a request fail
    with 503 within seconds instead of hanging (docs/reliability.md).
    """
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", jsontext.dumps)
    kwargs.setdefault("json_deserializer", jsontext.loads)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        if parsed.get_driver_name() in ("psycopg", "psycopg2") and \
                "connect_timeout" not in parsed.query:
            connect_args = dict(kwargs.pop("connect_args", {}))
            connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
            kwargs["connect_args"] = connect_args
        return create_engine(url, **kwargs)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    finally:
        cursor.close()


def _sqlite_begin(connection: Any) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def begin_write(session: Session) -> None:
    """Start the session's transaction as a write transaction.

    Call it before the first query of a unit of work that writes. On SQLite it takes the write
    lock at once; elsewhere it is a no-op. Does nothing when the transaction has begun already.
    """
    if not session.in_transaction():
        session.connection(execution_options={WRITE_OPTION: True})


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()
