"""Alembic, driven from Python: the schema is always built by running the migrations.

The migration scripts live in `configurator/store/migrations/`; no alembic.ini is needed.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from .db import make_engine
from .models import Base

SCRIPT_LOCATION = "configurator.store:migrations"
# PostgreSQL advisory lock held while migrating, so servers starting together migrate one at a time.
_MIGRATION_LOCK = 0x636F6E66  # "conf"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _connection(target: str | Engine) -> Iterator[Connection]:
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        if isinstance(target, str):
            engine.dispose()


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Migrate the database at `target` (a URL or an engine) up to `revision`."""
    with _connection(target) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _MIGRATION_LOCK})
        command.upgrade(alembic_config(connection), revision)


def downgrade(target: str | Engine, revision: str) -> None:
    with _connection(target) as connection:
        command.downgrade(alembic_config(connection), revision)


def heads() -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def current(target: str | Engine | Connection) -> tuple[str, ...]:
    """The revisions the database is at (empty when it was never migrated)."""
    if isinstance(target, Connection):
        return tuple(MigrationContext.configure(target).get_current_heads())
    with _connection(target) as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def drift(target: str | Engine | Connection) -> list[Any]:
    """What `alembic check` reports: differences between the models and the migrated schema."""
    if isinstance(target, Connection):
        return _drift(target)
    with _connection(target) as connection:
        return _drift(connection)


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                           "compare_server_default": True})
    return compare_metadata(context, Base.metadata)


def new_revision(url: str, message: str) -> None:
    """Autogenerate a migration script from the difference between the models and `url`."""
    command.revision(alembic_config(url=url), message=message, autogenerate=True)
